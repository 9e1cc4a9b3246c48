/**
 * infra/build-cgroup.ts, the pure parts: where a build's process limit goes on each engine hierarchy (cgroup v1
 * or v2, cgroupfs or systemd driver), and the operator's opt-out variable read strictly.
 */
import { describe, expect, it } from '@jest/globals';
import { NO_PROCESS_LIMIT_VARIABLE, describePlan, planBuildCgroup, processLimitOptedOut } from '../../infra/build-cgroup.js';

const NAME = 'challenge-build-0123456789ab-fedcba987654';

describe('the process limit of a build, per engine hierarchy', () => {
  it('cgroupfs v1: pids.max of the pids controller', () => {
    const plan = planBuildCgroup(NAME, { version: '1', driver: 'cgroupfs' }, '/cg');
    expect(plan).toEqual({ kind: 'cgroupfs-v1', parent: `/${NAME}`, dir: `/cg/pids/${NAME}` });
    expect(describePlan(plan, { version: '1', driver: 'cgroupfs' })).toBe(`cgroup v1, cgroupfs driver: pids.max of /cg/pids/${NAME}`);
  });

  it('cgroupfs v2: pids.max of the unified hierarchy', () => {
    expect(planBuildCgroup(NAME, { version: '2', driver: 'cgroupfs' }, '/cg')).toEqual({ kind: 'cgroupfs-v2', parent: `/${NAME}`, dir: `/cg/${NAME}` });
  });

  it('systemd driver, v2 or v1: a transient top-level slice (no dashes: a dash nests slices)', () => {
    for (const version of ['1', '2']) {
      const plan = planBuildCgroup(NAME, { version, driver: 'systemd' });
      expect(plan).toEqual({ kind: 'systemd-slice', parent: 'challenge_build_0123456789ab_fedcba987654.slice', unit: 'challenge_build_0123456789ab_fedcba987654.slice' });
    }
  });

  it('anything else has no plan, and says what the engine reported', () => {
    const plan = planBuildCgroup(NAME, { version: '', driver: '' });
    expect(plan.kind).toBe('none');
    expect(describePlan(plan, { version: '', driver: '' })).toBe(
      'cgroup v,  driver: no process limit (the Docker engine reports cgroup version "" with the "" driver, which this platform cannot bound)',
    );
  });

  it(`${NO_PROCESS_LIMIT_VARIABLE}: 1 or true opts out, unset or 0 does not, anything else is an error naming it`, () => {
    expect(['1', 'true'].map((v) => processLimitOptedOut({ [NO_PROCESS_LIMIT_VARIABLE]: v }))).toEqual([true, true]);
    expect([undefined, '', '0', 'false'].map((v) => processLimitOptedOut(v === undefined ? {} : { [NO_PROCESS_LIMIT_VARIABLE]: v }))).toEqual([false, false, false, false]);
    expect(() => processLimitOptedOut({ [NO_PROCESS_LIMIT_VARIABLE]: 'yes' })).toThrow(`${NO_PROCESS_LIMIT_VARIABLE}="yes": use 1`);
  });
});
