/**
 * Reproduction with real containers: the real competitionClock on the real Temporal dev server, with the real
 * orchestrator and a CPU host worker running Docker. Two inference-only samples whose weights are baked into their
 * images run their development runs (build → open, fine-tune skipped by the phase); then the clock, started with a
 * competition file whose instants are computed from now, closes the development phase on its timer, runs both final
 * runs (open + closed, still inference only), re-runs both teams' Dockerfile.train from the same source (topN 2),
 * serves what they trained from /artifacts with the teams' Dockerfiles, and judges them:
 *  - examples/llm-baked (the real PyTorch sample; its image trains at build time with the seeds, data and thread
 *    count of its Dockerfile.train) reproduces: the test prints the submitted vs reproduced final score and the
 *    largest column difference;
 *  - examples/trains-differently (its Dockerfile.train trains on 60 of the 904 sentences its image was built with)
 *    does not, and the verdict's reason names the scores that moved.
 * Both teams share the cpu track, so both are scored on one suite set: the toy suites (the LLM's toy scores are low,
 * but they are what its weights answer, and a training that did not reproduce would move them).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ResultsDb, type StageRecord } from '../../infra/results-db.js';
import { PROJECT_ROOT, defaultSuiteFiles, llmBaseImage } from '../../infra/paths.js';
import { submit } from '../../operations/pipelines.js';
import { CompetitionFile } from '../../domain/competition/schema.js';
import type { CompetitionClockState } from '../../domain/competition/clock.js';
import type { ReproductionVerdict } from '../../domain/competition/reproduction.js';
import type { PipelineState } from '../../contract/pipeline.js';
import { SA } from '../../contract/search-attributes.js';
import { competitionWorkflowId } from '../../contract/competition.js';
import { pipelineWorkflowId } from '../../contract/pipeline.js';
import { startStack, type Stack } from '../support/stack.js';

const LLM = { dir: path.join(PROJECT_ROOT, 'examples', 'llm-baked'), id: 'baked-llama-lab.baked-v1' };
const DRIFT = { dir: path.join(PROJECT_ROOT, 'examples', 'trains-differently'), id: 'drift-lab.trained-elsewhere' };
const TOY = defaultSuiteFiles('cpu', 'toy');
const COMPETITION_ID = 'reproduction-it';
/** The development phase closes this long after the clock starts: the clock opens it at once (it opened before the uploads). */
const CLOSE_AFTER_MS = 45_000;

let stack: Stack;
let db: ResultsDb;
let development: Record<string, PipelineState> = {};
let ended: CompetitionClockState;
let closesAt = 0;
let statusText = '';
let startedClockAt = 0;
let clockWallMs = 0;

const hostOutput = () => stack.workers.map((w) => `--- ${w.name}\n${w.output().slice(-3000)}`).join('\n');
const stagesOf = async (runId: string): Promise<Map<string, StageRecord>> => new Map((await db.stages(runId)).map((s) => [s.stage, s]));
/** The verdict the clock recorded as the reproduction run's `reproduction` stage. */
const recordedVerdict = async (of: string): Promise<StageRecord & { details: Pick<ReproductionVerdict, 'verdict' | 'final' | 'columns'> }> => {
  const stage = (await stagesOf(`${of}.reproduction`)).get('reproduction');
  if (!stage?.details) throw new Error(`no reproduction stage recorded for ${of}.reproduction`);
  return stage as StageRecord & { details: Pick<ReproductionVerdict, 'verdict' | 'final' | 'columns'> };
};

beforeAll(async () => {
  const image = await execa('docker', ['image', 'inspect', llmBaseImage()], { reject: false });
  if (image.exitCode !== 0) throw new Error(`the LLM base image ${llmBaseImage()} is missing: run scripts/build-base-image.sh (npm test does)`);
  const testStartedAt = Date.now();
  stack = await startStack({ hostWorkers: [{ hostId: 'repro-host', track: 'cpu', slots: 2 }] });
  db = new ResultsDb(stack.config.databasePath);

  // ---- development: both teams' inference-only runs (what the door starts for an upload in a phase without fine-tune).
  const run = { phase: 'development', purpose: 'development' as const, stages: ['build' as const, 'open-eval' as const] };
  const started = await Promise.all([LLM, DRIFT].map((s) => submit(stack.client, stack.config, s.dir, { run, suites: TOY, heartbeatTimeoutMs: 5000 })));
  const results = await Promise.all(started.map((s) => stack.client.workflow.getHandle(s.workflowId).result() as Promise<PipelineState>));
  development = Object.fromEntries(started.map((s, i) => [s.submissionId, results[i]!]));

  // ---- the clock: a competition file with its instants from now; the development phase opened when the test began.
  startedClockAt = Date.now();
  closesAt = startedClockAt + CLOSE_AFTER_MS;
  const iso = (ms: number): string => new Date(ms).toISOString();
  const competition = CompetitionFile.parse({
    schemaVersion: 1,
    id: COMPETITION_ID,
    title: 'Reproduction with real containers',
    tracks: ['cpu'],
    phases: [
      { id: 'development', opensAt: iso(testStartedAt - 60_000), closesAt: iso(closesAt), stages: ['build', 'open-eval'], suites: { cpu: 'toy' }, quota: { perWindow: 3 } },
      { id: 'final', opensAt: iso(closesAt + 1_000), closesAt: iso(closesAt + 60_000), stages: ['build', 'open-eval', 'closed-eval'], suites: { cpu: 'toy' } },
    ],
    reproduction: { topN: 2, finalTolerance: 0.05, scenarioTolerance: 0.1, onFailure: 'mark' },
  });
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'repro-competition-')), 'competition.json');
  writeFileSync(file, `${JSON.stringify(competition, null, 2)}\n`);
  const start = await stack.cli(['competition', 'start', '--competition', file]);
  if (start.exitCode !== 0) throw new Error(`challenge competition start failed:\n${start.stdout}\n${start.stderr}`);
  const handle = stack.client.workflow.getHandle(competitionWorkflowId(COMPETITION_ID));
  ended = (await handle.result().catch((error: unknown) => {
    throw new Error(`the clock did not end: ${(error as Error).message}\n${hostOutput()}`);
  })) as CompetitionClockState;
  clockWallMs = Date.now() - startedClockAt;
  statusText = (await stack.cli(['competition', 'status', '--competition', file])).stdout;
  process.stdout.write(`\nchallenge competition status after the clock ended:\n${statusText}\n`);
}, 9 * 60_000);

afterAll(async () => {
  db?.close();
  await stack?.stop();
});

describe('reproduction with real containers (the clock on the real dev server, Docker on the CPU track)', () => {
  it('runs both development runs inference only: built from the Dockerfile, fine-tune skipped by the phase, open suite scored', async () => {
    for (const { id } of [LLM, DRIFT]) {
      expect([id, development[id]?.outcome, development[id]?.failureCategory]).toEqual([id, 'completed', null]);
      const stages = await stagesOf(id);
      expect(stages.get('fine-tune')).toMatchObject({ outcome: 'skipped', failureCategory: null });
      expect(stages.get('open-eval')?.outcome).toBe('succeeded');
      expect((await db.scenarioScores(id)).map((s) => s.suite)).toEqual(expect.arrayContaining(['open']));
    }
    expect(existsSync(path.join(LLM.dir, 'Dockerfile.train')) && existsSync(path.join(DRIFT.dir, 'Dockerfile.train'))).toBe(true);
  });

  it('closes the development phase on its timer and runs the finals, then the reproductions of both teams', () => {
    const phase = ended.phases.find((p) => p.id === 'development')!;
    expect(Date.parse(phase.closedAt!)).toBeGreaterThanOrEqual(closesAt);
    expect(Date.parse(phase.closedAt!) - closesAt).toBeLessThan(10_000);
    expect(ended.events.map((e) => e.kind)).toEqual(expect.arrayContaining(['opened', 'closed', 'finals-started', 'finals-ended', 'reproductions-started', 'verdicts']));
    expect(ended.runs.map((r) => [r.runId, r.purpose, r.status]).sort()).toEqual([
      [`${LLM.id}.final`, 'final', 'completed'],
      [`${LLM.id}.reproduction`, 'reproduction', 'completed'],
      [`${DRIFT.id}.final`, 'final', 'completed'],
      [`${DRIFT.id}.reproduction`, 'reproduction', 'completed'],
    ].sort());
  });

  it('runs the finals as built (no fine-tune) on both suites, and the reproductions through a real fine-tune', async () => {
    for (const { id } of [LLM, DRIFT]) {
      const final = await stagesOf(`${id}.final`);
      expect([id, final.get('fine-tune')?.outcome, final.get('open-eval')?.outcome, final.get('closed-eval')?.outcome]).toEqual([id, 'skipped', 'succeeded', 'succeeded']);
      const reproduction = await stagesOf(`${id}.reproduction`);
      expect([id, reproduction.get('fine-tune')?.outcome, reproduction.get('closed-eval')?.outcome]).toEqual([id, 'succeeded', 'succeeded']);
    }
    // What the platform trained is what the reproduction served: the LLM's model and the word model, in their runs' artifacts.
    expect(existsSync(path.join(stack.config.dataDir, 'artifacts', `${LLM.id}.reproduction`, 'model', 'config.json'))).toBe(true);
    expect(existsSync(path.join(stack.config.dataDir, 'artifacts', `${DRIFT.id}.reproduction`, 'model.json'))).toBe(true);
  });

  it('judges the baked LLM Reproduced, and says how close it came', async () => {
    const verdict = ended.verdicts.find((v) => v.of === LLM.id)!;
    expect(verdict).toMatchObject({ verdict: 'Reproduced', track: 'cpu' });
    const recorded = await recordedVerdict(LLM.id);
    expect(recorded).toMatchObject({ outcome: 'succeeded', failureCategory: null, reason: verdict.reason });
    const { final, columns } = recorded.details;
    expect(columns.length).toBeGreaterThan(0);
    const widest = Math.max(...columns.map((c) => Math.abs(c.difference ?? Infinity)));
    expect(Math.abs(final.difference!)).toBeLessThanOrEqual(0.05);
    expect(widest).toBeLessThanOrEqual(0.1);
    process.stdout.write(
      `\n${LLM.id}: Reproduced — final score ${final.reproduced?.toFixed(4)} reproduced vs ${final.submitted?.toFixed(4)} submitted ` +
        `(difference ${final.difference?.toFixed(4)}); largest of ${columns.length} column differences ${widest.toFixed(4)}\n` +
        `${columns.map((c) => `  ${c.suite} ${c.column}: ${c.score.toFixed(4)} submitted, ${c.reproducedScore?.toFixed(4)} reproduced`).join('\n')}\n`,
    );
  });

  it('judges the sample that trains differently NotReproduced (charged), with a reason naming the scores that differ', async () => {
    const verdict = ended.verdicts.find((v) => v.of === DRIFT.id)!;
    expect(verdict.verdict).toBe('NotReproduced');
    const recorded = await recordedVerdict(DRIFT.id);
    expect(recorded).toMatchObject({ outcome: 'failed', failureCategory: 'NotReproduced', reason: verdict.reason });
    const outside = recorded.details.columns.filter((c) => Math.abs(c.difference ?? Infinity) > 0.1);
    expect(outside.length).toBeGreaterThan(0);
    // The reason names each moved column with both scores (the first five), as the verdict module writes them.
    expect(verdict.reason).toContain(`${outside.length} of ${recorded.details.columns.length} scenario columns outside ±0.1`);
    for (const c of outside.slice(0, 5)) expect(verdict.reason).toContain(`${c.suite} ${c.column} ${c.reproducedScore!.toFixed(3)} vs ${c.score.toFixed(3)}`);
    const { final } = recorded.details;
    if (!final.within) expect(verdict.reason).toContain(`final score ${final.reproduced!.toFixed(3)} reproduced vs ${final.submitted!.toFixed(3)} submitted`);
    process.stdout.write(`\n${DRIFT.id}: NotReproduced — ${verdict.reason}\n`);
  });

  it('shows the verdicts in challenge competition status, and the clock ran in minutes', async () => {
    expect(statusText).toContain(`Reproduced     ${LLM.id} (cpu)`);
    expect(statusText).toContain(`NotReproduced  ${DRIFT.id} (cpu)`);
    expect(statusText).toContain('every phase closed, the clock has ended');
    const description = await stack.client.workflow.getHandle(pipelineWorkflowId(`${DRIFT.id}.reproduction`)).describe();
    expect(description.typedSearchAttributes.get(SA.Phase)).toBe('final');
    process.stdout.write(`\nclock: ${(clockWallMs / 1000).toFixed(0)} s from its start to its end (development close after ${CLOSE_AFTER_MS / 1000} s)\n`);
  });
});
