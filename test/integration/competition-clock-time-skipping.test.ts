/**
 * A whole competition timeline on Temporal's time-skipping test server, with the real competitionClock, the real
 * submissionPipeline children, the real bookkeeping and clock activities on a real SQLite results database, and
 * stand-in hosts (no Docker): days of workflow time pass in seconds.
 *  - A development phase of days (inference only) in which three teams' development runs are already recorded as
 *    completed (seeded in the results database the clock's activities read; team-a also has an older run, team-c a
 *    newer failed one, so the selection rule "latest completed" is exercised).
 *  - An operator extends the development close before it comes (accepted, and recorded), and asks for one past the
 *    final phase's opening (refused, with the reason kept).
 *  - The orchestrator worker is stopped after the phase opened and a new one started later (same test server): the
 *    new worker has no cache and carries the clock on from its history. The time-skipping server keeps its state in
 *    memory, so the server itself is not restarted here; that a timer outlives the server is Temporal's persistence.
 *  - The phase closes on its timer at the extended instant; the finals run (3 children, fine-tune skipped by the
 *    phase), the top 2 of the final board are reproduced (fine-tune runs), one within tolerance and one not (the
 *    stand-in evaluation scores that team's reproduced weights lower), and the verdicts are recorded.
 * The clock's history is replayed against the workflow code at the end, and kept as a replay fixture
 * (test/fixtures/histories) when RECORD_CLOCK_HISTORY names a file.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { TASK_QUEUES, type TrackId } from '../../temporal.config.js';
import { ResultsDb } from '../../infra/results-db.js';
import { announceHost, createPlacementActivities, createPlacementAuditActivities } from '../../activities/placement.js';
import { createBookkeepingActivities } from '../../activities/bookkeeping.js';
import { createCompetitionActivities } from '../../activities/competition.js';
import type { BuildInput, BuiltImages, EvaluateInput, EvaluateResult, FineTuneResult, HostAssignment } from '../../contract/types.js';
import { loadSuite, scenarioColumn } from '../../domain/harness/suite.js';
import { CompetitionFile } from '../../domain/competition/schema.js';
import { parseRunSubmissionId } from '../../domain/competition/runs.js';
import type { CompetitionClockState } from '../../domain/competition/clock.js';
import { SA } from '../../contract/search-attributes.js';
import { competitionStateQuery, competitionWorkflowId, extendDeadlineSignal } from '../../contract/competition.js';
import type { competitionClock } from '../../workflows/competition-clock.js';
import { historyToJSON } from '../support/history-json.js';
import { runWithWorkers, startTimeSkipping } from '../support/time-skipping.js';

const TRACK: TrackId = 'cpu';
const HOST: HostAssignment = { hostId: 'clock-host', gpuQueue: TASK_QUEUES.hostGpu(TRACK, 'clock-host'), cpuQueue: TASK_QUEUES.hostCpu(TRACK, 'clock-host') };
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Each team's score on every scenario column: as submitted (development and final runs), and as reproduced. */
const SCORES: Record<string, { submitted: number; reproduced: number }> = {
  'team-a': { submitted: 0.9, reproduced: 0.91 }, // within tolerance
  'team-b': { submitted: 0.7, reproduced: 0.2 }, // its training does not give what it submitted
  'team-c': { submitted: 0.5, reproduced: 0.5 }, // third: not reproduced at all (top 2)
};
const fineTuned: string[] = [];

const hostActivities = {
  async claimHost(): Promise<HostAssignment> {
    return HOST;
  },
  async buildImages(input: BuildInput): Promise<BuiltImages> {
    const images = { inferenceImage: `ts/${input.submissionId}:inference`, trainImage: `ts/${input.submissionId}:train` };
    return { ...images, durationMs: 1, preflightWarnings: [], sourceDigest: 'sha256:same', reused: false, hostId: HOST.hostId };
  },
  async fineTune(input: { submissionId: string }): Promise<FineTuneResult> {
    fineTuned.push(input.submissionId);
    const progress = { step: 10, totalSteps: 10, checkpoint: null };
    return {
      ending: 'completed',
      artifactsDir: '/artifacts',
      artifactFiles: 1,
      progress,
      resumedFrom: null,
      resumedFromSource: null,
      storedFiles: 1,
      hostId: HOST.hostId,
      attempt: 1,
      stopDelayMs: null,
      peakMemoryBytes: null,
      durationMs: 1,
      logFile: '/dev/null',
    };
  },
  /** Every instance answered; every column scores the team's figure (its reproduced one for a reproduction run). */
  async evaluate(input: EvaluateInput): Promise<EvaluateResult> {
    const { submissionId, purpose } = parseRunSubmissionId(input.submissionId);
    const team = submissionId.split('.')[0]!;
    const score = purpose === 'reproduction' ? SCORES[team]!.reproduced : SCORES[team]!.submitted;
    const suite = loadSuite(input.suiteFile);
    const scenarios = suite.scenarios.map((scenario) => {
      const column = scenarioColumn(scenario);
      const n = scenario.instances.length;
      return { scenario: scenario.name, column, instances: n, answered: n, failed: 0, score, columns: [{ column, score }] };
    });
    const total = scenarios.reduce((sum, s) => sum + s.instances, 0);
    return {
      ending: 'completed',
      reason: null,
      summary: { total, answered: total, failed: 0, unanswered: 0, requestsSent: total, stopReason: null, failuresByKind: {}, scenarios },
      restarts: 0,
      stopDelayMs: null,
      peakMemoryBytes: null,
      durationMs: 1,
      logFile: '/dev/null',
      hostId: HOST.hostId,
    };
  },
};

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundleWithSourceMap;
let db: ResultsDb;

/** The orchestrator's worker as in production (with a stand-in of the end-of-submission webhooks) (workflows, bookkeeping, placement, the clock's activities) and the stand-in host's. */
async function workers(cache: boolean): Promise<Worker[]> {
  return Promise.all([
    Worker.create({
      connection: env.nativeConnection,
      taskQueue: TASK_QUEUES.orchestrator,
      workflowBundle: bundle,
      // The first worker keeps no workflow cache: the time-skipping server never gives up a stopped worker's sticky
      // queue, so a cached run would wait there for it. Every task of the first worker, and the first of the second
      // one, replays the clock from its history.
      ...(cache ? {} : { maxCachedWorkflows: 0 }),
      activities: {
        ...createBookkeepingActivities(db),
        ...createPlacementActivities(),
        ...createPlacementAuditActivities(),
        ...createCompetitionActivities(db),
        notifySubmissionEnded: async () => undefined,
      },
    }),
    Worker.create({ connection: env.nativeConnection, taskQueue: TASK_QUEUES.track(TRACK), activities: hostActivities }),
    Worker.create({ connection: env.nativeConnection, taskQueue: HOST.gpuQueue, activities: hostActivities }),
    Worker.create({ connection: env.nativeConnection, taskQueue: HOST.cpuQueue, activities: hostActivities }),
  ]);
}

/** A development run recorded as it ended (what the clock's selection reads). */
async function seedDevelopmentRun(submissionId: string, submittedAt: number, outcome: 'completed' | 'failed'): Promise<void> {
  const [team, name] = submissionId.split('.') as [string, string];
  const at = new Date(submittedAt).toISOString();
  await db.registerRun({ submissionId, team, name, track: TRACK, directory: `/submissions/${submissionId}`, workflowId: `submission-${submissionId}`, runId: `run-${submissionId}`, submittedAt: at });
  const details = { sourceDigest: `sha256:${submissionId}` };
  await db.recordStage({ submissionId, stage: 'build', outcome: 'succeeded', failureCategory: null, reason: null, startedAt: null, endedAt: null, limitMs: null, details });
  await db.recordPipeline({ submissionId, outcome, failureCategory: outcome === 'failed' ? 'ServerCrashed' : null, reason: null, updatedAt: new Date(submittedAt).toISOString() });
}

beforeAll(async () => {
  ({ env, bundle } = await startTimeSkipping());
  db = new ResultsDb(path.join(mkdtempSync(path.join(os.tmpdir(), 'clock-ts-')), 'results.sqlite'));
}, 300_000);

afterAll(async () => {
  db?.close();
  await env?.teardown();
});

describe('the competition clock on the time-skipping test server', () => {
  it('opens, extends and closes the development phase on its timers, runs the finals and judges the top 2 reproductions', async () => {
    const t0 = await env.currentTimeMs();
    const iso = (ms: number): string => new Date(ms).toISOString();
    const plannedClose = t0 + 3 * DAY;
    const extendedClose = t0 + 3 * DAY + 12 * HOUR;
    const finalOpens = t0 + 4 * DAY;
    const competition = CompetitionFile.parse({
      schemaVersion: 1,
      id: 'clock-test',
      title: 'Clock timeline',
      tracks: [TRACK],
      phases: [
        { id: 'development', opensAt: iso(t0 + HOUR), closesAt: iso(plannedClose), stages: ['build', 'open-eval'], suites: { cpu: 'toy' }, quota: { perWindow: 3 } },
        { id: 'final', opensAt: iso(finalOpens), closesAt: iso(t0 + 20 * DAY), stages: ['build', 'open-eval', 'closed-eval'], suites: { cpu: 'toy' } },
      ],
      reproduction: { topN: 2, finalTolerance: 0.05, scenarioTolerance: 0.1, onFailure: 'mark' },
    });
    // Submitted while the development phase is open (it opens at t0 + 1 h); team-d's run is older than the phase (an
    // earlier competition's, in the same store) and must not reach these finals.
    await seedDevelopmentRun('team-a.early', t0 + 2 * HOUR, 'completed');
    await seedDevelopmentRun('team-a.late', t0 + DAY, 'completed');
    await seedDevelopmentRun('team-b.only', t0 + DAY, 'completed');
    await seedDevelopmentRun('team-c.good', t0 + 2 * HOUR, 'completed');
    await seedDevelopmentRun('team-c.crashed', t0 + DAY, 'failed');
    await seedDevelopmentRun('team-d.before', t0 - DAY, 'completed');

    const workflowId = competitionWorkflowId(competition.id);
    const handle = env.client.workflow.getHandle<typeof competitionClock>(workflowId);

    // ---- worker 1: the clock starts, the operator extends the close (and asks once for too much), the phase opens.
    const first = await runWithWorkers(await workers(false), async () => {
      await announceHost(env.client, TRACK, HOST.hostId, 4);
      await env.client.workflow.start<typeof competitionClock>('competitionClock', { taskQueue: TASK_QUEUES.orchestrator, workflowId, args: [{ competition }] });
      await handle.signal(extendDeadlineSignal, { phase: 'development', closesAt: iso(extendedClose), by: 'operator', reason: 'the cluster was down for half a day' });
      await handle.signal(extendDeadlineSignal, { phase: 'development', closesAt: iso(finalOpens + HOUR), by: 'operator', reason: 'too far' });
      await env.sleep(DAY); // the phase opens at t0 + 1 h on its timer
      const state = await handle.query(competitionStateQuery);
      const description = await handle.describe();
      return { state, phaseAttribute: description.typedSearchAttributes.get(SA.Phase) };
    });
    expect(first.state.currentPhase).toBe('development');
    expect(first.phaseAttribute).toBe('development');
    expect(first.state.extensions).toEqual([
      expect.objectContaining({ phase: 'development', closesAt: iso(extendedClose), accepted: true, refusal: null, previousClosesAt: iso(plannedClose) }),
      expect.objectContaining({ phase: 'development', accepted: false, refusal: expect.stringContaining('after the next phase "final" opens') }),
    ]);
    expect(first.state.phases[0]).toMatchObject({ status: 'open', closesAt: iso(extendedClose), plannedClosesAt: iso(plannedClose) });
    expect(Date.parse(first.state.phases[0]!.openedAt!) - (t0 + HOUR)).toBeLessThan(5_000);
    expect(first.state.next).toEqual({ action: 'close phase "development" and start the final evaluations of phase "final"', at: iso(extendedClose) });

    // ---- nobody watching: no worker at all past the close the file planned (nothing is due then: it was moved).
    await env.sleep(2 * DAY + 6 * HOUR);
    expect((await handle.describe()).status.name).toBe('RUNNING');

    // ---- worker 2 (a fresh worker, no cache: it replays the clock from its history) carries the timeline to its end.
    const ended: CompetitionClockState = await runWithWorkers(await workers(true), () => handle.result());
    const development = ended.phases.find((p) => p.id === 'development')!;
    expect(Date.parse(development.closedAt!)).toBeGreaterThanOrEqual(extendedClose);
    expect(Date.parse(development.closedAt!) - extendedClose).toBeLessThan(5_000);
    // The stand-ins take no workflow time, so the finals and reproductions end before the final phase opens (a day later).
    expect(ended.events.map((e) => `${e.kind} ${e.phase}`)).toEqual([
      'extension-accepted development',
      'extension-refused development',
      'opened development',
      'closed development',
      'finals-started final',
      'finals-ended final',
      'reproductions-started final',
      'verdicts final',
      'opened final',
      'closed final',
    ]);

    // Finals: one per team (team-a's latest, team-c's latest completed), inference only as the final phase says.
    const finals = ended.runs.filter((r) => r.purpose === 'final');
    expect(finals.map((r) => [r.runId, r.status]).sort()).toEqual([
      ['team-a.late.final', 'completed'],
      ['team-b.only.final', 'completed'],
      ['team-c.good.final', 'completed'],
    ]);
    expect((await db.stages('team-a.late.final')).find((s) => s.stage === 'fine-tune')).toMatchObject({ outcome: 'skipped' });
    // Reproductions: the top 2 of the final board, fine-tuned from the same source.
    const reproductions = ended.runs.filter((r) => r.purpose === 'reproduction');
    expect(reproductions.map((r) => [r.runId, r.status]).sort()).toEqual([
      ['team-a.late.reproduction', 'completed'],
      ['team-b.only.reproduction', 'completed'],
    ]);
    expect(fineTuned.sort()).toEqual(['team-a.late.reproduction', 'team-b.only.reproduction']);

    expect(ended.verdicts.map((v) => [v.of, v.verdict]).sort()).toEqual([
      ['team-a.late', 'Reproduced'],
      ['team-b.only', 'NotReproduced'],
    ]);
    const notReproduced = ended.verdicts.find((v) => v.of === 'team-b.only')!;
    expect(notReproduced.reason).toMatch(/final score 0\.\d{3} reproduced vs 0\.\d{3} submitted/);
    expect(notReproduced.reason).toContain('scenario columns outside ±0.1');
    expect(notReproduced.finalReproduced!).toBeLessThan(notReproduced.finalSubmitted!);
    const verdictOf = async (runId: string) => (await db.stages(runId)).find((s) => s.stage === 'reproduction');
    expect(await verdictOf('team-b.only.reproduction')).toMatchObject({ outcome: 'failed', failureCategory: 'NotReproduced' });
    expect(await verdictOf('team-a.late.reproduction')).toMatchObject({ outcome: 'succeeded', failureCategory: null });
    expect(ended.done).toBe(true);
    expect(ended.currentPhase).toBeNull();

    // The durable timer behind the close: set (after the extension) for the extended instant, and fired there.
    const history = await handle.fetchHistory();
    const ms = (t: { seconds?: unknown; nanos?: number | null } | null | undefined): number => Number(t?.seconds ?? 0) * 1000 + Math.floor((t?.nanos ?? 0) / 1e6);
    const events = history.events ?? [];
    const firedAt = events.filter((e) => e.timerFiredEventAttributes).map((e) => ms(e.eventTime));
    expect(firedAt.some((at) => Math.abs(at - extendedClose) < 5_000)).toBe(true);
    expect(firedAt.some((at) => Math.abs(at - plannedClose) < 5_000)).toBe(false);
    expect(events.filter((e) => e.workflowExecutionSignaledEventAttributes).map((e) => e.workflowExecutionSignaledEventAttributes!.signalName)).toEqual(['extendDeadline', 'extendDeadline']);

    // The recorded history replays with the workflow code as it is (kept as a fixture on request).
    await Worker.runReplayHistory({ workflowBundle: bundle }, history, workflowId);
    if (process.env.RECORD_CLOCK_HISTORY) writeFileSync(process.env.RECORD_CLOCK_HISTORY, historyToJSON(history));
  }, 240_000);
});
