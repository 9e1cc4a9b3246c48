/**
 * Scale-out on one machine, in the production layout: a Temporal server, one orchestrator worker and
 * three GPU-host worker processes with distinct host identities and data folders of their own, the
 * results in PostgreSQL (DATABASE_URL) and the artifact store in an S3-compatible server. The host that
 * trains a submission is killed (its worker process and its containers, as when a machine is lost) in the
 * middle of fine-tuning; the pipeline moves to another host, resumes from the checkpoint the store holds,
 * and the leaderboard of the track is complete.
 *
 * On one machine the three hosts share one Docker engine, so the new host finds the images built from
 * the same sources (their source digest label) and keeps them; on separate machines it builds them.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { PROJECT_ROOT } from '../../infra/paths.js';
import { PostgresResultsDb } from '../../infra/results-db-postgres.js';
import { S3ArtifactStore } from '../../infra/artifact-store-s3.js';
import { artifactKeys } from '../../infra/artifact-store.js';
import { submit } from '../../operations/pipelines.js';
import { leaderboard } from '../../operations/standings.js';
import { progressQuery, type PipelineState } from '../../contract/pipeline.js';
import { startStack, type Stack, type WorkerProcess } from '../support/stack.js';
import { startPostgres } from '../support/postgres.js';
import { startS3 } from '../support/s3-server.js';
import { until } from '../support/until.js';

const HOSTS = ['rack1-a', 'rack1-b', 'rack2-a'] as const;
const VICTIM_ID = 'steady-pace.checkpointed';
const OTHER_ID = 'ngram-lab.cooccurrence-v1';
const LIMITS = { build: 300_000, fineTune: 120_000, openEval: 90_000, closedEval: 90_000 };
// Short on purpose: a lost host is detected in seconds here (minutes in production, ACTIVITY_POLICY).
const HOST_POLICY = { scheduleToStartMs: 4000, goneAfterMs: 6000 };

let stack: Stack;
let db: PostgresResultsDb;
let store: S3ArtifactStore;
const hostDirs = new Map<string, string>();
const hostWorkers = new Map<string, WorkerProcess>();

beforeAll(async () => {
  const [postgres, s3] = await Promise.all([startPostgres(), startS3()]);
  const databaseUrl = await postgres.freshDatabase('multi_host_test');
  const bucket = await s3.freshBucket('multi-host', 'competition-2023');
  stack = await startStack({
    hostWorkers: [],
    env: {
      DATABASE_URL: databaseUrl,
      CHALLENGE_ARTIFACT_STORE: `s3://${bucket.bucket}/${bucket.prefix}`,
      CHALLENGE_S3_ENDPOINT: s3.endpoint,
      AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'testing',
      AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'testing',
      AWS_REGION: bucket.region,
    },
  });
  for (const hostId of HOSTS) {
    const dir = path.join(stack.config.dataDir, 'hosts', hostId);
    mkdirSync(dir, { recursive: true });
    hostDirs.set(hostId, dir);
    const worker = await stack.startWorker(`gpu-host ${hostId}`, 'gpu-host.js', ['--track', 'cpu'], {
      CHALLENGE_HOST_ID: hostId,
      CHALLENGE_GPU_SLOTS: '1',
      CHALLENGE_DATA_DIR: dir,
      CHALLENGE_SHUTDOWN_GRACE_MS: '1000',
    });
    hostWorkers.set(hostId, worker);
  }
  db = await PostgresResultsDb.connect(databaseUrl);
  store = new S3ArtifactStore(bucket);
}, 300_000);

afterAll(async () => {
  await db?.close();
  await stack?.stop();
});

/** Waits like support/until, with the workers' last output in the error when it times out. */
const waitFor = <T>(what: string, probe: () => T | undefined | null | false | Promise<T | undefined | null | false>, timeoutMs = 180_000) =>
  until(what, probe, timeoutMs, () => diagnostics());

/** What the workers printed last: the first thing to read when a wait times out. */
const diagnostics = (): string => stack.workers.map((w) => `----- ${w.name} (exit ${w.process.exitCode ?? 'running'})\n${w.output().slice(-2500)}`).join('\n');

const progressStep = (hostId: string): number => {
  try {
    return (JSON.parse(readFileSync(path.join(hostDirs.get(hostId)!, 'artifacts', VICTIM_ID, 'progress.json'), 'utf8')) as { step: number }).step;
  } catch {
    return 0;
  }
};

describe('several GPU hosts on one Temporal cluster', () => {
  it('every host records itself alive in PostgreSQL', async () => {
    const hosts = await waitFor(
      'three live hosts',
      async () => {
        const seen = await db.hosts('cpu');
        return seen.length === HOSTS.length && seen;
      },
      30_000,
    );
    expect(hosts.map((h) => h.hostId).sort()).toEqual([...HOSTS].sort());
    for (const host of hosts) expect(Date.now() - Date.parse(host.lastSeen)).toBeLessThan(10_000);
  });

  it('a host lost mid fine-tune: the pipeline moves to another host, resumes from the stored checkpoint, and the leaderboard is complete', async () => {
    const victim = await submit(stack.client, stack.config, path.join(PROJECT_ROOT, 'examples', 'checkpointing-trainer'), {
      limits: LIMITS,
      heartbeatTimeoutMs: 3000,
      hostPolicy: HOST_POLICY,
    });
    const other = await submit(stack.client, stack.config, path.join(PROJECT_ROOT, 'examples', 'good-cooccurrence'), {
      limits: LIMITS,
      heartbeatTimeoutMs: 3000,
      hostPolicy: HOST_POLICY,
    });
    expect([victim.status, other.status]).toEqual(['started', 'started']);
    const handle = stack.client.workflow.getHandle(victim.workflowId);

    // The host that claimed the submission trains it; wait until a checkpoint of it is in the store.
    const lostHost = await waitFor('the victim claimed by a host', async () => (await handle.query(progressQuery)).host);
    expect(HOSTS).toContain(lostHost);
    await waitFor('training step 6 on the claimed host', () => progressStep(lostHost) >= 6, 100_000);
    const stored = await waitFor('a checkpoint in the artifact store', async () => {
      const text = await store.getText(artifactKeys.checkpoint(VICTIM_ID));
      return text ? (JSON.parse(text) as { step: number }) : null;
    });
    const stepAtLoss = progressStep(lostHost);

    // The machine is lost: its worker process dies and so do its containers.
    const lostAt = Date.now();
    hostWorkers.get(lostHost)!.process.kill('SIGKILL');
    await hostWorkers.get(lostHost)!.process.catch(() => undefined);
    await execa(
      'docker',
      ['rm', '-f', ...(await execa('docker', ['ps', '-aq', '--filter', `label=challenge.host=${lostHost}`])).stdout.split('\n').filter(Boolean)],
      { reject: false },
    );

    const state = (await handle.result()) as PipelineState;
    const otherState = (await stack.client.workflow.getHandle(other.workflowId).result()) as PipelineState;

    // Moved once, from the lost host to a live one, during fine-tuning.
    expect(state.outcome).toBe('completed');
    expect(state.failovers).toHaveLength(1);
    const [move] = state.failovers;
    expect(move).toMatchObject({ stage: 'fine-tune', from: lostHost });
    expect(HOSTS.filter((h) => h !== lostHost)).toContain(move!.to);
    expect(state.host).toBe(move!.to);
    expect(move!.creditedMs).toBeGreaterThanOrEqual(HOST_POLICY.goneAfterMs);

    // Resumed on the new host from the checkpoint the store held, not from scratch.
    const stages = new Map((await db.stages(VICTIM_ID)).map((s) => [s.stage, s]));
    const fineTune = stages.get('fine-tune')!;
    expect(fineTune.outcome).toBe('succeeded');
    expect(fineTune.details).toMatchObject({ resumedFromSource: 'artifact-store', hostId: move!.to, failovers: 1 });
    const resumedFrom = fineTune.details?.resumedFrom as { step: number };
    expect(resumedFrom.step).toBeGreaterThanOrEqual(stored.step);
    expect(resumedFrom.step).toBeLessThanOrEqual(stepAtLoss);
    // steps.log came from the store and the new host appended to it: every step once, at most the
    // steps after the last stored checkpoint twice.
    const steps = readFileSync(path.join(hostDirs.get(move!.to)!, 'artifacts', VICTIM_ID, 'steps.log'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map(Number);
    expect(new Set(steps)).toEqual(new Set(Array.from({ length: 24 }, (_, i) => i + 1)));
    expect(steps.length - new Set(steps).size).toBeLessThanOrEqual(stepAtLoss - resumedFrom.step + 1);
    // Both evaluations ran on the new host with the restored output; the final output is in the store.
    for (const stage of ['open-eval', 'closed-eval']) {
      const details = stages.get(stage)?.details as { hostId: string; answered: number; unanswered: number; total: number };
      expect(details).toMatchObject({ hostId: move!.to, unanswered: 0 });
      expect(details.answered).toBe(details.total);
    }
    const keys = (await store.list(artifactKeys.trainingOutput(VICTIM_ID))).map((o) => o.key);
    expect(keys.some((k) => k.endsWith('/model.json'))).toBe(true);
    expect((await store.getText(artifactKeys.answers(VICTIM_ID, 'open')))?.trim().split('\n')).toHaveLength(60);
    expect((await store.list(artifactKeys.logs(VICTIM_ID))).some((o) => o.key.endsWith('/fine-tune.log'))).toBe(true);
    expect(existsSync(path.join(hostDirs.get(move!.to)!, 'artifacts', VICTIM_ID, 'model.json'))).toBe(true);

    // The other submission was untouched or moved too; the leaderboard has both, scored.
    expect(otherState.outcome).toBe('completed');
    const board = await leaderboard(db, 'cpu');
    expect(board.rows.map((r) => r.submissionId).sort()).toEqual([OTHER_ID, VICTIM_ID].sort());
    expect(board.unranked).toEqual([]);
    for (const row of board.rows) {
      expect(row.failureCategory).toBeNull();
      // Every metric column of both suites has a value: nothing the lost host held is missing from the scores.
      expect(Object.values(row.metrics).every((value) => value !== null)).toBe(true);
      expect(Number.isFinite(row.final)).toBe(true);
    }
    // The lost host is recorded as silent since the kill; the others are alive (what operators see).
    const hosts = await db.hosts('cpu');
    const silent = hosts.find((h) => h.hostId === lostHost)!;
    expect(Date.parse(silent.lastSeen)).toBeLessThanOrEqual(lostAt + 2500);
    const listed = await stack.cli(['hosts', '--track', 'cpu', '--gone-after', '6s', '--json']);
    expect(listed.exitCode).toBe(0);
    const states = Object.fromEntries((JSON.parse(listed.stdout) as { hostId: string; alive: boolean }[]).map((h) => [h.hostId, h.alive]));
    expect(states).toEqual(Object.fromEntries(HOSTS.map((h) => [h, h !== lostHost])));
    const table = await stack.cli(['hosts', '--gone-after', '6s']);
    expect(table.stdout).toMatch(new RegExp(`^${lostHost}\\s+cpu\\s+1\\s+\\S+\\s+gone \\(silent \\d+[smh]\\)$`, 'm'));
    console.log(
      `multi-host: ${lostHost} lost at training step ${stepAtLoss} (store held step ${stored.step}); moved to ${move!.to} ${((Date.parse(move!.at) - lostAt) / 1000).toFixed(1)} s after the loss ` +
        `(${(move!.creditedMs / 1000).toFixed(1)} s credited to the limit), resumed from step ${resumedFrom.step}; ${steps.length - new Set(steps).size} step(s) ran twice; ` +
        `pipeline done ${((Date.now() - lostAt) / 1000).toFixed(0)} s after the loss`,
    );
  }, 600_000);
});
