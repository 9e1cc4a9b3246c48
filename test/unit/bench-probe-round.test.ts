/**
 * The throughput probe benchmarks' verdict (bench/probe-round.ts): prediction ÷ measured against 0.9–1.1, the
 * 90% interval, and the split of a miss into the Σ cost and the server's parallelism.
 */
import { describe, expect, it } from '@jest/globals';
import { errorSplit, groupBreakdown, roundVerdict } from '../../bench/probe-round.js';
import type { Suite } from '../../domain/harness/suite.js';

describe('probe round verdict', () => {
  it('divides the prediction by the measured time and judges it against 0.9–1.1', () => {
    expect(roundVerdict({ estimateMs: 95_000, lowMs: 90_000, highMs: 100_000 }, 100_000)).toEqual({ ratio: 0.95, pass: true, inside: true });
    expect(roundVerdict({ estimateMs: 120_000, lowMs: 110_000, highMs: 130_000 }, 100_000)).toEqual({ ratio: 1.2, pass: false, inside: false });
    const low = roundVerdict({ estimateMs: 80_000, lowMs: 60_000, highMs: 100_000 }, 100_000);
    expect(low.ratio).toBeCloseTo(0.8, 10);
    expect(low.pass).toBe(false);
    expect(low.inside).toBe(true);
  });

  it('counts the target and the interval bounds as met', () => {
    expect(roundVerdict({ estimateMs: 110, lowMs: 100, highMs: 120 }, 100)).toEqual({ ratio: 1.1, pass: true, inside: true });
    expect(roundVerdict({ estimateMs: 90, lowMs: 80, highMs: 100 }, 100).pass).toBe(true);
    expect(roundVerdict({ estimateMs: 89, lowMs: 80, highMs: 99 }, 100)).toEqual({ ratio: 0.89, pass: false, inside: false });
  });
});

describe('probe round error split', () => {
  it('splits prediction ÷ measured into Σ cost × parallelism', () => {
    // predicted Σ cost 240 s served 0.8 at once: 300 s; the stage took 250 s with Σ request_time 225 s (0.9 at once)
    const split = errorSplit({ estimateMs: 300_000, inService: 0.8, measuredMs: 250_000, stageServerMs: 225_000, withoutServerMs: 0 });
    expect(split).not.toBeNull();
    expect(split!.stageParallel).toBeCloseTo(0.9, 10);
    expect(split!.costRatio).toBeCloseTo(240 / 225, 10);
    expect(split!.parallelRatio).toBeCloseTo(0.9 / 0.8, 10);
    expect(split!.costRatio * split!.parallelRatio).toBeCloseTo(300_000 / 250_000, 10);
  });

  it('gives none when the probe did not measure the parallelism or an answer lacked request_time', () => {
    expect(errorSplit({ estimateMs: 1, inService: undefined, measuredMs: 1, stageServerMs: 1, withoutServerMs: 0 })).toBeNull();
    expect(errorSplit({ estimateMs: 1, inService: 0, measuredMs: 1, stageServerMs: 1, withoutServerMs: 0 })).toBeNull();
    expect(errorSplit({ estimateMs: 1, inService: 1, measuredMs: 1, stageServerMs: 1, withoutServerMs: 3 })).toBeNull();
    expect(errorSplit({ estimateMs: 1, inService: 1, measuredMs: 1, stageServerMs: 0, withoutServerMs: 0 })).toBeNull();
  });
});

describe('probe round request groups', () => {
  const suite = {
    scenarios: [
      { name: 'mmlu-a', kind: 'multiple_choice' },
      { name: 'mmlu-b', kind: 'multiple_choice' },
      { name: 'gsm8k', kind: 'generation', request: { maxNewTokens: 400, temperature: 0, stopSequences: ['\n\n'] } },
    ],
  } as unknown as Pick<Suite, 'scenarios'>;

  it("sets the probe's mean request_time per group next to the stage's", () => {
    const probe = [
      { scenario: 'mmlu-a', serverMs: 40 },
      { scenario: 'mmlu-b', serverMs: 60 },
      { scenario: 'gsm8k', serverMs: 1_000 },
    ];
    const answers = [
      { scenario: 'mmlu-a', serverMs: 40 },
      { scenario: 'mmlu-a', serverMs: 50 },
      { scenario: 'mmlu-b', serverMs: 60 },
      { scenario: 'gsm8k', serverMs: 1_000 },
      { scenario: 'gsm8k', serverMs: 3_000 },
      { scenario: 'gsm8k', serverMs: null },
    ];
    expect(groupBreakdown(suite, probe, answers)).toEqual([
      { group: 'generation:400', probeItems: 1, probeMeanMs: 1_000, stageItems: 3, stageMeanMs: 4_000 / 3, stageServerMs: 4_000 },
      { group: 'multiple_choice:1', probeItems: 2, probeMeanMs: 50, stageItems: 3, stageMeanMs: 50, stageServerMs: 150 },
    ]);
  });
});
