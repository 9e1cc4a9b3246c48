/**
 * Throughput probe and stage projections (issue 26): how long a suite will take on a submission's server, told
 * before the stage's limit is spent, and the projected end while it runs.
 *
 * - probeSample: a stratified sample of the suite's work items (every scenario, allocated in proportion to its
 *   items with at least one each, largest remainders first; within a scenario, items at evenly spaced quantiles
 *   of the rendered prompt's length). Deterministic: the same suite gives the same sample.
 * - predictStage: a server that is kept busy finishes a stage in Σ(service time) ÷ (requests it serves at once).
 *   Per-item cost is fitted per request group (scenarios asking the same kind and the same number of new tokens,
 *   e.g. the 55 MMLU subjects together, GSM8K alone) as a least-squares line on the prompt's characters (the
 *   group's mean when it has fewer than 3 points, no spread of prompt lengths or a negative slope) and summed over
 *   the whole suite's items. The cost is the server's own request_time where every probe answer reported one, and
 *   the server's parallelism is measured: Σ request_time of every answer in the probe's window ÷ the window (else
 *   Little's law: requests in flight × Σ request_time ÷ Σ wall time of the probe's requests). Per-item wall time would not do: a request's wait depends on its neighbours, and the stage asks in suite
 *   order (40 GSM8K generations queue behind each other, not behind one-token answers as in the probe). A server's
 *   request_time only weighs items against each other: scaled or constant, it falls back to the mean wall time
 *   per item ÷ requests in flight, which is what is used when it is missing. The interval is a stratified
 *   bootstrap over the probe's requests (resampled within each group, refitted, 400 resamples, seeded): its 5th
 *   and 95th percentiles, a 90% interval. It covers the sampling of the requests, not a server that changes speed.
 * - projectEta / describeEta: answered/total and the rate so far, projected to the end, against the limit.
 */
import { mulberry32 } from '../random.js';
import { answerKey } from './answers.js';
import { instancePrompt, requestSettings, type Scenario, type Suite } from './suite.js';
import { eachWorkItem, type WorkItem } from './work.js';
import type { StagePrediction } from './projection.js';

/** The items a probe asks first: every scenario, prompt lengths spread (answers count for the stage as usual). */
export interface ProbeSample {
  /** answerKey(scenario, answerId) of each probe item (the answer store's key: answer ids repeat across scenarios) */
  answerIds: ReadonlySet<string>;
  items: number;
}

/** What the harness measured once the probe's items were all answered (wall time at the production concurrency). */
export interface ProbeMeasurement {
  items: number;
  wallMs: number;
  concurrency: number;
  /** per answered probe item: its work item's prompt size in characters and the request's wall time */
  requests: { promptChars: number; wallMs: number; scenario: string; serverMs?: number | null }[];
  /**
   * Mean requests in flight (probe or not) from the start until the last probe answer, counted while every worker
   * had work: the effective concurrency. Absent: Σ request wall time ÷ wallMs.
   */
  inFlight?: number;
  /**
   * Σ request_time the server reported for every answer (probe or not) in the same window ÷ the window: the mean
   * requests it served at once. Absent when an answer had none.
   */
  inService?: number;
}

export const DEFAULT_PROBE_SIZE = 80;
const BOOTSTRAP_RESAMPLES = 400;
const BOOTSTRAP_SEED = 26;
const INTERVAL = { low: 0.05, high: 0.95 } as const;

/** The prompt size a probe item is measured by: the rendered prompt before any fitting into the model's window. */
export const promptChars = (item: Pick<WorkItem, 'scenario' | 'instance'>): number => instancePrompt(item.scenario, item.instance).length;

/** Requests of one group cost alike: same kind, same number of new tokens asked. */
const requestGroup = (scenario: Scenario): string => `${scenario.kind}:${requestSettings(scenario).maxNewTokens}`;

interface ItemProfile {
  scenario: string;
  key: string;
  group: string;
  chars: number;
}

/** Every item's scenario, key, request group and prompt size, once per suite object (a pass perturbs every instance: seconds for 2,000). */
const profiles = new WeakMap<Suite, ItemProfile[]>();
function suiteProfile(suite: Suite): ItemProfile[] {
  let profile = profiles.get(suite);
  if (!profile) {
    profile = [];
    for (const item of eachWorkItem(suite))
      profile.push({ scenario: item.scenario.name, key: answerKey(item.scenario.name, item.answerId), group: requestGroup(item.scenario), chars: promptChars(item) });
    profiles.set(suite, profile);
  }
  return profile;
}

/** Hamilton (largest remainder) allocation of `size` over `sizes`, at least one each: scenarios under one item's quota are fixed at one first. */
function allocate(sizes: readonly number[], size: number): number[] {
  const fixed = new Set<number>();
  let quota: number[] = [];
  for (;;) {
    const rest = sizes.reduce((sum, m, i) => (fixed.has(i) ? sum : sum + m), 0);
    const left = size - fixed.size;
    quota = sizes.map((m, i) => (fixed.has(i) ? 1 : rest > 0 ? (left * m) / rest : 0));
    const under = sizes.map((_, i) => i).filter((i) => !fixed.has(i) && quota[i]! < 1);
    if (under.length === 0) break;
    for (const i of under) fixed.add(i);
  }
  const counts = quota.map((q, i) => Math.min(sizes[i]!, Math.floor(q)));
  let left = size - counts.reduce((a, b) => a + b, 0);
  const byRemainder = sizes.map((_, i) => i).sort((a, b) => quota[b]! - counts[b]! - (quota[a]! - counts[a]!) || a - b);
  for (const i of byRemainder) {
    if (left <= 0) break;
    if (counts[i]! >= sizes[i]!) continue;
    counts[i]!++;
    left--;
  }
  return counts;
}

export function probeSample(suite: Suite, options: { size?: number } = {}): ProbeSample {
  const byScenario = new Map<string, { key: string; chars: number }[]>();
  for (const item of suiteProfile(suite)) {
    const list = byScenario.get(item.scenario);
    if (list) list.push(item);
    else byScenario.set(item.scenario, [item]);
  }
  const lists = [...byScenario.values()];
  const total = lists.reduce((sum, list) => sum + list.length, 0);
  const size = Math.min(total, Math.max(Math.round(options.size ?? DEFAULT_PROBE_SIZE), lists.length));
  const counts = allocate(lists.map((list) => list.length), size);
  const answerIds = new Set<string>();
  lists.forEach((list, i) => {
    const sorted = [...list].sort((a, b) => a.chars - b.chars || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const n = counts[i]!;
    for (let k = 0; k < n; k++) answerIds.add(sorted[Math.floor(((k + 0.5) * sorted.length) / n)]!.key);
  });
  return { answerIds, items: answerIds.size };
}

interface Point {
  chars: number;
  wallMs: number;
  /** the server's request_time where every request had one, else the wall time */
  costMs: number;
}

/** Σ over `count` items with Σ chars `sumChars` of the group's fitted per-item wall time. */
function fittedTotal(points: readonly Point[], count: number, sumChars: number): number {
  const n = points.length;
  const meanCost = points.reduce((s, p) => s + p.costMs, 0) / n;
  if (n < 3) return meanCost * count;
  const meanChars = points.reduce((s, p) => s + p.chars, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (const p of points) {
    sxx += (p.chars - meanChars) ** 2;
    sxy += (p.chars - meanChars) * (p.costMs - meanCost);
  }
  const slope = sxx > 0 ? sxy / sxx : 0;
  if (slope <= 0) return meanCost * count;
  return (meanCost - slope * meanChars) * count + slope * sumChars;
}

/** The suite's items per request group: how many, and their prompts' characters in all. */
function suiteMix(suite: Suite): Map<string, { count: number; sumChars: number }> {
  const mix = new Map<string, { count: number; sumChars: number }>();
  for (const item of suiteProfile(suite)) {
    const entry = mix.get(item.group) ?? { count: 0, sumChars: 0 };
    entry.count++;
    entry.sumChars += item.chars;
    mix.set(item.group, entry);
  }
  return mix;
}

function quantile(sorted: readonly number[], q: number): number {
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (at - lo);
}

export function predictStage(measurement: ProbeMeasurement, suite: Suite, options: { limitMs: number }): StagePrediction {
  if (measurement.requests.length === 0) throw new Error(`predictStage: the probe on suite "${suite.name}" measured no request; ask the probe's items first`);
  const groupOf = new Map(suite.scenarios.map((scenario) => [scenario.name, requestGroup(scenario)]));
  const observed = new Map<string, Point[]>();
  const all: Point[] = [];
  const served = measurement.requests.every((r) => typeof r.serverMs === 'number' && Number.isFinite(r.serverMs) && r.serverMs > 0);
  for (const request of measurement.requests) {
    const point = { chars: request.promptChars, wallMs: request.wallMs, costMs: served ? (request.serverMs as number) : request.wallMs };
    all.push(point);
    const group = groupOf.get(request.scenario);
    if (group === undefined) continue;
    observed.set(group, [...(observed.get(group) ?? []), point]);
  }
  const mix = suiteMix(suite);
  const total = [...mix.values()].reduce((sum, entry) => sum + entry.count, 0);
  const sumWall = all.reduce((s, p) => s + p.wallMs, 0);
  const measured = measurement.inFlight ?? (measurement.wallMs > 0 ? sumWall / measurement.wallMs : measurement.concurrency);
  const concurrency = Math.min(Math.max(measured, 1e-9), Math.max(1, measurement.concurrency));
  const sum = (points: readonly Point[], of: (p: Point) => number) => points.reduce((s, p) => s + of(p), 0);
  const estimate = (points: Map<string, Point[]>, pooled: readonly Point[]): number => {
    let cost = 0;
    for (const [group, entry] of mix) cost += fittedTotal(points.get(group) ?? pooled, entry.count, entry.sumChars);
    const used = points.size > 0 ? [...points.values()].flat() : pooled;
    const wall = sum(used, (p) => p.wallMs);
    // Requests served at once (Little's law): in flight × Σ cost ÷ Σ wall; the concurrency itself when cost is wall time.
    const parallel = served && measurement.inService ? measurement.inService : wall > 0 ? (concurrency * sum(used, (p) => p.costMs)) / wall : concurrency;
    return cost / parallel;
  };
  const estimateMs = estimate(observed, all);
  const random = mulberry32(BOOTSTRAP_SEED);
  const resample = (points: readonly Point[]): Point[] => points.map(() => points[Math.floor(random() * points.length)]!);
  const draws: number[] = [];
  for (let b = 0; b < BOOTSTRAP_RESAMPLES; b++) {
    const drawn = new Map([...observed].map(([group, points]) => [group, resample(points)] as const));
    draws.push(estimate(drawn, resample(all)));
  }
  draws.sort((a, b) => a - b);
  const lowMs = Math.min(estimateMs, quantile(draws, INTERVAL.low));
  const highMs = Math.max(estimateMs, quantile(draws, INTERVAL.high));
  const limitMs = options.limitMs;
  return {
    total,
    estimateMs: Math.round(estimateMs),
    lowMs: Math.round(lowMs),
    highMs: Math.round(highMs),
    limitMs,
    fits: highMs <= limitMs,
    answeredShareAtLimit: estimateMs <= limitMs ? 1 : limitMs / estimateMs,
    sample: measurement.requests.length,
    concurrency: Math.round(concurrency * 100) / 100,
  };
}

// The projections are workflow-safe (the pipeline computes them when a progress signal arrives): they live in
// projection.ts, which imports neither the suite loader nor the metrics, and are re-exported here.
export { describeEta, describePrediction, groupDigits, projectEta, type StageEta, type StagePrediction } from './projection.js';
export type { WorkItem };
