/**
 * Fault injection on the real stack: kill -9 of the GPU worker during training and during an
 * evaluation, a routine SIGTERM, a restart of the Temporal server, stage limits, and adversarial
 * submissions. Each test records what was injected, what the system did and what was lost in
 * test-artifacts/fault-report.md.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import http from 'node:http';
import path from 'node:path';
import { execa } from 'execa';
import { ResultsDb, type StageRecord } from '../../infra/results-db.js';
import { PROJECT_ROOT } from '../../infra/paths.js';
import { ensureDevServer, stopDevServer } from '../../infra/dev-server.js';
import { loadSuite, multipleChoicePrompt } from '../../domain/harness/suite.js';
import { submit } from '../../operations/pipelines.js';
import { pipelineWorkflowId, type PipelineState } from '../../contract/pipeline.js';
import { startStack, type Stack, type WorkerProcess } from '../support/stack.js';
import { adversarySubmission, type AdversaryMode } from '../support/adversaries.js';
import { FaultReport, leakedColumn, lostColumn } from '../support/fault-report.js';
import { until } from '../support/until.js';
import * as dockerRuntime from '../../infra/docker.js';
import { buildCgroupDirs } from '../../infra/build-cgroup.js';
import { buildNetworksOf } from '../../infra/build-reaper.js';

const report = new FaultReport();
const CHECKPOINTING = path.join(PROJECT_ROOT, 'examples', 'checkpointing-trainer');
const SUBMISSION_ID = 'steady-pace.checkpointed';
const HOST_ENV = { CHALLENGE_HOST_ID: 'host-1', CHALLENGE_GPU_SLOTS: '2', CHALLENGE_SHUTDOWN_GRACE_MS: '1000', CHALLENGE_SECRET_TOKEN: 'pipeline-secret-do-not-leak' };

let stack: Stack;
let db: ResultsDb;

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
});


const gpuHost = (): WorkerProcess => stack.workers.filter((w) => w.name === 'gpu-host' && w.process.exitCode === null).at(-1)!;
const stepsLog = (submissionId = SUBMISSION_ID): number[] => {
  try {
    return readFileSync(path.join(stack.config.dataDir, 'artifacts', submissionId, 'steps.log'), 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
};
/** The checkpoint files (checkpoints/step-N.json) of a submission's training output on this host. */
const checkpointsOf = (submissionId: string): Set<string> => {
  try {
    return new Set(readdirSync(path.join(stack.config.dataDir, 'artifacts', submissionId, 'checkpoints')).filter((f) => /^step-\d+\.json$/.test(f)));
  } catch {
    return new Set();
  }
};
const kept = (before: Set<string> | Set<number>, after: Set<string> | Set<number>): number => [...before].filter((x) => (after as Set<unknown>).has(x)).length;
const stageOf = (submissionId: string, stage: string): StageRecord => db.stages(submissionId).find((s) => s.stage === stage)!;

async function runToEnd(
  directory: string,
  limits: Record<string, number>,
  inject?: (workflowId: string) => Promise<void>,
): Promise<{ state: PipelineState; submissionId: string; workflowId: string }> {
  const started = await submit(stack.client, stack.config, directory, { limits, heartbeatTimeoutMs: 3000 });
  expect(started.status).toBe('started');
  const handle = stack.client.workflow.getHandle(started.workflowId);
  if (inject) await inject(started.workflowId);
  const state = (await handle.result()) as PipelineState;
  return { state, submissionId: started.submissionId, workflowId: started.workflowId };
}

/** sha1 of each open-suite prompt → instance key, to count requests per instance on the server side. */
function promptHashes(): Map<string, string> {
  const suite = loadSuite(path.join(PROJECT_ROOT, 'suites', 'open.json'));
  const map = new Map<string, string>();
  for (const scenario of suite.scenarios) {
    for (const instance of scenario.instances) map.set(createHash('sha1').update(multipleChoicePrompt(scenario, instance)).digest('hex'), `${scenario.name}/${instance.id}`);
  }
  return map;
}

function requestsInLogs(submissionId: string, stage: string): Map<string, number> {
  const dir = path.join(stack.config.dataDir, 'logs', submissionId);
  const counts = new Map<string, number>();
  for (const file of readdirSync(dir).filter((f) => f.startsWith(`${stage}.`))) {
    for (const match of readFileSync(path.join(dir, file), 'utf8').matchAll(/^REQUEST ([0-9a-f]{40})$/gm)) counts.set(match[1]!, (counts.get(match[1]!) ?? 0) + 1);
  }
  return counts;
}

describe('crash recovery', () => {
  it('kill -9 of the GPU worker during fine-tuning: retried within seconds, resumed from the checkpoint, old container removed', async () => {
    let killedAtStep = 0;
    let killedAt = 0;
    let restartedAfterMs = 0;
    let stepsAtKill = new Set<number>();
    let checkpointsAtKill = new Set<string>();
    let orphanRemovedAtStart = false;
    let firstAttemptLeft = 'not checked';
    const { state, submissionId } = await runToEnd(CHECKPOINTING, { fineTune: 120_000, openEval: 60_000, closedEval: 60_000 }, async (workflowId) => {
      await until('training step 4', () => progressStepOf(SUBMISSION_ID) >= 4);
      killedAtStep = progressStepOf(SUBMISSION_ID);
      stepsAtKill = new Set(stepsLog());
      checkpointsAtKill = checkpointsOf(SUBMISSION_ID);
      killedAt = Date.now();
      gpuHost().process.kill('SIGKILL');
      await gpuHost()?.process.catch(() => undefined);
      const restarted = await stack.startWorker('gpu-host', 'gpu-host.js', ['--track', 'cpu'], HOST_ENV);
      // The orphan is gone before the new worker polls: its start-up line names it, before 'RUNNING'.
      orphanRemovedAtStart = /removed 1 container\(s\) an earlier worker process left running: ch-\S+-fine-tune-a1/.test(restarted.output().split("state: 'RUNNING'")[0] ?? '');
      await until('a second training container', async () =>
        (await execa('docker', ['ps', '-q', '--filter', `label=challenge.workflow=${workflowId}`, '--filter', 'label=challenge.attempt=2'])).stdout.trim(),
      );
      // When attempt 2 trains, attempt 1's container no longer exists: two never shared the GPU index.
      firstAttemptLeft = (await execa('docker', ['ps', '-aq', '--filter', `label=challenge.workflow=${workflowId}`, '--filter', 'label=challenge.attempt=1'])).stdout.trim();
      restartedAfterMs = Date.now() - killedAt;
    });
    expect(orphanRemovedAtStart).toBe(true);
    expect(firstAttemptLeft).toBe('');
    expect(state.outcome).toBe('completed');
    const fineTune = stageOf(submissionId, 'fine-tune');
    expect(fineTune.outcome).toBe('succeeded');
    const resumedFrom = fineTune.details?.resumedFrom as { step: number } | null;
    expect(resumedFrom?.step).toBeGreaterThanOrEqual(killedAtStep - 1);
    const steps = stepsLog();
    expect(new Set(steps)).toEqual(new Set(Array.from({ length: 24 }, (_, i) => i + 1)));
    const repeated = steps.length - new Set(steps).size;
    expect(repeated).toBeLessThanOrEqual(1);
    expect(restartedAfterMs).toBeLessThan(30_000);
    expect(existsSync(path.join(stack.config.dataDir, 'logs', submissionId))).toBe(true);
    expect(readdirSync(path.join(stack.config.dataDir, 'logs', submissionId)).some((f) => /^fine-tune\.ch-.*-a1\.log$/.test(f))).toBe(true);
    report.add({
      fault: 'kill -9 GPU worker during fine-tune',
      injected: `SIGKILL at training step ${killedAtStep}/24, new worker started`,
      systemDid: `the restarted worker saved the orphaned container's log and removed it before polling; heartbeat timeout → attempt 2 on the same host; resumed from step ${resumedFrom?.step}`,
      lost: lostColumn(
        [
          { what: 'checkpointed step at the kill → resumed from', before: killedAtStep, after: resumedFrom?.step ?? 0 },
          { what: 'steps done', before: stepsAtKill.size, after: kept(stepsAtKill, new Set(steps)) },
          { what: 'checkpoint files', before: checkpointsAtKill.size, after: kept(checkpointsAtKill, checkpointsOf(SUBMISSION_ID)) },
        ],
        `${repeated} step(s) ran twice`,
      ),
      measured: `new training container ${(restartedAfterMs / 1000).toFixed(1)} s after the kill`,
    });
    await execa('docker', ['rmi', '-f', 'challenge-submissions/steady-pace.checkpointed:train'], { reject: false });
  }, 300_000);

  it('kill -9 of the host worker mid-build: the restarted worker reaps the build network, firewall chain and cgroup it left', async () => {
    // A build whose RUN step sleeps: the worker is killed while the step runs in the build's sandbox.
    const dir = await renamed(path.join(PROJECT_ROOT, 'test', 'fixtures', 'build-index-refused'), 'slow-build');
    writeFileSync(path.join(dir, 'Dockerfile.train'), `FROM challenge/base:bookworm-python3\nRUN sleep 120 # ${process.pid}-${Date.now()}\n`);
    const prefix = dockerRuntime.hostBuildPrefix(HOST_ENV.CHALLENGE_HOST_ID, stack.config.dataDir);
    const started = await submit(stack.client, stack.config, dir, { heartbeatTimeoutMs: 3000 });
    const handle = stack.client.workflow.getHandle(started.workflowId);
    let network = '';
    await until('a build step running in its sandbox', async () => {
      network = (await buildNetworksOf(prefix))[0] ?? '';
      if (!network) return false;
      const attached = (await execa('docker', ['network', 'inspect', '--format', '{{len .Containers}}', network], { reject: false })).stdout.trim();
      return Number(attached) > 0;
    }, 120_000);
    const bridge = (await dockerRuntime.bridgeInterface(network))!;
    gpuHost().process.kill('SIGKILL');
    await gpuHost()?.process.catch(() => undefined);
    // No retry on the restarted worker: what is checked is what the killed one left, not a new build's sandbox.
    await handle.terminate('fault test: the build was only there to be interrupted');
    const leftovers = async () => ({
      networks: (await buildNetworksOf(prefix)).length,
      rules: (await execa('iptables', ['-w', '-S'])).stdout.split('\n').filter((line) => line.includes(bridge)).length,
      cgroups: buildCgroupDirs(network).length,
    });
    const left = await leftovers();
    expect(left.networks).toBe(1); // the kill did leave its sandbox behind
    expect(left.rules).toBeGreaterThan(0);
    expect(left.cgroups).toBeGreaterThan(0);
    const restartedAt = Date.now();
    const restarted = await stack.startWorker('gpu-host', 'gpu-host.js', ['--track', 'cpu'], HOST_ENV);
    const reapLine = /removed what an earlier worker process left of its builds: (.*)/.exec(restarted.output())?.[1] ?? '';
    expect(reapLine).toContain(`1 build network(s) ${network}`);
    expect(reapLine).toContain(`CHALLENGE-${bridge}`);
    const after = await leftovers();
    expect(after).toEqual({ networks: 0, rules: 0, cgroups: 0 });
    report.add({
      fault: 'kill -9 host worker mid-build',
      injected: `SIGKILL while a RUN step of ${started.submissionId} ran in its build sandbox ${network}; the workflow terminated; worker restarted`,
      systemDid: `the restarted worker reaped its own leftovers before polling: ${reapLine}`,
      lost: leakedColumn([
        { what: 'build networks left after the restart', count: after.networks },
        { what: `iptables rules of ${bridge} left`, count: after.rules },
        { what: 'cgroup directories left', count: after.cgroups },
      ]),
      measured:
        `left by the kill: ${left.networks} network, ${left.rules} iptables rules, ${left.cgroups} cgroup directories; ` +
        `worker up ${((Date.now() - restartedAt) / 1000).toFixed(1)} s after its start`,
    });
  }, 300_000);

  it('kill -9 of the GPU worker during the open evaluation: resumed without asking an answered instance again', async () => {
    let persistedBeforeKill = new Set<string>();
    const { state, submissionId } = await runToEnd(await renamed(CHECKPOINTING, 'eval-crash'), { fineTune: 120_000, openEval: 90_000, closedEval: 90_000 }, async () => {
      await until('10 open answers', () => db.answerCount('steady-pace.eval-crash', 'open') >= 10, 180_000);
      persistedBeforeKill = db.answerStore('steady-pace.eval-crash', 'open').answeredKeys();
      gpuHost().process.kill('SIGKILL');
      await gpuHost()?.process.catch(() => undefined);
      await stack.startWorker('gpu-host', 'gpu-host.js', ['--track', 'cpu'], HOST_ENV);
    });
    expect(state.outcome).toBe('completed');
    const openEval = stageOf(submissionId, 'open-eval');
    expect(openEval.outcome).toBe('succeeded');
    expect(openEval.details).toMatchObject({ answered: 60, unanswered: 0 });
    const hashes = promptHashes();
    const counts = requestsInLogs(submissionId, 'open-eval');
    const askedAgain = [...counts.entries()].filter(([hash, n]) => n > 1 && persistedBeforeKill.has(hashes.get(hash)!));
    expect(askedAgain).toEqual([]);
    expect([...hashes.keys()].every((hash) => (counts.get(hash) ?? 0) >= 1)).toBe(true);
    const repeatedInFlight = [...counts.values()].filter((n) => n > 1).length;
    const persistedAfter = db.answerStore('steady-pace.eval-crash', 'open').answeredKeys();
    report.add({
      fault: 'kill -9 GPU worker during open evaluation',
      injected: `SIGKILL after ${persistedBeforeKill.size}/60 answers were persisted, new worker started`,
      systemDid: 'heartbeat timeout → attempt 2 restarted the server and asked only unanswered instances',
      lost: lostColumn(
        [
          { what: 'answers persisted at the kill', before: persistedBeforeKill.size, after: kept(persistedBeforeKill, persistedAfter) },
          { what: 'answers in the end', before: 60, after: persistedAfter.size },
        ],
        `${askedAgain.length} answered instances asked again, ${repeatedInFlight} in-flight requests re-asked`,
      ),
      measured: `server-side requests per instance counted from both containers' logs`,
    });
  }, 300_000);

  it('a routine SIGTERM hands training over without spending a retry attempt', async () => {
    let stepAtSigterm = 0;
    let stepsAtSigterm = new Set<number>();
    let checkpointsAtSigterm = new Set<string>();
    const { state, submissionId } = await runToEnd(await renamed(CHECKPOINTING, 'sigterm'), { fineTune: 120_000, openEval: 60_000, closedEval: 60_000 }, async () => {
      await until('training step 4', () => progressStepOf('steady-pace.sigterm') >= 4);
      stepAtSigterm = progressStepOf('steady-pace.sigterm');
      stepsAtSigterm = new Set(stepsLog('steady-pace.sigterm'));
      checkpointsAtSigterm = checkpointsOf('steady-pace.sigterm');
      const old = gpuHost();
      old.process.kill('SIGTERM');
      await old.process;
      expect(old.process.exitCode).toBe(0);
      await stack.startWorker('gpu-host', 'gpu-host.js', ['--track', 'cpu'], HOST_ENV);
    });
    expect(state.outcome).toBe('completed');
    const fineTune = stageOf(submissionId, 'fine-tune');
    expect(fineTune.details).toMatchObject({ handovers: 1, attempt: 1 });
    expect((fineTune.details?.resumedFrom as { step: number }).step).toBeGreaterThanOrEqual(stepAtSigterm - 1);
    report.add({
      fault: 'SIGTERM of the GPU worker during fine-tune',
      injected: `SIGTERM at step ${stepAtSigterm}/24 (grace 1 s), worker restarted`,
      systemDid: 'container stopped, stage handed back as WorkerShutdown, rescheduled as a new activity (attempt 1) on the restarted worker, resumed from the checkpoint',
      lost: lostColumn(
        [
          { what: 'checkpointed step at SIGTERM → resumed from', before: stepAtSigterm, after: (fineTune.details?.resumedFrom as { step: number }).step },
          { what: 'steps done', before: stepsAtSigterm.size, after: kept(stepsAtSigterm, new Set(stepsLog('steady-pace.sigterm'))) },
          { what: 'checkpoint files', before: checkpointsAtSigterm.size, after: kept(checkpointsAtSigterm, checkpointsOf('steady-pace.sigterm')) },
        ],
        `retry attempts spent: ${(fineTune.details?.attempt as number) - 1}`,
      ),
      measured: `resumed from step ${(fineTune.details?.resumedFrom as { step: number }).step}`,
    });
  }, 300_000);

  it('stopping and restarting the Temporal server mid-pipeline: the pipeline completes', async () => {
    let downMs = 0;
    let stepsAtStop = new Set<number>();
    let checkpointsAtStop = new Set<string>();
    const { state, submissionId } = await runToEnd(await renamed(CHECKPOINTING, 'server-restart'), { fineTune: 120_000, openEval: 60_000, closedEval: 60_000 }, async () => {
      await until('training step 3', () => progressStepOf('steady-pace.server-restart') >= 3);
      stepsAtStop = new Set(stepsLog('steady-pace.server-restart'));
      checkpointsAtStop = checkpointsOf('steady-pace.server-restart');
      const stoppedAt = Date.now();
      await stopDevServer(stack.server);
      await new Promise((r) => setTimeout(r, 3000));
      await ensureDevServer(stack.server);
      downMs = Date.now() - stoppedAt;
    });
    expect(state.outcome).toBe('completed');
    expect(stageOf(submissionId, 'closed-eval').outcome).toBe('succeeded');
    report.add({
      fault: 'Temporal server stopped and restarted during fine-tune',
      injected: `SIGTERM to the dev server, ${(downMs / 1000).toFixed(1)} s down, restarted on the same SQLite file`,
      systemDid: 'workers reconnected; the workflow continued from its history',
      lost: lostColumn([
        { what: 'steps done', before: stepsAtStop.size, after: kept(stepsAtStop, new Set(stepsLog('steady-pace.server-restart'))) },
        { what: 'checkpoint files', before: checkpointsAtStop.size, after: kept(checkpointsAtStop, checkpointsOf('steady-pace.server-restart')) },
        { what: 'steps in the end', before: 24, after: new Set(stepsLog('steady-pace.server-restart')).size },
        { what: 'open answers in the end', before: 60, after: db.answerCount(submissionId, 'open') },
      ]),
      measured: `downtime ${(downMs / 1000).toFixed(1)} s`,
    });
  }, 300_000);
});

describe('time limits', () => {
  it('stops a stage at its limit within about a second, as Docker saw it, and keeps what it produced', async () => {
    const limits = { fineTune: 5000, openEval: 4000, closedEval: 60_000 };
    const workflowId = pipelineWorkflowId('steady-pace.limited');
    // From outside: Docker's own record of when each of the pipeline's containers started and died.
    let events = '';
    const watcher = execa(
      'docker',
      [
        'events',
        '--filter',
        `label=challenge.workflow=${workflowId}`,
        '--filter',
        'event=start',
        '--filter',
        'event=die',
        '--format',
        '{{.TimeNano}} {{index .Actor.Attributes "challenge.stage"}} {{.Action}} {{.Actor.ID}}',
      ],
      { reject: false, buffer: false },
    );
    watcher.stdout?.on('data', (chunk: Buffer) => (events += chunk.toString()));
    await new Promise((r) => setTimeout(r, 1000)); // let it subscribe
    const { state, submissionId } = await runToEnd(await renamed(CHECKPOINTING, 'limited'), limits);
    watcher.kill();
    await watcher.catch(() => undefined);
    expect(state.outcome).toBe('completed');
    const seen = events
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split(' '))
      .map(([nanos, stage, action, id]) => ({ stage: stage!, action: action!, id: id!, at: Number(BigInt(nanos!) / 1_000_000n) }));
    const deaths = seen.filter((e) => e.action === 'die');
    /** How long the stage's first container lived past its limit, by Docker's clock alone (its start and die events). */
    const dockerOverrun = (stage: 'fine-tune' | 'open-eval', limitMs: number): number => {
      const start = seen.find((e) => e.stage === stage && e.action === 'start');
      expect(start).toBeDefined();
      const death = seen.find((e) => e.action === 'die' && e.id === start!.id);
      expect(death).toBeDefined();
      return death!.at - start!.at - limitMs;
    };
    // The moment each stage started, as the activity announced it to the workflow (its limit runs from there).
    const starts = await stageStarts(workflowId);
    const outsideDelay = (stage: 'fine-tune' | 'open-eval', limitMs: number): number => {
      const death = deaths.find((d) => d.stage === stage);
      expect(death).toBeDefined();
      expect(starts[stage]).toBeDefined();
      return death!.at - (starts[stage]! + limitMs);
    };
    const fineTune = stageOf(submissionId, 'fine-tune');
    expect(fineTune).toMatchObject({ outcome: 'partial', failureCategory: 'TimeLimit' });
    // The container outlived its limit by under 1.5 s, and was not stopped early: the stage starts (and its limit
    // runs) a moment before Docker starts the container, so a container lives slightly less than its limit.
    const trainOverrun = dockerOverrun('fine-tune', limits.fineTune);
    expect(trainOverrun).toBeLessThan(1500);
    expect(trainOverrun).toBeGreaterThan(-2000);
    const trainDelay = outsideDelay('fine-tune', limits.fineTune);
    expect(trainDelay).toBeLessThan(1500);
    expect(trainDelay).toBeGreaterThan(-100); // not before its limit (clock resolution aside)
    const keptStep = (fineTune.details?.progress as { step: number }).step;
    expect(keptStep).toBeGreaterThan(3);
    const openEval = stageOf(submissionId, 'open-eval');
    expect(openEval).toMatchObject({ outcome: 'partial', failureCategory: 'TimeLimit' });
    const evalOverrun = dockerOverrun('open-eval', limits.openEval);
    expect(evalOverrun).toBeLessThan(1500);
    expect(evalOverrun).toBeGreaterThan(-2000);
    const evalDelay = outsideDelay('open-eval', limits.openEval);
    expect(evalDelay).toBeLessThan(1500);
    expect(evalDelay).toBeGreaterThan(-100);
    expect(db.answerCount(submissionId, 'open')).toBe(openEval.details?.answered);
    // Before: what the containers had done when they were stopped (the training's own step log, the server's own
    // request log); after: what the stages kept (the checkpoint in the artifact store, the persisted answers).
    const stepsDone = new Set(stepsLog(submissionId)).size;
    const stored = JSON.parse(readFileSync(path.join(stack.config.dataDir, 'store', 'submissions', submissionId, 'training', 'checkpoint.json'), 'utf8')) as { step: number };
    const hashes = promptHashes();
    const asked = [...requestsInLogs(submissionId, 'open-eval').keys()].filter((hash) => hashes.has(hash)).length;
    report.add({
      fault: 'stage limits (fine-tune 5 s, open evaluation 4 s)',
      injected: 'limits shorter than the work',
      systemDid: `both stages stopped at their limit; training kept ${keptStep} checkpointed steps; evaluation kept ${openEval.details?.answered as number} answers; the pipeline went on`,
      lost: lostColumn(
        [
          { what: 'steps done → checkpoint in the store', before: stepsDone, after: stored.step },
          { what: 'instances the server was asked → answers persisted', before: asked, after: db.answerCount(submissionId, 'open') },
        ],
        'a step or a request in flight at the limit is the only work that can go',
      ),
      measured:
        `container lifetime − limit (Docker's start and die events): fine-tune ${trainOverrun} ms, open-eval ${evalOverrun} ms; ` +
        `stage start in the history → Docker's die: fine-tune ${trainDelay} ms, open-eval ${evalDelay} ms (the activity's own figures: ` +
        `${String(fineTune.details?.stopDelayMs)} ms, ${String(openEval.details?.stopDelayMs)} ms)`,
    });
  }, 300_000);
});

describe('adversarial submissions end in their named category', () => {
  const expected: Record<AdversaryMode, string | null> = {
    hang: 'StartupFailed',
    garbage: 'ContractViolation',
    huge: 'ContractViolation',
    'wrong-types': 'ContractViolation',
    'crash-midway': 'ServerCrashed',
    'oom-serve': 'OutOfMemory',
    'fork-bomb': 'ContainerFailed',
    escape: null,
  };
  /** The stage where each misbehaviour shows: the fork bomb is in training, the rest in the server. */
  const stageOfMode = (mode: string) => (mode === 'fork-bomb' ? 'fine-tune' : 'open-eval');
  const outcomes = new Map<AdversaryMode, { state: PipelineState; submissionId: string }>();
  let probeConnections = 0;
  let probe: http.Server;

  beforeAll(async () => {
    // A listener on every host address: the escape artist must not reach it.
    probe = http.createServer((_req, res) => {
      probeConnections++;
      res.end('reached the host');
    });
    probe.on('connection', () => probeConnections++);
    await new Promise<void>((resolve) => probe.listen(0, '0.0.0.0', resolve));
    const port = (probe.address() as { port: number }).port;
    const limits = { fineTune: 60_000, openEval: 40_000, closedEval: 40_000, startup: 15_000 };
    await Promise.all(
      (Object.keys(expected) as AdversaryMode[]).map(async (mode) => {
        outcomes.set(mode, await runToEnd(adversarySubmission(mode, port), limits));
      }),
    );
  }, 600_000);

  afterAll(() => new Promise<void>((resolve) => probe.close(() => resolve())));

  it.each(Object.entries(expected))('%s → %s', (mode, category) => {
    const outcome = outcomes.get(mode as AdversaryMode)!;
    const stage = stageOf(outcome.submissionId, stageOfMode(mode));
    expect(outcome.state.failureCategory).toBe(category);
    if (category) expect(stage.failureCategory).toBe(category);
    expect(stage.reason ?? '').not.toMatch(/undefined|\[object/);
    report.add({
      fault: `adversarial submission: ${mode}`,
      injected: `a submission whose ${stageOfMode(mode) === 'fine-tune' ? 'training' : 'inference server'} is "${mode}"`,
      systemDid: `${stage.stage} ${stage.outcome}${stage.failureCategory ? ` as ${stage.failureCategory}: ${stage.reason}` : ''}`,
      lost: lostColumn([
        { what: 'answers the stage counted → persisted', before: Number(stage.details?.answered ?? 0), after: db.answerCount(outcome.submissionId, 'open') },
        { what: 'pipelines of the batch that ended', before: Object.keys(expected).length, after: [...outcomes.values()].filter((o) => o.state.outcome !== 'running').length },
      ]),
      measured: `answered ${String(stage.details?.answered ?? 0)}, restarts ${String(stage.details?.restarts ?? 0)}`,
    });
  });

  it('keeps the answers of a server that crashes mid-evaluation and restarts it once', () => {
    const { submissionId } = outcomes.get('crash-midway')!;
    const openEval = stageOf(submissionId, 'open-eval');
    expect(openEval.details?.restarts).toBe(1);
    // Each server answers 10 requests (one is the readiness probe) before it exits: 2 × 9 answers kept,
    // less at most one request per server that was in flight when it died.
    expect(openEval.details?.answered).toBeGreaterThanOrEqual(16);
    expect(db.answerCount(submissionId, 'open')).toBe(openEval.details?.answered);
  });

  it('holds the sandbox: no route to the host, no Docker socket, read-only root, process limit, no pipeline environment', () => {
    const { submissionId } = outcomes.get('escape')!;
    const log = readFileSync(path.join(stack.config.dataDir, 'logs', submissionId, 'open-eval.log'), 'utf8');
    const blocked = [...log.matchAll(/^BLOCKED (\S+)/gm)].map((m) => m[1]);
    expect(log).not.toMatch(/^ESCAPED/m);
    expect(blocked.filter((what) => what?.endsWith('gateway')).length).toBeGreaterThanOrEqual(1);
    for (const what of ['docker-socket', 'root-filesystem', 'process-limit', 'environment']) expect(blocked).toContain(what);
    expect(probeConnections).toBe(0);
    expect(log).not.toContain('pipeline-secret-do-not-leak');
    report.add({
      fault: 'sandbox escape attempts',
      injected: 'connections to the host (bridge gateway, 0.0.0.0 listener), the Docker socket, writes to /, 2000 processes, reading the environment',
      systemDid: `every attempt blocked: ${blocked.join(', ')}`,
      lost: leakedColumn([
        { what: 'connections to the host listener', count: probeConnections },
        { what: 'ESCAPED lines in the server log', count: (log.match(/^ESCAPED/gm) ?? []).length },
        { what: 'pipeline secrets in the server log', count: log.includes('pipeline-secret-do-not-leak') ? 1 : 0 },
      ]),
      measured: (/BLOCKED process-limit after (\d+)/.exec(log)?.[1] ?? '?') + ' processes before the pids limit',
    });
  });
});

/** When each stage started, as the activity signalled it to the workflow (`stageStarted`), from the workflow's history. */
async function stageStarts(workflowId: string): Promise<Record<string, number>> {
  const history = await stack.client.workflow.getHandle(workflowId).fetchHistory();
  const starts: Record<string, number> = {};
  for (const event of history.events ?? []) {
    const signal = event.workflowExecutionSignaledEventAttributes;
    if (signal?.signalName !== 'stageStarted') continue;
    const data = signal.input?.payloads?.[0]?.data;
    if (!data) continue;
    const { stage, at } = JSON.parse(Buffer.from(data).toString('utf8')) as { stage: string; at: number };
    starts[stage] ??= at;
  }
  return starts;
}

function progressStepOf(submissionId: string): number {
  try {
    return (JSON.parse(readFileSync(path.join(stack.config.dataDir, 'artifacts', submissionId, 'progress.json'), 'utf8')) as { step: number }).step;
  } catch {
    return 0;
  }
}

/** A copy of a sample submission under another submission name (each pipeline needs its own id). */
async function renamed(directory: string, submission: string): Promise<string> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `sample-${submission}-`));
  cpSync(directory, dir, { recursive: true });
  const manifest = JSON.parse(readFileSync(path.join(dir, 'submission.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(path.join(dir, 'submission.json'), JSON.stringify({ ...manifest, submission }, null, 2));
  return dir;
}
