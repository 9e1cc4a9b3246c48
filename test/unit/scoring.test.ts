import { describe, expect, it } from '@jest/globals';
import {
  challengeWinRates,
  fmean,
  fsum,
  geometricMean,
  helmAggregateRowWinRates,
  helmHeadWinRates,
  helmV030WinRates,
  pyExp,
  pyLog,
  ratioToDouble,
  statisticsMean,
  winRatesByRule,
} from '../../domain/scoring/index.js';

interface Vector {
  values: number[];
  lowerIsBetter: boolean;
  challenge: number[];
  helmV030: number[];
  helmHead: number[];
}

// Spec SCORING_AND_METRICS.md §1.7 (the challenge column was also checked against a Python run of calc_win_rate:
// the fractions below are the exact doubles Python prints).
const VECTORS: Vector[] = [
  { values: [1, 2, 3, 4, 5], lowerIsBetter: false, challenge: [0, 0.2, 0.4, 0.6, 0.8], helmV030: [0, 0.25, 0.5, 0.75, 1], helmHead: [0, 0.25, 0.5, 0.75, 1] },
  { values: [1, 2, 3, 4, 5], lowerIsBetter: true, challenge: [0.8, 0.6, 0.4, 0.2, 0], helmV030: [1, 0.75, 0.5, 0.25, 0], helmHead: [1, 0.75, 0.5, 0.25, 0] },
  {
    values: [1, 1, 1, 3, 4, 5, 1],
    lowerIsBetter: false,
    challenge: [1 / 28, 1 / 28, 1 / 28, 4 / 7, 5 / 7, 6 / 7, 1 / 28],
    helmV030: [0, 1 / 6, 1 / 3, 2 / 3, 5 / 6, 1, 1 / 2],
    helmHead: [0.25, 0.25, 0.25, 2 / 3, 5 / 6, 1, 0.25],
  },
  { values: [1, 1, 1, 4, 5], lowerIsBetter: false, challenge: [1 / 15, 1 / 15, 1 / 15, 0.6, 0.8], helmV030: [0, 0.25, 0.5, 0.75, 1], helmHead: [0.25, 0.25, 0.25, 0.75, 1] },
  { values: [0.5, 0.7, 0.7, 0.9], lowerIsBetter: false, challenge: [0, 0.375, 0.375, 0.75], helmV030: [0, 1 / 3, 2 / 3, 1], helmHead: [0, 0.5, 0.5, 1] },
  { values: [0.2, 0.2], lowerIsBetter: false, challenge: [0.25, 0.25], helmV030: [0, 1], helmHead: [0.5, 0.5] },
  { values: [0.3, 0.3, 0.3], lowerIsBetter: false, challenge: [1 / 9, 1 / 9, 1 / 9], helmV030: [0, 0.5, 1], helmHead: [0.5, 0.5, 0.5] },
  { values: [0.1, 0.2, 0.2, 1000], lowerIsBetter: true, challenge: [0.75, 0.375, 0.375, 0], helmV030: [1, 2 / 3, 1 / 3, 0], helmHead: [1, 0.5, 0.5, 0] },
  { values: [0, 0, 0.6], lowerIsBetter: false, challenge: [1 / 6, 1 / 6, 2 / 3], helmV030: [0, 0.5, 1], helmHead: [0.25, 0.25, 1] },
];

describe('win-rate test vectors (spec §1.7)', () => {
  for (const v of VECTORS) {
    const label = `[${v.values.join(',')}] lowerIsBetter=${v.lowerIsBetter}`;
    it(`challenge final: ${label}`, () => {
      expect(challengeWinRates(v.values, v.lowerIsBetter)).toEqual(v.challenge);
      expect(winRatesByRule('challenge-final-2023', v.values, v.lowerIsBetter)).toEqual(v.challenge);
    });
    it(`HELM v0.3.0: ${label}`, () => {
      expect(helmV030WinRates(v.values, v.lowerIsBetter)).toEqual(v.helmV030);
      expect(winRatesByRule('helm-v0.3.0', v.values, v.lowerIsBetter)).toEqual(v.helmV030);
    });
    it(`HELM HEAD: ${label}`, () => {
      expect(helmHeadWinRates(v.values, v.lowerIsBetter)).toEqual(v.helmHead);
      expect(winRatesByRule('helm-head', v.values, v.lowerIsBetter)).toEqual(v.helmHead);
    });
  }
});

describe('challengeWinRates details', () => {
  it('substitutes missing cells with 0 (higher better) / 1000 (lower better) by default', () => {
    expect(challengeWinRates([null, 0, 0.5], false)).toEqual(challengeWinRates([0, 0, 0.5], false));
    expect(challengeWinRates([undefined, 1000, 0.2], true)).toEqual(challengeWinRates([1000, 1000, 0.2], true));
    expect(challengeWinRates([null, 0.1, 0.2], true)).toEqual([0, 2 / 3, 1 / 3]);
  });
  it('accepts an explicit missing value', () => {
    expect(challengeWinRates([null, 0.5], false, { missingValue: 1 })).toEqual([0.5, 0]);
  });
  it('divides by N: a unique best scores (N-1)/N, a unique worst 0', () => {
    expect(challengeWinRates([3, 1, 2], false)).toEqual([2 / 3, 0, 1 / 3]);
  });
  it('uses IEEE equality: NaN never ties or wins, 0 ties with -0', () => {
    expect(challengeWinRates([NaN, NaN, 1], false)).toEqual([0, 0, 0]);
    expect(challengeWinRates([0, -0], false)).toEqual([0.25, 0.25]);
  });
  it('handles the degenerate tracks', () => {
    expect(challengeWinRates([], false)).toEqual([]);
    expect(challengeWinRates([0.7], false)).toEqual([0]);
  });
});

describe('HELM row mean win rates (spec §4, HELM test_summarize.py)', () => {
  const A = [1, 2, 3, 4, 5];
  it('one scenario', () => {
    expect(helmAggregateRowWinRates([{ values: A, lowerIsBetter: false }], 'helm-head')).toEqual([0, 0.25, 0.5, 0.75, 1]);
  });
  it('two scenarios', () => {
    const cols = [
      { values: A, lowerIsBetter: false },
      { values: [3, 1, 2, 5, 4], lowerIsBetter: false },
    ];
    expect(helmAggregateRowWinRates(cols, 'helm-head')).toEqual([0.25, 0.125, 0.375, 0.875, 0.875]);
  });
  it('incomplete values', () => {
    const cols = [
      { values: A, lowerIsBetter: false },
      { values: [3, 1, null, null, null], lowerIsBetter: false },
    ];
    expect(helmAggregateRowWinRates(cols, 'helm-head')).toEqual([0.5, 0.125, 0.5, 0.75, 1]);
  });
  it('Nones ignored and single-value columns skipped', () => {
    const cols = [
      { values: A, lowerIsBetter: false },
      { values: [null, null, null, null, null], lowerIsBetter: false },
      { values: [null, 1, null, null, null], lowerIsBetter: false },
    ];
    expect(helmAggregateRowWinRates(cols, 'helm-head')).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(helmAggregateRowWinRates(cols, 'helm-v0.3.0')).toEqual([0, 0.25, 0.5, 0.75, 1]);
  });
  it('unset lower_is_better column ignored', () => {
    const cols = [
      { values: A, lowerIsBetter: false },
      { values: [5, 4, 3, 2, 1], lowerIsBetter: null },
    ];
    expect(helmAggregateRowWinRates(cols, 'helm-head')).toEqual([0, 0.25, 0.5, 0.75, 1]);
  });
  it('all None', () => {
    expect(helmAggregateRowWinRates([{ values: [null, null, null, null, null], lowerIsBetter: false }], 'helm-head')).toEqual([
      null,
      null,
      null,
      null,
      null,
    ]);
  });
  it('ties (HEAD only) and lower is better', () => {
    expect(helmAggregateRowWinRates([{ values: [1, 1, 1, 4, 5], lowerIsBetter: false }], 'helm-head')).toEqual([0.25, 0.25, 0.25, 0.75, 1]);
    expect(helmAggregateRowWinRates([{ values: [1, 1, 1, 4, 5], lowerIsBetter: false }], 'helm-v0.3.0')).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(helmAggregateRowWinRates([{ values: A, lowerIsBetter: true }], 'helm-head')).toEqual([1, 0.75, 0.5, 0.25, 0]);
  });
});

describe('geometric mean with eps (spec §1.7)', () => {
  const cases: [number[], number][] = [
    [[0.5, 0.25, 0.125], 0.25],
    [[0.5, 0, 0.25], 8.515919680016653e-109],
    [[0.9, 0.9, 0.9, 0.9, 0], 2.0051688021445213e-65],
    [[0, 0, 0.5, 0.5, 0.5], 3.139755756490104e-130],
  ];
  for (const [values, expected] of cases) {
    it(`[${values.join(',')}] -> ${expected}`, () => {
      expect(geometricMean(values)).toBe(expected);
    });
  }
  it('a zero does not collapse the score to 0; NaN is replaced like Python (not > 0)', () => {
    expect(geometricMean([0])).toBe(Number.MIN_VALUE);
    expect(geometricMean([NaN, 0.5, 0.5, 0.5, 0.5])).toBe(geometricMean([0, 0.5, 0.5, 0.5, 0.5]));
  });
  it('nonPositiveReplacement: null keeps Python geometric_mean behaviour (log of 0 raises)', () => {
    expect(() => geometricMean([0.5, 0], { nonPositiveReplacement: null })).toThrow('math domain error');
    expect(() => geometricMean([])).toThrow();
  });
});

describe('statistics.mean (exact rational mean, CPython values)', () => {
  const cases: [number[], number][] = [
    [[0.1, 0.2, 0.3], 0.2], // naive sum/n gives 0.20000000000000004
    [[1e16, 1.0, -1e16], 0.3333333333333333], // naive gives 0
    [Array.from({ length: 10 }, () => 0.1), 0.1], // naive gives 0.09999999999999999
    [[1 / 3, 1 / 3, 1 / 3, 2 / 3], 0.41666666666666663],
    [[5e-324, 5e-324, 5e-324], 5e-324],
    [[1.7976931348623157e308, 1.7976931348623157e308], 1.7976931348623157e308], // naive overflows
    [[0.5925925925925926, 0.8518518518518519], 0.7222222222222222],
    [[0.75, 0.41666666666666663, 0.0, 0.25, 0.5], 0.3833333333333333],
  ];
  for (const [values, expected] of cases) {
    it(`mean([${values.join(',')}]) = ${expected}`, () => {
      expect(statisticsMean(values)).toBe(expected);
    });
  }
  it('returns +0 for -0 and propagates non-finite values like CPython', () => {
    expect(Object.is(statisticsMean([-0]), 0)).toBe(true);
    expect(statisticsMean([Infinity, 1])).toBe(Infinity);
    expect(statisticsMean([Infinity, -Infinity])).toBeNaN();
    expect(() => statisticsMean([])).toThrow();
  });
});

describe('math.fsum port', () => {
  it('matches CPython on classic cases', () => {
    expect(fsum(Array.from({ length: 10 }, () => 0.1))).toBe(1.0);
    expect(fsum([1e-16, 1.0, 1e16])).toBe(1.0000000000000002e16);
    expect(fsum([1e100, 1.0, -1e100, 1e-100, 1e50, -1.0, -1e50])).toBe(1e-100);
    expect(fsum([2 ** 53, -0.5, -(2 ** -54)])).toBe(9007199254740991.0);
    expect(fsum([])).toBe(0);
    expect(fmean([1, 2, 4])).toBe(7 / 3);
  });
  it('special values and errors', () => {
    expect(fsum([Infinity, 1])).toBe(Infinity);
    expect(fsum([NaN, 1])).toBeNaN();
    expect(() => fsum([1e308, 1e308, -1e308])).toThrow('intermediate overflow in fsum');
    expect(() => fsum([Infinity, -Infinity])).toThrow('-inf + inf in fsum');
  });
});

describe('correctly rounded log/exp and rational rounding', () => {
  it('agrees with CPython/glibc on sample values', () => {
    expect(pyLog(0.7501314540552354)).toBe(-0.28750681573648906);
    expect(pyLog(5e-324)).toBe(-744.4400719213812);
    expect(pyLog(1)).toBe(0);
    expect(pyLog(2)).toBe(Math.LN2);
    expect(pyExp(-0.5)).toBe(0.6065306597126334);
    expect(pyExp(-745.0)).toBe(5e-324);
    expect(pyExp(709.0)).toBe(8.218407461554972e307);
    expect(pyExp(0)).toBe(1);
    expect(pyExp(1)).toBe(Math.E);
  });
  it('mirrors Python domain and range errors', () => {
    expect(() => pyLog(0)).toThrow('math domain error');
    expect(() => pyLog(-1)).toThrow('math domain error');
    expect(() => pyExp(710)).toThrow('math range error');
    expect(pyExp(-1000)).toBe(0);
  });
  it('rounds rationals half to even, including subnormals', () => {
    expect(ratioToDouble(1n, 3n)).toBe(1 / 3);
    expect(ratioToDouble(-7n, 2n)).toBe(-3.5);
    expect(ratioToDouble((1n << 53n) + 1n, 1n)).toBe(2 ** 53); // tie -> even
    expect(ratioToDouble((1n << 53n) + 3n, 1n)).toBe(2 ** 53 + 4); // tie -> even
    expect(ratioToDouble(1n, 1n << 1075n)).toBe(0); // exactly half of the smallest subnormal -> even (0)
    expect(ratioToDouble(3n, 1n << 1076n)).toBe(5e-324);
    expect(ratioToDouble(1n << 1024n, 1n)).toBe(Infinity);
  });
});
