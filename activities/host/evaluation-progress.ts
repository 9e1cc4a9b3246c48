/**
 * An evaluation's progress as the workflow hears it (stageProgressSignal): answered of total at most every
 * `everyMs` (the harness reports every answer; a signal per answer would flood the workflow's history), the
 * probe's prediction at once when it is made, and the last state on `flush` at the end. Once the execution began
 * asking (`beganAsking`), every signal carries its start and the answers the store held then, so the workflow's
 * projection counts a resumed stage's rate from this execution's own answers. Sends run one at a time,
 * in order; one that fails is reported to `onError` and the next goes on. The clock and the sender are given,
 * so the throttle is tested without Temporal (test/unit/evaluation-progress.test.ts).
 */
import type { StageName } from '../../temporal.config.js';
import type { StageProgress } from '../../contract/pipeline.js';
import type { StagePrediction } from '../../domain/harness/throughput.js';
import type { ExecutionStart } from '../../domain/harness/projection.js';

/** The most often an evaluation signals its progress (issue 26: the projection, not every answer). */
export const PROGRESS_SIGNAL_EVERY_MS = 5_000;

export interface ProgressReporterOptions {
  stage: StageName;
  send: (progress: StageProgress) => Promise<void>;
  now?: () => number;
  everyMs?: number;
  onError?: (error: unknown) => void;
}

export class StageProgressReporter {
  private answered = 0;
  private total = 0;
  private current: StagePrediction | null = null;
  private began: ExecutionStart | null = null;
  /** answered/total/prediction/execution of the last send, to skip a flush that tells nothing new */
  private lastSent: string | null = null;
  private lastSentAt = Number.NEGATIVE_INFINITY;
  private sending: Promise<void> = Promise.resolve();

  constructor(private readonly options: ProgressReporterOptions) {}

  get prediction(): StagePrediction | null {
    return this.current;
  }

  /** This execution's start of asking, once known (`beganAsking`). */
  get execution(): ExecutionStart | null {
    return this.began;
  }

  /**
   * This execution begins asking, the store holding `answeredAtStart` answers already (a resumed stage's earlier
   * ones). The first call counts: a server restarted within the execution goes on with the same execution.
   */
  beganAsking(answeredAtStart: number): void {
    this.began ??= { startedAt: this.now(), answeredAtStart };
  }

  /** A new count from the harness; signalled when the last signal is at least `everyMs` old. */
  update(progress: { answered: number; total: number }): void {
    this.answered = progress.answered;
    this.total = progress.total;
    if (this.now() - this.lastSentAt >= (this.options.everyMs ?? PROGRESS_SIGNAL_EVERY_MS)) this.sendNow();
  }

  /** The probe's prediction: signalled at once, and carried by every later signal. */
  predicted(prediction: StagePrediction): void {
    this.current = prediction;
    this.sendNow();
  }

  /** Sends the latest state unless it was the last one sent, and waits for every send so far. */
  async flush(): Promise<void> {
    if (this.fingerprint() !== this.lastSent) this.sendNow();
    await this.sending;
  }

  private sendNow(): void {
    const at = this.now();
    const progress: StageProgress = {
      stage: this.options.stage,
      answered: this.answered,
      total: this.total,
      at,
      prediction: this.current,
      ...(this.began ? { execution: this.began } : {}),
    };
    this.lastSent = this.fingerprint();
    this.lastSentAt = at;
    this.sending = this.sending.then(() => this.options.send(progress)).catch((error: unknown) => this.options.onError?.(error));
  }

  private fingerprint(): string {
    return JSON.stringify([this.answered, this.total, this.current, this.began]);
  }

  private now(): number {
    return (this.options.now ?? Date.now)();
  }
}
