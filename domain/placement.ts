/**
 * The slot book of one track: which hosts are in service with how many GPU slots, which submission holds a
 * slot on which host (a lease, from its claim until its pipeline ends or leaves the host), which submissions
 * wait for a slot, and how much GPU time each team has used per competition phase. Pure bookkeeping, no
 * Temporal: the placement workflow (workflows/placement.ts) keeps one book per track, gives it the workflow's
 * clock (deterministic) and turns its answers into messages.
 *
 * Rules:
 *  - a request is answered at once with a host that has a free slot, the one with the most free slots (the
 *    work spreads over the hosts; ties go to the host announced first);
 *  - a host without a free slot never gets a lease, so a busy host leaves the claim to one that has a slot;
 *  - when no host has a free slot the request waits, and every slot that frees up (a release, a host announced
 *    or given more slots) goes at once to the waiting claim that is next (domain/placement-order.ts):
 *      1. re-claims after a failover first (they already ran; new submissions queue behind);
 *      2. then every claim that has waited longer than `maxWaitMs` (PLACEMENT_POLICY.fairShareMaxWaitMs), oldest first;
 *      3. then fair share: the claim of the team with the least GPU time used in the claim's phase ÷ the team's
 *         weight (default 1); ties: the team holding fewer slots now, then the older claim; a team's own
 *         claims go oldest first;
 *    with `order: 'fifo'` (the order before fair share, kept as the benchmark's reference) 2 and 3 are arrival order;
 *  - GPU time used = slot milliseconds from grant to release of the team's leases in that phase, plus the time
 *    so far of the leases it still holds;
 *  - every operation is idempotent per requester, because the messages that carry them are retried.
 *
 * Starvation bound: a claim is never passed by a claim that arrived after it once it has waited `maxWaitMs`
 * (rule 2 serves aged claims by age, before any fair-share order). From then on only re-claims (one per failover
 * of a running submission) and the aged claims older than it go first, and those are all in the book already: it
 * gets one of the next (claims older than it still waiting + re-claims) slots that free, so a claim waits at most
 * `maxWaitMs` plus the time until that many slots free (test/unit/placement-fair-share.test.ts drives it).
 */
import { nextClaimIndex, phaseOf, shareKey, teamOf, type OrderState, type PlacementOrder } from './placement-order.js';

export { NO_PHASE, UNKNOWN_TEAM, type PlacementOrder } from './placement-order.js';

/** One run of a workflow that holds or waits for a slot (a new run of the same workflow id is another requester). */
export interface Requester {
  workflowId: string;
  runId: string;
}

export const requesterKey = (requester: Requester): string => `${requester.workflowId}/${requester.runId}`;

export interface SlotHost {
  hostId: string;
  slots: number;
  /** false once the host withdrew or was reported lost; an announcement brings it back */
  inService: boolean;
}

/** Whose claim it is: the team and the competition phase its run is for (absent in messages from before fair share). */
export interface ClaimOwner {
  team?: string;
  /** absent: a run without a phase (NO_PHASE) */
  phase?: string;
}

/**
 * A requester's claim: `claim` counts its claims (1, then one more per failover), so a late answer to an earlier
 * claim is told apart from the answer to the current one.
 */
export interface SlotClaim extends ClaimOwner {
  requester: Requester;
  claim: number;
  /** when the claim was made, workflow ms (absent in books from before fair share: they count as the oldest) */
  since?: number;
  /** a re-claim after a failover: it goes first */
  reclaim?: boolean;
}

export interface SlotLease extends SlotClaim {
  hostId: string;
  /** when the slot was granted, workflow ms: its GPU time counts from here */
  grantedAt?: number;
}

/** A lease the requester must be told about. */
export interface SlotGrant {
  requester: Requester;
  claim: number;
  hostId: string;
}

export type SlotAnswer = { granted: true; hostId: string } | { granted: false; position: number };

/** GPU time of released leases, slot milliseconds per (phase, team). */
export interface GpuTime {
  phase: string;
  team: string;
  ms: number;
}

export interface TeamWeight {
  team: string;
  weight: number;
}

/** What the book is, as plain data (carried across continue-as-new). Optional parts: books from before fair share. */
export interface SlotBookSnapshot {
  hosts: SlotHost[];
  leases: SlotLease[];
  waiting: SlotClaim[];
  used?: GpuTime[];
  weights?: TeamWeight[];
}

/** One team's share in one phase, as operators see it. */
export interface TeamShare {
  phase: string;
  team: string;
  /** slot ms used: released leases plus the time so far of the ones held */
  usedMs: number;
  weight: number;
  holding: number;
  waiting: number;
}

/** The book as the placement query shows it: the snapshot, the order the waiting claims go in now, the teams' shares. */
export interface SlotBookView extends SlotBookSnapshot {
  at: number;
  order: PlacementOrder;
  /** the waiting claims in the order free slots would go to them now */
  next: SlotClaim[];
  teams: TeamShare[];
}

export interface SlotBookOptions {
  /** the clock (the workflow's Date.now(), deterministic); tests drive their own */
  now?: () => number;
  order?: PlacementOrder;
  /** a claim that has waited this long is served by age before any fair-share order */
  maxWaitMs?: number;
}

const copyClaim = <T extends SlotClaim>(claim: T): T => ({ ...claim, requester: { ...claim.requester } });

export class SlotBook {
  private readonly hosts: SlotHost[] = [];
  private readonly leases = new Map<string, SlotLease>();
  private readonly waiting: SlotClaim[] = [];
  /** released GPU time by shareKey(phase, team) */
  private readonly used = new Map<string, GpuTime>();
  private readonly weights = new Map<string, number>();
  private readonly now: () => number;
  readonly order: PlacementOrder;
  readonly maxWaitMs: number;

  constructor(options: SlotBookOptions = {}) {
    this.now = options.now ?? Date.now;
    this.order = options.order ?? 'fair-share';
    this.maxWaitMs = options.maxWaitMs ?? Number.POSITIVE_INFINITY;
  }

  static from(snapshot: SlotBookSnapshot | undefined, options: SlotBookOptions = {}): SlotBook {
    const book = new SlotBook(options);
    if (!snapshot) return book;
    const now = book.now();
    for (const host of snapshot.hosts) book.hosts.push({ ...host });
    // A lease from before fair share has no grant time: its GPU time counts from now.
    for (const lease of snapshot.leases) book.leases.set(requesterKey(lease.requester), { ...copyClaim(lease), grantedAt: lease.grantedAt ?? now });
    for (const waiting of snapshot.waiting) book.waiting.push(copyClaim(waiting));
    for (const used of snapshot.used ?? []) book.used.set(shareKey(used.phase, used.team), { ...used });
    for (const { team, weight } of snapshot.weights ?? []) book.weights.set(team, weight);
    return book;
  }

  snapshot(): SlotBookSnapshot {
    return {
      hosts: this.hosts.map((host) => ({ ...host })),
      leases: [...this.leases.values()].map(copyClaim),
      waiting: this.waiting.map(copyClaim),
      used: [...this.used.values()].map((used) => ({ ...used })),
      weights: [...this.weights].map(([team, weight]) => ({ team, weight })),
    };
  }

  /** Slots of `hostId` nobody holds (0 for a host out of service or unknown). */
  freeSlots(hostId: string): number {
    const host = this.hosts.find((h) => h.hostId === hostId);
    if (!host?.inService) return 0;
    return Math.max(0, host.slots - this.leasesOn(hostId));
  }

  leasesOn(hostId: string): number {
    let held = 0;
    for (const lease of this.leases.values()) if (lease.hostId === hostId) held++;
    return held;
  }

  get waitingCount(): number {
    return this.waiting.length;
  }

  /** A host starts (or keeps) serving with `slots` slots; waiting requesters take what it frees. */
  announce(hostId: string, slots: number): SlotGrant[] {
    const host = this.hosts.find((h) => h.hostId === hostId);
    if (host) Object.assign(host, { slots, inService: true });
    else this.hosts.push({ hostId, slots, inService: true });
    return this.fill();
  }

  /** A host leaves service (graceful shutdown): no new leases there; the ones it has stay until released. */
  withdraw(hostId: string): void {
    const host = this.hosts.find((h) => h.hostId === hostId);
    if (host) host.inService = false;
  }

  /**
   * An operator's weight for a team (default 1): its GPU time counts ÷ weight. Refused (false) unless positive
   * and finite; the order of the waiting claims changes at the next slot freed.
   */
  setWeight(team: string, weight: number): boolean {
    if (!(Number.isFinite(weight) && weight > 0)) return false;
    if (weight === 1) this.weights.delete(team);
    else this.weights.set(team, weight);
    return true;
  }

  /**
   * A requester asks for a slot; `replacing` names the host it lost (a failover), whose lease it gives up.
   * Asking again is harmless: a holder gets its host back, a waiting requester its place in the queue.
   */
  request(requester: Requester, replacing: string | null = null, claim = 1, owner: ClaimOwner = {}): SlotAnswer {
    const key = requesterKey(requester);
    const held = this.leases.get(key);
    if (held && held.hostId !== replacing) return { granted: true, hostId: held.hostId };
    const queued = this.waiting.findIndex((w) => requesterKey(w.requester) === key);
    if (queued !== -1) return { granted: false, position: this.positionOf(key) };
    if (replacing !== null) {
      this.endLease(key);
      this.withdraw(replacing);
    }
    const now = this.now();
    const entry: SlotClaim = { requester: { ...requester }, claim, since: now, ...ownerOf(owner), ...(replacing !== null ? { reclaim: true } : {}) };
    const hostId = this.hostWithMostFreeSlots();
    // A request only jumps a non-empty queue when it is a re-claim: new requests keep their turn.
    if (hostId !== null && (this.waiting.length === 0 || replacing !== null)) {
      this.leases.set(key, { ...entry, hostId, grantedAt: now });
      return { granted: true, hostId };
    }
    if (replacing !== null) this.waiting.unshift(entry);
    else this.waiting.push(entry);
    return { granted: false, position: this.positionOf(key) };
  }

  /** The lease a requester holds (its host and the claim that got it), if any. */
  lease(requester: Requester): SlotLease | undefined {
    const lease = this.leases.get(requesterKey(requester));
    return lease && copyClaim(lease);
  }

  /** A requester is done (its pipeline ended) or gave up waiting: its slot goes to the claim that is next. */
  release(requester: Requester): SlotGrant[] {
    const key = requesterKey(requester);
    const queued = this.waiting.findIndex((w) => requesterKey(w.requester) === key);
    if (queued !== -1) this.waiting.splice(queued, 1);
    this.endLease(key);
    return this.fill();
  }

  /** Who holds a slot where (undefined: no lease). */
  leaseOf(requester: Requester): string | undefined {
    return this.leases.get(requesterKey(requester))?.hostId;
  }

  /** Slot ms a team used in a phase: its released leases plus the time so far of those it holds. */
  usedMs(phase: string, team: string): number {
    return this.orderState().usedMs.get(shareKey(phase, team)) ?? 0;
  }

  weightOf(team: string): number {
    return this.weights.get(team) ?? 1;
  }

  /** The book for the placement query: the snapshot, the waiting claims in serving order, every team's share. */
  view(): SlotBookView {
    const state = this.orderState();
    const next = this.serveOrder(state);
    const teams = new Map<string, TeamShare>();
    const share = (phase: string | undefined, team: string | undefined): TeamShare => {
      const key = shareKey(phase, team);
      let found = teams.get(key);
      if (!found) {
        found = { phase: phaseOf(phase), team: teamOf(team), usedMs: state.usedMs.get(key) ?? 0, weight: this.weightOf(teamOf(team)), holding: 0, waiting: 0 };
        teams.set(key, found);
      }
      return found;
    };
    for (const used of this.used.values()) share(used.phase, used.team);
    for (const lease of this.leases.values()) share(lease.phase, lease.team).holding++;
    for (const waiting of this.waiting) share(waiting.phase, waiting.team).waiting++;
    for (const team of this.weights.keys()) if (![...teams.values()].some((t) => t.team === team)) share(undefined, team);
    const shares = [...teams.values()].sort((a, b) => a.phase.localeCompare(b.phase) || a.usedMs / a.weight - b.usedMs / b.weight || a.team.localeCompare(b.team));
    return { ...this.snapshot(), at: state.now, order: this.order, next, teams: shares };
  }

  /** Ends a lease, its slot time counted to its team in its phase. */
  private endLease(requester: string): void {
    const lease = this.leases.get(requester);
    if (!lease) return;
    this.leases.delete(requester);
    const now = this.now();
    const key = shareKey(lease.phase, lease.team);
    const used = this.used.get(key) ?? { phase: phaseOf(lease.phase), team: teamOf(lease.team), ms: 0 };
    used.ms += Math.max(0, now - (lease.grantedAt ?? now));
    this.used.set(key, used);
  }

  /** Where a waiting requester is in the serving order now (1 = next). */
  private positionOf(key: string): number {
    return this.serveOrder(this.orderState()).findIndex((w) => requesterKey(w.requester) === key) + 1;
  }

  /** The waiting claims in the order free slots would go to them now: each one served counts as held for those after it, as in fill. */
  private serveOrder(state: OrderState): SlotClaim[] {
    const holding = new Map(state.holding);
    const candidates = [...this.waiting];
    const next: SlotClaim[] = [];
    while (candidates.length > 0) {
      const picked = candidates.splice(nextClaimIndex(candidates, { ...state, holding }), 1)[0]!;
      next.push(copyClaim(picked));
      const key = shareKey(picked.phase, picked.team);
      holding.set(key, (holding.get(key) ?? 0) + 1);
    }
    return next;
  }

  private orderState(): OrderState {
    const now = this.now();
    const usedMs = new Map<string, number>();
    const holding = new Map<string, number>();
    for (const [key, used] of this.used) usedMs.set(key, used.ms);
    for (const lease of this.leases.values()) {
      const key = shareKey(lease.phase, lease.team);
      usedMs.set(key, (usedMs.get(key) ?? 0) + Math.max(0, now - (lease.grantedAt ?? now)));
      holding.set(key, (holding.get(key) ?? 0) + 1);
    }
    return { now, order: this.order, maxWaitMs: this.maxWaitMs, usedMs, holding, weightOf: (team) => this.weightOf(team) };
  }

  /** Hands free slots to waiting requesters, the next one first (rules in the header), while both last. */
  private fill(): SlotGrant[] {
    const grants: SlotGrant[] = [];
    while (this.waiting.length > 0) {
      const hostId = this.hostWithMostFreeSlots();
      if (hostId === null) break;
      const [next] = this.waiting.splice(nextClaimIndex(this.waiting, this.orderState()), 1);
      const lease: SlotLease = { ...copyClaim(next!), hostId, grantedAt: this.now() };
      this.leases.set(requesterKey(lease.requester), lease);
      grants.push({ requester: { ...lease.requester }, claim: lease.claim, hostId });
    }
    return grants;
  }

  private hostWithMostFreeSlots(): string | null {
    let best: string | null = null;
    let bestFree = 0;
    for (const host of this.hosts) {
      const free = this.freeSlots(host.hostId);
      if (free > bestFree) {
        best = host.hostId;
        bestFree = free;
      }
    }
    return best;
  }
}

/** The owner fields a claim keeps (no undefined keys: the snapshot is compared and carried as plain data). */
function ownerOf(owner: ClaimOwner): ClaimOwner {
  return { ...(owner.team !== undefined ? { team: owner.team } : {}), ...(owner.phase !== undefined ? { phase: owner.phase } : {}) };
}
