/**
 * How good the throughput probe's predictions were (issue 26): for every recorded evaluation stage that carries a
 * prediction (`details.prediction`, with `details.progress` = answered/total, written when the stage ended), the
 * prediction against what happened, and a summary over all of them. Pure; no I/O (cli/report.ts reads the records).
 *
 * Definitions (one ratio per stage, predicted ÷ actual, so that 1 is exact and both kinds share one summary)
 * - a stage that finished (outcome succeeded): predicted wall time (estimateMs) ÷ measured wall time
 *   (endedAt − startedAt); inside the interval when lowMs ≤ measured ≤ highMs.
 * - a stage cut by its limit (failure category TimeLimit): predicted answered share at the limit
 *   (answeredShareAtLimit) ÷ the share actually answered (details.progress); inside the interval when the actual
 *   share lies between the shares the interval's ends give, min(1, limit ÷ highMs) … min(1, limit ÷ lowMs).
 * - any other ending (a crash, a cancel, a stage without start/end or progress) is not comparable: it is counted
 *   apart, with why, and left out of the summary.
 * - error = ratio − 1; the summary gives the count, the median of |error| (the mean of the two middle ones for an
 *   even count) and the share of stages inside their interval.
 */
import { z } from 'zod';
import type { StagePrediction } from '../harness/throughput.js';
import { textTable } from '../text-table.js';
import { formatSpan } from '../units.js';

/** A stage record as this report reads it (infra/results-store.ts StageRecord has this shape). */
export interface PredictedStageRecord {
  submissionId: string;
  stage: string;
  outcome: string;
  failureCategory: string | null;
  startedAt: string | null;
  endedAt: string | null;
  limitMs: number | null;
  details: Record<string, unknown> | null;
}

const nonNegative = z.number().min(0); // zod 4's numbers are finite

/** details.prediction as the workflow stores it (domain/harness/throughput.ts StagePrediction). */
export const StoredPrediction = z.object({
  total: nonNegative,
  estimateMs: nonNegative,
  lowMs: nonNegative,
  highMs: nonNegative,
  limitMs: nonNegative,
  fits: z.boolean(),
  answeredShareAtLimit: z.number().min(0).max(1),
  sample: nonNegative,
  concurrency: nonNegative,
}) satisfies z.ZodType<StagePrediction>;

/** details.progress: the stage's answered items of its total when it ended. */
export const StoredProgress = z.object({ answered: nonNegative, total: nonNegative });

export type PredictionKind = 'wall-time' | 'answered-share';

export interface PredictionError {
  submissionId: string;
  stage: string;
  kind: PredictionKind;
  /** estimateMs, or the predicted answered share at the limit */
  predicted: number;
  /** the measured wall time (ms), or the answered share */
  actual: number;
  /** predicted ÷ actual */
  ratio: number;
  /** ratio − 1 */
  error: number;
  withinInterval: boolean;
  prediction: StagePrediction;
}

export interface NotComparable {
  submissionId: string;
  stage: string;
  why: string;
}

export interface PredictionSummary {
  count: number;
  /** median of |ratio − 1|; null without a comparable stage */
  medianAbsoluteError: number | null;
  /** share of the comparable stages whose actual value fell inside the predicted interval; null without one */
  withinIntervalShare: number | null;
}

export interface PredictionErrorReport {
  runs: PredictionError[];
  notComparable: NotComparable[];
  summary: PredictionSummary;
}

/** The stored prediction of a stage record, or null when it has none (or one this report cannot read). */
export function storedPredictionOf(details: Record<string, unknown> | null): StagePrediction | null {
  const parsed = StoredPrediction.safeParse(details?.prediction);
  return parsed.success ? parsed.data : null;
}

/** The stored answered/total of a stage record, or null. */
export function storedProgressOf(details: Record<string, unknown> | null): { answered: number; total: number } | null {
  const parsed = StoredProgress.safeParse(details?.progress);
  return parsed.success ? parsed.data : null;
}

const wallMsOf = (record: PredictedStageRecord): number | null => {
  if (!record.startedAt || !record.endedAt) return null;
  const ms = Date.parse(record.endedAt) - Date.parse(record.startedAt);
  return Number.isFinite(ms) && ms >= 0 ? ms : null;
};

type Compared = { ok: true; value: PredictionError } | { ok: false; why: string };

function compare(record: PredictedStageRecord, prediction: StagePrediction): Compared {
  const base = { submissionId: record.submissionId, stage: record.stage, prediction };
  if (record.failureCategory === 'TimeLimit') {
    const progress = storedProgressOf(record.details);
    if (!progress || progress.total === 0) return { ok: false, why: 'cut by its limit, but no answered/total was recorded' };
    const actual = progress.answered / progress.total;
    if (actual === 0) return { ok: false, why: 'cut by its limit with nothing answered: no share to compare with' };
    const limit = record.limitMs ?? prediction.limitMs;
    const shareAt = (ms: number) => (ms <= 0 ? 1 : Math.min(1, limit / ms));
    const predicted = prediction.answeredShareAtLimit;
    const ratio = predicted / actual;
    const withinInterval = actual >= shareAt(prediction.highMs) - 1e-9 && actual <= shareAt(prediction.lowMs) + 1e-9;
    return { ok: true, value: { ...base, kind: 'answered-share', predicted, actual, ratio, error: ratio - 1, withinInterval } };
  }
  if (record.outcome !== 'succeeded') return { ok: false, why: `ended ${record.outcome}${record.failureCategory ? ` (${record.failureCategory})` : ''}, neither finished nor cut by its limit` };
  const actual = wallMsOf(record);
  if (actual === null || actual === 0) return { ok: false, why: 'finished, but its start and end times were not both recorded' };
  const ratio = prediction.estimateMs / actual;
  const withinInterval = actual >= prediction.lowMs && actual <= prediction.highMs;
  return { ok: true, value: { ...base, kind: 'wall-time', predicted: prediction.estimateMs, actual, ratio, error: ratio - 1, withinInterval } };
}

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Every stage record with a stored prediction, compared with its outcome; records without one are not looked at. */
export function predictionErrors(records: readonly PredictedStageRecord[]): PredictionErrorReport {
  const runs: PredictionError[] = [];
  const notComparable: NotComparable[] = [];
  for (const record of records) {
    if (record.details?.prediction === undefined || record.details.prediction === null) continue;
    const prediction = storedPredictionOf(record.details);
    if (!prediction) {
      notComparable.push({ submissionId: record.submissionId, stage: record.stage, why: 'details.prediction is not a prediction this report can read' });
      continue;
    }
    const compared = compare(record, prediction);
    if (compared.ok) runs.push(compared.value);
    else notComparable.push({ submissionId: record.submissionId, stage: record.stage, why: compared.why });
  }
  return {
    runs,
    notComparable,
    summary: {
      count: runs.length,
      medianAbsoluteError: median(runs.map((r) => Math.abs(r.error))),
      withinIntervalShare: runs.length === 0 ? null : runs.filter((r) => r.withinInterval).length / runs.length,
    },
  };
}

const percent = (share: number): string => `${(share * 100).toFixed(0)}%`;
const signed = (error: number): string => `${error >= 0 ? '+' : '−'}${(Math.abs(error) * 100).toFixed(1)}%`;

/** The report as text: the summary line, one row per compared stage, and the stages that could not be compared. */
export function renderPredictionErrors(report: PredictionErrorReport): string {
  const { summary } = report;
  if (summary.count === 0 && report.notComparable.length === 0) return 'prediction error: no recorded stage carries a probe prediction yet';
  const lines = [
    summary.count === 0
      ? 'prediction error: no stage with a prediction finished or was cut by its limit'
      : `prediction error over ${summary.count} stage${summary.count === 1 ? '' : 's'}: median |predicted ÷ actual − 1| ${percent(summary.medianAbsoluteError!)}, ` +
        `${percent(summary.withinIntervalShare!)} inside the predicted interval`,
  ];
  if (report.runs.length > 0) {
    const rows = report.runs.map((r) => [
      r.submissionId,
      r.stage,
      r.kind === 'wall-time' ? 'finished' : 'cut by limit',
      r.kind === 'wall-time' ? formatSpan(r.predicted) : `${percent(r.predicted)} answered`,
      r.kind === 'wall-time' ? formatSpan(r.actual) : `${percent(r.actual)} answered`,
      r.ratio.toFixed(2),
      signed(r.error),
      r.withinInterval ? 'yes' : 'no',
    ]);
    lines.push(...textTable(['submission', 'stage', 'ended', 'predicted', 'actual', 'ratio', 'error', 'in interval'], rows).map((l) => `  ${l}`));
  }
  for (const n of report.notComparable) lines.push(`  not compared: ${n.submissionId} ${n.stage}: ${n.why}`);
  return lines.join('\n');
}
