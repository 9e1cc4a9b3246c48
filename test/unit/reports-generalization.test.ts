import { describe, expect, it } from '@jest/globals';
import {
  averageRanks,
  bootstrapCi,
  competitionRanks,
  defaultOverfitRankGap,
  generalizationReport,
  kendallTauB,
  median,
  mulberry32,
  pearson,
  quantileSorted,
  rankShift,
  renderGeneralizationReport,
  spearman,
} from '../../domain/reports/generalization.js';

describe('correlations', () => {
  const xs = [1, 2, 3, 4, 5];
  const ys = [2, 1, 4, 3, 5];

  it('match hand-computed values', () => {
    expect(pearson(xs, ys)).toBeCloseTo(0.8, 12);
    expect(spearman(xs, ys)).toBeCloseTo(0.8, 12);
    expect(kendallTauB(xs, ys)).toBeCloseTo(0.6, 12); // 8 concordant, 2 discordant pairs
    expect(pearson(xs, xs.map((x) => 3 * x + 1))).toBeCloseTo(1, 12);
    expect(pearson(xs, xs.map((x) => -x))).toBeCloseTo(-1, 12);
    expect(spearman(xs, xs.map((x) => x ** 3))).toBeCloseTo(1, 12); // monotone, not linear
  });

  it('handle ties like scipy (average ranks for ρ, τ-b correction)', () => {
    expect(averageRanks([10, 20, 20, 30])).toEqual([1, 2.5, 2.5, 4]);
    expect(spearman([1, 2, 2, 3], [1, 2, 3, 4])).toBeCloseTo(0.9486832980505138, 12);
    expect(kendallTauB([1, 2, 2, 3], [1, 2, 3, 4])).toBeCloseTo(0.9128709291752769, 12);
  });

  it('are null when undefined', () => {
    expect(pearson([1], [1])).toBeNull();
    expect(pearson([1, 2], [1])).toBeNull();
    expect(pearson([1, 2, 3], [5, 5, 5])).toBeNull();
    expect(spearman([1, 1, 1], [1, 2, 3])).toBeNull();
    expect(kendallTauB([1, 1, 1], [1, 2, 3])).toBeNull();
    expect(pearson([1, Number.NaN, 3], [1, 2, 3])).toBeNull();
  });
});

describe('bootstrapCi', () => {
  const xs = [0.1, 0.4, 0.35, 0.8, 0.6, 0.9, 0.2, 0.55, 0.7, 0.3];
  const ys = [0.15, 0.3, 0.5, 0.7, 0.65, 0.85, 0.1, 0.4, 0.75, 0.35];

  it('is deterministic for a seed and brackets the estimate', () => {
    const a = bootstrapCi(xs, ys, pearson, { seed: 42 });
    const b = bootstrapCi(xs, ys, pearson, { seed: 42 });
    const c = bootstrapCi(xs, ys, pearson, { seed: 43 });
    expect(a).toEqual(b);
    expect(c).not.toEqual(a);
    const r = pearson(xs, ys)!;
    expect(a!.low).toBeLessThanOrEqual(r);
    expect(a!.high).toBeGreaterThanOrEqual(r);
    expect(a!.high).toBeLessThanOrEqual(1);
    const wide = bootstrapCi(xs, ys, pearson, { seed: 42, confidence: 0.99 })!;
    expect(wide.low).toBeLessThanOrEqual(a!.low);
    expect(wide.high).toBeGreaterThanOrEqual(a!.high);
  });

  it('is null for fewer than 3 pairs and rejects bad options', () => {
    expect(bootstrapCi([1, 2], [1, 2], pearson)).toBeNull();
    expect(() => bootstrapCi(xs, ys, pearson, { confidence: 1 })).toThrow(RangeError);
    expect(() => bootstrapCi(xs, ys, pearson, { resamples: 0 })).toThrow(RangeError);
  });

  it('uses a seeded PRNG in [0, 1) and type-7 quantiles', () => {
    const random = mulberry32(1);
    const draws = Array.from({ length: 1000 }, random);
    expect(draws.every((d) => d >= 0 && d < 1)).toBe(true);
    expect(mulberry32(1)()).toBe(draws[0]);
    expect(quantileSorted([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantileSorted([1, 2, 3, 4], 0)).toBe(1);
    expect(quantileSorted([1, 2, 3, 4], 1)).toBe(4);
  });
});

describe('ranks', () => {
  it('uses competition ranks, higher is better', () => {
    expect(competitionRanks([0.5, 0.9, 0.5, 0.1])).toEqual([2, 1, 2, 4]);
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(median([])).toBeNull();
  });

  it('computes the shift from open to closed rank', () => {
    expect(
      rankShift([
        { submissionId: 'a', open: 0.9, closed: 0.1 },
        { submissionId: 'b', open: 0.5, closed: 0.5 },
        { submissionId: 'c', open: 0.1, closed: 0.9 },
      ]),
    ).toEqual([
      { submissionId: 'a', openRank: 1, closedRank: 3, shift: 2 },
      { submissionId: 'b', openRank: 2, closedRank: 2, shift: 0 },
      { submissionId: 'c', openRank: 3, closedRank: 1, shift: -2 },
    ]);
    expect(() => rankShift([{ submissionId: 'a', open: 1, closed: 1 }, { submissionId: 'a', open: 0, closed: 0 }])).toThrow(/duplicate/);
    expect(() => rankShift([{ submissionId: 'a', open: Number.NaN, closed: 1 }])).toThrow(RangeError);
  });
});

describe('generalizationReport', () => {
  // "leaky" memorized the open suite: best open, worst closed. "steady" is good on both.
  const rows = [
    { submissionId: 'leaky', open: 0.95, closed: 0.05 },
    { submissionId: 'steady', open: 0.8, closed: 0.9 },
    { submissionId: 'mid-a', open: 0.6, closed: 0.6 },
    { submissionId: 'mid-b', open: 0.5, closed: 0.7 },
    { submissionId: 'drifter', open: 0.7, closed: 0.3 }, // open rank 3, closed rank 4, but open − closed = 0.4
    { submissionId: 'weak', open: 0.1, closed: 0.2 },
  ];

  it('flags submissions whose closed score is below the median and whose open rank is far above their closed rank', () => {
    const report = generalizationReport('cpu', rows, { seed: 7 });
    expect(report.n).toBe(6);
    expect(report.rule).toMatchObject({ rankGap: 2, scoreGap: 0.25 });
    expect(report.rule.closedMedian).toBeCloseTo(0.45, 12);
    const byId = Object.fromEntries(report.submissions.map((s) => [s.submissionId, s]));
    expect(byId.leaky).toMatchObject({ openRank: 1, closedRank: 6, shift: 5, overfit: true });
    expect(byId.leaky!.reason).toMatch(/gap 5 ≥ 2.*open − closed = 0\.9000 ≥ 0\.25.*closed 0\.0500 ≤ track median 0\.4500/);
    expect(byId.drifter).toMatchObject({ openRank: 3, closedRank: 4, overfit: true });
    expect(byId.drifter!.reason).toMatch(/^open − closed = 0\.4000 ≥ 0\.25, and closed/);
    expect(byId.steady!.overfit).toBe(false);
    expect(byId.steady!.reason).toMatch(/> track median/);
    expect(byId.weak).toMatchObject({ openRank: 6, closedRank: 5, overfit: false });
    expect(byId['mid-a']!.overfit).toBe(false);
    expect(report.submissions.map((s) => s.submissionId)).toEqual(['leaky', 'steady', 'drifter', 'mid-a', 'mid-b', 'weak']);
    expect(report.pearson.value).toBeCloseTo(pearson(rows.map((r) => r.open), rows.map((r) => r.closed))!, 12);
    for (const estimate of [report.pearson, report.spearman, report.kendall]) {
      expect(estimate.ci).not.toBeNull();
      expect(estimate.ci!.low).toBeLessThanOrEqual(estimate.ci!.high);
    }
    expect(generalizationReport('cpu', rows, { seed: 7 })).toEqual(report);
  });

  it('applies the score-gap branch and the thresholds passed in', () => {
    // "a": open rank 3 → closed rank 4 (gap 1 < 2), but open − closed = 0.35 and closed 0.55 < median 0.7
    const close = [
      { submissionId: 'p', open: 0.95, closed: 0.95 },
      { submissionId: 'q', open: 0.92, closed: 0.9 },
      { submissionId: 'a', open: 0.9, closed: 0.55 },
      { submissionId: 'r', open: 0.3, closed: 0.85 },
      { submissionId: 's', open: 0.2, closed: 0.3 },
      { submissionId: 't', open: 0.1, closed: 0.2 },
    ];
    const report = generalizationReport('a100-40gb', close);
    expect(report.submissions.find((s) => s.submissionId === 'a')).toMatchObject({ openRank: 3, closedRank: 4, shift: 1, overfit: true });
    expect(report.submissions.filter((s) => s.overfit).map((s) => s.submissionId)).toEqual(['a']);
    expect(report.submissions.find((s) => s.submissionId === 'a')!.reason).not.toMatch(/closed rank \d \(gap/);
    const strict = generalizationReport('a100-40gb', close, { overfitScoreGap: 0.5 });
    expect(strict.submissions.some((s) => s.overfit)).toBe(false);
    const loose = generalizationReport('cpu', rows, { overfitRankGap: 6, overfitScoreGap: 1 });
    expect(loose.submissions.some((s) => s.overfit)).toBe(false);
  });

  it('scales the default rank gap with the field and copes with tiny fields', () => {
    expect([1, 3, 6, 7, 9, 30].map(defaultOverfitRankGap)).toEqual([2, 2, 2, 3, 3, 10]);
    const empty = generalizationReport('cpu', []);
    expect(empty).toMatchObject({ n: 0, submissions: [], pearson: { value: null, ci: null } });
    expect(renderGeneralizationReport(empty)).toContain('(no submissions)');
    const two = generalizationReport('cpu', [
      { submissionId: 'x', open: 1, closed: 0 },
      { submissionId: 'y', open: 0, closed: 1 },
    ]);
    expect(two.pearson).toEqual({ value: -1, ci: null });
    expect(two.submissions.find((s) => s.submissionId === 'x')!.overfit).toBe(true); // score branch
  });

  it('renders plain text for the CLI', () => {
    const text = renderGeneralizationReport(generalizationReport('cpu', rows, { seed: 7 }));
    expect(text).toContain('Generalization — track cpu');
    expect(text).toMatch(/pearson\s+-?\d\.\d{3}\s+95% CI \[/);
    expect(text).toContain('kendall τb');
    expect(text).toMatch(/leaky\s+0\.9500\s+0\.0500\s+1\s+6\s+\+5\s+YES/);
    expect(text).toContain('Flagged as overfit to the open suite:');
  });
});
