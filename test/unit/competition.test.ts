/**
 * The competition file: the shipped files are valid and say what 2023 did; a broken file names each field and
 * its fix; the phase at an instant and the quota of the open phase.
 */
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { CompetitionFileError, loadCompetition, nextPhase, openQuota, parseCompetition, phaseAt } from '../../domain/competition/index.js';
import { PROJECT_ROOT } from '../../infra/paths.js';

const file = (name: string): string => path.join(PROJECT_ROOT, 'competitions', name);
const raw = (name: string): Record<string, unknown> => JSON.parse(readFileSync(file(name), 'utf8')) as Record<string, unknown>;

const problemsOf = (value: unknown): string[] => {
  try {
    parseCompetition(value, 'x.json');
  } catch (error) {
    if (error instanceof CompetitionFileError) return error.problems;
    throw error;
  }
  return [];
};

describe('the shipped competition files', () => {
  it('neurips2023 holds the 2023 values: 3 a day in development (inference only), finals on open + closed, the 2023 deadline', () => {
    const c = loadCompetition(file('neurips2023.json'));
    const [development, final] = c.phases;
    expect(development!.quota).toEqual({ perWindow: 3, window: 24 * 3_600_000 });
    expect(development!.stages).toEqual(['build', 'open-eval']);
    expect(development!.closesAt).toBe('2023-10-25T23:59:00Z');
    expect(final!.stages).toEqual(['build', 'open-eval', 'closed-eval']);
    expect(final!.quota).toBeUndefined();
    expect(c.intake.maxArchiveBytes).toBe(100 * 1024 * 1024);
    expect(c.intake.maxUncompressedBytes).toBe(1024 ** 3);
    expect(c.reproduction.topN).toBe(10);
    expect(c.reproduction.fineTuneLimit).toBe(24 * 3_600_000);
  });

  it('demo has its development phase open in 2026 and the defaults filled in', () => {
    const c = loadCompetition(file('demo.json'));
    expect(phaseAt(c, Date.parse('2026-12-06T12:00:00Z'))?.id).toBe('development');
    expect(c.finalSelection).toBe('chosen-else-latest-completed');
    expect(c.notifications).toEqual({});
  });
});

describe('errors name the field and the fix', () => {
  it('a wrong quota, an unknown stage, an instant without offset and overlapping phases are each reported', () => {
    const broken = raw('neurips2023.json');
    const phases = broken['phases'] as Record<string, unknown>[];
    phases[0] = { ...phases[0], quota: { perWindow: 0 }, stages: ['build', 'train'], opensAt: '2023-07-25' };
    phases[1] = { ...phases[1], opensAt: '2023-10-01T00:00:00Z' };
    const problems = problemsOf(broken);
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^field phases\[0\]\.quota\.perWindow: perWindow must be at least 1/),
        expect.stringMatching(/^field phases\[0\]\.stages\[1\]: /),
        expect.stringMatching(/^field phases\[0\]\.opensAt: write an ISO-8601 instant with its offset/),
      ]),
    );
  });

  it('overlapping phases, a closing before the opening, a duplicate id, a missing build and an unknown field', () => {
    const broken = raw('demo.json');
    const first = (broken['phases'] as Record<string, unknown>[])[0]!;
    broken['phases'] = [
      { ...first, stages: ['open-eval'] },
      { ...first, opensAt: '2030-01-01T00:00:00Z', closesAt: '2029-01-01T00:00:00Z' },
    ];
    broken['quotas'] = 3;
    const problems = problemsOf(broken);
    expect(problems).toEqual(
      expect.arrayContaining([
        'field phases[0].stages: every phase builds the submission: add "build"',
        expect.stringMatching(/^field phases\[1\]\.id: phase id "development" is used twice/),
        'field phases[1].closesAt: closesAt must be after opensAt (2030-01-01T00:00:00Z)',
        expect.stringMatching(/^field phases\[1\]\.opensAt: phase "development" opens before "development" closes/),
        expect.stringMatching(/^field \(top level\): Unrecognized key: "quotas"/),
      ]),
    );
  });

  it('a file that is not there or not JSON says so', () => {
    expect(() => loadCompetition('/nonexistent/c.json')).toThrow(/does not exist: pass a competition file/);
    expect(() => loadCompetition(path.join(PROJECT_ROOT, 'package.json'))).toThrow(CompetitionFileError);
  });
});

describe('phases at an instant', () => {
  const c = loadCompetition(file('neurips2023.json'));
  it('development until its close (exclusive), nothing in the gap, the finals after, nothing at the end', () => {
    expect(phaseAt(c, Date.parse('2023-10-25T23:58:59Z'))?.id).toBe('development');
    expect(phaseAt(c, Date.parse('2023-10-25T23:59:00Z'))).toBeNull();
    expect(nextPhase(c, Date.parse('2023-10-25T23:59:00Z'))?.id).toBe('final');
    expect(phaseAt(c, Date.parse('2023-11-01T00:00:00Z'))?.id).toBe('final');
    expect(phaseAt(c, Date.parse('2024-01-01T00:00:00Z'))).toBeNull();
  });
  it('teams submit only while a phase with a quota is open', () => {
    expect(openQuota(c, Date.parse('2023-08-01T00:00:00Z'))?.quota.perWindow).toBe(3);
    expect(openQuota(c, Date.parse('2023-11-01T00:00:00Z'))).toBeNull();
  });
});
