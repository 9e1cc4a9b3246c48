/**
 * The host activities (activities/host/) run in Temporal's MockActivityEnvironment against a fake container
 * runtime (test/support/fake-container-runtime.ts): no engine, no Temporal server. The fake only plays the
 * container (its output, its exit, its server); what is asserted is what the activities computed from that:
 * the failure category and reason, the ending, the restarts, what was killed, logged, stored and removed.
 */
import { afterAll, afterEach, describe, expect, it } from '@jest/globals';
import { ActivityCancellationDetails, ApplicationFailure } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { getEventListeners } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TRACKS } from '../../temporal.config.js';
import { loadRuntimeConfig } from '../../infra/runtime-config.js';
import { createHostActivities } from '../../activities/host.js';
import { failure as stageFailure, hostHome } from '../../activities/host/context.js';
import { FAILURE_CATEGORIES } from '../../domain/failures.js';
import type { EvaluateInput, FineTuneInput, TrainingProgress } from '../../contract/types.js';
import { stageProgressSignal, stageStartedSignal, type StageProgress } from '../../contract/pipeline.js';
import type { FailureDetails } from '../../domain/failures.js';
import { MemoryAnswerStore, type AnswerStore } from '../../domain/harness/evaluate.js';
import { READINESS_PROMPT } from '../../domain/harness/contract.js';
import { loadSuite } from '../../domain/harness/suite.js';
import { FsArtifactStore } from '../../infra/artifact-store-fs.js';
import { artifactKeys } from '../../infra/artifact-store.js';
import { GpuPool } from '../../infra/gpu-pool.js';
import { PROJECT_ROOT } from '../../infra/paths.js';
import { FakeContainerRuntime, type FakeContainer } from '../support/fake-container-runtime.js';
import { startContractServer, type Behaviour, type ContractServer } from '../support/contract-server.js';

const temporary: string[] = [];
const servers: ContractServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});
afterAll(() => {
  for (const dir of temporary) rmSync(dir, { recursive: true, force: true });
});

const SUBMISSION = 'team.sub1';
const SUITE_FILE = path.join(PROJECT_ROOT, 'suites', 'open.json');
const suite = loadSuite(SUITE_FILE);
const INSTANCES = suite.scenarios.reduce((sum, scenario) => sum + scenario.instances.length, 0);

/** A GPU host of the cpu track on a fresh data folder, its containers played by `onRun`. */
function host(onRun: (container: FakeContainer) => void | Promise<void>) {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'host-activities-'));
  temporary.push(dataDir);
  const config = loadRuntimeConfig({ CHALLENGE_DATA_DIR: dataDir, CHALLENGE_HOST_ID: 'unit-host' }, dataDir);
  const runtime = new FakeContainerRuntime(onRun);
  const gpus = new GpuPool(1);
  const artifacts = new FsArtifactStore(path.join(dataDir, 'store'));
  // One answer store per suite, as the database keeps answers between the server's restarts and attempts.
  const answers = new Map<string, AnswerStore>();
  const db = {
    answerStore: (submissionId: string, suiteKind: string) => {
      const key = `${submissionId}/${suiteKind}`;
      if (!answers.has(key)) answers.set(key, new MemoryAnswerStore());
      return answers.get(key)!;
    },
  };
  const activities = createHostActivities({ config, track: 'cpu', gpus, db, artifacts, runtime });
  return { dataDir, config, runtime, gpus, artifacts, activities, logFile: (stage: string) => path.join(dataDir, 'logs', SUBMISSION, `${stage}.log`) };
}

/** An activity environment whose beats are collected; the worker's logger is quiet (beginStage has no client here unless given one). */
function environment(info: { attempt?: number; heartbeatDetails?: unknown } = {}, client?: Client) {
  const env = new MockActivityEnvironment(
    { attempt: info.attempt ?? 1, heartbeatDetails: info.heartbeatDetails },
    { logger: new DefaultLogger('ERROR'), ...(client ? { client } : {}) },
  );
  const beats: Record<string, unknown>[] = [];
  env.on('heartbeat', (details: Record<string, unknown>) => beats.push(details));
  return { env, beats };
}

const fineTuneInput = (overrides: Partial<FineTuneInput> = {}): FineTuneInput => ({
  submissionId: SUBMISSION,
  workflowId: 'wf-unit',
  track: 'cpu',
  trainImage: 'challenge-submissions/team.sub1:train',
  limitMs: 60_000,
  stageStartedAt: null,
  oomRetry: false,
  fresh: true,
  ...overrides,
});

const evaluateInput = (overrides: Partial<EvaluateInput> = {}): EvaluateInput => ({
  submissionId: SUBMISSION,
  workflowId: 'wf-unit',
  track: 'cpu',
  suite: 'open',
  suiteFile: SUITE_FILE,
  inferenceImage: 'challenge-submissions/team.sub1:inference',
  limitMs: 60_000,
  stageStartedAt: null,
  startupLimitMs: 10_000,
  harness: { concurrency: 2, requestTimeoutMs: 5_000, maxAttempts: 1, retryBackoffMs: 10, maxPromptTokens: 0 },
  serverRestarts: 1,
  ...overrides,
});

/** Runs an activity in the mock environment, keeping its types (MockActivityEnvironment.run infers `unknown`). */
function run<A extends unknown[], R>(env: MockActivityEnvironment, activity: (...args: A) => Promise<R>, ...args: A): Promise<R> {
  return env.run(activity, ...args) as Promise<R>;
}

/** The rejection of `promise` as an ApplicationFailure with its FailureDetails (fails the test otherwise). */
async function failureOf(promise: Promise<unknown>): Promise<{ failure: ApplicationFailure; details: FailureDetails | undefined }> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ApplicationFailure);
  const failure = error as ApplicationFailure;
  return { failure, details: failure.details?.[0] as FailureDetails | undefined };
}

/** The training container writes progress.json into its /artifacts mount, as the submission contract asks. */
function writeProgress(container: FakeContainer, progress: TrainingProgress): void {
  const dir = container.spec.mounts.find((mount) => mount.container === '/artifacts')!.host;
  if (progress.checkpoint) {
    mkdirSync(path.join(dir, progress.checkpoint), { recursive: true });
    writeFileSync(path.join(dir, progress.checkpoint, 'weights.bin'), `weights at step ${progress.step}`);
  }
  writeFileSync(path.join(dir, 'progress.json'), JSON.stringify(progress));
}

const until = async (condition: () => boolean, timeoutMs = 10_000): Promise<void> => {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

describe('fineTune: how the training container ended', () => {
  it('classifies CUDA out of memory in the log as OutOfMemory, with the log kept and the container removed', async () => {
    const h = host((container) => {
      container.print('loading model\nstep 1\ntorch.cuda.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB\n');
      setTimeout(() => container.exit(1), 30);
    });
    const { env } = environment();
    const { failure, details } = await failureOf(run(env, h.activities.fineTune, fineTuneInput()));
    expect(failure.type).toBe('OutOfMemory');
    expect(failure.nonRetryable).toBe(true);
    expect(failure.message).toBe(`training was killed for exceeding the ${TRACKS.cpu.containerMemory} memory limit of track cpu (CUDA out of memory in the log)`);
    expect(details?.category).toBe('OutOfMemory');
    expect(details?.logExcerpt).toContain('CUDA out of memory. Tried to allocate 2.00 GiB');
    // The log outlives the container: on this host and in the artifact store, where the web page reads it.
    expect(readFileSync(h.logFile('fine-tune'), 'utf8')).toContain('torch.cuda.OutOfMemoryError');
    expect(await h.artifacts.getText(`${artifactKeys.logs(SUBMISSION)}/fine-tune.log`)).toContain('torch.cuda.OutOfMemoryError');
    const [container] = h.runtime.started();
    expect(container?.removed).toBe(true);
    expect(h.gpus.available).toBe(1);
    // Charged to the submission: benign to Temporal (no worker error log, no failure metric).
    expect(failure.category).toBe('BENIGN');
  });

  it('runs training in the sandbox the track sets: no network, read-only root, the track memory and CPU, artifacts the only writable mount', async () => {
    const h = host((container) => {
      setTimeout(() => container.exit(0), 30);
    });
    await run(environment().env, h.activities.fineTune, fineTuneInput());
    const [container] = h.runtime.started();
    expect(container!.spec).toMatchObject({ network: 'none', readOnlyRoot: true, memory: TRACKS.cpu.containerMemory, gpu: null });
    expect(container!.spec.mounts.filter((m) => !m.readOnly).map((m) => m.container)).toEqual(['/artifacts']);
  });

  it("classifies the engine's OOM kill as OutOfMemory (OOMKilled) even with a clean log", async () => {
    const h = host((container) => {
      container.print('step 1\nstep 2\n');
      setTimeout(() => container.exit(137, { oomKilled: true }), 30);
    });
    const { failure } = await failureOf(run(environment().env, h.activities.fineTune, fineTuneInput()));
    expect(failure.type).toBe('OutOfMemory');
    expect(failure.message).toMatch(/\(OOMKilled\)$/);
  });

  it('classifies a non-zero exit as ContainerFailed; a full disk is not the host\'s when the host has room', async () => {
    const h = host((container) => {
      container.print("OSError: [Errno 28] No space left on device: '/tmp/cache'\n");
      setTimeout(() => container.exit(2), 30);
    });
    const { failure, details } = await failureOf(run(environment().env, h.activities.fineTune, fineTuneInput()));
    expect(failure.type).toBe('ContainerFailed');
    expect(failure.message).toBe('training exited with status 2');
    expect(details?.logExcerpt).toContain('No space left on device');
  });

  it('completes on exit 0 with the progress the container declared, stored in the artifact store', async () => {
    const h = host((container) => {
      writeProgress(container, { step: 10, totalSteps: 10, checkpoint: 'ckpt-10' });
      container.print('done\n');
      setTimeout(() => container.exit(0), 30);
    });
    const result = await run(environment().env, h.activities.fineTune, fineTuneInput());
    expect(result.ending).toBe('completed');
    expect(result.progress).toEqual({ step: 10, totalSteps: 10, checkpoint: 'ckpt-10' });
    expect(result.storedFiles).toBeGreaterThanOrEqual(2);
    expect(JSON.parse((await h.artifacts.getText(artifactKeys.checkpoint(SUBMISSION)))!)).toEqual({ step: 10, totalSteps: 10, checkpoint: 'ckpt-10' });
    expect(result.logFile).toBe(h.logFile('fine-tune'));
    expect(readFileSync(result.logFile, 'utf8')).toBe('done\n');
  });
});

describe('fineTune: heartbeats, cancellation, deadline, shutdown', () => {
  const trainsForever = (container: FakeContainer) => {
    writeProgress(container, { step: 3, totalSteps: 100, checkpoint: 'ckpt-3' });
    container.print('step 3\n');
  };

  it('heartbeats its progress while training, and on cancellation kills the container and ends as cancelled', async () => {
    const h = host(trainsForever);
    const { env, beats } = environment();
    const running = run(env, h.activities.fineTune, fineTuneInput());
    await until(() => beats.some((beat) => beat.phase === 'training'));
    const training = beats.find((beat) => beat.phase === 'training')!;
    expect(training.progress).toEqual({ step: 3, totalSteps: 100, checkpoint: 'ckpt-3' });
    expect(typeof training.stageStartedAt).toBe('number');
    env.cancel();
    const result = await running;
    expect(result.ending).toBe('cancelled');
    expect(result.stopDelayMs).toBeNull();
    const [container] = h.runtime.started();
    expect(container?.killed).toBe(true);
    expect(container?.removed).toBe(true);
    expect(h.runtime.calls.indexOf(`kill ${container!.spec.name}`)).toBeLessThan(h.runtime.calls.indexOf(`remove ${container!.spec.name}`));
    // What it trained outlives the host: the declared checkpoint is in the store.
    expect(JSON.parse((await h.artifacts.getText(artifactKeys.checkpoint(SUBMISSION)))!)).toMatchObject({ step: 3, checkpoint: 'ckpt-3' });
  });

  it('leaves no abort listener behind for each pause of its polling loop (a day of training pauses twice a second)', async () => {
    const h = host(trainsForever);
    const { env, beats } = environment();
    const running = run(env, h.activities.fineTune, fineTuneInput());
    const trainingBeats = () => beats.filter((beat) => beat.phase === 'training').length;
    await until(() => trainingBeats() >= 2);
    const early = getEventListeners(env.context.cancellationSignal, 'abort').length;
    await until(() => trainingBeats() >= 4);
    expect(getEventListeners(env.context.cancellationSignal, 'abort').length).toBeLessThanOrEqual(early);
    env.cancel();
    expect((await running).ending).toBe('cancelled');
  });

  it('stops at its own copy of the deadline and reports how late the container was gone', async () => {
    const h = host(trainsForever);
    const started = Date.now();
    const result = await run(environment().env, h.activities.fineTune, fineTuneInput({ limitMs: 400 }));
    expect(result.ending).toBe('deadline');
    expect(result.stopDelayMs).not.toBeNull();
    expect(result.stopDelayMs!).toBeGreaterThanOrEqual(0);
    expect(result.stopDelayMs!).toBeLessThan(2_000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
    expect(h.runtime.started()[0]?.removed).toBe(true);
  });

  it('hands the stage back on a worker shutdown (retryable WorkerShutdown), having stored the training output', async () => {
    const h = host(trainsForever);
    const { env, beats } = environment();
    const running = run(env, h.activities.fineTune, fineTuneInput());
    await until(() => beats.some((beat) => beat.phase === 'training'));
    env.cancel('WORKER_SHUTDOWN', new ActivityCancellationDetails({ workerShutdown: true }));
    const { failure } = await failureOf(running);
    expect(failure.type).toBe('WorkerShutdown');
    expect(failure.nonRetryable).toBe(false);
    expect(await h.artifacts.getText(artifactKeys.checkpoint(SUBMISSION))).not.toBeNull();
    expect(h.runtime.started()[0]?.removed).toBe(true);
  });

  it("resumes from the checkpoint the last attempt heartbeated, and saves the earlier attempt's container log before removing it", async () => {
    const h = host((container) => {
      if (container.spec.name === 'left-behind') return;
      container.print('resumed\n');
      setTimeout(() => container.exit(0), 30);
    });
    // What attempt 1 left behind on this engine (a worker that died), with its output.
    await h.runtime.runDetached({
      name: 'left-behind',
      image: 'x',
      labels: { workflow: 'wf-unit', stage: 'fine-tune', host: 'unit-host', home: hostHome(h.config) },
      memory: '1g',
      cpus: 1,
      pids: 10,
      network: 'none',
      mounts: [],
      gpu: null,
      readOnlyRoot: true,
    });
    h.runtime.containers.get('left-behind')!.print('attempt 1 output\n');
    const previous = { step: 5, totalSteps: 10, checkpoint: 'ckpt-5' };
    const { env } = environment({ attempt: 2, heartbeatDetails: { progress: previous } });
    const result = await run(env, h.activities.fineTune, fineTuneInput({ fresh: false }));
    expect(result.resumedFrom).toEqual(previous);
    expect(result.resumedFromSource).toBe('heartbeat');
    const started = h.runtime.started();
    expect(started[1]?.spec.env?.CHALLENGE_RESUME_FROM).toBe('ckpt-5');
    expect(started[1]?.spec.name).toMatch(/-a2$/);
    expect(started[0]?.removed).toBe(true);
    expect(readFileSync(path.join(h.dataDir, 'logs', SUBMISSION, 'fine-tune.left-behind.log'), 'utf8')).toBe('attempt 1 output\n');
  });
});

/**
 * A server for each container the evaluation starts: `behaviourOf(container)` says how it answers instance
 * prompts (the readiness prompt is always answered). The server stops when the container is killed.
 */
function serving(behaviourOf: (container: FakeContainer, asked: () => number) => Behaviour, slowMs = 2000) {
  const askedPerContainer: number[] = [];
  return {
    askedPerContainer,
    onRun: async (container: FakeContainer) => {
      askedPerContainer[container.index] = 0;
      const server = await startContractServer(
        suite,
        (prompt) => {
          if (prompt === READINESS_PROMPT) return 'ok';
          askedPerContainer[container.index]! += 1;
          return behaviourOf(container, () => askedPerContainer[container.index]!);
        },
        slowMs,
      );
      servers.push(server);
      container.url = server.url;
      container.print(`server ${container.index} listening\n`);
      container.onKill = () => server.close();
    },
  };
}

/** A server that dies (exit 1, connections dropped) at its 11th instance request: 10 answers are kept. */
const diesAfterTen = (container: FakeContainer, asked: () => number): Behaviour => {
  if (container.index === 0 && asked() > 10) {
    if (container.running) container.print('Segmentation fault\n');
    container.exit(1);
    return 'drop';
  }
  return 'ok';
};

describe('evaluate: the inference server', () => {
  it('restarts a server that died mid-evaluation and asks only what is still unanswered', async () => {
    const play = serving(diesAfterTen);
    const h = host(play.onRun);
    const result = await run(environment().env, h.activities.evaluate, evaluateInput({ serverRestarts: 1 }));
    expect(result.ending).toBe('completed');
    expect(result.restarts).toBe(1);
    expect(result.summary.total).toBe(INSTANCES);
    expect(result.summary.answered).toBe(INSTANCES);
    expect(result.summary.failed).toBe(0);
    // The restarted server got the rest, no instance twice: 10 were persisted before the crash.
    expect(play.askedPerContainer[1]).toBe(INSTANCES - 10);
    const [first, second] = h.runtime.started();
    expect(second?.spec.name).toBe(`${first?.spec.name}-r1`);
    expect(first?.removed && second?.removed).toBe(true);
    // One log section per server, the dead one's last words included.
    const log = readFileSync(result.logFile, 'utf8');
    expect(log).toContain(`===== ${first!.spec.name} =====\nserver 0 listening\nSegmentation fault`);
    expect(log).toContain(`===== ${second!.spec.name} =====\nserver 1 listening`);
    expect(h.runtime.networks.closed).toEqual(h.runtime.networks.opened);
    expect(h.gpus.available).toBe(1);
  });

  it('ends as server-crashed when no restart is left, with the answers it got exported and the logs kept', async () => {
    const play = serving(diesAfterTen);
    const h = host(play.onRun);
    const result = await run(environment().env, h.activities.evaluate, evaluateInput({ serverRestarts: 0 }));
    expect(result.ending).toBe('server-crashed');
    expect(result.reason).toBe(`the inference server exited with status 1 after 10 of ${INSTANCES} answers`);
    expect(result.restarts).toBe(0);
    expect(h.runtime.started()).toHaveLength(1);
    expect(h.runtime.started()[0]?.removed).toBe(true);
    const exported = (await h.artifacts.getText(artifactKeys.answers(SUBMISSION, 'open')))!.trim().split('\n');
    expect(exported).toHaveLength(10);
    expect(await h.artifacts.getText(`${artifactKeys.logs(SUBMISSION)}/open-eval.log`)).toContain('Segmentation fault');
  });

  it('classifies a server the engine killed for memory as OutOfMemory, not as a crash to restart', async () => {
    const play = serving((container, asked) => {
      if (asked() > 5) {
        container.exit(137, { oomKilled: true });
        return 'drop';
      }
      return 'ok';
    });
    const h = host(play.onRun);
    const { failure, details } = await failureOf(run(environment().env, h.activities.evaluate, evaluateInput({ serverRestarts: 1 })));
    expect(failure.type).toBe('OutOfMemory');
    expect(failure.message).toBe(`the inference server was killed for exceeding ${TRACKS.cpu.containerMemory} during the evaluation`);
    expect(details?.logExcerpt).toContain('server 0 listening');
    expect(h.runtime.started()).toHaveLength(1);
    expect(h.runtime.started()[0]?.removed).toBe(true);
  });

  it('classifies a server that exits before answering as StartupFailed, with its output as the excerpt', async () => {
    const h = host((container) => {
      container.url = 'http://127.0.0.1:9'; // nothing listens: the harness gets connection refused
      container.print('ImportError: No module named transformers\n');
      container.exit(3);
    });
    const { failure, details } = await failureOf(run(environment().env, h.activities.evaluate, evaluateInput()));
    expect(failure.type).toBe('StartupFailed');
    expect(failure.message).toMatch(/^the server exited before answering \(.*\); the server exited with status 3$/);
    expect(details?.logExcerpt).toBe('ImportError: No module named transformers');
    expect(existsSync(h.logFile('open-eval'))).toBe(true);
    expect(h.runtime.started()[0]?.removed).toBe(true);
  });

  it("signals its workflow the stage's start, then its progress and the probe's prediction, the last signal with every instance", async () => {
    const signals: { workflowId: string; name: string; arg: unknown }[] = [];
    // The parts of a Client the activity uses: a workflow handle's signal (and the worker's abort-signal binding).
    const client = {
      withAbortSignal: <R>(_signal: AbortSignal, fn: () => Promise<R>) => fn(),
      workflow: { getHandle: (workflowId: string) => ({ signal: async (def: { name: string }, arg: unknown) => void signals.push({ workflowId, name: def.name, arg }) }) },
    } as unknown as Client;
    const play = serving(() => 'ok');
    const h = host(play.onRun);
    const result = await run(environment({}, client).env, h.activities.evaluate, evaluateInput({ serverRestarts: 0 }));
    expect(result.ending).toBe('completed');
    expect(signals[0]).toMatchObject({ name: stageStartedSignal.name, arg: { stage: 'open-eval' } });
    const progress = signals.filter((s) => s.name === stageProgressSignal.name).map((s) => s.arg as StageProgress);
    expect(progress.length).toBeGreaterThanOrEqual(2); // the first count, the prediction, the last count (at most every 5 s between)
    expect(new Set(signals.map((s) => s.workflowId)).size).toBe(1);
    const last = progress[progress.length - 1]!;
    expect(last).toMatchObject({ stage: 'open-eval', answered: INSTANCES, total: INSTANCES });
    expect(last.prediction).not.toBeNull();
    expect(last.prediction).toMatchObject({ total: INSTANCES, limitMs: 60_000 });
    expect(result.prediction).toEqual(last.prediction);
    // The prediction is signalled as soon as it is made, before the rest of the suite is answered.
    const first = progress.find((p) => p.prediction !== null)!;
    expect(first.answered).toBeLessThan(INSTANCES);
  });

  it('signals a resumed execution with its start of asking and the answers the store held then', async () => {
    const signals: { name: string; arg: unknown }[] = [];
    const client = {
      withAbortSignal: <R>(_signal: AbortSignal, fn: () => Promise<R>) => fn(),
      workflow: { getHandle: () => ({ signal: async (def: { name: string }, arg: unknown) => void signals.push({ name: def.name, arg }) }) },
    } as unknown as Client;
    const progressOf = () => signals.filter((s) => s.name === stageProgressSignal.name).map((s) => s.arg as StageProgress);
    const play = serving(diesAfterTen);
    const h = host(play.onRun);
    const firstBegan = Date.now();
    const first = await run(environment({}, client).env, h.activities.evaluate, evaluateInput({ serverRestarts: 0 }));
    expect(first.ending).toBe('server-crashed'); // 10 answers kept in the store
    const firstSignals = progressOf();
    expect(firstSignals.every((p) => p.execution?.answeredAtStart === 0 && p.execution.startedAt >= firstBegan)).toBe(true);
    signals.length = 0;
    const retryBegan = Date.now();
    const retried = await run(environment({ attempt: 2 }, client).env, h.activities.evaluate, evaluateInput({ serverRestarts: 0 }));
    const retryEnded = Date.now();
    expect(retried.ending).toBe('completed');
    const resumed = progressOf();
    expect(resumed.length).toBeGreaterThanOrEqual(1);
    const execution = resumed[0]!.execution!;
    expect(execution.answeredAtStart).toBe(10);
    expect(execution.startedAt).toBeGreaterThanOrEqual(retryBegan);
    expect(execution.startedAt).toBeLessThanOrEqual(retryEnded);
    expect(resumed.every((p) => p.execution?.startedAt === execution.startedAt && p.execution.answeredAtStart === 10)).toBe(true);
    expect(resumed[resumed.length - 1]).toMatchObject({ answered: INSTANCES, total: INSTANCES });
  });

  it('stops at the deadline with what it has, killing the server', async () => {
    const play = serving((_container, asked) => (asked() > 4 ? 'slow' : 'ok'), 3_000);
    const h = host(play.onRun);
    const result = await run(environment().env, h.activities.evaluate, evaluateInput({ limitMs: 1_500 }));
    expect(result.ending).toBe('deadline');
    expect(result.summary.answered).toBe(4);
    expect(result.stopDelayMs).not.toBeNull();
    const [container] = h.runtime.started();
    expect(container?.killed).toBe(true);
    expect(container?.removed).toBe(true);
  });
});

describe('stage failures', () => {
  it('marks exactly the categories charged to a submission as benign application failures', () => {
    for (const [category, spec] of Object.entries(FAILURE_CATEGORIES) as [keyof typeof FAILURE_CATEGORIES, (typeof FAILURE_CATEGORIES)[keyof typeof FAILURE_CATEGORIES]][]) {
      const made = stageFailure(category, 'why');
      expect([category, made.category ?? null]).toEqual([category, spec.charged ? 'BENIGN' : null]);
      expect(made.nonRetryable).toBe(!spec.retryable);
    }
  });
});
