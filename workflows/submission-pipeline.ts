/**
 * submissionPipeline: one per submission. build → fine-tune → open evaluation → closed evaluation → score.
 * Orchestration only: every side effect is an activity; every limit is a durable timer; every failure
 * ends up as a named category in the results database, the Web UI (search attributes) and the query.
 */
import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  CancelledFailure,
  isCancellation,
  proxyActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { ACTIVITY_POLICY, HARNESS_DEFAULTS, TASK_QUEUES, TRACKS, formatDuration, limitsFor, type StageName } from '../temporal.config.js';
import { FAILURE_CATEGORIES, isFailureCategory, type FailureCategory, type FailureDetails } from '../domain/failures.js';
import type { BookkeepingActivities } from '../activities/bookkeeping.js';
import type { HostActivities } from '../activities/host.js';
import type { EvaluateResult, HarnessSettings, PipelineInput, StageReport } from '../activities/types.js';
import type { SuiteKind } from '../domain/harness/suite.js';
import { SA, progressQuery, stageStartedSignal, type PipelineState, type StageState } from './definitions.js';
import { runWithLimit, type LimitedResult } from './run-with-limit.js';


const bookkeeping = proxyActivities<BookkeepingActivities>({
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
type StageStarts = Partial<Record<StageName, { at: number; workflowAt: number }>>;

/**
 * Runs a stage until it ends for a reason other than a worker shutdown. A shutdown hands the stage back;
 * it is scheduled again (a new activity, so no retry attempt is spent) and continues from its checkpoint
 * or persisted answers. The limit runs from the stage's first real start and spans every hand-over.
 */
async function withHandovers<T>(
  stage: StageName,
  limitMs: number,
  starts: StageStarts,
  run: (fresh: boolean, stageStartedAt: number | null) => Promise<T>,
): Promise<{ outcome: LimitedResult<T>; handovers: number }> {
  for (let handovers = 0; ; handovers++) {
    const outcome = await runWithLimit(limitMs, `${stage} limit`, () => starts[stage]?.workflowAt, () => run(handovers === 0, starts[stage]?.at ?? null));
    if (!outcome.ok && !outcome.timerFired && isWorkerShutdown(outcome.error)) continue;
    return { outcome, handovers };
  }
}

export async function submissionPipeline(input: PipelineInput): Promise<PipelineState> {
  const info = workflowInfo();
  const limits = limitsFor(input.track, input.limits);
  const harness: HarnessSettings = { ...HARNESS_DEFAULTS, ...input.harness };
  const heartbeatTimeout = input.heartbeatTimeoutMs ?? ACTIVITY_POLICY.heartbeatTimeoutMs;
  const stageNames: StageName[] = ['build', 'fine-tune', 'open-eval', 'closed-eval', 'score'];
  const stageLimits: Record<StageName, number | null> = {
    build: limits.build,
    'fine-tune': limits.fineTune,
    'open-eval': limits.openEval,
    'closed-eval': limits.closedEval,
    score: null,
  };
  const state: PipelineState = {
    submissionId: input.submissionId,
    track: input.track,
    host: null,
    currentStage: 'build',
    outcome: 'running',
    failureCategory: null,
    stages: stageNames.map((stage): StageState => ({
      stage,
      outcome: 'pending',
      failureCategory: null,
      reason: null,
      startedAt: null,
      endedAt: null,
      limitMs: stageLimits[stage],
    })),
  };
  setHandler(progressQuery, () => state);
  const stageState = (stage: StageName) => state.stages.find((s) => s.stage === stage)!;
  const starts: StageStarts = {};
  setHandler(stageStartedSignal, ({ stage, at }) => {
    if (starts[stage]) return; // a later execution of the stage keeps the first start
    starts[stage] = { at, workflowAt: Date.now() };
    stageState(stage).startedAt = Date.now();
  });

  const startStage = (stage: StageName): void => {
    state.currentStage = stage;
    stageState(stage).outcome = 'running'; // startedAt comes with the stage's start signal
    upsertSearchAttributes([{ key: SA.Stage, value: stage }]);
  };
  const endStage = async (stage: StageName, outcome: StageReport['outcome'], failure: FailureDetails | null, details: Record<string, unknown> | null = null) => {
    const s = stageState(stage);
    Object.assign(s, { outcome, endedAt: Date.now(), failureCategory: failure?.category ?? null, reason: failure?.reason ?? null });
    // The first charged failure names the pipeline's failure (e.g. TimeLimit in open-eval).
    if (failure && failure.category !== 'Cancelled' && state.failureCategory === null) {
      state.failureCategory = failure.category;
      upsertSearchAttributes([{ key: SA.FailureCategory, value: failure.category }]);
    }
    await bookkeeping.recordStage({
      submissionId: input.submissionId,
      stage,
      outcome,
      failureCategory: failure?.category ?? null,
      reason: failure?.reason ?? null,
      startedAt: s.startedAt === null ? null : new Date(s.startedAt).toISOString(),
      endedAt: new Date(s.endedAt!).toISOString(),
      limitMs: s.limitMs,
      details: { ...details, ...(failure?.step ? { step: failure.step } : {}), ...(failure?.logExcerpt ? { logExcerpt: failure.logExcerpt } : {}) },
    });
  };
  const skipRemaining = async (reason: string) => {
    for (const s of state.stages) {
      if (s.outcome === 'pending') {
        s.outcome = 'skipped';
        s.reason = reason;
        await bookkeeping.recordStage({ submissionId: input.submissionId, stage: s.stage, outcome: 'skipped', failureCategory: null, reason, startedAt: null, endedAt: null, limitMs: s.limitMs, details: null });
      }
    }
  };
  const finish = async (outcome: PipelineState['outcome'], reason: string | null): Promise<PipelineState> => {
    state.outcome = outcome;
    state.currentStage = 'done';
    upsertSearchAttributes([{ key: SA.Outcome, value: outcome }, { key: SA.Stage, value: 'done' }]);
    await bookkeeping.recordPipelineEnd({ submissionId: input.submissionId, outcome: outcome === 'running' ? 'completed' : outcome, failureCategory: state.failureCategory, reason, at: new Date().toISOString() });
    return state;
  };

  upsertSearchAttributes([
    { key: SA.Team, value: input.team },
    { key: SA.Submission, value: input.submissionId },
    { key: SA.Track, value: input.track },
    { key: SA.Outcome, value: 'running' },
  ]);
  await bookkeeping.registerSubmission({
    submissionId: input.submissionId,
    team: input.team,
    submission: input.submission,
    track: input.track,
    directory: input.directory,
    workflowId: info.workflowId,
    runId: info.runId,
    submittedAt: new Date().toISOString(),
  });

  try {
    // ---- host: any GPU host of the track; later stages are pinned to it (images and artifacts are local).
    const claim = proxyActivities<HostActivities>({
      taskQueue: TASK_QUEUES.track(input.track),
      startToCloseTimeout: '30s',
      retry: ACTIVITY_POLICY.infrastructureRetry,
      summary: `find a ${input.track} host`,
    });
    const host = await claim.claimHost();
    state.host = host.hostId;

    const pinned = (queue: string, limitMs: number, nonRetryable: FailureCategory[]) =>
      proxyActivities<HostActivities>({
        taskQueue: queue,
        startToCloseTimeout: limitMs + ACTIVITY_POLICY.startToCloseMarginMs,
        heartbeatTimeout,
        cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
        retry: { ...ACTIVITY_POLICY.infrastructureRetry, nonRetryableErrorTypes: [...nonRetryable, 'WorkerShutdown'] },
      });
    const charged = (Object.keys(FAILURE_CATEGORIES) as FailureCategory[]).filter((c) => !FAILURE_CATEGORIES[c].retryable);

    // ---- build
    startStage('build');
    const { outcome: built } = await withHandovers('build', limits.build, starts, () =>
      pinned(host.cpuQueue, limits.build, charged).buildImages({ submissionId: input.submissionId, workflowId: info.workflowId, directory: input.directory }),
    );
    if (!built.ok) {
      const failure = built.timerFired ? { category: 'TimeLimit' as const, reason: `the build did not finish within its limit of ${formatDuration(limits.build)}` } : failureOf(built.error);
      await endStage('build', 'failed', failure);
      await skipRemaining('the build failed');
      return await finish('failed', failure.reason);
    }
    const images = built.value;
    await endStage('build', 'succeeded', null, { durationMs: images.durationMs, inferenceImage: images.inferenceImage, trainImage: images.trainImage, preflightWarnings: images.preflightWarnings });

    // ---- fine-tune: an OOM kill gets the track's retries with CHALLENGE_OOM_RETRY=1 so the submission can
    // shrink its batch. The deadline spans every attempt: the limit is for the stage, not for each try.
    startStage('fine-tune');
    let fineTuneHandovers = 0;
    for (let oomRetries = 0; ; oomRetries++) {
      const { outcome: trained, handovers } = await withHandovers('fine-tune', limits.fineTune, starts, (fresh, stageStartedAt) =>
        pinned(host.gpuQueue, limits.fineTune, charged).fineTune({
          submissionId: input.submissionId,
          workflowId: info.workflowId,
          track: input.track,
          trainImage: images.trainImage,
          limitMs: limits.fineTune,
          stageStartedAt,
          oomRetry: oomRetries > 0,
          fresh: fresh && oomRetries === 0,
        }),
      );
      fineTuneHandovers += handovers;
      if (trained.ok) {
        const result = trained.value;
        if (result.ending === 'cancelled' && !trained.timerFired) throw new CancelledFailure('fine-tune cancelled by an operator');
        const timedOut = trained.timerFired || result.ending === 'deadline';
        const failure = timedOut
          ? { category: 'TimeLimit' as const, reason: `training reached its limit of ${formatDuration(limits.fineTune)}; evaluating what it wrote (${result.artifactFiles} files)` }
          : null;
        await endStage('fine-tune', timedOut ? 'partial' : 'succeeded', failure, {
          durationMs: result.durationMs,
          artifactFiles: result.artifactFiles,
          progress: result.progress,
          resumedFrom: result.resumedFrom,
          attempt: result.attempt,
          handovers: fineTuneHandovers,
          oomRetries,
          stopDelayMs: result.stopDelayMs,
          peakMemoryBytes: result.peakMemoryBytes,
        });
        break;
      }
      const failure = trained.timerFired ? { category: 'TimeLimit' as const, reason: `training reached its limit of ${formatDuration(limits.fineTune)} before it could be stopped cleanly` } : failureOf(trained.error);
      if (failure.category === 'OutOfMemory' && oomRetries < TRACKS[input.track].retries.outOfMemory && !trained.timerFired) continue;
      await endStage('fine-tune', 'failed', failure, { oomRetries, handovers: fineTuneHandovers });
      await skipRemaining('fine-tuning failed');
      return await finish('failed', failure.reason);
    }

    // ---- open and closed evaluations: each under its own limit; unanswered instances score zero.
    for (const suite of ['open', 'closed'] as SuiteKind[]) {
      const stage: StageName = suite === 'open' ? 'open-eval' : 'closed-eval';
      const limitMs = suite === 'open' ? limits.openEval : limits.closedEval;
      startStage(stage);
      const { outcome: evaluated, handovers } = await withHandovers(stage, limitMs, starts, (_fresh, stageStartedAt) =>
        pinned(host.gpuQueue, limitMs, charged).evaluate({
          submissionId: input.submissionId,
          workflowId: info.workflowId,
          track: input.track,
          suite,
          suiteFile: input.suites[suite],
          inferenceImage: images.inferenceImage,
          limitMs,
          stageStartedAt,
          startupLimitMs: limits.startup,
          harness,
          serverRestarts: TRACKS[input.track].retries.serverCrash,
        }),
      );
      if (!evaluated.ok) {
        await endStage(stage, 'failed', evaluated.timerFired ? { category: 'TimeLimit', reason: `the evaluation reached its limit of ${formatDuration(limitMs)} before the server was ready` } : failureOf(evaluated.error), { handovers });
        continue;
      }
      const result: EvaluateResult = evaluated.value;
      if (result.ending === 'cancelled' && !evaluated.timerFired) throw new CancelledFailure(`${stage} cancelled by an operator`);
      await bookkeeping.recordScores({ submissionId: input.submissionId, suite, summary: result.summary });
      const s = result.summary;
      const counts = `${s.answered - s.failed} of ${s.total} instances answered, ${s.failed} failed, ${s.unanswered} unanswered`;
      const violations = (s.failuresByKind.schema ?? 0) + (s.failuresByKind['invalid-json'] ?? 0) + (s.failuresByKind['too-large'] ?? 0);
      const failure: FailureDetails | null =
        evaluated.timerFired || result.ending === 'deadline' || result.ending === 'cancelled'
          ? { category: 'TimeLimit', reason: `the evaluation reached its limit of ${formatDuration(limitMs)}: ${counts}` }
          : result.ending === 'server-crashed'
            ? { category: 'ServerCrashed', reason: `${result.reason ?? 'the server crashed'}: ${counts}` }
            : violations > 0 && violations * 2 >= s.answered
              ? { category: 'ContractViolation', reason: `${violations} of ${s.answered} answers were outside the contract: ${counts}` }
              : null;
      await endStage(stage, failure ? 'partial' : 'succeeded', failure, {
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
      });
    }

    // ---- score: the scenario scores are recorded; the leaderboard ranks the whole track on read.
    startStage('score');
    await endStage('score', 'succeeded', null);
    return await finish('completed', null);
  } catch (error) {
    if (isCancellation(error)) {
      // Record the cancellation even though the workflow itself is being cancelled.
      return await CancellationScope.nonCancellable(async () => {
        const running = state.stages.find((s) => s.outcome === 'running');
        if (running) await endStage(running.stage, 'failed', { category: 'Cancelled', reason: 'an operator cancelled the pipeline' });
        await skipRemaining('the pipeline was cancelled');
        return await finish('cancelled', 'an operator cancelled the pipeline');
      });
    }
    throw error;
  }
}
