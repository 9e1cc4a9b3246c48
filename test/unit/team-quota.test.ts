/**
 * decideQuota, the one quota decision both results stores make inside their reservation transaction:
 * the rolling window's edges, the phase total, and operators' grants.
 */
import { describe, expect, it } from '@jest/globals';
import { decideQuota, type QuotaRule } from '../../domain/teams/quota.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.parse('2026-03-01T00:00:00.000Z');
const rule: QuotaRule = { perWindow: 3, window: DAY };

describe('decideQuota: the rolling window', () => {
  it('allows perWindow submissions, counting down what is left', () => {
    expect(decideQuota(rule, { counted: [], granted: 0, grantsUsed: 0 }, T0)).toMatchObject({
      allowed: true,
      usesGrant: false,
      left: 3,
      usedInWindow: 0,
      nextSlotAt: null,
      retryAfterMs: null,
      reason: null,
    });
    const two = decideQuota(rule, { counted: [T0, T0 + HOUR], granted: 0, grantsUsed: 0 }, T0 + 2 * HOUR);
    expect(two).toMatchObject({ allowed: true, left: 1, usedInWindow: 2, nextSlotAt: new Date(T0 + DAY).toISOString() });
  });

  it('refuses the fourth within 24 h, naming when the oldest leaves the window', () => {
    const now = T0 + 5 * HOUR;
    const decision = decideQuota(rule, { counted: [T0 + 2 * HOUR, T0, T0 + HOUR], granted: 0, grantsUsed: 0 }, now);
    expect(decision.allowed).toBe(false);
    expect(decision.left).toBe(0);
    expect(decision.nextSlotAt).toBe(new Date(T0 + DAY).toISOString());
    expect(decision.retryAfterMs).toBe(T0 + DAY - now);
    expect(decision.reason).toContain('3 submissions per team and track in any 24 h');
    expect(decision.reason).toContain(new Date(T0 + DAY).toISOString());
  });

  it('frees the slot exactly at oldest + window, and not a millisecond before', () => {
    const counted = [T0, T0 + HOUR, T0 + 2 * HOUR];
    const before = decideQuota(rule, { counted, granted: 0, grantsUsed: 0 }, T0 + DAY - 1);
    expect(before).toMatchObject({ allowed: false, retryAfterMs: 1, usedInWindow: 3 });
    const at = decideQuota(rule, { counted, granted: 0, grantsUsed: 0 }, T0 + DAY);
    expect(at).toMatchObject({ allowed: true, left: 1, usedInWindow: 2, nextSlotAt: new Date(T0 + HOUR + DAY).toISOString() });
  });

  it('names a window of minutes in minutes', () => {
    const decision = decideQuota({ perWindow: 1, window: 90 * 60_000 }, { counted: [T0], granted: 0, grantsUsed: 0 }, T0 + 1);
    expect(decision.reason).toContain('1 submissions per team and track in any 90m');
  });

  it('waits for enough to leave when the window holds more than a lowered perWindow allows', () => {
    const counted = [T0, T0 + HOUR, T0 + 2 * HOUR];
    const decision = decideQuota({ perWindow: 2, window: DAY }, { counted, granted: 0, grantsUsed: 0 }, T0 + 3 * HOUR);
    expect(decision.allowed).toBe(false);
    expect(decision.nextSlotAt).toBe(new Date(T0 + DAY).toISOString());
    expect(decision.retryAfterMs).toBe(T0 + HOUR + DAY - (T0 + 3 * HOUR));
  });
});

describe('decideQuota: the phase total', () => {
  const phaseRule: QuotaRule = { perWindow: 3, window: DAY, perPhase: 4 };

  it('counts every counted submission of the phase, in or out of the window', () => {
    const counted = [T0, T0 + HOUR, T0 + 2 * HOUR];
    const decision = decideQuota(phaseRule, { counted, granted: 0, grantsUsed: 0 }, T0 + 2 * DAY);
    expect(decision).toMatchObject({ allowed: true, left: 1, usedInWindow: 0, usedInPhase: 3, perPhase: 4 });
  });

  it('refuses with no retry time once the phase total is reached', () => {
    const counted = [T0, T0 + HOUR, T0 + 2 * HOUR, T0 + 2 * DAY];
    const decision = decideQuota(phaseRule, { counted, granted: 0, grantsUsed: 0 }, T0 + 2 * DAY + HOUR);
    expect(decision.allowed).toBe(false);
    expect(decision.retryAfterMs).toBeNull();
    expect(decision.usedInPhase).toBe(4);
    expect(decision.reason).toContain('the phase allows 4 submissions');
  });

  it('limits the window by what the phase has left', () => {
    const counted = [T0 - 2 * DAY, T0 - 2 * DAY + 1, T0 - 2 * DAY + 2];
    expect(decideQuota(phaseRule, { counted, granted: 0, grantsUsed: 0 }, T0).left).toBe(1);
  });
});

describe('decideQuota: grants', () => {
  const full = [T0, T0 + HOUR, T0 + 2 * HOUR];

  it('lets one more through on a grant when the window is used, marking it as using the grant', () => {
    const decision = decideQuota(rule, { counted: full, granted: 1, grantsUsed: 0 }, T0 + 3 * HOUR);
    expect(decision).toMatchObject({ allowed: true, usesGrant: true, left: 1, grantsLeft: 1, retryAfterMs: null, reason: null });
  });

  it('does not use a grant while the regular quota has room', () => {
    const decision = decideQuota(rule, { counted: [T0], granted: 2, grantsUsed: 0 }, T0 + HOUR);
    expect(decision).toMatchObject({ allowed: true, usesGrant: false, left: 4, grantsLeft: 2 });
  });

  it('refuses once the grants are used too', () => {
    const decision = decideQuota(rule, { counted: full, granted: 2, grantsUsed: 2 }, T0 + 3 * HOUR);
    expect(decision).toMatchObject({ allowed: false, grantsLeft: 0, retryAfterMs: T0 + DAY - (T0 + 3 * HOUR) });
  });

  it('goes past the phase total on a grant', () => {
    const decision = decideQuota({ ...rule, perPhase: 3 }, { counted: [T0 - 3 * DAY, T0 - 2 * DAY, T0 - DAY], granted: 1, grantsUsed: 0 }, T0 + HOUR);
    expect(decision).toMatchObject({ allowed: true, usesGrant: true, left: 1 });
  });

  it('never counts more grants left than were given', () => {
    expect(decideQuota(rule, { counted: full, granted: 1, grantsUsed: 3 }, T0 + 3 * HOUR).grantsLeft).toBe(0);
  });
});
