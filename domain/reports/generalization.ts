/**
 * Generalization report: does doing well on the open (published) suite predict doing well on the
 * closed (hidden) one? In 2023 it did not: open vs closed correlation was −0.08 on the 4090 track and
 * 0.18 on the A100 track, and overfitted entries fell to about chance on closed tasks
 * (spec CHALLENGE_2023 §3.2). Pure functions over leaderboard numbers; no I/O.
 *
 * Definitions
 * - Correlations take paired samples and return null when undefined: fewer than 2 pairs, lengths that
 *   differ, a non-finite value, or a constant side (zero variance / all pairs tied).
 * - `spearman` is Pearson's r of the average ranks (ties get the mean of the ranks they span).
 * - `kendallTauB` is τ_b = (C − D) / √((n0 − n1)(n0 − n2)), n0 = n(n−1)/2, n1 / n2 = pairs tied in x / y.
 * - `bootstrapCi` is the percentile bootstrap over resampled pairs (with replacement), driven by a
 *   seeded mulberry32 PRNG, so the same input and seed always give the same interval. Resamples whose
 *   statistic is null (e.g. a constant resample) are skipped; if fewer than half the resamples give a
 *   value, or there are fewer than 3 pairs, the interval is null. Quantiles interpolate linearly
 *   between order statistics (Hyndman–Fan type 7, as R's default).
 * - Ranks in `rankShift` are competition ranks ("1224"): higher score is better, rank 1 is best, tied
 *   scores share the best rank they span. shift = closedRank − openRank (positive: fell on closed).
 *
 * Overfit rule (one submission among n ranked ones of a track):
 *   overfit ⇔ closed ≤ median(closed of the track)
 *             AND ( openRank ≤ closedRank − G   with G = overfitRankGap, default max(2, ⌈n/3⌉)
 *                   OR open − closed ≥ S          with S = overfitScoreGap, default 0.25 )
 * The median condition keeps a submission that is strong on both stages (e.g. first on both with a
 * stage-score gap) from being flagged; "≤" lets the middle one of three be flagged. Stage scores are the leaderboard's `open` / `closed` values
 * (geometric means of scenario mean win rates, in [0, 1]); they are relative to the field, so the
 * report only means something for submissions that were actually evaluated: leave failed ones (all
 * zeros) out of `rows`, or they dilute the correlations. With n < 3 nothing is flagged by rank
 * (the gap cannot reach 2) but the score-gap branch still applies.
 */
import { textTable } from '../text-table.js';

export interface Interval {
  low: number;
  high: number;
}

export type PairStatistic = (xs: readonly number[], ys: readonly number[]) => number | null;

function validPairs(xs: readonly number[], ys: readonly number[]): boolean {
  if (xs.length !== ys.length || xs.length < 2) return false;
  for (let i = 0; i < xs.length; i++) if (!Number.isFinite(xs[i]!) || !Number.isFinite(ys[i]!)) return false;
  return true;
}

function mean(values: readonly number[]): number {
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

/** Pearson's product-moment correlation; null when undefined (see header). */
export function pearson(xs: readonly number[], ys: readonly number[]): number | null {
  if (!validPairs(xs, ys)) return null;
  const mx = mean(xs);
  const my = mean(ys);
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < xs.length; i++) {
    const dx = xs[i]! - mx;
    const dy = ys[i]! - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  if (sxx === 0 || syy === 0) return null;
  const r = sxy / Math.sqrt(sxx * syy);
  return Math.max(-1, Math.min(1, r));
}

/** Average ranks, 1-based, ascending (the smallest value gets rank 1); ties get the mean rank. */
export function averageRanks(values: readonly number[]): number[] {
  const order = values.map((value, index) => ({ value, index })).sort((a, b) => a.value - b.value);
  const ranks = new Array<number>(values.length).fill(0);
  let i = 0;
  while (i < order.length) {
    let j = i;
    while (j + 1 < order.length && order[j + 1]!.value === order[i]!.value) j++;
    const rank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[order[k]!.index] = rank;
    i = j + 1;
  }
  return ranks;
}

/** Spearman's ρ: Pearson's r of the average ranks (correct with ties). */
export function spearman(xs: readonly number[], ys: readonly number[]): number | null {
  if (!validPairs(xs, ys)) return null;
  return pearson(averageRanks(xs), averageRanks(ys));
}

/** Kendall's τ_b (tie-corrected); O(n²), fine for leaderboard sizes. */
export function kendallTauB(xs: readonly number[], ys: readonly number[]): number | null {
  if (!validPairs(xs, ys)) return null;
  const n = xs.length;
  let concordant = 0;
  let discordant = 0;
  let tiesX = 0;
  let tiesY = 0;
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const dx = Math.sign(xs[i]! - xs[j]!);
      const dy = Math.sign(ys[i]! - ys[j]!);
      if (dx === 0) tiesX++;
      if (dy === 0) tiesY++;
      if (dx !== 0 && dy !== 0) {
        if (dx === dy) concordant++;
        else discordant++;
      }
    }
  }
  const n0 = (n * (n - 1)) / 2;
  const denominator = Math.sqrt((n0 - tiesX) * (n0 - tiesY));
  if (denominator === 0) return null;
  return Math.max(-1, Math.min(1, (concordant - discordant) / denominator));
}

import { mulberry32 } from '../random.js';

export { mulberry32 };

/** Quantile of sorted values, linear interpolation between order statistics (type 7). */
export function quantileSorted(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new RangeError('quantile of an empty list');
  const h = (sorted.length - 1) * Math.max(0, Math.min(1, p));
  const lo = Math.floor(h);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

export interface BootstrapOptions {
  resamples?: number;
  confidence?: number;
  seed?: number;
}

export const DEFAULT_BOOTSTRAP_SEED = 2023;

/** Percentile bootstrap CI of a paired statistic; deterministic for a given seed (see header). */
export function bootstrapCi(xs: readonly number[], ys: readonly number[], statistic: PairStatistic, options: BootstrapOptions = {}): Interval | null {
  const { resamples = 2000, confidence = 0.95, seed = DEFAULT_BOOTSTRAP_SEED } = options;
  if (!Number.isInteger(resamples) || resamples < 1) throw new RangeError(`resamples must be a positive integer, got ${resamples}`);
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`confidence must be in (0, 1), got ${confidence}`);
  if (!validPairs(xs, ys) || xs.length < 3) return null;
  const n = xs.length;
  const random = mulberry32(seed);
  const bx = new Array<number>(n);
  const by = new Array<number>(n);
  const values: number[] = [];
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < n; i++) {
      const k = Math.floor(random() * n);
      bx[i] = xs[k]!;
      by[i] = ys[k]!;
    }
    const value = statistic(bx, by);
    if (value !== null && Number.isFinite(value)) values.push(value);
  }
  if (values.length < resamples / 2) return null;
  values.sort((a, b) => a - b);
  const alpha = (1 - confidence) / 2;
  return { low: quantileSorted(values, alpha), high: quantileSorted(values, 1 - alpha) };
}

export interface StageScores {
  submissionId: string;
  open: number;
  closed: number;
}

export interface RankShift {
  submissionId: string;
  openRank: number;
  closedRank: number;
  /** closedRank − openRank: positive when the submission ranks worse on the closed suite. */
  shift: number;
}

/** Competition ranks ("1224"), higher score is better. */
export function competitionRanks(scores: readonly number[]): number[] {
  return scores.map((score) => 1 + scores.filter((other) => other > score).length);
}

function checkRows(rows: readonly StageScores[]): void {
  const seen = new Set<string>();
  for (const row of rows) {
    if (seen.has(row.submissionId)) throw new RangeError(`duplicate submission ${row.submissionId}`);
    seen.add(row.submissionId);
    if (!Number.isFinite(row.open) || !Number.isFinite(row.closed))
      throw new RangeError(`submission ${row.submissionId}: open and closed scores must be finite numbers`);
  }
}

/** Open rank, closed rank and shift per submission, in input order. */
export function rankShift(rows: readonly StageScores[]): RankShift[] {
  checkRows(rows);
  const openRanks = competitionRanks(rows.map((r) => r.open));
  const closedRanks = competitionRanks(rows.map((r) => r.closed));
  return rows.map((row, i) => ({
    submissionId: row.submissionId,
    openRank: openRanks[i]!,
    closedRank: closedRanks[i]!,
    shift: closedRanks[i]! - openRanks[i]!,
  }));
}

export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export interface CorrelationEstimate {
  value: number | null;
  /** Percentile-bootstrap interval at `confidence`; null when it cannot be estimated. */
  ci: Interval | null;
}

export interface GeneralizationEntry extends RankShift {
  open: number;
  closed: number;
  overfit: boolean;
  reason: string;
}

export interface GeneralizationReport {
  track: string;
  n: number;
  confidence: number;
  resamples: number;
  pearson: CorrelationEstimate;
  spearman: CorrelationEstimate;
  kendall: CorrelationEstimate;
  rule: { rankGap: number; scoreGap: number; closedMedian: number | null };
  /** Sorted by open rank, then submission id. */
  submissions: GeneralizationEntry[];
}

export interface GeneralizationOptions extends BootstrapOptions {
  /** Minimum closedRank − openRank for the rank branch; default max(2, ⌈n/3⌉). */
  overfitRankGap?: number;
  /** Minimum open − closed stage-score gap for the score branch; default 0.25. */
  overfitScoreGap?: number;
}

export const defaultOverfitRankGap = (n: number): number => Math.max(2, Math.ceil(n / 3));
export const DEFAULT_OVERFIT_SCORE_GAP = 0.25;

const f4 = (value: number): string => value.toFixed(4);

export function generalizationReport(track: string, rows: readonly StageScores[], options: GeneralizationOptions = {}): GeneralizationReport {
  const shifts = rankShift(rows);
  const n = rows.length;
  const rankGap = options.overfitRankGap ?? defaultOverfitRankGap(n);
  const scoreGap = options.overfitScoreGap ?? DEFAULT_OVERFIT_SCORE_GAP;
  const confidence = options.confidence ?? 0.95;
  const resamples = options.resamples ?? 2000;
  const bootstrap = { resamples, confidence, seed: options.seed ?? DEFAULT_BOOTSTRAP_SEED };
  const xs = rows.map((r) => r.open);
  const ys = rows.map((r) => r.closed);
  const estimate = (statistic: PairStatistic): CorrelationEstimate => ({ value: statistic(xs, ys), ci: bootstrapCi(xs, ys, statistic, bootstrap) });
  const closedMedian = median(ys);

  const submissions = shifts.map((shift, i): GeneralizationEntry => {
    const row = rows[i]!;
    const belowMedian = closedMedian !== null && row.closed <= closedMedian;
    const byRank = shift.shift >= rankGap;
    const gap = row.open - row.closed;
    const byScore = gap >= scoreGap;
    const overfit = belowMedian && (byRank || byScore);
    const rankText = `open rank ${shift.openRank} → closed rank ${shift.closedRank} (gap ${shift.shift} ${byRank ? '≥' : '<'} ${rankGap})`;
    const scoreText = `open − closed = ${f4(gap)} ${byScore ? '≥' : '<'} ${scoreGap}`;
    const medianText = `closed ${f4(row.closed)} ${belowMedian ? '≤' : '>'} track median ${closedMedian === null ? '—' : f4(closedMedian)}`;
    let reason: string;
    if (overfit) reason = `${[byRank ? rankText : null, byScore ? scoreText : null].filter((s) => s !== null).join(' and ')}, and ${medianText}`;
    else if (!belowMedian) reason = medianText;
    else reason = `${rankText}; ${scoreText}`;
    return { ...shift, open: row.open, closed: row.closed, overfit, reason };
  });
  submissions.sort((a, b) => a.openRank - b.openRank || (a.submissionId < b.submissionId ? -1 : a.submissionId > b.submissionId ? 1 : 0));

  return {
    track,
    n,
    confidence,
    resamples,
    pearson: estimate(pearson),
    spearman: estimate(spearman),
    kendall: estimate(kendallTauB),
    rule: { rankGap, scoreGap, closedMedian },
    submissions,
  };
}

const fmtCorrelation = (name: string, estimate: CorrelationEstimate, confidence: number): string => {
  const value = estimate.value === null ? 'undefined' : estimate.value.toFixed(3);
  const ci = estimate.ci === null ? 'CI n/a' : `${Math.round(confidence * 100)}% CI [${estimate.ci.low.toFixed(3)}, ${estimate.ci.high.toFixed(3)}]`;
  return `  ${name.padEnd(10)} ${value.padStart(9)}   ${ci}`;
};

/** Plain text for the CLI. */
export function renderGeneralizationReport(report: GeneralizationReport): string {
  const lines = [
    `Generalization — track ${report.track}: open vs closed scores, ${report.n} submission${report.n === 1 ? '' : 's'}`,
    '(2023 reference: −0.08 on the 4090 track, 0.18 on A100)',
    fmtCorrelation('pearson', report.pearson, report.confidence),
    fmtCorrelation('spearman', report.spearman, report.confidence),
    fmtCorrelation('kendall τb', report.kendall, report.confidence),
    `Overfit rule: closed < track median${report.rule.closedMedian === null ? '' : ` (${f4(report.rule.closedMedian)})`} and (closed rank − open rank ≥ ` +
      `${report.rule.rankGap} or open − closed ≥ ${report.rule.scoreGap})`,
  ];
  if (report.submissions.length === 0) return [...lines, '(no submissions)'].join('\n');
  const header = ['submission', 'open', 'closed', 'open#', 'closed#', 'shift', 'overfit'];
  const rows = report.submissions.map((s) => [
    s.submissionId,
    f4(s.open),
    f4(s.closed),
    String(s.openRank),
    String(s.closedRank),
    s.shift > 0 ? `+${s.shift}` : String(s.shift),
    s.overfit ? 'YES' : 'no',
  ]);
  lines.push('', ...textTable(header, rows));
  const flagged = report.submissions.filter((s) => s.overfit);
  if (flagged.length > 0) lines.push('', 'Flagged as overfit to the open suite:', ...flagged.map((s) => `  ${s.submissionId}: ${s.reason}`));
  return lines.join('\n');
}
