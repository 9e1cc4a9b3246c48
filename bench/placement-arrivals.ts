/**
 * A track placement's own timeline, read from its workflow history (following its continue-as-new chain from the run
 * a benchmark round started): when each claim reached it (the server's time of each `slotRequested` signal), when it
 * granted each one (its `slotGranted` signal to the requester, recorded when the placement's workflow task
 * completed) and when each slot came back (`slotReleased`). The fair-share benchmark measures waits on this
 * timeline, so that how long this machine takes to start a burst of workflows, or to dispatch a GPU activity once a
 * slot is granted (costs of the machine, not of the order the placement serves), stays out of the figure.
 */
import type { Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import type { History } from '@temporalio/common/lib/proto-utils.js';
import { tsToMs } from '@temporalio/common/lib/time.js';
import { placementWorkflowId, slotGrantedSignal, slotReleasedSignal, slotRequestedSignal, type SlotGranted, type SlotRequest } from '../contract/placement.js';
import type { Requester } from '../domain/placement.js';
import type { TrackId } from '../temporal.config.js';

export interface PlacementEvent {
  /** the requesting workflow's id */
  workflowId: string;
  /** the claim's number (1: the run's first claim); null for a release */
  claim: number | null;
  /** the event's time on the Temporal server, epoch ms */
  at: number;
  /** its place in the placement's history (run, event id): the placement handles signals in this order */
  seq: number;
}

export interface PlacementTimeline {
  claims: PlacementEvent[];
  grants: PlacementEvent[];
  releases: PlacementEvent[];
}

/** The placement's claims, grants and releases from `firstRunId` on, each in history order. */
export async function placementTimeline(client: Client, track: TrackId, firstRunId: string): Promise<PlacementTimeline> {
  const timeline: PlacementTimeline = { claims: [], grants: [], releases: [] };
  const decode = <T>(payloads: readonly unknown[] | null | undefined, what: string): T => {
    const payload = payloads?.[0];
    if (!payload) throw new Error(`placement history of ${track}: a ${what} signal without its payload`);
    return defaultPayloadConverter.fromPayload<T>(payload as Parameters<typeof defaultPayloadConverter.fromPayload>[0]);
  };
  let runId: string | null = firstRunId;
  let run = 0;
  while (runId !== null) {
    run++;
    const history: History = await client.workflow.getHandle(placementWorkflowId(track), runId).fetchHistory();
    runId = null;
    for (const event of history.events ?? []) {
      const at = tsToMs(event.eventTime);
      // Event ids restart with each run of the chain: a run's events come after every earlier run's.
      const seq = run * 1e9 + Number(event.eventId);
      const received = event.workflowExecutionSignaledEventAttributes;
      if (received?.signalName === slotRequestedSignal.name) {
        const request = decode<SlotRequest>(received.input?.payloads, received.signalName);
        timeline.claims.push({ workflowId: request.requester.workflowId, claim: request.claim, at, seq });
      } else if (received?.signalName === slotReleasedSignal.name) {
        const { requester } = decode<{ requester: Requester }>(received.input?.payloads, received.signalName);
        timeline.releases.push({ workflowId: requester.workflowId, claim: null, at, seq });
      }
      const sent = event.signalExternalWorkflowExecutionInitiatedEventAttributes;
      if (sent?.signalName === slotGrantedSignal.name && sent.workflowExecution?.workflowId) {
        const grant = decode<SlotGranted>(sent.input?.payloads, sent.signalName);
        timeline.grants.push({ workflowId: sent.workflowExecution.workflowId, claim: grant.claim, at, seq });
      }
      const next: string | null | undefined = event.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId;
      if (next) runId = next;
    }
  }
  return timeline;
}
