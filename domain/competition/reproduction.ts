/**
 * Whether a finalist's training reproduced: the scores of the run whose weights the platform trained from the team's
 * `Dockerfile.train` (the reproduction) against the scores of the final run of the image the team submitted.
 * Within the competition file's tolerances on the final score and on every scenario column → Reproduced; otherwise
 * NotReproduced with a reason that names what differed. Pure: the clock's activity gathers the figures.
 */
import type { SuiteKind } from '../harness/suite.js';
import type { Reproduction } from './schema.js';

export interface ColumnScore {
  suite: SuiteKind;
  column: string;
  score: number;
}

export interface TrainingOutcome {
  outcome: 'succeeded' | 'partial' | 'failed' | 'skipped';
  failureCategory: string | null;
  reason: string | null;
}

export interface ReproductionEvidence {
  submissionId: string;
  training: TrainingOutcome;
  submitted: { columns: ColumnScore[]; final: number | null };
  reproduced: { columns: ColumnScore[]; final: number | null };
  tolerance: Pick<Reproduction, 'finalTolerance' | 'scenarioTolerance'>;
}

export interface ColumnComparison extends ColumnScore {
  reproducedScore: number | null;
  difference: number | null;
  within: boolean;
}

export interface ReproductionVerdict {
  submissionId: string;
  verdict: 'Reproduced' | 'NotReproduced';
  reason: string;
  final: { submitted: number | null; reproduced: number | null; difference: number | null; within: boolean };
  columns: ColumnComparison[];
}

const fixed = (value: number | null): string => (value === null ? 'none' : value.toFixed(3));

export function judgeReproduction(evidence: ReproductionEvidence): ReproductionVerdict {
  const { finalTolerance, scenarioTolerance } = evidence.tolerance;
  const reproducedBy = new Map(evidence.reproduced.columns.map((c) => [`${c.suite}\u0000${c.column}`, c.score]));
  const columns: ColumnComparison[] = evidence.submitted.columns.map((c) => {
    const reproducedScore = reproducedBy.get(`${c.suite}\u0000${c.column}`) ?? null;
    const difference = reproducedScore === null ? null : reproducedScore - c.score;
    // A tiny slack for floating point: a tolerance of 0.05 admits a difference of exactly 0.05.
    return { ...c, reproducedScore, difference, within: difference !== null && Math.abs(difference) <= scenarioTolerance + 1e-12 };
  });
  const { final: submittedFinal } = evidence.submitted;
  const { final: reproducedFinal } = evidence.reproduced;
  const finalDifference = submittedFinal === null || reproducedFinal === null ? null : reproducedFinal - submittedFinal;
  const final = { submitted: submittedFinal, reproduced: reproducedFinal, difference: finalDifference, within: finalDifference !== null && Math.abs(finalDifference) <= finalTolerance + 1e-12 };

  const problems: string[] = [];
  const { training } = evidence;
  if (training.outcome === 'failed' || training.outcome === 'skipped') {
    problems.push(`training did not finish (${training.failureCategory ?? training.outcome}${training.reason ? `: ${training.reason}` : ''})`);
  } else if (training.failureCategory === 'TimeLimit') {
    problems.push(`training ran over its limit${training.reason ? ` (${training.reason})` : ''}`);
  }
  if (!final.within) problems.push(`final score ${fixed(reproducedFinal)} reproduced vs ${fixed(submittedFinal)} submitted (tolerance ${finalTolerance})`);
  const outside = columns.filter((c) => !c.within);
  if (outside.length > 0) {
    const shown = outside.slice(0, 5).map((c) => `${c.suite} ${c.column} ${fixed(c.reproducedScore)} vs ${fixed(c.score)}`);
    problems.push(`${outside.length} of ${columns.length} scenario columns outside ±${scenarioTolerance}: ${shown.join('; ')}${outside.length > 5 ? '; …' : ''}`);
  }
  if (problems.length === 0) {
    const widest = columns.reduce((max, c) => Math.max(max, Math.abs(c.difference ?? 0)), 0);
    return {
      submissionId: evidence.submissionId,
      verdict: 'Reproduced',
      reason: `final score ${fixed(reproducedFinal)} reproduced vs ${fixed(submittedFinal)} submitted; every scenario column within ±${scenarioTolerance} (largest difference ${widest.toFixed(3)})`,
      final,
      columns,
    };
  }
  return { submissionId: evidence.submissionId, verdict: 'NotReproduced', reason: problems.join('; '), final, columns };
}
