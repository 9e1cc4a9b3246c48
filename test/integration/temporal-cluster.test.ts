/**
 * The production layout on a real Temporal cluster, not the dev server: temporal-server built from Go modules
 * (infra/temporal-cluster.ts), its schemas on PostgreSQL set up with the SQL schema tool, two frontend and two
 * history nodes plus matching and the system worker, each its own process, membership on loopback, mTLS on the
 * frontends with the test PKI. The orchestrator and two GPU hosts (cpu track) reach the frontends through a
 * layer-4 balancer. Two real pipelines run; mid-stage, the history node that owns one pipeline's shard is
 * killed with SIGKILL, then a frontend. Every pipeline completes, no evaluation request is sent twice, no stage
 * is charged, and the stall each kill caused is measured and printed.
 *
 * Without the Go binaries (and no `go` to build them) the suite is skipped with the reason in its title, in the
 * mark of test/support/needs.ts: under CI=true that skip fails the run (scripts/test-summary.ts).
 */
import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { cpSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { Connection, type ConnectionLike, type WorkflowHandle } from '@temporalio/client';
import { loadRuntimeConfig } from '../../infra/runtime-config.js';
import { connectionOptions, type TemporalConnectionOptions } from '../../infra/temporal.js';
import {
  frontends,
  clusterTlsOf,
  nodeAlive,
  planCluster,
  registerNamespace,
  signalNode,
  startCluster,
  stopCluster,
  tailOf,
  type ClusterNode,
  type ClusterPlan,
} from '../../infra/temporal-cluster.js';
import { ensureTemporalServerBinaries, setupSchemas, sqlStoreFrom, type TemporalServerBinaries } from '../../infra/temporal-server-build.js';
import { PROJECT_ROOT } from '../../infra/paths.js';
import { ResultsDb } from '../../infra/results-db.js';
import { submit } from '../../operations/pipelines.js';
import { progressQuery, type PipelineState } from '../../contract/pipeline.js';
import { needing } from '../support/needs.js';
import { makePki, type Pki } from '../support/pki.js';
import { startPostgres } from '../support/postgres.js';
import { startStack, type Stack } from '../support/stack.js';
import { startTcpBalancer, type TcpBalancer } from '../support/tcp-balancer.js';
import { until } from '../support/until.js';

const SERVER_NAME = 'temporal.test';
const NAMESPACE = 'default';
const DATABASES = { default: 'temporal_cluster_it', visibility: 'temporal_cluster_it_visibility' } as const;
// Comfortable limits: what is checked is that the outages cost no stage anything, not how fast a stage is.
const LIMITS = { fineTune: 180_000, openEval: 180_000, closedEval: 180_000 };

// Top-level await: the binaries are built here (cached after the first time), so a missing toolchain skips the
// suite visibly instead of failing each test.
let binaries: TemporalServerBinaries | null = null;
let unavailable: string | null = null;
try {
  binaries = await ensureTemporalServerBinaries({ say: (line) => console.log(`[temporal-cluster] ${line}`) });
} catch (error) {
  unavailable = (error as Error).message.split('\n')[0]!;
  console.warn(`[temporal-cluster] SKIPPED: ${unavailable}`);
}
const cluster = needing('temporal-cluster', unavailable);

let dir: string;
let pki: Pki;
let plan: ClusterPlan;
let balancer: TcpBalancer;
let connect: TemporalConnectionOptions;
let stack: Stack;
let db: ResultsDb;
let defaultDbUrl: string;
let schemaTranscript = '';
const suiteStarted = Date.now();

beforeAll(async () => {
  if (!binaries) return;
  const postgres = await startPostgres();
  defaultDbUrl = await postgres.freshDatabase(DATABASES.default);
  const visibilityUrl = await postgres.freshDatabase(DATABASES.visibility);
  const stores = { default: sqlStoreFrom(defaultDbUrl, DATABASES.default), visibility: sqlStoreFrom(visibilityUrl, DATABASES.visibility) };
  schemaTranscript = await setupSchemas(binaries.sqlTool, stores, { createDatabases: false });

  dir = mkdtempSync(path.join(os.tmpdir(), 'temporal-cluster-it-'));
  pki = makePki(mkdtempSync(path.join(dir, 'pki-')), SERVER_NAME);
  plan = await planCluster({
    dir,
    binaries,
    stores,
    tls: clusterTlsOf(pki, SERVER_NAME),
  });
  balancer = await startTcpBalancer(frontends(plan).map((node) => node.grpcPort));
  const env = {
    TEMPORAL_ADDRESS: `127.0.0.1:${balancer.port}`,
    TEMPORAL_NAMESPACE: NAMESPACE,
    TEMPORAL_TLS_CA: pki.caCert,
    TEMPORAL_TLS_SERVER_NAME: SERVER_NAME,
    TEMPORAL_TLS_CERT: pki.clientCert,
    TEMPORAL_TLS_KEY: pki.clientKey,
  };
  connect = connectionOptions(loadRuntimeConfig(env, dir).temporal);
  const clusterStarted = Date.now();
  await startCluster(plan, connect);
  await registerNamespace(plan, connect, NAMESPACE);
  console.log(`[temporal-cluster] ${plan.nodes.length} nodes up and namespace registered in ${((Date.now() - clusterStarted) / 1000).toFixed(1)} s`);
  stack = await startStack({
    hostWorkers: [
      { hostId: 'gpu-a', track: 'cpu', slots: 1 },
      { hostId: 'gpu-b', track: 'cpu', slots: 1 },
    ],
    env,
  });
  db = new ResultsDb(stack.config.databasePath);
}, 300_000);

afterAll(async () => {
  db?.close();
  await stack?.stop();
  await balancer?.close();
  if (plan) await stopCluster(plan);
});

const diagnostics = (): string =>
  [
    ...(stack?.workers ?? []).map((w) => `----- ${w.name} (exit ${w.process.exitCode ?? 'running'})\n${w.output().slice(-2000)}`),
    ...(plan?.nodes ?? []).map((n) => `----- ${n.name} (${nodeAlive(n) ? 'alive' : 'dead'})\n${tailOf(n.logFile, 8)}`),
  ].join('\n');
const waitFor = <T>(what: string, probe: () => T | undefined | null | false | Promise<T | undefined | null | false>, timeoutMs = 240_000) =>
  until(what, probe, timeoutMs, diagnostics);

/** A copy of a sample under another submission name (each pipeline needs its own id). */
function renamed(sample: string, submission: string): string {
  const copy = mkdtempSync(path.join(os.tmpdir(), `sample-${submission}-`));
  cpSync(path.join(PROJECT_ROOT, 'examples', sample), copy, { recursive: true });
  const manifest = JSON.parse(readFileSync(path.join(copy, 'submission.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(path.join(copy, 'submission.json'), JSON.stringify({ ...manifest, submission }, null, 2));
  return copy;
}

const progressStep = (submissionId: string): number => {
  try {
    return (JSON.parse(readFileSync(path.join(stack.config.dataDir, 'artifacts', submissionId, 'progress.json'), 'utf8')) as { step: number }).step;
  } catch {
    return 0;
  }
};

/** How often the checkpointing sample's server saw each prompt (`REQUEST <sha1>` lines, every container of the stage). */
function requestCounts(submissionId: string, stage: string): Map<string, number> {
  const logs = path.join(stack.config.dataDir, 'logs', submissionId);
  const counts = new Map<string, number>();
  for (const file of readdirSync(logs).filter((f) => f.startsWith(`${stage}.`))) {
    for (const match of readFileSync(path.join(logs, file), 'utf8').matchAll(/^REQUEST ([0-9a-f]{40})$/gm))
      counts.set(match[1]!, (counts.get(match[1]!) ?? 0) + 1);
  }
  return counts;
}

/**
 * Logs of containers an earlier attempt of the stage left behind (a new attempt saves them as <stage>.ch-…-a<N>.log
 * before it starts its own): none means the stage ran in one attempt.
 */
const earlierAttempts = (submissionId: string, stage: string): string[] =>
  readdirSync(path.join(stack.config.dataDir, 'logs', submissionId)).filter((f) => f.startsWith(`${stage}.ch-`));

/** The history node that owns the workflow's shard: the executions row names the shard, the shard's record its owner. */
async function historyOwnerOf(workflowId: string): Promise<ClusterNode | null> {
  const client = new pg.Client({ connectionString: defaultDbUrl });
  await client.connect();
  try {
    const execution = await client.query<{ shard_id: number }>('SELECT shard_id FROM executions WHERE workflow_id = $1 LIMIT 1', [workflowId]);
    const shardId = execution.rows[0]?.shard_id;
    if (shardId === undefined) return null;
    const shard = await client.query<{ data: Buffer }>('SELECT data FROM shards WHERE shard_id = $1', [shardId]);
    // ShardInfo is a protobuf blob whose `owner` field is the node's host:port.
    const owner = /127\.0\.0\.1:(\d+)/.exec(shard.rows[0]?.data.toString('latin1') ?? '');
    return plan.nodes.find((n) => n.service === 'history' && [n.grpcPort, n.membershipPort].map(String).includes(owner?.[1] ?? '')) ?? null;
  } finally {
    await client.end();
  }
}

/**
 * Queries every pipeline through the balancer, over and over: a query goes frontend → history (the shard's owner)
 * → matching → orchestrator worker and back, so it answers only when the whole path does. The stall of a kill is,
 * per pipeline, the time from the kill to its first answer after it.
 */
class StallProbe {
  private answers = new Map<string, number[]>();
  private running = true;
  private readonly loop: Promise<void>;

  constructor(
    private readonly connection: ConnectionLike,
    private readonly handles: WorkflowHandle[],
  ) {
    for (const handle of handles) this.answers.set(handle.workflowId, []);
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (this.running) {
      await Promise.all(
        this.handles.map(async (handle) => {
          try {
            await this.connection.withDeadline(Date.now() + 2000, () => handle.query(progressQuery));
            this.answers.get(handle.workflowId)!.push(Date.now());
          } catch {
            /* no answer: part of the stall */
          }
        }),
      );
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** Waits until every pipeline answered after `since`; the stall per workflow id in ms. */
  async stallsAfter(since: number, timeoutMs = 180_000): Promise<Record<string, number>> {
    const firstAfter = (id: string) => this.answers.get(id)!.find((t) => t > since);
    await waitFor('every pipeline answering a query after the kill', () => this.handles.every((h) => firstAfter(h.workflowId) !== undefined), timeoutMs);
    return Object.fromEntries(this.handles.map((h) => [h.workflowId, firstAfter(h.workflowId)! - since]));
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}

cluster.describe(
  `a real Temporal cluster (temporal-server ${binaries?.version ?? ''}, PostgreSQL, 2 frontends, 2 history nodes, mTLS)`,
  () => {
    it('set up both schemas with the SQL tool, and every node joined the membership ring', async () => {
      expect(schemaTranscript).toMatch(/update-schema --schema-name postgresql\/v12\/temporal/);
      expect(schemaTranscript).toMatch(/update-schema --schema-name postgresql\/v12\/visibility/);
      const client = new pg.Client({ connectionString: defaultDbUrl });
      await client.connect();
      try {
        const members = await client.query<{ rpc_port: number }>('SELECT rpc_port FROM cluster_membership WHERE record_expiry > now()');
        const ports = new Set(members.rows.map((r) => Number(r.rpc_port)));
        for (const node of plan.nodes) expect({ node: node.name, member: ports.has(node.membershipPort) }).toEqual({ node: node.name, member: true });
      } finally {
        await client.end();
      }
    });

    it('each frontend refuses a client without a certificate signed by the CA', async () => {
      for (const node of frontends(plan)) {
        const noClientCert = { ...connect, address: `127.0.0.1:${node.grpcPort}`, tls: { ...(connect.tls || {}), clientCertPair: undefined } };
        await expect(
          Connection.connect({ ...noClientCert, connectTimeout: '3s' }).then(async (c) => {
            try {
              await c.workflowService.getSystemInfo({});
            } finally {
              await c.close();
            }
          }),
        ).rejects.toThrow();
      }
    }, 60_000);

    it('two pipelines complete through SIGKILLs of a history node and a frontend mid-stage: nothing asked twice, nothing charged', async () => {
      const started = Date.now();
      const good = await submit(stack.client, stack.config, path.join(PROJECT_ROOT, 'examples', 'good-cooccurrence'), { limits: LIMITS });
      const steady = await submit(stack.client, stack.config, renamed('checkpointing-trainer', 'cluster-kills'), { limits: LIMITS });
      expect([good.status, steady.status]).toEqual(['started', 'started']);
      const handles = [good, steady].map((s) => stack.client.workflow.getHandle(s.workflowId));
      const probe = new StallProbe(stack.client.connection, handles);
      const kills: { node: string; during: string; stalls: Record<string, number> }[] = [];

      // 1. The history node that owns the checkpointing pipeline's shard, while it trains.
      await waitFor('training step 4 of the checkpointing sample', () => progressStep(steady.submissionId) >= 4);
      const owner = await historyOwnerOf(steady.workflowId);
      const historyVictim = owner ?? plan.nodes.find((n) => n.name === 'history-1')!;
      const historyKilledAt = Date.now();
      const stepAtKill = progressStep(steady.submissionId);
      signalNode(historyVictim, 'SIGKILL');
      await waitFor(`${historyVictim.name} gone`, () => !nodeAlive(historyVictim), 10_000);
      kills.push({
        node: `${historyVictim.name}${owner ? ' (owner of the shard)' : ' (shard owner not found)'}`,
        during: `fine-tune, training step ${stepAtKill}/24`,
        stalls: await probe.stallsAfter(historyKilledAt),
      });

      // 2. A frontend, while the checkpointing sample is being evaluated.
      const answered = await waitFor('10 open answers of the checkpointing sample', () => {
        const n = db.answerCount(steady.submissionId, 'open');
        return n >= 10 && n;
      });
      const frontendVictim = frontends(plan)[0]!;
      const frontendKilledAt = Date.now();
      signalNode(frontendVictim, 'SIGKILL');
      await waitFor(`${frontendVictim.name} gone`, () => !nodeAlive(frontendVictim), 10_000);
      kills.push({ node: frontendVictim.name, during: `open-eval, ${answered}/60 answers persisted`, stalls: await probe.stallsAfter(frontendKilledAt) });

      const states = await Promise.all(handles.map(async (h) => (await h.result()) as PipelineState));
      await probe.stop();

      const fineTuneAttempts = 1 + earlierAttempts(steady.submissionId, 'fine-tune').length;
      const line = kills
        .map(
          (k) =>
            `SIGKILL ${k.node} during ${k.during}: stall ${Object.entries(k.stalls)
              .map(([id, ms]) => `${id} ${(ms / 1000).toFixed(1)} s`)
              .join(', ')}`,
        )
        .join('\n  ');
      // Printed before the checks, so a failing run still reports the stalls.
      console.log(
        `temporal-cluster: ${plan.nodes.length} nodes, ${plan.numHistoryShards} history shards, frontend connections through the balancer ` +
          `${JSON.stringify(Object.fromEntries(balancer.connections))}\n  ${line}\n` +
          `  both pipelines completed ${((Date.now() - started) / 1000).toFixed(0)} s after submission; checkpointing sample fine-tune ran in ${fineTuneAttempts} attempt(s); ` +
          `suite ${((Date.now() - suiteStarted) / 1000).toFixed(0)} s so far`,
      );
      // Every pipeline completes, every stage succeeded: nothing was charged for the outages.
      for (const [i, submission] of [good, steady].entries()) {
        expect({ submission: submission.submissionId, outcome: states[i]!.outcome, failure: states[i]!.failureCategory }).toEqual({
          submission: submission.submissionId,
          outcome: 'completed',
          failure: null,
        });
        for (const stage of db.stages(submission.submissionId)) {
          expect({ submission: submission.submissionId, stage: stage.stage, outcome: stage.outcome, failure: stage.failureCategory }).toEqual({
            submission: submission.submissionId,
            stage: stage.stage,
            outcome: 'succeeded',
            failure: null,
          });
        }
        // One attempt per evaluation: no inference server was started again (which would re-ask what was in flight).
        for (const stage of ['open-eval', 'closed-eval'])
          expect({ stage, earlier: earlierAttempts(submission.submissionId, stage) }).toEqual({ stage, earlier: [] });
      }
      // Nothing asked twice: the server saw each prompt once (it prints one line per request); every instance was
      // asked (the distinct prompts are the suite's instances plus the harness's start-up probe) and answered.
      for (const [stage, suite] of [
        ['open-eval', 'open'],
        ['closed-eval', 'closed'],
      ] as const) {
        const details = db.stages(steady.submissionId).find((s) => s.stage === stage)!.details as { total: number };
        const counts = requestCounts(steady.submissionId, stage);
        expect({ stage, askedTwice: [...counts.entries()].filter(([, n]) => n > 1) }).toEqual({ stage, askedTwice: [] });
        expect(counts.size).toBeGreaterThanOrEqual(details.total);
        expect(db.answerCount(steady.submissionId, suite)).toBe(details.total);
      }
    }, 600_000);
  },
);
