/**
 * The names and messages of a track's placement workflow (workflows/placement.ts), shared by the workflow, the
 * activities that signal it from the asking pipeline, and the hosts that announce themselves.
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { TrackId } from '../temporal.config.js';
import type { Requester, SlotBookSnapshot } from '../domain/placement.js';

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
}
export interface SlotGranted {
  hostId: string;
  claim: number;
}

export const hostAnnouncedSignal = defineSignal<[HostAnnouncement]>('hostAnnounced');
export const hostWithdrawnSignal = defineSignal<[{ hostId: string }]>('hostWithdrawn');
export const slotReleasedSignal = defineSignal<[{ requester: Requester }]>('slotReleased');
export const slotRequestedSignal = defineSignal<[SlotRequest]>('slotRequested');
export const placementQuery = defineQuery<SlotBookSnapshot>('placement');
/** Sent by the placement to a requester when a slot is its (at once when one is free, else when one frees up). */
export const slotGrantedSignal = defineSignal<[SlotGranted]>('slotGranted');

export interface TrackPlacementInput {
  track: TrackId;
  /** The book carried across continue-as-new. */
  book?: SlotBookSnapshot;
}
