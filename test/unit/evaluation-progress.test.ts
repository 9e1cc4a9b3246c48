/**
 * An evaluation's progress from the activity to the workflow (issue 26): the activity's throttled reporter
 * (activities/host/evaluation-progress.ts) and the workflow's book of it (workflows/stage-progress.ts: what the
 * progress query, the Web UI's details and the stage record get). Plain objects and a hand-moved clock; the book
 * runs outside a workflow here (it issues no command).
 */
import { describe, expect, it } from '@jest/globals';
import { StageProgressReporter } from '../../activities/host/evaluation-progress.js';
import { StageProgressBook } from '../../workflows/stage-progress.js';
import * as projection from '../../domain/harness/projection.js';
import type { StageProgress } from '../../contract/pipeline.js';
import type { StageName } from '../../temporal.config.js';
import type { StagePrediction } from '../../domain/harness/throughput.js';

const prediction = (estimateMs: number, overrides: Partial<StagePrediction> = {}): StagePrediction => ({
  total: 200,
  estimateMs,
  lowMs: estimateMs * 0.9,
  highMs: estimateMs * 1.1,
  limitMs: 600_000,
  fits: estimateMs * 1.1 <= 600_000,
  answeredShareAtLimit: Math.min(1, 600_000 / estimateMs),
  sample: 20,
  concurrency: 4,
  ...overrides,
});

function reporter(options: { everyMs?: number; fail?: (progress: StageProgress) => boolean } = {}) {
  let now = 1_000_000;
  const sent: StageProgress[] = [];
  const errors: unknown[] = [];
  const progress = new StageProgressReporter({
    stage: 'open-eval',
    now: () => now,
    ...(options.everyMs ? { everyMs: options.everyMs } : {}),
    send: async (p) => {
      await Promise.resolve();
      if (options.fail?.(p)) throw new Error(`signal of ${p.answered} lost`);
      sent.push(p);
    },
    onError: (error) => errors.push(error),
  });
  return { progress, sent, errors, advance: (ms: number) => (now += ms), now: () => now };
}

describe('StageProgressReporter: what the activity signals', () => {
  it('signals the first count at once, then at most every 5 s, and the last count on flush', async () => {
    const r = reporter();
    r.progress.update({ answered: 1, total: 200 });
    for (let answered = 2; answered <= 30; answered++) {
      r.advance(400); // an answer every 0.4 s: 12 s in all
      r.progress.update({ answered, total: 200 });
    }
    await r.progress.flush();
    // 1 at t=0, then the first answer 5 s or more after the last signal (14 at 5.2 s, 27 at 10.4 s), then the last count.
    expect(r.sent.map((p) => p.answered)).toEqual([1, 14, 27, 30]);
    expect(r.sent.every((p) => p.stage === 'open-eval' && p.total === 200 && p.prediction === null)).toBe(true);
    expect(r.sent.map((p) => p.at - r.sent[0]!.at)).toEqual([0, 5_200, 10_400, 11_600]);
  });

  it('signals a prediction at once and carries it on every later signal', async () => {
    const r = reporter();
    r.progress.update({ answered: 5, total: 200 });
    r.advance(1_000);
    r.progress.update({ answered: 8, total: 200 });
    const made = prediction(300_000);
    r.progress.predicted(made);
    expect(r.progress.prediction).toBe(made);
    r.advance(6_000);
    r.progress.update({ answered: 20, total: 200 });
    await r.progress.flush();
    expect(r.sent.map((p) => [p.answered, p.prediction])).toEqual([
      [5, null],
      [8, made],
      [20, made],
    ]);
  });

  it('sends nothing on flush when the last signal told it already, and waits for every send', async () => {
    const r = reporter();
    r.progress.update({ answered: 3, total: 10 });
    await r.progress.flush();
    await r.progress.flush();
    expect(r.sent).toHaveLength(1);
  });

  it("carries the execution's start of asking and the answers it found in every signal once it began, the first start kept", async () => {
    const r = reporter();
    r.progress.update({ answered: 0, total: 200 }); // before the execution began asking (nothing resumed known yet)
    r.advance(1_000);
    const beganAt = r.now();
    r.progress.beganAsking(120); // a resumed stage: 120 answers in the store already
    expect(r.progress.execution).toEqual({ startedAt: beganAt, answeredAtStart: 120 });
    r.advance(5_000);
    r.progress.update({ answered: 130, total: 200 });
    r.progress.predicted(prediction(300_000));
    r.advance(2_000);
    r.progress.beganAsking(130); // a server restarted within the same execution: the execution is the same
    r.progress.update({ answered: 135, total: 200 });
    await r.progress.flush();
    expect(r.sent.map((p) => [p.answered, p.execution])).toEqual([
      [0, undefined],
      [130, { startedAt: beganAt, answeredAtStart: 120 }],
      [130, { startedAt: beganAt, answeredAtStart: 120 }],
      [135, { startedAt: beganAt, answeredAtStart: 120 }],
    ]);
    expect('execution' in r.sent[0]!).toBe(false); // a signal without one reads as the recorded histories' signals
  });

  it('goes on after a signal that could not be sent, reporting it', async () => {
    const r = reporter({ fail: (p) => p.answered === 1 });
    r.progress.update({ answered: 1, total: 10 });
    r.advance(5_000);
    r.progress.update({ answered: 2, total: 10 });
    await r.progress.flush();
    expect(r.sent.map((p) => p.answered)).toEqual([2]);
    expect(r.errors.map(String)).toEqual(['Error: signal of 1 lost']);
  });
});

function book(running: StageName[] = ['open-eval']) {
  const starts: Partial<Record<StageName, { at: number }>> = { 'open-eval': { at: 10_000 } };
  const limits: Partial<Record<StageName, number>> = { 'open-eval': 600_000, 'closed-eval': 900_000 };
  const isRunning = new Set(running);
  return new StageProgressBook({ starts, limitMs: (stage) => limits[stage] ?? null, isRunning: (stage) => isRunning.has(stage) });
}
const signal = (answered: number, at: number, made: StagePrediction | null = null, stage: StageName = 'open-eval'): StageProgress => ({ stage, answered, total: 200, at, prediction: made });

describe('StageProgressBook: what the workflow keeps', () => {
  it('projects the end when a signal arrives, on the clock of the host that sent it', () => {
    const b = book();
    const kept = b.receive(signal(50, 70_000));
    // 50 in the minute since the stage's start: 150 left take 3 more minutes; the limit is 10 min after the start.
    expect(kept?.eta).toEqual({ answered: 50, total: 200, perMinute: 50, projectedEndAt: 250_000, limitAt: 610_000, pastLimit: false });
    expect(b.of('open-eval')).toBe(kept);
    expect(b.describe('open-eval')).toEqual([projection.describeEta(kept!.eta!)]);
  });

  it("projects a resumed stage's rate from its execution's own answers, the limit from the stage's first start", () => {
    const b = book();
    b.receive(signal(100, 130_000)); // the first execution: 100 in the 2 min since the start (10 s), then a crash
    // The retried execution begins asking at 400 s with the 100 answers in the store, and has 110 five seconds later.
    const execution = { startedAt: 400_000, answeredAtStart: 100 };
    const kept = b.receive({ ...signal(110, 405_000), execution });
    // 10 per 5 s = 120/min: the 90 left take 45 s; the limit is still 10 min after the stage's start.
    expect(kept?.eta).toEqual({ answered: 110, total: 200, perMinute: 120, projectedEndAt: 450_000, limitAt: 610_000, pastLimit: false });
    // The same count without the execution (a signal of a recorded history) is projected over the stage's 395 s.
    const old = book().receive(signal(110, 405_000));
    expect(old?.eta?.perMinute).toBeCloseTo((110 / 395_000) * 60_000, 10);
    expect(old?.eta?.pastLimit).toBe(true);
  });

  it('keeps the last prediction when later signals carry none (a handed-over stage), and ignores stale and foreign signals', () => {
    const b = book();
    const made = prediction(700_000, { fits: false, answeredShareAtLimit: 600 / 700 });
    b.receive(signal(10, 20_000, made));
    expect(b.receive(signal(40, 40_000, null))?.prediction).toBe(made);
    expect(b.receive(signal(30, 30_000, null))).toBeNull(); // older than the kept one
    expect(b.receive(signal(5, 50_000, null, 'closed-eval'))).toBeNull(); // not running
    expect(b.of('open-eval')?.answered).toBe(40);
    expect(b.of('closed-eval')).toBeNull();
    const lines = b.describe('open-eval');
    expect(lines[0]).toBe(projection.describePrediction('open suite', made));
    expect(lines[0]).toMatch(/^open suite: 200 items in .*about 85% would be answered$/);
  });

  it('gives the stage record the prediction and the final count, or what it kept, or nothing', () => {
    const b = book();
    expect(b.recordDetails('open-eval')).toEqual({});
    const made = prediction(120_000);
    b.receive(signal(60, 30_000, made));
    expect(b.recordDetails('open-eval')).toEqual({ prediction: made, progress: { answered: 60, total: 200 } });
    expect(b.recordDetails('open-eval', { answered: 200, total: 200 })).toEqual({ prediction: made, progress: { answered: 200, total: 200 } });
    const fromResult = prediction(90_000);
    expect(b.recordDetails('open-eval', { answered: 200, total: 200, prediction: fromResult })).toEqual({ prediction: fromResult, progress: { answered: 200, total: 200 } });
    expect(book().recordDetails('closed-eval', { answered: 3, total: 9 })).toEqual({ prediction: null, progress: { answered: 3, total: 9 } });
  });
});
