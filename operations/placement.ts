/**
 * A track's placement as operators see and steer it (workflows/placement.ts): its book (hosts, leases, the waiting
 * claims in the order they are served now, each team's GPU time used per phase with its weight) and a team's
 * fair-share weight. Shared by the CLI (cli/commands/placement.ts), the operator's web page (cli/commands/serve.ts fills
 * its `placement` source with placementsOf), the tests and the bench.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { z } from 'zod';
import { TRACK_IDS, TrackId } from '../temporal.config.js';
import type { SlotBookView } from '../domain/placement.js';
import { placementQuery, placementWorkflowId } from '../contract/placement.js';
import { setTeamWeight as signalTeamWeight } from '../activities/placement.js';

/** The track's placement book now; null when its placement has not started (no host announced, no submission asked). */
export async function placementOf(client: Client, track: TrackId): Promise<SlotBookView | null> {
  try {
    return await client.workflow.getHandle(placementWorkflowId(track)).query(placementQuery);
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return null;
    throw error;
  }
}

/** One track's placement as the operator's web page shows it: its book, null when not started, or why it could not be asked. */
export interface TrackPlacement {
  track: TrackId;
  view: SlotBookView | null;
  /** the query failed (no worker answers, Temporal refused): the page says so for this track only */
  error: string | null;
}

/** The placement of every track (all of TRACK_IDS by default), asked side by side; a track whose query fails carries its error. */
export async function placementsOf(client: Client, tracks: readonly TrackId[] = TRACK_IDS): Promise<TrackPlacement[]> {
  return Promise.all(
    tracks.map(async (track): Promise<TrackPlacement> => {
      try {
        return { track, view: await placementOf(client, track), error: null };
      } catch (error) {
        return { track, view: null, error: `the placement query of ${placementWorkflowId(track)} failed: ${error instanceof Error ? error.message : String(error)}` };
      }
    }),
  );
}

/** An operator's request to weigh a team: its GPU time counts ÷ weight when the waiting claims are ordered. */
export const TeamWeightRequest = z.object({
  track: TrackId,
  team: z.string().trim().min(1, 'name the team (its id, as in submission.json)'),
  weight: z
    .number({ error: 'the weight must be a number, e.g. 2 (twice the default share) or 0.5' })
    .refine((w) => Number.isFinite(w) && w > 0 && w <= 1000, { error: 'the weight must be a number above 0 and at most 1000 (1 is the default share)' }),
});
export type TeamWeightRequest = z.infer<typeof TeamWeightRequest>;

export class TeamWeightError extends Error {}

/**
 * Sets a team's weight on the track's placement (signal with start: a weight set before the first submission
 * holds from it on). Refused with a TeamWeightError naming the field when the request is not valid.
 */
export async function setTeamWeight(client: Client, request: TeamWeightRequest): Promise<TeamWeightRequest> {
  const parsed = TeamWeightRequest.safeParse(request);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new TeamWeightError(`team weight ${String(issue?.path[0] ?? '')}: ${issue?.message ?? 'not valid'}`);
  }
  await signalTeamWeight(client, parsed.data.track, { team: parsed.data.team, weight: parsed.data.weight });
  return parsed.data;
}
