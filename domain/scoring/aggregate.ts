/**
 * CPython-exact aggregations used by the challenge scoring:
 * - `statisticsMean`: `statistics.mean` on floats (exact rational sum, rounded once, ties to even).
 * - `fsum`: a port of CPython's `math.fsum` (Shewchuk exact partials plus the half-even fix-up).
 * - `fmean`: `statistics.fmean` = fsum(data) / n.
 * - `geometricMean`: CPython 3.10 `statistics.geometric_mean` = exp(fmean(map(log, data))), with the challenge's
 *   replacement of every value <= 0 by 5e-324 first (configurable).
 */
import { decomposeDouble, pyExp, pyLog, ratioToDouble } from './float-exact.js';

// ---------------------------------------------------------------------------------------------
// statistics.mean
// ---------------------------------------------------------------------------------------------

/**
 * Python's `statistics.mean` for floats: every value is converted to an exact fraction, the fractions are
 * summed exactly, divided by n and rounded once to the nearest double (ties to even).
 * Non-finite values follow CPython: the non-finite values are added as floats and divided by n.
 * An empty input throws (Python raises StatisticsError).
 */
export function statisticsMean(values: readonly number[]): number {
  const n = values.length;
  if (n < 1) throw new RangeError('mean requires at least one data point');
  let special = 0;
  let hasSpecial = false;
  let total = 0n; // scaled by 2^1074
  for (const x of values) {
    if (!Number.isFinite(x)) {
      special = hasSpecial ? special + x : x;
      hasSpecial = true;
      continue;
    }
    if (x === 0) continue;
    const d = decomposeDouble(x);
    const scaled = d.mantissa << BigInt(d.exponent + 1074);
    total += d.negative ? -scaled : scaled;
  }
  if (hasSpecial) return special / n;
  return ratioToDouble(total, BigInt(n) << 1074n);
}

// ---------------------------------------------------------------------------------------------
// math.fsum (port of CPython Modules/mathmodule.c math_fsum)
// ---------------------------------------------------------------------------------------------

export function fsum(values: Iterable<number>): number {
  const p: number[] = [];
  let n = 0;
  let specialSum = 0;
  let infSum = 0;
  let lo = 0;
  for (const item of values) {
    let x = item;
    const xsave = x;
    let i = 0;
    for (let j = 0; j < n; j++) {
      let y = p[j] ?? 0;
      if (Math.abs(x) < Math.abs(y)) {
        const t = x;
        x = y;
        y = t;
      }
      const hi = x + y;
      const yr = hi - x;
      lo = y - yr;
      if (lo !== 0) p[i++] = lo;
      x = hi;
    }
    n = i;
    if (x !== 0) {
      if (!Number.isFinite(x)) {
        if (Number.isFinite(xsave)) throw new RangeError('intermediate overflow in fsum');
        if (xsave === Infinity || xsave === -Infinity) infSum += xsave;
        specialSum += xsave;
        n = 0;
      } else {
        p[n++] = x;
      }
    }
  }
  if (specialSum !== 0 || Number.isNaN(specialSum)) {
    if (Number.isNaN(infSum)) throw new RangeError('-inf + inf in fsum');
    return specialSum;
  }
  let hi = 0;
  if (n > 0) {
    hi = p[--n] ?? 0;
    while (n > 0) {
      const x = hi;
      const y = p[--n] ?? 0;
      hi = x + y;
      const yr = hi - x;
      lo = y - yr;
      if (lo !== 0) break;
    }
    const below = n > 0 ? (p[n - 1] ?? 0) : 0;
    if (n > 0 && ((lo < 0 && below < 0) || (lo > 0 && below > 0))) {
      const y = lo * 2;
      const x = hi + y;
      const yr = x - hi;
      if (y === yr) hi = x;
    }
  }
  return hi;
}

/** `statistics.fmean`: fsum(data) / n. */
export function fmean(values: readonly number[]): number {
  if (values.length < 1) throw new RangeError('fmean requires at least one data point');
  return fsum(values) / values.length;
}

// ---------------------------------------------------------------------------------------------
// statistics.geometric_mean (CPython 3.10)
// ---------------------------------------------------------------------------------------------

export interface GeometricMeanOptions {
  /**
   * Every value that is not > 0 (including NaN, as Python's `el if el > 0.0 else eps` does) is replaced by this
   * value first. Default: Number.MIN_VALUE (= math.nextafter(0.0, math.inf) = 5e-324). Pass `null` to keep
   * Python's plain behaviour (math.log raises, here a RangeError).
   */
  nonPositiveReplacement?: number | null;
}

/** exp(fsum(log x_i) / n), after replacing values <= 0 (see options). Throws on empty input. */
export function geometricMean(values: readonly number[], options: GeometricMeanOptions = {}): number {
  if (values.length < 1) throw new RangeError('geometric mean requires a non-empty dataset');
  const replacement = options.nonPositiveReplacement === undefined ? Number.MIN_VALUE : options.nonPositiveReplacement;
  const xs = replacement === null ? values : values.map((x) => (x > 0 ? x : replacement));
  const logs = xs.map((x) => pyLog(x));
  return pyExp(fsum(logs) / logs.length);
}
