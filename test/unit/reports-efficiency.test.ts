import { describe, expect, it } from '@jest/globals';
import { efficiencyFigures, formatGpuHours, formatRate, modelShare, nearestRankPercentile, renderEfficiency } from '../../domain/reports/efficiency.js';

describe('nearestRankPercentile', () => {
  const twenty = Array.from({ length: 20 }, (_, i) => 20 - i); // 20..1, unsorted on purpose
  it('returns the sample at rank ⌈p/100 · N⌉', () => {
    expect(nearestRankPercentile(twenty, 50)).toBe(10);
    expect(nearestRankPercentile(twenty, 95)).toBe(19);
    expect(nearestRankPercentile(twenty, 100)).toBe(20);
    expect(nearestRankPercentile(twenty, 0)).toBe(1);
    expect(nearestRankPercentile([15, 20, 35, 40, 50], 30)).toBe(20); // Wikipedia's example
    expect(nearestRankPercentile([7], 95)).toBe(7);
    expect(nearestRankPercentile([], 50)).toBeNull();
    expect(() => nearestRankPercentile([1], 101)).toThrow(RangeError);
  });
});

describe('efficiencyFigures', () => {
  it('computes GPU-hours, throughput, latency and peak memory', () => {
    const figures = efficiencyFigures({
      training: { wallTimeMs: 2 * 3600_000, gpus: 4 },
      evaluation: { wallTimeMs: 60_000, instances: 120, promptTokens: 3000, completionTokens: 600 },
      latenciesMs: [120, 80, 100, 90, 2000, 110, 95, 105, 85, 115],
      peakMemoryBytes: 1.5 * 1024 ** 3,
    });
    expect(figures.training).toEqual({ wallTimeSeconds: 7200, gpus: 4, gpuHours: 8 });
    expect(figures.evaluation).toEqual({ wallTimeSeconds: 60, instances: 120, instancesPerSecond: 2, tokens: 3600, tokensPerSecond: 60 });
    expect(figures.latency).toEqual({ count: 10, p50Ms: 100, p95Ms: 2000, maxMs: 2000, meanMs: 290 });
    expect(figures.peakMemory).toEqual({ bytes: 1.5 * 1024 ** 3, formatted: '1.5 GiB' });
  });

  it('leaves out what it is not given', () => {
    expect(efficiencyFigures({})).toEqual({ training: null, evaluation: null, latency: null, peakMemory: null });
    const partial = efficiencyFigures({ training: { wallTimeMs: 1000, gpus: 0 }, evaluation: { wallTimeMs: 0, instances: 5 }, latenciesMs: [] });
    expect(partial.training!.gpuHours).toBe(0);
    expect(partial.evaluation).toEqual({ wallTimeSeconds: 0, instances: 5, instancesPerSecond: null, tokens: null, tokensPerSecond: null });
    expect(partial.latency).toBeNull();
    expect(efficiencyFigures({ evaluation: { wallTimeMs: 2000, instances: 4, completionTokens: 10 } }).evaluation!.tokensPerSecond).toBe(5);
  });

  it('rejects negative or non-finite inputs', () => {
    expect(() => efficiencyFigures({ training: { wallTimeMs: -1, gpus: 1 } })).toThrow(RangeError);
    expect(() => efficiencyFigures({ latenciesMs: [1, Number.NaN] })).toThrow(RangeError);
    expect(() => efficiencyFigures({ peakMemoryBytes: Number.POSITIVE_INFINITY })).toThrow(RangeError);
  });
});

describe('formatting', () => {
  it('formats rates and GPU-hours', () => {
    expect(formatRate(1234.5, 'tokens')).toBe('1235 tokens/s');
    expect(formatRate(12.345)).toBe('12.35/s');
    expect(formatRate(0.01234, 'instances')).toBe('0.0123 instances/s');
    expect(formatRate(null)).toBe('—');
    expect(formatGpuHours(8)).toBe('8.00 GPU-h');
    expect(formatGpuHours(123.45)).toBe('123.5 GPU-h');
  });

  it('renders a block for the CLI', () => {
    const text = renderEfficiency(
      efficiencyFigures({
        training: { wallTimeMs: 5400_000, gpus: 1 },
        evaluation: { wallTimeMs: 30_000, instances: 104 },
        latenciesMs: [10, 20, 30],
        peakMemoryBytes: 512 * 1024 ** 2,
      }),
    );
    expect(text).toBe(
      [
        'Efficiency',
        '  training      1h 30m on 1 GPU = 1.50 GPU-h',
        '  evaluation    104 instances in 30s: 3.47 instances/s',
        '  latency       p50 20 ms, p95 30 ms, max 30 ms (3 requests)',
        '  peak memory   512 MiB',
      ].join('\n'),
    );
    expect(renderEfficiency(efficiencyFigures({}))).toContain('training      —');
  });
});

describe('modelShare', () => {
  it('sums the server times that were reported, against the wall time', () => {
    expect(modelShare({ wallTimeMs: 1000, serverMs: [490, 490, null, undefined] })).toEqual({ modelMs: 980, wallTimeMs: 1000, answers: 2, share: 0.98 });
  });
  it('has no share without a wall time or without any server time', () => {
    expect(modelShare({ wallTimeMs: 0, serverMs: [5] }).share).toBeNull();
    expect(modelShare({ wallTimeMs: 100, serverMs: [null] }).share).toBeNull();
  });
  it('refuses negative times', () => {
    expect(() => modelShare({ wallTimeMs: 100, serverMs: [-1] })).toThrow(RangeError);
  });
});
