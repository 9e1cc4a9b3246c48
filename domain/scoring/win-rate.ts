/**
 * Per-column win rates.
 *
 * - `challengeWinRates`: the NeurIPS 2023 LLM Efficiency Challenge final-round rule
 *   (private-helm `rank_submissions.py::calc_win_rate`, spec §1.3), copied operation for operation.
 * - `helmV030WinRates` / `helmHeadWinRates`: HELM's `compute_aggregate_row_win_rates` per column (spec §4),
 *   v0.3.0 (ties broken by row order) and HEAD (ties share the average position).
 * - `helmAggregateRowWinRates`: HELM's row "mean win rate" over several columns.
 */
import { statisticsMean } from './aggregate.js';

/** A metric cell: a number, or missing (`null`/`undefined`). */
export type MetricValue = number | null | undefined;

export const WIN_RATE_RULE_NAMES = ['challenge-final-2023', 'helm-v0.3.0', 'helm-head'] as const;
export type WinRateRuleName = (typeof WIN_RATE_RULE_NAMES)[number];

/** §1.4: the value a missing cell gets in the challenge (0.0 higher-is-better, 1000.0 lower-is-better). */
export function defaultMissingValue(lowerIsBetter: boolean): number {
  return lowerIsBetter ? 1000.0 : 0.0;
}

export interface ChallengeWinRateOptions {
  /** Value substituted for missing cells. Default: `defaultMissingValue(lowerIsBetter)`. */
  missingValue?: number;
}

function isMissing(v: MetricValue): v is null | undefined {
  return v === null || v === undefined;
}

/**
 * Challenge final-round win rate of every entry of one metric column.
 *
 * win_i = Σ_{j≠i, in index order} ( +1 if v_i strictly better than v_j, else +1/(c_i(c_i−1)) if v_i == v_j ),
 * WR_i = win_i / N, c_i = #{k : v_k == v_i}. Equality is IEEE `==` (NaN never equal, 0 == −0).
 * The float accumulation order is the Python one (a running float starting at 0.0, partners in index order).
 * Missing cells are substituted before ranking (see options), so N counts every entry.
 */
export function challengeWinRates(
  values: readonly MetricValue[],
  lowerIsBetter: boolean,
  options: ChallengeWinRateOptions = {},
): number[] {
  const missing = options.missingValue ?? defaultMissingValue(lowerIsBetter);
  const v: number[] = values.map((x) => (isMissing(x) ? missing : x));
  const n = v.length;
  const counts: number[] = v.map((x) => {
    let c = 0;
    for (const y of v) if (y === x) c++;
    return c;
  });
  const result: number[] = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const vi = v[i] as number;
    const ci = counts[i] as number;
    let win = 0.0;
    for (let j = 0; j < n; j++) {
      if (i === j) continue;
      const vj = v[j] as number;
      if (!lowerIsBetter && vi > vj) win += 1;
      else if (lowerIsBetter && vi < vj) win += 1;
      else if (vi === vj) win += 1.0 / (ci * (ci - 1));
    }
    result[i] = win / n;
  }
  return result;
}

/** Cells HELM ranks: present and not NaN (Python's tuple sort is not a total order with NaN). */
function validIndices(values: readonly MetricValue[]): number[] {
  const out: number[] = [];
  values.forEach((v, j) => {
    if (!isMissing(v) && !Number.isNaN(v)) out.push(j);
  });
  return out;
}

/**
 * HELM v0.3.0 win rate of one column. Missing/NaN cells get `null` and are not counted; a column with fewer
 * than two valid cells is skipped (all `null`). Rows are sorted by the tuple (value, row index), ascending, or
 * descending when lower is better; a row's win rate is its position / (n_valid − 1). Ties are broken by row
 * order (the lower index wins fewer for higher-is-better; the higher index wins fewer for lower-is-better).
 * Strongly contaminated cells (which v0.3.0 also skips) must be passed as `null` by the caller.
 */
export function helmV030WinRates(values: readonly MetricValue[], lowerIsBetter: boolean): (number | null)[] {
  const result: (number | null)[] = values.map(() => null);
  const idx = validIndices(values);
  if (idx.length < 2) return result;
  const val = (j: number): number => values[j] as number;
  const ascending = (a: number, b: number): number => {
    const va = val(a);
    const vb = val(b);
    if (va < vb) return -1;
    if (va > vb) return 1;
    return a - b;
  };
  const sorted = [...idx].sort((a, b) => (lowerIsBetter ? ascending(b, a) : ascending(a, b)));
  const denom = sorted.length - 1;
  sorted.forEach((j, wins) => {
    result[j] = wins / denom;
  });
  return result;
}

/**
 * HELM HEAD (since PR #3001) win rate of one column: for each distinct value (in sorted order),
 * wins = #(strictly worse values) + (count − 1)/2 and win rate = wins / (n_valid − 1). Missing/NaN cells get
 * `null`; columns with fewer than two valid cells are skipped (all `null`).
 */
export function helmHeadWinRates(values: readonly MetricValue[], lowerIsBetter: boolean): (number | null)[] {
  const result: (number | null)[] = values.map(() => null);
  const idx = validIndices(values);
  const valueToCount = new Map<number, number>(); // SameValueZero: 0 and -0 share a key, like a Python dict
  for (const j of idx) {
    const v = values[j] as number;
    valueToCount.set(v, (valueToCount.get(v) ?? 0) + 1);
  }
  const distinct = [...valueToCount.keys()].sort((a, b) => (lowerIsBetter ? b - a : a - b));
  const valueToWins = new Map<number, number>();
  let accCount = 0;
  for (const v of distinct) {
    const c = valueToCount.get(v) ?? 0;
    valueToWins.set(v, accCount + (c - 1) / 2);
    accCount += c;
  }
  const total = accCount;
  if (total < 2) return result;
  for (const j of idx) {
    result[j] = (valueToWins.get(values[j] as number) ?? 0) / (total - 1);
  }
  return result;
}

/** Per-column win rates under a named rule (`null` = not ranked in that column; never for the challenge rule). */
export function winRatesByRule(
  rule: WinRateRuleName,
  values: readonly MetricValue[],
  lowerIsBetter: boolean,
  options: ChallengeWinRateOptions = {},
): (number | null)[] {
  switch (rule) {
    case 'challenge-final-2023':
      return challengeWinRates(values, lowerIsBetter, options);
    case 'helm-v0.3.0':
      return helmV030WinRates(values, lowerIsBetter);
    case 'helm-head':
      return helmHeadWinRates(values, lowerIsBetter);
  }
}

export interface HelmColumn {
  values: readonly MetricValue[];
  /** `null`: the column has no meaningful ordering and is skipped, as in HELM. */
  lowerIsBetter: boolean | null;
}

/**
 * HELM `compute_aggregate_row_win_rates(table, aggregation="mean")`: per row, `statistics.mean` of its win
 * rates over the columns where it was ranked; `null` if none.
 */
export function helmAggregateRowWinRates(
  columns: readonly HelmColumn[],
  rule: 'helm-v0.3.0' | 'helm-head',
): (number | null)[] {
  const first = columns[0];
  if (first === undefined) return [];
  const rows = first.values.length;
  const perRow: number[][] = Array.from({ length: rows }, () => []);
  columns.forEach((col, c) => {
    if (col.values.length !== rows) {
      throw new RangeError(`column ${c} has ${col.values.length} cells, expected ${rows}`);
    }
    if (col.lowerIsBetter === null) return;
    const wr = rule === 'helm-v0.3.0' ? helmV030WinRates(col.values, col.lowerIsBetter) : helmHeadWinRates(col.values, col.lowerIsBetter);
    wr.forEach((w, j) => {
      if (w !== null) perRow[j]?.push(w);
    });
  });
  return perRow.map((ws) => (ws.length === 0 ? null : statisticsMean(ws)));
}
