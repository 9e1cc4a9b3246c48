/**
 * The throughput probe's measurement inside a running evaluation (evaluateSuite's `probe` option): the wall
 * time of every probe request, the time from the start until the last probe answer, and the mean number of
 * requests in flight while every worker had work (the effective concurrency predictStage divides by). Kept
 * apart from the evaluation loop so the loop only reports starts, ends and answers.
 */
import { answerKey } from './answers.js';
import type { ProbeMeasurement, ProbeSample } from './throughput.js';

export interface ProbeOption {
  sample: ProbeSample;
  /** Called once: when every probe item not answered before has an answer, or when the stage ends first (with at least one measured). */
  onMeasured: (measurement: ProbeMeasurement) => void;
  /** Ask the probe's items only (challenge check --serve), not the rest of the suite. */
  only?: boolean;
}

export class ProbeRun {
  private startedAt = performance.now();
  private lastChange = this.startedAt;
  private inFlight = 0;
  private busyMs = 0;
  /** Σ request_time the server reported for every answer (probe or not) within the window, and answers without one */
  private servedMs = 0;
  private unserved = 0;
  private countedMs = 0;
  /** a worker found no work left: from then on the in-flight count says nothing about the concurrency */
  private starved = false;
  private remaining: number;
  private fired = false;
  private readonly requests: ProbeMeasurement['requests'] = [];

  constructor(
    private readonly option: ProbeOption,
    answeredBefore: ReadonlySet<string>,
    private readonly concurrency: number,
  ) {
    this.remaining = [...option.sample.answerIds].filter((key) => !answeredBefore.has(key)).length;
  }

  /** The first request is about to leave: the probe's clock starts here, not at the run's set-up. */
  begin(): number {
    this.startedAt = this.lastChange = performance.now();
    return this.startedAt;
  }

  /** When the probe's clock started (performance.now()). */
  get startedAtMs(): number {
    return this.startedAt;
  }

  /** How many probe items this run still asks. */
  get toAsk(): number {
    return this.remaining;
  }

  isProbeItem(scenario: string, answerId: string): boolean {
    return this.option.sample.answerIds.has(answerKey(scenario, answerId));
  }

  requestStarted(): void {
    this.account();
    this.inFlight++;
  }

  requestEnded(): void {
    this.account();
    this.inFlight--;
  }

  workerStarved(): void {
    this.account();
    this.starved = true;
  }

  /** An item's answer was stored (answered or failed for good), after `wallMs` of asking; `serverMs`: its request_time, if answered. */
  answered(scenario: string, answerId: string, promptChars: number, wallMs: number, serverMs: number | null): void {
    if (this.fired) return;
    if (serverMs !== null && serverMs > 0) this.servedMs += serverMs;
    else this.unserved++;
    if (!this.isProbeItem(scenario, answerId)) return;
    this.requests.push({ scenario, promptChars, wallMs, serverMs });
    this.remaining--;
    if (this.remaining <= 0) this.fire();
  }

  /** The stage ended: report what was measured if the probe did not complete. */
  finish(): void {
    if (!this.fired && this.requests.length > 0) this.fire();
  }

  private account(): void {
    const now = performance.now();
    if (!this.starved) {
      this.busyMs += this.inFlight * (now - this.lastChange);
      this.countedMs += now - this.lastChange;
    }
    this.lastChange = now;
  }

  private fire(): void {
    this.fired = true;
    this.account();
    this.option.onMeasured({
      items: this.requests.length,
      wallMs: performance.now() - this.startedAt,
      concurrency: this.concurrency,
      requests: [...this.requests],
      ...(this.countedMs > 0 ? { inFlight: this.busyMs / this.countedMs } : {}),
      ...(this.unserved === 0 && this.servedMs > 0 ? { inService: this.servedMs / (performance.now() - this.startedAt) } : {}),
    });
  }
}
