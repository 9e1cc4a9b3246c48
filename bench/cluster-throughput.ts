/**
 * What one orchestrator worker handles on the real cluster (README: "Running on your own Temporal cluster"):
 * N pipelines of the real pipeline's shape (bench/workflows benchPipeline: 13 activities, 5 stage signals, 5 durable
 * timers, search attributes) whose activities do nothing, started at once through the cluster's frontends (mTLS,
 * the balancer of the cluster test) and run by ONE in-process orchestrator worker plus one host worker.
 * Prints pipelines per second and the CPU each side spent per pipeline.
 *   npx tsc -p tsconfig.json && node dist/bench/cluster-throughput.js      (BENCH_PIPELINES, default 40)
 * Needs the project's PostgreSQL (scripts/ensure-postgres.sh) and the Go binaries (scripts/temporal-cluster.ts build).
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { ACTIVITY_POLICY } from '../temporal.config.js';
import { loadRuntimeConfig } from '../infra/runtime-config.js';
import { connectionOptions } from '../infra/temporal.js';
import { clusterTlsOf, frontends, nodePid, planCluster, registerNamespace, startCluster, stopCluster } from '../infra/temporal-cluster.js';
import { ensureTemporalServerBinaries, setupSchemas, sqlStoreFrom } from '../infra/temporal-server-build.js';
import { makePki } from '../test/support/pki.js';
import { startPostgres } from '../test/support/postgres.js';
import { startTcpBalancer } from '../test/support/tcp-balancer.js';
import { createBenchActivities } from './activities.js';
import { BENCH_WORKFLOWS, processCpuMs } from './support.js';

const N = Number(process.env.BENCH_PIPELINES ?? 40);
const ORCH_QUEUE = 'bench-orchestrator';
const HOST_QUEUE = 'bench-host';

const binaries = await ensureTemporalServerBinaries({ say: console.log });
const postgres = await startPostgres();
const stores = {
  default: sqlStoreFrom(await postgres.freshDatabase('temporal_cluster_bench'), 'temporal_cluster_bench'),
  visibility: sqlStoreFrom(await postgres.freshDatabase('temporal_cluster_bench_visibility'), 'temporal_cluster_bench_visibility'),
};
await setupSchemas(binaries.sqlTool, stores, { createDatabases: false });
const dir = mkdtempSync(path.join(os.tmpdir(), 'temporal-cluster-bench-'));
const pki = makePki(mkdtempSync(path.join(dir, 'pki-')), 'temporal.test');
const plan = await planCluster({
  dir,
  binaries,
  stores,
  tls: clusterTlsOf(pki, 'temporal.test'),
});
const balancer = await startTcpBalancer(frontends(plan).map((n) => n.grpcPort));
const connect = connectionOptions(
  loadRuntimeConfig(
    {
      TEMPORAL_ADDRESS: `127.0.0.1:${balancer.port}`,
      TEMPORAL_TLS_CA: pki.caCert,
      TEMPORAL_TLS_SERVER_NAME: 'temporal.test',
      TEMPORAL_TLS_CERT: pki.clientCert,
      TEMPORAL_TLS_KEY: pki.clientKey,
    },
    dir,
  ).temporal,
);
try {
  await startCluster(plan, connect);
  await registerNamespace(plan, connect, 'default');
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  const native = await NativeConnection.connect(connect);
  const clientConnection = await Connection.connect(connect);
  const client = new Client({ connection: clientConnection, namespace: 'default' });
  const activities = createBenchActivities();
  const orchestrator = await Worker.create({
    connection: native,
    taskQueue: ORCH_QUEUE,
    workflowsPath: BENCH_WORKFLOWS,
    activities: { noop: activities.noop },
  });
  const host = await Worker.create({
    connection: native,
    taskQueue: HOST_QUEUE,
    activities: { noop: activities.noop, claimHost: activities.claimHost, stage: activities.stage },
  });
  const run = (i: number) =>
    client.workflow.execute('benchPipeline', {
      taskQueue: ORCH_QUEUE,
      workflowId: `cluster-bench-${i}`,
      args: [
        {
          submissionId: `cluster-bench-${i}`,
          orchestratorQueue: ORCH_QUEUE,
          hostQueue: HOST_QUEUE,
          limitMs: 3_600_000,
          heartbeatTimeoutMs: ACTIVITY_POLICY.heartbeatTimeoutMs,
          workMs: 0,
        },
      ],
    });
  const clusterCpu = () => plan.nodes.reduce((sum, node) => sum + (processCpuMs(nodePid(node)) ?? 0), 0);
  // One body, both workers polling until it is done (Worker.runUntil on the same promise).
  const body = (async () => {
    for (let i = 0; i < 3; i++) await run(-1 - i); // warm-up: workflow bundle, caches, connections
    const cpu0 = process.cpuUsage();
    const server0 = clusterCpu();
    const t0 = performance.now();
    await Promise.all(Array.from({ length: N }, (_, i) => run(i)));
    const wallMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    return { wallMs, workerCpuMs: (cpu.user + cpu.system) / 1000, clusterCpuMs: clusterCpu() - server0 };
  })();
  await Promise.all([orchestrator.runUntil(body), host.runUntil(body)]);
  const { wallMs, workerCpuMs, clusterCpuMs } = await body;
  console.log(
    `cluster-throughput: ${N} pipelines at once through ${frontends(plan).length} frontends (mTLS), ${plan.numHistoryShards} shards, one orchestrator worker: ` +
      `${(wallMs / 1000).toFixed(1)} s, ${((N * 1000) / wallMs).toFixed(2)} pipelines/s; CPU per pipeline: workers ${(workerCpuMs / N).toFixed(0)} ms, ` +
      `cluster (${plan.nodes.length} processes) ${(clusterCpuMs / N).toFixed(0)} ms; machine: ${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(2)}`,
  );
  await clientConnection.close();
  await native.close();
} finally {
  await balancer.close();
  await stopCluster(plan);
}
