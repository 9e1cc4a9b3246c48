/**
 * The competition clock's pure decisions (domain/competition/clock.ts): the timeline's next transition, which phase
 * is a final one, whether a deadline extension is accepted and why not, and what the clock says it does next.
 * The workflow that runs them on durable timers is tested in test/integration/competition-clock-time-skipping.test.ts.
 */
import { describe, expect, it } from '@jest/globals';
import path from 'node:path';
import { PROJECT_ROOT } from '../../infra/paths.js';
import { loadCompetition } from '../../domain/competition/index.js';
import { renderClockState } from '../../cli/competition-clock.js';
import { clockPhases, decideExtension, describeNext, finalPhaseAfter, initialClockState, isFinalPhase, nextTransition, type ClockPhase } from '../../domain/competition/clock.js';

const neurips = loadCompetition(path.join(PROJECT_ROOT, 'competitions', 'neurips2023.json'));
const at = (iso: string): number => Date.parse(iso);
const extension = (closesAt: string, reason = 'outage') => ({ phase: 'development', closesAt, by: 'ops', reason });

describe('the clock timeline of neurips2023.json', () => {
  it('starts with every phase pending at the file\'s instants, the final phase marked final', () => {
    const state = initialClockState(neurips);
    expect(state).toMatchObject({ competition: 'neurips2023', currentPhase: null, extensions: [], runs: [], verdicts: [], done: false });
    expect(state.phases.map((p) => [p.id, p.status, p.closesAt, p.final])).toEqual([
      ['development', 'pending', '2023-10-25T23:59:00Z', false],
      ['final', 'pending', '2023-11-20T00:00:00Z', true],
    ]);
    expect(isFinalPhase({ stages: ['build', 'open-eval'], quota: { perWindow: 3, window: 1 } })).toBe(false);
    expect(isFinalPhase({ stages: ['build'], quota: undefined })).toBe(false);
  });

  it('opens, then closes each phase in order, and ends after the last close', () => {
    const phases = clockPhases(neurips);
    expect(nextTransition(phases)).toEqual({ kind: 'open', phase: 'development', atMs: at('2023-07-25T00:00:00Z') });
    phases[0]!.status = 'open';
    expect(nextTransition(phases)).toEqual({ kind: 'close', phase: 'development', atMs: at('2023-10-25T23:59:00Z') });
    phases[0]!.status = 'closed';
    expect(nextTransition(phases)).toEqual({ kind: 'open', phase: 'final', atMs: at('2023-10-26T00:00:00Z') });
    expect(finalPhaseAfter(phases, 'development')?.id).toBe('final');
    expect(finalPhaseAfter(phases, 'final')).toBeNull();
    phases[1]!.status = 'closed';
    expect(nextTransition(phases)).toBeNull();
    expect(describeNext(phases, 2)).toEqual({ action: 'wait for 2 final/reproduction run(s) to end, then judge the reproductions', at: null });
    expect(describeNext(phases, 0)).toBeNull();
  });

  it('says that the development close starts the finals', () => {
    const phases = clockPhases(neurips);
    phases[0]!.status = 'open';
    expect(describeNext(phases, 0)).toEqual({ action: 'close phase "development" and start the final evaluations of phase "final"', at: '2023-10-25T23:59:00.000Z' });
  });
});

describe('a deadline extension', () => {
  const open = (): ClockPhase[] => {
    const phases = clockPhases(neurips);
    phases[0]!.status = 'open';
    return phases;
  };
  const now = at('2023-10-20T00:00:00Z');

  it('is accepted up to the next phase\'s opening', () => {
    expect(decideExtension(open(), extension('2023-10-25T23:59:30Z'), now)).toEqual({ accepted: true });
    expect(decideExtension(open(), extension('2023-10-26T00:00:00Z'), now)).toEqual({ accepted: true });
  });

  it('is refused, with the reason, into the past, past the next opening, for an unknown or closed phase, or without a reason', () => {
    const refusal = (phases: ClockPhase[], request: ReturnType<typeof extension>, nowMs = now): string => {
      const decision = decideExtension(phases, request, nowMs);
      if (decision.accepted) throw new Error('accepted');
      return decision.refusal;
    };
    expect(refusal(open(), extension('2023-10-19T00:00:00Z'))).toBe('2023-10-19T00:00:00Z is in the past (now 2023-10-20T00:00:00.000Z): a deadline can only move to a later instant');
    expect(refusal(open(), extension('2023-10-26T00:00:01Z'))).toContain('after the next phase "final" opens (2023-10-26T00:00:00Z)');
    expect(refusal(open(), { ...extension('2023-10-25T23:59:30Z'), phase: 'dev' })).toBe('no phase "dev" in this competition (phases: development, final)');
    expect(refusal(open(), extension('tomorrow'))).toContain('"tomorrow" is not an instant');
    expect(refusal(open(), extension('2023-10-25T23:59:30Z', '  '))).toContain('give a reason');
    const closed = open();
    closed[0]!.status = 'closed';
    closed[0]!.closedAt = '2023-10-25T23:59:00.000Z';
    expect(refusal(closed, extension('2023-10-25T23:59:30Z'), at('2023-10-25T23:59:10Z'))).toContain('already closed at 2023-10-25T23:59:00.000Z');
  });

  it('may move the last phase as far as it likes', () => {
    const phases = open();
    phases[0]!.status = 'closed';
    phases[1]!.status = 'open';
    expect(decideExtension(phases, { ...extension('2024-01-01T00:00:00Z'), phase: 'final' }, at('2023-11-01T00:00:00Z'))).toEqual({ accepted: true });
  });
});

describe('challenge competition status', () => {
  it('prints the open phase with its time left, the extensions, the runs, the verdicts and what comes next', () => {
    const state = initialClockState(neurips);
    state.currentPhase = 'development';
    state.phases[0]!.status = 'open';
    state.phases[0]!.closesAt = '2023-10-27T23:59:00.000Z';
    state.extensions.push({ ...extension('2023-10-27T23:59:00Z'), receivedAt: '2023-10-20T00:00:00.000Z', accepted: true, refusal: null, previousClosesAt: '2023-10-25T23:59:00Z' });
    const run = { runId: 'a.b.final', of: 'a.b', team: 'a', track: 'cpu', purpose: 'final' as const, phase: 'final', workflowId: 'submission-a.b.final' };
    state.runs.push({ ...run, status: 'failed', failureCategory: 'BuildFailed' });
    const reason = 'final score 0.410 reproduced vs 0.630 submitted (tolerance 0.05)';
    state.verdicts.push({ of: 'a.b', team: 'a', track: 'cpu', verdict: 'NotReproduced', reason, finalSubmitted: 0.63, finalReproduced: 0.41 });
    state.next = describeNext(state.phases, 0);
    const text = renderClockState(state, at('2023-10-26T23:59:00Z'));
    expect(text).toContain('competition neurips2023: phase "development" open, closes 2023-10-27T23:59:00.000Z (in 1d)');
    expect(text).toContain('extension of development to 2023-10-27T23:59:00Z by ops (outage): accepted, was 2023-10-25T23:59:00Z');
    expect(text).toMatch(/a\.b\.final\s+final\s+a\s+cpu\s+failed \(BuildFailed\)/);
    expect(text).toContain('NotReproduced  a.b (cpu): final score 0.410 reproduced vs 0.630 submitted');
    expect(text).toContain('next: close phase "development" and start the final evaluations of phase "final" at 2023-10-27T23:59:00.000Z (in 1d)');
  });
});
