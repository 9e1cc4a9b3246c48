/**
 * Benchmark 4, scoring: scoreCompetition for 1,000 submissions × 40 metric columns (2 stages × 4 scenarios
 * × 5 columns, challenge win-rate rule), time and memory, against the same for 100 submissions (ratio of
 * the per-submission cost). Runs in its own process, so peak RSS is this benchmark's.
 */
import { defineScoringRules, scoreCompetition, type StageRow } from '../domain/scoring/index.js';
import { fmt, gc, isMain, log, mainOf, maxRss, MB, row, seededRandom, type BenchResult } from './support.js';

const LARGE = 1_000;
const SMALL = 100;
const STAGES = ['open', 'closed'] as const;
const SCENARIOS_PER_STAGE = 4;
const COLUMNS_PER_SCENARIO = 5;

const rules = defineScoringRules({
  version: 'bench/1',
  winRate: 'challenge-final-2023',
  missingValues: { higherIsBetter: 0, lowerIsBetter: 1000 },
  scenarioAggregation: 'statistics-mean',
  stageAggregation: { method: 'geometric-mean', nonPositiveReplacement: Number.MIN_VALUE },
  stages: STAGES.map((stage) => ({
    name: stage,
    scenarios: Array.from({ length: SCENARIOS_PER_STAGE }, (_, s) => ({
      name: `${stage}-scenario-${s}`,
      columns: Array.from({ length: COLUMNS_PER_SCENARIO }, (_, c) => ({
        name: `${stage}-scenario-${s} - metric ${c}`,
        lowerIsBetter: c === COLUMNS_PER_SCENARIO - 1,
      })),
    })),
  })),
  stageWeights: { open: 1 / 3, closed: 2 / 3 },
});
const COLUMNS = rules.stages.reduce((n, s) => n + s.scenarios.reduce((m, sc) => m + sc.columns.length, 0), 0);

/** Seeded rows: scores on a 0.01 grid (ties happen, as with exact-match scores), 3% missing cells. */
function makeInput(n: number, seed: number): Record<string, StageRow[]> {
  const random = seededRandom(seed);
  const stages: Record<string, StageRow[]> = {};
  for (const stage of rules.stages) {
    stages[stage.name] = Array.from({ length: n }, (_, i) => {
      const metrics: Record<string, number | null> = {};
      for (const scenario of stage.scenarios) {
        for (const column of scenario.columns) metrics[column.name] = random() < 0.03 ? null : Math.round(random() * 100) / 100;
      }
      return { submissionId: `team-${i}.submission`, metrics };
    });
  }
  return stages;
}

interface Measured {
  n: number;
  ms: number;
  heapEndGrowth: number;
  retained: number;
}

function measure(n: number, repeats: number): Measured {
  const stages = makeInput(n, n);
  let best = Number.POSITIVE_INFINITY;
  let heapEndGrowth = 0;
  let retained = 0;
  for (let i = 0; i < repeats; i++) {
    gc();
    const before = process.memoryUsage().heapUsed;
    const t0 = performance.now();
    const result = scoreCompetition({ rules, stages });
    const ms = performance.now() - t0;
    heapEndGrowth = Math.max(heapEndGrowth, process.memoryUsage().heapUsed - before);
    gc();
    retained = process.memoryUsage().heapUsed - before;
    if (result.submissionCount !== n) throw new Error(`scored ${result.submissionCount} of ${n}`);
    best = Math.min(best, ms);
  }
  return { n, ms: best, heapEndGrowth, retained };
}

export async function runScoring(): Promise<BenchResult> {
  const started = performance.now();
  log(`scoring: warm-up`);
  measure(50, 3);
  gc();
  const rssBase = process.memoryUsage().rss;
  log(`scoring: ${SMALL} submissions × ${COLUMNS} columns`);
  const small = measure(SMALL, 5);
  const rssSmall = maxRss() - rssBase;
  log(`scoring: ${LARGE} submissions × ${COLUMNS} columns`);
  const large = measure(LARGE, 3);
  const rssLarge = maxRss() - rssBase;
  const perSub = (m: Measured) => m.ms / m.n;
  const rows = [
    row(`scoreCompetition, ${LARGE} submissions × ${COLUMNS} columns`, large.ms, 'ms', `${SMALL} submissions`, small.ms, 'ms'),
    row('time per submission', perSub(large), 'ms', `per submission at ${SMALL}`, perSub(small), 'ms'),
    row(
      `heap growth at the end of the call (no GC in between: ≈ allocated − collected), ${LARGE}`,
      large.heapEndGrowth / MB,
      'MB',
      `same, ${SMALL}`,
      small.heapEndGrowth / MB,
      'MB',
    ),
    row(`retained result (after GC), ${LARGE}`, large.retained / MB, 'MB', `same, ${SMALL}`, small.retained / MB, 'MB'),
    row(`peak RSS growth over the process baseline, up to ${LARGE}`, rssLarge / MB, 'MB', `up to ${SMALL}`, rssSmall / MB, 'MB'),
  ];
  const notes = [
    `Synthetic rules: ${STAGES.length} stages × ${SCENARIOS_PER_STAGE} scenarios × ${COLUMNS_PER_SCENARIO} columns (one lower-is-better per scenario), rule challenge-final-2023, statistics.mean, geometric mean; values on a 0.01 grid with 3% missing. Best of ${3}/${5} runs after a warm-up.`,
    `Per-submission cost grows ${fmt(perSub(large) / perSub(small))}× from ${SMALL} to ${LARGE} submissions: challengeWinRates (domain/scoring/win-rate.ts) compares every pair of submissions per column and counts ties with another full pass (O(N²) per column, ${fmt((COLUMNS * LARGE * LARGE * 2) / 1e6)} M comparisons at N = ${LARGE}); the rule itself is defined pairwise, with the float accumulation order of the Python original, so this is the cost of bit-exactness. At N = ${LARGE} the whole leaderboard still takes ${fmt(large.ms)} ms.`,
  ];
  return { id: 'scoring', title: '4. Scoring', rows, notes, wallMs: performance.now() - started };
}

if (isMain(import.meta.url)) mainOf(runScoring);
