/**
 * HostGuard's two answers to a host that does not pick up a pinned stage, on a real Temporal dev server
 * with the real pipeline workflow and bookkeeping, and stand-in host activities (no containers): which
 * host answers and when is what the test controls.
 *  - a busy host (alive in the liveness record, slow to take work) keeps the submission;
 *  - a gone host loses it: another host is claimed, prepared (its images, from the same sources) and
 *    the stage runs there as a continuation (not fresh).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Client } from '@temporalio/client';
import { Worker, type NativeConnection } from '@temporalio/worker';
import { fileURLToPath } from 'node:url';
import { TASK_QUEUES } from '../../temporal.config.js';
import { ResultsDb } from '../../infra/results-db.js';
import { createBookkeepingActivities } from '../../activities/bookkeeping.js';
import { announceHost, createPlacementActivities, createPlacementAuditActivities, withdrawHost } from '../../activities/placement.js';
import type { BuildInput, BuiltImages, EvaluateInput, EvaluateResult, FineTuneInput, FineTuneResult, PipelineInput } from '../../contract/types.js';
import { stageStartedSignal, type PipelineState } from '../../contract/pipeline.js';
import { Context } from '@temporalio/activity';
import { standInEvaluation, standInFineTune, standInImages, standInPipelineInput, startTestTemporal, type TestTemporal } from '../support/stand-in-host.js';

const WORKFLOWS = fileURLToPath(new URL('../../workflows/index.js', import.meta.url));
const TRACK = 'cpu' as const;

let temporal: TestTemporal;
let connection: NativeConnection;
let client: Client;
let db: ResultsDb;
/** Hosts the stand-in liveness record calls gone, and how long each has been silent. */
const goneHosts = new Map<string, number>();
const statusChecks: string[] = [];
let orchestrator: Worker;
let orchestratorRun: Promise<void>;

interface Call {
  host: string;
  activity: string;
  fresh?: boolean;
  stageStartedAt?: number | null;
  reuseIfPresent?: boolean;
}
const calls: Call[] = [];

/** Fine-tunings that hang (a host that stops answering mid-stage) until the test releases them. */
const hung: (() => void)[] = [];
/** When the hanging fine-tuning said it started (host clock). */
let signalledStart = 0;

/**
 * The activities of one stand-in host; every call is recorded with the host that served it. With
 * `hangFineTune`, fine-tuning signals its real start (as the real activity does) and then never answers.
 */
function hostActivities(host: string, hangFineTune = false) {
  return {
    async claimHost() {
      return { hostId: host, gpuQueue: TASK_QUEUES.hostGpu(TRACK, host), cpuQueue: TASK_QUEUES.hostCpu(TRACK, host) };
    },
    async buildImages(input: BuildInput): Promise<BuiltImages> {
      calls.push({ host, activity: 'buildImages', reuseIfPresent: input.reuseIfPresent ?? false });
      return standInImages(input.submissionId, host);
    },
    async fineTune(input: FineTuneInput): Promise<FineTuneResult> {
      calls.push({ host, activity: 'fineTune', fresh: input.fresh, stageStartedAt: input.stageStartedAt });
      if (hangFineTune) {
        const ctx = Context.current();
        signalledStart = Date.now();
        await ctx.client.workflow.getHandle(input.workflowId).signal(stageStartedSignal, { stage: 'fine-tune', at: signalledStart });
        await new Promise<void>((resolve) => hung.push(resolve));
      }
      return standInFineTune(host, 3, !input.fresh);
    },
    async evaluate(input: EvaluateInput): Promise<EvaluateResult> {
      calls.push({ host, activity: `evaluate ${input.suite}` });
      return standInEvaluation(input, host);
    },
  };
}

/**
 * Runs the workers of one host: with `claims`, the claim worker (pipelines before the placement) and its slots
 * announced to the track's placement (withdrawn when it stops); its GPU queue and its build queue.
 */
async function startHost(host: string, options: { claims: boolean; gpu: boolean; build: boolean; hangFineTune?: boolean }): Promise<() => Promise<void>> {
  const activities = hostActivities(host, options.hangFineTune);
  const workers = await Promise.all([
    ...(options.claims ? [Worker.create({ connection, taskQueue: TASK_QUEUES.track(TRACK), activities: { claimHost: activities.claimHost } })] : []),
    ...(options.gpu
      ? [
          Worker.create({
            connection,
            taskQueue: TASK_QUEUES.hostGpu(TRACK, host),
            activities: { fineTune: activities.fineTune, evaluate: activities.evaluate },
          }),
        ]
      : []),
    ...(options.build ? [Worker.create({ connection, taskQueue: TASK_QUEUES.hostCpu(TRACK, host), activities: { buildImages: activities.buildImages } })] : []),
  ]);
  const runs = workers.map((worker) => worker.run());
  if (options.claims) await announceHost(client, TRACK, host, 2);
  return async () => {
    for (const worker of workers) worker.shutdown();
    if (options.claims) await withdrawHost(client, TRACK, host);
    await Promise.all(runs);
  };
}

const input = (submissionId: string): PipelineInput =>
  standInPipelineInput(submissionId, TRACK, { heartbeatTimeoutMs: 2000, hostPolicy: { scheduleToStartMs: 1000, goneAfterMs: 5000 } });

beforeAll(async () => {
  temporal = await startTestTemporal('host-guard');
  ({ connection, client } = temporal);
  db = new ResultsDb(':memory:');
  const bookkeeping = createBookkeepingActivities(db);
  orchestrator = await Worker.create({
    connection,
    taskQueue: TASK_QUEUES.orchestrator,
    workflowsPath: WORKFLOWS,
    activities: {
      ...bookkeeping,
      ...createPlacementActivities(),
      ...createPlacementAuditActivities(),
      // The liveness record as the test wants it: alive unless the test declared the host gone.
      hostStatus: async ({ hostId }: { hostId: string; goneAfterMs: number }) => {
        statusChecks.push(hostId);
        const silentForMs = goneHosts.get(hostId);
        return silentForMs === undefined ? { alive: true, lastSeen: new Date().toISOString(), silentForMs: 0 } : { alive: false, lastSeen: null, silentForMs };
      },
    },
  });
  orchestratorRun = orchestrator.run();
}, 120_000);

afterAll(async () => {
  orchestrator?.shutdown();
  await orchestratorRun;
  db?.close();
  await temporal?.stop();
});

describe('HostGuard', () => {
  it('a busy host keeps the submission: the stage waits past the schedule-to-start timeout and runs there', async () => {
    calls.length = 0;
    statusChecks.length = 0;
    // Only the claim and build workers of "busy" run at first: its GPU slots are all taken.
    const stopClaimAndBuild = await startHost('busy', { claims: true, gpu: false, build: true });
    const handle = await client.workflow.start('submissionPipeline', {
      taskQueue: TASK_QUEUES.orchestrator,
      workflowId: 'guard-busy',
      args: [input('team.busy')],
    });
    const deadline = Date.now() + 30_000;
    while (statusChecks.filter((h) => h === 'busy').length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const stopGpu = await startHost('busy', { claims: false, gpu: true, build: false });
    const state = (await handle.result()) as PipelineState;
    await stopGpu();
    await stopClaimAndBuild();

    expect(state.outcome).toBe('completed');
    expect(state.failovers).toEqual([]);
    expect(state.host).toBe('busy');
    expect(statusChecks.filter((h) => h === 'busy').length).toBeGreaterThanOrEqual(2); // asked each time the wait ran out
    expect(calls.map((c) => `${c.host} ${c.activity}`)).toEqual(['busy buildImages', 'busy fineTune', 'busy evaluate open', 'busy evaluate closed']);
    expect(calls.find((c) => c.activity === 'fineTune')?.fresh).toBe(true); // the first execution anywhere
  }, 60_000);

  it('a gone host loses the submission: another host is claimed, gets the images, and continues the stage', async () => {
    calls.length = 0;
    statusChecks.length = 0;
    // "lost" builds and starts fine-tuning, then stops answering: no heartbeat, no more polling, gone in its record.
    const stopLost = await startHost('lost', { claims: true, gpu: true, build: true, hangFineTune: true });
    const handle = await client.workflow.start('submissionPipeline', {
      taskQueue: TASK_QUEUES.orchestrator,
      workflowId: 'guard-gone',
      args: [input('team.gone')],
    });
    const deadline = Date.now() + 30_000;
    while (hung.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const lostStopped = stopLost(); // stops polling at once; the hung attempt stays until released
    goneHosts.set('lost', 7000);
    const stopSpare = await startHost('spare', { claims: true, gpu: true, build: true });
    const state = (await handle.result()) as PipelineState;
    await stopSpare();
    for (const release of hung) release();
    await lostStopped;

    expect(state.outcome).toBe('completed');
    expect(state.host).toBe('spare');
    expect(state.failovers).toHaveLength(1);
    // 7000 ms is the silence the stand-in status reported; what the workflow computed from it is the moved start below.
    expect(state.failovers[0]).toMatchObject({ stage: 'fine-tune', from: 'lost', to: 'spare' });
    expect(statusChecks).toContain('lost');
    expect(calls.map((c) => `${c.host} ${c.activity}`)).toEqual([
      'lost buildImages',
      'lost fineTune',
      'spare buildImages',
      'spare fineTune',
      'spare evaluate open',
      'spare evaluate closed',
    ]);
    // The new host is prepared with images from the same sources, and training continues rather than starting
    // over, with its start moved by the time the lost host had been silent (not charged to the limit).
    expect(calls[1]).toMatchObject({ fresh: true, stageStartedAt: null });
    expect(calls[2]).toMatchObject({ reuseIfPresent: true });
    expect(calls[3]?.fresh).toBe(false);
    expect(calls[3]?.stageStartedAt).toBe(signalledStart + 7000);
    const fineTune = db.stages('team.gone').find((s) => s.stage === 'fine-tune');
    // Counted and recorded by the workflow (the stand-in activity only says where it resumed from).
    expect(fineTune?.details).toMatchObject({ failovers: 1, hostId: 'spare' });
  }, 60_000);
});
