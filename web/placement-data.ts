/**
 * What the operator's placement page (/operator/placement, web/render-placement.ts) shows of each track's GPU
 * placement: hosts and slots in use, the waiting claims in the order the next slots go to them, and each team's
 * GPU time per phase with its weight and share. The books come from the server's `placement` source
 * (cli/commands/serve.ts fills it from operations/placement.ts placementsOf, the same query as
 * `challenge placement`); this module only asks it, bounded in time, and derives the figures the page prints.
 * When the source is absent, fails or does not answer in time the view says why instead of failing the page.
 * Operator only: team pages get only their own figures, cut down by web/team-placement.ts (a team must not see another team's GPU time).
 */
import type { TrackPlacement } from '../operations/placement.js';
import type { PlacementOrder, SlotBookView, TeamShare } from '../domain/placement.js';
import { pipelineWorkflowId } from '../contract/pipeline.js';
import { trackTitle } from './data.js';

/** Every track's placement book now (operations/placement.ts placementsOf through the server's Temporal client). */
export type PlacementSource = () => Promise<readonly TrackPlacement[]>;

/** How long the page waits for the placement queries before it says they did not answer. */
export const PLACEMENT_ANSWER_MS = 5_000;

/** How long one answer of the placement serves every page that asks (each team's /team reloads every 5 s while it runs). */
export const PLACEMENT_SHARED_MS = 3_000;

/**
 * One placement answer shared by every page for `ttlMs`, and one query in flight however many ask at once: with
 * hundreds of teams on /team, each page asking every track's placement workflow would be a query per team per
 * reload. A failure is not kept: the next page asks again.
 */
export function sharedFor(ttlMs: number, source: PlacementSource, now: () => number = Date.now): PlacementSource {
  let kept: { at: number; answer: readonly TrackPlacement[] } | null = null;
  let inFlight: Promise<readonly TrackPlacement[]> | null = null;
  return () => {
    if (kept && now() - kept.at < ttlMs) return Promise.resolve(kept.answer);
    inFlight ??= source()
      .then((answer) => {
        kept = { at: now(), answer };
        return answer;
      })
      .finally(() => {
        inFlight = null;
      });
    return inFlight;
  };
}

export interface PlacementHostRow {
  hostId: string;
  slots: number;
  held: number;
  inService: boolean;
}

export interface PlacementLeaseRow {
  workflowId: string;
  /** the submission of a pipeline's workflow id (submission-<id>), for the link; null for any other holder */
  submissionId: string | null;
  team: string | null;
  phase: string | null;
  hostId: string;
  claim: number;
  heldMs: number | null;
}

export interface PlacementWaitRow {
  /** 1: the next slot that frees goes to it */
  position: number;
  workflowId: string;
  submissionId: string | null;
  team: string | null;
  phase: string | null;
  reclaim: boolean;
  waitedMs: number | null;
}

export interface PlacementTeamRow extends TeamShare {
  /** usedMs ÷ weight: the figure fair share orders the waiting claims by (least first) */
  perWeightMs: number;
  /** the team's part of all GPU time used in the phase; null while none was used */
  shareOfPhase: number | null;
  /** weight ÷ the weights of the phase's teams: the part fair share steers it towards */
  weightShare: number;
}

export interface TrackPlacementView {
  track: string;
  title: string;
  /** 'not-started': no host announced, no submission asked yet; 'unreachable': its query failed (see error) */
  state: 'running' | 'not-started' | 'unreachable';
  error: string | null;
  order: PlacementOrder | null;
  slots: { inService: number; held: number; free: number };
  hosts: PlacementHostRow[];
  leases: PlacementLeaseRow[];
  waiting: PlacementWaitRow[];
  teams: PlacementTeamRow[];
}

export interface PlacementPageView {
  /** why no track could be shown (no source, Temporal down, no answer in time); null when the source answered */
  unavailable: string | null;
  tracks: TrackPlacementView[];
}

const PIPELINE_PREFIX = pipelineWorkflowId('');
const submissionOf = (workflowId: string): string | null =>
  workflowId.startsWith(PIPELINE_PREFIX) && workflowId.length > PIPELINE_PREFIX.length ? workflowId.slice(PIPELINE_PREFIX.length) : null;
const since = (at: number, from: number | undefined): number | null => (from === undefined ? null : Math.max(0, at - from));

/** Each team's row with its share of the phase's GPU time and of the phase's weights. */
export function teamRows(teams: readonly TeamShare[]): PlacementTeamRow[] {
  const usedByPhase = new Map<string, number>();
  const weightByPhase = new Map<string, number>();
  for (const t of teams) {
    usedByPhase.set(t.phase, (usedByPhase.get(t.phase) ?? 0) + t.usedMs);
    weightByPhase.set(t.phase, (weightByPhase.get(t.phase) ?? 0) + t.weight);
  }
  return teams.map((t) => {
    const used = usedByPhase.get(t.phase) ?? 0;
    return { ...t, perWeightMs: t.usedMs / t.weight, shareOfPhase: used > 0 ? t.usedMs / used : null, weightShare: t.weight / (weightByPhase.get(t.phase) ?? t.weight) };
  });
}

/** One track's book as the page prints it. */
export function trackPlacementView(placement: TrackPlacement): TrackPlacementView {
  const empty = { order: null, slots: { inService: 0, held: 0, free: 0 }, hosts: [], leases: [], waiting: [], teams: [] };
  const base = { track: placement.track, title: trackTitle(placement.track), error: placement.error, ...empty };
  if (placement.error !== null) return { ...base, state: 'unreachable' };
  const view: SlotBookView | null = placement.view;
  if (view === null) return { ...base, state: 'not-started' };
  const inServiceHosts = view.hosts.filter((h) => h.inService);
  const inService = inServiceHosts.reduce((sum, h) => sum + h.slots, 0);
  const heldInService = view.leases.filter((l) => inServiceHosts.some((h) => h.hostId === l.hostId)).length;
  return {
    ...base,
    state: 'running',
    order: view.order,
    slots: { inService, held: view.leases.length, free: Math.max(0, inService - heldInService) },
    hosts: view.hosts.map((h) => ({ hostId: h.hostId, slots: h.slots, held: view.leases.filter((l) => l.hostId === h.hostId).length, inService: h.inService })),
    leases: view.leases.map((l) => ({
      workflowId: l.requester.workflowId,
      submissionId: submissionOf(l.requester.workflowId),
      team: l.team ?? null,
      phase: l.phase ?? null,
      hostId: l.hostId,
      claim: l.claim,
      heldMs: since(view.at, l.grantedAt),
    })),
    waiting: view.next.map((w, i) => ({
      position: i + 1,
      workflowId: w.requester.workflowId,
      submissionId: submissionOf(w.requester.workflowId),
      team: w.team ?? null,
      phase: w.phase ?? null,
      reclaim: w.reclaim === true,
      waitedMs: since(view.at, w.since),
    })),
    teams: teamRows(view.teams),
  };
}

/** Asks the source, at most `timeoutMs`; never throws: what went wrong is in `unavailable`. */
export async function placementPageView(source: PlacementSource | undefined, timeoutMs: number = PLACEMENT_ANSWER_MS): Promise<PlacementPageView> {
  if (!source) return { unavailable: 'This server has no connection to the placement workflows (it was started without a Temporal client).', tracks: [] };
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), timeoutMs);
    timer.unref();
  });
  try {
    const answer = await Promise.race([source(), late]);
    if (answer === 'late') {
      const unavailable = `The placement workflows did not answer within ${timeoutMs / 1000} s: are Temporal and the orchestrator worker (node dist/workers/orchestrator.js) running?`;
      return { unavailable, tracks: [] };
    }
    return { unavailable: null, tracks: answer.map(trackPlacementView) };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { unavailable: `The placement could not be asked (${message}): is Temporal up (TEMPORAL_ADDRESS)? Reload the page once it is.`, tracks: [] };
  } finally {
    clearTimeout(timer);
  }
}
