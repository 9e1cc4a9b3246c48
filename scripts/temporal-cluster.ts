/**
 * A real Temporal cluster on this machine (infra/temporal-cluster.ts): the layout test/integration/temporal-cluster.test.ts runs.
 *   node dist/scripts/temporal-cluster.js build   # go install temporal-server and temporal-sql-tool (cached)
 *   node dist/scripts/temporal-cluster.js up      # schemas, config, 2 frontends + 2 history + matching + worker, namespace
 *   node dist/scripts/temporal-cluster.js down
 * Environment:
 *   CHALLENGE_TEMPORAL_DB_URL   PostgreSQL the schemas go to (default: the project's throwaway server,
 *                               postgresql://challenge@127.0.0.1:55432/challenge); databases temporal and temporal_visibility
 *   CHALLENGE_CLUSTER_DIR       config, logs and pids (default $CHALLENGE_DATA_DIR/temporal-cluster)
 *   CHALLENGE_CLUSTER_TLS_SERVER_CERT, CHALLENGE_CLUSTER_TLS_SERVER_KEY   the frontends' certificate and key (PEM)
 *   TEMPORAL_TLS_CA, TEMPORAL_TLS_CERT, TEMPORAL_TLS_KEY, TEMPORAL_TLS_SERVER_NAME   as for every client (README)
 *   --pki                       instead of the TLS files: a throwaway CA and certificates in the cluster dir (trying it out)
 */
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { loadRuntimeConfig } from '../infra/runtime-config.js';
import { connectionOptions } from '../infra/temporal.js';
import { clusterTlsOf, frontends, planCluster, registerNamespace, startCluster, stopCluster, type ClusterPlan, type ClusterTls } from '../infra/temporal-cluster.js';
import { ensureTemporalServerBinaries, setupSchemas, sqlStoreFrom } from '../infra/temporal-server-build.js';

const say = (line: string) => console.log(`[temporal-cluster] ${line}`);

const ClusterEnv = z.object({
  CHALLENGE_TEMPORAL_DB_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'a postgresql:// URL')
    .default('postgresql://challenge@127.0.0.1:55432/challenge'),
  CHALLENGE_CLUSTER_DIR: z.string().min(1).optional(),
  CHALLENGE_CLUSTER_TLS_SERVER_CERT: z.string().min(1).optional(),
  CHALLENGE_CLUSTER_TLS_SERVER_KEY: z.string().min(1).optional(),
  TEMPORAL_TLS_CA: z.string().min(1).optional(),
  TEMPORAL_TLS_CERT: z.string().min(1).optional(),
  TEMPORAL_TLS_KEY: z.string().min(1).optional(),
  TEMPORAL_TLS_SERVER_NAME: z.string().min(1).default('temporal.test'),
});

async function tlsFrom(env: z.infer<typeof ClusterEnv>, dir: string, throwawayPki: boolean): Promise<ClusterTls> {
  if (throwawayPki) {
    // The test's PKI helper (openssl): fine for trying the cluster out, not for a competition.
    const { makePki } = await import('../test/support/pki.js');
    const pkiDir = path.join(dir, 'pki');
    mkdirSync(pkiDir, { recursive: true });
    const pki = makePki(pkiDir, env.TEMPORAL_TLS_SERVER_NAME);
    return clusterTlsOf(pki, env.TEMPORAL_TLS_SERVER_NAME);
  }
  const needed = ['CHALLENGE_CLUSTER_TLS_SERVER_CERT', 'CHALLENGE_CLUSTER_TLS_SERVER_KEY', 'TEMPORAL_TLS_CA', 'TEMPORAL_TLS_CERT', 'TEMPORAL_TLS_KEY'] as const;
  const missing = needed.filter((name) => !env[name]);
  if (missing.length > 0) throw new Error(`mTLS on the frontends needs ${missing.join(', ')} (PEM files), or --pki for a throwaway CA`);
  return {
    caCert: env.TEMPORAL_TLS_CA!,
    serverCert: env.CHALLENGE_CLUSTER_TLS_SERVER_CERT!,
    serverKey: env.CHALLENGE_CLUSTER_TLS_SERVER_KEY!,
    clientCert: env.TEMPORAL_TLS_CERT!,
    clientKey: env.TEMPORAL_TLS_KEY!,
    serverName: env.TEMPORAL_TLS_SERVER_NAME,
  };
}

async function up(throwawayPki: boolean): Promise<void> {
  const env = ClusterEnv.parse(process.env);
  const runtime = loadRuntimeConfig();
  const dir = path.resolve(env.CHALLENGE_CLUSTER_DIR ?? path.join(runtime.dataDir, 'temporal-cluster'));
  if (existsSync(path.join(dir, 'cluster.json'))) throw new Error(`a cluster is already set up in ${dir}: run "down" first`);
  mkdirSync(dir, { recursive: true });
  const binaries = await ensureTemporalServerBinaries({ say });
  const stores = {
    default: sqlStoreFrom(env.CHALLENGE_TEMPORAL_DB_URL, 'temporal'),
    visibility: sqlStoreFrom(env.CHALLENGE_TEMPORAL_DB_URL, 'temporal_visibility'),
  };
  say(`schemas on ${stores.default.host}:${stores.default.port} (databases ${stores.default.database}, ${stores.visibility.database})`);
  await setupSchemas(binaries.sqlTool, stores, { createDatabases: true });
  const tls = await tlsFrom(env, dir, throwawayPki);
  const plan = await planCluster({ dir, binaries, stores, tls });
  const clientTls = {
    TEMPORAL_TLS_CA: tls.caCert,
    TEMPORAL_TLS_CERT: tls.clientCert,
    TEMPORAL_TLS_KEY: tls.clientKey,
    TEMPORAL_TLS_SERVER_NAME: tls.serverName,
  };
  const first = frontends(plan)[0]!;
  const connect = connectionOptions(loadRuntimeConfig({ ...process.env, ...clientTls, TEMPORAL_ADDRESS: `127.0.0.1:${first.grpcPort}` }).temporal);
  try {
    await startCluster(plan, connect);
    await registerNamespace(plan, connect, runtime.temporal.namespace);
  } catch (error) {
    await stopCluster(plan);
    renameSync(path.join(dir, 'cluster.json'), path.join(dir, `cluster.failed-${Date.now()}.json`));
    throw error;
  }
  for (const node of plan.nodes) say(`${node.name.padEnd(11)} grpc 127.0.0.1:${node.grpcPort} membership ${node.membershipPort} log ${node.logFile}`);
  say(
    `namespace ${runtime.temporal.namespace} registered with its search attributes; clients connect to any frontend (a load balancer in front of ${frontends(
      plan,
    )
      .map((n) => `127.0.0.1:${n.grpcPort}`)
      .join(', ')}):`,
  );
  for (const [name, value] of Object.entries({ TEMPORAL_ADDRESS: `127.0.0.1:${first.grpcPort}`, ...clientTls })) console.log(`export ${name}=${value}`);
}

async function down(): Promise<void> {
  const dir = path.resolve(process.env.CHALLENGE_CLUSTER_DIR ?? path.join(loadRuntimeConfig().dataDir, 'temporal-cluster'));
  const file = path.join(dir, 'cluster.json');
  if (!existsSync(file)) return say(`no cluster in ${dir}`);
  await stopCluster(JSON.parse(readFileSync(file, 'utf8')) as ClusterPlan);
  renameSync(file, path.join(dir, `cluster.stopped-${Date.now()}.json`));
  say(`stopped; config and logs kept in ${dir}; the schemas keep the workflows for the next "up"`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [command = 'up', ...flags] = process.argv.slice(2);
  try {
    if (command === 'build') say(`binaries: ${JSON.stringify(await ensureTemporalServerBinaries({ say }))}`);
    else if (command === 'up') await up(flags.includes('--pki'));
    else if (command === 'down') await down();
    else {
      console.error(`usage: temporal-cluster build|up [--pki]|down (got "${command}")`);
      process.exit(2);
    }
  } catch (error) {
    console.error(`[temporal-cluster] ${(error as Error).message}`);
    process.exit(1);
  }
}
