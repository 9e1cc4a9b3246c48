/**
 * Issue 13: what a submission can do to a host's disk, and sandbox claims no other test checked.
 *  - training that writes past its track's output cap (lowered to 200 MB here) ends as DiskQuota with its last
 *    complete checkpoint kept (in the stage's progress and in the artifact store), and the folder store shares the
 *    files instead of doubling them;
 *  - training that floods stdout keeps Docker's own log file bounded (the json-file rotation of runArgs);
 *  - a good submission running beside both completes;
 *  - training has no network and gets no pipeline environment (a fixture reports from inside the container);
 *  - two submissions' inference servers, each on its own evaluation network, cannot reach each other;
 *  - a host with less free disk than the threshold refuses to start a stage (Infrastructure, not charged).
 * Free disk is measured before, during and after. Rows go to test-artifacts/fault-report.md (source
 * "disk-and-logs").
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import { cpSync, existsSync, lstatSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { ResultsDb, type StageRecord } from '../../infra/results-db.js';
import { PROJECT_ROOT } from '../../infra/paths.js';
import { TRACKS, formatBytes, parseBytes } from '../../temporal.config.js';
import { FAILURE_CATEGORIES } from '../../domain/failures.js';
import { submit } from '../../operations/pipelines.js';
import * as dockerRuntime from '../../infra/docker.js';
import { closeEvaluationNetwork, measureFolder, openEvaluationNetwork } from '../../activities/host.js';
import { pipelineWorkflowId, type PipelineState } from '../../contract/pipeline.js';
import { startStack, type Stack, type WorkerProcess } from '../support/stack.js';
import { FaultReport, leakedColumn, lostColumn } from '../support/fault-report.js';
import { until } from '../support/until.js';

const report = new FaultReport('disk-and-logs');
const CAP = 200_000_000;
const SAFETY = 1_500_000_000; // the flood fixture stops writing here whatever happens (the real disk stays safe)
const SECRETS = {
  CHALLENGE_SECRET_TOKEN: 'pipeline-secret-do-not-leak',
  AWS_ACCESS_KEY_ID: 'AKIAPIPELINEDONOTLEAK',
  AWS_SECRET_ACCESS_KEY: 'pipeline-aws-secret-do-not-leak',
  TEMPORAL_NAMESPACE: 'default',
};
const HOST_ENV = {
  CHALLENGE_HOST_ID: 'host-1',
  CHALLENGE_GPU_SLOTS: '4',
  CHALLENGE_SHUTDOWN_GRACE_MS: '1000',
  CHALLENGE_TRAINING_OUTPUT_CAP: String(CAP),
  ...SECRETS,
};
const LIMITS = { fineTune: 240_000, openEval: 120_000, closedEval: 120_000, startup: 60_000 };
const CPU_LOG = TRACKS.cpu.disk.log;
const LOG_BOUND = parseBytes(CPU_LOG.maxSize) * CPU_LOG.maxFiles;

let stack: Stack;
let db: ResultsDb;
const made: string[] = [];
const images: string[] = [];

beforeAll(async () => {
  stack = await startStack({ hostWorkers: [] });
  await stack.startWorker('gpu-host', 'gpu-host.js', ['--track', 'cpu'], HOST_ENV);
  db = new ResultsDb(stack.config.databasePath);
}, 120_000);

afterAll(async () => {
  const file = report.write();
  console.log(`fault report: ${file}\n${readFileSync(file, 'utf8')}`);
  db?.close();
  await stack?.stop();
  for (const image of images) await execa('docker', ['rmi', '-f', image], { reject: false });
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
  if (stack) rmSync(stack.config.dataDir, { recursive: true, force: true });
}, 120_000);

const gpuHost = (): WorkerProcess => stack.workers.filter((w) => w.name === 'gpu-host' && w.process.exitCode === null).at(-1)!;
const stageOf = (submissionId: string, stage: string): StageRecord => db.stages(submissionId).find((s) => s.stage === stage)!;
/** Containers of a submission that Docker's own event stream saw start since `sinceS` (Unix seconds). */
async function containersStartedFor(submissionId: string, sinceS: number): Promise<number> {
  const args = ['events', '--since', String(sinceS), '--until', String(Math.ceil(Date.now() / 1000) + 1), '--filter', 'event=start'];
  const events = await execa('docker', [...args, '--filter', `label=challenge.submission=${submissionId}`, '--format', '{{.Actor.ID}}']);
  return events.stdout.split('\n').filter(Boolean).length;
}
const artifactsOf = (submissionId: string) => path.join(stack.config.dataDir, 'artifacts', submissionId);
const storeRoot = (): string => {
  if (stack.config.artifactStore.kind !== 'fs') throw new Error('these tests use the folder artifact store');
  return stack.config.artifactStore.root;
};
const freeBytes = async (dir: string): Promise<number> => {
  const s = await statfs(dir);
  return s.bavail * s.bsize;
};

/** A copy of a fixture folder as submission `team.submission`, with `__KEY__` placeholders replaced in its Dockerfiles. */
function fixture(name: string, team: string, submission: string, replacements: Record<string, string> = {}): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `${name}-`));
  made.push(dir);
  cpSync(path.join(PROJECT_ROOT, 'test', 'fixtures', name), dir, { recursive: true });
  for (const file of ['Dockerfile', 'Dockerfile.train']) {
    let text = readFileSync(path.join(dir, file), 'utf8');
    for (const [key, value] of Object.entries(replacements)) text = text.replaceAll(`__${key}__`, value);
    writeFileSync(path.join(dir, file), text);
  }
  if (!existsSync(path.join(dir, 'submission.json'))) {
    writeFileSync(
      path.join(dir, 'submission.json'),
      JSON.stringify({ schemaVersion: 1, team, submission, track: 'cpu', baseModel: `none (${name})`, trainingData: [] }, null, 2),
    );
  }
  images.push(`challenge-submissions/${team}.${submission}:train`, `challenge-submissions/${team}.${submission}:inference`);
  return dir;
}

/** The good sample under another name. */
function goodSample(submission: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `good-${submission}-`));
  made.push(dir);
  cpSync(path.join(PROJECT_ROOT, 'examples', 'checkpointing-trainer'), dir, { recursive: true });
  const manifest = JSON.parse(readFileSync(path.join(dir, 'submission.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(path.join(dir, 'submission.json'), JSON.stringify({ ...manifest, submission }, null, 2));
  images.push(`challenge-submissions/${String(manifest.team)}.${submission}:train`, `challenge-submissions/${String(manifest.team)}.${submission}:inference`);
  return dir;
}

async function start(directory: string, options: Parameters<typeof submit>[3] = {}) {
  const started = await submit(stack.client, stack.config, directory, { limits: LIMITS, heartbeatTimeoutMs: 5000, ...options });
  expect(started.status).toBe('started');
  return { ...started, result: stack.client.workflow.getHandle(started.workflowId).result() as Promise<PipelineState> };
}

/** Bytes on disk of the files under `dirs`, each inode once (hard links to one file count once). */
function uniqueBytes(dirs: string[]): { bytes: number; inodes: Set<string> } {
  const inodes = new Set<string>();
  let bytes = 0;
  const visit = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const name of readdirSync(dir)) {
      const full = path.join(dir, name);
      const s = lstatSync(full);
      if (s.isDirectory()) visit(full);
      else if (s.isFile()) {
        const key = `${s.dev}:${s.ino}`;
        if (!inodes.has(key)) bytes += s.blocks * 512;
        inodes.add(key);
      }
    }
  };
  dirs.forEach(visit);
  return { bytes, inodes };
}

/** Samples a value every `everyMs` until stopped; keeps the largest. */
function sampler(everyMs: number, sample: () => Promise<number | null>): { stop: () => Promise<number> } {
  let max = Number.NEGATIVE_INFINITY;
  let running = true;
  const loop = (async () => {
    while (running) {
      const value = await sample().catch(() => null);
      if (value !== null) max = Math.max(max, value);
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return max;
    },
  };
}

/** Docker's log files of the running training container of `workflowId`: the current file and its rotations. */
async function dockerLogBytes(workflowId: string): Promise<number | null> {
  const ids = (
    await execa('docker', ['ps', '-q', '--filter', `label=challenge.workflow=${workflowId}`, '--filter', 'label=challenge.stage=fine-tune'], { reject: false })
  ).stdout
    .trim()
    .split('\n')
    .filter(Boolean);
  let total: number | null = null;
  for (const id of ids) {
    const file = await dockerRuntime.containerLogPath(id);
    if (!file) continue;
    const dir = path.dirname(file);
    for (const name of readdirSync(dir).filter((f) => f.startsWith(path.basename(file)))) {
      try {
        total = (total ?? 0) + statSync(path.join(dir, name)).size;
      } catch {
        /* rotated away meanwhile */
      }
    }
  }
  return total;
}

describe('floods of the disk and of the log, beside a good submission and a sandbox probe', () => {
  const DISK = { team: 'flood', submission: 'disk', id: 'flood.disk' };
  const LOG = { team: 'flood', submission: 'stdout', id: 'flood.stdout' };
  const GOOD = 'steady-pace.beside-floods';
  const PROBE = { team: 'sandbox', submission: 'probe', id: 'sandbox.probe' };
  const figures = {
    freeBefore: 0,
    freeMin: 0,
    freeAfter: 0,
    peakOutput: 0,
    peakLog: 0,
    storeOnlyBytes: 0,
    localBytes: 0,
    durationMs: 0,
  };
  const results: Record<string, PipelineState> = {};
  let probeConnections = 0;
  let probeServer: http.Server;
  let probeNetwork = '';

  beforeAll(async () => {
    // A listener on every host address, behind the gateway of a network of the test's own: training must not reach it.
    probeServer = http.createServer((_req, res) => res.end('reached the host'));
    probeServer.on('connection', () => probeConnections++);
    await new Promise<void>((resolve) => probeServer.listen(0, '0.0.0.0', resolve));
    const port = (probeServer.address() as { port: number }).port;
    probeNetwork = `disk-and-logs-probe-${process.pid}`;
    await execa('docker', ['network', 'create', probeNetwork]);
    const gateway = (await execa('docker', ['network', 'inspect', '--format', '{{(index .IPAM.Config 0).Gateway}}', probeNetwork])).stdout.trim();
    expect(gateway).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    const targets = [`${gateway}:${port}`, '203.0.113.10:80', '127.0.0.1:80'].join(',');

    const dataDir = stack.config.dataDir;
    figures.freeBefore = await freeBytes(dataDir);
    const started = Date.now();
    const runs = [
      await start(fixture('disk-flood', DISK.team, DISK.submission, { MODE: 'output' })),
      await start(fixture('disk-flood', LOG.team, LOG.submission, { MODE: 'stdout' })),
      await start(goodSample('beside-floods')),
      await start(fixture('sandbox-probe', PROBE.team, PROBE.submission, { TARGETS: targets })),
    ];
    const free = sampler(200, async () => -(await freeBytes(dataDir)));
    const output = sampler(100, async () => (await measureFolder(artifactsOf(DISK.id))).bytes);
    const log = sampler(200, () => dockerLogBytes(pipelineWorkflowId(LOG.id)));
    const states = await Promise.all(runs.map((r) => r.result));
    figures.durationMs = Date.now() - started;
    figures.freeMin = -(await free.stop());
    figures.peakOutput = Math.max(0, await output.stop());
    figures.peakLog = Math.max(0, await log.stop());
    figures.freeAfter = await freeBytes(dataDir);
    runs.forEach((r, i) => (results[r.submissionId] = states[i]!));
    const local = uniqueBytes([artifactsOf(DISK.id)]);
    const both = uniqueBytes([artifactsOf(DISK.id), path.join(storeRoot(), 'submissions', DISK.id, 'artifacts')]);
    figures.localBytes = local.bytes;
    figures.storeOnlyBytes = both.bytes - local.bytes;
    console.log(`disk-and-logs figures: ${JSON.stringify(figures)}`);
  }, 600_000);

  afterAll(async () => {
    await new Promise<void>((resolve) => probeServer.close(() => resolve()));
    if (probeNetwork) await execa('docker', ['network', 'rm', probeNetwork], { reject: false });
  });

  it('training that writes past the cap ends as DiskQuota, stopped near the cap, keeping its last complete checkpoint', () => {
    const state = results[DISK.id]!;
    expect(state.outcome).toBe('completed'); // evaluated on what it kept, like a time limit
    expect(state.failureCategory).toBe('DiskQuota');
    const fineTune = stageOf(DISK.id, 'fine-tune');
    expect(fineTune).toMatchObject({ outcome: 'partial', failureCategory: 'DiskQuota' });
    expect(fineTune.reason).toContain(`reached the cap of track cpu (${formatBytes(CAP)} and`);
    expect(fineTune.reason).toMatch(/kept the last complete checkpoint checkpoints\/step-3\.bin \(step 3\)/);
    const details = fineTune.details as Record<string, unknown>;
    expect(details.progress).toMatchObject({ step: 3, checkpoint: 'checkpoints/step-3.bin' });
    expect(details.stoppedByCap).toBe(true);
    const outputBytes = details.outputBytes as number;
    expect(outputBytes).toBeGreaterThan(CAP);
    expect(outputBytes).toBeLessThan(SAFETY); // the cap stopped it, not the fixture's own limit
    expect(figures.peakOutput).toBeLessThan(SAFETY);
    // The store holds that checkpoint, completely, and its record points at it.
    const record = JSON.parse(readFileSync(path.join(storeRoot(), 'submissions', DISK.id, 'training', 'checkpoint.json'), 'utf8')) as {
      step: number;
      checkpoint: string;
    };
    expect(record).toMatchObject({ step: 3, checkpoint: 'checkpoints/step-3.bin' });
    const stored = path.join(storeRoot(), 'submissions', DISK.id, 'artifacts', 'checkpoints', 'step-3.bin');
    expect(statSync(stored).size).toBe(1_000_000);
    expect(readFileSync(stored)[0]).toBe(3);
    // Shared with the host's copy, not doubled.
    expect(statSync(stored).ino).toBe(statSync(path.join(artifactsOf(DISK.id), 'checkpoints', 'step-3.bin')).ino);
    expect(figures.storeOnlyBytes).toBeLessThan(5_000_000);
    for (const stage of ['open-eval', 'closed-eval']) expect(stageOf(DISK.id, stage).outcome).toBe('succeeded');
    const checkpointsBefore = 3;
    const checkpointsAfter = ['step-1.bin', 'step-2.bin', 'step-3.bin'].filter((f) =>
      existsSync(path.join(storeRoot(), 'submissions', DISK.id, 'artifacts', 'checkpoints', f)),
    ).length;
    report.add({
      fault: 'training writes past its disk cap',
      injected:
        `3 checkpoints of 1 MB, then junk into /artifacts as fast as it can (cap lowered to ${formatBytes(CAP)} with CHALLENGE_TRAINING_OUTPUT_CAP; the ` +
        `fixture stops by itself at ${formatBytes(SAFETY)})`,
      systemDid: `fine-tune ${fineTune.outcome} as ${fineTune.failureCategory}: ${fineTune.reason}; evaluated on the kept output`,
      lost: lostColumn([{ what: 'checkpoints declared → in the store', before: checkpointsBefore, after: checkpointsAfter }]),
      measured:
        `stopped at ${formatBytes(details.stoppedAtBytes as number)}, ${formatBytes(outputBytes)} on disk at the end (${formatBytes(outputBytes - CAP)} past ` +
        `the cap; largest the test saw ${formatBytes(figures.peakOutput)}); the store added ${formatBytes(figures.storeOnlyBytes)} beside ` +
        `${formatBytes(figures.localBytes)} of training output (hard links); free disk ${formatBytes(figures.freeBefore)} before, ` +
        `${formatBytes(figures.freeMin)} lowest, ${formatBytes(figures.freeAfter)} after`,
    });
  });

  it("training that floods stdout keeps Docker's log file bounded", () => {
    const state = results[LOG.id]!;
    expect(state.outcome).toBe('completed');
    expect(stageOf(LOG.id, 'fine-tune').outcome).toBe('succeeded');
    const printed = JSON.parse(readFileSync(path.join(artifactsOf(LOG.id), 'printed.json'), 'utf8')) as { bytes: number; seconds: number };
    expect(printed.bytes).toBeGreaterThan(5 * LOG_BOUND); // the bound means something
    expect(figures.peakLog).toBeGreaterThan(0); // the sampler saw the log
    // json-file rotates at max-size once a write passes it: at most max-file files, each max-size plus a write.
    expect(figures.peakLog).toBeLessThanOrEqual(LOG_BOUND + CPU_LOG.maxFiles * 1024 * 1024);
    const storedLog = statSync(path.join(stack.config.dataDir, 'logs', LOG.id, 'fine-tune.log')).size;
    report.add({
      fault: 'training floods stdout',
      injected: `training printed ${formatBytes(printed.bytes)} in ${printed.seconds} s to stdout`,
      systemDid:
        `Docker's json-file log rotated at ${CPU_LOG.maxSize} × ${CPU_LOG.maxFiles} files (runArgs, TRACKS.cpu.disk.log); the stage log kept its last lines; ` +
        `fine-tune ${stageOf(LOG.id, 'fine-tune').outcome}`,
      lost: lostColumn(
        [
          {
            what: 'stages completed',
            before: 4,
            after: (['fine-tune', 'open-eval', 'closed-eval', 'score'] as const).filter((s) => stageOf(LOG.id, s).outcome === 'succeeded').length,
          },
        ],
        'the log keeps its newest lines only, by design',
      ),
      measured: `Docker's log files at most ${formatBytes(figures.peakLog)} on disk (bound ${formatBytes(LOG_BOUND)}); stored stage log ${formatBytes(storedLog)}`,
    });
  });

  it('a good submission beside both floods completes', () => {
    const state = results[GOOD]!;
    expect(state.outcome).toBe('completed');
    expect(state.failureCategory).toBeNull();
    for (const stage of ['build', 'fine-tune', 'open-eval', 'closed-eval', 'score']) expect(stageOf(GOOD, stage).outcome).toBe('succeeded');
    const steps = readFileSync(path.join(artifactsOf(GOOD), 'steps.log'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map(Number);
    report.add({
      fault: 'good submission beside the floods',
      injected: 'examples/checkpointing-trainer submitted with the disk flood, the stdout flood and the sandbox probe, 4 slots on 2 cores',
      systemDid: 'every stage succeeded',
      lost: lostColumn([
        { what: 'training steps', before: 24, after: new Set(steps).size },
        { what: 'open answers', before: 60, after: db.answerCount(GOOD, 'open') },
      ]),
      measured: `all four pipelines done in ${(figures.durationMs / 1000).toFixed(0)} s`,
    });
  });

  it('training has no network and gets no pipeline environment', () => {
    expect(results[PROBE.id]!.outcome).toBe('completed');
    const seen = JSON.parse(readFileSync(path.join(artifactsOf(PROBE.id), 'sandbox-report.json'), 'utf8')) as {
      interfaces: string[];
      devices: string[];
      routes: string[][];
      connects: { target: string; connected: boolean; error: string | null; ms: number }[];
      dns: { resolved: boolean; ms: number };
      env: Record<string, string>;
    };
    expect(seen.interfaces).toEqual(['lo']);
    expect(seen.devices).toEqual(['lo']);
    expect(seen.routes).toEqual([]);
    expect(seen.connects).toHaveLength(3);
    for (const attempt of seen.connects) {
      expect(attempt.connected).toBe(false);
      expect(attempt.ms).toBeLessThan(1000); // fails at once: no route, nothing to wait for
    }
    expect(seen.dns.resolved).toBe(false);
    expect(probeConnections).toBe(0);
    const allowed = ['CHALLENGE_TRACK', 'CHALLENGE_RESUME_FROM', 'CHALLENGE_OOM_RETRY'];
    const pipelineVariables = Object.keys(seen.env).filter((key) => /^(CHALLENGE_|TEMPORAL_|DATABASE_URL|AWS_)/.test(key) && !allowed.includes(key));
    expect(pipelineVariables).toEqual([]);
    expect(seen.env.CHALLENGE_TRACK).toBe('cpu');
    const values = Object.values(seen.env).join('\n');
    for (const secret of Object.values(SECRETS).filter((v) => v !== 'default')) expect(values).not.toContain(secret);
    expect(values).not.toContain(stack.config.dataDir);
    report.add({
      fault: 'training sandbox, seen from inside',
      injected:
        `a training that lists its interfaces and routes, connects to ${seen.connects.map((c) => c.target).join(', ')} (the test's listener behind a bridge ` +
        `gateway, a public-looking address, loopback), resolves a name, and dumps its environment; the host worker had ${Object.keys(SECRETS).join(', ')} set`,
      systemDid:
        `interfaces ${seen.interfaces.join(', ')}, no route; every connection refused ` +
        `(${seen.connects.map((c) => `${c.error ?? 'connected'} in ${c.ms} ms`).join('; ')}); no name resolved; ` +
        `environment ${Object.keys(seen.env)
          .filter((k) => k.startsWith('CHALLENGE_'))
          .join(', ')} and the image's own`,
      lost: leakedColumn([
        { what: 'connections to the host listener', count: probeConnections },
        { what: 'pipeline variables in the environment', count: pipelineVariables.length },
      ]),
      measured: `slowest failed connection ${Math.max(...seen.connects.map((c) => c.ms))} ms, DNS ${seen.dns.ms} ms`,
    });
  });
});

describe("two submissions' inference servers", () => {
  it('cannot reach each other, each on its own evaluation network, while the harness reaches both', async () => {
    const image = `challenge-test/sandbox-probe-${process.pid}:inference`;
    images.push(image);
    const built = await dockerRuntime.buildImage({
      context: path.join(PROJECT_ROOT, 'test', 'fixtures', 'sandbox-probe'),
      dockerfile: path.join(PROJECT_ROOT, 'test', 'fixtures', 'sandbox-probe', 'Dockerfile'),
      tag: image,
      labels: { stage: 'test' },
    });
    expect(built.ok).toBe(true);
    const networks = [await openEvaluationNetwork(stack.config, 'isolation-test-a'), await openEvaluationNetwork(stack.config, 'isolation-test-b')];
    const names = [`ch-isolation-test-a-${process.pid}`, `ch-isolation-test-b-${process.pid}`];
    const disk = TRACKS.cpu.disk;
    try {
      expect(networks[0]!.name).not.toBe(networks[1]!.name);
      for (const [i, name] of names.entries()) {
        await dockerRuntime.runDetached({
          name,
          image,
          labels: { stage: 'isolation-test' },
          memory: '256m',
          cpus: 0.5,
          pids: 64,
          network: networks[i]!.name,
          mounts: [],
          gpu: null,
          readOnlyRoot: true,
          tmpfsSize: disk.tmpfsSize,
          shmSize: disk.shmSize,
          log: disk.log,
        });
      }
      const ips = await Promise.all(names.map(async (name, i) => (await dockerRuntime.inspectContainer(name)).ipAddresses[networks[i]!.name]!));
      // The harness (this host) reaches both servers.
      for (const ip of ips) {
        await until(
          `server ${ip} answers`,
          async () => {
            const answer = await fetch(`http://${ip}:80/process`, { method: 'POST', body: '{"prompt":"x"}' }).catch(() => null);
            return answer?.ok ?? false;
          },
          30_000,
        );
      }
      const tryConnect = async (from: string, target: string) => {
        const code =
          `import json,socket,time\nt=time.time()\ntry:\n    socket.create_connection(("${target}",80),timeout=3).close(); r="connected"` +
          `\nexcept OSError as e:\n    r=type(e).__name__\nprint(json.dumps({"result":r,"ms":round((time.time()-t)*1000)}))`;
        const out = await execa('docker', ['exec', from, 'python3', '-c', code], { reject: false });
        return JSON.parse(out.stdout) as { result: string; ms: number };
      };
      const aToB = await tryConnect(names[0]!, ips[1]!);
      const bToA = await tryConnect(names[1]!, ips[0]!);
      const aToSelf = await tryConnect(names[0]!, ips[0]!);
      expect(aToSelf.result).toBe('connected'); // the server listens: a refusal below is the network's doing
      expect(aToB.result).not.toBe('connected');
      expect(bToA.result).not.toBe('connected');
      report.add({
        fault: "one submission's inference server tries another's",
        injected: `two servers on ${networks.map((n) => n.name).join(' and ')} (openEvaluationNetwork), each connecting to the other's address and port 80`,
        systemDid: `A → B ${aToB.result} in ${aToB.ms} ms; B → A ${bToA.result} in ${bToA.ms} ms; A → itself ${aToSelf.result}; the harness reached both`,
        lost: leakedColumn([{ what: 'connections between the two servers', count: [aToB, bToA].filter((r) => r.result === 'connected').length }]),
        measured: `server addresses ${ips.join(', ')}`,
      });
    } finally {
      for (const name of names) await dockerRuntime.removeContainer(name);
      for (const network of networks) await closeEvaluationNetwork(network);
    }
  }, 180_000);
});

describe('free disk before a stage', () => {
  it('a host below the threshold refuses to start the stage, as Infrastructure (not charged)', async () => {
    const old = gpuHost();
    old.process.kill('SIGTERM');
    await old.process;
    const free = await freeBytes(stack.config.dataDir);
    await stack.startWorker('gpu-host', 'gpu-host.js', ['--track', 'cpu'], { ...HOST_ENV, CHALLENGE_MIN_FREE_DISK: '1000TB' });
    const sinceS = Math.floor(Date.now() / 1000) - 1;
    const run = await start(goodSample('low-disk'), { buildRetry: { initialIntervalMs: 100, maximumIntervalMs: 100, maximumAttempts: 2 } });
    const state = await run.result;
    expect(state.outcome).toBe('failed');
    expect(state.failureCategory).toBe('Infrastructure');
    const build = stageOf(run.submissionId, 'build');
    expect(build).toMatchObject({ outcome: 'failed', failureCategory: 'Infrastructure' });
    expect(build.reason).toMatch(
      /has [\d.]+ (B|[KMGTP]iB) free in its data folder .* below the 909\.5 TiB a stage of track cpu needs to start .*the build stage was not started/,
    );
    expect(stageOf(run.submissionId, 'fine-tune').outcome).toBe('skipped');
    report.add({
      fault: 'host disk below the free-space threshold',
      injected: `CHALLENGE_MIN_FREE_DISK=1000TB on a host with ${formatBytes(free)} free`,
      systemDid: `build ${build.outcome} as ${build.failureCategory} after ${String((build.details as Record<string, unknown> | null)?.attempts ?? '?')} attempts: ${build.reason}`,
      lost: leakedColumn([
        { what: "containers Docker's events saw started for it", count: await containersStartedFor(run.submissionId, sinceS) },
        { what: 'charged stages', count: db.stages(run.submissionId).filter((s) => s.failureCategory !== null && FAILURE_CATEGORIES[s.failureCategory].charged).length },
      ]),
      measured: `free ${formatBytes(free)}, threshold ${formatBytes(parseBytes('1000TB'))}`,
    });
  }, 180_000);
});
