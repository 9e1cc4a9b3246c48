import { describe, expect, it } from '@jest/globals';
import { parseScoringRules, CHALLENGE_2023_FINAL_RULES } from '../../domain/scoring/index.js';
import type { LeaderboardSubmission, ScenarioScore } from '../../domain/standings-table.js';
import { buildFinalBoard, developmentRuns, reproductionRecordOf, type ReproductionRecord } from '../../domain/competition/final-board.js';
import { finalBoardCsv, finalBoardTable, reproductionLabel, reproductionStatusTable } from '../../domain/competition/final-board-text.js';

// One scenario of one column per stage: a stage score is that column's win rate (divisor N, no ties here).
const rules = parseScoringRules({
  version: 'test-final/1',
  description: 'one column per stage',
  winRate: CHALLENGE_2023_FINAL_RULES.winRate,
  missingValues: CHALLENGE_2023_FINAL_RULES.missingValues,
  scenarioAggregation: CHALLENGE_2023_FINAL_RULES.scenarioAggregation,
  stageAggregation: CHALLENGE_2023_FINAL_RULES.stageAggregation,
  stages: [
    { name: 'open', scenarios: [{ name: 'qa', columns: [{ name: 'qa - EM', lowerIsBetter: false }] }] },
    { name: 'closed', scenarios: [{ name: 'sum', columns: [{ name: 'sum - ROUGE-2', lowerIsBetter: false }] }] },
  ],
  stageWeights: { open: 1 / 3, closed: 2 / 3 },
});

const run = (id: string): LeaderboardSubmission => ({ submissionId: id, team: id.split('.')[0]!, track: 'cpu', outcome: 'completed', failureCategory: null, failureReason: null });
const scores = (id: string, open: number, closed: number): ScenarioScore[] => [
  { submissionId: id, suite: 'open', column: 'qa - EM', score: open },
  { submissionId: id, suite: 'closed', column: 'sum - ROUGE-2', score: closed },
];
// alpha best on open, beta best on closed, gamma in between on both.
const submissions = [run('alpha.v1.final'), run('beta.v2.final'), run('gamma.v1.final'), run('alpha.v1'), run('beta.v2'), run('beta.v2.reproduction'), run('gamma.v1.reproduction')];
const allScores = [
  ...scores('alpha.v1.final', 0.9, 0.2),
  ...scores('beta.v2.final', 0.5, 0.8),
  ...scores('gamma.v1.final', 0.1, 0.5),
  ...scores('alpha.v1', 1, 1), // a development run: never on the final board
];
const verdict = (of: string, outcome: 'Reproduced' | 'NotReproduced', reason: string): ReproductionRecord =>
  reproductionRecordOf(of, {
    outcome: outcome === 'Reproduced' ? 'succeeded' : 'failed',
    failureCategory: outcome === 'Reproduced' ? null : 'NotReproduced',
    reason,
    details: {
      of,
      verdict: outcome,
      final: { submitted: 0.55, reproduced: outcome === 'Reproduced' ? 0.54 : 0.2, difference: null, within: outcome === 'Reproduced' },
      columns: [
        { suite: 'open', column: 'qa - EM', score: 0.5, reproducedScore: 0.5, difference: 0, within: true },
        { suite: 'closed', column: 'sum - ROUGE-2', score: 0.8, reproducedScore: outcome === 'Reproduced' ? 0.79 : 0.3, difference: null, within: outcome === 'Reproduced' },
      ],
    },
  });

describe('the final board', () => {
  const beta = verdict('beta.v2', 'NotReproduced', 'final score 0.200 reproduced vs 0.556 submitted (tolerance 0.05)');
  const gammaPending = reproductionRecordOf('gamma.v1', undefined);

  it('ranks the final runs only, under team and development submission, with the reproduction column (mark)', () => {
    const board = buildFinalBoard({ track: 'cpu', rules, submissions, scores: allScores, reproductions: [beta, gammaPending], onFailure: 'mark' });
    expect(board.rows.map((r) => r.submissionId)).toEqual(['beta.v2.final', 'alpha.v1.final', 'gamma.v1.final']);
    // N = 3. open: alpha 2/3, beta 1/3, gamma 0 (→ 5e-324); closed: beta 2/3, gamma 1/3, alpha 0 (→ 5e-324).
    expect(board.rows[0]!.final).toBeCloseTo(1 / 9 + 4 / 9, 12);
    expect(board.rows[1]!.final).toBeCloseTo(2 / 9, 12);
    expect(board.rows[2]!.final).toBeCloseTo(2 / 9, 12);
    expect(board.rows.map((r) => [r.team, r.submission, r.of, r.reproduction.state])).toEqual([
      ['beta', 'v2', 'beta.v2', 'NotReproduced'],
      ['alpha', 'v1', 'alpha.v1', 'not-selected'],
      ['gamma', 'v1', 'gamma.v1', 'pending'],
    ]);
    expect(board.rows[0]!.reproduction.reason).toBe(beta.reason);
    expect(board.dropped).toEqual([]);
    const text = finalBoardTable(board);
    expect(text).toMatch(/NotReproduced: final score 0\.200 reproduced vs 0\.556/);
    expect(text).toMatch(/stays, marked NotReproduced/);
    expect(text.split('\n').find((l) => l.startsWith('2 '))).toMatch(/alpha\s+v1\s+completed.*—$/);
  });

  it('drops a NotReproduced team and scores the field again without it (drop)', () => {
    const board = buildFinalBoard({ track: 'cpu', rules, submissions, scores: allScores, reproductions: [beta, gammaPending], onFailure: 'drop' });
    // N = 2 without beta. open: alpha 1/2, gamma 0; closed: gamma 1/2, alpha 0 → gamma 2/3·1/2 = 1/3, alpha 1/3·1/2 = 1/6.
    expect(board.rows.map((r) => r.submissionId)).toEqual(['gamma.v1.final', 'alpha.v1.final']);
    expect(board.rows.map((r) => r.rank)).toEqual([1, 2]);
    expect(board.rows[0]!.final).toBeCloseTo(1 / 3, 12);
    expect(board.rows[0]!.open).toBe(Number.MIN_VALUE);
    expect(board.rows[0]!.closed).toBeCloseTo(1 / 2, 12);
    expect(board.rows[1]!.final).toBeCloseTo(1 / 6, 12);
    expect(board.rows[1]!.open).toBeCloseTo(1 / 2, 12);
    expect(board.rows[0]!.scenarioMeanWinRates.closed!.sum).toBeCloseTo(1 / 2, 12);
    expect(board.dropped).toEqual([{ submissionId: 'beta.v2.final', of: 'beta.v2', team: 'beta', reason: beta.reason }]);
    const text = finalBoardTable(board);
    expect(text).toMatch(/dropped \(NotReproduced\): beta beta\.v2 — final score 0\.200/);
    expect(text).not.toMatch(/^1\s+beta/m);
    const csv = finalBoardCsv(board).split('\n');
    expect(csv[0]).toBe('rank,team,submission,final_run,outcome,failure_category,qa - EM,sum - ROUGE-2,open,closed,final,reproduction,reproduction_reason');
    expect(csv[1]).toMatch(/^1,gamma,gamma\.v1,gamma\.v1\.final,completed,,0\.1,0\.5,/);
    expect(csv[3]).toMatch(/^dropped,beta,beta\.v2,beta\.v2\.final,,NotReproduced,/);
  });

  it('keeps a Reproduced team in the field and a pending one unjudged', () => {
    const board = buildFinalBoard({ track: 'cpu', rules, submissions, scores: allScores, reproductions: [verdict('beta.v2', 'Reproduced', 'within'), gammaPending], onFailure: 'drop' });
    expect(board.rows).toHaveLength(3);
    expect(board.rows[0]!.final).toBeCloseTo(5 / 9, 12);
    expect(board.rows.map((r) => reproductionLabel(r.reproduction))).toEqual(['Reproduced', '—', 'pending']);
  });

  it('the development board takes the development runs only', () => {
    expect(developmentRuns(submissions).map((s) => s.submissionId)).toEqual(['alpha.v1', 'beta.v2']);
  });
});

describe('a reproduction record', () => {
  it('reads the verdict, the final scores and the columns outside tolerance from the stage details', () => {
    const record = verdict('beta.v2', 'NotReproduced', 'differs');
    expect(record).toEqual({
      of: 'beta.v2',
      verdict: 'NotReproduced',
      reason: 'differs',
      finalSubmitted: 0.55,
      finalReproduced: 0.2,
      columnsCompared: 2,
      columnsOutside: [{ suite: 'closed', column: 'sum - ROUGE-2', submitted: 0.8, reproduced: 0.3 }],
    });
    const table = reproductionStatusTable([{ ...record, track: 'cpu', team: 'beta', runId: 'beta.v2.reproduction' }]);
    expect(table).toMatch(/cpu\s+beta\s+beta\.v2\s+NotReproduced\s+0\.5500\s+0\.2000\s+1 of 2: closed sum - ROUGE-2 0\.3000 vs 0\.8000\s+differs/);
  });

  it('keeps the outcome of a stage whose details do not parse, and is pending without a stage', () => {
    expect(reproductionRecordOf('a.b', { outcome: 'failed', failureCategory: 'NotReproduced', reason: 'training failed', details: { verdict: 'maybe' } })).toMatchObject({
      verdict: 'NotReproduced',
      reason: 'training failed',
      columnsCompared: 0,
    });
    expect(reproductionRecordOf('a.b', undefined).verdict).toBeNull();
    expect(reproductionStatusTable([{ ...reproductionRecordOf('a.b', undefined), track: 'cpu', team: 'a', runId: 'a.b.reproduction' }])).toMatch(/cpu\s+a\s+a\.b\s+pending\s+—\s+—/);
    expect(reproductionStatusTable([])).toMatch(/no reproduction has started/);
  });
});
