/**
 * The progress of a workflow's evaluation stages as their activities signal it (stageProgressSignal, issue 26):
 * answered of total, the probe's prediction, and the projected end made when each signal arrives. Kept for the
 * progress query, the Web UI's current details and the stage's record (details.prediction, details.progress).
 * Workflow-safe: state and pure computations only, no command.
 */
import { EVAL_STAGE, type StageName } from '../temporal.config.js';
import type { StageProgress } from '../contract/pipeline.js';
import type { SuiteKind } from '../domain/harness/suite.js';
import type { StageEta, StagePrediction } from '../domain/harness/projection.js';
import { describeEta, describePrediction, projectEta } from '../domain/harness/projection.js';

/** An evaluation stage's latest progress as its activity signalled it, with the projection made when it arrived. */
export interface KeptProgress {
  answered: number;
  total: number;
  /** the activity host's clock */
  at: number;
  /** the latest prediction any execution of the stage made (a handed-over stage keeps the first host's) */
  prediction: StagePrediction | null;
  eta: StageEta | null;
}

/**
 * The progress of a workflow's evaluation stages (stageProgressSignal), for the progress query, the Web UI's
 * current details and the stage record. The projection is made when a signal arrives, not in the query: a query
 * must not read the clock. Signals of a stage that is not running, or older than the kept one, are ignored.
 */
export class StageProgressBook {
  private readonly kept: Partial<Record<StageName, KeptProgress>> = {};

  constructor(
    private readonly options: {
      /** when each stage really started, on the activity host's clock (StageStarts) */
      starts: Partial<Record<StageName, { at: number }>>;
      limitMs: (stage: StageName) => number | null;
      isRunning: (stage: StageName) => boolean;
    },
  ) {}

  /** Keeps a signalled progress; returns what is kept now, or null when the signal was ignored. */
  receive(progress: StageProgress): KeptProgress | null {
    const before = this.kept[progress.stage];
    if (!this.options.isRunning(progress.stage) || (before && progress.at < before.at)) return null;
    const limitMs = this.options.limitMs(progress.stage);
    // The projection runs on the activity host's clock: the stage's start, the execution's start and the signal's `at`
    // are all from it. The limit runs from the stage's first start; the rate from this execution's (a resumed stage's
    // earlier answers and the time it lay still are no speed), or from the stage's start for a signal without one.
    const startedAt = this.options.starts[progress.stage]?.at ?? progress.at;
    const projecting = { answered: progress.answered, total: progress.total };
    const kept: KeptProgress = {
      answered: progress.answered,
      total: progress.total,
      at: progress.at,
      prediction: progress.prediction ?? before?.prediction ?? null,
      eta: limitMs === null ? null : orNull(() => projectEta(projecting, startedAt, progress.at, limitMs, { execution: progress.execution })),
    };
    this.kept[progress.stage] = kept;
    return kept;
  }

  of(stage: StageName): KeptProgress | null {
    return this.kept[stage] ?? null;
  }

  /**
   * What the stage record keeps of it (details.prediction, details.progress: the prediction-error report reads them);
   * `final` is the stage's own count when the activity returned one. Empty for a stage that signalled nothing.
   */
  recordDetails(stage: StageName, final?: { answered: number; total: number; prediction?: StagePrediction | null | undefined }): Record<string, unknown> {
    const kept = this.of(stage);
    const prediction = final?.prediction ?? kept?.prediction ?? null;
    const progress = final ? { answered: final.answered, total: final.total } : kept ? { answered: kept.answered, total: kept.total } : null;
    return progress === null && prediction === null ? {} : { prediction, progress };
  }

  /** Lines for the Web UI's current details: the prediction and the projection, as far as they are known. */
  describe(stage: StageName): string[] {
    const kept = this.of(stage);
    if (!kept) return [];
    const suite = (Object.keys(EVAL_STAGE) as SuiteKind[]).find((kind) => EVAL_STAGE[kind] === stage);
    const label = suite ? `${suite} suite` : stage;
    const lines: (string | null)[] = [
      kept.prediction ? orNull(() => describePrediction(label, kept.prediction!)) : null,
      kept.eta ? orNull(() => describeEta(kept.eta!)) : `${kept.answered}/${kept.total} answered`,
    ];
    return lines.filter((line): line is string => line !== null);
  }
}

/** A projection or a description that fails (bad input, a rule not yet written) shows nothing rather than failing the workflow task. */
function orNull<T>(compute: () => T): T | null {
  try {
    return compute();
  } catch {
    return null;
  }
}
