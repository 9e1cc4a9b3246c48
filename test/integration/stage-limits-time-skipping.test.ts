/**
 * The real limits of a GPU track (temporal.config.ts: fine-tune 24 h, open evaluation 300 min, closed
 * evaluation 600 min), enforced by the real submissionPipeline code on Temporal's time-skipping test server:
 * days of workflow time pass in seconds. The activities are stand-ins on the pipeline's real task queues: each
 * stage sends its start signal as a host does, then either never finishes (it heartbeats until the workflow
 * cancels it at the limit, and returns what it has, as a host's stage does) or finishes one second before
 * its limit. No Docker and no shared server: the test server is private to this file.
 *
 * The test server comes from Maven Central (scripts/ensure-test-server.sh), not from the SDK's download,
 * which this project's machines cannot reach.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Context } from '@temporalio/activity';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { TASK_QUEUES, limitsFor, type StageName, type TrackId } from '../../temporal.config.js';
import { announceHost, createPlacementActivities, createPlacementAuditActivities } from '../../activities/placement.js';
import type { BuildInput, BuiltImages, EvaluateInput, EvaluateResult, FineTuneInput, FineTuneResult, HostAssignment, PipelineInput, StageReport } from '../../contract/types.js';
import type { EvaluationSummary } from '../../domain/harness/evaluate.js';
import { stageStartedSignal, type PipelineState } from '../../contract/pipeline.js';
import type { submissionPipeline } from '../../workflows/submission-pipeline.js';
import type { History } from '@temporalio/common/lib/proto-utils.js';
import { runWithWorkers, startTimeSkipping } from '../support/time-skipping.js';

const TRACK: TrackId = 'a100-40gb';
const LIMITS = limitsFor(TRACK);
const HOST: HostAssignment = { hostId: 'ts-host', gpuQueue: TASK_QUEUES.hostGpu(TRACK, 'ts-host'), cpuQueue: TASK_QUEUES.hostCpu(TRACK, 'ts-host') };
const JUST_UNDER_MS = 1000;
/** Workflow time a never-finishing stand-in lets pass between two heartbeats once it is near its limit. */
const STEP_MS = 100;

/** How each stand-in stage behaves, by submission: never finishing, or finishing JUST_UNDER_MS before its limit. */
type Pace = 'never-finishes' | 'just-under';
const paceOf = (submissionId: string): Pace => (submissionId.startsWith('hangs') ? 'never-finishes' : 'just-under');

let env: TestWorkflowEnvironment;
let bundle: WorkflowBundleWithSourceMap;
const recorded = new Map<string, StageReport[]>();

function summary(total: number, answered: number): EvaluationSummary {
  return { total, answered, failed: 0, unanswered: total - answered, requestsSent: answered, stopReason: null, failuresByKind: {}, scenarios: [] };
}

/**
 * Sends the stage's start signal, as a host does when its container starts (the limit runs from there), then
 * runs the stage at `pace`. Returns whether the workflow cancelled it (its limit) before it finished.
 */
async function runStage(stage: StageName, limitMs: number, pace: Pace): Promise<{ cancelled: boolean; workflowMs: number }> {
  const ctx = Context.current();
  const started = await env.currentTimeMs();
  const workflowId = ctx.info.workflowExecution?.workflowId;
  if (!workflowId) throw new Error(`${stage} was not started by a workflow`);
  await ctx.client.workflow.getHandle(workflowId).signal(stageStartedSignal, { stage, at: started });
  // The test server's clock stands still while an activity runs: the stand-in moves it (env.sleep), as the hours
  // of a real stage would.
  if (pace === 'just-under') {
    await env.sleep(limitMs - JUST_UNDER_MS);
    return { cancelled: false, workflowMs: (await env.currentTimeMs()) - started };
  }
  // Never finishes on its own: up to a second before the limit at once, then in steps of STEP_MS, heartbeating (the
  // way a cancellation reaches an activity) until the workflow cancels it.
  await env.sleep(limitMs - JUST_UNDER_MS);
  while (!ctx.cancellationSignal.aborted) {
    ctx.heartbeat();
    await env.sleep(STEP_MS);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return { cancelled: true, workflowMs: (await env.currentTimeMs()) - started };
}

const hostActivities = {
  async claimHost(): Promise<HostAssignment> {
    return HOST;
  },
  async buildImages(input: BuildInput): Promise<BuiltImages> {
    return {
      inferenceImage: `ts/${input.submissionId}:inference`,
      trainImage: `ts/${input.submissionId}:train`,
      durationMs: 1,
      preflightWarnings: [],
      sourceDigest: 'sha256:0',
      reused: false,
      hostId: HOST.hostId,
    };
  },
  async fineTune(input: FineTuneInput): Promise<FineTuneResult> {
    const { cancelled, workflowMs } = await runStage('fine-tune', input.limitMs, paceOf(input.submissionId));
    const progress = { step: 10, totalSteps: 10, checkpoint: null };
    return {
      ending: cancelled ? 'cancelled' : 'completed',
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
      durationMs: workflowMs,
      logFile: 'fine-tune.log',
    };
  },
  async evaluate(input: EvaluateInput): Promise<EvaluateResult> {
    const { cancelled, workflowMs } = await runStage(input.suite === 'open' ? 'open-eval' : 'closed-eval', input.limitMs, paceOf(input.submissionId));
    return {
      ending: cancelled ? 'cancelled' : 'completed',
      reason: null,
      summary: cancelled ? summary(10, 4) : summary(10, 10),
      restarts: 0,
      stopDelayMs: null,
      peakMemoryBytes: null,
      durationMs: workflowMs,
      logFile: 'evaluate.log',
      hostId: HOST.hostId,
    };
  },
};

const bookkeepingActivities = {
  async registerSubmission(): Promise<void> {},
  async recordStage(report: StageReport): Promise<void> {
    recorded.set(report.submissionId, [...(recorded.get(report.submissionId) ?? []), report]);
  },
  async recordScores(): Promise<void> {},
  async recordPipelineEnd(): Promise<void> {},
  async hostStatus(): Promise<{ alive: boolean; lastSeen: string | null; silentForMs: number | null }> {
    return { alive: true, lastSeen: null, silentForMs: 0 };
  },
};

/** Runs `body` while every worker polls; they shut down when it settles. */
/** Runs the real submissionPipeline with every stage at `pace`, on the real limits of TRACK (no overrides). */
async function runPipeline(submissionId: string): Promise<{ state: PipelineState; stages: Map<StageName, StageReport>; timers: { durationMs: number; firedAfterMs: number | null }[] }> {
  const input: PipelineInput = {
    submissionId,
    team: 'time-skipping',
    submission: submissionId,
    track: TRACK,
    directory: '/nonexistent',
    suites: { open: 'open.json', closed: 'closed.json' },
    // The one setting that is not production's: a stand-in lets hours of workflow time pass between two heartbeats
    // (a real host heartbeats every few seconds), so the heartbeat timeout must outlast the longest stage.
    heartbeatTimeoutMs: LIMITS.fineTune + 3_600_000,
  };
  const workers = await Promise.all([
    // The orchestrator's worker as in production: workflows (the pipeline and the track's placement), bookkeeping
    // and the placement's messages as local activities, and its slot-holder audit.
    Worker.create({
      connection: env.nativeConnection,
      taskQueue: TASK_QUEUES.orchestrator,
      workflowBundle: bundle,
      activities: { ...bookkeepingActivities, ...createPlacementActivities(), ...createPlacementAuditActivities() },
    }),
    Worker.create({ connection: env.nativeConnection, taskQueue: TASK_QUEUES.track(TRACK), activities: hostActivities }),
    // The stand-ins see a cancellation within 100 ms of real time (by default a heartbeat may wait up to a minute).
    Worker.create({ connection: env.nativeConnection, taskQueue: HOST.gpuQueue, activities: hostActivities, maxHeartbeatThrottleInterval: 100, defaultHeartbeatThrottleInterval: 100 }),
    Worker.create({ connection: env.nativeConnection, taskQueue: HOST.cpuQueue, activities: hostActivities }),
  ]);
  const workflowId = `submission-${submissionId}`;
  const state = await runWithWorkers(workers, async () => {
    // The stand-in host announces its one slot to the track's placement, as a GPU host does at start.
    await announceHost(env.client, TRACK, HOST.hostId, 1);
    // Awaiting the result is what lets the test server skip time when nothing is running.
    return env.client.workflow.execute<typeof submissionPipeline>('submissionPipeline', { taskQueue: TASK_QUEUES.orchestrator, workflowId, args: [input] });
  });
  const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
  const stages = new Map((recorded.get(submissionId) ?? []).map((r) => [r.stage as StageName, r] as const));
  return { state, stages, timers: limitTimers(history) };
}

/** The workflow timers of a history: how long each was set for, and when it fired (workflow time), if it did. */
function limitTimers(history: History): { durationMs: number; firedAfterMs: number | null }[] {
  const ms = (t: { seconds?: unknown; nanos?: number | null } | null | undefined): number => Number(t?.seconds ?? 0) * 1000 + Math.floor((t?.nanos ?? 0) / 1e6);
  const events = history.events ?? [];
  return events
    .filter((e) => e.timerStartedEventAttributes)
    .map((started) => {
      const timerId = started.timerStartedEventAttributes!.timerId;
      const fired = events.find((e) => e.timerFiredEventAttributes?.timerId === timerId);
      return { durationMs: ms(started.timerStartedEventAttributes!.startToFireTimeout), firedAfterMs: fired ? ms(fired.eventTime) - ms(started.eventTime) : null };
    });
}

beforeAll(async () => {
  ({ env, bundle } = await startTimeSkipping());
}, 300_000);

afterAll(async () => {
  await env?.teardown();
});

describe('stage limits of a GPU track on the time-skipping test server', () => {
  it('uses the limits the README states', () => {
    expect(LIMITS).toMatchObject({ fineTune: 24 * 3_600_000, openEval: 300 * 60_000, closedEval: 600 * 60_000 });
  });

  const LIMITED: [StageName, number][] = [
    ['fine-tune', LIMITS.fineTune],
    ['open-eval', LIMITS.openEval],
    ['closed-eval', LIMITS.closedEval],
  ];
  const elapsedMs = (stage: StageReport | undefined): number => Date.parse(stage!.endedAt!) - Date.parse(stage!.startedAt!);

  it('stops each stage that never finishes at its limit and names it TimeLimit', async () => {
    const { state, stages, timers } = await runPipeline('hangs-forever');
    expect(state).toMatchObject({ outcome: 'completed', failureCategory: 'TimeLimit' });
    for (const [name, limitMs] of LIMITED) {
      expect({ stage: name, ...stages.get(name) }).toMatchObject({ stage: name, outcome: 'partial', failureCategory: 'TimeLimit', limitMs });
      // From the stage's start signal to its end: the limit, plus the moments the stand-in takes to see the
      // cancellation and answer it (steps of STEP_MS of workflow time).
      expect(elapsedMs(stages.get(name))).toBeGreaterThanOrEqual(limitMs);
      expect(elapsedMs(stages.get(name)) - limitMs).toBeLessThan(5_000);
    }
    // The durable timers behind them: set for exactly the limits, and each fired that long after it was set (the
    // server stamps events with its clock, which runs on for the milliseconds a workflow task takes).
    const fired = timers.filter((t) => t.firedAfterMs !== null);
    expect(fired.map((t) => t.durationMs)).toEqual(LIMITED.map(([, limitMs]) => limitMs));
    for (const [i, [, limitMs]] of LIMITED.entries()) {
      expect(fired[i]!.firedAfterMs).toBeGreaterThanOrEqual(limitMs);
      expect(fired[i]!.firedAfterMs! - limitMs).toBeLessThan(1_000);
    }
  }, 120_000);

  it('lets a stage that finishes a second under its limit pass', async () => {
    const { state, stages, timers } = await runPipeline('just-under-limit');
    expect(state).toMatchObject({ outcome: 'completed', failureCategory: null });
    for (const [name, limitMs] of LIMITED) {
      expect({ stage: name, ...stages.get(name) }).toMatchObject({ stage: name, outcome: 'succeeded', failureCategory: null, limitMs });
      expect(elapsedMs(stages.get(name))).toBeGreaterThanOrEqual(limitMs - JUST_UNDER_MS);
      expect(elapsedMs(stages.get(name))).toBeLessThan(limitMs);
    }
    expect(timers.map((t) => t.durationMs)).toEqual(expect.arrayContaining(LIMITED.map(([, limitMs]) => limitMs)));
    expect(timers.filter((t) => t.firedAfterMs !== null)).toEqual([]);
  }, 120_000);
});
