/**
 * The participants' door in the demo: the web server with the intake opened on the demo competition, two teams
 * made with their one-time tokens, the real LLM sample uploaded by its team with `challenge remote submit` (the
 * participant's client, as another shell would run it), and a second team that uploads four variants of a sample
 * within a quota of three a day: the fourth is refused with the time the next slot frees.
 */
import { execa } from 'execa';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { RuntimeConfig } from '../infra/runtime-config.js';
import { loadCompetition } from '../domain/competition/index.js';
import type { ResultsStore } from '../infra/results-store.js';
import type { ArtifactStore } from '../infra/artifact-store.js';
import { PROJECT_ROOT, competitionFilePath } from '../infra/paths.js';
import { temporalStarter } from '../operations/intake.js';
import { addOrRotateTeam } from '../operations/teams.js';
import { pipelineWorkflowId } from '../contract/pipeline.js';
import { startWebServer, type WebServer } from '../web/server.js';

export interface DoorDemo {
  web: WebServer;
  /** Workflow ids of the pipelines the uploads started (to watch with the others). */
  workflowIds: string[];
  /** What to print at the end: the team page, the tokens. */
  summary: string[];
}

/** A team's token (a rerun of the demo rotates it: tokens are shown once). */
const tokenOf = (db: ResultsStore, name: string): Promise<string> => addOrRotateTeam(db, { name, tracks: ['cpu'], webhook: null });

async function remoteSubmit(web: WebServer, token: string, directory: string): Promise<{ exitCode: number; output: string }> {
  const result = await execa('node', [path.join(PROJECT_ROOT, 'dist', 'cli', 'challenge.js'), 'remote', 'submit', directory], {
    env: { CHALLENGE_URL: web.url, CHALLENGE_TEAM_TOKEN: token },
    reject: false,
    all: true,
  });
  return { exitCode: result.exitCode ?? 1, output: String(result.all ?? '') };
}

const indent = (text: string): string =>
  text
    .trim()
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');

export async function runDoorDemo(options: { db: ResultsStore; client: Client; config: RuntimeConfig; artifacts: ArtifactStore }): Promise<DoorDemo> {
  const competition = loadCompetition(competitionFilePath());
  const web = await startWebServer({
    db: options.db,
    dataDir: options.config.dataDir,
    artifacts: options.artifacts,
    teams: { competition, starter: temporalStarter(options.client, options.config), stagingDir: path.join(options.config.dataDir, 'intake'), artifacts: options.artifacts },
  });
  console.log(`participants' door: ${web.url}/api/team/submissions (competition ${competition.id})`);
  const tokens = { 'tiny-llama-lab': await tokenOf(options.db, 'tiny-llama-lab'), 'broken-builds': await tokenOf(options.db, 'broken-builds') };
  const workflowIds: string[] = [];

  // The real LLM sample, uploaded by its own team through the participant's client.
  const llm = await remoteSubmit(web, tokens['tiny-llama-lab'], path.join(PROJECT_ROOT, 'examples', 'llm-finetune'));
  console.log(`tiny-llama-lab: challenge remote submit examples/llm-finetune (exit ${llm.exitCode})\n${indent(llm.output)}`);
  workflowIds.push(pipelineWorkflowId('tiny-llama-lab.finetune-v1'));

  // Four variants of the failing build from one team: three fit in its 3 a day, the fourth is refused.
  const variants = mkdtempSync(path.join(os.tmpdir(), 'demo-variants-'));
  try {
    for (let attempt = 1; attempt <= 4; attempt++) {
      const dir = path.join(variants, `attempt-${attempt}`);
      cpSync(path.join(PROJECT_ROOT, 'examples', 'build-fails'), dir, { recursive: true });
      const manifest = JSON.parse(readFileSync(path.join(dir, 'submission.json'), 'utf8')) as Record<string, unknown>;
      writeFileSync(path.join(dir, 'submission.json'), `${JSON.stringify({ ...manifest, submission: `attempt-${attempt}` }, null, 2)}\n`);
      const answer = await remoteSubmit(web, tokens['broken-builds'], dir);
      const first = answer.output.trim().split('\n').slice(0, 3).join('\n');
      console.log(`broken-builds: upload ${attempt} of 4 (exit ${answer.exitCode})\n${indent(first)}`);
      if (answer.exitCode === 0) workflowIds.push(pipelineWorkflowId(`broken-builds.attempt-${attempt}`));
    }
  } finally {
    rmSync(variants, { recursive: true, force: true });
  }

  const summary = [
    `Team pages: run \`npm run serve\` (or node dist/cli/challenge.js serve) and open http://127.0.0.1:8080/team; sign in with a token below.`,
    ...Object.entries(tokens).map(([team, token]) => `  ${team}: ${token}   (shown once; \`challenge team rotate-token ${team}\` makes a new one)`),
    `From another shell, as a team: CHALLENGE_URL=http://127.0.0.1:8080 CHALLENGE_TEAM_TOKEN=<token> node dist/cli/challenge.js remote status`,
  ];
  return { web, workflowIds, summary };
}
