/**
 * Building blocks shared by the workflows: how a host-pinned stage is called, how it survives worker
 * hand-overs, how an activity failure becomes a named failure, and the evaluation stage itself (used by
 * the pipeline and by re-evaluations).
 */
import { ActivityCancellationType, ActivityFailure, ApplicationFailure, CancelledFailure, TimeoutFailure, isCancellation, patched, proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import {
  ACTIVITY_POLICY,
  EVAL_STAGE,
  STAGE_LIMIT_KEY,
  TASK_QUEUES,
  TRACKS,
  formatDuration,
  retryPolicyWith,
  type RetryOverride,
  type StageLimits,
  type StageName,
  type TrackId,
} from '../temporal.config.js';
import { FAILURE_CATEGORIES, isFailureCategory, type FailureCategory, type FailureDetails } from '../domain/failures.js';
import type { BookkeepingActivities } from '../activities/bookkeeping.js';
import type { HostActivities } from '../activities/host.js';
import type { EvaluateResult, Failover, HarnessSettings, HostAssignment, HostPolicy, StageReport, SubmissionSource } from '../contract/types.js';
import type { SuiteKind } from '../domain/harness/suite.js';
import { runWithLimit, type LimitedResult } from './run-with-limit.js';
import type { StageProgressBook } from './stage-progress.js';
import type { SlotLease } from './placement.js';

/** Histories recorded before this patch ran the bookkeeping as activity tasks; later ones run it as local activities. */
export const BOOKKEEPING_LOCAL_PATCH = 'bookkeeping-local-activities';

const bookkeepingTasks = proxyActivities<BookkeepingActivities>({
  taskQueue: TASK_QUEUES.orchestrator,
  startToCloseTimeout: '1m',
  retry: ACTIVITY_POLICY.bookkeepingRetry,
});

/**
 * The results-database writes and reads run as local activities, in the orchestrator worker that runs the
 * workflow (it registers them): no activity task goes through the server, so a step costs no round trip of
 * its own (an activity task cost about 104 ms of them, bench/RESULTS.md). Durability is the same: a local
 * activity's result is recorded in the history with the workflow task, and a worker that crashes before that
 * runs it again on replay, which these writes allow (they are upserts, and registerRun is keyed by run id).
 */
const bookkeepingLocal = proxyLocalActivities<BookkeepingActivities>({
  startToCloseTimeout: '1m',
  retry: ACTIVITY_POLICY.bookkeepingRetry,
});

/** The bookkeeping of this workflow run: local activities, or activity tasks when replaying an older history. */
export function bookkeeping(): BookkeepingActivities {
  return patched(BOOKKEEPING_LOCAL_PATCH) ? bookkeepingLocal : bookkeepingTasks;
}

/** Reads the named failure an activity raised; anything unnamed is our infrastructure's fault. */
export function failureOf(error: unknown): FailureDetails {
  if (error instanceof ActivityFailure && error.cause instanceof ApplicationFailure) {
    const cause = error.cause;
    const details = cause.details?.[0] as Partial<FailureDetails> | undefined;
    const category: FailureCategory = isFailureCategory(cause.type) ? cause.type : 'Infrastructure';
    return {
      category,
      reason: details?.reason ?? cause.message,
      ...(details?.step ? { step: details.step } : {}),
      ...(details?.logExcerpt ? { logExcerpt: details.logExcerpt } : {}),
      ...(details?.kept ? { kept: details.kept } : {}),
    };
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

/** A host-pinned activity that no worker of its host picked up in time, or whose worker stopped heartbeating. */
export function isHostSilent(error: unknown): boolean {
  if (!(error instanceof ActivityFailure) || !(error.cause instanceof TimeoutFailure)) return false;
  return error.cause.timeoutType === 'SCHEDULE_TO_START' || error.cause.timeoutType === 'HEARTBEAT';
}

/** When each stage really started: on the activity host's clock, and in workflow time. */
export type StageStarts = Partial<Record<StageName, { at: number; workflowAt: number }>>;

/**
 * The GPU host a submission's stages are pinned to (its images and training output are local there),
 * and what happens when that host stops answering: a host that still shows signs of life (busy, every
 * GPU slot taken) keeps the stage; a host that is gone loses it to another host of the track, which
 * is prepared first (images built from the same sources; the training output comes from the artifact
 * store when the stage starts there). The time the lost host had been silent is not charged to the
 * stage's limit.
 */
export class HostGuard {
  readonly failovers: Failover[] = [];

  constructor(
    private host: HostAssignment,
    private readonly options: {
      track: TrackId;
      submissionId: string;
      workflowId: string;
      /** The submission's sources: a new host builds its images from them. */
      directory: string;
      /** An upload's stored archive, for a new host that lacks `directory`. */
      source?: SubmissionSource | undefined;
      /** A run without fine-tune: a new host builds the inference image only. */
      inferenceOnly?: boolean;
      buildLimitMs: number;
      heartbeatTimeoutMs: number;
      policy: HostPolicy | undefined;
      /** Overrides of ACTIVITY_POLICY.buildRetry for this run (tests shorten it). */
      buildRetry?: RetryOverride | undefined;
      starts: StageStarts;
      /** The slot the submission holds on its host; a failover gives it up and claims one on another host. */
      lease: SlotLease;
      /** Told about every move, e.g. to show the new host in the query and the Web UI. */
      onMove: (failover: Failover, host: HostAssignment) => void;
    },
  ) {}

  get current(): HostAssignment {
    return this.host;
  }

  /** When each stage really started; a move shifts the moved stage's start by the credited silence. */
  get starts(): StageStarts {
    return this.options.starts;
  }

  get scheduleToStartMs(): number {
    return this.options.policy?.scheduleToStartMs ?? ACTIVITY_POLICY.hostScheduleToStartMs;
  }

  /** Activities on the current host's GPU or CPU queue, for a stage whose limit is `limitMs`. */
  activities(queue: 'gpu' | 'cpu', limitMs: number, summary: string) {
    const taskQueue = queue === 'gpu' ? this.host.gpuQueue : this.host.cpuQueue;
    return hostActivities({ taskQueue, limitMs, heartbeatTimeoutMs: this.options.heartbeatTimeoutMs, summary, scheduleToStartMs: this.scheduleToStartMs });
  }

  /** The build activity on the current host's CPU queue, retried by ACTIVITY_POLICY.buildRetry (and the run's overrides). */
  builder(summary: string) {
    return hostActivities({
      taskQueue: this.host.cpuQueue,
      limitMs: this.options.buildLimitMs,
      heartbeatTimeoutMs: this.options.heartbeatTimeoutMs,
      summary,
      scheduleToStartMs: this.scheduleToStartMs,
      retry: this.buildRetryPolicy,
    });
  }

  /** The build's retry policy for this run: ACTIVITY_POLICY.buildRetry with the run's overrides. */
  get buildRetryPolicy() {
    return retryPolicyWith(ACTIVITY_POLICY.buildRetry, this.options.buildRetry);
  }

  /**
   * Called when the current host did not pick up a stage or stopped heartbeating. Returns once the stage
   * can be scheduled again: on the same host when it is alive, else on a new one, prepared.
   */
  async recover(stage: StageName): Promise<void> {
    const goneAfterMs = this.options.policy?.goneAfterMs ?? ACTIVITY_POLICY.hostGoneAfterMs;
    for (;;) {
      const status = await bookkeeping().hostStatus({ hostId: this.host.hostId, goneAfterMs });
      if (status.alive) return;
      const lost = this.host;
      const creditedMs = status.silentForMs ?? 0;
      this.host = await this.options.lease.claim(lost.hostId);
      const failover: Failover = { stage, from: lost.hostId, to: this.host.hostId, creditedMs, at: new Date().toISOString() };
      this.failovers.push(failover);
      this.options.onMove(failover, this.host);
      const start = this.options.starts[stage];
      if (start) this.options.starts[stage] = { at: start.at + creditedMs, workflowAt: start.workflowAt + creditedMs };
      if (stage === 'build') return;
      try {
        // The images are local to the host that built them: build them here from the same sources.
        await this.builder(`Build the images of ${this.options.submissionId} on ${this.host.hostId} (moved from ${lost.hostId})`).buildImages({
          submissionId: this.options.submissionId,
          workflowId: this.options.workflowId,
          directory: this.options.directory,
          reuseIfPresent: true,
          ...(this.options.source ? { source: this.options.source } : {}),
          ...(this.options.inferenceOnly ? { inferenceOnly: true } : {}),
        });
        return;
      } catch (error) {
        if (!isHostSilent(error)) throw error;
        // The new host went silent too: check it like the first one.
      }
    }
  }
}

/**
 * Runs a stage until it ends for a reason other than a worker shutdown or a silent host. A shutdown
 * hands the stage back; it is scheduled again (a new activity, so no retry attempt is spent) and
 * continues from its checkpoint or persisted answers. A silent host is checked and, when gone, replaced
 * (see HostGuard). The limit runs from the stage's first real start and spans every hand-over.
 */
export async function withHandovers<T>(
  { stage, limitMs, guard }: { stage: StageName; limitMs: number; guard: HostGuard },
  run: (fresh: boolean, stageStartedAt: number | null) => Promise<T>,
): Promise<{ outcome: LimitedResult<T>; handovers: number; failovers: number }> {
  let handovers = 0;
  const movesBefore = guard.failovers.length;
  const starts = guard.starts;
  for (;;) {
    // Fresh until the stage has really started somewhere (its start signal): a stage that only waited in a
    // busy host's queue has nothing to resume; one that ran on a lost host continues from its checkpoint.
    const fresh = starts[stage] === undefined;
    const outcome = await runWithLimit({
      limitMs,
      summary: `The ${stage} stage reaches its limit of ${formatDuration(limitMs)}`,
      startedAt: () => starts[stage]?.workflowAt,
      stage: () => run(fresh, starts[stage]?.at ?? null),
    });
    if (!outcome.ok && !outcome.timerFired) {
      if (isWorkerShutdown(outcome.error)) {
        handovers++;
        continue;
      }
      if (isHostSilent(outcome.error)) {
        try {
          await guard.recover(stage);
        } catch (error) {
          if (isCancellation(error)) throw error;
          return { outcome: { ok: false, error, timerFired: false }, handovers, failovers: guard.failovers.length - movesBefore };
        }
        continue;
      }
    }
    return { outcome, handovers, failovers: guard.failovers.length - movesBefore };
  }
}


/** An evaluation stage's limit under the run's limits: the one mapping from a suite to its limit. */
export const evaluationLimitMs = (limits: StageLimits, suite: SuiteKind): number => limits[STAGE_LIMIT_KEY[EVAL_STAGE[suite]]];

/** Failures charged to the participant are final: the server does not retry them. */
const CHARGED: FailureCategory[] = (Object.keys(FAILURE_CATEGORIES) as FailureCategory[]).filter((c) => !FAILURE_CATEGORIES[c].retryable);

/**
 * Activities of one host's queue, for a stage whose limit is `limitMs` (the timeout is only a backstop). Failures
 * of our infrastructure are retried by `retry` (ACTIVITY_POLICY.infrastructureRetry unless given); charged ones are final.
 */
export const hostActivities = ({
  taskQueue,
  limitMs,
  heartbeatTimeoutMs,
  summary,
  scheduleToStartMs,
  retry = ACTIVITY_POLICY.infrastructureRetry,
}: {
  taskQueue: string;
  limitMs: number;
  heartbeatTimeoutMs: number;
  summary: string;
  scheduleToStartMs: number;
  retry?: ReturnType<typeof retryPolicyWith>;
}) =>
  proxyActivities<HostActivities>({
    taskQueue,
    summary,
    // Only the pinned host polls this queue: waiting longer than this means it is busy or gone (HostGuard decides).
    scheduleToStartTimeout: scheduleToStartMs,
    startToCloseTimeout: limitMs + ACTIVITY_POLICY.startToCloseMarginMs,
    heartbeatTimeout: heartbeatTimeoutMs,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { ...retry, nonRetryableErrorTypes: [...CHARGED, 'WorkerShutdown'] },
  });

/** The claim of pipelines started before the load-aware placement (workflows/placement.ts): any host that polls first. */
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
  guard: HostGuard;
  /** false for an inference-only run: its server gets no /artifacts mount (EvaluateInput.mountArtifacts). */
  mountArtifacts?: boolean;
  /** The workflow's book of signalled progress: its prediction and count go into the stage's details. */
  progress: StageProgressBook;
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
  const stage: StageName = EVAL_STAGE[input.suite];
  const { outcome: evaluated, handovers, failovers } = await withHandovers({ stage, limitMs: input.limitMs, guard: input.guard }, (_fresh, stageStartedAt) =>
    input.guard.activities('gpu', input.limitMs, `Evaluate ${input.submissionId} on the ${input.suite} suite on ${input.guard.current.hostId} (limit ${formatDuration(input.limitMs)})`).evaluate({
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
      ...(input.mountArtifacts === false ? { mountArtifacts: false } : {}),
    }),
  );
  if (!evaluated.ok) {
    const failure = evaluated.timerFired
      ? { category: 'TimeLimit' as const, reason: `the evaluation reached its limit of ${formatDuration(input.limitMs)} before the server was ready` }
      : failureOf(evaluated.error);
    return { outcome: 'failed', failure, details: { handovers, failovers, ...input.progress.recordDetails(stage) } };
  }
  const result: EvaluateResult = evaluated.value;
  if (result.ending === 'cancelled' && !evaluated.timerFired) throw new CancelledFailure(`${stage} cancelled by an operator`);
  await bookkeeping().recordScores({ submissionId: input.submissionId, suite: input.suite, summary: result.summary });
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
      failovers,
      hostId: result.hostId,
      stopDelayMs: result.stopDelayMs,
      peakMemoryBytes: result.peakMemoryBytes,
      scenarios: s.scenarios,
      ...input.progress.recordDetails(stage, { answered: s.answered, total: s.total, prediction: result.prediction }),
    },
  };
}
