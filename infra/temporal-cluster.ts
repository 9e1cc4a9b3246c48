/**
 * A real Temporal cluster on one machine, the production layout rather than `temporal server start-dev`:
 * `temporal-server` built from Go modules (go.temporal.io/server, cached), its schemas on PostgreSQL set up
 * with the SQL schema tool, one process per service node (several frontends and history nodes), cluster
 * membership on loopback, and mutual TLS on the frontends. The namespace and the search attributes are
 * registered through the operator API, as an operator of a real cluster does.
 *
 * The binaries and the schemas come from infra/temporal-server-build.ts.
 * Used by scripts/temporal-cluster.ts (operators, by hand) and test/integration/temporal-cluster.test.ts.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, openSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import { SEARCH_ATTRIBUTES } from '../contract/search-attributes.js';
import { TEMPORAL_CLUSTER } from './runtime-config.js';
import { parseDuration } from '../temporal.config.js';
import { portOpen } from './dev-server.js';
import type { TemporalConnectionOptions } from './temporal.js';
import type { SqlStore, TemporalServerBinaries } from './temporal-server-build.js';
import { PROJECT_ROOT } from './paths.js';

// ---------------------------------------------------------------------------------------------
// The cluster: one process per node, each with a config file of its own (ports), membership on loopback.
// ---------------------------------------------------------------------------------------------
export const TEMPORAL_SERVICES = ['frontend', 'history', 'matching', 'worker'] as const;
export type TemporalService = (typeof TEMPORAL_SERVICES)[number];

export interface ClusterNode {
  /** e.g. frontend-1, history-2 */
  name: string;
  service: TemporalService;
  grpcPort: number;
  membershipPort: number;
  /** The frontend's HTTP API; null for the other services. */
  httpPort: number | null;
  configFile: string;
  logFile: string;
  pidFile: string;
}

/** The PEM files of the frontends' mTLS: the server pair, the CA that signed client certificates, and a client pair for the system worker. */
export interface ClusterTls {
  caCert: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** The name in the server certificate (clients verify it with TEMPORAL_TLS_SERVER_NAME). */
  serverName: string;
}

/** The frontends' TLS from a PKI's PEM files (test/support/pki.ts makes one) and the name its server certificate carries. */
export function clusterTlsOf(pki: Omit<ClusterTls, 'serverName'>, serverName: string): ClusterTls {
  return { caCert: pki.caCert, serverCert: pki.serverCert, serverKey: pki.serverKey, clientCert: pki.clientCert, clientKey: pki.clientKey, serverName };
}

export interface ClusterPlan {
  dir: string;
  binaries: TemporalServerBinaries;
  stores: { default: SqlStore; visibility: SqlStore };
  numHistoryShards: number;
  tls: ClusterTls;
  nodes: ClusterNode[];
  dynamicConfigFile: string;
}

/**
 * A port free on loopback below 32768: the SQL schema stores a member's port in cluster_membership.rpc_port, a
 * smallint, so a node on an ephemeral port (32768 and up on Linux) fails at start ("out of range for type smallint").
 */
async function freeLowPort(taken: Set<number>): Promise<number> {
  for (let tries = 0; tries < 200; tries++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (taken.has(port)) continue;
    const free = await new Promise<boolean>((resolve) => {
      const server = net.createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) {
      taken.add(port);
      return port;
    }
  }
  throw new Error('no free port between 20000 and 32000 on 127.0.0.1');
}

/** Free loopback ports for each node; default two frontends and two history nodes, one matching and one worker. */
export async function planCluster(options: {
  dir: string;
  binaries: TemporalServerBinaries;
  stores: { default: SqlStore; visibility: SqlStore };
  tls: ClusterTls;
  nodes?: Partial<Record<TemporalService, number>>;
  numHistoryShards?: number;
}): Promise<ClusterPlan> {
  const counts: Record<TemporalService, number> = { frontend: 2, history: 2, matching: 1, worker: 1, ...options.nodes };
  const nodes: ClusterNode[] = [];
  const taken = new Set<number>();
  const freePort = () => freeLowPort(taken);
  for (const service of TEMPORAL_SERVICES) {
    for (let i = 1; i <= counts[service]; i++) {
      const name = `${service}-${i}`;
      nodes.push({
        name,
        service,
        grpcPort: await freePort(),
        membershipPort: await freePort(),
        httpPort: service === 'frontend' ? await freePort() : null,
        configFile: path.join(options.dir, 'config', `${name}.yaml`),
        logFile: path.join(options.dir, 'logs', `${name}.log`),
        pidFile: path.join(options.dir, 'run', `${name}.pid`),
      });
    }
  }
  return {
    dir: options.dir,
    binaries: options.binaries,
    stores: options.stores,
    numHistoryShards: options.numHistoryShards ?? TEMPORAL_CLUSTER.numHistoryShards,
    tls: options.tls,
    nodes,
    // The deployment's dynamic config (one task queue partition, as on the dev server) is the compose file's.
    dynamicConfigFile: path.join(PROJECT_ROOT, 'docker', 'temporal', 'dynamicconfig.yaml'),
  };
}

export const frontends = (plan: ClusterPlan): ClusterNode[] => plan.nodes.filter((n) => n.service === 'frontend');

const sqlDatastore = (store: SqlStore, maxConns: number) => ({
  sql: {
    pluginName: 'postgres12',
    databaseName: store.database,
    connectAddr: `${store.host}:${store.port}`,
    connectProtocol: 'tcp',
    user: store.user,
    password: store.password,
    maxConns,
    maxIdleConns: maxConns,
    maxConnLifetime: '1h',
  },
});

/** The server config of one node (JSON, which the server's YAML loader reads as it is). */
export function nodeConfig(plan: ClusterPlan, node: ClusterNode): Record<string, unknown> {
  const { tls } = plan;
  const firstFrontend = frontends(plan)[0]!;
  return {
    log: { stdout: true, level: 'warn' },
    persistence: {
      defaultStore: 'default',
      visibilityStore: 'visibility',
      numHistoryShards: plan.numHistoryShards,
      datastores: { default: sqlDatastore(plan.stores.default, 20), visibility: sqlDatastore(plan.stores.visibility, 10) },
    },
    global: {
      // Members find each other through the cluster_membership table; each advertises 127.0.0.1:<membershipPort>.
      membership: { maxJoinDuration: '30s', broadcastAddress: '127.0.0.1' },
      tls: {
        // Clients (workers, CLI) must present a certificate signed by the CA.
        frontend: {
          server: { certFile: tls.serverCert, keyFile: tls.serverKey, requireClientAuth: true, clientCaFiles: [tls.caCert] },
          client: { serverName: tls.serverName, rootCaFiles: [tls.caCert] },
        },
        // The system worker (service "worker") reaches the frontends through membership, with a client certificate.
        systemWorker: { certFile: tls.clientCert, keyFile: tls.clientKey, client: { serverName: tls.serverName, rootCaFiles: [tls.caCert] } },
      },
    },
    // Every service is listed (the membership monitor tracks only the services the config names); the process
    // serves only its own, on its own ports. The others' entries name their first node's.
    services: Object.fromEntries(
      TEMPORAL_SERVICES.map((service) => {
        const ports = service === node.service ? node : plan.nodes.find((n) => n.service === service)!;
        return [
          service,
          {
            rpc: {
              grpcPort: ports.grpcPort,
              membershipPort: ports.membershipPort,
              bindOnLocalHost: true,
              ...(ports.httpPort ? { httpPort: ports.httpPort } : {}),
            },
          },
        ];
      }),
    ),
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: { active: { enabled: true, initialFailoverVersion: 1, rpcName: 'frontend', rpcAddress: `127.0.0.1:${firstFrontend.grpcPort}` } },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    archival: { history: { state: 'disabled' }, visibility: { state: 'disabled' } },
    namespaceDefaults: { archival: { history: { state: 'disabled' }, visibility: { state: 'disabled' } } },
    dynamicConfigClient: { filepath: plan.dynamicConfigFile, pollInterval: '10s' },
  };
}

export function writeClusterConfig(plan: ClusterPlan): void {
  for (const sub of ['config', 'logs', 'run']) mkdirSync(path.join(plan.dir, sub), { recursive: true });
  for (const node of plan.nodes) writeFileSync(node.configFile, JSON.stringify(nodeConfig(plan, node), null, 2) + '\n', { mode: 0o600 });
  writeFileSync(path.join(plan.dir, 'cluster.json'), JSON.stringify(plan, null, 2) + '\n', { mode: 0o600 });
}

/** Starts one node detached (it outlives this process); returns its pid. */
export function startNode(plan: ClusterPlan, node: ClusterNode): number {
  const log = openSync(node.logFile, 'a');
  const child = spawn(plan.binaries.server, ['--config-file', node.configFile, '--allow-no-auth', 'start', '--service', node.service], {
    detached: true,
    stdio: ['ignore', log, log],
  });
  child.unref();
  if (child.pid === undefined) throw new Error(`${node.name} did not start (${plan.binaries.server})`);
  writeFileSync(node.pidFile, String(child.pid));
  return child.pid;
}

export function nodePid(node: ClusterNode): number | null {
  try {
    return Number(readFileSync(node.pidFile, 'utf8').trim()) || null;
  } catch {
    return null;
  }
}

export function nodeAlive(node: ClusterNode): boolean {
  const pid = nodePid(node);
  if (pid === null) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function signalNode(node: ClusterNode, signal: NodeJS.Signals): void {
  const pid = nodePid(node);
  if (pid === null) return;
  try {
    process.kill(pid, signal);
  } catch {
    /* already gone */
  }
}

/** Every node: SIGTERM, then SIGKILL for what is still there after `graceMs`. */
export async function stopCluster(plan: ClusterPlan, graceMs = 10_000): Promise<void> {
  for (const node of plan.nodes) signalNode(node, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && plan.nodes.some(nodeAlive)) await sleep(200);
  for (const node of plan.nodes.filter(nodeAlive)) signalNode(node, 'SIGKILL');
  for (const node of plan.nodes) rmSync(node.pidFile, { force: true });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** gRPC status of an error from a raw service call (grpc-js errors carry `code`). */
const grpcCode = (error: unknown): number | undefined => (error as { code?: number }).code;
const GRPC = { ALREADY_EXISTS: 6 } as const;
/** temporal.api.enums.v1.IndexedValueType, by the type names SEARCH_ATTRIBUTES uses. */
const INDEXED_VALUE_TYPE = { Text: 1, Keyword: 2, Int: 3, Double: 4, Bool: 5, Datetime: 6, KeywordList: 7 } as const;

/** Retries `attempt` until it returns, or until `timeoutMs`; the error then names `what` and the last failure. */
async function retrying<T>(what: string, timeoutMs: number, attempt: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > deadline) throw new Error(`${what}: still failing after ${timeoutMs} ms: ${(error as Error).message}`);
      await sleep(500);
    }
  }
}

/** Starts every node and waits until each frontend answers over mTLS. */
export async function startCluster(plan: ClusterPlan, connect: TemporalConnectionOptions, timeoutMs = 120_000): Promise<void> {
  writeClusterConfig(plan);
  const deadline = Date.now() + timeoutMs;
  const serving = async (node: ClusterNode) => {
    while (!(await portOpen(node.grpcPort))) {
      if (!nodeAlive(node)) throw new Error(`${node.name} exited at start; its log ${node.logFile}:\n${tailOf(node.logFile)}`);
      if (Date.now() > deadline) throw new Error(`${node.name} did not open port ${node.grpcPort} within ${timeoutMs} ms; see ${node.logFile}`);
      await sleep(200);
    }
  };
  // The first node alone: on an empty database each node writes the cluster metadata at start, and nodes that
  // race to do it lose and exit ("failed to initialize current cluster metadata", seen here with v1.31.0).
  const [first, ...rest] = plan.nodes;
  startNode(plan, first!);
  await serving(first!);
  for (const node of rest) startNode(plan, node);
  for (const node of rest) await serving(node);
  for (const node of frontends(plan)) {
    await retrying(`${node.name} over mTLS`, Math.max(1000, deadline - Date.now()), () =>
      withFrontend(connect, node, (connection) => connection.workflowService.getSystemInfo({})),
    );
  }
}

export function tailOf(file: string, lines = 20, maxChars = 4000): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n').slice(-maxChars);
  } catch {
    return '(no log)';
  }
}

/** Runs `use` on a connection to one frontend directly (not through the address clients are given). */
async function withFrontend<T>(connect: TemporalConnectionOptions, node: ClusterNode, use: (connection: Connection) => Promise<T>): Promise<T> {
  const connection = await Connection.connect({ ...connect, address: `127.0.0.1:${node.grpcPort}`, connectTimeout: '5s' });
  try {
    return await use(connection);
  } finally {
    await connection.close();
  }
}

/**
 * Registers the namespace (retention TEMPORAL_CLUSTER.namespaceRetention) and the project's search attributes
 * through the operator API, then waits until every frontend sees both: a frontend's namespace cache refreshes
 * on its own clock, and a workflow started through a frontend that does not know the namespace yet would fail.
 */
export async function registerNamespace(plan: ClusterPlan, connect: TemporalConnectionOptions, namespace: string, timeoutMs = 120_000): Promise<void> {
  const [first] = frontends(plan);
  await retrying(`registering namespace ${namespace}`, timeoutMs, () =>
    withFrontend(connect, first!, async (connection) => {
      try {
        await connection.workflowService.registerNamespace({
          namespace,
          workflowExecutionRetentionPeriod: msToTs(parseDuration(TEMPORAL_CLUSTER.namespaceRetention)),
        });
      } catch (error) {
        if (grpcCode(error) !== GRPC.ALREADY_EXISTS) throw error;
      }
    }),
  );
  const wanted = Object.entries(SEARCH_ATTRIBUTES);
  await retrying(`adding search attributes to ${namespace}`, timeoutMs, () =>
    withFrontend(connect, first!, async (connection) => {
      const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
      const missing = wanted.filter(([name]) => !customAttributes || !(name in customAttributes));
      if (missing.length === 0) return;
      const searchAttributes = Object.fromEntries(missing.map(([name, type]) => [name, INDEXED_VALUE_TYPE[type]]));
      await connection.operatorService.addSearchAttributes({ namespace, searchAttributes });
    }),
  );
  for (const node of frontends(plan)) {
    await retrying(`namespace ${namespace} with its search attributes on ${node.name}`, timeoutMs, () =>
      withFrontend(connect, node, async (connection) => {
        await connection.workflowService.describeNamespace({ namespace });
        const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
        const missing = wanted.filter(([name]) => !customAttributes || !(name in customAttributes)).map(([name]) => name);
        if (missing.length > 0) throw new Error(`missing ${missing.join(', ')}`);
      }),
    );
  }
}
