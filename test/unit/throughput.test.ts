/**
 * The throughput probe's sample and prediction (domain/harness/throughput.ts) on synthetic measurements whose right
 * answer is known: a constant per-item time, an exact linear cost per request group, noise that must widen the
 * interval; the running projection and the lines people read.
 */
import { describe, expect, it } from '@jest/globals';
import path from 'node:path';
import { loadSuite, requestSettings, type Suite } from '../../domain/harness/suite.js';
import { answerKey } from '../../domain/harness/answers.js';
import { eachWorkItem, workItems as allItems, type WorkItem } from '../../domain/harness/work.js';
import {
  describeEta,
  describePrediction,
  predictStage,
  probeSample,
  projectEta,
  promptChars,
  type ProbeMeasurement,
  type ProbeSample,
  type StagePrediction,
} from '../../domain/harness/throughput.js';
import { answeredShareAtLimit } from '../../domain/harness/projection.js';
import { mulberry32 } from '../../domain/random.js';
import { PROJECT_ROOT } from '../../infra/paths.js';

/** A pass over a suite perturbs every instance (seconds for the 2,000-instance suite): once per suite here. */
const itemsOf = new Map<Suite, WorkItem[]>();
const workItems = (suite: Suite): WorkItem[] => itemsOf.get(suite) ?? itemsOf.set(suite, allItems(suite)).get(suite)!;
const suiteFile = (name: string) => loadSuite(path.join(PROJECT_ROOT, 'suites', name));
const openFull = suiteFile('neurips2023/open.json');
const openSmall = suiteFile('neurips2023/open-small.json');
const toyOpen = suiteFile('open.json');

/** A measurement of `sample` where each probe item took `wallOf(item)` ms, at `inFlight` requests in flight. */
function measure(suite: Suite, sample: ProbeSample, wallOf: (chars: number, scenario: string, index: number) => number, inFlight: number): ProbeMeasurement {
  const requests = workItems(suite)
    .filter((item) => sample.answerIds.has(answerKey(item.scenario.name, item.answerId)))
    .map((item, index) => ({ scenario: item.scenario.name, promptChars: promptChars(item), wallMs: wallOf(promptChars(item), item.scenario.name, index) }));
  const sum = requests.reduce((s, r) => s + r.wallMs, 0);
  return { items: requests.length, wallMs: sum / inFlight, concurrency: inFlight, requests, inFlight };
}

describe('probeSample', () => {
  it('the open suite: 80 items, every scenario, in proportion to its items, the same sample every time', () => {
    const sample = probeSample(openFull);
    expect(sample.items).toBe(80);
    expect(sample.answerIds.size).toBe(80);
    const perScenario = new Map<string, number>();
    for (const key of sample.answerIds) perScenario.set(key.split('/')[0]!, (perScenario.get(key.split('/')[0]!) ?? 0) + 1);
    expect([...perScenario.keys()].sort()).toEqual(openFull.scenarios.map((s) => s.name).sort());
    const items = workItems(openFull);
    const truthful = items.filter((i) => i.scenario.name === 'truthfulqa').length;
    // truthfulqa: 402 of 5,474 items → 5.9 of 80: 6; gsm8k 134 → 2.
    expect(perScenario.get('truthfulqa')).toBe(Math.round((80 * truthful) / items.length));
    expect(perScenario.get('gsm8k')).toBe(2);
    expect([...probeSample(openFull).answerIds]).toEqual([...sample.answerIds]);
  });

  it('spreads prompt lengths within a scenario: its picks sit at evenly spaced quantiles of the prompt size', () => {
    const sample = probeSample(openFull, { size: 400 });
    const truthful = workItems(openFull).filter((i) => i.scenario.name === 'truthfulqa');
    const sizes = truthful.map(promptChars).sort((a, b) => a - b);
    const picked = truthful.filter((i) => sample.answerIds.has(answerKey('truthfulqa', i.answerId))).map(promptChars).sort((a, b) => a - b);
    expect(picked.length).toBeGreaterThanOrEqual(20);
    const n = picked.length;
    picked.forEach((chars, k) => expect(chars).toBe(sizes[Math.floor(((k + 0.5) * sizes.length) / n)]));
    expect(picked[0]!).toBeLessThan(picked[n - 1]!);
  });

  it('a tiny suite is asked whole, and a size below the scenario count still takes one of each', () => {
    expect(probeSample(toyOpen).items).toBe(workItems(toyOpen).length);
    const one = probeSample(openSmall, { size: 10 });
    expect(one.items).toBe(openSmall.scenarios.length);
  });
});

describe('eachWorkItem with an order', () => {
  it('gives the chosen items first, in suite order, then the rest, each exactly once', () => {
    const sample = probeSample(openSmall);
    const ordered = [...eachWorkItem(openSmall, { first: sample.answerIds })].map((i) => answerKey(i.scenario.name, i.answerId));
    const plain = workItems(openSmall).map((i) => answerKey(i.scenario.name, i.answerId));
    expect(ordered.slice(0, sample.items).every((key) => sample.answerIds.has(key))).toBe(true);
    expect(ordered.slice(sample.items).some((key) => sample.answerIds.has(key))).toBe(false);
    expect([...ordered].sort()).toEqual([...plain].sort());
    expect(ordered.slice(0, sample.items)).toEqual(plain.filter((key) => sample.answerIds.has(key)));
  });
});

describe('predictStage', () => {
  it('constant 100 ms per item at concurrency 4 predicts total × 100 / 4 exactly, with no width', () => {
    const sample = probeSample(openFull);
    const total = workItems(openFull).length;
    const p = predictStage(measure(openFull, sample, () => 100, 4), openFull, { limitMs: 300 * 60_000 });
    expect(p).toMatchObject({ total, estimateMs: Math.round((total * 100) / 4), lowMs: Math.round((total * 100) / 4), highMs: Math.round((total * 100) / 4) });
    expect(p).toMatchObject({ fits: true, answeredShareAtLimit: 1, sample: 80, concurrency: 4 });
  });

  it('an exact linear cost per request group (generation costs more) is summed over the whole suite', () => {
    const cost = (chars: number, generation: boolean) => (generation ? 900 : 30) + 0.04 * chars;
    const generationOf = new Map(openSmall.scenarios.map((s) => [s.name, s.kind === 'generation']));
    const sample = probeSample(openSmall);
    const p = predictStage(measure(openSmall, sample, (chars, scenario) => cost(chars, generationOf.get(scenario) ?? false), 8), openSmall, { limitMs: 60_000 });
    const truth = workItems(openSmall).reduce((s, item) => s + cost(promptChars(item), item.scenario.kind === 'generation'), 0) / 8;
    expect(p.estimateMs).toBe(Math.round(truth));
    expect(requestSettings(openSmall.scenarios.find((s) => s.name === 'gsm8k')!).maxNewTokens).toBeGreaterThan(1);
  });

  it("with the server's request_time: Σ service over the suite ÷ requests in service, whatever the waits in the probe's walls", () => {
    const sample = probeSample(openSmall);
    const service = (chars: number, scenario: string) => (scenario === 'gsm8k' ? 500 : 20) + 0.01 * chars;
    const base = measure(openSmall, sample, (chars, scenario) => service(chars, scenario), 8);
    // Walls carry a wait of 3 × the service (a queue); the server reported the service alone, 3.5 requests at once.
    const m = { ...base, requests: base.requests.map((r) => ({ ...r, serverMs: r.wallMs, wallMs: 4 * r.wallMs + 7 })), inService: 3.5 };
    const truth = workItems(openSmall).reduce((s, item) => s + service(promptChars(item), item.scenario.name), 0) / 3.5;
    expect(predictStage(m, openSmall, { limitMs: 60_000 }).estimateMs).toBe(Math.round(truth));
    // One answer without a request_time: back to wall time ÷ requests in flight.
    const missing = { ...m, requests: m.requests.map((r, i) => (i === 0 ? { ...r, serverMs: null } : r)) };
    const walls = predictStage(missing, openSmall, { limitMs: 60_000 }).estimateMs;
    const wallTruth = workItems(openSmall).reduce((s, item) => s + 4 * service(promptChars(item), item.scenario.name) + 7, 0) / 8;
    expect(Math.abs(walls - wallTruth)).toBeLessThanOrEqual(1); // rounded to whole ms
  });

  it('noisier requests widen the interval around the same estimate', () => {
    const sample = probeSample(openFull);
    const noisy = (spread: number) => {
      const random = mulberry32(7);
      return predictStage(measure(openFull, sample, () => 200 * (1 + spread * (2 * random() - 1)), 8), openFull, { limitMs: 300 * 60_000 });
    };
    const quiet = noisy(0.05);
    const loud = noisy(0.6);
    const width = (p: StagePrediction) => p.highMs - p.lowMs;
    expect(width(quiet)).toBeGreaterThan(0);
    expect(width(loud)).toBeGreaterThan(4 * width(quiet));
    for (const p of [quiet, loud]) {
      expect(p.lowMs).toBeLessThanOrEqual(p.estimateMs);
      expect(p.highMs).toBeGreaterThanOrEqual(p.estimateMs);
      expect(Math.abs(p.estimateMs / ((workItems(openFull).length * 200) / 8) - 1)).toBeLessThan(0.15);
    }
  });

  it('a stage twice its limit: does not fit, about half answered; divides by the measured concurrency, not the setting', () => {
    const sample = probeSample(toyOpen);
    const total = workItems(toyOpen).length;
    const m = { ...measure(toyOpen, sample, () => 1000, 2), concurrency: 8 };
    const p = predictStage(m, toyOpen, { limitMs: (total * 1000) / 2 / 2 });
    expect(p).toMatchObject({ estimateMs: (total * 1000) / 2, fits: false, answeredShareAtLimit: 0.5, concurrency: 2 });
    expect(() => predictStage({ ...m, requests: [] }, toyOpen, { limitMs: 1 })).toThrow(/suite "toy-open"|measured no request/);
  });
});

describe('describePrediction', () => {
  const prediction = (over: Partial<StagePrediction>): StagePrediction => ({
    total: 2000,
    estimateMs: 212 * 60_000,
    lowMs: 190 * 60_000,
    highMs: 236 * 60_000,
    limitMs: 300 * 60_000,
    fits: true,
    answeredShareAtLimit: 1,
    sample: 80,
    concurrency: 8,
    ...over,
  });
  it('writes the fit, the shortfall, and seconds for short stages', () => {
    expect(describePrediction('open suite', prediction({}))).toBe('open suite: 2,000 items in ≈ 212 min (190–236), limit 5h: fits');
    expect(
      describePrediction('closed', prediction({ estimateMs: 740 * 60_000, lowMs: 700 * 60_000, highMs: 790 * 60_000, limitMs: 600 * 60_000, fits: false, answeredShareAtLimit: 600 / 740 })),
    ).toBe('closed: 2,000 items in ≈ 740 min (700–790), limit 10h: about 81% would be answered');
    expect(describePrediction('open', prediction({ highMs: 320 * 60_000, fits: false }))).toBe(
      "open: 2,000 items in ≈ 212 min (190–320), limit 5h: may not fit (at the interval's high end about 93% would be answered)",
    );
    expect(describePrediction('toy', prediction({ total: 60, estimateMs: 4_200, lowMs: 3_900, highMs: 4_650, limitMs: 600_000 }))).toBe(
      'toy: 60 items in ≈ 4.2 s (3.9–4.7), limit 10m: fits',
    );
  });
});

describe('projectEta and describeEta', () => {
  const hhmm = (ms: number) => `${String(new Date(ms).getHours()).padStart(2, '0')}:${String(new Date(ms).getMinutes()).padStart(2, '0')}`;
  const start = Date.UTC(2024, 0, 1, 12, 0, 0);
  it('projects from the rate so far and warns when the projection passes the limit', () => {
    const eta = projectEta({ answered: 1200, total: 2000 }, start, start + 120 * 60_000, 180 * 60_000);
    expect(eta).toEqual({ answered: 1200, total: 2000, perMinute: 10, projectedEndAt: start + 200 * 60_000, limitAt: start + 180 * 60_000, pastLimit: true });
    expect(describeEta(eta)).toBe(
      `1,200/2,000 answered, 10/min, projected end ${hhmm(start + 200 * 60_000)} (limit ${hhmm(start + 180 * 60_000)}); warning: past the limit, about 90% would be answered`,
    );
    const fine = projectEta({ answered: 1204, total: 2000 }, start, start + 128 * 60_000, 300 * 60_000);
    expect(fine.pastLimit).toBe(false);
    expect(describeEta(fine)).toBe(`1,204/2,000 answered, 9.4/min, projected end ${hhmm(fine.projectedEndAt!)} (limit ${hhmm(start + 300 * 60_000)})`);
  });
  it('has no projection before the first answer', () => {
    const none = projectEta({ answered: 0, total: 50 }, start, start + 1000, 60_000);
    expect(none).toMatchObject({ perMinute: 0, projectedEndAt: null, pastLimit: false });
    expect(describeEta(none)).toBe(`0/50 answered, rate not known yet (limit ${hhmm(start + 60_000)})`);
  });
  it("takes a resumed stage's rate from its execution's own answers and time, the limit still from the stage's first start", () => {
    // 1,000 answered before a crash; the new execution begins asking at minute 100 and 5 s later has 1,010.
    const execution = { startedAt: start + 100 * 60_000, answeredAtStart: 1000 };
    const now = execution.startedAt + 5_000;
    const resumed = projectEta({ answered: 1010, total: 2000 }, start, now, 300 * 60_000, { execution });
    // 10 per 5 s = 120/min: the 990 left take 8.25 min (495 s).
    expect(resumed).toEqual({ answered: 1010, total: 2000, perMinute: 120, projectedEndAt: now + 495_000, limitAt: start + 300 * 60_000, pastLimit: false });
    // Without the execution the 1,010 would count over the stage's 100 min 5 s: about 10/min, the end some 98 min away.
    const naive = projectEta({ answered: 1010, total: 2000 }, start, now, 300 * 60_000);
    expect(naive.perMinute).toBeCloseTo((1010 / 6_005_000) * 60_000, 10);
    expect(naive.projectedEndAt! - now).toBeGreaterThan(97 * 60_000);
    // Against a 105-min limit: past it; by then 1,010 + 120/min × 4 min 55 s = 1,600 of 2,000 would be answered.
    const tight = projectEta({ answered: 1010, total: 2000 }, start, now, 105 * 60_000, { execution });
    expect(tight).toMatchObject({ perMinute: 120, projectedEndAt: now + 495_000, limitAt: start + 105 * 60_000, pastLimit: true });
    expect(answeredShareAtLimit(tight)).toBeCloseTo(0.8, 10);
    expect(describeEta(tight)).toBe(
      `1,010/2,000 answered, 120/min, projected end ${hhmm(now + 495_000)} (limit ${hhmm(start + 105 * 60_000)}); warning: past the limit, about 80% would be answered`,
    );
  });
  it('knows no rate for an execution that has answered nothing yet, and says all is answered when nothing is left', () => {
    const execution = { startedAt: start + 100 * 60_000, answeredAtStart: 1000 };
    const idle = projectEta({ answered: 1000, total: 2000 }, start, execution.startedAt + 5_000, 300 * 60_000, { execution });
    expect(idle).toMatchObject({ perMinute: 0, projectedEndAt: null, pastLimit: false });
    const late = projectEta({ answered: 2000, total: 2000 }, start, start + 120 * 60_000, 60 * 60_000, { execution });
    expect(late).toMatchObject({ projectedEndAt: start + 120 * 60_000, pastLimit: true });
    expect(answeredShareAtLimit(late)).toBe(1);
    expect(describeEta(late)).toMatch(/about 100% would be answered$/);
  });
});
