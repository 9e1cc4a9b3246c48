/**
 * Building blocks shared by the workflows: how a host-pinned stage is called, how it survives worker
 * hand-overs, how an activity failure becomes a named failure, and the evaluation stage itself (used by
 * the pipeline and by re-evaluations).
 */
import { ActivityCancellationType, ActivityFailure, ApplicationFailure, CancelledFailure, proxyActivities } from '@temporalio/workflow';
import { ACTIVITY_POLICY, TASK_QUEUES, TRACKS, formatDuration, type StageName, type TrackId } from '../temporal.config.js';
import { FAILURE_CATEGORIES, isFailureCategory, type FailureCategory, type FailureDetails } from '../domain/failures.js';
import type { BookkeepingActivities } from '../activities/bookkeeping.js';
import type { HostActivities } from '../activities/host.js';
import type { EvaluateResult, HarnessSettings, StageReport } from '../activities/types.js';
import type { SuiteKind } from '../domain/harness/suite.js';
import { runWithLimit, type LimitedResult } from './run-with-limit.js';

export const bookkeeping = proxyActivities<BookkeepingActivities>({
  taskQueue: TASK_QUEUES.orchestrator,
  startToCloseTimeout: '1m',
  retry: ACTIVITY_POLICY.bookkeepingRetry,
});

/** Reads the named failure an activity raised; anything unnamed is our infrastructure's fault. */
export function failureOf(error: unknown): FailureDetails {
  if (error instanceof ActivityFailure && error.cause instanceof ApplicationFailure) {
    const cause = error.cause;
    const details = cause.details?.[0] as Partial<FailureDetails> | undefined;
    const category: FailureCategory = isFailureCategory(cause.type) ? cause.type : 'Infrastructure';
    return { category, reason: details?.reason ?? cause.message, ...(details?.step ? { step: details.step } : {}), ...(details?.logExcerpt ? { logExcerpt: details.logExcerpt } : {}) };
  }
  if (error instanceof ActivityFailure) {
    return { category: 'Infrastructure', reason: `${error.activityType} failed: ${error.cause?.message ?? error.message}` };
  }
  return { category: 'Infrastructure', reason: error instanceof Error ? error.message : String(error) };
}

/** An attempt handed back by a worker that is shutting down (a deploy, a drain): not the participant's fault. */
export function isWorkerShutdown(error: unknown): boolean {
  return error instanceof ActivityFailure && error.cause instanceof ApplicationFailure && error.cause.type === 'WorkerShutdown';
}

/** When each stage really started: on the activity host's clock, and in workflow time. */
export type StageStarts = Partial<Record<StageName, { at: number; workflowAt: number }>>;

/**
 * Runs a stage until it ends for a reason other than a worker shutdown. A shutdown hands the stage back;
 * it is scheduled again (a new activity, so no retry attempt is spent) and continues from its checkpoint
 * or persisted answers. The limit runs from the stage's first real start and spans every hand-over.
 */
export async function withHandovers<T>(
  stage: StageName,
  limitMs: number,
  starts: StageStarts,
  run: (fresh: boolean, stageStartedAt: number | null) => Promise<T>,
): Promise<{ outcome: LimitedResult<T>; handovers: number }> {
  for (let handovers = 0; ; handovers++) {
    const outcome = await runWithLimit(limitMs, `The ${stage} stage reaches its limit of ${formatDuration(limitMs)}`, () => starts[stage]?.workflowAt, () => run(handovers === 0, starts[stage]?.at ?? null));
    if (!outcome.ok && !outcome.timerFired && isWorkerShutdown(outcome.error)) continue;
    return { outcome, handovers };
  }
}


/** Failures charged to the participant are final: the server does not retry them. */
const CHARGED: FailureCategory[] = (Object.keys(FAILURE_CATEGORIES) as FailureCategory[]).filter((c) => !FAILURE_CATEGORIES[c].retryable);

/** Activities of one host's queue, for a stage whose limit is `limitMs` (the timeout is only a backstop). */
export const hostActivities = (queue: string, limitMs: number, heartbeatTimeoutMs: number, summary?: string) =>
  proxyActivities<HostActivities>({
    taskQueue: queue,
    ...(summary ? { summary } : {}),
    startToCloseTimeout: limitMs + ACTIVITY_POLICY.startToCloseMarginMs,
    heartbeatTimeout: heartbeatTimeoutMs,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { ...ACTIVITY_POLICY.infrastructureRetry, nonRetryableErrorTypes: [...CHARGED, 'WorkerShutdown'] },
  });

export const claimActivities = (track: TrackId) =>
  proxyActivities<HostActivities>({
    taskQueue: TASK_QUEUES.track(track),
    startToCloseTimeout: '30s',
    retry: ACTIVITY_POLICY.infrastructureRetry,
    summary: `find a ${track} host`,
  });

export interface EvaluationStageInput {
  submissionId: string;
  workflowId: string;
  track: TrackId;
  suite: SuiteKind;
  suiteFile: string;
  inferenceImage: string;
  limitMs: number;
  startupLimitMs: number;
  harness: HarnessSettings;
  gpuQueue: string;
  heartbeatTimeoutMs: number;
  starts: StageStarts;
}

export interface EvaluationStageResult {
  outcome: StageReport['outcome'];
  failure: FailureDetails | null;
  details: Record<string, unknown>;
}

/**
 * One evaluation under its limit: the answers are persisted by the activity, the scenario scores are
 * recorded here, and the ending is named (TimeLimit, ServerCrashed, ContractViolation, ...).
 */
export async function evaluationStage(input: EvaluationStageInput): Promise<EvaluationStageResult> {
  const stage: StageName = input.suite === 'open' ? 'open-eval' : 'closed-eval';
  const { outcome: evaluated, handovers } = await withHandovers(stage, input.limitMs, input.starts, (_fresh, stageStartedAt) =>
    hostActivities(input.gpuQueue, input.limitMs, input.heartbeatTimeoutMs, `Evaluate ${input.submissionId} on the ${input.suite} suite (limit ${formatDuration(input.limitMs)})`).evaluate({
      submissionId: input.submissionId,
      workflowId: input.workflowId,
      track: input.track,
      suite: input.suite,
      suiteFile: input.suiteFile,
      inferenceImage: input.inferenceImage,
      limitMs: input.limitMs,
      stageStartedAt,
      startupLimitMs: input.startupLimitMs,
      harness: input.harness,
      serverRestarts: TRACKS[input.track].retries.serverCrash,
    }),
  );
  if (!evaluated.ok) {
    const failure = evaluated.timerFired
      ? { category: 'TimeLimit' as const, reason: `the evaluation reached its limit of ${formatDuration(input.limitMs)} before the server was ready` }
      : failureOf(evaluated.error);
    return { outcome: 'failed', failure, details: { handovers } };
  }
  const result: EvaluateResult = evaluated.value;
  if (result.ending === 'cancelled' && !evaluated.timerFired) throw new CancelledFailure(`${stage} cancelled by an operator`);
  await bookkeeping.recordScores({ submissionId: input.submissionId, suite: input.suite, summary: result.summary });
  const s = result.summary;
  const counts = `${s.answered - s.failed} of ${s.total} instances answered, ${s.failed} failed, ${s.unanswered} unanswered`;
  const violations = (s.failuresByKind.schema ?? 0) + (s.failuresByKind['invalid-json'] ?? 0) + (s.failuresByKind['too-large'] ?? 0);
  const failure: FailureDetails | null =
    evaluated.timerFired || result.ending === 'deadline' || result.ending === 'cancelled'
      ? { category: 'TimeLimit', reason: `the evaluation reached its limit of ${formatDuration(input.limitMs)}: ${counts}` }
      : result.ending === 'server-crashed'
        ? { category: 'ServerCrashed', reason: `${result.reason ?? 'the server crashed'}: ${counts}` }
        : violations > 0 && violations * 2 >= s.answered
          ? { category: 'ContractViolation', reason: `${violations} of ${s.answered} answers were outside the contract: ${counts}` }
          : null;
  return {
    outcome: failure ? 'partial' : 'succeeded',
    failure,
    details: {
      durationMs: result.durationMs,
      answered: s.answered,
      failed: s.failed,
      unanswered: s.unanswered,
      total: s.total,
      failuresByKind: s.failuresByKind,
      restarts: result.restarts,
      handovers,
      stopDelayMs: result.stopDelayMs,
      peakMemoryBytes: result.peakMemoryBytes,
      scenarios: s.scenarios,
    },
  };
}
