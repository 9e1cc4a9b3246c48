/**
 * Benchmark 2, orchestration overhead: N pipelines of the real pipeline's shape (bench/workflows,
 * benchPipeline: 13 activities, 5 of them stages under runWithLimit with a start signal each) whose
 * activities do nothing, on a real Temporal dev server with in-process workers. Overhead per pipeline =
 * the pipeline's wall time (client start → result) minus its activities' own time.
 */
import { ACTIVITY_POLICY, TRACKS } from '../temporal.config.js';
import { createBenchActivities } from './activities.js';
import type { BenchPipelineResult } from './workflows/index.js';
import { BENCH_WORKFLOWS, fmt, isMain, log, mainOf, percentile, row, temporalForBenchmark, withWorkers, type BenchResult } from './support.js';
import type { Client } from '@temporalio/client';

const N = Number(process.env.BENCH_PIPELINES ?? 40);
const SEQUENTIAL = 10;
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
  const result = await client.workflow.execute('benchPipeline', {
    taskQueue: ORCH_QUEUE,
    workflowId: id,
    args: [{ submissionId: id, orchestratorQueue: ORCH_QUEUE, hostQueue: HOST_QUEUE, limitMs: 3_600_000, heartbeatTimeoutMs: ACTIVITY_POLICY.heartbeatTimeoutMs, workMs: 0 }],
  }) as BenchPipelineResult;
  const wallMs = performance.now() - t0;
  return { wallMs, overheadMs: wallMs - result.workMs, result };
}

async function bare(client: Client): Promise<number> {
  const t0 = performance.now();
  await client.workflow.execute('benchBareActivity', { taskQueue: ORCH_QUEUE, workflowId: `bench-bare-${process.pid}-${seq++}`, args: [{ queue: HOST_QUEUE }] });
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
        log(`orchestration: reference, ${SEQUENTIAL} one-activity workflows one after another`);
        const bareMs: number[] = [];
        for (let i = 0; i < SEQUENTIAL; i++) bareMs.push(await bare(client));
        log(`orchestration: ${SEQUENTIAL} pipelines one after another`);
        const sequential: PipelineRun[] = [];
        for (let i = 0; i < SEQUENTIAL; i++) sequential.push(await pipeline(client));
        log(`orchestration: ${N} pipelines at once`);
        const t0 = performance.now();
        const concurrent = await Promise.all(Array.from({ length: N }, () => pipeline(client)));
        const batchMs = performance.now() - t0;
        return { bareMs, sequential, concurrent, batchMs };
      },
    );
    const { bareMs, sequential, concurrent, batchMs } = data;
    const over = (runs: PipelineRun[]) => runs.map((r) => r.overheadMs);
    const perActivity = (runs: PipelineRun[]) => runs.map((r) => r.overheadMs / r.result.activities);
    const bareP50 = percentile(bareMs, 50);
    const first = concurrent[0]?.result ?? sequential[0]!.result;
    const shortestLimit = Math.min(...Object.values(TRACKS).flatMap((t) => [t.limits.build, t.limits.fineTune, t.limits.openEval, t.limits.closedEval]));
    const rows = [
      row('overhead per pipeline, one at a time, p50', percentile(over(sequential), 50), 'ms', `one-activity workflow wall time p50 × ${first.activities} activities`, bareP50 * first.activities, 'ms'),
      row('overhead per pipeline, one at a time, p95', percentile(over(sequential), 95), 'ms', 'one-activity workflow wall time p50', bareP50, 'ms'),
      row(`overhead per pipeline, ${N} at once, p50`, percentile(over(concurrent), 50), 'ms', `one at a time, p50`, percentile(over(sequential), 50), 'ms'),
      row(`overhead per pipeline, ${N} at once, p95`, percentile(over(concurrent), 95), 'ms', `shortest stage limit in temporal.config.ts (cpu track)`, shortestLimit, 'ms'),
      row(`pipelines per second, ${N} at once`, N / (batchMs / 1000), '/s', 'one at a time (1 / mean wall time)', 1000 / (sequential.reduce((s, r) => s + r.wallMs, 0) / sequential.length), '/s'),
      row('overhead per activity (incl. its share of signals, timers, search attributes), one at a time, p50', percentile(perActivity(sequential), 50), 'ms', 'one-activity workflow wall time p50', bareP50, 'ms'),
    ];
    const work = concurrent.reduce((s, r) => s + r.result.workMs, 0) / concurrent.length;
    const signals = concurrent.reduce((s, r) => s + r.result.signalMs, 0) / concurrent.length;
    const notes = [
      `Real dev server (temporal CLI, SQLite file, free ports), two in-process workers on one NativeConnection: workflows + bookkeeping activities on ${ORCH_QUEUE}, host activities on ${HOST_QUEUE}; default worker slots. Each pipeline: ${first.activities} activities, 5 stage-start signals, 5 durable timers (started and cancelled), 7 search-attribute updates; limit 1 h, heartbeatTimeout ${ACTIVITY_POLICY.heartbeatTimeoutMs / 1000} s as in production.`,
      `Activities' own time averaged ${fmt(work)} ms per pipeline; the stage-start signals (sent from inside the stage activities, counted as overhead) took ${fmt(signals)} ms per pipeline when ${N} ran at once. ${N} pipelines finished in ${fmt(batchMs / 1000)} s.`,
      `Wall time is measured by the client from workflow.execute() to its result, so it includes the start RPC and the result long-poll.`,
    ];
    return { id: 'orchestration', title: '2. Orchestration overhead', rows, notes, wallMs: performance.now() - started };
  } finally {
    await temporal.stop();
  }
}

if (isMain(import.meta.url)) mainOf(runOrchestration);
