import { describe, expect, it } from '@jest/globals';
import {
  challengeWinRates,
  defineScoringRules,
  scoreCompetition,
  scoreStage,
  type MetricValue,
  type ScoringRules,
  type StageRow,
} from '../../domain/scoring/index.js';
import { mulberry32 as prng, shuffle } from '../../domain/random.js';


const RULES: ScoringRules = defineScoringRules({
  version: 'property-test/1',
  winRate: 'challenge-final-2023',
  missingValues: { higherIsBetter: 0, lowerIsBetter: 1000 },
  scenarioAggregation: 'statistics-mean',
  stageAggregation: { method: 'geometric-mean', nonPositiveReplacement: Number.MIN_VALUE },
  stages: [
    {
      name: 'open',
      scenarios: [
        { name: 'opposites', columns: [{ name: 'opposites - EM', lowerIsBetter: false }] },
        {
          name: 'qa',
          columns: [
            { name: 'qa - EM', lowerIsBetter: false },
            { name: 'qa - EM (Robustness)', lowerIsBetter: false },
          ],
        },
      ],
    },
    {
      name: 'closed',
      scenarios: [
        {
          name: 'summ',
          columns: [
            { name: 'summ - ROUGE-2', lowerIsBetter: false },
            { name: 'summ - Stereotypes', lowerIsBetter: true },
          ],
        },
        { name: 'math', columns: [{ name: 'math - EM', lowerIsBetter: false }] },
      ],
    },
  ],
  stageWeights: { open: 1 / 3, closed: 2 / 3 },
});

/** Random value: drawn from a small pool when `ties`, sometimes missing. */
function randomValue(rand: () => number, ties: boolean, missingRate: number): MetricValue {
  if (rand() < missingRate) return rand() < 0.5 ? null : undefined;
  return ties ? Math.floor(rand() * 4) / 4 : rand();
}

function randomTrack(rand: () => number, ties: boolean, missingRate: number): Record<string, StageRow[]> {
  const n = 2 + Math.floor(rand() * 11);
  const stages: Record<string, StageRow[]> = {};
  for (const stage of RULES.stages) {
    const rows: StageRow[] = [];
    for (let i = 0; i < n; i++) {
      const metrics: Record<string, MetricValue> = {};
      for (const scenario of stage.scenarios) {
        for (const col of scenario.columns) {
          const v = randomValue(rand, ties, missingRate);
          if (v !== undefined || rand() < 0.5) metrics[col.name] = v;
        }
      }
      rows.push({ submissionId: `sub-${String(i).padStart(2, '0')}`, metrics });
    }
    stages[stage.name] = rows;
  }
  return stages;
}

function relClose(a: number, b: number, tol = 1e-13): boolean {
  return a === b || Math.abs(a - b) <= tol * Math.max(Math.abs(a), Math.abs(b));
}

describe('scoring properties (seeded)', () => {
  it('is invariant to submission order: bit-exact without ties, within 1e-13 (relative) with ties', () => {
    const rand = prng(20231120);
    for (let trial = 0; trial < 200; trial++) {
      const ties = trial % 2 === 1;
      const stages = randomTrack(rand, ties, ties ? 0.15 : 0);
      const base = scoreCompetition({ rules: RULES, stages });
      const shuffled: Record<string, StageRow[]> = {};
      for (const [k, rows] of Object.entries(stages)) shuffled[k] = shuffle(rows, rand);
      const other = scoreCompetition({ rules: RULES, stages: shuffled });
      const byId = new Map(other.submissions.map((s) => [s.submissionId, s] as const));
      for (const e of base.submissions) {
        const o = byId.get(e.submissionId);
        expect(o).toBeDefined();
        if (o === undefined) continue;
        if (!ties) {
          expect(o.final).toBe(e.final);
          expect(o.stageScores).toEqual(e.stageScores);
          expect(o.scenarioMeanWinRates).toEqual(e.scenarioMeanWinRates);
        } else {
          expect(relClose(o.final, e.final)).toBe(true);
          for (const stage of RULES.stages) {
            expect(relClose(o.stageScores[stage.name] ?? NaN, e.stageScores[stage.name] ?? NaN)).toBe(true);
          }
        }
      }
    }
  });

  it('ties: WR_i = (#strictly beaten + [c_i >= 2]/c_i) / N, equal values share a win rate, ΣWR·N = #distinct pairs + #tie groups', () => {
    const rand = prng(7);
    for (let trial = 0; trial < 300; trial++) {
      const n = 1 + Math.floor(rand() * 15);
      const lowerIsBetter = rand() < 0.5;
      const values = Array.from({ length: n }, () => Math.floor(rand() * 5) / 5);
      const wr = challengeWinRates(values, lowerIsBetter);
      values.forEach((v, i) => {
        const beaten = values.filter((u) => (lowerIsBetter ? v < u : v > u)).length;
        const c = values.filter((u) => u === v).length;
        const expected = (beaten + (c >= 2 ? 1 / c : 0)) / n;
        expect(Math.abs((wr[i] ?? NaN) - expected)).toBeLessThanOrEqual(1e-15);
        values.forEach((u, j) => {
          if (u === v) expect(Math.abs((wr[i] ?? NaN) - (wr[j] ?? NaN))).toBeLessThanOrEqual(1e-15);
        });
      });
      let distinctPairs = 0;
      for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) if (values[i] !== values[j]) distinctPairs++;
      const groups = new Map<number, number>();
      for (const v of values) groups.set(v, (groups.get(v) ?? 0) + 1);
      const tieGroups = [...groups.values()].filter((c) => c >= 2).length;
      const total = wr.reduce((a, b) => a + b, 0) * n;
      expect(Math.abs(total - (distinctPairs + tieGroups))).toBeLessThanOrEqual(1e-12);
    }
  });

  it('missing = worst: a missing cell never beats a present one and ties with the default value', () => {
    const rand = prng(99);
    for (let trial = 0; trial < 300; trial++) {
      const n = 2 + Math.floor(rand() * 10);
      const lowerIsBetter = rand() < 0.5;
      const values: MetricValue[] = Array.from({ length: n }, () => (rand() < 0.3 ? null : rand()));
      const wr = challengeWinRates(values, lowerIsBetter);
      const substituted = values.map((v) => v ?? (lowerIsBetter ? 1000 : 0));
      expect(wr).toEqual(challengeWinRates(substituted, lowerIsBetter));
      values.forEach((v, i) => {
        if (v !== null) return;
        wr.forEach((w) => expect(wr[i] ?? NaN).toBeLessThanOrEqual(w));
      });
    }
  });

  it('a submission absent from a stage is scored there as all-missing (worst)', () => {
    const rand = prng(4242);
    for (let trial = 0; trial < 100; trial++) {
      const stages = randomTrack(rand, trial % 2 === 0, 0);
      const closed = stages['closed'] ?? [];
      const dropped = closed[Math.floor(rand() * closed.length)];
      if (dropped === undefined) continue;
      const result = scoreCompetition({
        rules: RULES,
        stages: { ...stages, closed: closed.filter((r) => r !== dropped) },
      });
      expect(result.submissionCount).toBe(closed.length);
      const entry = result.submissions.find((s) => s.submissionId === dropped.submissionId);
      expect(entry?.missingStages).toEqual(['closed']);
      const explicit = scoreCompetition({
        rules: RULES,
        stages: { ...stages, closed: closed.map((r) => (r === dropped ? { submissionId: r.submissionId, metrics: {} } : r)) },
      });
      const same = explicit.submissions.find((s) => s.submissionId === dropped.submissionId);
      expect(same?.stageScores).toEqual(entry?.stageScores);
      for (const other of result.submissions) {
        for (const scenario of RULES.stages[1]?.scenarios ?? []) {
          expect(entry?.scenarioMeanWinRates['closed']?.[scenario.name] ?? NaN).toBeLessThanOrEqual(
            other.scenarioMeanWinRates['closed']?.[scenario.name] ?? NaN,
          );
        }
        expect(entry?.stageScores['closed'] ?? NaN).toBeLessThanOrEqual(other.stageScores['closed'] ?? NaN);
      }
    }
  });

  it('improving a value never lowers that submission’s win rate in the column', () => {
    const rand = prng(5);
    for (let trial = 0; trial < 300; trial++) {
      const n = 2 + Math.floor(rand() * 10);
      const lowerIsBetter = rand() < 0.5;
      const values = Array.from({ length: n }, () => Math.floor(rand() * 6) / 6);
      const i = Math.floor(rand() * n);
      const better = [...values];
      better[i] = (values[i] ?? 0) + (lowerIsBetter ? -0.25 : 0.25);
      expect(challengeWinRates(better, lowerIsBetter)[i] ?? NaN).toBeGreaterThanOrEqual(
        (challengeWinRates(values, lowerIsBetter)[i] ?? NaN) - 1e-15,
      );
    }
  });

  it('sorts by final descending, ties by submission id, and reports the rules version', () => {
    const same = { 'opposites - EM': 0.5, 'qa - EM': 0.5, 'qa - EM (Robustness)': 0.5 };
    const result = scoreCompetition({
      rules: RULES,
      stages: {
        open: [
          { submissionId: 'b', metrics: same },
          { submissionId: 'a', metrics: same },
          { submissionId: 'c', metrics: { 'opposites - EM': 0.9, 'qa - EM': 0.9, 'qa - EM (Robustness)': 0.9 } },
        ],
      },
    });
    expect(result.rulesVersion).toBe('property-test/1');
    expect(result.submissions.map((s) => s.submissionId)).toEqual(['c', 'a', 'b']);
    expect(result.submissions.map((s) => s.rank)).toEqual([1, 2, 3]);
    expect(result.submissions[1]?.final).toBe(result.submissions[2]?.final);
  });

  it('scoreStage uses every row as N and accepts the stage by name', () => {
    const rows: StageRow[] = [
      { submissionId: 'x', metrics: { 'opposites - EM': 1 } },
      { submissionId: 'y', metrics: {} },
    ];
    const stage = scoreStage(rows, 'open', RULES);
    expect(stage.submissionCount).toBe(2);
    expect(stage.submissions[0]?.scenarioMeanWinRates['opposites']).toBe(0.5);
    expect(stage.submissions[1]?.scenarioMeanWinRates['opposites']).toBe(0);
    // qa: both missing -> tie at 0.0 -> 1/c / N = 0.25
    expect(stage.submissions[0]?.scenarioMeanWinRates['qa']).toBe(0.25);
    expect(() => scoreStage([...rows, { submissionId: 'x', metrics: {} }], 'open', RULES)).toThrow('appears twice');
  });
});
