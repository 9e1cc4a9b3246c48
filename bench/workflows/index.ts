/**
 * Benchmark workflows (bundled by the benchmarks' own workers through `workflowsPath`).
 *
 * benchPipeline has the real pipeline's shape (workflows/submission-pipeline.ts): register, claim a host,
 * then five stages, each started with a search-attribute update and recorded by a bookkeeping step; the four
 * host stages run as an activity under runWithLimit (the limit counted from the stage-start signal), the two
 * evaluations also record their scores, and score runs no activity (as in the pipeline); then the end. Its
 * `orchestration` input chooses how: 'activity-tasks' as the pipeline did before (bookkeeping and the claim
 * as activity tasks), 'local' as it does now (bookkeeping as local activities, the slot from the track's
 * placement workflow through the real SlotLease, handed back at the end).
 */
import { ActivityCancellationType, proxyActivities, proxyLocalActivities, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import { STAGES, TASK_QUEUES, type StageName } from '../../temporal.config.js';
import { SA } from '../../contract/search-attributes.js';
import { stageStartedSignal } from '../../contract/pipeline.js';
import { runWithLimit } from '../../workflows/run-with-limit.js';
import { SlotLease } from '../../workflows/placement.js';

export { trackPlacement } from '../../workflows/placement.js';
import type { ActivityTiming, BenchActivities, GpuJobRecord, LimitedChildInput, LimitedChildResult, PlacedJobRecord } from '../activities.js';

export interface BenchPipelineInput {
  submissionId: string;
  orchestratorQueue: string;
  hostQueue: string;
  limitMs: number;
  heartbeatTimeoutMs: number;
  workMs: number;
  orchestration: 'activity-tasks' | 'local';
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
  const local = input.orchestration === 'local';
  const bookkeeping = local
    ? proxyLocalActivities<BenchActivities>({ startToCloseTimeout: '1m' })
    : proxyActivities<BenchActivities>({ taskQueue: input.orchestratorQueue, startToCloseTimeout: '1m' });
  const claim = proxyActivities<BenchActivities>({ taskQueue: input.hostQueue, startToCloseTimeout: '30s' });
  const lease = new SlotLease('cpu', () => Promise.reject(new Error('the bench claims through the placement')));
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
  if (local) {
    // The real claim (a signal to the placement workflow from a local activity, answered by a grant signal); one step.
    await lease.claim(null);
    total.activities++;
  } else {
    add(await claim.claimHost());
  }
  for (const stage of STAGES) {
    upsertSearchAttributes([{ key: SA.Stage, value: stage }]);
    if (stage !== 'score') {
      const outcome = await runWithLimit({ limitMs: input.limitMs, summary: `${stage} limit`, startedAt: () => starts[stage], stage: () => host.stage({ stage, workMs: input.workMs }) });
      if (!outcome.ok) throw outcome.error;
      if (outcome.timerFired) total.timersFired++;
      add(outcome.value);
    }
    if (stage === 'open-eval' || stage === 'closed-eval') add(await bookkeeping.noop('recordScores'));
    add(await bookkeeping.noop('recordStage'));
  }
  upsertSearchAttributes([{ key: SA.Outcome, value: 'completed' }, { key: SA.Stage, value: 'done' }]);
  await lease.release();
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
  const outcome = await runWithLimit({
    limitMs: input.limitMs,
    summary: 'bench limit',
    startedAt: () => startedAt,
    stage: () => act.limitedChild({ limitMs: input.limitMs, selfDeadline: input.selfDeadline, heartbeatEveryMs: input.heartbeatEveryMs }),
  });
  return outcome.ok
    ? { timerFired: outcome.timerFired, result: outcome.value, error: null }
    : { timerFired: outcome.timerFired, result: null, error: String(outcome.error) };
}

export interface BenchPlacedJobInput {
  jobId: string;
  workMs: number;
  /** 'first-poller': the claim as before, any host's claim worker answers; 'placement': the track's placement. */
  claim: 'first-poller' | 'placement';
  /** the submitting team, for the placement's fair share (bench/fair-share.ts); absent: no team */
  team?: string;
}

/**
 * One submission of the placement benchmark: claim a host of the cpu track, hold one of its GPU slots for
 * `workMs` (an activity on the host's pinned GPU queue, as the pipeline's stages run), hand the slot back.
 */
export async function benchPlacedJob(input: BenchPlacedJobInput): Promise<PlacedJobRecord> {
  const claimThroughQueue = () => proxyActivities<BenchActivities>({ taskQueue: TASK_QUEUES.track('cpu'), startToCloseTimeout: '30s' }).claimSlotHost();
  const lease = new SlotLease('cpu', claimThroughQueue, input.team === undefined ? {} : { team: input.team });
  try {
    const host = input.claim === 'placement' ? await lease.claim(null) : await claimThroughQueue();
    const claimedAt = Date.now(); // workflow time: the start of the workflow task that saw the claim's answer
    const gpu = proxyActivities<BenchActivities>({ taskQueue: host.gpuQueue, startToCloseTimeout: '5m' });
    const record = await gpu.gpuWork({ jobId: input.jobId, track: 'cpu', workMs: input.workMs });
    return { ...record, hostId: host.hostId, claimedAt };
  } finally {
    await lease.release();
  }
}
