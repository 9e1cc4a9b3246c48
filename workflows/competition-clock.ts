/**
 * competitionClock: one per competition (workflow id `competition-<id>`). It opens and closes the phases of the
 * competition file on durable timers, so a phase changes on time with nobody watching and across server and worker
 * restarts (the timers live in the server's history). An operator's deadline extension arrives as a signal: it is
 * recorded with its decision and, when accepted, moves the pending timer. When a phase closes and the next one is a
 * final phase, it starts one submissionPipeline child per team and track (the team's final submission, run "as is"
 * with the final phase's stages and suites), then reproduces the top N of each track's final leaderboard (the team's
 * training re-run from the same source under the competition's fine-tune limit) and judges each reproduction.
 * Orchestration only: every read and write is an activity (activities/competition.ts).
 */
import { ParentClosePolicy, condition, executeChild, proxyActivities, setCurrentDetails, setHandler, upsertSearchAttributes } from '@temporalio/workflow';
import { ACTIVITY_POLICY, TASK_QUEUES } from '../temporal.config.js';
import type { CompetitionFile } from '../domain/competition/schema.js';
import { runSubmissionId, type PhaseRun } from '../domain/competition/runs.js';
import {
  decideExtension,
  describeNext,
  finalPhaseAfter,
  initialClockState,
  nextTransition,
  type ClockEvent,
  type ClockPhase,
  type ClockRun,
  type CompetitionClockState,
} from '../domain/competition/clock.js';
import type { CompetitionActivities, FinalSelection } from '../activities/competition.js';
import type { PipelineInput } from '../contract/types.js';
import { SA } from '../contract/search-attributes.js';
import { competitionStateQuery, extendDeadlineSignal } from '../contract/competition.js';
import { pipelineWorkflowId } from '../contract/pipeline.js';
import { submissionPipeline } from './submission-pipeline.js';

export interface CompetitionClockInput {
  competition: CompetitionFile;
  /** Settings every pipeline the clock starts gets (tests shorten the heartbeat and host timeouts). */
  pipeline?: Pick<PipelineInput, 'heartbeatTimeoutMs' | 'hostPolicy' | 'harness'>;
}

const REPRODUCTION_STAGES: PhaseRun['stages'] = ['build', 'fine-tune', 'open-eval', 'closed-eval'];

const clock = proxyActivities<CompetitionActivities>({
  taskQueue: TASK_QUEUES.orchestrator,
  startToCloseTimeout: '5m',
  retry: ACTIVITY_POLICY.bookkeepingRetry,
});

export async function competitionClock(input: CompetitionClockInput): Promise<CompetitionClockState> {
  const competition = input.competition;
  const state = initialClockState(competition);
  const phaseOf = (id: string): ClockPhase => state.phases.find((p) => p.id === id)!;
  const running = (): number => state.runs.filter((r) => r.status === 'running').length;
  const now = (): string => new Date().toISOString();
  setHandler(competitionStateQuery, () => ({ ...state, next: describeNext(state.phases, running()) }));

  const record = async (kind: ClockEvent['kind'], phase: string, detail: string): Promise<void> => {
    const event: ClockEvent = { at: now(), kind, phase, detail };
    state.events.push(event);
    await clock.recordClockEvent({ competition: competition.id, event });
  };
  const pendingRecords: Promise<void>[] = [];

  // An extension wakes the wait so the timer is set again for the new close.
  let extended = false;
  setHandler(extendDeadlineSignal, (request) => {
    const decision = decideExtension(state.phases, request, Date.now());
    const phase = state.phases.find((p) => p.id === request.phase);
    const previousClosesAt = decision.accepted && phase ? phase.closesAt : null;
    state.extensions.push({ ...request, receivedAt: now(), accepted: decision.accepted, refusal: decision.accepted ? null : decision.refusal, previousClosesAt });
    if (decision.accepted && phase) {
      phase.closesAt = new Date(Date.parse(request.closesAt)).toISOString();
      extended = true;
      pendingRecords.push(record('extension-accepted', phase.id, `${request.by} moved the close from ${previousClosesAt} to ${phase.closesAt}: ${request.reason}`));
    } else if (!decision.accepted) {
      pendingRecords.push(record('extension-refused', request.phase, `${request.by} asked for ${request.closesAt}: refused, ${decision.refusal}`));
    }
  });

  const showPhase = (): void => {
    upsertSearchAttributes([{ key: SA.Phase, value: state.currentPhase }]);
    const next = describeNext(state.phases, running());
    setCurrentDetails(`Competition **${competition.id}**: phase **${state.currentPhase ?? 'none open'}**${next ? `; next: ${next.action}${next.at ? ` at ${next.at}` : ''}` : ''}.`);
  };

  /** One pipeline run for the competition, tracked in the state until it ends. */
  const runPipeline = async (selection: FinalSelection, run: PhaseRun, limits: PipelineInput['limits']): Promise<ClockRun> => {
    const runId = runSubmissionId(selection.submissionId, run.purpose);
    const entry: ClockRun = {
      runId,
      of: selection.submissionId,
      team: selection.team,
      track: selection.track,
      purpose: run.purpose,
      phase: run.phase,
      workflowId: pipelineWorkflowId(runId),
      status: 'running',
      failureCategory: null,
    };
    state.runs.push(entry);
    const pipelineInput: PipelineInput = {
      submissionId: runId,
      team: selection.team,
      submission: selection.submission,
      track: selection.track,
      directory: selection.directory,
      suites: selection.suites,
      ...(selection.source ? { source: selection.source } : {}),
      ...(limits ? { limits } : {}),
      ...input.pipeline,
      run,
    };
    try {
      const ended = await executeChild(submissionPipeline, {
        workflowId: entry.workflowId,
        args: [pipelineInput],
        // A pipeline records its own end: it finishes even if the clock is terminated.
        parentClosePolicy: ParentClosePolicy.ABANDON,
        staticSummary: `${run.purpose} run of ${selection.submissionId} (phase ${run.phase})`,
      });
      entry.status = ended.outcome === 'running' ? 'completed' : ended.outcome;
      entry.failureCategory = ended.failureCategory;
    } catch {
      // The child could not start or ended without a result (terminated): recorded as our failure, not the team's.
      entry.status = 'failed';
      entry.failureCategory = 'Infrastructure';
    }
    return entry;
  };

  /** At `closed`'s close: the finals of `final`, then the reproductions of each track's top N and their verdicts. */
  const runFinals = async (closed: ClockPhase, final: ClockPhase): Promise<void> => {
    const selections = await clock.finalSelections({ competition, finalPhase: final.id, closedAt: closed.closedAt! });
    await record('finals-started', final.id, `${selections.length} final run(s): ${selections.map((s) => s.submissionId).join(', ') || 'none'}`);
    const finalRun: PhaseRun = { phase: final.id, purpose: 'final', stages: final.stages, of: '' };
    const finals = await Promise.all(selections.map((s) => runPipeline(s, { ...finalRun, of: s.submissionId }, undefined)));
    await record('finals-ended', final.id, finals.map((r) => `${r.runId} ${r.status}${r.failureCategory ? ` (${r.failureCategory})` : ''}`).join(', ') || 'no final runs');
    showPhase();

    const { topN, fineTuneLimit, finalTolerance, scenarioTolerance } = competition.reproduction;
    const tracks = [...new Set(selections.map((s) => s.track))];
    await Promise.all(
      tracks.map(async (track) => {
        const ofTrack = selections.filter((s) => s.track === track);
        const finalRuns = ofTrack.map((s) => runSubmissionId(s.submissionId, 'final'));
        const suites = ofTrack[0]!.suites;
        const top = topN > 0 ? await clock.finalists({ track, suites, finalRuns, topN }) : [];
        if (top.length === 0) return;
        await record('reproductions-started', final.id, `track ${track}: ${top.map((f) => `#${f.rank} ${f.of}`).join(', ')}`);
        const reproduction: PhaseRun = { phase: final.id, purpose: 'reproduction', stages: REPRODUCTION_STAGES, of: '' };
        const limits = fineTuneLimit === undefined ? undefined : { fineTune: fineTuneLimit };
        await Promise.all(top.map((f) => runPipeline(ofTrack.find((s) => s.submissionId === f.of)!, { ...reproduction, of: f.of }, limits)));
        const verdicts = await clock.judgeReproductions({ track, suites, tolerance: { finalTolerance, scenarioTolerance }, finalRuns, reproduced: top.map((f) => f.of) });
        state.verdicts.push(...verdicts);
        await record('verdicts', final.id, verdicts.map((v) => `${v.of} ${v.verdict}: ${v.reason}`).join('; '));
      }),
    );
    showPhase();
  };

  showPhase();
  const work: Promise<void>[] = [];
  for (;;) {
    const next = nextTransition(state.phases);
    if (!next) break;
    const waitMs = next.atMs - Date.now();
    if (waitMs > 0) {
      extended = false;
      // The durable timer: a signal that moved a close wakes it early, and the loop sets it again.
      if (await condition(() => extended, waitMs)) continue;
    }
    const phase = phaseOf(next.phase);
    if (next.kind === 'open') {
      phase.status = 'open';
      phase.openedAt = now();
      state.currentPhase = phase.id;
      showPhase();
      await record('opened', phase.id, `opened (closes ${phase.closesAt})`);
      continue;
    }
    phase.status = 'closed';
    phase.closedAt = now();
    if (state.currentPhase === phase.id) state.currentPhase = null;
    showPhase();
    await record('closed', phase.id, `closed${phase.closesAt !== phase.plannedClosesAt ? ` (extended from ${phase.plannedClosesAt})` : ''}`);
    const final = finalPhaseAfter(state.phases, phase.id);
    if (final) work.push(runFinals(phase, final));
  }
  await Promise.all(work);
  await Promise.all(pendingRecords);
  state.done = true;
  state.next = null;
  showPhase();
  return state;
}
