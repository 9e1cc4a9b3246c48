/**
 * An operator's day through the real Temporal server, Docker and the CLI processes: logs, retry without
 * redoing finished stages, re-evaluation against a new suite, a Schedule whose batch re-evaluates every
 * completed submission, cancel, and --help / bad input on every command.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { ResultsDb } from '../../infra/results-db.js';
import { PROJECT_ROOT } from '../../infra/paths.js';
import { submit } from '../../operations/pipelines.js';
import type { PipelineState } from '../../contract/pipeline.js';
import type { BatchProgress } from '../../contract/batch.js';
import { startStack, type Stack } from '../support/stack.js';

const LIMITS = { fineTune: 60_000, openEval: 15_000, closedEval: 15_000, startup: 10_000 };
let stack: Stack;
let db: ResultsDb;
const GOOD = 'ngram-lab.cooccurrence-v1';
const SLOW = 'sleepy-inference.one-at-a-time';

async function finished(workflowId: string): Promise<unknown> {
  return stack.client.workflow.getHandle(workflowId).result();
}

/** A new version of the closed suite: the same scenarios, the colors scenario cut to 10 instances. */
function newClosedSuite(): string {
  const suite = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'suites/closed.json'), 'utf8')) as {
    version: string;
    scenarios: { name: string; instances: unknown[] }[];
  };
  suite.version = 'facts-seed-2023-rev2';
  suite.scenarios = suite.scenarios.filter((s) => s.name === 'colors').map((s) => ({ ...s, instances: s.instances.slice(0, 10) }));
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'suite-')), 'closed-rev2.json');
  writeFileSync(file, JSON.stringify(suite));
  return file;
}

beforeAll(async () => {
  stack = await startStack();
  db = new ResultsDb(stack.config.databasePath);
  const runs = await Promise.all(
    ['good-cooccurrence', 'slow-server', 'overfit-open'].map((sample) =>
      submit(stack.client, stack.config, path.join(PROJECT_ROOT, 'examples', sample), { limits: LIMITS, heartbeatTimeoutMs: 5000 }),
    ),
  );
  await Promise.all(runs.map((run) => finished(run.workflowId)));
}, 300_000);

afterAll(async () => {
  db?.close();
  await stack?.stop();
}, 60_000);

describe('challenge CLI for operators', () => {
  it('answers --help for every command and exits 2 on bad input', async () => {
    for (const command of [
      'submit',
      'status',
      'logs',
      'cancel',
      'retry',
      'evaluate',
      'leaderboard',
      'hosts',
      'report',
      'check',
      'score',
      'serve',
      'schedule',
    ]) {
      const help = await stack.cli([command, '--help']);
      expect(help.exitCode).toBe(0);
      expect(help.stdout).toContain(`challenge ${command}`);
    }
    expect((await stack.cli(['frobnicate'])).exitCode).toBe(2);
    const badLimit = await stack.cli(['submit', path.join(PROJECT_ROOT, 'examples/good-cooccurrence'), '--open-eval-limit', 'soon']);
    expect(badLimit.exitCode).toBe(2);
    expect(badLimit.stderr).toMatch(/--open-eval-limit: "soon" is not a duration/);
    const badSuite = await stack.cli(['evaluate', GOOD, '--suite', 'hidden=x.json']);
    expect(badSuite.exitCode).toBe(2);
    expect(badSuite.stderr).toMatch(/write open=<file.json> or closed=<file.json>/);
    const badGoneAfter = await stack.cli(['hosts', '--gone-after', 'soon']);
    expect(badGoneAfter.exitCode).toBe(2);
    expect(badGoneAfter.stderr).toMatch(/--gone-after: "soon" is not a duration/);
  }, 120_000);

  it('shows container logs of a stage, capped', async () => {
    const logs = await stack.cli(['logs', GOOD, '--stage', 'fine-tune', '--lines', '3']);
    expect(logs.exitCode).toBe(0);
    expect(logs.stdout).toMatch(/===== .*fine-tune\.log/);
    expect(logs.stdout.split('\n').filter((l) => l && !l.startsWith('=====')).length).toBeLessThanOrEqual(3);
    expect((await stack.cli(['logs', 'nobody.nothing'])).exitCode).toBe(1);
  }, 30_000);

  it('retries from the failed stage: evaluations only, the artifact reused, nothing rebuilt', async () => {
    const buildLog = path.join(stack.config.dataDir, 'logs', SLOW, 'build.log');
    const builtBefore = readFileSync(buildLog, 'utf8');
    const retry = await stack.cli(['retry', SLOW, '--json']);
    expect(retry.exitCode).toBe(0);
    const plan = JSON.parse(retry.stdout) as { kind: string; suites: string[]; workflowId: string };
    expect(plan).toMatchObject({ kind: 'reevaluate', suites: ['open', 'closed'] });
    const result = (await finished(plan.workflowId)) as { stages: { stage: string; failureCategory: string | null }[] };
    expect(result.stages.map((s) => s.stage)).toEqual(['open-eval', 'closed-eval']);
    expect(readFileSync(buildLog, 'utf8')).toBe(builtBefore);
    expect(db.stages(SLOW).find((s) => s.stage === 'open-eval')?.details?.reevaluation).toBe('retry');
    expect((await stack.cli(['retry', GOOD])).exitCode).toBe(3); // every stage succeeded
  }, 180_000);

  it('re-evaluates an existing artifact against a new suite; the new scores replace the old, old answers stay', async () => {
    const suite = newClosedSuite();
    const answersBefore = db.answerCount(GOOD, 'closed');
    const started = await stack.cli(['evaluate', GOOD, '--suite', `closed=${suite}`, '--json']);
    expect(started.exitCode).toBe(0);
    await finished((JSON.parse(started.stdout) as { workflowId: string }).workflowId);
    const closedScores = db.scenarioScores(GOOD).filter((s) => s.suite === 'closed');
    expect(closedScores.map((s) => [s.scenario, s.instances])).toEqual([['colors', 10]]);
    expect(db.answerCount(GOOD, 'closed')).toBe(answersBefore + 10);
  }, 180_000);

  it('runs a Schedule whose batch re-evaluates every completed submission with bounded concurrency', async () => {
    const created = await stack.cli([
      'schedule',
      'create',
      'nightly-closed',
      '--cron',
      '0 3 1 1 *',
      '--suite',
      `closed=${path.join(PROJECT_ROOT, 'suites/closed.json')}`,
      '--track',
      'cpu',
      '--concurrency',
      '1',
      '--closed-eval-limit',
      '15s',
    ]);
    expect(created.exitCode).toBe(0);
    const listed = await stack.cli(['schedule', 'list']);
    expect(listed.stdout).toMatch(/nightly-closed\s+active/);
    const described = JSON.parse((await stack.cli(['schedule', 'describe', 'nightly-closed'])).stdout) as { overlap: number | string; catchupWindow: number };
    expect(described.catchupWindow).toBe(3_600_000);
    expect((await stack.cli(['schedule', 'trigger', 'nightly-closed'])).exitCode).toBe(0);
    let batchId: string | undefined;
    for (let i = 0; i < 100 && !batchId; i++) {
      for await (const w of stack.client.workflow.list({ query: "WorkflowType = 'batchEvaluation'" })) batchId = w.workflowId;
      if (!batchId) await new Promise((r) => setTimeout(r, 200));
    }
    // While the batch runs, `schedule describe` shows how far it got (the batch answers batchProgressQuery).
    const during = JSON.parse((await stack.cli(['schedule', 'describe', 'nightly-closed'])).stdout) as { runningBatch: { workflowId: string; progress: BatchProgress | null } | null };
    // Three re-evaluations one at a time take tens of seconds: the batch is still running here.
    expect(during.runningBatch?.workflowId).toBe(batchId);
    expect(during.runningBatch?.progress).toMatchObject({ done: expect.any(Number), pending: expect.any(Number), running: expect.any(Number) });
    expect(during.runningBatch!.progress!.done).toBeLessThan(3);
    const progress = (await finished(batchId!)) as BatchProgress;
    expect(progress).toMatchObject({ selected: 3, done: 3 });
    const children = [];
    for await (const w of stack.client.workflow.list({ query: "WorkflowType = 'reevaluateSubmission'" })) children.push(w);
    const fromBatch = children.filter((w) => w.workflowId.includes('nightly-closed'));
    expect(fromBatch).toHaveLength(3);
    // Concurrency 1: the re-evaluations never overlapped.
    const spans = fromBatch.map((w) => [w.startTime.getTime(), w.closeTime!.getTime()] as const).sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < spans.length; i++) expect(spans[i]![0]).toBeGreaterThanOrEqual(spans[i - 1]![1] - 50);
    expect((await stack.cli(['schedule', 'pause', 'nightly-closed'])).exitCode).toBe(0);
    expect((await stack.cli(['schedule', 'list'])).stdout).toMatch(/nightly-closed\s+paused/);
    expect((await stack.cli(['schedule', 'unpause', 'nightly-closed'])).exitCode).toBe(0);
    expect((await stack.cli(['schedule', 'delete', 'nightly-closed'])).exitCode).toBe(0);
    const gone = await stack.cli(['schedule', 'describe', 'nightly-closed']);
    expect(gone.exitCode).toBe(1);
    expect(gone.stderr).toMatch(/no schedule "nightly-closed"/);
  }, 240_000);

  it('reports generalization, contamination and efficiency, and flags the submission that trained on the open suite', async () => {
    const result = await stack.cli(['report', '--track', 'cpu', '--json']);
    expect(result.exitCode).toBe(0);
    const report = JSON.parse(result.stdout) as {
      generalization: { n: number; submissions: { submissionId: string; overfit: boolean; reason: string }[] };
      submissions: {
        submissionId: string;
        contamination: { totalContaminated: number; suites: { scenario: string; contaminated: { instanceId: string }[] }[] } | null;
        efficiency: { training: { wallTimeSeconds: number } | null; latency: { p50Ms: number; p95Ms: number } | null };
      }[];
    };
    const flagged = report.generalization.submissions.filter((s) => s.overfit).map((s) => s.submissionId);
    expect(flagged).toEqual(['leaky-lab.memorized-open']);
    const leaky = report.submissions.find((s) => s.submissionId === 'leaky-lab.memorized-open')!;
    expect(leaky.contamination?.totalContaminated).toBe(60);
    expect(leaky.contamination?.suites.find((s) => s.scenario === 'opposites')?.contaminated.map((c) => c.instanceId)).toContain('id0');
    const good = report.submissions.find((s) => s.submissionId === GOOD)!;
    expect(good.contamination?.totalContaminated).toBe(0);
    expect(good.efficiency.training?.wallTimeSeconds).toBeGreaterThan(0);
    expect(good.efficiency.latency?.p95Ms).toBeGreaterThanOrEqual(good.efficiency.latency?.p50Ms ?? Infinity);
    const text = await stack.cli(['report', '--track', 'cpu']);
    expect(text.stdout).toMatch(/leaky-lab\.memorized-open/);
    // A copy outlives this machine: the artifact store keeps the latest (and each dated) report.
    expect(text.stderr).toMatch(/report kept in .*reports\/cpu\/.*\.json/);
    if (stack.config.artifactStore.kind !== 'fs') throw new Error('the cockpit stack uses the default folder store');
    const kept = JSON.parse(readFileSync(path.join(stack.config.artifactStore.root, 'reports', 'cpu', 'latest.json'), 'utf8')) as typeof report;
    expect(kept.generalization.submissions.filter((s) => s.overfit).map((s) => s.submissionId)).toEqual(['leaky-lab.memorized-open']);
    expect(readFileSync(path.join(stack.config.artifactStore.root, 'reports', 'cpu', 'latest.txt'), 'utf8')).toMatch(/leaky-lab\.memorized-open/);
  }, 120_000);

  it('cancels a running pipeline: the stage stops, the pipeline ends as cancelled, nothing is left running', async () => {
    const run = await submit(stack.client, stack.config, path.join(PROJECT_ROOT, 'examples/checkpointing-trainer'), {
      limits: LIMITS,
      heartbeatTimeoutMs: 3000,
    });
    for (let i = 0; i < 300; i++) {
      const state = await stack.client.workflow.getHandle(run.workflowId).query<PipelineState>('progress');
      if (state.currentStage === 'fine-tune' && state.stages.find((s) => s.stage === 'fine-tune')?.startedAt) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    const cancelled = await stack.cli(['cancel', 'steady-pace.checkpointed']);
    expect(cancelled.exitCode).toBe(0);
    const state = (await finished(run.workflowId)) as PipelineState;
    expect(state.outcome).toBe('cancelled');
    expect(db.stages('steady-pace.checkpointed').find((s) => s.stage === 'fine-tune')).toMatchObject({ outcome: 'failed', failureCategory: 'Cancelled' });
    expect(db.pipeline('steady-pace.checkpointed')?.outcome).toBe('cancelled');
    const left = await execa('docker', ['ps', '-aq', '--filter', `label=challenge.workflow=${run.workflowId}`]);
    expect(left.stdout.trim()).toBe('');
  }, 180_000);
});
