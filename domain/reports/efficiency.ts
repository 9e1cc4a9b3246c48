/**
 * Efficiency figures from plain numbers. The 2023 challenge never scored efficiency directly; it only
 * enforced a 24 h training limit and 300/600-min evaluation limits (spec CHALLENGE_2023 §3.2). These
 * figures make cost visible next to the score. Pure functions; no I/O.
 *
 * Definitions
 * - GPU-hours = training wall time (h) × GPUs used (0 GPUs, e.g. the cpu track, gives 0).
 * - Throughput = instances (or tokens) / evaluation wall time in seconds; tokens/s is null unless
 *   token counts are given (prompt + completion tokens, whichever are given).
 * - Latency percentiles use the nearest-rank method: for N sorted samples the p-th percentile is the
 *   sample at 1-based rank ⌈p/100 · N⌉ (rank 1 for p = 0). It is always an observed value, never an
 *   interpolation, so p95 of 20 samples is the 19th smallest.
 * - Bytes are formatted in binary units (KiB, MiB, GiB = 1024^k), as docker stats reports memory.
 */
import { formatBytes, formatSpan } from '../units.js';

export interface EfficiencyInput {
  training?: { wallTimeMs: number; gpus: number } | null;
  evaluation?: { wallTimeMs: number; instances: number; promptTokens?: number | null; completionTokens?: number | null } | null;
  /** Per-request latencies in milliseconds (failed requests excluded or included, the caller decides). */
  latenciesMs?: readonly number[] | null;
  /** Peak memory of the container(s), in bytes. */
  peakMemoryBytes?: number | null;
}

export interface EfficiencyFigures {
  training: { wallTimeSeconds: number; gpus: number; gpuHours: number } | null;
  evaluation: {
    wallTimeSeconds: number;
    instances: number;
    instancesPerSecond: number | null;
    tokens: number | null;
    tokensPerSecond: number | null;
  } | null;
  latency: { count: number; p50Ms: number; p95Ms: number; maxMs: number; meanMs: number } | null;
  peakMemory: { bytes: number; formatted: string } | null;
}

function nonNegative(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`${name} must be a finite number ≥ 0, got ${value}`);
  return value;
}

/** Nearest-rank percentile of unsorted samples; null for no samples. p in [0, 100]. */
export function nearestRankPercentile(samples: readonly number[], p: number): number | null {
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be in [0, 100], got ${p}`);
  if (samples.length === 0) return null;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

export function efficiencyFigures(input: EfficiencyInput): EfficiencyFigures {
  let training: EfficiencyFigures['training'] = null;
  if (input.training) {
    const wallTimeSeconds = nonNegative('training.wallTimeMs', input.training.wallTimeMs) / 1000;
    const gpus = nonNegative('training.gpus', input.training.gpus);
    training = { wallTimeSeconds, gpus, gpuHours: (wallTimeSeconds / 3600) * gpus };
  }
  let evaluation: EfficiencyFigures['evaluation'] = null;
  if (input.evaluation) {
    const e = input.evaluation;
    const wallTimeSeconds = nonNegative('evaluation.wallTimeMs', e.wallTimeMs) / 1000;
    const instances = nonNegative('evaluation.instances', e.instances);
    const given = [e.promptTokens, e.completionTokens].filter((t): t is number => t !== undefined && t !== null);
    const tokens = given.length === 0 ? null : given.reduce((sum, t) => sum + nonNegative('evaluation tokens', t), 0);
    evaluation = {
      wallTimeSeconds,
      instances,
      instancesPerSecond: wallTimeSeconds > 0 ? instances / wallTimeSeconds : null,
      tokens,
      tokensPerSecond: tokens !== null && wallTimeSeconds > 0 ? tokens / wallTimeSeconds : null,
    };
  }
  let latency: EfficiencyFigures['latency'] = null;
  if (input.latenciesMs && input.latenciesMs.length > 0) {
    const samples = input.latenciesMs.map((l) => nonNegative('latency', l));
    latency = {
      count: samples.length,
      p50Ms: nearestRankPercentile(samples, 50)!,
      p95Ms: nearestRankPercentile(samples, 95)!,
      maxMs: Math.max(...samples),
      meanMs: samples.reduce((a, b) => a + b, 0) / samples.length,
    };
  }
  const peak = input.peakMemoryBytes;
  const peakMemory = peak === undefined || peak === null ? null : { bytes: nonNegative('peakMemoryBytes', peak), formatted: formatBytes(peak) };
  return { training, evaluation, latency, peakMemory };
}

/** 1234.5 → "1235/s", 12.345 → "12.35/s", 0.01234 → "0.0123/s"; an optional unit goes before "/s". */
export function formatRate(perSecond: number | null, unit = ''): string {
  if (perSecond === null) return '—';
  const text = perSecond >= 100 ? perSecond.toFixed(0) : perSecond >= 1 ? perSecond.toFixed(2) : perSecond.toPrecision(3);
  return `${text}${unit === '' ? '' : ` ${unit}`}/s`;
}

export const formatGpuHours = (gpuHours: number): string => `${gpuHours.toFixed(gpuHours < 10 ? 2 : 1)} GPU-h`;

export function renderEfficiency(figures: EfficiencyFigures): string {
  const lines: string[] = ['Efficiency'];
  const t = figures.training;
  lines.push(
    t === null
      ? '  training      —'
      : `  training      ${formatSpan(t.wallTimeSeconds * 1000)} on ${t.gpus} GPU${t.gpus === 1 ? '' : 's'} = ${formatGpuHours(t.gpuHours)}`,
  );
  const e = figures.evaluation;
  lines.push(
    e === null
      ? '  evaluation    —'
      : `  evaluation    ${e.instances} instances in ${formatSpan(e.wallTimeSeconds * 1000)}: ` +
          `${formatRate(e.instancesPerSecond, 'instances')}${e.tokensPerSecond === null ? '' : `, ${formatRate(e.tokensPerSecond, 'tokens')}`}`,
  );
  const l = figures.latency;
  lines.push(
    l === null
      ? '  latency       —'
      : `  latency       p50 ${l.p50Ms.toFixed(0)} ms, p95 ${l.p95Ms.toFixed(0)} ms, max ${l.maxMs.toFixed(0)} ms (${l.count} requests)`,
  );
  lines.push(`  peak memory   ${figures.peakMemory === null ? '—' : figures.peakMemory.formatted}`);
  return lines.join('\n');
}

/**
 * The model's share of an evaluation, with the real model as the reference: the server's own
 * `request_time` summed over the answers (stored as serverMs), against the evaluation's wall time over
 * the same answers. 1 − share is what everything else cost: the harness, HTTP, prompt fitting, idle gaps.
 *
 * Only meaningful when the summed times do not overlap: a server that generates one request at a time (a
 * lock, as the LLM sample) and reports the generation alone as request_time (the contract: "the wall time of
 * generation"; the sample starts its clock once it holds the lock). Then at any harness concurrency the sum is
 * the model's busy time and the share is how much of the evaluation the model was working. A server that starts
 * request_time on arrival counts a queued request's wait as its own time, so with several requests in flight
 * the sum can exceed the wall time and the share says nothing (null when no time was measured).
 */
export function modelShare(input: { wallTimeMs: number; serverMs: Iterable<number | null | undefined> }): {
  modelMs: number;
  wallTimeMs: number;
  answers: number;
  /** modelMs / wallTimeMs */
  share: number | null;
} {
  const wallTimeMs = nonNegative('wallTimeMs', input.wallTimeMs);
  let modelMs = 0;
  let answers = 0;
  for (const ms of input.serverMs) {
    if (ms === null || ms === undefined) continue;
    modelMs += nonNegative('serverMs', ms);
    answers++;
  }
  return { modelMs, wallTimeMs, answers, share: wallTimeMs > 0 && answers > 0 ? modelMs / wallTimeMs : null };
}
