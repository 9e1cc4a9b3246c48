/**
 * A compressed competition (`npm run demo -- --season`): minutes per phase, in a competition file written with
 * instants from now (data dir `competitions/season-<stamp>.json`).
 *  - development (DEVELOPMENT_MS, inference only, 3 a day): the participants' door takes two teams' uploads, made
 *    with `challenge remote submit`: examples/llm-baked (the real PyTorch sample, weights baked into its image) and
 *    examples/trains-differently (a word model whose Dockerfile.train is not what its image was built with);
 *  - the clock (workflows/competition-clock.ts) closes the phase on its timer, runs each team's final submission on
 *    the open and closed suites, reproduces the top REPRODUCE_TOP of the final board from Dockerfile.train, and
 *    judges the reproduction;
 *  - its status (cli/competition-clock.ts renderClockState) is printed whenever it changes, then the final board
 *    with its reproduction column (the same as `challenge reproduce board`).
 * Submission names carry the stamp, so a rerun makes new runs instead of finding the last demo's.
 */
import { execa } from 'execa';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { TASK_QUEUES } from '../temporal.config.js';
import { type RuntimeConfig } from '../infra/runtime-config.js';
import { loadCompetition, type CompetitionFile } from '../domain/competition/index.js';
import type { CompetitionClockState } from '../domain/competition/clock.js';
import { finalBoardTable } from '../domain/competition/final-board-text.js';
import { formatDuration, formatSpan } from '../domain/units.js';
import type { ResultsStore } from '../infra/results-store.js';
import type { ArtifactStore } from '../infra/artifact-store.js';
import { PROJECT_ROOT } from '../infra/paths.js';
import { temporalStarter } from '../operations/intake.js';
import { addOrRotateTeam } from '../operations/teams.js';
import { finalLeaderboard, finalSuiteFiles } from '../operations/standings.js';
import { renderClockState } from '../cli/competition-clock.js';
import { competitionStateQuery, competitionWorkflowId } from '../contract/competition.js';
import type { competitionClock } from '../workflows/competition-clock.js';
import { startWebServer } from '../web/server.js';

/** How long teams may submit: the LLM sample's first build trains it (about a minute on 2 cores), then its open evaluation. */
const DEVELOPMENT_MS = 4 * 60_000;
/** The finals start at the development close; the final phase itself is only a window (the clock waits for its runs). */
const FINAL_MS = 60_000;
const REPRODUCE_TOP = 1;
const SAMPLES = [
  { team: 'baked-llama-lab', example: 'llm-baked' },
  { team: 'drift-lab', example: 'trains-differently' },
] as const;

export interface SeasonDemo {
  competition: CompetitionFile;
  state: CompetitionClockState;
  durationMs: number;
}

const iso = (ms: number): string => new Date(ms).toISOString();
const indent = (text: string): string =>
  text
    .trim()
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');

/** The competition file of this season: development from now for DEVELOPMENT_MS, then the final phase. */
function writeSeasonFile(dataDir: string, stamp: string, now: number): string {
  const closes = now + DEVELOPMENT_MS;
  const file = {
    schemaVersion: 1,
    id: `season-${stamp}`,
    title: `Compressed season of the demo (${formatDuration(DEVELOPMENT_MS)} of development, then the finals and ${REPRODUCE_TOP} reproduction)`,
    tracks: ['cpu'],
    phases: [
      { id: 'development', opensAt: iso(now - 5_000), closesAt: iso(closes), stages: ['build', 'open-eval'], suites: { cpu: 'toy' }, quota: { perWindow: 3, window: '24h' }, leaderboard: 'public' },
      { id: 'final', opensAt: iso(closes + 1_000), closesAt: iso(closes + FINAL_MS), stages: ['build', 'open-eval', 'closed-eval'], suites: { cpu: 'toy' }, leaderboard: 'public' },
    ],
    reproduction: { topN: REPRODUCE_TOP, finalTolerance: 0.05, scenarioTolerance: 0.1, onFailure: 'mark' },
  };
  const dir = path.join(dataDir, 'competitions');
  mkdirSync(dir, { recursive: true });
  const target = path.join(dir, `${file.id}.json`);
  writeFileSync(target, `${JSON.stringify(file, null, 2)}\n`);
  return target;
}

/** A team's token (a rerun of the demo rotates it: tokens are shown once). */
const tokenOf = (db: ResultsStore, name: string): Promise<string> => addOrRotateTeam(db, { name, tracks: ['cpu'], webhook: null });

/** The sample under a submission name of this season, uploaded with the participant's client. */
async function upload(url: string, token: string, example: string, stamp: string): Promise<{ submissionId: string; exitCode: number; output: string }> {
  const dir = path.join(mkdtempSync(path.join(os.tmpdir(), 'demo-season-')), example);
  try {
    cpSync(path.join(PROJECT_ROOT, 'examples', example), dir, { recursive: true });
    const manifest = JSON.parse(readFileSync(path.join(dir, 'submission.json'), 'utf8')) as { team: string; submission: string };
    const submission = `${manifest.submission}-${stamp}`;
    writeFileSync(path.join(dir, 'submission.json'), `${JSON.stringify({ ...manifest, submission }, null, 2)}\n`);
    const result = await execa('node', [path.join(PROJECT_ROOT, 'dist', 'cli', 'challenge.js'), 'remote', 'submit', dir], {
      env: { CHALLENGE_URL: url, CHALLENGE_TEAM_TOKEN: token },
      reject: false,
      all: true,
    });
    return { submissionId: `${manifest.team}.${submission}`, exitCode: result.exitCode ?? 1, output: String(result.all ?? '') };
  } finally {
    rmSync(path.dirname(dir), { recursive: true, force: true });
  }
}

/** What changes in the clock's state worth printing again: its events and the runs' statuses. */
const fingerprint = (state: CompetitionClockState): string => JSON.stringify([state.currentPhase, state.events.length, state.runs.map((r) => r.status), state.done]);

export async function runSeasonDemo(options: { db: ResultsStore; client: Client; config: RuntimeConfig; artifacts: ArtifactStore }): Promise<SeasonDemo> {
  const startedAt = Date.now();
  const stamp = new Date(startedAt).toISOString().slice(0, 19).replace(/[-:]/g, '').toLowerCase();
  const file = writeSeasonFile(options.config.dataDir, stamp, startedAt);
  const competition = loadCompetition(file);
  console.log(`season: competition file ${file}`);

  const web = await startWebServer({
    db: options.db,
    dataDir: options.config.dataDir,
    artifacts: options.artifacts,
    teams: { competition, starter: temporalStarter(options.client, options.config), stagingDir: path.join(options.config.dataDir, 'intake'), artifacts: options.artifacts },
  });
  try {
    // The clock first: it opens the development phase at once (it opened a few seconds ago) and closes it on its timer.
    const workflowId = competitionWorkflowId(competition.id);
    await options.client.workflow.start<typeof competitionClock>('competitionClock', { taskQueue: TASK_QUEUES.orchestrator, workflowId, args: [{ competition }] });
    console.log(`season: clock started (workflow ${workflowId}); participants' door ${web.url}/api/team/submissions`);

    const developmentIds: string[] = [];
    for (const sample of SAMPLES) {
      const answer = await upload(web.url, await tokenOf(options.db, sample.team), sample.example, stamp);
      console.log(`${sample.team}: challenge remote submit examples/${sample.example} (exit ${answer.exitCode})\n${indent(answer.output)}`);
      if (answer.exitCode === 0) developmentIds.push(answer.submissionId);
    }

    const handle = options.client.workflow.getHandle<typeof competitionClock>(workflowId);
    let shown = '';
    let state: CompetitionClockState;
    for (;;) {
      state = await handle.query(competitionStateQuery);
      const development = await Promise.all(developmentIds.map(async (id) => `${id} ${(await options.db.pipeline(id))?.outcome ?? 'registering'}`));
      const seen = fingerprint(state) + development.join();
      if (seen !== shown) {
        shown = seen;
        const elapsed = formatSpan(Date.now() - startedAt);
        console.log(`\n[${elapsed}] development runs: ${development.join(', ') || 'none'}\n${renderClockState(state, Date.now())}`);
      }
      if (state.done) break;
      await new Promise((resolve) => setTimeout(resolve, 5_000));
    }

    const board = await finalLeaderboard(options.db, 'cpu', { onFailure: competition.reproduction.onFailure, suites: finalSuiteFiles(competition, 'cpu') });
    const finals = state.runs.filter((r) => r.purpose === 'final').length;
    // The board ranks every final run of the track in the results database: an earlier season's too, unless --fresh.
    console.log(`\nfinal board (challenge leaderboard --track cpu --phase final --competition ${file}; ${finals} final run(s) this season):\n${finalBoardTable(board)}`);
    for (const verdict of state.verdicts) console.log(`reproduction of ${verdict.of}: ${verdict.verdict} — ${verdict.reason}`);
    const durationMs = Date.now() - startedAt;
    console.log(`\nseason: ${formatSpan(durationMs)} from the competition file to the final board`);
    return { competition, state, durationMs };
  } finally {
    await web.close();
  }
}
