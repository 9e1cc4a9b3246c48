/**
 * An inference-only run through the real pipeline, Temporal dev server and Docker: a phase without fine-tune (the
 * 2023 development phase) builds only the `Dockerfile` of `examples/baked-weights` (it has no Dockerfile.train; its
 * weights are made while the image builds), records fine-tune and the closed evaluation as skipped by the phase, not
 * failed, and scores the open suite with the weights baked into the image. It is started as the participants' door
 * starts an upload (its phase's run and its stored source); an operator's retry of it runs the same inference-only run.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { ResultsDb } from '../../infra/results-db.js';
import { PROJECT_ROOT, defaultSuiteFiles } from '../../infra/paths.js';
import { countWorkItems } from '../../domain/harness/work.js';
import { loadSuite } from '../../domain/harness/suite.js';
import type { StagePrediction } from '../../domain/harness/throughput.js';
import { submit } from '../../operations/pipelines.js';
import { reevaluate, retryPipeline } from '../../operations/pipeline-actions.js';
import type { ReevaluateResult } from '../../workflows/batch-evaluation.js';
import { startedWith } from '../../operations/started-with.js';
import { sourceDigest } from '../../infra/source-digest.js';
import type { SubmissionSource } from '../../contract/types.js';
import type { PhaseRun } from '../../domain/competition/runs.js';
import { progressQuery, type PipelineState } from '../../contract/pipeline.js';
import { SA } from '../../contract/search-attributes.js';
import { startStack, type Stack } from '../support/stack.js';

const SAMPLE = path.join(PROJECT_ROOT, 'examples', 'baked-weights');
const ID = 'baked-lab.weights-in-image';
const RUN: PhaseRun = { phase: 'development', purpose: 'development', stages: ['build', 'open-eval'] };
// As operations/intake.ts names an upload's archive; the host has the accepted tree (same digest), so it builds from it.
let source: SubmissionSource;
let stack: Stack;
let db: ResultsDb;
let state: PipelineState;
let workflowId = '';

beforeAll(async () => {
  stack = await startStack();
  source = { archiveKey: `sources/${'0'.repeat(64)}.tar.gz`, archiveSha256: '0'.repeat(64), sourceDigest: await sourceDigest(SAMPLE) };
  const started = await submit(stack.client, stack.config, SAMPLE, { run: RUN, source, limits: { openEval: 60_000, startup: 30_000 } });
  workflowId = started.workflowId;
  state = (await stack.client.workflow.getHandle(workflowId).result()) as PipelineState;
  db = new ResultsDb(stack.config.databasePath);
}, 300_000);

afterAll(async () => {
  db?.close();
  await stack?.stop();
});

describe('an inference-only run (a phase without fine-tune)', () => {
  it('the sample really has no Dockerfile.train, and an operator submit without a phase refuses it for that', async () => {
    expect(existsSync(path.join(SAMPLE, 'Dockerfile.train'))).toBe(false);
    await expect(submit(stack.client, stack.config, SAMPLE)).rejects.toThrow(/Dockerfile\.train: missing/);
  });

  it('builds, skips fine-tune and the closed evaluation by the phase, and completes', () => {
    expect(state).toMatchObject({ outcome: 'completed', failureCategory: null });
    const stages = Object.fromEntries(db.stages('baked-lab.weights-in-image').map((s) => [s.stage, s]));
    expect(stages['build']!.outcome).toBe('succeeded');
    expect(stages['fine-tune']).toMatchObject({ outcome: 'skipped', failureCategory: null, reason: 'the development phase runs no fine-tune: the submission is evaluated as built (inference only)' });
    expect(stages['closed-eval']).toMatchObject({ outcome: 'skipped', failureCategory: null, reason: 'the development phase runs no closed evaluation' });
    expect(stages['open-eval']!.outcome).toBe('succeeded');
  });

  it('scores the open suite with the weights baked into the image (every toy open instance right), and nothing closed', () => {
    const scores = db.scenarioScores('baked-lab.weights-in-image');
    expect(scores.map((s) => s.suite)).toEqual(scores.map(() => 'open'));
    expect(scores.map((s) => s.scenario).sort()).toEqual(['capitals', 'opposites']);
    for (const score of scores) expect([score.scenario, score.answered, score.score]).toEqual([score.scenario, score.instances, 1]);
  });

  it("predicts the open evaluation from its probe while it runs: the progress query and the stage's record keep the prediction", async () => {
    const items = countWorkItems(loadSuite(defaultSuiteFiles(state.track).open));
    const queried = await stack.client.workflow.getHandle(workflowId).query(progressQuery);
    const openEval = queried.stages.find((s) => s.stage === 'open-eval')!;
    expect(openEval.prediction).toMatchObject({ total: items, limitMs: 60_000 });
    expect(openEval.prediction!.estimateMs).toBeGreaterThan(0);
    expect(openEval.prediction!.lowMs).toBeLessThanOrEqual(openEval.prediction!.highMs);
    // The last signal came with every item answered; its projection was made on arrival.
    expect(openEval.eta).toMatchObject({ answered: items, total: items });
    expect(queried.stages.find((s) => s.stage === 'fine-tune')!.prediction ?? null).toBeNull();
    const recorded = db.stages('baked-lab.weights-in-image').find((s) => s.stage === 'open-eval')!;
    const details = recorded.details as { prediction: StagePrediction | null; progress: { answered: number; total: number } };
    expect(details.prediction).toEqual(openEval.prediction);
    expect(details.progress).toEqual({ answered: items, total: items });
  });

  it('carries the phase as the Phase search attribute', async () => {
    const description = await stack.client.workflow.getHandle(workflowId).describe();
    expect(description.typedSearchAttributes.get(SA.Phase)).toBe('development');
  });

  it("an operator's retry runs the same inference-only upload again: its run, source and phase kept, fine-tune skipped again", async () => {
    // Completed: fine-tune and the closed evaluation were skipped by the phase, not failed, so nothing is left to retry.
    expect(await retryPipeline(stack.client, stack.config, db, ID)).toMatchObject({ kind: 'nothing-to-retry' });
    // The open evaluation is recorded as lost with its host: the operator retries.
    const openEval = db.stages(ID).find((s) => s.stage === 'open-eval')!;
    db.recordStage({ ...openEval, outcome: 'failed', failureCategory: 'Infrastructure', reason: 'host lost (test)' });
    const plan = await retryPipeline(stack.client, stack.config, db, ID);
    expect(plan).toMatchObject({ kind: 'pipeline', reuseBuild: true, startedFrom: { from: 'earlier-run', workflowId }, result: { status: 'started', workflowId } });
    if (plan.kind !== 'pipeline') throw new Error(`expected the pipeline to run again, got ${plan.kind}`);
    const retried = (await stack.client.workflow.getHandle(workflowId).result()) as PipelineState;
    expect(retried).toMatchObject({ outcome: 'completed', failureCategory: null });
    expect(await startedWith(stack.client, ID)).toMatchObject({ submissionId: ID, team: 'baked-lab', run: RUN, source, reuseBuild: true, limits: { openEval: 60_000, startup: 30_000 } });
    const stages = Object.fromEntries(db.stages(ID).map((s) => [s.stage, s]));
    expect([stages['build']!.outcome, stages['fine-tune']!.outcome, stages['open-eval']!.outcome, stages['closed-eval']!.outcome]).toEqual(['succeeded', 'skipped', 'succeeded', 'skipped']);
    expect(stages['fine-tune']!.details).toMatchObject({ skippedByPhase: 'development' });
    const description = await stack.client.workflow.getHandle(workflowId).describe();
    expect([description.runId, description.typedSearchAttributes.get(SA.Phase)]).toEqual([plan.result.runId, 'development']);
  }, 300_000);

  it('a re-evaluation of it (challenge evaluate, a scheduled batch) serves the image as built: no train image wanted, no /artifacts mount', async () => {
    // The host has the inference image only: a re-evaluation that asked for the train image too would rebuild and fail on the missing Dockerfile.train.
    const suiteFile = defaultSuiteFiles('cpu').open;
    const input = { submissionId: ID, track: 'cpu' as const, suites: { open: suiteFile }, reason: 'operator (test)', limits: { openEval: 60_000, startup: 30_000 } };
    const started = await reevaluate(stack.client, stack.config, input, 'test');
    const result = (await stack.client.workflow.getHandle(started.workflowId).result()) as ReevaluateResult;
    expect(result.stages).toEqual([{ stage: 'open-eval', outcome: 'succeeded', failureCategory: null, answered: countWorkItems(loadSuite(suiteFile)) }]);
    const recorded = db.stages(ID).find((s) => s.stage === 'open-eval')!;
    expect(recorded).toMatchObject({ outcome: 'succeeded', details: { reevaluation: 'operator (test)', workflowId: started.workflowId } });
  }, 300_000);
});
