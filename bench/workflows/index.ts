/**
 * Benchmark workflows (bundled by the benchmarks' own workers through `workflowsPath`).
 *
 * benchPipeline has the real pipeline's shape (workflows/submission-pipeline.ts): register, claim a host,
 * then five stages, each started with a search-attribute update, run as an activity under runWithLimit
 * (the limit counted from the stage-start signal) and recorded by a bookkeeping activity, then the end.
 */
import { ActivityCancellationType, proxyActivities, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import { STAGES, type StageName } from '../../temporal.config.js';
import { SA, stageStartedSignal } from '../../workflows/definitions.js';
import { runWithLimit } from '../../workflows/run-with-limit.js';
import type { ActivityTiming, BenchActivities, GpuJobRecord, LimitedChildInput, LimitedChildResult } from '../activities.js';

export interface BenchPipelineInput {
  submissionId: string;
  orchestratorQueue: string;
  hostQueue: string;
  limitMs: number;
  heartbeatTimeoutMs: number;
  workMs: number;
}

export interface BenchPipelineResult {
  activities: number;
  /** Σ activity own time, without the stage-start signals */
  workMs: number;
  /** Σ stage-start signal round trips (part of the overhead) */
  signalMs: number;
  timersFired: number;
}

export async function benchPipeline(input: BenchPipelineInput): Promise<BenchPipelineResult> {
  const bookkeeping = proxyActivities<BenchActivities>({ taskQueue: input.orchestratorQueue, startToCloseTimeout: '1m' });
  const claim = proxyActivities<BenchActivities>({ taskQueue: input.hostQueue, startToCloseTimeout: '30s' });
  const host = proxyActivities<BenchActivities>({
    taskQueue: input.hostQueue,
    startToCloseTimeout: input.limitMs + 600_000,
    heartbeatTimeout: input.heartbeatTimeoutMs,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  });
  const starts: Partial<Record<StageName, number>> = {};
  setHandler(stageStartedSignal, ({ stage }) => {
    starts[stage] ??= Date.now();
  });
  const total: BenchPipelineResult = { activities: 0, workMs: 0, signalMs: 0, timersFired: 0 };
  const add = (t: ActivityTiming) => {
    total.activities++;
    total.workMs += t.ownMs - t.signalMs;
    total.signalMs += t.signalMs;
  };
  upsertSearchAttributes([
    { key: SA.Team, value: 'bench' },
    { key: SA.Submission, value: input.submissionId },
    { key: SA.Track, value: 'cpu' },
    { key: SA.Outcome, value: 'running' },
  ]);
  add(await bookkeeping.noop('registerSubmission'));
  add(await claim.claimHost());
  for (const stage of STAGES) {
    upsertSearchAttributes([{ key: SA.Stage, value: stage }]);
    const outcome = await runWithLimit(
      input.limitMs,
      `${stage} limit`,
      () => starts[stage],
      () => host.stage({ stage, workMs: input.workMs }),
    );
    if (!outcome.ok) throw outcome.error;
    if (outcome.timerFired) total.timersFired++;
    add(outcome.value);
    add(await bookkeeping.noop('recordStage'));
  }
  upsertSearchAttributes([
    { key: SA.Outcome, value: 'completed' },
    { key: SA.Stage, value: 'done' },
  ]);
  add(await bookkeeping.noop('recordPipelineEnd'));
  return total;
}

/** Reference: one no-op activity, the smallest unit of orchestration. */
export async function benchBareActivity(input: { queue: string }): Promise<ActivityTiming> {
  return proxyActivities<BenchActivities>({ taskQueue: input.queue, startToCloseTimeout: '1m' }).noop('bare');
}

/** One GPU job: one activity on its track's queue, which has as many slots as GPUs. */
export async function benchGpuJob(input: { jobId: string; track: string; queue: string; workMs: number }): Promise<GpuJobRecord> {
  const gpu = proxyActivities<BenchActivities>({ taskQueue: input.queue, startToCloseTimeout: '5m' });
  return gpu.gpuWork({ jobId: input.jobId, track: input.track, workMs: input.workMs });
}

export interface BenchLimitInput extends LimitedChildInput {
  queue: string;
  heartbeatTimeoutMs: number;
}

/** One stage under runWithLimit whose activity runs a child process longer than the limit. */
export async function benchLimit(input: BenchLimitInput): Promise<{ timerFired: boolean; result: LimitedChildResult | null; error: string | null }> {
  const act = proxyActivities<BenchActivities>({
    taskQueue: input.queue,
    startToCloseTimeout: input.limitMs + 600_000,
    heartbeatTimeout: input.heartbeatTimeoutMs,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { maximumAttempts: 1 },
  });
  let startedAt: number | undefined;
  setHandler(stageStartedSignal, () => {
    startedAt ??= Date.now();
  });
  const outcome = await runWithLimit(
    input.limitMs,
    'bench limit',
    () => startedAt,
    () => act.limitedChild({ limitMs: input.limitMs, selfDeadline: input.selfDeadline, heartbeatEveryMs: input.heartbeatEveryMs }),
  );
  return outcome.ok
    ? { timerFired: outcome.timerFired, result: outcome.value, error: null }
    : { timerFired: outcome.timerFired, result: null, error: String(outcome.error) };
}
