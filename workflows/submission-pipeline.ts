/**
 * submissionPipeline: one per submission. build → fine-tune → open evaluation → closed evaluation → score.
 * Orchestration only: every side effect is an activity; every limit is a durable timer; every failure
 * ends up as a named category in the results database, the Web UI (search attributes) and the query.
 */
import { ActivityFailure, CancellationScope, CancelledFailure, isCancellation, setCurrentDetails, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { ACTIVITY_POLICY, EVAL_STAGE, HARNESS_DEFAULTS, STAGES, TRACKS, formatDuration, limitsFor, stageLimitMs, type StageName } from '../temporal.config.js';
import type { FailureDetails } from '../domain/failures.js';
import type { HarnessSettings, PipelineInput, StageReport } from '../contract/types.js';
import type { SuiteKind } from '../domain/harness/suite.js';
import { SA } from '../contract/search-attributes.js';
import { progressQuery, stageProgressSignal, stageStartedSignal, type PipelineState, type StageState } from '../contract/pipeline.js';
import { HostGuard, bookkeeping, claimActivities, evaluationLimitMs, evaluationStage, failureOf, withHandovers, type StageStarts } from './stages.js';
import { SlotLease } from './placement.js';
import { StageProgressBook } from './stage-progress.js';
import { trainsIn } from '../domain/competition/runs.js';
import { PHASE_STAGES } from '../domain/competition/schema.js';
import { notifySubmissionEnded } from './notify-on-end.js';

/** The pipeline's input (PipelineInput carries the run's overrides of ACTIVITY_POLICY.buildRetry too). */
export type SubmissionPipelineInput = PipelineInput;

export async function submissionPipeline(input: SubmissionPipelineInput): Promise<PipelineState> {
  const info = workflowInfo();
  const limits = limitsFor(input.track, input.limits);
  const harness: HarnessSettings = { ...HARNESS_DEFAULTS, ...input.harness };
  const heartbeatTimeout = input.heartbeatTimeoutMs ?? ACTIVITY_POLICY.heartbeatTimeoutMs;
  const stageLimit = (stage: StageName): number | null => stageLimitMs(limits, stage);
  const state: PipelineState = {
    submissionId: input.submissionId,
    track: input.track,
    host: null,
    failovers: [],
    currentStage: 'build',
    outcome: 'running',
    failureCategory: null,
    stages: STAGES.map((stage): StageState => ({
      stage,
      outcome: 'pending',
      failureCategory: null,
      reason: null,
      startedAt: null,
      endedAt: null,
      limitMs: stageLimit(stage),
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
  // An evaluation's progress and prediction (issue 26): kept for the query and shown in the Web UI's current details.
  // A handler and state only: no command, so recorded histories replay unchanged.
  const progressBook = new StageProgressBook({ starts, limitMs: stageLimit, isRunning: (stage) => stageState(stage).outcome === 'running' });
  setHandler(stageProgressSignal, (progress) => {
    const kept = progressBook.receive(progress);
    if (!kept) return;
    Object.assign(stageState(progress.stage), { prediction: kept.prediction, eta: kept.eta });
    setCurrentDetails([stageHeadline(progress.stage), ...progressBook.describe(progress.stage)].join('\n\n'));
  });

  const stageHeadline = (stage: StageName): string =>
    `**${input.submissionId}** is in stage **${stage}** (limit ` +
    `${stageLimit(stage) === null ? 'none' : formatDuration(stageLimit(stage)!)})${state.host ? ` on host ${state.host}` : ''}.`;
  const startStage = (stage: StageName): void => {
    state.currentStage = stage;
    stageState(stage).outcome = 'running'; // startedAt comes with the stage's start signal
    upsertSearchAttributes([{ key: SA.Stage, value: stage }]);
    setCurrentDetails(stageHeadline(stage));
  };
  const endStage = async (stage: StageName, outcome: StageReport['outcome'], failure: FailureDetails | null, details: Record<string, unknown> | null = null) => {
    const s = stageState(stage);
    Object.assign(s, { outcome, endedAt: Date.now(), failureCategory: failure?.category ?? null, reason: failure?.reason ?? null });
    // The first charged failure names the pipeline's failure (e.g. TimeLimit in open-eval).
    if (failure && failure.category !== 'Cancelled' && state.failureCategory === null) {
      state.failureCategory = failure.category;
      upsertSearchAttributes([{ key: SA.FailureCategory, value: failure.category }]);
    }
    await bookkeeping().recordStage({
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
  /** Marks a stage skipped (it never started) and records it with its reason. */
  const skip = async (s: StageState, reason: string, details: Record<string, unknown> | null) => {
    s.outcome = 'skipped';
    s.reason = reason;
    await bookkeeping().recordStage({
      submissionId: input.submissionId,
      stage: s.stage,
      outcome: 'skipped',
      failureCategory: null,
      reason,
      startedAt: null,
      endedAt: null,
      limitMs: s.limitMs,
      details,
    });
  };
  const skipRemaining = async (reason: string) => {
    for (const s of state.stages) if (s.outcome === 'pending') await skip(s, reason, null);
  };
  // A run of a competition phase goes through that phase's stages only; the others are skipped by the phase, not failed.
  const run = input.run;
  // Without fine-tune (inference only) the image is built from the Dockerfile alone and serves its own weights.
  const trains = !run || trainsIn(run.stages);
  const runs = (stage: StageName): boolean => !run || !(PHASE_STAGES as readonly string[]).includes(stage) || (run.stages as readonly string[]).includes(stage);
  const skipByPhase = async (stage: StageName, what: string) => {
    const reason = `the ${run?.phase ?? ''} phase runs no ${what}${stage === 'fine-tune' ? ': the submission is evaluated as built (inference only)' : ''}`;
    await skip(stageState(stage), reason, { skippedByPhase: run?.phase ?? null });
  };
  // The GPU slot the submission holds from its claim to its end (workflows/placement.ts).
  const lease = new SlotLease(input.track, () => claimActivities(input.track).claimHost(), { team: input.team, phase: input.run?.phase });
  const finish = async (outcome: PipelineState['outcome'], reason: string | null): Promise<PipelineState> => {
    await lease.release();
    state.outcome = outcome;
    state.currentStage = 'done';
    setCurrentDetails(`**${input.submissionId}** ${outcome}${state.failureCategory ? ` (${state.failureCategory})` : ''}${reason ? `: ${reason}` : ''}.`);
    upsertSearchAttributes([{ key: SA.Outcome, value: outcome }, { key: SA.Stage, value: 'done' }]);
    await bookkeeping().recordPipelineEnd({
      submissionId: input.submissionId,
      outcome: outcome === 'running' ? 'completed' : outcome,
      failureCategory: state.failureCategory,
      reason,
      at: new Date().toISOString(),
    });
    await notifySubmissionEnded(input.submissionId); // the team's and the competition's webhooks; never throws
    return state;
  };

  upsertSearchAttributes([
    { key: SA.Team, value: input.team },
    { key: SA.Submission, value: input.submissionId },
    { key: SA.Track, value: input.track },
    { key: SA.Outcome, value: 'running' },
    ...(input.run ? [{ key: SA.Phase, value: input.run.phase }] : []),
  ]);
  await bookkeeping().registerSubmission({
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
    const claimed = await lease.claim(null);
    state.host = claimed.hostId;
    const guard = new HostGuard(claimed, {
      track: input.track,
      submissionId: input.submissionId,
      workflowId: info.workflowId,
      directory: input.directory,
      source: input.source,
      inferenceOnly: !trains,
      buildLimitMs: limits.build,
      heartbeatTimeoutMs: heartbeatTimeout,
      policy: input.hostPolicy,
      buildRetry: input.buildRetry,
      starts,
      lease,
      onMove: (failover, host) => {
        state.host = host.hostId;
        state.failovers.push(failover);
        setCurrentDetails(`**${input.submissionId}** moved from the lost host ${failover.from} to ${failover.to} in stage **${failover.stage}**.`);
      },
    });

    // ---- build (a retry of a pipeline whose build succeeded keeps images built from the same sources)
    startStage('build');
    const { outcome: built, failovers: buildFailovers } = await withHandovers({ stage: 'build', limitMs: limits.build, guard }, () =>
      guard
        .builder(`Build the images of ${input.submissionId} on ${guard.current.hostId}`)
        .buildImages({
          submissionId: input.submissionId,
          workflowId: info.workflowId,
          directory: input.directory,
          reuseIfPresent: input.reuseBuild ?? false,
          ...(input.source ? { source: input.source } : {}),
          ...(trains ? {} : { inferenceOnly: true }),
        }),
    );
    if (!built.ok) {
      const failure = built.timerFired ? { category: 'TimeLimit' as const, reason: `the build did not finish within its limit of ${formatDuration(limits.build)}` } : failureOf(built.error);
      // A failure of ours (BuildInfrastructure) was retried by ACTIVITY_POLICY.buildRetry until its attempts ran out.
      const attemptsUsedUp = built.error instanceof ActivityFailure && built.error.retryState === 'MAXIMUM_ATTEMPTS_REACHED';
      await endStage('build', 'failed', failure, { failovers: buildFailovers, ...(attemptsUsedUp ? { attempts: guard.buildRetryPolicy.maximumAttempts } : {}) });
      await skipRemaining('the build failed');
      return await finish('failed', failure.reason);
    }
    const images = { inferenceImage: built.value.inferenceImage, trainImage: built.value.trainImage };
    await endStage('build', 'succeeded', null, {
      durationMs: built.value.durationMs,
      ...images,
      reused: built.value.reused,
      sourceDigest: built.value.sourceDigest,
      hostId: built.value.hostId,
      failovers: buildFailovers,
      preflightWarnings: built.value.preflightWarnings,
    });

    // ---- fine-tune: an OOM kill gets the track's retries with CHALLENGE_OOM_RETRY=1 so the submission can
    // shrink its batch. The deadline spans every attempt: the limit is for the stage, not for each try.
    let fineTuneHandovers = 0;
    let fineTuneFailovers = 0;
    if (!trains) await skipByPhase('fine-tune', 'fine-tune');
    else startStage('fine-tune');
    for (let oomRetries = 0; trains; oomRetries++) {
      const { outcome: trained, handovers, failovers } = await withHandovers({ stage: 'fine-tune', limitMs: limits.fineTune, guard }, (fresh, stageStartedAt) =>
        guard.activities('gpu', limits.fineTune, `Fine-tune ${input.submissionId} on ${guard.current.hostId} (limit ${formatDuration(limits.fineTune)})`).fineTune({
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
      fineTuneFailovers += failovers;
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
          resumedFromSource: result.resumedFromSource,
          storedFiles: result.storedFiles,
          hostId: result.hostId,
          attempt: result.attempt,
          handovers: fineTuneHandovers,
          failovers: fineTuneFailovers,
          oomRetries,
          stopDelayMs: result.stopDelayMs,
          peakMemoryBytes: result.peakMemoryBytes,
        });
        break;
      }
      const failure = trained.timerFired
        ? { category: 'TimeLimit' as const, reason: `training reached its limit of ${formatDuration(limits.fineTune)} before it could be stopped cleanly` }
        : failureOf(trained.error);
      if (failure.category === 'OutOfMemory' && oomRetries < TRACKS[input.track].retries.outOfMemory && !trained.timerFired) continue;
      if (failure.category === 'DiskQuota') {
        // Charged like a time limit, and like one it keeps what training wrote up to its last complete checkpoint
        // (in the artifact store, named in `progress`): the evaluations run on it.
        const { kept, ...named } = failure;
        await endStage('fine-tune', 'partial', named, { ...kept, oomRetries, handovers: fineTuneHandovers, failovers: fineTuneFailovers });
        break;
      }
      await endStage('fine-tune', 'failed', failure, { oomRetries, handovers: fineTuneHandovers, failovers: fineTuneFailovers });
      await skipRemaining('fine-tuning failed');
      return await finish('failed', failure.reason);
    }

    // ---- open and closed evaluations: each under its own limit; unanswered instances score zero.
    for (const suite of ['open', 'closed'] as SuiteKind[]) {
      const stage: StageName = EVAL_STAGE[suite];
      if (!runs(stage)) {
        await skipByPhase(stage, `${suite} evaluation`);
        continue;
      }
      startStage(stage);
      const evaluated = await evaluationStage({
        submissionId: input.submissionId,
        workflowId: info.workflowId,
        track: input.track,
        suite,
        suiteFile: input.suites[suite],
        inferenceImage: images.inferenceImage,
        limitMs: evaluationLimitMs(limits, suite),
        startupLimitMs: limits.startup,
        harness,
        guard,
        progress: progressBook,
        ...(trains ? {} : { mountArtifacts: false }),
      });
      await endStage(stage, evaluated.outcome, evaluated.failure, evaluated.details);
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
        if (running) await endStage(running.stage, 'failed', { category: 'Cancelled', reason: 'an operator cancelled the pipeline' }, progressBook.recordDetails(running.stage));
        await skipRemaining('the pipeline was cancelled');
        return await finish('cancelled', 'an operator cancelled the pipeline');
      });
    }
    await lease.release();
    throw error;
  }
}
