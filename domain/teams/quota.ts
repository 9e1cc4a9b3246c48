/**
 * The quota decision, one pure function both results stores call inside their reservation transaction:
 * a team may have `perWindow` counted submissions per track in any rolling window, at most `perPhase` in
 * the phase, and beyond those as many as operators granted it. Refunded submissions do not count.
 */
import type { PhaseQuota } from '../competition/schema.js';
import { formatDuration } from '../units.js';

/** The quota of one phase, as the store needs it (milliseconds). */
export type QuotaRule = Pick<PhaseQuota, 'perWindow' | 'window' | 'perPhase'>;

/** What counts, gathered by the store for (team, track, phase) at the decision's instant. */
export interface QuotaUsage {
  /** Accepted-at (ms) of the counted, non-grant submissions in this phase and track. */
  counted: number[];
  /** Granted extra submissions in the phase, and how many of them counted submissions used. */
  granted: number;
  grantsUsed: number;
}

export interface QuotaDecision {
  allowed: boolean;
  /** Whether the next submission would use a grant (past the window or phase quota). */
  usesGrant: boolean;
  /** Submissions the team may still make now (window and phase quota, plus grants left). */
  left: number;
  usedInWindow: number;
  perWindow: number;
  usedInPhase: number;
  perPhase: number | null;
  grantsLeft: number;
  /** When the oldest counted submission of the window leaves it (ISO), null when none is in the window. */
  nextSlotAt: string | null;
  /** Refused: milliseconds until a slot frees, null when none will in this phase (phase total reached). */
  retryAfterMs: number | null;
  /** Refused: why, in a sentence a team can act on. */
  reason: string | null;
}

/** A window as the 2023 rules said it ("24 h"), else in the units of the competition file ("90m"). */
const windowText = (ms: number): string => (ms % 3_600_000 === 0 ? `${ms / 3_600_000} h` : formatDuration(ms));

export function decideQuota(rule: QuotaRule, usage: QuotaUsage, now: number): QuotaDecision {
  const inWindow = usage.counted.filter((at) => at > now - rule.window).sort((a, b) => a - b);
  const usedInPhase = usage.counted.length;
  const perPhase = rule.perPhase ?? null;
  const grantsLeft = Math.max(0, usage.granted - usage.grantsUsed);
  const phaseLeft = perPhase === null ? Number.POSITIVE_INFINITY : Math.max(0, perPhase - usedInPhase);
  const windowLeft = Math.max(0, rule.perWindow - inWindow.length);
  const regularLeft = Math.min(windowLeft, phaseLeft);
  const oldest = inWindow[0];
  const nextSlot = oldest === undefined ? null : oldest + rule.window;
  // Where a lowered perWindow left more in the window than it allows, a slot frees only when enough have left it.
  const freeing = inWindow[Math.max(0, inWindow.length - rule.perWindow)];
  const freesAt = freeing === undefined ? null : freeing + rule.window;
  const allowed = regularLeft > 0 || grantsLeft > 0;
  const phaseFull = phaseLeft === 0;
  const retryAfterMs = allowed || phaseFull || freesAt === null ? null : Math.max(0, freesAt - now);
  const reason = allowed
    ? null
    : phaseFull
      ? `the phase allows ${perPhase} submissions per team and track, and all are used; ask the organizers for a grant if one failed for a reason that was not yours`
      : `${rule.perWindow} submissions per team and track in any ${windowText(rule.window)} are used; the next slot frees at ${new Date(freesAt!).toISOString()}`;
  return {
    allowed,
    usesGrant: regularLeft === 0 && grantsLeft > 0,
    left: regularLeft + grantsLeft,
    usedInWindow: inWindow.length,
    perWindow: rule.perWindow,
    usedInPhase,
    perPhase,
    grantsLeft,
    nextSlotAt: nextSlot === null ? null : new Date(nextSlot).toISOString(),
    retryAfterMs,
    reason,
  };
}
