/** Efficiency figures of one submission from what its stages recorded and its answers' latencies. */
import { EVAL_STAGES, TRACKS, type TrackId } from '../temporal.config.js';
import type { SuiteKind } from '../domain/harness/suite.js';
import { efficiencyFigures, type EfficiencyFigures } from '../domain/reports/efficiency.js';
import type { ResultsStore } from './results-store.js';

const numberOf = (value: unknown): number | null => (typeof value === 'number' && Number.isFinite(value) ? value : null);

export async function submissionEfficiency(db: ResultsStore, submissionId: string, track: string): Promise<EfficiencyFigures> {
  const stages = new Map((await db.stages(submissionId)).map((s) => [s.stage, s]));
  const fineTune = stages.get('fine-tune')?.details ?? null;
  const evals = EVAL_STAGES.map((s) => stages.get(s)?.details ?? null).filter((d): d is Record<string, unknown> => d !== null);
  const evalMs = evals.reduce((sum, d) => sum + (numberOf(d.durationMs) ?? 0), 0);
  const answered = evals.reduce((sum, d) => sum + (numberOf(d.answered) ?? 0), 0);
  const peaks = [numberOf(fineTune?.peakMemoryBytes), ...evals.map((d) => numberOf(d.peakMemoryBytes))].filter((v): v is number => v !== null);
  const latencies: number[] = [];
  // Tokens the model generated, as its server reported them (answers stored before that was kept have none).
  let completionTokens: number | null = null;
  for (const suite of ['open', 'closed'] as SuiteKind[]) {
    for (const answer of await db.answerStore(submissionId, suite).all()) {
      if (answer.completion === null) continue;
      latencies.push(answer.latencyMs);
      if (answer.completionTokens !== undefined && answer.completionTokens !== null) completionTokens = (completionTokens ?? 0) + answer.completionTokens;
    }
  }
  const trainingMs = numberOf(fineTune?.durationMs);
  return efficiencyFigures({
    training: trainingMs === null ? null : { wallTimeMs: trainingMs, gpus: TRACKS[track as TrackId]?.gpu ? 1 : 0 },
    evaluation: evals.length === 0 ? null : { wallTimeMs: evalMs, instances: answered, completionTokens },
    latenciesMs: latencies,
    peakMemoryBytes: peaks.length === 0 ? null : Math.max(...peaks),
  });
}
