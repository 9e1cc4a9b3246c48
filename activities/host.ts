/**
 * Activities that run on a GPU host next to its Docker engine: claim the host, build the images,
 * fine-tune, evaluate. Thin adapters: the domain decides what a result means, Docker runs the code.
 * Each classifies its failures into a named ApplicationFailure (see domain/failures.ts).
 */
import { Context, heartbeat } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import path from 'node:path';
import { TASK_QUEUES, TRACKS, type RuntimeConfig, type TrackId } from '../temporal.config.js';
import { FAILURE_CATEGORIES, logExcerpt, type FailureCategory, type FailureDetails } from '../domain/failures.js';
import { evaluateSuite, waitForReadiness, summarize, type StopReason } from '../domain/harness/evaluate.js';
import { loadSuite } from '../domain/harness/suite.js';
import * as dockerRuntime from '../infra/docker.js';
import { GpuPool } from '../infra/gpu-pool.js';
import { ResultsDb } from '../infra/results-db.js';
import type {
  BuildInput,
  BuiltImages,
  EvaluateInput,
  EvaluateResult,
  FineTuneInput,
  FineTuneResult,
  HostAssignment,
  TrainingProgress,
} from './types.js';

export interface HostDeps {
  config: RuntimeConfig;
  track: TrackId;
  gpus: GpuPool;
  db: ResultsDb;
}

export function failure(category: FailureCategory, reason: string, extra: Partial<FailureDetails> = {}): ApplicationFailure {
  const details: FailureDetails = { category, reason, ...extra };
  return ApplicationFailure.create({
    type: category,
    message: reason,
    nonRetryable: !FAILURE_CATEGORIES[category].retryable,
    details: [details],
  });
}

const imageRepository = (submissionId: string) => `challenge-submissions/${submissionId}`;

export function createHostActivities(deps: HostDeps) {
  const { config, track } = deps;
  const spec = TRACKS[track];
  const artifactsDir = (submissionId: string) => path.join(config.dataDir, 'artifacts', submissionId);
  const logFile = (submissionId: string, stage: string) => path.join(config.dataDir, 'logs', submissionId, `${stage}.log`);
  const labels = (workflowId: string, stage: string, attempt: number) => ({
    workflow: workflowId,
    stage,
    attempt: String(attempt),
    host: config.hostId,
  });

  function saveLog(file: string, log: string): void {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, log);
  }

  /** Starts a detached container after removing whatever an earlier attempt of this stage left behind. */
  async function startContainer(stage: string, input: { workflowId: string }, run: Omit<dockerRuntime.RunSpec, 'name' | 'labels'>) {
    const attempt = Context.current().info.attempt;
    await dockerRuntime.removeContainersLabelled({ workflow: input.workflowId, stage });
    const name = dockerRuntime.containerName('ch', input.workflowId, stage, `a${attempt}`);
    await dockerRuntime.runDetached({ ...run, name, labels: labels(input.workflowId, stage, attempt) });
    return name;
  }

  /** Polls a container until it exits, the deadline passes or the activity is cancelled; heartbeats meanwhile. */
  async function watch(name: string, deadline: number, onTick: () => Record<string, unknown>) {
    const signal = Context.current().cancellationSignal;
    for (;;) {
      const state = await dockerRuntime.inspectContainer(name);
      if (!state.running) return { state, stoppedBy: null as 'deadline' | 'cancelled' | null };
      if (signal.aborted) return { state, stoppedBy: 'cancelled' as const };
      if (Date.now() >= deadline) return { state, stoppedBy: 'deadline' as const };
      heartbeat({ container: name, ...onTick() });
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(50, Math.min(500, deadline - Date.now())));
        signal.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
      });
    }
  }

  return {
    /** Answered by any host of the track on the shared queue: pins the submission's later stages to this host. */
    async claimHost(): Promise<HostAssignment> {
      return {
        hostId: config.hostId,
        gpuQueue: TASK_QUEUES.hostGpu(track, config.hostId),
        cpuQueue: TASK_QUEUES.hostCpu(track, config.hostId),
      };
    },

    async buildImages(input: BuildInput): Promise<BuiltImages> {
      const started = Date.now();
      const signal = Context.current().cancellationSignal;
      const beat = setInterval(() => heartbeat({ phase: 'building' }), 1000);
      try {
        const images = { inferenceImage: `${imageRepository(input.submissionId)}:inference`, trainImage: `${imageRepository(input.submissionId)}:train` };
        const logs: string[] = [];
        for (const [dockerfile, tag] of [['Dockerfile.train', images.trainImage], ['Dockerfile', images.inferenceImage]] as const) {
          const result = await dockerRuntime.buildImage({
            context: input.directory,
            dockerfile: path.join(input.directory, dockerfile),
            tag,
            labels: { workflow: input.workflowId, stage: 'build', submission: input.submissionId },
            signal,
          });
          logs.push(`===== docker build -f ${dockerfile} =====\n${result.log}`);
          saveLog(logFile(input.submissionId, 'build'), logs.join('\n'));
          if (result.cancelled || signal.aborted) throw failure('Cancelled', `build of ${dockerfile} was stopped`);
          if (!result.ok) {
            const excerpt = logExcerpt(result.log);
            if (result.infrastructure) throw failure('BuildInfrastructure', `building ${dockerfile} failed for infrastructure reasons`, { logExcerpt: excerpt });
            throw failure('BuildFailed', `${dockerfile} did not build${result.failedStep ? ` at "${result.failedStep}"` : ''}`, {
              ...(result.failedStep ? { step: result.failedStep } : {}),
              logExcerpt: excerpt,
            });
          }
        }
        return { ...images, durationMs: Date.now() - started };
      } finally {
        clearInterval(beat);
      }
    },

    async fineTune(input: FineTuneInput): Promise<FineTuneResult> {
      const started = Date.now();
      const info = Context.current().info;
      const dir = artifactsDir(input.submissionId);
      // A fresh run starts from an empty folder; a retried attempt keeps what the earlier one wrote (checkpoints).
      if (info.attempt === 1 && existsSync(dir)) rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      chmodSync(dir, 0o777);
      const gpu = await deps.gpus.acquire();
      const log = logFile(input.submissionId, 'fine-tune');
      try {
        const name = await startContainer('fine-tune', input, {
          image: input.trainImage,
          memory: spec.containerMemory,
          cpus: spec.containerCpus,
          pids: spec.containerPids,
          network: 'none',
          mounts: [{ host: dir, container: '/artifacts', readOnly: false }],
          env: { CHALLENGE_TRACK: track, ...(input.oomRetry ? { CHALLENGE_OOM_RETRY: '1' } : {}) },
          gpu: spec.gpu === null ? null : gpu.index,
          readOnlyRoot: true,
        });
        const { state, stoppedBy } = await watch(name, input.deadline, () => ({ phase: 'training', gpu: gpu.index, progress: readProgress(dir) }));
        if (stoppedBy) await dockerRuntime.killContainer(name);
        const logs = await dockerRuntime.containerLogs(name, 2000);
        saveLog(log, logs);
        const finalState = stoppedBy ? await dockerRuntime.inspectContainer(name) : state;
        await dockerRuntime.removeContainer(name);
        const result: FineTuneResult = {
          ending: stoppedBy ?? 'completed',
          artifactsDir: dir,
          artifactFiles: countFiles(dir),
          progress: readProgress(dir),
          durationMs: Date.now() - started,
          logFile: log,
        };
        if (stoppedBy) return result;
        if (finalState.oomKilled || dockerRuntime.CUDA_OOM_PATTERN.test(logs)) {
          throw failure('OutOfMemory', `training was killed for exceeding the ${spec.containerMemory} memory limit of track ${track}${finalState.oomKilled ? ' (OOMKilled)' : ' (CUDA out of memory in the log)'}`, {
            logExcerpt: logExcerpt(logs),
          });
        }
        if (finalState.exitCode !== 0) {
          throw failure('ContainerFailed', `training exited with status ${finalState.exitCode}`, { logExcerpt: logExcerpt(logs) });
        }
        return result;
      } finally {
        gpu.release();
      }
    },

    async evaluate(input: EvaluateInput): Promise<EvaluateResult> {
      const started = Date.now();
      const ctx = Context.current();
      const suite = loadSuite(input.suiteFile);
      const store = deps.db.answerStore(input.submissionId, input.suite);
      const stage = `${input.suite}-eval`;
      const log = logFile(input.submissionId, stage);
      await dockerRuntime.ensureNetwork(config.evalNetwork, true);
      const gpu = await deps.gpus.acquire();
      let name: string | null = null;
      const finish = async (ending: EvaluateResult['ending'], reason: string | null, summary = summarize(suite, store.all(), 0, null)): Promise<EvaluateResult> => {
        if (name) {
          saveLog(log, await dockerRuntime.containerLogs(name, 2000));
          await dockerRuntime.removeContainer(name);
          name = null;
        }
        return { ending, reason, summary, durationMs: Date.now() - started, logFile: log };
      };
      try {
        name = await startContainer(stage, input, {
          image: input.inferenceImage,
          memory: spec.containerMemory,
          cpus: spec.containerCpus,
          pids: spec.containerPids,
          network: config.evalNetwork,
          mounts: [{ host: artifactsDir(input.submissionId), container: '/artifacts', readOnly: true }],
          env: { CHALLENGE_TRACK: track },
          gpu: spec.gpu === null ? null : gpu.index,
          readOnlyRoot: true,
        });
        const containerName = name;
        const isAlive = async () => (await dockerRuntime.inspectContainer(containerName)).running;
        const ip = (await dockerRuntime.inspectContainer(name)).ipAddresses[config.evalNetwork];
        if (!ip) throw failure('Infrastructure', `the evaluation server ${name} got no address on network ${config.evalNetwork}`);
        const baseUrl = `http://${ip}:80`;

        const stop = new AbortController();
        const stopAt = (reason: StopReason) => { if (!stop.signal.aborted) stop.abort(reason); };
        ctx.cancellationSignal.addEventListener('abort', () => stopAt('cancelled'), { once: true });
        const deadlineTimer = setTimeout(() => stopAt('deadline'), Math.max(0, input.deadline - Date.now()));
        const beat = setInterval(() => heartbeat({ phase: 'starting', container: name }), 1000);
        try {
          const readiness = await waitForReadiness({
            baseUrl,
            deadline: Math.min(input.deadline, Date.now() + input.startupLimitMs),
            signal: stop.signal,
            isAlive,
          });
          clearInterval(beat);
          if (!readiness.ready) {
            if (stop.signal.aborted) return await finish(stop.signal.reason as 'deadline' | 'cancelled', readiness.reason);
            const state = await dockerRuntime.inspectContainer(containerName);
            const logs = await dockerRuntime.containerLogs(containerName, 200);
            if (state.oomKilled) throw failure('OutOfMemory', `the inference server was killed for exceeding ${spec.containerMemory}`, { logExcerpt: logExcerpt(logs) });
            await finish('startup-failed', readiness.reason);
            const status = state.running ? 'still running' : `exited with status ${state.exitCode}`;
            throw failure('StartupFailed', `${readiness.reason}; the server ${status}`, { logExcerpt: logExcerpt(logs) });
          }
          let lastBeat = 0;
          const summary = await evaluateSuite({
            baseUrl,
            suite,
            store,
            concurrency: input.harness.concurrency,
            requestTimeoutMs: input.harness.requestTimeoutMs,
            maxAttempts: input.harness.maxAttempts,
            retryBackoffMs: input.harness.retryBackoffMs,
            signal: stop.signal,
            isServerAlive: isAlive,
            onProgress: (progress) => {
              const now = Date.now();
              if (now - lastBeat > 250) {
                lastBeat = now;
                heartbeat({ phase: 'evaluating', suite: input.suite, ...progress });
              }
            },
          });
          const keepAlive = setInterval(() => heartbeat({ phase: 'finishing' }), 1000);
          try {
            if (summary.stopReason === 'server-crashed') {
              const state = await dockerRuntime.inspectContainer(containerName);
              if (state.oomKilled) {
                const logs = await dockerRuntime.containerLogs(containerName, 200);
                await finish('server-crashed', 'out of memory');
                throw failure('OutOfMemory', `the inference server was killed for exceeding ${spec.containerMemory} during the evaluation`, { logExcerpt: logExcerpt(logs) });
              }
              return await finish('server-crashed', `the inference server exited with status ${state.exitCode} after ${summary.answered} of ${summary.total} answers`, summary);
            }
            return await finish(summary.stopReason ?? 'completed', null, summary);
          } finally {
            clearInterval(keepAlive);
          }
        } finally {
          clearTimeout(deadlineTimer);
          clearInterval(beat);
        }
      } finally {
        gpu.release();
        // Nothing an attempt started outlives it, whatever way it ended.
        if (name) await finish('cancelled', null).catch(() => undefined);
      }
    },
  };
}

export type HostActivities = ReturnType<typeof createHostActivities>;

function readProgress(dir: string): TrainingProgress | null {
  try {
    const raw = JSON.parse(readFileSync(path.join(dir, 'progress.json'), 'utf8')) as Record<string, unknown>;
    const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
    return { step: num(raw.step), totalSteps: num(raw.totalSteps), checkpoint: typeof raw.checkpoint === 'string' ? raw.checkpoint : null };
  } catch {
    return null;
  }
}

function countFiles(dir: string): number {
  if (!existsSync(dir)) return 0;
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile()).length;
}
