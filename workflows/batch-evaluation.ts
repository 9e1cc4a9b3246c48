/**
 * Re-evaluations, e.g. when a new hidden suite arrives:
 *  - reevaluateSubmission: one submission's existing fine-tuned artifact against the given suite(s),
 *    under the same limits, sandbox and failure naming as the pipeline's evaluation stages;
 *  - batchEvaluation: the action of a Schedule; re-evaluates the selected submissions with a sliding
 *    window of child workflows (bounded concurrency) and continues as new after each page, so its
 *    history stays small however many submissions there are.
 */
import { ApplicationFailure, ParentClosePolicy, condition, continueAsNew, executeChild, setCurrentDetails, setHandler, workflowInfo } from '@temporalio/workflow';
import { ACTIVITY_POLICY, EVAL_STAGE, HARNESS_DEFAULTS, limitsFor, stageLimitMs, type PartialStageLimits, type StageName, type TrackId } from '../temporal.config.js';
import type { HarnessSettings, HostPolicy, SubmissionSource } from '../contract/types.js';
import type { SuiteKind } from '../domain/harness/suite.js';
import { reevaluationWorkflowId, stageProgressSignal, stageStartedSignal, submissionImages } from '../contract/pipeline.js';
import { HostGuard, bookkeeping, claimActivities, evaluationLimitMs, evaluationStage, failureOf, withHandovers, type StageStarts } from './stages.js';
import { SlotLease } from './placement.js';
import { StageProgressBook } from './stage-progress.js';
import { batchProgressQuery, type BatchProgress } from '../contract/batch.js';

export interface ReevaluateInput {
  submissionId: string;
  track: TrackId;
  /** Suite files to evaluate against, per kind (one or both). */
  suites: Partial<Record<SuiteKind, string>>;
  /** Why: "schedule nightly-closed", "operator", ... (recorded with the stage). */
  reason: string;
  limits?: PartialStageLimits;
  harness?: Partial<HarnessSettings>;
  heartbeatTimeoutMs?: number;
  hostPolicy?: HostPolicy;
  /** The competition phase whose fair share the GPU time counts in (a retry finishing a phase's run); absent: 're-evaluation'. */
  phase?: string;
  /** An upload's stored archive: a host that lacks the submission's directory builds its images from it. */
  source?: SubmissionSource;
}

export interface ReevaluateResult {
  submissionId: string;
  stages: { stage: StageName; outcome: string; failureCategory: string | null; answered: number | null }[];
}

export async function reevaluateSubmission(input: ReevaluateInput): Promise<ReevaluateResult> {
  const info = workflowInfo();
  const limits = limitsFor(input.track, input.limits);
  const starts: StageStarts = {};
  setHandler(stageStartedSignal, ({ stage, at }) => {
    starts[stage] ??= { at, workflowAt: Date.now() };
  });
  // The evaluation running now, for the progress book: it keeps the signalled prediction for the stage's record.
  let evaluating: StageName | null = null;
  const progressBook = new StageProgressBook({
    starts,
    limitMs: (stage) => stageLimitMs(limits, stage),
    isRunning: (stage) => stage === evaluating,
  });
  setHandler(stageProgressSignal, (progress) => {
    if (!progressBook.receive(progress)) return;
    setCurrentDetails([`Re-evaluation of **${input.submissionId}** (${input.reason}): stage **${progress.stage}**.`, ...progressBook.describe(progress.stage)].join('\n\n'));
  });
  const record = await bookkeeping().submissionRecord({ submissionId: input.submissionId });
  if (!record) throw ApplicationFailure.nonRetryable(`no submission "${input.submissionId}" in the results database`, 'InvalidSubmission');
  // A run without fine-tune (an inference-only phase's): the image as built is evaluated, with no train image and no
  // /artifacts mount, as its pipeline did. (Absent from records made before this field: false, as they ran then.)
  const inferenceOnly = record.inferenceOnly === true;
  // The GPU slot this re-evaluation holds on its host until it ends, however it ends (workflows/placement.ts).
  const lease = new SlotLease(input.track, () => claimActivities(input.track).claimHost(), { team: record.team, phase: input.phase ?? 're-evaluation' });
  try {
    const guard = new HostGuard(await lease.claim(null), {
      track: input.track,
      submissionId: input.submissionId,
      workflowId: info.workflowId,
      directory: record.directory,
      source: input.source,
      inferenceOnly,
      buildLimitMs: limits.build,
      heartbeatTimeoutMs: input.heartbeatTimeoutMs ?? ACTIVITY_POLICY.heartbeatTimeoutMs,
      policy: input.hostPolicy,
      starts,
      lease,
      onMove: () => undefined,
    });
    // The claimed host may not be the one that built the images: it keeps them when it has them, else builds them.
    const { outcome: prepared } = await withHandovers({ stage: 'build', limitMs: limits.build, guard }, () =>
      guard
        .activities('cpu', limits.build, `Images of ${input.submissionId} on ${guard.current.hostId}`)
        .buildImages({
          submissionId: input.submissionId,
          workflowId: info.workflowId,
          directory: record.directory,
          reuseIfPresent: true,
          ...(input.source ? { source: input.source } : {}),
          ...(inferenceOnly ? { inferenceOnly: true } : {}),
        }),
    );
    const result: ReevaluateResult = { submissionId: input.submissionId, stages: [] };
    for (const suite of ['open', 'closed'] as SuiteKind[]) {
      const suiteFile = input.suites[suite];
      if (!suiteFile) continue;
      const stage: StageName = EVAL_STAGE[suite];
      const startedAt = Date.now();
      evaluating = stage;
      const evaluated = prepared.ok
        ? await evaluationStage({
            submissionId: input.submissionId,
            workflowId: info.workflowId,
            track: input.track,
            suite,
            suiteFile,
            inferenceImage: submissionImages(input.submissionId).inferenceImage,
            limitMs: evaluationLimitMs(limits, suite),
            startupLimitMs: limits.startup,
            harness: { ...HARNESS_DEFAULTS, ...input.harness },
            guard,
            progress: progressBook,
            ...(inferenceOnly ? { mountArtifacts: false } : {}),
          })
        : { outcome: 'failed' as const, failure: failureOf(prepared.error), details: { step: 'images' } };
      evaluating = null;
      await bookkeeping().recordStage({
        submissionId: input.submissionId,
        stage,
        outcome: evaluated.outcome,
        failureCategory: evaluated.failure?.category ?? null,
        reason: evaluated.failure?.reason ?? null,
        startedAt: new Date(starts[stage]?.workflowAt ?? startedAt).toISOString(),
        endedAt: new Date().toISOString(),
        limitMs: evaluationLimitMs(limits, suite),
        details: { ...evaluated.details, reevaluation: input.reason, workflowId: info.workflowId },
      });
      result.stages.push({ stage, outcome: evaluated.outcome, failureCategory: evaluated.failure?.category ?? null, answered: (evaluated.details.answered as number | undefined) ?? null });
    }
    return result;
  } finally {
    await lease.release();
  }
}

export interface BatchInput {
  suites: Partial<Record<SuiteKind, string>>;
  /** Only this track; all tracks when absent. */
  track?: TrackId;
  /** Children running at once (GPU slots bound the real concurrency; this bounds pending work per batch). */
  concurrency: number;
  /** Children started before continuing as new. */
  pageSize?: number;
  limits?: PartialStageLimits;
  heartbeatTimeoutMs?: number;
  /** Carried across continue-as-new. */
  state?: { batchId: string; pending: { submissionId: string; track: TrackId }[]; done: number; failed: number; selected: number };
}

export async function batchEvaluation(input: BatchInput): Promise<BatchProgress> {
  const info = workflowInfo();
  let state = input.state;
  if (!state) {
    const selected = await bookkeeping().selectSubmissions({ ...(input.track ? { track: input.track } : {}), outcome: 'completed' });
    // Scheduled runs get a timestamped workflow id, so the batch id is unique per run.
    state = { batchId: info.workflowId.replace(/[^A-Za-z0-9._-]/g, '_'), pending: selected, done: 0, failed: 0, selected: selected.length };
  }
  const current = state;
  let running = 0;
  setHandler(batchProgressQuery, () => ({ batchId: current.batchId, selected: current.selected, done: current.done, failed: current.failed, running, pending: current.pending.length }));

  const pageSize = input.pageSize ?? 50;
  const children: Promise<void>[] = [];
  for (let started = 0; started < pageSize && current.pending.length > 0; started++) {
    await condition(() => running < input.concurrency);
    const item = current.pending.shift()!;
    running++;
    const child = executeChild(reevaluateSubmission, {
      workflowId: reevaluationWorkflowId(item.submissionId, current.batchId),
      args: [
        {
          submissionId: item.submissionId,
          track: item.track,
          suites: input.suites,
          reason: `batch ${current.batchId}`,
          ...(input.limits ? { limits: input.limits } : {}),
          ...(input.heartbeatTimeoutMs ? { heartbeatTimeoutMs: input.heartbeatTimeoutMs } : {}),
        },
      ],
      parentClosePolicy: ParentClosePolicy.ABANDON,
      staticSummary: `Re-evaluate ${item.submissionId} (batch ${current.batchId})`,
    }).then(
      (result) => {
        if (result.stages.some((s) => s.outcome === 'failed')) current.failed++;
        current.done++;
      },
      () => {
        current.failed++;
        current.done++;
      },
    ).finally(() => {
      running--;
    });
    children.push(child);
  }
  // Drain the page before continuing as new: no child is left behind by the new run.
  await Promise.all(children);
  if (current.pending.length > 0) {
    await continueAsNew<typeof batchEvaluation>({ ...input, state: current });
  }
  return { batchId: current.batchId, selected: current.selected, done: current.done, failed: current.failed, running: 0, pending: 0 };
}
