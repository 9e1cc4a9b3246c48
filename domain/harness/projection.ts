/**
 * The workflow-safe half of the stage projections (issue 26): projectEta, describePrediction and describeEta, with
 * no import of the suite loader (node:fs) or the metrics (node:crypto), so the pipeline workflow can compute the
 * projection when a progress signal arrives and show it in the Web UI's current details.
 *
 * throughput.ts (the probe and the prediction) re-exports them.
 */
import { formatDuration } from '../units.js';

/** A prediction of a stage's wall time, with an interval, against its limit. */
export interface StagePrediction {
  /** items of the whole stage (instances and their variants) */
  total: number;
  estimateMs: number;
  lowMs: number;
  highMs: number;
  limitMs: number;
  /** true when the high end of the interval is within the limit */
  fits: boolean;
  /** the share of the items expected to be answered within the limit (1 when it fits) */
  answeredShareAtLimit: number;
  /** probe size and the concurrency it ran at */
  sample: number;
  concurrency: number;
}

/** While a stage runs: answered of total, rate, and the projected end against the limit. */
export interface StageEta {
  answered: number;
  total: number;
  /** items per minute over this execution's asking so far (over the stage so far when the execution is not known) */
  perMinute: number;
  /** epoch ms; null until the rate is known */
  projectedEndAt: number | null;
  limitAt: number;
  /** the projection passes the limit */
  pastLimit: boolean;
}

/**
 * One execution of a stage's activity: when it began asking and how many answers the store already held then
 * (a resumed stage's earlier answers, from before a worker or server crash). Its answers since then over its time
 * since then are the rate: the earlier answers, and the time between the crash and the resumption, are no speed.
 */
export interface ExecutionStart {
  startedAt: number;
  answeredAtStart: number;
}

/**
 * The running projection: the rate (the answers of `execution` since it began asking over the time since then;
 * without it, every answer since the stage's `startedAt`), the end it projects to, and the limit's instant (from
 * the stage's first start, whatever execution runs now).
 */
export function projectEta(
  progress: { answered: number; total: number },
  startedAt: number,
  now: number,
  limitMs: number,
  options: { execution?: ExecutionStart | undefined } = {},
): StageEta {
  const from = options.execution ?? { startedAt, answeredAtStart: 0 };
  const elapsed = now - from.startedAt;
  const gained = progress.answered - from.answeredAtStart;
  const perMinute = elapsed > 0 && gained > 0 ? (gained / elapsed) * 60_000 : 0;
  const remaining = Math.max(0, progress.total - progress.answered);
  const projectedEndAt = remaining === 0 ? now : perMinute > 0 ? Math.round(now + (remaining / perMinute) * 60_000) : null;
  const limitAt = startedAt + limitMs;
  return { answered: progress.answered, total: progress.total, perMinute, projectedEndAt, limitAt, pastLimit: projectedEndAt !== null && projectedEndAt > limitAt };
}

/**
 * The share of the items answered by the limit if the rate holds: what is answered now plus the rate times what
 * is left of the limit. From the projection alone ("now" is its projected end less the time the rest takes), so a
 * resumed stage's earlier answers count as answered, not as speed. 1 when the projection is within the limit.
 */
export function answeredShareAtLimit(eta: StageEta): number {
  if (!eta.pastLimit || eta.projectedEndAt === null || eta.perMinute <= 0 || eta.total <= 0) return 1;
  const now = eta.projectedEndAt - ((eta.total - eta.answered) / eta.perMinute) * 60_000;
  const msLeft = Math.max(0, eta.limitAt - now);
  return Math.max(0, Math.min(1, (eta.answered + (eta.perMinute * msLeft) / 60_000) / eta.total));
}

/** 2000 → "2,000" whatever the locale. */
export const groupDigits = (n: number): string => {
  const [whole, fraction] = String(n).split('.');
  return `${whole!.replace(/\B(?=(\d{3})+(?!\d))/g, ',')}${fraction === undefined ? '' : `.${fraction}`}`;
};

/** A number for people: one decimal below 10, whole above, digits grouped. */
const readable = (n: number): string => (n < 10 ? String(Math.round(n * 10) / 10) : groupDigits(Math.round(n)));

/** "≈ 212 min (190–236)", or in seconds when the high end is under two minutes. */
function estimateText(prediction: Pick<StagePrediction, 'estimateMs' | 'lowMs' | 'highMs'>): string {
  const [unit, ms] = prediction.highMs >= 120_000 ? (['min', 60_000] as const) : (['s', 1000] as const);
  return `≈ ${readable(prediction.estimateMs / ms)} ${unit} (${readable(prediction.lowMs / ms)}–${readable(prediction.highMs / ms)})`;
}

const percent = (share: number): string => `${Math.floor(share * 100)}%`;

/** "open suite: 2,000 items in ≈ 212 min (190–236), limit 300 min: fits" / "… about 81% would be answered". */
export function describePrediction(label: string, prediction: StagePrediction): string {
  const head = `${label}: ${groupDigits(prediction.total)} items in ${estimateText(prediction)}, limit ${formatDuration(prediction.limitMs)}`;
  if (prediction.fits) return `${head}: fits`;
  if (prediction.estimateMs <= prediction.limitMs)
    return `${head}: may not fit (at the interval's high end about ${percent(prediction.limitMs / prediction.highMs)} would be answered)`;
  return `${head}: about ${percent(prediction.answeredShareAtLimit)} would be answered`;
}

const clock = (epochMs: number): string => {
  const at = new Date(epochMs);
  return `${String(at.getHours()).padStart(2, '0')}:${String(at.getMinutes()).padStart(2, '0')}`;
};

/** "1,204/2,000 answered, 9.4/min, projected end 14:32 (limit 15:10)" with a warning when past the limit. */
export function describeEta(eta: StageEta): string {
  const head = `${groupDigits(eta.answered)}/${groupDigits(eta.total)} answered`;
  if (eta.projectedEndAt === null) return `${head}, rate not known yet (limit ${clock(eta.limitAt)})`;
  const line = `${head}, ${readable(eta.perMinute)}/min, projected end ${clock(eta.projectedEndAt)} (limit ${clock(eta.limitAt)})`;
  if (!eta.pastLimit) return line;
  return `${line}; warning: past the limit, about ${percent(answeredShareAtLimit(eta))} would be answered`;
}
