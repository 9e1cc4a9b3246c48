/**
 * The messages to a track's placement workflow (workflows/placement.ts). Requests and releases run as local
 * activities of the asking workflow (the orchestrator worker registers them next to the bookkeeping), so they
 * cost no activity task; hosts announce themselves from their process with the same client calls.
 *
 * Each call is a signal with start, so the first host or the first submission of a track brings the placement
 * up; each is idempotent, so a retried call is harmless.
 */
import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { TASK_QUEUES, type TrackId } from '../temporal.config.js';
import type { Requester } from '../domain/placement.js';
import {
  PLACEMENT_WORKFLOW_TYPE,
  hostAnnouncedSignal,
  hostWithdrawnSignal,
  placementWorkflowId,
  slotReleasedSignal,
  slotRequestedSignal,
  teamWeightSignal,
  type SlotRequest,
  type TeamWeightSet,
  type TrackPlacementInput,
} from '../contract/placement.js';

const startOptions = (track: TrackId) => ({
  workflowId: placementWorkflowId(track),
  taskQueue: TASK_QUEUES.orchestrator,
  args: [{ track }] as [TrackPlacementInput],
  staticSummary: `Placement of the ${track} track's submissions on its hosts`,
});

/** The answer comes back to the requester as a slotGranted signal. */
export async function requestSlot(client: Client, track: TrackId, request: SlotRequest): Promise<void> {
  await client.workflow.signalWithStart(PLACEMENT_WORKFLOW_TYPE, { ...startOptions(track), signal: slotRequestedSignal, signalArgs: [request] });
}

export async function releaseSlot(client: Client, track: TrackId, requester: Requester): Promise<void> {
  await client.workflow.signalWithStart(PLACEMENT_WORKFLOW_TYPE, { ...startOptions(track), signal: slotReleasedSignal, signalArgs: [{ requester }] });
}

/** A host offers its slots to its track (at start, and every PLACEMENT_POLICY.hostAnnounceMs). */
export async function announceHost(client: Client, track: TrackId, hostId: string, slots: number): Promise<void> {
  await client.workflow.signalWithStart(PLACEMENT_WORKFLOW_TYPE, { ...startOptions(track), signal: hostAnnouncedSignal, signalArgs: [{ hostId, slots }] });
}

/** A host stops taking new submissions (graceful shutdown); the ones it holds stay until they end or move. */
export async function withdrawHost(client: Client, track: TrackId, hostId: string): Promise<void> {
  await client.workflow.signalWithStart(PLACEMENT_WORKFLOW_TYPE, { ...startOptions(track), signal: hostWithdrawnSignal, signalArgs: [{ hostId }] });
}

/** An operator's weight for a team in the track's fair share (operations/placement.ts validates it first). */
export async function setTeamWeight(client: Client, track: TrackId, weight: TeamWeightSet): Promise<void> {
  await client.workflow.signalWithStart(PLACEMENT_WORKFLOW_TYPE, { ...startOptions(track), signal: teamWeightSignal, signalArgs: [weight] });
}

/** Local activities of the pipeline and re-evaluation workflows (registered on the orchestrator worker). */
export function createPlacementActivities() {
  return {
    async requestSlot(input: { track: TrackId; request: SlotRequest }): Promise<void> {
      await requestSlot(Context.current().client, input.track, input.request);
    },
    async releaseSlot(input: { track: TrackId; requester: Requester }): Promise<void> {
      await releaseSlot(Context.current().client, input.track, input.requester);
    },
  };
}

/** Activities of the placement workflow itself (registered on the orchestrator worker). */
export function createPlacementAuditActivities() {
  return {
    /** The slot holders whose run is no longer running (ended without handing the slot back, or unknown). */
    async endedRequesters(input: { requesters: Requester[] }): Promise<Requester[]> {
      const client = Context.current().client;
      const ended: Requester[] = [];
      for (const requester of input.requesters) {
        try {
          const described = await client.workflow.getHandle(requester.workflowId, requester.runId).describe();
          if (described.status.name !== 'RUNNING') ended.push(requester);
        } catch (error) {
          if (error instanceof WorkflowNotFoundError) ended.push(requester);
          else throw error;
        }
      }
      return ended;
    },
  };
}

export type PlacementAuditActivities = ReturnType<typeof createPlacementAuditActivities>;

export type PlacementActivities = ReturnType<typeof createPlacementActivities>;
