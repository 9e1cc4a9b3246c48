/**
 * Benchmark 2, orchestration overhead: N pipelines of the real pipeline's shape (bench/workflows,
 * benchPipeline: 14 steps, 4 of them host stages under runWithLimit with a start signal each) whose
 * activities do nothing, on a real Temporal dev server with in-process workers. Overhead per pipeline =
 * the pipeline's wall time (client start → result) minus its activities' own time. The same run measures the
 * pipeline as it was (bookkeeping and claim as activity tasks) and as it is (local activities, placement).
 */
import { ACTIVITY_POLICY, TASK_QUEUES, TRACKS } from '../temporal.config.js';
import { announceHost, createPlacementActivities, createPlacementAuditActivities } from '../activities/placement.js';
import { createBenchActivities } from './activities.js';
import type { BenchPipelineInput, BenchPipelineResult } from './workflows/index.js';
import { BENCH_WORKFLOWS, fmt, isMain, log, mainOf, percentile, processCpuMs, row, temporalForBenchmark, withWorkers, freshPlacement, type BenchResult, type Row } from './support.js';
import type { Client } from '@temporalio/client';

const N = Number(process.env.BENCH_PIPELINES ?? 40);
const SEQUENTIAL = 5;
/** The project's orchestrator queue: the track's placement workflow (workflows/placement.ts) is started there. */
const ORCH_QUEUE = TASK_QUEUES.orchestrator;
const HOST_QUEUE = 'bench-host';
type Orchestration = BenchPipelineInput['orchestration'];
const MODES: Orchestration[] = ['activity-tasks', 'local'];
const LABEL: Record<Orchestration, string> = { 'activity-tasks': 'bookkeeping and claim as activity tasks (before)', local: 'bookkeeping as local activities, claim from the placement (now)' };

interface PipelineRun {
  wallMs: number;
  overheadMs: number;
  result: BenchPipelineResult;
}

let seq = 0;
async function pipeline(client: Client, orchestration: Orchestration): Promise<PipelineRun> {
  const id = `bench-pipeline-${process.pid}-${seq++}`;
  const t0 = performance.now();
  const result = await client.workflow.execute('benchPipeline', {
    taskQueue: ORCH_QUEUE,
    workflowId: id,
    args: [
      {
        submissionId: id,
        orchestratorQueue: ORCH_QUEUE,
        hostQueue: HOST_QUEUE,
        limitMs: 3_600_000,
        heartbeatTimeoutMs: ACTIVITY_POLICY.heartbeatTimeoutMs,
        workMs: 0,
        orchestration,
      } satisfies BenchPipelineInput,
    ],
  }) as BenchPipelineResult;
  const wallMs = performance.now() - t0;
  return { wallMs, overheadMs: wallMs - result.workMs, result };
}

async function bare(client: Client): Promise<number> {
  const t0 = performance.now();
  await client.workflow.execute('benchBareActivity', { taskQueue: ORCH_QUEUE, workflowId: `bench-bare-${process.pid}-${seq++}`, args: [{ queue: HOST_QUEUE }] });
  return performance.now() - t0;
}

interface Batch {
  runs: PipelineRun[];
  batchMs: number;
  serverCpuPerPipeline: number | null;
  workerCpuPerPipeline: number;
}

async function batch(client: Client, serverPid: number | null, orchestration: Orchestration): Promise<Batch> {
  log(`orchestration: ${N} pipelines at once, ${LABEL[orchestration]}`);
  const c0 = processCpuMs(serverPid);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const runs = await Promise.all(Array.from({ length: N }, () => pipeline(client, orchestration)));
  const batchMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const c1 = processCpuMs(serverPid);
  return { runs, batchMs, serverCpuPerPipeline: c0 !== null && c1 !== null ? (c1 - c0) / N : null, workerCpuPerPipeline: (cpu.user + cpu.system) / 1000 / N };
}

export async function runOrchestration(): Promise<BenchResult> {
  const started = performance.now();
  const temporal = await temporalForBenchmark();
  try {
    const activities = createBenchActivities();
    const data = await withWorkers(
      temporal.address,
      [
        // The workflows' worker runs their local activities too: the bookkeeping stand-in and the real placement messages.
        { taskQueue: ORCH_QUEUE, workflowsPath: BENCH_WORKFLOWS, activities: { noop: activities.noop, ...createPlacementActivities(), ...createPlacementAuditActivities() } },
        { taskQueue: HOST_QUEUE, activities: { noop: activities.noop, claimHost: activities.claimHost, stage: activities.stage } },
      ],
      async (client) => {
        await freshPlacement(client, 'cpu');
        // One host with more slots than pipelines: the claim never waits, so what is measured is its cost.
        await announceHost(client, 'cpu', 'bench-host', 10 * N);
        log('orchestration: warm-up');
        for (let i = 0; i < 3; i++) for (const mode of MODES) await pipeline(client, mode);
        for (let i = 0; i < 3; i++) await bare(client);
        log(`orchestration: reference, ${SEQUENTIAL} one-activity workflows one after another`);
        const bareMs: number[] = [];
        for (let i = 0; i < SEQUENTIAL; i++) bareMs.push(await bare(client));
        log(`orchestration: ${SEQUENTIAL} pipelines of each kind one after another, alternating`);
        const sequential: Record<Orchestration, PipelineRun[]> = { 'activity-tasks': [], local: [] };
        for (let i = 0; i < SEQUENTIAL; i++) for (const mode of MODES) sequential[mode].push(await pipeline(client, mode));
        const concurrent = { 'activity-tasks': await batch(client, temporal.pid, 'activity-tasks'), local: await batch(client, temporal.pid, 'local') };
        return { bareMs, sequential, concurrent };
      },
    );
    const { bareMs, sequential, concurrent } = data;
    const over = (runs: PipelineRun[]) => runs.map((r) => r.overheadMs);
    const perStep = (runs: PipelineRun[]) => runs.map((r) => r.overheadMs / r.result.activities);
    const bareP50 = percentile(bareMs, 50);
    const before = { seq: sequential['activity-tasks'], batch: concurrent['activity-tasks'] };
    const now = { seq: sequential.local, batch: concurrent.local };
    const steps = now.seq[0]!.result.activities;
    const rate = (b: Batch) => N / (b.batchMs / 1000);
    const shortestLimit = Math.min(...Object.values(TRACKS).flatMap((t) => [t.limits.build, t.limits.fineTune, t.limits.openEval, t.limits.closedEval]));
    const nowP50 = percentile(over(now.seq), 50);
    const signalsP50 = percentile(
      now.seq.map((r) => r.result.signalMs),
      50,
    );
    const rateRatio = rate(now.batch) / rate(before.batch);
    const rows: Row[] = [
      row(
        'overhead per pipeline, one at a time, p50',
        nowP50,
        'ms',
        'same pipeline with bookkeeping and claim as activity tasks (before)',
        percentile(over(before.seq), 50),
        'ms',
        { target: '< 500 ms', pass: nowP50 < 500 },
      ),
      row('overhead per pipeline, one at a time, p95', percentile(over(now.seq), 95), 'ms', 'before, p95', percentile(over(before.seq), 95), 'ms'),
      row(`pipelines per second, ${N} at once`, rate(now.batch), '/s', 'before, same run', rate(before.batch), '/s', { target: '≥ 1.5 × before', pass: rateRatio >= 1.5 }),
      row(`overhead per pipeline, ${N} at once, p50`, percentile(over(now.batch.runs), 50), 'ms', 'before, p50', percentile(over(before.batch.runs), 50), 'ms'),
      row(`overhead per pipeline, ${N} at once, p95`, percentile(over(now.batch.runs), 95), 'ms', 'shortest stage limit in temporal.config.ts (cpu track)', shortestLimit, 'ms'),
      row(
        'overhead per step (incl. its share of signals, timers, search attributes), one at a time, p50',
        percentile(perStep(now.seq), 50),
        'ms',
        'before, per step',
        percentile(perStep(before.seq), 50),
        'ms',
      ),
      row(
        'of the overhead one at a time: the 4 stage-start signals (each stage activity waits for its signal before it works), p50',
        signalsP50,
        'ms',
        'overhead per pipeline, one at a time, p50',
        nowP50,
        'ms',
      ),
      row('one-activity workflow wall time, p50', bareP50, 'ms', `before: overhead per pipeline / ${steps} steps`, percentile(perStep(before.seq), 50), 'ms'),
      row(`worker process CPU per pipeline (${N} at once; workflows + activities + client)`, now.batch.workerCpuPerPipeline, 'ms', 'before', before.batch.workerCpuPerPipeline, 'ms'),
    ];
    if (now.batch.serverCpuPerPipeline !== null && before.batch.serverCpuPerPipeline !== null) {
      rows.push(row(`Temporal dev server CPU per pipeline (${N} at once)`, now.batch.serverCpuPerPipeline, 'ms', 'before', before.batch.serverCpuPerPipeline, 'ms'));
    }
    const signals = (b: Batch) => b.runs.reduce((s, r) => s + r.result.signalMs, 0) / b.runs.length;
    const notes = [
      `Real dev server (temporal CLI, SQLite file, free ports, the project's arguments), two in-process workers on one NativeConnection: workflows ` +
        `(benchPipeline and the real trackPlacement) with their local activities on ${ORCH_QUEUE}, host activities on ${HOST_QUEUE}; default worker ` +
        `slots. Each pipeline, as workflows/submission-pipeline.ts: ${steps} steps (register, claim, 4 host stages, 2 score records, 5 stage records, ` +
        `end), 4 stage-start signals, 4 durable timers (started and cancelled), 7 search-attribute updates; limit 1 h, heartbeatTimeout ` +
        `${ACTIVITY_POLICY.heartbeatTimeoutMs / 1000} s as in production. Before: the 9 bookkeeping steps and the claim are activity tasks. Now: the ` +
        `9 bookkeeping steps are local activities, the claim is the real SlotLease (a signal with start to the placement workflow from a local ` +
        `activity, answered by a grant signal) and the slot is handed back at the end (a signal from a local activity). (Until this change the ` +
        `benchmark ran 13 steps: a host activity for score too and no score records; 1,349 ms of overhead one at a time then, on a quieter machine.)`,
      `The one-at-a-time runs alternate before/now; the ${N}-at-once batches run before, then now. ${N} pipelines finished in ` +
        `${fmt(before.batch.batchMs / 1000)} s before and ${fmt(now.batch.batchMs / 1000)} s now; the stage-start signals (sent from inside the stage ` +
        `activities) took ${fmt(signals(before.batch))} / ${fmt(signals(now.batch))} ms per pipeline.`,
      `Wall time is measured by the client from workflow.execute() to its result, so it includes the start RPC and the result long-poll; overhead = wall time − the activities' own time.`,
      `What is left per pipeline now: the first workflow task; each of the 4 host stage activity tasks costs a dispatch to the host queue and a ` +
        `workflow task for its result (≈ 40 ms each on a quiet machine, from the history timestamps: activity scheduled → started, workflow task ` +
        `scheduled → started), and its start signal a round trip the activity waits for plus a workflow task (p50 ` +
        `${fmt(signalsP50)} ms for the 4 one at a time); the claim a workflow ` +
        `task of the placement and one of the pipeline for the grant. Each remaining step is a server round trip of its own; against the ` +
        `shortest stage limit in temporal.config.ts (${fmt(shortestLimit / 60_000)} min) the whole p50 overhead is ` +
        `${fmt((nowP50 / shortestLimit) * 100)}%.`,
    ];
    return { id: 'orchestration', title: '2. Orchestration overhead', rows, notes, wallMs: performance.now() - started };
  } finally {
    await temporal.stop();
  }
}

if (isMain(import.meta.url)) mainOf(runOrchestration);
