/**
 * An inference-only run through the real pipeline, Temporal dev server and Docker: a phase without fine-tune (the
 * 2023 development phase) builds only the `Dockerfile` of `examples/baked-weights` (it has no Dockerfile.train; its
 * weights are made while the image builds), records fine-tune and the closed evaluation as skipped by the phase, not
 * failed, and scores the open suite with the weights baked into the image.
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
import { progressQuery, type PipelineState } from '../../contract/pipeline.js';
import { SA } from '../../contract/search-attributes.js';
import { startStack, type Stack } from '../support/stack.js';

const SAMPLE = path.join(PROJECT_ROOT, 'examples', 'baked-weights');
let stack: Stack;
let db: ResultsDb;
let state: PipelineState;
let workflowId = '';

beforeAll(async () => {
  stack = await startStack();
  const started = await submit(stack.client, stack.config, SAMPLE, {
    run: { phase: 'development', purpose: 'development', stages: ['build', 'open-eval'] },
    limits: { openEval: 60_000, startup: 30_000 },
  });
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
});
