/**
 * Which waiting claim of a track's slot book (domain/placement.ts) a freed slot goes to: re-claims after a
 * failover first, then claims that waited past the aging bound by age, then fair share by the team's GPU time
 * used in the claim's phase ÷ its weight. Kept apart from the book so the order is one small pure function that
 * the book's fill and the placement query's "next" list both use.
 */

/** 'fair-share': the rules above; 'fifo': arrival order (re-claims still first), the order before fair share. */
export type PlacementOrder = 'fair-share' | 'fifo';

/** The phase key of a run without a competition phase. */
export const NO_PHASE = 'none';
/** The team key of a claim from before fair share (its message named no team). */
export const UNKNOWN_TEAM = 'unknown';

export const phaseOf = (phase: string | undefined): string => phase ?? NO_PHASE;
export const teamOf = (team: string | undefined): string => team ?? UNKNOWN_TEAM;
/** One key per (phase, team): GPU time and held slots are counted per phase. */
export const shareKey = (phase: string | undefined, team: string | undefined): string => `${phaseOf(phase)}\u0000${teamOf(team)}`;

export interface OrderedClaim {
  team?: string;
  phase?: string;
  since?: number;
  reclaim?: boolean;
}

export interface OrderState {
  now: number;
  order: PlacementOrder;
  maxWaitMs: number;
  /** slot ms used by shareKey, held leases included up to `now` */
  usedMs: ReadonlyMap<string, number>;
  /** slots held now by shareKey */
  holding: ReadonlyMap<string, number>;
  weightOf: (team: string) => number;
}

/** A claim from before fair share has no `since`: it counts as the oldest (it waited since before the deploy). */
const ageOf = (claim: OrderedClaim): number => claim.since ?? 0;

/** The index in `waiting` (arrival order, re-claims in front) of the claim a freed slot goes to; -1 if none waits. */
export function nextClaimIndex(waiting: readonly OrderedClaim[], state: OrderState): number {
  if (waiting.length === 0) return -1;
  const reclaim = waiting.findIndex((claim) => claim.reclaim === true);
  if (reclaim !== -1) return reclaim;
  if (state.order === 'fifo') return 0;
  let best = -1;
  for (let i = 0; i < waiting.length; i++) {
    const claim = waiting[i]!;
    if (state.now - ageOf(claim) >= state.maxWaitMs && (best === -1 || ageOf(claim) < ageOf(waiting[best]!))) best = i;
  }
  if (best !== -1) return best;
  const rank = (claim: OrderedClaim): [number, number, number] => {
    const key = shareKey(claim.phase, claim.team);
    const weight = state.weightOf(teamOf(claim.team));
    return [(state.usedMs.get(key) ?? 0) / weight, (state.holding.get(key) ?? 0) / weight, ageOf(claim)];
  };
  let bestRank: [number, number, number] | null = null;
  for (let i = 0; i < waiting.length; i++) {
    const r = rank(waiting[i]!);
    if (bestRank === null || r[0] < bestRank[0] || (r[0] === bestRank[0] && (r[1] < bestRank[1] || (r[1] === bestRank[1] && r[2] < bestRank[2])))) {
      best = i;
      bestRank = r;
    }
  }
  return best;
}
