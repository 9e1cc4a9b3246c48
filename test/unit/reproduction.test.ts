/**
 * The reproduction verdict: within both tolerances → Reproduced, with the largest difference named; a final score or
 * a scenario column outside → NotReproduced naming the figures; failed or over-limit training is named first.
 */
import { describe, expect, it } from '@jest/globals';
import { judgeReproduction, type ColumnScore, type ReproductionEvidence } from '../../domain/competition/reproduction.js';

const columns = (mmlu: number, gsm: number, corr: number): ColumnScore[] => [
  { suite: 'open', column: 'MMLU - EM', score: mmlu },
  { suite: 'open', column: 'GSM8K - EM', score: gsm },
  { suite: 'closed', column: 'corr2cause - EM', score: corr },
];

const TRAINED: ReproductionEvidence['training'] = { outcome: 'succeeded', failureCategory: null, reason: null };
const evidence = (reproduced: ColumnScore[], finals: [number | null, number | null], training = TRAINED): ReproductionEvidence => ({
  submissionId: 'team-a.model',
  training,
  submitted: { columns: columns(0.45, 0.2, 0.6), final: finals[0] },
  reproduced: { columns: reproduced, final: finals[1] },
  tolerance: { finalTolerance: 0.05, scenarioTolerance: 0.1 },
});

describe('judgeReproduction', () => {
  it('within tolerance (a difference exactly at the tolerance included) is Reproduced', () => {
    const verdict = judgeReproduction(evidence(columns(0.35, 0.25, 0.6), [0.63, 0.58]));
    expect(verdict.verdict).toBe('Reproduced');
    expect(verdict.final).toEqual({ submitted: 0.63, reproduced: 0.58, difference: expect.closeTo(-0.05, 12), within: true });
    expect(verdict.columns.map((c) => c.within)).toEqual([true, true, true]);
    expect(verdict.reason).toBe('final score 0.580 reproduced vs 0.630 submitted; every scenario column within ±0.1 (largest difference 0.100)');
  });

  it('a final score outside its tolerance is NotReproduced with both scores', () => {
    const verdict = judgeReproduction(evidence(columns(0.45, 0.2, 0.6), [0.63, 0.41]));
    expect(verdict.verdict).toBe('NotReproduced');
    expect(verdict.reason).toBe('final score 0.410 reproduced vs 0.630 submitted (tolerance 0.05)');
  });

  it('the scenario columns outside their tolerance are named, and a column the reproduction lacks counts as outside', () => {
    const verdict = judgeReproduction(evidence([{ suite: 'open', column: 'MMLU - EM', score: 0.2 }, { suite: 'open', column: 'GSM8K - EM', score: 0.21 }], [0.63, 0.62]));
    expect(verdict.verdict).toBe('NotReproduced');
    expect(verdict.reason).toBe('2 of 3 scenario columns outside ±0.1: open MMLU - EM 0.200 vs 0.450; closed corr2cause - EM none vs 0.600');
    expect(verdict.columns[2]).toMatchObject({ reproducedScore: null, difference: null, within: false });
  });

  it('training that failed or ran over its limit is named before the scores', () => {
    const failed = judgeReproduction(evidence([], [0.63, null], { outcome: 'failed', failureCategory: 'OutOfMemory', reason: 'CUDA out of memory' }));
    expect(failed.reason).toMatch(/^training did not finish \(OutOfMemory: CUDA out of memory\); final score none reproduced vs 0\.630 submitted/);
    const over = judgeReproduction(evidence(columns(0.45, 0.2, 0.6), [0.63, 0.63], { outcome: 'partial', failureCategory: 'TimeLimit', reason: 'training reached its limit of 24h' }));
    expect(over.verdict).toBe('NotReproduced');
    expect(over.reason).toBe('training ran over its limit (training reached its limit of 24h)');
  });
});
