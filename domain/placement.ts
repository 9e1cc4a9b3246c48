/**
 * The slot book of one track: which hosts are in service with how many GPU slots, which submission holds a
 * slot on which host (a lease, from its claim until its pipeline ends or leaves the host), and which
 * submissions wait for a slot, in order. Pure bookkeeping, no Temporal: the placement workflow
 * (workflows/placement.ts) keeps one book per track and turns its answers into messages.
 *
 * Rules:
 *  - a request is answered at once with a host that has a free slot, the one with the most free slots (the
 *    work spreads over the hosts; ties go to the host announced first);
 *  - a host without a free slot never gets a lease, so a busy host leaves the claim to one that has a slot;
 *  - when no host has a free slot the request waits in the book's one queue, and every slot that frees up
 *    (a release, a host announced or given more slots) goes to the head of the queue at once;
 *  - a re-claim after a failover gives up the lease on the lost host, takes that host out of service until it
 *    announces itself again, and waits at the head of the queue (it already ran; new submissions queue behind);
 *  - every operation is idempotent per requester, because the messages that carry them are retried.
 */

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

/**
 * A requester's claim: `claim` counts its claims (1, then one more per failover), so a late answer to an earlier
 * claim is told apart from the answer to the current one.
 */
export interface SlotClaim {
  requester: Requester;
  claim: number;
}

export interface SlotLease extends SlotClaim {
  hostId: string;
}

/** A lease the requester must be told about. */
export type SlotGrant = SlotLease;

export type SlotAnswer = { granted: true; hostId: string } | { granted: false; position: number };

/** What the book is, as plain data (carried across continue-as-new, shown by the placement query). */
export interface SlotBookSnapshot {
  hosts: SlotHost[];
  leases: SlotLease[];
  waiting: SlotClaim[];
}

export class SlotBook {
  private readonly hosts: SlotHost[] = [];
  private readonly leases = new Map<string, SlotLease>();
  private readonly waiting: SlotClaim[] = [];

  static from(snapshot: SlotBookSnapshot | undefined): SlotBook {
    const book = new SlotBook();
    if (!snapshot) return book;
    for (const host of snapshot.hosts) book.hosts.push({ ...host });
    for (const lease of snapshot.leases) book.leases.set(requesterKey(lease.requester), { ...lease, requester: { ...lease.requester } });
    for (const waiting of snapshot.waiting) book.waiting.push({ ...waiting, requester: { ...waiting.requester } });
    return book;
  }

  snapshot(): SlotBookSnapshot {
    return {
      hosts: this.hosts.map((host) => ({ ...host })),
      leases: [...this.leases.values()].map((lease) => ({ ...lease, requester: { ...lease.requester } })),
      waiting: this.waiting.map((waiting) => ({ ...waiting, requester: { ...waiting.requester } })),
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
   * A requester asks for a slot; `replacing` names the host it lost (a failover), whose lease it gives up.
   * Asking again is harmless: a holder gets its host back, a waiting requester its place in the queue.
   */
  request(requester: Requester, replacing: string | null = null, claim = 1): SlotAnswer {
    const key = requesterKey(requester);
    const held = this.leases.get(key);
    if (held && held.hostId !== replacing) return { granted: true, hostId: held.hostId };
    const queued = this.waiting.findIndex((w) => requesterKey(w.requester) === key);
    if (queued !== -1) return { granted: false, position: queued + 1 };
    if (replacing !== null) {
      this.leases.delete(key);
      this.withdraw(replacing);
    }
    const hostId = this.hostWithMostFreeSlots();
    // A request only jumps a non-empty queue when it is a re-claim: new requests keep their turn.
    if (hostId !== null && (this.waiting.length === 0 || replacing !== null)) {
      this.leases.set(key, { requester: { ...requester }, claim, hostId });
      return { granted: true, hostId };
    }
    if (replacing !== null) this.waiting.unshift({ requester: { ...requester }, claim });
    else this.waiting.push({ requester: { ...requester }, claim });
    return { granted: false, position: replacing !== null ? 1 : this.waiting.length };
  }

  /** The lease a requester holds (its host and the claim that got it), if any. */
  lease(requester: Requester): SlotLease | undefined {
    const lease = this.leases.get(requesterKey(requester));
    return lease && { ...lease, requester: { ...lease.requester } };
  }

  /** A requester is done (its pipeline ended) or gave up waiting: its slot goes to the head of the queue. */
  release(requester: Requester): SlotGrant[] {
    const key = requesterKey(requester);
    const queued = this.waiting.findIndex((w) => requesterKey(w.requester) === key);
    if (queued !== -1) this.waiting.splice(queued, 1);
    this.leases.delete(key);
    return this.fill();
  }

  /** Who holds a slot where (undefined: no lease). */
  leaseOf(requester: Requester): string | undefined {
    return this.leases.get(requesterKey(requester))?.hostId;
  }

  /** Hands free slots to waiting requesters, head first, while both last. */
  private fill(): SlotGrant[] {
    const grants: SlotGrant[] = [];
    for (;;) {
      const head = this.waiting[0];
      const hostId = head ? this.hostWithMostFreeSlots() : null;
      if (!head || hostId === null) return grants;
      this.waiting.shift();
      const lease: SlotLease = { ...head, hostId };
      this.leases.set(requesterKey(head.requester), lease);
      grants.push({ ...lease, requester: { ...lease.requester } });
    }
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
