/**
 * What the public may read about a stage whose free text could carry closed-suite inputs.
 *
 * The closed (hidden) suite only works while nothing derived from it reaches a participant: a server that
 * prints every prompt it gets, or quotes one in an error, would otherwise publish the hidden tasks through
 * its log excerpt, its failure reason or its per-instance errors. So every stage from the closed
 * evaluation on (and any stage this file does not know) gets a public reason that is *built*, never
 * filtered: from the failure category, the stage's counts, the exit status, time figures and the fixed
 * wording below. No character of the recorded reason, log excerpt or error strings is copied; the recorded
 * reason is only matched against the fixed templates the platform writes, to read a number out of them
 * (the exit status) or to tell which of its fixed cases it is.
 *
 * Pure: no I/O, no Temporal; the web page (web/data.ts) applies it to every view it serves publicly.
 */
import { formatSpan } from './units.js';
import { FAILURE_CATEGORIES, isFailureCategory, type FailureCategory } from './failures.js';

/** Stages whose recorded text never sees a closed-suite prompt, so the public may read it as recorded. */
export const PUBLIC_TEXT_STAGES: readonly string[] = ['build', 'fine-tune', 'open-eval'];

/** Whether a stage's free text (reason, log excerpt, log file, per-instance errors) is withheld from the public. */
export const isWithheldStage = (stage: string): boolean => !PUBLIC_TEXT_STAGES.includes(stage);

/** Appended to every built reason: says what is withheld, so nobody mistakes it for the whole story. */
export const WITHHELD_NOTE = 'closed suite; log withheld';

/** Reasons the workflows write as fixed strings, with no value in them: safe to show as they are. */
const FIXED_REASONS: ReadonlySet<string> = new Set([
  'the build failed',
  'fine-tuning failed',
  'the evaluation failed',
  'the pipeline was cancelled',
  'an operator cancelled the pipeline',
]);

/** What a stage recorded, as the results database keeps it. */
export interface StageFacts {
  stage: string;
  /** succeeded | partial | failed | skipped | pending (anything else is treated as unknown) */
  outcome: string;
  category: FailureCategory | string | null;
  reason: string | null;
  limitMs: number | null;
  /** wall time of the stage, when known */
  elapsedMs?: number | null;
  details: Record<string, unknown> | null;
}

/** A non-negative whole number, or null: the only kind of value read out of `details` here. */
function count(value: unknown): number | null {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 ? value : null;
}

/**
 * The exit status a platform-written reason states, read only from its fixed templates (activities/host/evaluate.ts):
 * "the inference server exited with status N after …" (a crash during the evaluation) and
 * "…; the server exited with status N" (no valid answer at start-up). Container exit codes are 0-255;
 * anything else is not an exit status and is ignored.
 */
export function exitStatusOf(reason: string | null): number | null {
  if (!reason) return null;
  const match =
    /^the inference server exited with status (\d{1,3}) after \d+ of \d+ answers/.exec(reason) ?? /; the server exited with status (\d{1,3})$/.exec(reason);
  if (!match) return null;
  const status = Number(match[1]);
  return status <= 255 ? status : null;
}

/** Which of the platform's fixed start-up cases a reason is (the rest of its text is never used). */
function startupCase(reason: string | null): 'exited' | 'no-answer' | null {
  if (!reason) return null;
  if (reason.startsWith('the server exited before answering')) return 'exited';
  if (reason.startsWith('no valid /process answer within the start-up limit')) return 'no-answer';
  return null;
}

const stageName = (stage: string): string =>
  stage === 'closed-eval'
    ? 'the closed evaluation'
    : stage === 'open-eval'
      ? 'the open evaluation'
      : stage === 'score'
        ? 'scoring'
        : stage === 'fine-tune'
          ? 'fine-tuning'
          : stage === 'build'
            ? 'the build'
            : 'the stage';

/** "412 of 600 instances answered, 3 failed, 188 unanswered", from the stage's counts only. */
function countsOf(details: Record<string, unknown> | null): string | null {
  const d = details ?? {};
  const total = count(d.total);
  const answered = count(d.answered);
  if (total === null || answered === null) return null;
  const failed = count(d.failed) ?? 0;
  const unanswered = count(d.unanswered) ?? Math.max(0, total - answered);
  return `${Math.max(0, answered - failed)} of ${total} instances answered, ${failed} failed, ${unanswered} unanswered`;
}

/** Answers outside the contract, counted by kind in the stage's details. */
function violationsOf(details: Record<string, unknown> | null): number | null {
  const kinds = details?.failuresByKind;
  if (!kinds || typeof kinds !== 'object') return null;
  const k = kinds as Record<string, unknown>;
  const parts = [k.schema, k['invalid-json'], k['too-large']].map(count);
  return parts.every((p) => p === null) ? null : parts.reduce<number>((sum, p) => sum + (p ?? 0), 0);
}

/**
 * The public reason of a stage whose text is withheld, built from structured fields only. Null when the
 * stage recorded neither a category nor a reason (nothing to say).
 *
 *   ServerCrashed  "the inference server exited with status 137 after 412 of 600 answers, restarted 1 time
 *                   (closed suite; log withheld)"
 */
export function redactedStageReason(facts: StageFacts): string | null {
  const category = isFailureCategory(facts.category) ? facts.category : null;
  if (category === null && facts.reason === null) return null;
  const where = stageName(facts.stage);
  const d = facts.details ?? {};
  const counts = countsOf(facts.details);
  const note = (text: string) => `${text} (${WITHHELD_NOTE})`;

  if (category === null) {
    // Skipped stages carry one of the workflow's fixed reasons; anything else is summarised by the outcome.
    if (facts.reason !== null && FIXED_REASONS.has(facts.reason)) return facts.reason;
    if (facts.outcome === 'skipped') return 'not run: an earlier stage ended the pipeline';
    const ended =
      facts.outcome === 'succeeded' ? 'succeeded' : facts.outcome === 'partial' ? 'ended partly done' : facts.outcome === 'failed' ? 'failed' : 'ended';
    return note(`${where} ${ended}${counts ? `: ${counts}` : ''}`);
  }

  const status = exitStatusOf(facts.reason);
  const restarts = count(d.restarts);
  const restarted = restarts !== null && restarts > 0 ? `, restarted ${restarts} time${restarts === 1 ? '' : 's'}` : '';
  switch (category) {
    case 'ServerCrashed': {
      const answered = count(d.answered);
      const total = count(d.total);
      const exited = status === null ? 'the inference server exited' : `the inference server exited with status ${status}`;
      const after = answered !== null && total !== null ? ` after ${answered} of ${total} answers` : ` during ${where}`;
      return note(`${exited}${after}${restarted}`);
    }
    case 'TimeLimit': {
      const limit = facts.limitMs !== null && facts.limitMs > 0 ? ` of ${formatSpan(facts.limitMs)}` : '';
      if (counts === null) return note(`${where} reached its limit${limit} before the server was ready`);
      return note(`${where} reached its limit${limit}: ${counts}`);
    }
    case 'StartupFailed': {
      const which = startupCase(facts.reason);
      const exited = status === null ? '' : `; it exited with status ${status}`;
      if (which === 'exited') return note(`the inference server exited before giving a valid /process answer in ${where}${exited}`);
      return note(`the inference server gave no valid /process answer within the start-up limit of ${where}${exited}`);
    }
    case 'ContractViolation': {
      const violations = violationsOf(facts.details);
      const answered = count(d.answered);
      if (violations !== null && answered !== null && counts !== null) return note(`${violations} of ${answered} answers were outside the contract: ${counts}`);
      const exited = status === null ? '' : `; it exited with status ${status}`;
      return note(`the inference server answered outside the contract before ${where} could start${exited}`);
    }
    case 'OutOfMemory':
      return note(`the inference server was killed for exceeding its memory limit during ${where}${counts ? `: ${counts}` : ''}`);
    case 'Infrastructure':
      return note(`our infrastructure failed during ${where}; not charged, to be re-run`);
    case 'Cancelled':
      return 'an operator cancelled the pipeline';
    default:
      return note(`${category} in ${where}: ${FAILURE_CATEGORIES[category].meaning}`);
  }
}

/** The reason the public may read: as recorded for the stages before the closed evaluation, else built. */
export function publicStageReason(facts: StageFacts): string | null {
  return isWithheldStage(facts.stage) ? redactedStageReason(facts) : facts.reason;
}

/** Detail keys that hold plain numbers or flags (or objects of them) and nothing a server wrote. */
const NUMERIC_DETAIL_KEYS = [
  'durationMs',
  'answered',
  'failed',
  'unanswered',
  'total',
  'restarts',
  'handovers',
  'failovers',
  'stopDelayMs',
  'peakMemoryBytes',
  'artifactFiles',
  'oomRetries',
  'attempts',
] as const;

function plainNumbers(value: unknown): Record<string, number> | null {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return null;
  const out: Record<string, number> = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>))
    if (/^[a-z][a-z0-9-]{0,31}$/i.test(key) && typeof v === 'number' && Number.isFinite(v)) out[key] = v;
  return out;
}

/**
 * The stage details the public may read. Every stage loses its log excerpt (logs are an operator view,
 * the build's excerpt aside, which web/data.ts shows on its own). A withheld stage keeps only numbers:
 * its counts, times, restarts and failure counts by kind; per-scenario results are on the leaderboard.
 */
export function publicStageDetails(stage: string, details: Record<string, unknown> | null): Record<string, unknown> | null {
  if (details === null) return null;
  if (!isWithheldStage(stage)) {
    const { logExcerpt: _dropped, ...rest } = details;
    return rest;
  }
  const out: Record<string, unknown> = {};
  for (const key of NUMERIC_DETAIL_KEYS) {
    const v = details[key];
    if (typeof v === 'number' && Number.isFinite(v)) out[key] = v;
  }
  const byKind = plainNumbers(details.failuresByKind);
  if (byKind) out.failuresByKind = byKind;
  return out;
}

/** How a pipeline ended, as the results database keeps it. */
export interface PipelineFacts {
  outcome: string;
  category: FailureCategory | string | null;
  reason: string | null;
}

/** Whether any stage whose text is withheld has started: from then on the server had closed-suite prompts. */
export function closedSuiteStarted(stages: readonly StageFacts[]): boolean {
  return stages.some((s) => isWithheldStage(s.stage) && s.outcome !== 'skipped' && s.outcome !== 'pending');
}

/**
 * The pipeline's own reason as the public may read it. The workflows write it from the build or the
 * fine-tune (before any suite is sent) or as fixed text; once a withheld stage has run, it is rebuilt
 * from the category like a withheld stage's, whatever it says.
 */
export function publicPipelineReason(pipeline: PipelineFacts, stages: readonly StageFacts[]): string | null {
  if (pipeline.reason === null || FIXED_REASONS.has(pipeline.reason)) return pipeline.reason;
  if (!closedSuiteStarted(stages)) return pipeline.reason;
  return redactedStageReason({
    stage: 'pipeline',
    outcome: pipeline.outcome,
    category: pipeline.category,
    reason: pipeline.reason,
    limitMs: null,
    details: null,
  });
}

/**
 * The failure reason of a leaderboard row as the public may read it. It names the same failure as
 * operations/standings.ts `submissionOutcome()` (the first stage with a failure other than Cancelled, else the
 * pipeline's), with that stage's public reason.
 */
export function publicFailureReason(stages: readonly StageFacts[], pipeline: PipelineFacts | null): string | null {
  const failed = stages.find((s) => s.category !== null && s.category !== 'Cancelled');
  if (failed && failed.reason !== null) return publicStageReason(failed);
  return pipeline ? publicPipelineReason(pipeline, stages) : null;
}
