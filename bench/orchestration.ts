/**
 * Benchmark 2, orchestration overhead: N pipelines of the real pipeline's shape (bench/workflows,
 * benchPipeline: 13 activities, 5 of them stages under runWithLimit with a start signal each) whose
 * activities do nothing, on a real Temporal dev server with in-process workers. Overhead per pipeline =
 * the pipeline's wall time (client start → result) minus its activities' own time.
 */
import { ACTIVITY_POLICY, TRACKS } from '../temporal.config.js';
import { createBenchActivities } from './activities.js';
import type { BenchPipelineResult } from './workflows/index.js';
import {
  BENCH_WORKFLOWS,
  fmt,
  ONE_PARTITION,
  isMain,
  log,
  mainOf,
  percentile,
  processCpuMs,
  row,
  temporalForBenchmark,
  withWorkers,
  type BenchResult,
  type Row,
} from './support.js';
import type { Client } from '@temporalio/client';

const N = Number(process.env.BENCH_PIPELINES ?? 40);
const SEQUENTIAL = 5;
const ORCH_QUEUE = 'bench-orchestrator';
const HOST_QUEUE = 'bench-host';

interface PipelineRun {
  wallMs: number;
  overheadMs: number;
  result: BenchPipelineResult;
}

let seq = 0;
async function pipeline(client: Client): Promise<PipelineRun> {
  const id = `bench-pipeline-${process.pid}-${seq++}`;
  const t0 = performance.now();
  const result = (await client.workflow.execute('benchPipeline', {
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
      },
    ],
  })) as BenchPipelineResult;
  const wallMs = performance.now() - t0;
  return { wallMs, overheadMs: wallMs - result.workMs, result };
}

async function bare(client: Client): Promise<number> {
  const t0 = performance.now();
  await client.workflow.execute('benchBareActivity', {
    taskQueue: ORCH_QUEUE,
    workflowId: `bench-bare-${process.pid}-${seq++}`,
    args: [{ queue: HOST_QUEUE }],
  });
  return performance.now() - t0;
}

export async function runOrchestration(): Promise<BenchResult> {
  const started = performance.now();
  const temporal = await temporalForBenchmark();
  try {
    const activities = createBenchActivities();
    const data = await withWorkers(
      temporal.address,
      [
        { taskQueue: ORCH_QUEUE, workflowsPath: BENCH_WORKFLOWS, activities: { noop: activities.noop } },
        { taskQueue: HOST_QUEUE, activities: { noop: activities.noop, claimHost: activities.claimHost, stage: activities.stage } },
      ],
      async (client) => {
        log('orchestration: warm-up');
        for (let i = 0; i < 3; i++) await pipeline(client);
        for (let i = 0; i < 3; i++) await bare(client);
        const serverCpu = () => processCpuMs(temporal.pid);
        log(`orchestration: reference, ${SEQUENTIAL} one-activity workflows one after another`);
        const bareMs: number[] = [];
        const c0 = serverCpu();
        for (let i = 0; i < SEQUENTIAL; i++) bareMs.push(await bare(client));
        const c1 = serverCpu();
        log(`orchestration: ${SEQUENTIAL} pipelines one after another`);
        const sequential: PipelineRun[] = [];
        for (let i = 0; i < SEQUENTIAL; i++) sequential.push(await pipeline(client));
        log(`orchestration: ${N} pipelines at once`);
        const c2 = serverCpu();
        const cpu0 = process.cpuUsage();
        const t0 = performance.now();
        const concurrent = await Promise.all(Array.from({ length: N }, () => pipeline(client)));
        const batchMs = performance.now() - t0;
        const cpu = process.cpuUsage(cpu0);
        const c3 = serverCpu();
        const serverCpuPerBare = c0 !== null && c1 !== null ? (c1 - c0) / SEQUENTIAL : null;
        const serverCpuPerPipeline = c2 !== null && c3 !== null ? (c3 - c2) / N : null;
        const workerCpuPerPipeline = (cpu.user + cpu.system) / 1000 / N;
        return { bareMs, sequential, concurrent, batchMs, serverCpuPerBare, serverCpuPerPipeline, workerCpuPerPipeline };
      },
    );
    // The same batch on the reference server (one partition per task queue).
    const reference = await temporalForBenchmark('one-partition');
    let ref: { concurrent: PipelineRun[]; batchMs: number; serverCpuPerPipeline: number | null };
    try {
      ref = await withWorkers(
        reference.address,
        [
          { taskQueue: ORCH_QUEUE, workflowsPath: BENCH_WORKFLOWS, activities: { noop: activities.noop } },
          { taskQueue: HOST_QUEUE, activities: { noop: activities.noop, claimHost: activities.claimHost, stage: activities.stage } },
        ],
        async (client) => {
          log(`orchestration: ${N} pipelines at once on the one-partition reference server`);
          for (let i = 0; i < 2; i++) await pipeline(client);
          const c0 = processCpuMs(reference.pid);
          const t0 = performance.now();
          const concurrent = await Promise.all(Array.from({ length: N }, () => pipeline(client)));
          const batchMs = performance.now() - t0;
          const c1 = processCpuMs(reference.pid);
          return { concurrent, batchMs, serverCpuPerPipeline: c0 !== null && c1 !== null ? (c1 - c0) / N : null };
        },
      );
    } finally {
      await reference.stop();
    }
    const { bareMs, sequential, concurrent, batchMs, serverCpuPerBare, serverCpuPerPipeline, workerCpuPerPipeline } = data;
    const over = (runs: PipelineRun[]) => runs.map((r) => r.overheadMs);
    const perActivity = (runs: PipelineRun[]) => runs.map((r) => r.overheadMs / r.result.activities);
    const bareP50 = percentile(bareMs, 50);
    const first = concurrent[0]?.result ?? sequential[0]!.result;
    const shortestLimit = Math.min(...Object.values(TRACKS).flatMap((t) => [t.limits.build, t.limits.fineTune, t.limits.openEval, t.limits.closedEval]));
    const rows: Row[] = [
      row(
        'overhead per pipeline, one at a time, p50',
        percentile(over(sequential), 50),
        'ms',
        `one-activity workflow wall time p50 × ${first.activities} activities`,
        bareP50 * first.activities,
        'ms',
      ),
      row('overhead per pipeline, one at a time, p95', percentile(over(sequential), 95), 'ms', 'one-activity workflow wall time p50', bareP50, 'ms'),
      row(`overhead per pipeline, ${N} at once, p50`, percentile(over(concurrent), 50), 'ms', `one at a time, p50`, percentile(over(sequential), 50), 'ms'),
      row(
        `overhead per pipeline, ${N} at once, p95`,
        percentile(over(concurrent), 95),
        'ms',
        `shortest stage limit in temporal.config.ts (cpu track)`,
        shortestLimit,
        'ms',
      ),
      row(
        `pipelines per second, ${N} at once`,
        N / (batchMs / 1000),
        '/s',
        'one at a time (1 / mean wall time)',
        1000 / (sequential.reduce((s, r) => s + r.wallMs, 0) / sequential.length),
        '/s',
      ),
      row(`pipelines per second, ${N} at once`, N / (batchMs / 1000), '/s', 'same on the one-partition reference server', N / (ref.batchMs / 1000), '/s'),
      row(
        `overhead per pipeline, ${N} at once, p50, one-partition reference server`,
        percentile(over(ref.concurrent), 50),
        'ms',
        `project dev server`,
        percentile(over(concurrent), 50),
        'ms',
      ),
      row(
        'overhead per activity (incl. its share of signals, timers, search attributes), one at a time, p50',
        percentile(perActivity(sequential), 50),
        'ms',
        'one-activity workflow wall time p50',
        bareP50,
        'ms',
      ),
      row(
        `worker process CPU per pipeline (${N} at once; workflows + activities + client)`,
        workerCpuPerPipeline,
        'ms',
        `batch wall time per pipeline`,
        batchMs / N,
        'ms',
      ),
    ];
    if (serverCpuPerPipeline !== null && serverCpuPerBare !== null) {
      rows.push(row(`Temporal dev server CPU per pipeline (${N} at once)`, serverCpuPerPipeline, 'ms', `batch wall time per pipeline`, batchMs / N, 'ms'));
      rows.push(row('Temporal dev server CPU per one-activity workflow', serverCpuPerBare, 'ms', 'its wall time p50', bareP50, 'ms'));
    }
    if (ref.serverCpuPerPipeline !== null) {
      rows.push(
        row(`reference server CPU per pipeline (${N} at once)`, ref.serverCpuPerPipeline, 'ms', 'batch wall time per pipeline there', ref.batchMs / N, 'ms'),
      );
    }
    const work = concurrent.reduce((s, r) => s + r.result.workMs, 0) / concurrent.length;
    const signals = concurrent.reduce((s, r) => s + r.result.signalMs, 0) / concurrent.length;
    const notes = [
      `Real dev server (temporal CLI, SQLite file, free ports), two in-process workers on one NativeConnection: workflows + bookkeeping activities on ${ORCH_QUEUE}, host activities on ${HOST_QUEUE}; default worker slots. Each pipeline: ${first.activities} activities, 5 stage-start signals, 5 durable timers (started and cancelled), 7 search-attribute updates; limit 1 h, heartbeatTimeout ${ACTIVITY_POLICY.heartbeatTimeoutMs / 1000} s as in production.`,
      `Activities' own time averaged ${fmt(work)} ms per pipeline; the stage-start signals (sent from inside the stage activities, counted as overhead) took ${fmt(signals)} ms per pipeline when ${N} ran at once. ${N} pipelines finished in ${fmt(batchMs / 1000)} s.`,
      `Reference server: the same dev server and arguments plus --dynamic-config-value ${Object.entries(ONE_PARTITION)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ')}; there ${N} pipelines finished in ${fmt(ref.batchMs / 1000)} s.`,
      `Wall time is measured by the client from workflow.execute() to its result, so it includes the start RPC and the result long-poll.`,
      `Where the time goes: the workers spend ${fmt(workerCpuPerPipeline)} ms of CPU per pipeline, the dev server ${serverCpuPerPipeline === null ? '(unknown)' : fmt(serverCpuPerPipeline)} ms (/proc/<pid>/stat), against ${fmt(batchMs / N)} ms of batch wall time per pipeline: the dev server is the largest consumer, the workflow code and activities a small share; what is left of the wall time is waiting for a core (see the load average in the header) and server round trips. One at a time, each of the ${first.activities} activity steps costs ≈ ${fmt(percentile(perActivity(sequential), 50))} ms of round trips through the server (the same with an in-memory server, so not the SQLite file). Against stage limits of minutes to hours this overhead is negligible.`,
    ];
    return { id: 'orchestration', title: '2. Orchestration overhead', rows, notes, wallMs: performance.now() - started };
  } finally {
    await temporal.stop();
  }
}

if (isMain(import.meta.url)) mainOf(runOrchestration);
