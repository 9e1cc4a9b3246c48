/**
 * An evaluation stage's progress and prediction as people read them (issue 26): answered of total, the rate, the
 * projected end against the limit with a warning when it passes it, and the throughput probe's prediction line.
 * One view and one set of lines for every place that shows it: `challenge status` (operations/pipelines.ts),
 * the operator's and the team's pages and the team API (web/data.ts, web/team-data.ts), `challenge remote status`.
 *
 * The view comes from one of two sources: the workflow's live state of a running stage (prediction and eta, from
 * the progress query) or what the stage recorded when it ended (details.prediction and details.progress). Only
 * numbers are in it (no text of the suite), so the public and the teams may see it for every stage.
 * Pure; no I/O. The sentences of the prediction and the running projection are domain/harness/throughput.ts's.
 */
import { describeEta, describePrediction, groupDigits, type StageEta, type StagePrediction } from '../harness/throughput.js';
import { formatSpan } from '../units.js';
import { answeredShareAtLimit } from '../harness/projection.js';
import { storedPredictionOf, storedProgressOf } from './prediction-errors.js';

export interface StageProgressView {
  /** from the running workflow (true) or from the stage's record once it ended (false) */
  running: boolean;
  answered: number | null;
  total: number | null;
  /** items per minute: over the stage so far while it runs, over the whole stage once it ended */
  perMinute: number | null;
  /** ISO instants; null until the rate is known, or once the stage ended */
  projectedEndAt: string | null;
  limitAt: string | null;
  /** the running projection passes the stage's limit */
  pastLimit: boolean;
  /** when pastLimit: the share of the items answered by the limit at this rate */
  answeredShareAtLimit: number | null;
  prediction: StagePrediction | null;
  /** what the CLI prints and the pages show, in order */
  lines: string[];
}

/** A stage as the workflow's progress query gives it (contract/pipeline.ts StageState has this shape). */
export interface LiveStage {
  stage: string;
  outcome: string;
  startedAt: number | null;
  endedAt: number | null;
  limitMs: number | null;
  prediction?: StagePrediction | null;
  eta?: StageEta | null;
}

/** A stage as the results store recorded it (infra/results-store.ts StageRecord has this shape). */
export interface RecordedStage {
  stage: string;
  startedAt: string | null;
  endedAt: string | null;
  details: Record<string, unknown> | null;
}

export const formatRate = (perMinute: number): string => `${perMinute >= 100 ? groupDigits(Math.round(perMinute)) : perMinute.toFixed(1)}/min`;

/** What the probe's line calls a stage: "open suite" for open-eval, "closed suite" for closed-eval, else its name. */
export const suiteLabelOf = (stage: string): string => (stage === 'open-eval' ? 'open suite' : stage === 'closed-eval' ? 'closed suite' : stage);

const iso = (ms: number | null): string | null => (ms === null || !Number.isFinite(ms) ? null : new Date(ms).toISOString());

/**
 * The share answered by the limit when the rate so far holds (projection.ts answeredShareAtLimit: what is answered
 * plus the rate times what is left of the limit, so a resumed stage's earlier answers are not taken for speed).
 */
const shareAtLimit = (eta: StageEta): number | null => (eta.pastLimit && eta.projectedEndAt !== null ? answeredShareAtLimit(eta) : null);

function predictionLine(stage: string, prediction: StagePrediction | null): string[] {
  return prediction ? [`probe: ${describePrediction(suiteLabelOf(stage), prediction)}`] : [];
}

/**
 * A stage's view from the workflow's state: while it runs, the projection (with the warning when it passes the limit)
 * and the probe's line; once it ended, what it answered and the probe's line. Null when it has neither a
 * projection nor a prediction (not an evaluation stage, or no answer yet).
 */
export function liveProgressView(stage: LiveStage): StageProgressView | null {
  const eta = stage.eta ?? null;
  const prediction = stage.prediction ?? null;
  if (!eta && !prediction) return null;
  if (stage.outcome !== 'running') {
    return endedView(stage.stage, eta, prediction, stage.startedAt !== null && stage.endedAt !== null ? stage.endedAt - stage.startedAt : NaN);
  }
  const share = eta ? shareAtLimit(eta) : null;
  const lines: string[] = [];
  if (eta) {
    lines.push(describeEta(eta));
    if (eta.pastLimit && eta.projectedEndAt !== null) {
      lines.push(
        `warning: at ${formatRate(eta.perMinute)} the stage would end ${formatSpan(eta.projectedEndAt - eta.limitAt)} after its limit; ` +
          'it is stopped at the limit and what is not answered by then scores zero',
      );
    }
  }
  lines.push(...predictionLine(stage.stage, prediction));
  return {
    running: true,
    answered: eta?.answered ?? null,
    total: eta?.total ?? prediction?.total ?? null,
    perMinute: eta?.perMinute ?? null,
    projectedEndAt: iso(eta?.projectedEndAt ?? null),
    limitAt: iso(eta?.limitAt ?? null),
    pastLimit: eta?.pastLimit ?? false,
    answeredShareAtLimit: share,
    prediction,
    lines,
  };
}

/** An ended stage: answered/total in its wall time at its mean rate, and the probe's line. */
function endedView(stage: string, progress: { answered: number; total: number } | null, prediction: StagePrediction | null, elapsed: number): StageProgressView {
  const perMinute = progress && Number.isFinite(elapsed) && elapsed > 0 ? (progress.answered / elapsed) * 60_000 : null;
  const lines: string[] = [];
  if (progress) {
    lines.push(
      `answered ${groupDigits(progress.answered)}/${groupDigits(progress.total)}` +
        `${Number.isFinite(elapsed) && elapsed >= 0 ? ` in ${formatSpan(elapsed)}` : ''}${perMinute === null ? '' : ` (${formatRate(perMinute)})`}`,
    );
  }
  lines.push(...predictionLine(stage, prediction));
  return {
    running: false,
    answered: progress?.answered ?? null,
    total: progress?.total ?? prediction?.total ?? null,
    perMinute,
    projectedEndAt: null,
    limitAt: null,
    pastLimit: false,
    answeredShareAtLimit: null,
    prediction,
    lines,
  };
}

/** An ended stage's view from its record (details.prediction, details.progress); null when it recorded neither. */
export function recordedProgressView(record: RecordedStage): StageProgressView | null {
  const prediction = storedPredictionOf(record.details);
  const progress = storedProgressOf(record.details);
  if (!prediction && !progress) return null;
  const elapsed = record.startedAt && record.endedAt ? Date.parse(record.endedAt) - Date.parse(record.startedAt) : NaN;
  return endedView(record.stage, progress, prediction, elapsed);
}
