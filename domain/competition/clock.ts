/**
 * The competition clock's decisions, pure and workflow-safe (type imports only, no Node, no clock of its own:
 * every instant is passed in): the phases' timeline with their effective closes, the next transition (a phase
 * opens or closes), whether an operator's deadline extension is accepted, and which phase is a final one.
 * workflows/competition-clock.ts runs them on durable timers; test/unit/competition-clock.test.ts checks them.
 */
import type { CompetitionFile, Phase, PhaseStage } from './schema.js';
import type { RunPurpose } from './runs.js';

export interface ClockPhase {
  id: string;
  opensAt: string;
  /** The effective close: the file's, or the last accepted extension's. */
  closesAt: string;
  /** The close the competition file says. */
  plannedClosesAt: string;
  status: 'pending' | 'open' | 'closed';
  /** Workflow time the clock opened / closed it (ISO), null until then. */
  openedAt: string | null;
  closedAt: string | null;
  /** A final phase: the organizers run it (no quota) and it evaluates (open-eval); it starts at the previous close. */
  final: boolean;
  stages: PhaseStage[];
}

/** An operator's request to move a phase's close. */
export interface DeadlineExtension {
  phase: string;
  closesAt: string;
  /** Who asked (an operator's name). */
  by: string;
  reason: string;
}

/** An extension as the clock received it, with its decision. */
export interface RecordedExtension extends DeadlineExtension {
  receivedAt: string;
  accepted: boolean;
  /** Why it was refused (null when accepted). */
  refusal: string | null;
  /** The close it replaced (accepted ones). */
  previousClosesAt: string | null;
}

export interface ClockRun {
  /** The run's submission id (`<id>.final`, `<id>.reproduction`). */
  runId: string;
  /** The development submission it was made from. */
  of: string;
  team: string;
  track: string;
  purpose: RunPurpose;
  phase: string;
  workflowId: string;
  status: 'running' | 'completed' | 'failed' | 'cancelled';
  failureCategory: string | null;
}

export interface ClockVerdict {
  /** The development submission whose final run was reproduced. */
  of: string;
  team: string;
  track: string;
  verdict: 'Reproduced' | 'NotReproduced';
  reason: string;
  finalSubmitted: number | null;
  finalReproduced: number | null;
}

export interface ClockEvent {
  at: string;
  kind: 'opened' | 'closed' | 'extension-accepted' | 'extension-refused' | 'finals-started' | 'finals-ended' | 'reproductions-started' | 'verdicts';
  phase: string;
  detail: string;
}

export interface ClockNext {
  action: string;
  /** When (ISO), null when it waits for runs to end. */
  at: string | null;
}

export interface CompetitionClockState {
  competition: string;
  /** The phase open now, null between phases, before the first and after the last. */
  currentPhase: string | null;
  phases: ClockPhase[];
  extensions: RecordedExtension[];
  runs: ClockRun[];
  verdicts: ClockVerdict[];
  events: ClockEvent[];
  next: ClockNext | null;
  done: boolean;
}

export interface Transition {
  kind: 'open' | 'close';
  phase: string;
  atMs: number;
}

/** A phase the organizers run at the previous close: it takes no uploads (no quota) and evaluates. */
export const isFinalPhase = (phase: Pick<Phase, 'quota' | 'stages'>): boolean => phase.quota === undefined && phase.stages.includes('open-eval');

export function clockPhases(competition: CompetitionFile): ClockPhase[] {
  return competition.phases.map((phase) => ({
    id: phase.id,
    opensAt: phase.opensAt,
    closesAt: phase.closesAt,
    plannedClosesAt: phase.closesAt,
    status: 'pending',
    openedAt: null,
    closedAt: null,
    final: isFinalPhase(phase),
    stages: [...phase.stages],
  }));
}

export function initialClockState(competition: CompetitionFile): CompetitionClockState {
  return { competition: competition.id, currentPhase: null, phases: clockPhases(competition), extensions: [], runs: [], verdicts: [], events: [], next: null, done: false };
}

/** The next thing the timeline does: the first phase not closed opens (if pending) or closes; null when all are closed. */
export function nextTransition(phases: readonly ClockPhase[]): Transition | null {
  const phase = phases.find((p) => p.status !== 'closed');
  if (!phase) return null;
  return phase.status === 'pending' ? { kind: 'open', phase: phase.id, atMs: Date.parse(phase.opensAt) } : { kind: 'close', phase: phase.id, atMs: Date.parse(phase.closesAt) };
}

/** The phase right after `phaseId` when it is a final one (its evaluations start at `phaseId`'s close). */
export function finalPhaseAfter(phases: readonly ClockPhase[], phaseId: string): ClockPhase | null {
  const index = phases.findIndex((p) => p.id === phaseId);
  const next = index >= 0 ? phases[index + 1] : undefined;
  return next?.final ? next : null;
}

/**
 * Whether an extension is accepted at `nowMs` (workflow time): the phase exists and is not closed, the new close is
 * a valid instant, in the future, after the phase opens, and not after the next phase opens.
 */
export function decideExtension(phases: readonly ClockPhase[], request: DeadlineExtension, nowMs: number): { accepted: true } | { accepted: false; refusal: string } {
  const refuse = (refusal: string) => ({ accepted: false as const, refusal });
  const index = phases.findIndex((p) => p.id === request.phase);
  const phase = phases[index];
  if (!phase) return refuse(`no phase "${request.phase}" in this competition (phases: ${phases.map((p) => p.id).join(', ')})`);
  if (phase.status === 'closed') return refuse(`phase "${phase.id}" already closed at ${phase.closedAt ?? phase.closesAt}; a closed phase cannot be extended`);
  if (!request.reason.trim()) return refuse('give a reason for the extension (--reason "...")');
  const closesAt = Date.parse(request.closesAt);
  if (Number.isNaN(closesAt)) return refuse(`"${request.closesAt}" is not an instant: write ISO-8601 with an offset, e.g. 2023-10-27T23:59:00Z`);
  if (closesAt <= nowMs) return refuse(`${request.closesAt} is in the past (now ${new Date(nowMs).toISOString()}): a deadline can only move to a later instant`);
  if (closesAt <= Date.parse(phase.opensAt)) return refuse(`${request.closesAt} is not after the phase opens (${phase.opensAt})`);
  const next = phases[index + 1];
  if (next && closesAt > Date.parse(next.opensAt)) return refuse(`${request.closesAt} is after the next phase "${next.id}" opens (${next.opensAt}); move that phase in the competition file first`);
  return { accepted: true };
}

/** What the clock does next, for the query and the CLI. */
export function describeNext(phases: readonly ClockPhase[], waitingRuns: number): ClockNext | null {
  const next = nextTransition(phases);
  if (next) {
    const final = next.kind === 'close' ? finalPhaseAfter(phases, next.phase) : null;
    const action = next.kind === 'open' ? `open phase "${next.phase}"` : `close phase "${next.phase}"${final ? ` and start the final evaluations of phase "${final.id}"` : ''}`;
    return { action, at: new Date(next.atMs).toISOString() };
  }
  return waitingRuns > 0 ? { action: `wait for ${waitingRuns} final/reproduction run(s) to end, then judge the reproductions`, at: null } : null;
}
