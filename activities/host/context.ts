/**
 * What every host stage shares: its deps (configuration, stores, the container runtime, the GPU slots), the
 * host's identity on the engine, where a submission's files and logs live on this host, and the ways out of a
 * stage that are not a result (a classified failure, a hand-back on worker shutdown).
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure, ApplicationFailureCategory } from '@temporalio/common';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { TRACKS, diskLimitsFor, formatBytes, type DiskLimits, type DiskOverrides, type StageName, type TrackId, type TrackSpec } from '../../temporal.config.js';
import { type RuntimeConfig } from '../../infra/runtime-config.js';
import { FAILURE_CATEGORIES, type FailureCategory, type FailureDetails } from '../../domain/failures.js';
import type { ContainerRuntime } from '../../infra/container-runtime.js';
import type { RunSpec } from '../../infra/docker.js';
import type { GpuPool } from '../../infra/gpu-pool.js';
import type { ResultsStore } from '../../infra/results-store.js';
import { artifactKeys, type ArtifactStore } from '../../infra/artifact-store.js';
import { stageLogFile, submissionLogDir } from '../../infra/log-files.js';
import { freeDiskShortfall } from './disk.js';

export interface HostDeps {
  config: RuntimeConfig;
  track: TrackId;
  gpus: GpuPool;
  /** The stages need only the evaluation's answers (persisted as they arrive). */
  db: Pick<ResultsStore, 'answerStore'>;
  artifacts: ArtifactStore;
  /** The engine the stages' containers run on (infra/container-runtime.ts dockerContainerRuntime in production). */
  runtime: ContainerRuntime;
  /** This host's overrides of the track's disk limits (infra/runtime-config.ts loadHostSettings); none by default. */
  diskOverrides?: DiskOverrides;
}

/** How many of a container's last lines of output a stage log keeps (docker logs --tail). */
export const CONTAINER_LOG_LINES = 5000;

/** The type Core gives an attempt that a shutting-down worker cancelled; the workflow reschedules it. */
export const WORKER_SHUTDOWN = 'WorkerShutdown';

/**
 * The failure a stage ends with. A failure charged to the submission (its OOM, its crash, its time limit) is
 * BENIGN to Temporal: the worker did its job, so the SDK logs it at debug level and counts no activity error,
 * and the worker's error log and metrics stay about the platform.
 */
export function failure(category: FailureCategory, reason: string, extra: Partial<FailureDetails> = {}): ApplicationFailure {
  const details: FailureDetails = { category, reason, ...extra };
  const { retryable, charged } = FAILURE_CATEGORIES[category];
  return ApplicationFailure.create({
    type: category,
    message: reason,
    nonRetryable: !retryable,
    details: [details],
    ...(charged ? { category: ApplicationFailureCategory.BENIGN } : {}),
  });
}

export const shortHash = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 12);

/**
 * A host's containers carry its id and its data folder's hash: a host id is unique in a deployment, but
 * test stacks and demos on one engine reuse ids, and one must not reap another's containers.
 */
export const hostHome = (config: RuntimeConfig): string => shortHash(path.resolve(config.dataDir));

/**
 * Where a submission's logs are on this host (infra/log-files.ts, the one definition of the layout); an id that
 * would leave the logs folder is refused, naming it.
 */
export function submissionLogPath(dataDir: string, submissionId: string, stage?: string, container?: string): string {
  const file = stage === undefined ? submissionLogDir(dataDir, submissionId) : stageLogFile(dataDir, submissionId, stage, container);
  if (file === null) throw new Error(`submission id ${JSON.stringify(submissionId)} or stage ${JSON.stringify(stage)} would leave ${path.join(dataDir, 'logs')}; ids are plain names`);
  return file;
}

export function saveLog(file: string, log: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, log);
}

/** The deps, with what the stages derive from them. */
export interface HostContext extends HostDeps {
  spec: TrackSpec;
  /** The track's disk limits, with this host's overrides (HostDeps.diskOverrides: CHALLENGE_TRAINING_OUTPUT_CAP, CHALLENGE_MIN_FREE_DISK). */
  disk: DiskLimits;
  /** Every container gets the track's bounds on what it can write: tmpfs sizes, Docker's log rotation. */
  containerDisk: Pick<RunSpec, 'tmpfsSize' | 'shmSize' | 'log'>;
  /** hostHome(config): the label that tells this host's containers from another stack's on the same engine. */
  home: string;
  artifactsDir(submissionId: string): string;
  logDir(submissionId: string): string;
  logFile(submissionId: string, stage: string): string;
  /**
   * Refuses to start a stage on a host whose data folder or Docker root folder has less free space than the
   * track's DiskLimits.minFreeBytes: Infrastructure (not charged), retried with backoff, naming both figures.
   */
  ensureFreeDisk(stage: StageName): Promise<void>;
  /** Saves the logs of containers an earlier attempt of this stage left behind, then removes them. */
  clearEarlierAttempts(submissionId: string, workflowId: string, stage: string): Promise<string[]>;
  /** The submission's training output folder, created writable for the training container's user. */
  artifactsFolder(submissionId: string): string;
  /** Copies this submission's logs to the artifact store (the web page reads them there); never fails a stage. */
  publishLogs(submissionId: string): Promise<void>;
  /** Every way out of a stage that is not a result: shutdown hands the stage back to the workflow. */
  handBack(): never;
}

export function createHostContext(deps: HostDeps): HostContext {
  const { config, track, runtime } = deps;
  const disk = diskLimitsFor(track, deps.diskOverrides);
  let dockerRoot: Promise<string | null> | null = null;
  const artifactsDir = (submissionId: string) => path.join(config.dataDir, 'artifacts', submissionId);
  const logDir = (submissionId: string) => submissionLogPath(config.dataDir, submissionId);
  const home = hostHome(config);

  return {
    ...deps,
    spec: TRACKS[track],
    disk,
    containerDisk: { tmpfsSize: disk.tmpfsSize, shmSize: disk.shmSize, log: disk.log },
    home,
    artifactsDir,
    logDir,
    logFile: (submissionId, stage) => submissionLogPath(config.dataDir, submissionId, stage),

    async ensureFreeDisk(stage) {
      mkdirSync(config.dataDir, { recursive: true });
      dockerRoot ??= runtime.dockerRootDir().catch(() => null);
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
          `host ${config.hostId} has ${formatBytes(shortfall.freeBytes)} free in its ${shortfall.label} ${shortfall.dir}, ` +
            `below the ${formatBytes(disk.minFreeBytes)} a stage of track ${track} needs to start ` +
            `(TRACKS.${track}.disk.minFreeBytes, or CHALLENGE_MIN_FREE_DISK); the ${stage} stage was not started`,
        );
      }
    },

    async clearEarlierAttempts(submissionId, workflowId, stage) {
      // This host's own containers only: another stack on the same engine (a test, a demo) may run the same workflow id.
      const stale = await runtime.containersLabelled({ workflow: workflowId, stage, host: config.hostId, home });
      for (const name of stale) {
        saveLog(submissionLogPath(config.dataDir, submissionId, stage, name), await runtime.containerLogs(name, CONTAINER_LOG_LINES));
        await runtime.removeContainer(name);
      }
      return stale;
    },

    artifactsFolder(submissionId) {
      const dir = artifactsDir(submissionId);
      mkdirSync(dir, { recursive: true });
      chmodSync(dir, 0o777);
      return dir;
    },

    async publishLogs(submissionId) {
      try {
        if (existsSync(logDir(submissionId))) await deps.artifacts.pushDirectory(logDir(submissionId), artifactKeys.logs(submissionId));
      } catch (error) {
        Context.current().log.warn('could not copy the logs to the artifact store', { submissionId, store: deps.artifacts.location, error: String(error) });
      }
    },

    handBack() {
      throw ApplicationFailure.create({
        type: WORKER_SHUTDOWN,
        message: `worker ${config.hostId} is shutting down; the stage continues from its last checkpoint`,
        nonRetryable: false,
      });
    },
  };
}
