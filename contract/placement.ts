/**
 * The names and messages of a track's placement workflow (workflows/placement.ts), shared by the workflow, the
 * activities that signal it from the asking pipeline, the hosts that announce themselves and the operator's
 * placement commands (operations/placement.ts). Fields added with fair share are optional: messages and book
 * snapshots from before it still parse.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { TrackId } from '../temporal.config.js';
import type { PlacementOrder, Requester, SlotBookSnapshot, SlotBookView } from '../domain/placement.js';

export const placementWorkflowId = (track: TrackId): string => `placement-${track}`;
export const PLACEMENT_WORKFLOW_TYPE = 'trackPlacement';

export interface HostAnnouncement {
  hostId: string;
  slots: number;
}
export interface SlotRequest {
  requester: Requester;
  /** the host a failover lost (its lease is given up, the host leaves service until it announces itself again) */
  replacing: string | null;
  /** 1 for the first claim of a run, one more per re-claim: the grant names it, so a late grant is not mistaken */
  claim: number;
  /** the requester's team: fair share orders waiting claims by their team's GPU time (absent: from before fair share) */
  team?: string;
  /** the competition phase the run is for; absent: a run without a phase (counted under NO_PHASE) */
  phase?: string;
}
/** An operator's weight for a team: its GPU time counts ÷ weight (default 1; 2 = twice the share). */
export interface TeamWeightSet {
  team: string;
  weight: number;
}
export interface SlotGranted {
  hostId: string;
  claim: number;
}

export const hostAnnouncedSignal = defineSignal<[HostAnnouncement]>('hostAnnounced');
export const hostWithdrawnSignal = defineSignal<[{ hostId: string }]>('hostWithdrawn');
export const slotReleasedSignal = defineSignal<[{ requester: Requester }]>('slotReleased');
export const slotRequestedSignal = defineSignal<[SlotRequest]>('slotRequested');
export const teamWeightSignal = defineSignal<[TeamWeightSet]>('teamWeight');
/** The book, the waiting claims in the order they are served now, and each team's GPU time used per phase with its weight. */
export const placementQuery = defineQuery<SlotBookView>('placement');
/** Sent by the placement to a requester when a slot is its (at once when one is free, else when one frees up). */
export const slotGrantedSignal = defineSignal<[SlotGranted]>('slotGranted');

export interface TrackPlacementInput {
  track: TrackId;
  /** The book carried across continue-as-new. */
  book?: SlotBookSnapshot;
  /** How waiting claims are served (default 'fair-share'; 'fifo' is the order before it, the benchmark's reference). */
  order?: PlacementOrder;
}
