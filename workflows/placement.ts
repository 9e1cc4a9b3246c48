/**
 * Load-aware, fair-share placement: one `trackPlacement` workflow per track (id placement-<track>) holds the
 * track's slot book (domain/placement.ts). Hosts announce their GPU slots to it; a submission asks it for a slot
 * (naming its team and phase) and holds the lease until its pipeline ends; a submission that finds every slot
 * taken waits, and the first slot freed anywhere goes to the waiting claim whose team used the least GPU time in
 * its phase ÷ its weight (re-claims first; a claim that waited PLACEMENT_POLICY.fairShareMaxWaitMs by age first:
 * the starvation bound is in domain/placement.ts). An operator sets a team's weight with the teamWeight signal.
 * The order is the pure book's: it issues no commands, so it changed nothing in the recorded histories' replay.
 *
 * Why a workflow and not "hosts poll the shared claim queue only while they have a free slot":
 *  - the lease lasts a whole pipeline (hours), but a claim activity ends in milliseconds, so a claim worker's
 *    concurrency cannot say how many submissions a host holds; a slot-lease activity held for the whole
 *    pipeline could, but it learns that its pipeline ended only through a heartbeat's answer (up to
 *    0.8 × heartbeatTimeout later, 8 s in production), so a freed slot would idle for seconds while work waits;
 *  - a task waiting in a task queue sits in one of its partitions and a freed poller may poll another (up to
 *    1.5 s measured in bench/RESULTS.md on a server with the default partitions); here the queue is one array
 *    in one workflow and a hand-over costs a few messages;
 *  - it is durable the Temporal way: the book is event-sourced workflow state (a crashed worker replays it),
 *    requests, releases and grants are signals the server keeps until delivered (signal with start brings the
 *    placement up on first use), a waiting submission waits in its own workflow state, and the placement
 *    continues as new with its snapshot before its history grows large.
 * Requests are signals and not updates: a burst of submissions would pass the server's limit of in-flight
 * updates per workflow (10 by default; measured: 40 pipelines at once got ResourceExhausted and aborted
 * updates), while signals queue without limit; the price is that the answer comes back as a signal too.
 */
import {
  CancellationScope,
  allHandlersFinished,
  condition,
  continueAsNew,
  getExternalWorkflowHandle,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import { ACTIVITY_POLICY, PLACEMENT_POLICY, TASK_QUEUES, type TrackId } from '../temporal.config.js';
import { SlotBook, type ClaimOwner, type SlotGrant } from '../domain/placement.js';
import type { PlacementActivities, PlacementAuditActivities } from '../activities/placement.js';
import {
  hostAnnouncedSignal,
  hostWithdrawnSignal,
  placementQuery,
  slotGrantedSignal,
  slotReleasedSignal,
  slotRequestedSignal,
  teamWeightSignal,
  type TrackPlacementInput,
} from '../contract/placement.js';

import type { HostAssignment } from '../contract/types.js';

/** Pipelines started before this patch claim through the shared track queue (claimHost); later ones ask the placement. */
export const LOAD_AWARE_PLACEMENT_PATCH = 'load-aware-placement';

export async function trackPlacement(input: TrackPlacementInput): Promise<void> {
  // The workflow's clock is deterministic: GPU time (grant → release) and claim ages replay the same.
  const book = SlotBook.from(input.book, { now: () => Date.now(), order: input.order ?? 'fair-share', maxWaitMs: PLACEMENT_POLICY.fairShareMaxWaitMs });
  // Grants on their way to their requesters. Each is sent as soon as the message that made it is handled (not
  // after the grants before it were delivered): a freed slot is handed over within the same workflow task.
  const sending = new Set<Promise<void>>();
  const send = (grants: SlotGrant[]): void => {
    for (const grant of grants) {
      const delivery = getExternalWorkflowHandle(grant.requester.workflowId, grant.requester.runId)
        .signal(slotGrantedSignal, { hostId: grant.hostId, claim: grant.claim })
        // The requester's run is gone (ended, terminated): its slot goes to the next one.
        .catch(() => send(book.release(grant.requester)))
        .finally(() => sending.delete(delivery));
      sending.add(delivery);
    }
  };
  setHandler(hostAnnouncedSignal, ({ hostId, slots }) => send(book.announce(hostId, slots)));
  setHandler(hostWithdrawnSignal, ({ hostId }) => book.withdraw(hostId));
  setHandler(slotReleasedSignal, ({ requester }) => send(book.release(requester)));
  setHandler(slotRequestedSignal, ({ requester, replacing, claim, team, phase }) => {
    book.request(requester, replacing, claim, { team, phase });
    // Answered with the lease it holds, new or not: a repeated request (a retried message) gets the same host.
    const lease = book.lease(requester);
    if (lease) send([lease]);
  });
  // A weight that is not positive and finite is ignored (operations/placement.ts refuses it before sending).
  setHandler(teamWeightSignal, ({ team, weight }) => void book.setWeight(team, weight));
  setHandler(placementQuery, () => book.view());

  // A holder that ended without handing its slot back (terminated) would keep it for ever: while submissions wait,
  // the holders are checked every PLACEMENT_POLICY.leaseAuditMs and the slots of ended ones passed on.
  const audit = async (): Promise<void> => {
    for (;;) {
      await condition(() => book.waitingCount > 0);
      await sleep(PLACEMENT_POLICY.leaseAuditMs);
      if (book.waitingCount === 0) continue;
      const ended = await auditActivities.endedRequesters({ requesters: book.snapshot().leases.map((lease) => lease.requester) });
      for (const requester of ended) send(book.release(requester));
    }
  };
  const historyFull = () => workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > PLACEMENT_POLICY.historyEventsBeforeContinueAsNew;
  // The audit never ends by itself; the race ends when the history is full (an audit in flight is redone in the next run).
  await Promise.race([audit(), condition(historyFull)]);
  // Every grant delivered (or its slot passed on) and every handler done: the snapshot is the whole state.
  await condition(() => sending.size === 0 && allHandlersFinished());
  await continueAsNew<typeof trackPlacement>({ track: input.track, book: book.snapshot(), ...(input.order ? { order: input.order } : {}) });
}

// ---------------------------------------------------------------------------------------------
// The requester's side, used by the pipeline and re-evaluations.
// ---------------------------------------------------------------------------------------------

const auditActivities = proxyActivities<PlacementAuditActivities>({
  taskQueue: TASK_QUEUES.orchestrator,
  startToCloseTimeout: '5m',
  retry: ACTIVITY_POLICY.bookkeepingRetry,
});

const placement = proxyLocalActivities<PlacementActivities>({
  startToCloseTimeout: '30s',
  retry: ACTIVITY_POLICY.placementRetry,
});

/** The queues of a host of the track (what the old claimHost activity answered). */
export const hostAssignment = (track: TrackId, hostId: string): HostAssignment => ({
  hostId,
  gpuQueue: TASK_QUEUES.hostGpu(track, hostId),
  cpuQueue: TASK_QUEUES.hostCpu(track, hostId),
});

/**
 * The slot one workflow run holds on a host of its track. `claim` asks the placement and waits (durably, in this
 * workflow) for its grant, which comes at once when a host has a free slot; `release` hands the slot back and
 * must run however the workflow ends.
 */
export class SlotLease {
  private placed = false;
  private claims = 0;

  constructor(
    private readonly track: TrackId,
    /** The old claim, for histories recorded before the placement existed. */
    private readonly claimThroughQueue: () => Promise<HostAssignment>,
    /** whose claim it is: fair share orders waiting claims by their team's GPU time in the phase */
    private readonly owner: ClaimOwner = {},
  ) {}

  async claim(replacing: string | null): Promise<HostAssignment> {
    if (!patched(LOAD_AWARE_PLACEMENT_PATCH)) return this.claimThroughQueue();
    this.placed = true;
    const claim = ++this.claims;
    const granted: { hostId: string | null } = { hostId: null };
    setHandler(slotGrantedSignal, (grant) => {
      if (grant.claim === claim) granted.hostId = grant.hostId;
    });
    const info = workflowInfo();
    const request = { requester: { workflowId: info.workflowId, runId: info.runId }, replacing, claim, ...ownerFields(this.owner) };
    await placement.requestSlot({ track: this.track, request });
    await condition(() => granted.hostId !== null);
    return hostAssignment(this.track, granted.hostId!);
  }

  /** Hands the slot back (or leaves the queue); even when the workflow is being cancelled. */
  async release(): Promise<void> {
    if (!this.placed) return;
    this.placed = false;
    const info = workflowInfo();
    await CancellationScope.nonCancellable(() => placement.releaseSlot({ track: this.track, requester: { workflowId: info.workflowId, runId: info.runId } }));
  }
}

/** The owner's fields that are set (an absent phase stays absent: the book counts it under NO_PHASE). */
const ownerFields = (owner: ClaimOwner): ClaimOwner => ({
  ...(owner.team !== undefined ? { team: owner.team } : {}),
  ...(owner.phase !== undefined ? { phase: owner.phase } : {}),
});
