import { describe, expect, it } from '@jest/globals';
import {
  CHALLENGE_2023_FINAL_RULES,
  FixtureFormatError,
  ScoringRules,
  ScoringRulesError,
  defineScoringRules,
  parseFixture,
  parseFixtureJson,
  parseScoringRules,
  scoreCompetition,
} from '../../domain/scoring/index.js';

describe('CHALLENGE_2023_FINAL_RULES', () => {
  it('is valid, versioned and has the final-round layout of spec §1.2', () => {
    const r = CHALLENGE_2023_FINAL_RULES;
    expect(ScoringRules.safeParse(r).success).toBe(true);
    expect(r.version).toBe('neurips2023-final/1');
    expect(r.winRate).toBe('challenge-final-2023');
    expect(r.missingValues).toEqual({ higherIsBetter: 0, lowerIsBetter: 1000 });
    expect(r.stageAggregation.nonPositiveReplacement).toBe(5e-324);
    expect(r.stageWeights).toEqual({ open: 1 / 3, closed: 2 / 3 });
    const open = r.stages.find((s) => s.name === 'open');
    const closed = r.stages.find((s) => s.name === 'closed');
    expect(open?.scenarios.map((s) => [s.name, s.columns.length])).toEqual([
      ['MMLU', 3],
      ['TruthfulQA', 3],
      ['BIG-bench', 1],
      ['GSM8K', 1],
      ['BBQ', 1],
    ]);
    expect(closed?.scenarios.map((s) => [s.name, s.columns.length])).toEqual([
      ['sam_sum', 5],
      ['corr2cause', 1],
      ['MATH', 1],
      ['ethics', 15],
    ]);
    const samSum = closed?.scenarios[0]?.columns ?? [];
    expect(samSum.filter((c) => c.lowerIsBetter).map((c) => c.name)).toEqual([
      'sam_sum - Stereotypes (race)',
      'sam_sum - Stereotypes (gender)',
      'sam_sum - Representation (race)',
      'sam_sum - Representation (gender)',
    ]);
    expect(r.stages.flatMap((s) => s.scenarios.flatMap((c) => c.columns)).filter((c) => c.lowerIsBetter)).toHaveLength(4);
    expect(Object.isFrozen(r)).toBe(true);
    expect(Object.isFrozen(r.stages[0]?.scenarios[0]?.columns)).toBe(true);
  });
  it('round-trips through JSON', () => {
    expect(parseScoringRules(JSON.parse(JSON.stringify(CHALLENGE_2023_FINAL_RULES)))).toEqual(CHALLENGE_2023_FINAL_RULES);
  });
});

const LOCAL = {
  version: 'local-suites/1',
  winRate: 'challenge-final-2023',
  missingValues: { higherIsBetter: 0, lowerIsBetter: 1000 },
  scenarioAggregation: 'statistics-mean',
  stageAggregation: { method: 'geometric-mean', nonPositiveReplacement: 5e-324 },
  stages: [{ name: 'open', scenarios: [{ name: 'opposites', columns: [{ name: 'opposites - EM', lowerIsBetter: false }] }] }],
  stageWeights: { open: 1 },
};

describe('ScoringRules schema', () => {
  it('accepts generic rules for the project’s own suites and scores with them', () => {
    const rules = defineScoringRules(LOCAL);
    const result = scoreCompetition({
      rules,
      stages: {
        open: [
          { submissionId: 'a', metrics: { 'opposites - EM': 0.9 } },
          { submissionId: 'b', metrics: { 'opposites - EM': 0.4 } },
        ],
      },
    });
    expect(result.rulesVersion).toBe('local-suites/1');
    expect(result.submissions.map((s) => [s.submissionId, s.scenarioMeanWinRates['open']?.['opposites']])).toEqual([
      ['a', 0.5],
      ['b', 0],
    ]);
    expect(result.submissions[0]?.final).toBe(0.5);
    expect(result.submissions[1]?.final).toBe(5e-324);
  });
  it('rejects duplicate names, weight mismatches and unknown rules, naming the path', () => {
    const bad = {
      ...LOCAL,
      winRate: 'borda',
      stages: [
        {
          name: 'open',
          scenarios: [
            { name: 'x', columns: [{ name: 'c', lowerIsBetter: false }, { name: 'c', lowerIsBetter: true }] },
            { name: 'x', columns: [{ name: 'd', lowerIsBetter: false }] },
          ],
        },
      ],
      stageWeights: { open: 1, closed: 2 },
    };
    let caught: unknown;
    try {
      parseScoringRules(bad);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(ScoringRulesError);
    const issues = caught instanceof ScoringRulesError ? caught.issues.join('\n') : '';
    expect(issues).toContain('.winRate');
    const noEnum = parseScoringRules.bind(null, { ...bad, winRate: 'helm-head' });
    expect(noEnum).toThrow('duplicate column "c"');
    expect(noEnum).toThrow('duplicate scenario name "x"');
    expect(noEnum).toThrow('weight for unknown stage "closed"');
    expect(() => parseScoringRules({ ...LOCAL, stageWeights: {} })).toThrow('missing weight for stage "open"');
    expect(() => parseScoringRules({ ...LOCAL, stageAggregation: { method: 'geometric-mean', nonPositiveReplacement: 0 } })).toThrow(
      '.stageAggregation.nonPositiveReplacement',
    );
  });
  it('scoreCompetition rejects stages the rules do not define', () => {
    expect(() => scoreCompetition({ rules: defineScoringRules(LOCAL), stages: { closed: [] } })).toThrow('stage "closed" is not defined');
  });
});

describe('fixture parser', () => {
  it('names the row index, id and column of a bad cell', () => {
    const bad = [
      ['ok', { 'MMLU - EM': 0.5 }],
      ['sub-b', { 'MMLU - EM': '0.5' }],
    ];
    expect(() => parseFixture(bad)).toThrow(FixtureFormatError);
    expect(() => parseFixture(bad)).toThrow('row 1 ("sub-b"), column "MMLU - EM"');
  });
  it('rejects bad shapes, duplicate ids and bad JSON', () => {
    expect(() => parseFixture({})).toThrow(FixtureFormatError);
    expect(() => parseFixture([['x']])).toThrow('row 0');
    expect(() => parseFixture([[3, {}]])).toThrow('row 0, submission id');
    expect(() => parseFixture([['a', {}], ['a', {}]])).toThrow('row 1 ("a"): duplicate submission id (first at row 0)');
    expect(() => parseFixtureJson('[1,')).toThrow('fixture is not valid JSON');
  });
  it('maps <id>_hidden rows to the closed stage of <id>, and gives the same result as a combined row', () => {
    const openCols = { 'MMLU - EM': 0.6, 'GSM8K - EM': 0.3 };
    const closedCols = { 'corr2cause - EM': 0.5, 'sam_sum - Stereotypes (race)': null };
    const separate = parseFixture([
      ['a', { ...openCols, Score: 0.1 }],
      ['b', { 'MMLU - EM': 0.7 }],
      ['a_hidden', { ...closedCols, 'corr2cause Mean Win Rate': 0.5, Score: 0.2 }],
      ['c_hidden', { 'corr2cause - EM': 0.9 }],
    ]);
    expect(separate.submissionIds).toEqual(['a', 'b', 'c']);
    expect(separate.stages['open']?.map((r) => r.submissionId)).toEqual(['a', 'b']);
    expect(separate.stages['closed']?.map((r) => r.submissionId)).toEqual(['a', 'c']);
    expect(separate.stages['closed']?.[0]?.metrics).toEqual(closedCols);
    expect(separate.published[0]).toEqual({
      submissionId: 'a',
      scenarioMeanWinRates: { open: {}, closed: { corr2cause: 0.5 } },
      stageScores: { open: 0.1, closed: 0.2 },
      final: null,
    });
    const combined = parseFixture([
      ['a', { ...openCols, ...closedCols, Score_open: 0.1, Score_hidden: 0.2, Score_full: 0.3 }],
      ['b', { 'MMLU - EM': 0.7 }],
      ['c_hidden', { 'corr2cause - EM': 0.9 }],
    ]);
    expect(combined.stages['closed']?.map((r) => r.submissionId)).toEqual(['a', 'c']);
    expect(combined.published[0]?.final).toBe(0.3);
    const r1 = scoreCompetition({ rules: CHALLENGE_2023_FINAL_RULES, stages: separate.stages });
    const r2 = scoreCompetition({ rules: CHALLENGE_2023_FINAL_RULES, stages: combined.stages });
    expect(r1).toEqual(r2);
    expect(r1.submissions.find((s) => s.submissionId === 'c')?.missingStages).toEqual(['open']);
  });
});
