/**
 * What a signed-in team sees of the GPU placement (issue 26, fair share from the team's side): per track its own
 * GPU time in each phase (with its weight when an operator set one), how many of its submissions hold a slot,
 * and where each of its waiting submissions stands in the serving order ("2nd in line for cpu"). Built from the
 * same books as the operator's page (web/placement-data.ts, asked through the same bounded source), then cut down
 * to the team's own rows: another team's name, GPU time or claims never leave this module, only the position
 * numbers of the team's own claims (which say how many claims are ahead, not whose).
 */
import { placementPageView, type PlacementPageView, type PlacementSource, type TrackPlacementView } from './placement-data.js';
import type { PlacementOrder } from '../domain/placement.js';

/** The rule, as the team card and the participants' guide say it. */
export const FAIR_SHARE_RULE =
  "waiting submissions are served by each team's GPU time in the phase (divided by its weight), least first; a team's own runs wait behind other teams' first runs";

/** What the card says when the placement could not be asked (no source, a failure, no answer in time). */
export const QUEUE_UNAVAILABLE = 'The GPU queue is not available right now (the placement did not answer): reload this page in a minute.';

export interface TeamPhaseTime {
  phase: string;
  /** slot ms the team used in the phase: its released slots plus the time so far of those it holds */
  usedMs: number;
  /** the operator's weight for the team (1 unless set) */
  weight: number;
}

export interface TeamHeldSlot {
  /** the submission holding the slot, null for another kind of run of the team (a re-evaluation batch) */
  submissionId: string | null;
  phase: string | null;
  heldMs: number | null;
}

export interface TeamWaitingClaim {
  submissionId: string | null;
  phase: string | null;
  /** 1: the next slot that frees on the track is its */
  position: number;
  /** a re-claim after its host was lost: served before new claims */
  reclaim: boolean;
  waitedMs: number | null;
}

export interface TeamTrackQueue {
  track: string;
  title: string;
  /** 'unreachable': this track's placement did not answer (the others may have) */
  state: 'running' | 'unreachable';
  order: PlacementOrder | null;
  phases: TeamPhaseTime[];
  holding: TeamHeldSlot[];
  waiting: TeamWaitingClaim[];
}

export interface TeamQueueView {
  /** why nothing could be shown (QUEUE_UNAVAILABLE); null when the placement answered */
  unavailable: string | null;
  /** only the tracks where the team used GPU time, holds or waits for a slot, or whose placement did not answer */
  tracks: TeamTrackQueue[];
  rule: string;
}

/** 1st, 2nd, 3rd, 4th, …, 11th, 12th, 13th, 21st. */
export function ordinal(n: number): string {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
  return `${n}${suffix}`;
}

/** One track's book cut down to `team`'s own figures; null when the team has nothing on a track that answered. */
export function teamTrackQueue(track: TrackPlacementView, team: string): TeamTrackQueue | null {
  const base = { track: track.track, title: track.title, order: track.order };
  if (track.state === 'unreachable') return { ...base, state: 'unreachable', phases: [], holding: [], waiting: [] };
  const phases = track.teams.filter((t) => t.team === team).map((t) => ({ phase: t.phase, usedMs: t.usedMs, weight: t.weight }));
  const holding = track.leases.filter((l) => l.team === team).map((l) => ({ submissionId: l.submissionId, phase: l.phase, heldMs: l.heldMs }));
  const waiting = track.waiting
    .filter((w) => w.team === team)
    .map((w) => ({ submissionId: w.submissionId, phase: w.phase, position: w.position, reclaim: w.reclaim, waitedMs: w.waitedMs }));
  if (phases.length === 0 && holding.length === 0 && waiting.length === 0) return null;
  return { ...base, state: 'running', phases, holding, waiting };
}

/** The operator's page view cut down to `team`'s own figures. */
export function teamQueue(page: PlacementPageView, team: string): TeamQueueView {
  if (page.unavailable !== null) return { unavailable: QUEUE_UNAVAILABLE, tracks: [], rule: FAIR_SHARE_RULE };
  const tracks = page.tracks.map((t) => teamTrackQueue(t, team)).filter((t): t is TeamTrackQueue => t !== null);
  return { unavailable: null, tracks, rule: FAIR_SHARE_RULE };
}

/** Asks the source (bounded in time, as the operator's page does) and keeps `team`'s own figures; never throws. */
export async function teamQueueView(source: PlacementSource | undefined, team: string, timeoutMs?: number): Promise<TeamQueueView> {
  return teamQueue(await placementPageView(source, timeoutMs), team);
}
