/**
 * Activities that run on a GPU host next to its Docker engine: claim the host, build the images,
 * fine-tune, evaluate. Thin adapters: the domain decides what a result means, Docker runs the code.
 * Each classifies its failures into a named ApplicationFailure (see domain/failures.ts).
 *
 * Lose nothing:
 *  - containers have deterministic names and labels; a new attempt saves the logs of whatever an
 *    earlier attempt left behind, then removes it (nothing orphaned keeps a GPU);
 *  - training resumes from the last checkpoint (heartbeat details, else progress.json on disk);
 *  - evaluation answers are persisted per instance, so a new attempt or a restarted server asks
 *    only what is still unanswered;
 *  - a routine worker shutdown stops the container and hands the stage back (type WorkerShutdown),
 *    which the workflow reschedules without spending a retry;
 *  - what must outlive this host goes to the artifact store: the training output whenever the
 *    submission declares a new checkpoint (and at the end), stage logs, answer exports. Another host
 *    that takes a submission over pulls the training output from there.
 */
import { Context, heartbeat } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { lstat, readdir, statfs } from 'node:fs/promises';
import path from 'node:path';
import { ACTIVITY_POLICY, TASK_QUEUES, TRACKS, diskLimitsFor, formatBytes, type DiskLimits, type RuntimeConfig, type StageName, type TrackId } from '../temporal.config.js';
import { stageStartedSignal, submissionImages } from '../workflows/definitions.js';
import { FAILURE_CATEGORIES, logExcerpt, type FailureCategory, type FailureDetails } from '../domain/failures.js';
import { evaluateSuite, summarizeStore, waitForReadiness, type AnswerStore, type EvaluationSummary } from '../domain/harness/evaluate.js';
import { loadSuite } from '../domain/harness/suite.js';
import { preflightSubmission, renderPreflight } from '../domain/preflight/dockerfile.js';
import { buildFailureCategory, buildFailureReason, classifyBuildFailure, cleanBuildLog } from '../domain/build-failures.js';
import * as dockerRuntime from '../infra/docker.js';
import { blockContainersToHost, unblockContainersToHost } from '../infra/firewall.js';
import { GpuPool } from '../infra/gpu-pool.js';
import type { ResultsStore } from '../infra/results-store.js';
import { artifactKeys, type ArtifactStore, type PushOptions } from '../infra/artifact-store.js';
import { sourceDigest } from '../infra/source-digest.js';
import { exportAnswerLines } from '../infra/answer-export.js';
import type { BuildInput, BuiltImages, EvaluateInput, EvaluateResult, FineTuneInput, FineTuneResult, HostAssignment, TrainingProgress } from './types.js';

export interface HostDeps {
  config: RuntimeConfig;
  track: TrackId;
  gpus: GpuPool;
  db: ResultsStore;
  artifacts: ArtifactStore;
}

/** The type Core gives an attempt that a shutting-down worker cancelled; the workflow reschedules it. */
export const WORKER_SHUTDOWN = 'WorkerShutdown';

export function failure(category: FailureCategory, reason: string, extra: Partial<FailureDetails> = {}): ApplicationFailure {
  const details: FailureDetails = { category, reason, ...extra };
  return ApplicationFailure.create({ type: category, message: reason, nonRetryable: !FAILURE_CATEGORIES[category].retryable, details: [details] });
}

const shortHash = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 12);

/**
 * A host's containers carry its id and its data folder's hash: a host id is unique in a deployment, but
 * test stacks and demos on one engine reuse ids, and one must not reap another's containers.
 */
const hostHome = (config: RuntimeConfig): string => shortHash(path.resolve(config.dataDir));

type Stop = 'deadline' | 'cancelled' | 'shutdown';

/** Why the activity is being stopped: its own deadline, the workflow (limit or operator), or a worker shutdown. */
function stopReasonNow(ctx: Context, deadline: number): Stop | null {
  if (ctx.cancellationSignal.aborted) return ctx.cancellationDetails?.workerShutdown ? 'shutdown' : 'cancelled';
  return Date.now() >= deadline ? 'deadline' : null;
}

/** Resolves after `ms`, or at once when the activity is cancelled. */
function pause(ctx: Context, ms: number): Promise<void> {
  const signal = ctx.cancellationSignal;
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}

/**
 * Tells the workflow the stage really started (its limit runs from here, not from when it was queued)
 * and returns that moment; a later execution of the same stage keeps the first start.
 */
async function beginStage(stage: StageName, stageStartedAt: number | null): Promise<number> {
  const ctx = Context.current();
  const reported = (ctx.info.heartbeatDetails as { stageStartedAt?: number } | undefined)?.stageStartedAt;
  const at = stageStartedAt ?? reported ?? Date.now();
  const workflowId = ctx.info.workflowExecution?.workflowId;
  try {
    if (workflowId) await ctx.client.workflow.getHandle(workflowId).signal(stageStartedSignal, { stage, at });
  } catch (error) {
    // The activity enforces its own deadline; the workflow's timer then only starts at its backstop.
    ctx.log.warn('could not signal the stage start', { stage, error: String(error) });
  }
  return at;
}

/**
 * Heartbeats `details()` every second for the whole activity, set-up included (creating a network or
 * removing an earlier attempt's container can take longer than a short heartbeat timeout).
 */
function heartbeatEvery(details: () => Record<string, unknown>, everyMs = 1000): { stop: () => void } {
  heartbeat(details());
  const timer = setInterval(() => heartbeat(details()), everyMs);
  return { stop: () => clearInterval(timer) };
}

export function createHostActivities(deps: HostDeps) {
  const { config, track } = deps;
  const spec = TRACKS[track];
  // The track's disk limits, with this host's overrides (CHALLENGE_TRAINING_OUTPUT_CAP, CHALLENGE_MIN_FREE_DISK).
  const disk = diskLimitsFor(track, process.env);
  const containerDisk = { tmpfsSize: disk.tmpfsSize, shmSize: disk.shmSize, log: disk.log };
  let dockerRoot: Promise<string | null> | null = null;

  /**
   * Refuses to start a stage on a host whose data folder or Docker root folder has less free space than the
   * track's DiskLimits.minFreeBytes: Infrastructure (not charged), retried with backoff, naming both figures.
   */
  async function ensureFreeDisk(stage: StageName): Promise<void> {
    mkdirSync(config.dataDir, { recursive: true });
    dockerRoot ??= dockerRuntime.dockerRootDir().catch(() => null);
    const shortfall = await freeDiskShortfall(
      [
        { label: 'data folder', dir: config.dataDir },
        { label: "Docker's root folder", dir: await dockerRoot },
      ],
      disk.minFreeBytes,
    );
    if (shortfall) {
      throw failure(
        'Infrastructure',
        `host ${config.hostId} has ${formatBytes(shortfall.freeBytes)} free in its ${shortfall.label} ${shortfall.dir}, below the ${formatBytes(disk.minFreeBytes)} a stage of track ${track} needs to start (TRACKS.${track}.disk.minFreeBytes, or CHALLENGE_MIN_FREE_DISK); the ${stage} stage was not started`,
      );
    }
  }
  const artifactsDir = (submissionId: string) => path.join(config.dataDir, 'artifacts', submissionId);
  const logDir = (submissionId: string) => path.join(config.dataDir, 'logs', submissionId);
  const logFile = (submissionId: string, stage: string) => path.join(logDir(submissionId), `${stage}.log`);

  function saveLog(file: string, log: string): void {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, log);
  }

  /** Saves the logs of containers an earlier attempt of this stage left behind, then removes them. */
  async function clearEarlierAttempts(submissionId: string, workflowId: string, stage: string): Promise<string[]> {
    // This host's own containers only: another stack on the same engine (a test, a demo) may run the same workflow id.
    const stale = await dockerRuntime.containersLabelled({ workflow: workflowId, stage, host: config.hostId, home: hostHome(config) });
    for (const name of stale) {
      saveLog(path.join(logDir(submissionId), `${stage}.${name}.log`), await dockerRuntime.containerLogs(name, 5000));
      await dockerRuntime.removeContainer(name);
    }
    return stale;
  }

  /** The submission's training output folder, created writable for the training container's user. */
  function artifactsFolder(submissionId: string): string {
    const dir = artifactsDir(submissionId);
    mkdirSync(dir, { recursive: true });
    chmodSync(dir, 0o777);
    return dir;
  }

  /** Copies this submission's logs to the artifact store (the web page reads them there); never fails a stage. */
  async function publishLogs(submissionId: string): Promise<void> {
    try {
      if (existsSync(logDir(submissionId))) await deps.artifacts.pushDirectory(logDir(submissionId), artifactKeys.logs(submissionId));
    } catch (error) {
      Context.current().log.warn('could not copy the logs to the artifact store', { submissionId, store: deps.artifacts.location, error: String(error) });
    }
  }

  /**
   * The training output on this host: kept when it is here, else pulled from the artifact store (another
   * host trained, or began training, and was lost). Returns the checkpoint the store holds completely.
   */
  async function localTrainingOutput(submissionId: string): Promise<{ restoredFiles: number; durable: TrainingProgress | null }> {
    const dir = artifactsFolder(submissionId);
    if (countFiles(dir) > 0) return { restoredFiles: 0, durable: null };
    const pulled = await deps.artifacts.pullDirectory(artifactKeys.trainingOutput(submissionId), dir);
    // The training container runs as an unprivileged user: it must be able to rewrite what it wrote before.
    openUp(dir);
    const stored = await deps.artifacts.getText(artifactKeys.checkpoint(submissionId));
    return { restoredFiles: pulled.files, durable: stored ? progressFrom(JSON.parse(stored) as Record<string, unknown>) : null };
  }

  /**
   * Pushes the training output, then records the checkpoint it holds (in this order: the record never runs ahead).
   * `final`: the training container is gone. Files the store may share rather than copy (a folder store on the
   * same filesystem hard-links them, see infra/artifact-store-fs.ts): the declared checkpoint's while training
   * runs (complete, written once), every file once the container is gone. Files the training deleted leave the
   * store only after the record points at the new checkpoint, so the store holds about what the folder holds.
   */
  async function storeTrainingOutput(submissionId: string, progress: TrainingProgress | null, final: boolean): Promise<number> {
    const dir = artifactsDir(submissionId);
    const prefix = artifactKeys.trainingOutput(submissionId);
    const complete = final ? () => true : checkpointFiles(progress?.checkpoint ?? null);
    const options: PushOptions = { prune: final, complete };
    const pushed = await deps.artifacts.pushDirectory(dir, prefix, options);
    if (progress) await deps.artifacts.putText(artifactKeys.checkpoint(submissionId), JSON.stringify(progress));
    if (!final && progress?.checkpoint) {
      const pruning: PushOptions = { prune: true, complete };
      await deps.artifacts.pushDirectory(dir, prefix, pruning);
    }
    return pushed.files;
  }

  async function startContainer(stage: string, input: { workflowId: string; submissionId: string }, suffix: string, run: Omit<dockerRuntime.RunSpec, 'name' | 'labels'>) {
    const attempt = Context.current().info.attempt; // called in the activity's own async flow
    const name = dockerRuntime.containerName('ch', input.workflowId, stage, `a${attempt}${suffix}`);
    const labels = { workflow: input.workflowId, submission: input.submissionId, stage, attempt: String(attempt), host: config.hostId, home: hostHome(config) };
    // Every container gets the track's bounds on what it can write: tmpfs sizes, Docker's log rotation.
    await dockerRuntime.runDetached({ ...containerDisk, ...run, name, labels });
    return name;
  }

  /** Stops a container and measures how long after the deadline it was gone. */
  async function stopContainer(name: string, deadline: number, reason: Stop): Promise<number | null> {
    await dockerRuntime.killContainer(name);
    return reason === 'deadline' ? Date.now() - deadline : null;
  }

  /** Every way out of a stage that is not a result: shutdown hands the stage back to the workflow. */
  function handBack(): never {
    throw ApplicationFailure.create({
      type: WORKER_SHUTDOWN,
      message: `worker ${config.hostId} is shutting down; the stage continues from its last checkpoint`,
      nonRetryable: false,
    });
  }

  const evaluationNetwork = (workflowId: string) => openEvaluationNetwork(config, workflowId);

  return {
    /** Answered by any host of the track on the shared queue: pins the submission's later stages to this host. */
    async claimHost(): Promise<HostAssignment> {
      return { hostId: config.hostId, gpuQueue: TASK_QUEUES.hostGpu(track, config.hostId), cpuQueue: TASK_QUEUES.hostCpu(track, config.hostId) };
    },

    async buildImages(input: BuildInput): Promise<BuiltImages> {
      // docker build writes into Docker's root folder: on a host short of disk the stage does not start.
      await ensureFreeDisk('build');
      const started = Date.now();
      const signal = Context.current().cancellationSignal;
      let beatDetails: Record<string, unknown> = { phase: 'preflight' };
      const beat = heartbeatEvery(() => beatDetails);
      try {
        const stageStartedAt = await beginStage('build', null);
        beatDetails = { phase: 'preflight', stageStartedAt };
        // Dockerfile preflight first: unpinned installs and planted secrets stop here, before any build or GPU.
        const preflight = preflightSubmission(input.directory);
        if (!preflight.ok) {
          throw failure(
            'InvalidSubmission',
            `the Dockerfile preflight found ${preflight.errors.length} error(s): ${preflight.errors.map((f) => `${f.file}:${f.line} ${f.message}`).join('; ')}`,
            {
              step: 'preflight',
              logExcerpt: renderPreflight(preflight),
            },
          );
        }
        const images = submissionImages(input.submissionId);
        const digest = await sourceDigest(input.directory);
        const built = { ...images, preflightWarnings: preflight.warnings.map((f) => `${f.file}:${f.line} ${f.message}`), sourceDigest: digest, hostId: config.hostId };
        if (input.reuseIfPresent) {
          const present = await Promise.all([images.trainImage, images.inferenceImage].map((image) => dockerRuntime.imageLabel(image, 'source-digest')));
          if (present.every((label) => label === digest)) return { ...built, reused: true, durationMs: Date.now() - started };
        }
        beatDetails = { phase: 'building', stageStartedAt };
        // The build sandbox (infra/docker.ts openBuildSandbox): a network of this build's own from which RUN steps reach
        // the internet only (infra/firewall.ts), the track's step limits (TRACKS[track].build), a cgroup parent bounding
        // the build's processes, and the team's build secrets served on the network's gateway while it runs.
        const team = input.submissionId.split('.')[0]!;
        let sandbox: dockerRuntime.OpenBuildSandbox;
        try {
          sandbox = await dockerRuntime.openBuildSandbox({
            name: `challenge-build-${shortHash(`${input.workflowId}|${path.resolve(config.dataDir)}`)}`,
            limits: spec.build,
            egressAllow: config.buildEgressAllow,
            secrets: dockerRuntime.readBuildSecrets(config.buildSecretsDir, team),
          });
        } catch (error) {
          throw failure('BuildInfrastructure', `the build sandbox could not be set up on ${config.hostId}: ${(error as Error).message}`);
        }
        const logs: string[] = [];
        try {
          for (const [dockerfile, tag] of [
            ['Dockerfile.train', images.trainImage],
            ['Dockerfile', images.inferenceImage],
          ] as const) {
            const result = await dockerRuntime.buildImage({
              context: input.directory,
              dockerfile: path.join(input.directory, dockerfile),
              tag,
              labels: { workflow: input.workflowId, stage: 'build', submission: input.submissionId, 'source-digest': digest },
              signal,
              sandbox: sandbox.spec,
              output: ACTIVITY_POLICY.buildOutput,
              buildArgs: sandbox.buildArgs,
              mask: sandbox.secretValues,
            });
            // Each Dockerfile's log is bounded (ACTIVITY_POLICY.buildOutput), so the stored build log is too.
            logs.push(`===== docker build -f ${dockerfile} =====\n${sandbox.notes.join('\n')}\n${result.log}`);
            saveLog(logFile(input.submissionId, 'build'), logs.join('\n'));
            if (result.cancelled || signal.aborted) {
              if (Context.current().cancellationDetails?.workerShutdown) handBack();
              throw failure('Cancelled', `build of ${dockerfile} was stopped`);
            }
            if (!result.ok) {
              // The domain names the cause and the decisive line (domain/build-failures.ts): the platform's
              // (BuildInfrastructure, retried by ACTIVITY_POLICY.buildRetry, not charged) or the participant's
              // (BuildFailed; OutOfMemory for a step killed at the track's build memory; the output cap).
              const classification = result.classification ?? classifyBuildFailure(result.log);
              throw failure(buildFailureCategory(classification), buildFailureReason(dockerfile, classification), {
                ...(classification.step ? { step: classification.step } : {}),
                logExcerpt: logExcerpt(cleanBuildLog(result.log)),
              });
            }
          }
        } finally {
          await sandbox.close();
        }
        return { ...built, reused: false, durationMs: Date.now() - started };
      } finally {
        beat.stop();
        await publishLogs(input.submissionId);
      }
    },

    async fineTune(input: FineTuneInput): Promise<FineTuneResult> {
      const started = Date.now();
      const ctx = Context.current();
      const info = ctx.info;
      const dir = artifactsDir(input.submissionId);
      const fresh = input.fresh && info.attempt === 1;
      if (fresh && existsSync(dir)) rmSync(dir, { recursive: true, force: true });
      // Resume from the newest checkpoint: the one the last attempt reported, or the one on disk.
      const reported = (info.heartbeatDetails as { progress?: TrainingProgress | null } | undefined)?.progress ?? null;
      let beatDetails: Record<string, unknown> = { phase: 'setting up', progress: reported };
      const beat = heartbeatEvery(() => beatDetails);
      try {
        let restored: { restoredFiles: number; durable: TrainingProgress | null } = { restoredFiles: 0, durable: null };
        if (fresh) {
          await deps.artifacts.deletePrefix(artifactKeys.training(input.submissionId));
          await deps.artifacts.deletePrefix(artifactKeys.trainingOutput(input.submissionId));
          artifactsFolder(input.submissionId);
        }
        // After a fresh run's wipe (a retry of this refusal must not find an older run's output), before any pull.
        await ensureFreeDisk('fine-tune');
        if (!fresh) {
          // On a host that has no training output (another one was lost), the store's copy is the starting point.
          restored = await localTrainingOutput(input.submissionId);
        }
        await clearEarlierAttempts(input.submissionId, input.workflowId, 'fine-tune');
        const stageStartedAt = await beginStage('fine-tune', input.stageStartedAt);
        beatDetails = { ...beatDetails, stageStartedAt };
        const deadline = stageStartedAt + input.limitMs;
        // The newest of them: a hard crash loses up to one heartbeat interval of reported checkpoints. Restored
        // files may include a checkpoint whose push was cut off: the store's own record says which one is whole.
        const onDisk = fresh || restored.restoredFiles > 0 ? null : readProgress(dir);
        const candidates: [TrainingProgress | null, NonNullable<FineTuneResult['resumedFromSource']>][] = [
          [reported, 'heartbeat'],
          [onDisk, 'disk'],
          [restored.durable, 'artifact-store'],
        ];
        const [resumeFrom, resumedFromSource] =
          candidates.filter((c): c is [TrainingProgress, NonNullable<FineTuneResult['resumedFromSource']>] => c[0]?.checkpoint != null).sort((a, b) => (b[0].step ?? 0) - (a[0].step ?? 0))[0] ?? [null, null];
        // Each checkpoint the submission declares goes to the artifact store while training goes on.
        let storedCheckpoint = resumeFrom?.checkpoint ?? null;
        let storing: Promise<void> | null = null;
        const storeNewCheckpoint = (progress: TrainingProgress | null) => {
          if (storing || !progress?.checkpoint || progress.checkpoint === storedCheckpoint) return;
          storing = storeTrainingOutput(input.submissionId, progress, false)
            .then(
              () => {
                storedCheckpoint = progress.checkpoint;
              },
              (error: unknown) => ctx.log.warn('could not store a checkpoint', { checkpoint: progress.checkpoint, store: deps.artifacts.location, error: String(error) }),
            )
            .finally(() => {
              storing = null;
            });
        };
        const gpu = await deps.gpus.acquire();
        const log = logFile(input.submissionId, 'fine-tune');
        try {
          const name = await startContainer('fine-tune', input, '', {
            image: input.trainImage,
            memory: spec.containerMemory,
            cpus: spec.containerCpus,
            pids: spec.containerPids,
            network: 'none',
            mounts: [{ host: dir, container: '/artifacts', readOnly: false }],
            env: {
              CHALLENGE_TRACK: track,
              ...(input.oomRetry ? { CHALLENGE_OOM_RETRY: '1' } : {}),
              ...(resumeFrom?.checkpoint ? { CHALLENGE_RESUME_FROM: resumeFrom.checkpoint } : {}),
            },
            gpu: spec.gpu === null ? null : gpu.index,
            readOnlyRoot: true,
          });
          const memory = dockerRuntime.watchPeakMemory(name);
          // The output folder is measured against the track's cap on its own timer (the loop below waits on
          // docker inspect): past the cap the container is killed at once.
          const cap: { over: FolderUsage | null; kill: Promise<void> | null } = { over: null, kill: null };
          const output = watchFolder(dir, ACTIVITY_POLICY.diskWatchMs, (usage) => {
            if (cap.over || !exceedsCap(usage, disk)) return;
            cap.over = usage;
            cap.kill = dockerRuntime.killContainer(name);
          });
          let stop: Stop | null = null;
          let state = await dockerRuntime.inspectContainer(name);
          while (state.running && !cap.over) {
            stop = stopReasonNow(ctx, deadline);
            if (stop) break;
            const progress = readProgress(dir);
            storeNewCheckpoint(progress);
            beatDetails = { phase: 'training', container: name, gpu: gpu.index, progress, stageStartedAt, outputBytes: output.last()?.bytes ?? null };
            await pause(ctx, Math.max(50, Math.min(500, deadline - Date.now())));
            state = await dockerRuntime.inspectContainer(name);
          }
          await output.stop();
          if (cap.kill) await cap.kill;
          const stopDelayMs = stop ? await stopContainer(name, deadline, stop) : null;
          const peakMemoryBytes = await memory.stop();
          const logs = await dockerRuntime.containerLogs(name, 5000);
          saveLog(log, logs);
          const finalState = stop ? await dockerRuntime.inspectContainer(name) : state;
          await dockerRuntime.removeContainer(name);
          // Measured once the container is gone: what it wrote last counts too (a fast writer may exit before a
          // measurement sees it past the cap).
          const finalUsage = await measureFolder(dir);
          const quota = cap.over ?? (exceedsCap(finalUsage, disk) ? finalUsage : null);
          // Whatever the ending, what the training wrote outlives this host (a shutdown too: another host resumes).
          await storing;
          let storedFiles = 0;
          try {
            storedFiles = await storeTrainingOutput(input.submissionId, readProgress(dir), true);
          } catch (error) {
            ctx.log.warn('could not store the training output; it is only on this host', { store: deps.artifacts.location, error: String(error) });
          }
          if (stop === 'shutdown') handBack();
          if (quota && !stop) {
            // Charged, with what it kept: the stage goes on to the evaluations with the last complete checkpoint.
            const kept = readProgress(dir);
            const capText = `${formatBytes(disk.trainingOutputBytes)} and ${disk.trainingOutputFiles.toLocaleString('en-US')} files`;
            throw failure(
              'DiskQuota',
              `training output reached the cap of track ${track} (${capText}) with ${formatBytes(quota.bytes)} in ${quota.files} files; ${cap.over ? 'training was stopped' : 'training had already exited'}, ${formatBytes(finalUsage.bytes)} on disk in the end (${formatBytes(Math.max(0, finalUsage.bytes - disk.trainingOutputBytes))} past the cap); ${kept?.checkpoint ? `kept the last complete checkpoint ${kept.checkpoint}${kept.step !== null ? ` (step ${kept.step})` : ''}` : 'no checkpoint was declared'}`,
              {
                logExcerpt: logExcerpt(logs),
                kept: {
                  progress: kept,
                  artifactFiles: countFiles(dir),
                  storedFiles,
                  outputBytes: finalUsage.bytes,
                  outputFiles: finalUsage.files,
                  capBytes: disk.trainingOutputBytes,
                  capFiles: disk.trainingOutputFiles,
                  overCapBytes: Math.max(0, finalUsage.bytes - disk.trainingOutputBytes),
                  stoppedAtBytes: quota.bytes,
                  stoppedByCap: cap.over !== null,
                  hostId: config.hostId,
                  attempt: info.attempt,
                  resumedFrom: resumeFrom,
                  peakMemoryBytes,
                  durationMs: Date.now() - started,
                },
              },
            );
          }
          const result: FineTuneResult = {
            ending: stop === 'deadline' || stop === 'cancelled' ? stop : 'completed',
            artifactsDir: dir,
            artifactFiles: countFiles(dir),
            progress: readProgress(dir),
            resumedFrom: resumeFrom,
            resumedFromSource,
            storedFiles,
            hostId: config.hostId,
            attempt: info.attempt,
            stopDelayMs,
            peakMemoryBytes,
            durationMs: Date.now() - started,
            logFile: log,
          };
          if (stop) return result;
          if (finalState.oomKilled || dockerRuntime.CUDA_OOM_PATTERN.test(logs)) {
            throw failure(
              'OutOfMemory',
              `training was killed for exceeding the ${spec.containerMemory} memory limit of track ${track}${finalState.oomKilled ? ' (OOMKilled)' : ' (CUDA out of memory in the log)'}`,
              {
                logExcerpt: logExcerpt(logs),
              },
            );
          }
          if (finalState.exitCode !== 0) {
            // A full host disk is ours, not the participant's (their own cap was not reached: see above).
            if (NO_SPACE_PATTERN.test(logs)) {
              const short = await freeDiskShortfall([{ label: 'data folder', dir: config.dataDir }], disk.minFreeBytes).catch(() => null);
              if (short) {
                throw failure(
                  'Infrastructure',
                  `training exited with status ${finalState.exitCode} on "no space left on device" while host ${config.hostId} had only ${formatBytes(short.freeBytes)} free in its data folder (the stage needs ${formatBytes(disk.minFreeBytes)})`,
                  { logExcerpt: logExcerpt(logs) },
                );
              }
            }
            throw failure('ContainerFailed', `training exited with status ${finalState.exitCode}`, { logExcerpt: logExcerpt(logs) });
          }
          return result;
        } finally {
          gpu.release();
        }
      } finally {
        beat.stop();
        await publishLogs(input.submissionId);
      }
    },

    async evaluate(input: EvaluateInput): Promise<EvaluateResult> {
      const started = Date.now();
      // Captured once: callbacks (abort listeners, timers) run outside the activity's async context.
      const ctx = Context.current();
      const suite = loadSuite(input.suiteFile);
      const store = deps.db.answerStore(input.submissionId, input.suite, `${suite.name}@${suite.version}`);
      const stage: StageName = input.suite === 'open' ? 'open-eval' : 'closed-eval';
      const log = logFile(input.submissionId, stage);
      let beatDetails: Record<string, unknown> = { phase: 'setting up' };
      const beat = heartbeatEvery(() => beatDetails);
      try {
        await ensureFreeDisk(stage);
        await clearEarlierAttempts(input.submissionId, input.workflowId, stage);
        const stageStartedAt = await beginStage(stage, input.stageStartedAt);
        beatDetails = { phase: 'setting up', stageStartedAt };
        const deadline = stageStartedAt + input.limitMs;
        await localTrainingOutput(input.submissionId);
        const network = await evaluationNetwork(input.workflowId);
        const gpu = await deps.gpus.acquire();
        const logs: string[] = [];
        let current: string | null = null;
        let memory: { stop: () => Promise<number | null> } | null = null;
        let peakMemoryBytes: number | null = null;
        const retire = async (name: string) => {
          const peak = await memory?.stop();
          if (peak !== undefined && peak !== null) peakMemoryBytes = Math.max(peakMemoryBytes ?? 0, peak);
          memory = null;
          logs.push(`===== ${name} =====\n${await dockerRuntime.containerLogs(name, 5000)}`);
          saveLog(log, logs.join('\n'));
          await dockerRuntime.removeContainer(name);
          current = null;
        };
        const result = (
          ending: EvaluateResult['ending'],
          reason: string | null,
          summary: EvaluationSummary,
          restarts: number,
          stopDelayMs: number | null,
        ): EvaluateResult => ({
          ending,
          reason,
          summary,
          restarts,
          stopDelayMs,
          peakMemoryBytes,
          durationMs: Date.now() - started,
          logFile: log,
          hostId: config.hostId,
        });

        try {
          for (let restarts = 0; ; restarts++) {
            const name = await startContainer(stage, input, restarts > 0 ? `-r${restarts}` : '', {
              image: input.inferenceImage,
              memory: spec.containerMemory,
              cpus: spec.containerCpus,
              pids: spec.containerPids,
              network: network.name,
              mounts: [{ host: artifactsDir(input.submissionId), container: '/artifacts', readOnly: true }],
              env: { CHALLENGE_TRACK: track },
              gpu: spec.gpu === null ? null : gpu.index,
              readOnlyRoot: true,
            });
            current = name;
            memory = dockerRuntime.watchPeakMemory(name);
            const isAlive = async () => (await dockerRuntime.inspectContainer(name)).running;
            const ip = (await dockerRuntime.inspectContainer(name)).ipAddresses[network.name];
            if (!ip) throw failure('Infrastructure', `the evaluation server ${name} got no address on network ${network.name}`);
            const baseUrl = `http://${ip}:80`;

            // One signal for every reason to stop: the workflow's cancel (its limit or an operator), our own
            // copy of the deadline (no heartbeat round trip needed), or a worker shutdown.
            const stop = new AbortController();
            const onCancel = () => stop.abort(ctx.cancellationDetails?.workerShutdown ? 'shutdown' : 'cancelled');
            ctx.cancellationSignal.addEventListener('abort', onCancel, { once: true });
            if (ctx.cancellationSignal.aborted) onCancel();
            const deadlineTimer = setTimeout(() => stop.abort('deadline'), Math.max(0, deadline - Date.now()));
            beatDetails = { phase: 'starting', container: name, restarts, stageStartedAt };
            try {
              const readiness = await waitForReadiness({
                baseUrl,
                deadline: Math.min(deadline, Date.now() + input.startupLimitMs),
                signal: stop.signal,
                isAlive,
              });
              if (!readiness.ready) {
                const state = await dockerRuntime.inspectContainer(name);
                const tail = await dockerRuntime.containerLogs(name, 200);
                if (stop.signal.aborted) {
                  const why = stop.signal.reason as Stop;
                  const delay = await stopContainer(name, deadline, why);
                  await retire(name);
                  if (why === 'shutdown') handBack();
                  return result(why, readiness.reason, await summarizeStore(suite, store, 0, null), restarts, delay);
                }
                await retire(name);
                if (state.oomKilled)
                  throw failure('OutOfMemory', `the inference server was killed for exceeding ${spec.containerMemory} while starting`, {
                    logExcerpt: logExcerpt(tail),
                  });
                const status = state.running ? 'still running' : `exited with status ${state.exitCode}`;
                const answeredWrongly = readiness.lastFailure === 'schema' || readiness.lastFailure === 'invalid-json' || readiness.lastFailure === 'too-large';
                throw failure(answeredWrongly ? 'ContractViolation' : 'StartupFailed', `${readiness.reason}; the server ${status}`, {
                  logExcerpt: logExcerpt(tail),
                });
              }
              const summary = await evaluateSuite({
                baseUrl,
                suite,
                store,
                concurrency: input.harness.concurrency,
                requestTimeoutMs: input.harness.requestTimeoutMs,
                maxAttempts: input.harness.maxAttempts,
                retryBackoffMs: input.harness.retryBackoffMs,
                maxPromptTokens: input.harness.maxPromptTokens,
                signal: stop.signal,
                isServerAlive: isAlive,
                onProgress: (progress) => {
                  beatDetails = { phase: 'evaluating', suite: input.suite, restarts, stageStartedAt, ...progress };
                },
              });
              beatDetails = { ...beatDetails, phase: 'finishing' };
              {
                const why = (stop.signal.aborted ? stop.signal.reason : null) as Stop | null;
                if (why) {
                  const delay = await stopContainer(name, deadline, why);
                  await retire(name);
                  if (why === 'shutdown') handBack();
                  return result(why, null, summary, restarts, delay);
                }
                if (summary.stopReason === 'server-crashed') {
                  const state = await dockerRuntime.inspectContainer(name);
                  const tail = await dockerRuntime.containerLogs(name, 200);
                  await retire(name);
                  if (state.oomKilled)
                    throw failure('OutOfMemory', `the inference server was killed for exceeding ${spec.containerMemory} during the evaluation`, {
                      logExcerpt: logExcerpt(tail),
                    });
                  if (restarts < input.serverRestarts) continue; // restart once; persisted answers are not asked again
                  const reason = `the inference server exited with status ${state.exitCode} after ${summary.answered} of ${summary.total} answers${restarts > 0 ? `, also after ${restarts} restart(s)` : ''}`;
                  return result('server-crashed', reason, summary, restarts, null);
                }
                await retire(name);
                return result('completed', null, summary, restarts, null);
              }
            } finally {
              clearTimeout(deadlineTimer);
              ctx.cancellationSignal.removeEventListener('abort', onCancel);
            }
          }
        } finally {
          gpu.release();
          // Nothing an attempt started outlives it, whatever way it ended.
          if (current) await retire(current).catch(() => undefined);
          await closeEvaluationNetwork(network);
        }
      } finally {
        beat.stop();
        await exportAnswers(input.submissionId, input.suite, store);
        await publishLogs(input.submissionId);
      }
    },
  };

  /** One JSON line per persisted answer, for audits and appeals; the database stays the source of truth. */
  async function exportAnswers(submissionId: string, suite: string, store: AnswerStore): Promise<void> {
    try {
      await exportAnswerLines(store, (file) => deps.artifacts.putFile(artifactKeys.answers(submissionId, suite), file));
    } catch (error) {
      Context.current().log.warn('could not export the answers to the artifact store', { submissionId, suite, error: String(error) });
    }
  }
}

export type HostActivities = ReturnType<typeof createHostActivities>;

/**
 * One internal network per submission's evaluation: servers of different submissions cannot reach each other
 * (separate bridges, no route between them), and an iptables rule drops every new connection from the bridge to
 * the host. Only the harness, on the host, reaches the server.
 */
export async function openEvaluationNetwork(config: RuntimeConfig, workflowId: string): Promise<{ name: string; bridge: string | null }> {
  const name = `${config.evalNetwork}-${shortHash(workflowId)}`;
  await dockerRuntime.ensureNetwork(name, true);
  const bridge = await dockerRuntime.bridgeInterface(name);
  if (bridge) await blockContainersToHost(bridge);
  return { name, bridge };
}

export async function closeEvaluationNetwork(network: { name: string; bridge: string | null }): Promise<void> {
  if (network.bridge) await unblockContainersToHost(network.bridge).catch(() => undefined);
  await dockerRuntime.removeNetwork(network.name).catch(() => undefined);
}

/** A full disk as programs report it (Python's OSError, coreutils, PyTorch's writers). */
const NO_SPACE_PATTERN = /No space left on device|ENOSPC|Disk quota exceeded|EDQUOT/;

/** Bytes on disk and entries (files and folders) under a folder. */
export interface FolderUsage {
  bytes: number;
  files: number;
}

/**
 * What a folder takes: each regular file counts the larger of its length and its allocated blocks (a sparse
 * file counts at its length: a copy to the artifact store would not be sparse), folders and other entries their
 * blocks. Symbolic links are not followed. Entries that vanish while it walks are skipped.
 */
export async function measureFolder(dir: string): Promise<FolderUsage> {
  const usage: FolderUsage = { bytes: 0, files: 0 };
  const visit = async (folder: string): Promise<void> => {
    let names: string[];
    try {
      names = await readdir(folder);
    } catch {
      return;
    }
    await Promise.all(
      names.map(async (name) => {
        const full = path.join(folder, name);
        const stats = await lstat(full).catch(() => null);
        if (!stats) return;
        usage.files += 1;
        usage.bytes += stats.isFile() ? Math.max(stats.size, stats.blocks * 512) : stats.blocks * 512;
        if (stats.isDirectory()) await visit(full);
      }),
    );
  };
  await visit(dir);
  return usage;
}

export const exceedsCap = (usage: FolderUsage, limits: Pick<DiskLimits, 'trainingOutputBytes' | 'trainingOutputFiles'>): boolean =>
  usage.bytes > limits.trainingOutputBytes || usage.files > limits.trainingOutputFiles;

/**
 * Measures `dir` every `everyMs`, or twice as long as the last measurement took when that is longer (one at a
 * time, at most a third of a core on a folder of many files), and hands each result to `onUsage`; `last()` is
 * the newest, `stop()` ends it after the measurement in flight.
 */
export function watchFolder(dir: string, everyMs: number, onUsage: (usage: FolderUsage) => void): { last: () => FolderUsage | null; stop: () => Promise<void> } {
  let latest: FolderUsage | null = null;
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let inFlight: Promise<void> = Promise.resolve();
  const tick = () => {
    const began = Date.now();
    inFlight = measureFolder(dir)
      .then((usage) => {
        latest = usage;
        if (!stopped) onUsage(usage);
      })
      .catch(() => undefined)
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, Math.max(everyMs, 2 * (Date.now() - began)));
      });
  };
  tick();
  return {
    last: () => latest,
    stop: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      await inFlight;
    },
  };
}

/** The first of `dirs` (null ones skipped, as are those that cannot be read) with less than `minFreeBytes` available. */
export async function freeDiskShortfall(
  dirs: { label: string; dir: string | null }[],
  minFreeBytes: number,
): Promise<{ label: string; dir: string; freeBytes: number } | null> {
  for (const { label, dir } of dirs) {
    if (!dir) continue;
    const stats = await statfs(dir).catch(() => null);
    if (!stats) continue; // e.g. Docker's root folder, when this worker runs in a container without it
    const freeBytes = stats.bavail * stats.bsize;
    if (freeBytes < minFreeBytes) return { label, dir, freeBytes };
  }
  return null;
}

/** The files of a declared checkpoint (a file or a folder, relative to the training output): complete, written once. */
export function checkpointFiles(checkpoint: string | null): (relativePath: string) => boolean {
  const base = checkpoint?.replace(/^\.?\/+/, '').replace(/\/+$/, '') ?? '';
  if (base === '' || base.split('/').includes('..')) return () => false;
  return (relativePath) => relativePath === base || relativePath.startsWith(`${base}/`);
}

/**
 * Run by a GPU host worker before it polls for work: every container this host started and still holds
 * belongs to an activity that died with an earlier worker process (kill -9, a crash). Left alone, it
 * would keep its GPU and go on writing the training output a new attempt resumes from. Its log is kept
 * beside the submission's other logs, then it is removed.
 */
export async function removeOrphanContainers(config: RuntimeConfig): Promise<string[]> {
  const orphans = await dockerRuntime.containersLabelled({ host: config.hostId, home: hostHome(config) });
  for (const name of orphans) {
    const submission = (await dockerRuntime.containerLabel(name, 'submission')) ?? 'unknown-submission';
    const stage = (await dockerRuntime.containerLabel(name, 'stage')) ?? 'unknown-stage';
    // Named as an attempt's own clean-up names the logs of the containers it finds (clearEarlierAttempts).
    const file = path.join(config.dataDir, 'logs', submission, `${stage}.${name}.log`);
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, await dockerRuntime.containerLogs(name, 5000));
    await dockerRuntime.removeContainer(name);
  }
  return orphans;
}

function progressFrom(raw: Record<string, unknown>): TrainingProgress {
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  return { step: num(raw.step), totalSteps: num(raw.totalSteps), checkpoint: typeof raw.checkpoint === 'string' ? raw.checkpoint : null };
}

function readProgress(dir: string): TrainingProgress | null {
  try {
    return progressFrom(JSON.parse(readFileSync(path.join(dir, 'progress.json'), 'utf8')) as Record<string, unknown>);
  } catch {
    return null;
  }
}

/** Folders 0777 and files 0666 under `dir` (restored files belong to the worker; the container's user rewrites them). */
function openUp(dir: string): void {
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const full = path.join(entry.parentPath, entry.name);
    if (entry.isDirectory()) chmodSync(full, 0o777);
    else if (entry.isFile()) chmodSync(full, statSync(full).mode | 0o666);
  }
}

function countFiles(dir: string): number {
  if (!existsSync(dir)) return 0;
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile()).length;
}
