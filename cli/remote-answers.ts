/**
 * The participants' API's answers as `challenge remote` reads them (web/team-api.ts writes them, from the views of
 * web/team-data.ts). The server is a boundary like any other, so every answer is checked with zod before a field
 * of it is printed. The schemas name only the fields the client prints and let the rest through (z.looseObject),
 * so a server that adds fields never breaks an older client.
 */
import { z } from 'zod';

/** One problem of a refused upload (400): which file and field, what is wrong, and the fix. */
export const UploadProblem = z.looseObject({
  file: z.string().nullish(),
  field: z.string().nullish(),
  line: z.number().int().nullish(),
  rule: z.string().nullish(),
  message: z.string(),
  fix: z.string().nullish(),
});
export type UploadProblem = z.infer<typeof UploadProblem>;

/** The error answer of every refusal (400, 401, 403, 404, 409, 413, 429). */
export const ErrorAnswer = z.looseObject({
  error: z.string(),
  problems: z.array(UploadProblem).optional(),
  /** 429: why (window or phase quota, or too many bad tokens), and when the next slot frees. */
  reason: z.string().nullish(),
  nextSlotAt: z.string().nullish(),
});
export type ErrorAnswer = z.infer<typeof ErrorAnswer>;

/** The quota of the upload's track after it was accepted. */
const QuotaAfter = z.looseObject({
  left: z.number().int(),
  nextSlotAt: z.string().nullish(),
});

/** 202: the upload was accepted and its pipeline started. */
export const AcceptedAnswer = z.looseObject({
  submissionId: z.string().min(1),
  statusUrl: z.string().min(1),
  quota: QuotaAfter.nullish(),
});
export type AcceptedAnswer = z.infer<typeof AcceptedAnswer>;

/** An evaluation stage's progress (web/data.ts StageView.progress): the figures the table shows and the lines to print. */
const ProgressAnswer = z.looseObject({
  running: z.boolean().optional(),
  answered: z.number().nullish(),
  total: z.number().nullish(),
  pastLimit: z.boolean().optional(),
  lines: z.array(z.string()).default([]),
});
export type ProgressAnswer = z.infer<typeof ProgressAnswer>;

const StageAnswer = z.looseObject({
  stage: z.string(),
  outcome: z.string(),
  failureCategory: z.string().nullish(),
  reason: z.string().nullish(),
  progress: ProgressAnswer.nullish(),
});

/** One submission of the team, as the list and the detail both give it. */
export const SubmissionAnswer = z.looseObject({
  submissionId: z.string(),
  track: z.string(),
  phase: z.string(),
  outcome: z.string(),
  failureCategory: z.string().nullish(),
  reason: z.string().nullish(),
  running: z.boolean().optional(),
  refunded: z.boolean(),
  refundReason: z.string().nullish(),
  stages: z.array(StageAnswer).default([]),
});
export type SubmissionAnswer = z.infer<typeof SubmissionAnswer>;

/** GET /api/team/submissions: the team's submissions. */
export const OverviewAnswer = z.looseObject({
  team: z.string(),
  submissions: z.array(SubmissionAnswer),
});
export type OverviewAnswer = z.infer<typeof OverviewAnswer>;

/** GET /api/team/submissions/<id>/logs?stage=: the stage's log excerpt; text null (with a note) when there is none yet. */
export const LogsAnswer = z.looseObject({
  stage: z.string(),
  text: z.string().nullable(),
  note: z.string().nullish(),
});

/** POST /api/team/final: the recorded choice, and the submission it replaced (null when none or the same). */
export const FinalChoiceAnswer = z.looseObject({
  choice: z.looseObject({ team: z.string(), track: z.string(), phase: z.string(), submissionId: z.string().min(1), at: z.string() }),
  replaced: z.string().nullish(),
});
export type FinalChoiceAnswer = z.infer<typeof FinalChoiceAnswer>;

/** Whether a submission is still going: the server says so, else its outcome does. */
export const isRunning = (s: SubmissionAnswer): boolean => s.running ?? s.outcome === 'running';

/** "1,204/2,000": answered of total, digits grouped whatever the locale. */
const grouped = (n: number): string => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');

/** The stage worth a column: the one running now (with answered/total and a mark past its limit), else the one that failed, else the last that ran. */
export function stageOf(s: SubmissionAnswer): string {
  const running = s.stages.find((stage) => stage.outcome === 'running');
  if (running) {
    const p = running.progress;
    const counts = p && typeof p.answered === 'number' && typeof p.total === 'number' ? ` ${grouped(p.answered)}/${grouped(p.total)}` : '';
    return `${running.stage}${counts}${p?.pastLimit ? ' (past its limit)' : ''}`;
  }
  const failed = s.stages.find((stage) => stage.outcome === 'failed');
  if (failed) return failed.stage;
  const ran = s.stages.filter((stage) => stage.outcome !== 'pending' && stage.outcome !== 'skipped');
  return ran.at(-1)?.stage ?? '—';
}
