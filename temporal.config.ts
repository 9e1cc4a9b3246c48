/**
 * The rules of the competition: tracks, stage limits, disk limits, task queues, timeouts, retry policies and the
 * harness defaults. Everything is zod-validated and deterministic, and nothing here reads the environment: the
 * same rules hold for the demo, the tests and a production cluster, and workflow code imports this file.
 *
 * Deployment settings (where Temporal, the stores and this host are, and a host's overrides such as
 * CHALLENGE_TRAINING_OUTPUT_CAP) are Node-side: infra/runtime-config.ts, reading infra/environment.ts.
 */
import { z } from 'zod';
import type { SuiteKind } from './domain/harness/suite.js';
import { GiB, UNIT_MS, parseDuration } from './domain/units.js';

// Durations and sizes are read and written by domain/units.ts; re-exported because limits are written with them.
export { formatBytes, formatDuration, parseBytes, parseDuration } from './domain/units.js';

// ---------------------------------------------------------------------------------------------
// Durations: a number of milliseconds, or a string such as "300m", "24h", "45s", "1500ms".
// ---------------------------------------------------------------------------------------------
export const Duration = z.union([z.string(), z.number()]).transform((value, ctx) => {
  try {
    return parseDuration(value);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message });
    return z.NEVER;
  }
});

// ---------------------------------------------------------------------------------------------
// Stages, tracks and limits
// ---------------------------------------------------------------------------------------------
export const STAGES = ['build', 'fine-tune', 'open-eval', 'closed-eval', 'score'] as const;
export type StageName = (typeof STAGES)[number];

export const TRACK_IDS = ['a100-40gb', '4090-24gb', 'cpu'] as const;
export const TrackId = z.enum(TRACK_IDS);
export type TrackId = z.infer<typeof TrackId>;

/** Per-stage wall-clock limits, enforced by durable workflow timers. */
export const StageLimits = z.object({
  build: Duration,
  fineTune: Duration,
  openEval: Duration,
  closedEval: Duration,
  /** How long an inference server may take to give its first valid /process answer. */
  startup: Duration,
});
export type StageLimits = z.infer<typeof StageLimits>;
export const PartialStageLimits = StageLimits.partial();
export type PartialStageLimits = z.infer<typeof PartialStageLimits>;

/** Which limit bounds each stage (the score has none): the one mapping from stage names to StageLimits keys. */
export const STAGE_LIMIT_KEY = {
  build: 'build',
  'fine-tune': 'fineTune',
  'open-eval': 'openEval',
  'closed-eval': 'closedEval',
  score: null,
} as const satisfies Record<StageName, keyof StageLimits | null>;

/** A stage's limit in ms under the given limits, null for a stage without one (or a name that is no stage). */
export function stageLimitMs(limits: StageLimits, stage: string): number | null {
  const key = Object.hasOwn(STAGE_LIMIT_KEY, stage) ? STAGE_LIMIT_KEY[stage as StageName] : null;
  return key === null ? null : limits[key];
}

/** The stage that evaluates each suite: the one mapping from suite kinds to stage names. */
export const EVAL_STAGE = { open: 'open-eval', closed: 'closed-eval' } as const satisfies Record<SuiteKind, StageName>;
export const EVAL_STAGES: readonly StageName[] = Object.values(EVAL_STAGE);

export interface TrackSpec {
  id: TrackId;
  title: string;
  /** GPU model the track is ranked on; null for the CPU track used by demos and tests. */
  gpu: string | null;
  gpuMemoryGiB: number | null;
  /** docker --memory for training and inference containers. */
  containerMemory: string;
  containerCpus: number;
  containerPids: number;
  /**
   * The sandbox of each `docker build` of the track (infra/docker.ts buildImage): every RUN step gets `memory`
   * (docker --memory, with --memory-swap equal: no swap) and `cpus` (--cpu-period/--cpu-quota); `pids` bounds
   * the processes of the whole build (pids.max of the build's cgroup parent). A step killed for memory ends the
   * build as OutOfMemory.
   */
  build: { memory: string; cpus: number; pids: number };
  limits: StageLimits;
  /** What a submission's containers may write on the host's disks (see DiskLimits). */
  disk: DiskLimits;
  /** Failures charged to the participant that still get a second chance on this track. */
  retries: {
    /** Fine-tune attempts after an out-of-memory kill (the retry sets CHALLENGE_OOM_RETRY=1). */
    outOfMemory: number;
    /** Restarts of an inference server that exits mid-evaluation (answers so far are kept). */
    serverCrash: number;
  };
}

const CHALLENGE_RETRIES = { outOfMemory: 1, serverCrash: 1 } as const;

// ---------------------------------------------------------------------------------------------
// Disk: every byte a submission's containers can write on the host is bounded.
// ---------------------------------------------------------------------------------------------

/**
 * The writable places of a submission container, each with its bound. The root file system is read-only, so
 * what remains is: the training output (/artifacts, a bind mount of the host's data folder, the only place that
 * reaches the host's disk), tmpfs mounts (/tmp, /dev/shm, and one over each VOLUME an image declares: memory,
 * charged to the container's memory limit), and Docker's own log of the container's stdout and stderr.
 */
export interface DiskLimits {
  /**
   * Cap on a fine-tune's training output, in bytes on disk (the larger of a file's length and its allocated
   * blocks, so a sparse file counts at its length) and in files. The host measures the folder every
   * ACTIVITY_POLICY.diskWatchMs while training runs; past either cap it stops the container and the stage ends
   * as DiskQuota (charged), keeping the last complete checkpoint. Tests lower it with CHALLENGE_TRAINING_OUTPUT_CAP.
   */
  trainingOutputBytes: number;
  trainingOutputFiles: number;
  /** Size of the tmpfs at /tmp and over each VOLUME an image declares (docker size: 256m, 8g). */
  tmpfsSize: string;
  /** --shm-size (/dev/shm, a tmpfs; PyTorch data loader workers pass tensors through it). */
  shmSize: string;
  /**
   * Docker's own log of each container (json-file driver): a file is rotated at `maxSize` and at most `maxFiles`
   * are kept, so a container printing gigabytes holds at most maxSize × maxFiles on the host's disk. The stage
   * log the host keeps is the last lines of it.
   */
  log: { maxSize: string; maxFiles: number };
  /**
   * A stage (build, fine-tune, evaluation) does not start on a host with less free space than this in its data
   * folder or in Docker's root folder: it fails as Infrastructure (not charged) and is retried with backoff.
   * Tests raise it with CHALLENGE_MIN_FREE_DISK.
   */
  minFreeBytes: number;
}

/**
 * GPU tracks: the 2023 finalists' outputs (LoRA adapters, or merged 7B weights of about 14 GB in bf16, plus a
 * few checkpoints) stayed well under 100 GB, so 100 GiB leaves room for a 13B model's merged weights and
 * checkpoints. A stage needs that much free space plus room for images and logs to start.
 */
const GPU_DISK: DiskLimits = {
  trainingOutputBytes: 100 * GiB,
  trainingOutputFiles: 100_000,
  tmpfsSize: '8g',
  shmSize: '8g',
  log: { maxSize: '100m', maxFiles: 5 },
  minFreeBytes: 150 * GiB,
};

/** The cpu track (demos, tests): the sample's 200-step fine-tune writes about 110 MB (sizes in GiB, as the disk check and messages count them). */
const CPU_DISK: DiskLimits = {
  trainingOutputBytes: 2 * GiB,
  trainingOutputFiles: 20_000,
  tmpfsSize: '256m',
  shmSize: '64m',
  log: { maxSize: '10m', maxFiles: 3 },
  minFreeBytes: 5 * GiB,
};

/** What a host may change of its track's disk limits (infra/runtime-config.ts reads them from the environment). */
export type DiskOverrides = Partial<Pick<DiskLimits, 'trainingOutputBytes' | 'minFreeBytes'>>;

/**
 * The track's disk limits with a host's overrides: the training output cap (CHALLENGE_TRAINING_OUTPUT_CAP on the
 * host) and the free space a stage needs to start (CHALLENGE_MIN_FREE_DISK). Workflows never call this; a GPU host does.
 */
export function diskLimitsFor(track: TrackId, overrides: DiskOverrides = {}): DiskLimits {
  const base = TRACKS[track].disk;
  return {
    ...base,
    trainingOutputBytes: overrides.trainingOutputBytes ?? base.trainingOutputBytes,
    minFreeBytes: overrides.minFreeBytes ?? base.minFreeBytes,
  };
}

const CHALLENGE_LIMITS: StageLimits = {
  build: 2 * UNIT_MS.h,
  fineTune: 24 * UNIT_MS.h,
  openEval: 300 * UNIT_MS.m,
  closedEval: 600 * UNIT_MS.m,
  startup: 20 * UNIT_MS.m,
};

/** Builds on a GPU host: pip may compile wheels, but a build is no fine-tune (it shares the host with them). */
const GPU_TRACK_BUILD = { memory: '32g', cpus: 8, pids: 4096 } as const;

export const TRACKS: Record<TrackId, TrackSpec> = {
  'a100-40gb': {
    id: 'a100-40gb',
    title: 'NVIDIA A100 40 GB',
    gpu: 'A100 40GB',
    gpuMemoryGiB: 40,
    containerMemory: '128g',
    containerCpus: 16,
    containerPids: 4096,
    build: GPU_TRACK_BUILD,
    limits: CHALLENGE_LIMITS,
    disk: GPU_DISK,
    retries: CHALLENGE_RETRIES,
  },
  '4090-24gb': {
    id: '4090-24gb',
    title: 'NVIDIA RTX 4090 24 GB',
    gpu: 'RTX 4090 24GB',
    gpuMemoryGiB: 24,
    containerMemory: '128g',
    containerCpus: 16,
    containerPids: 4096,
    build: GPU_TRACK_BUILD,
    limits: CHALLENGE_LIMITS,
    disk: GPU_DISK,
    retries: CHALLENGE_RETRIES,
  },
  cpu: {
    id: 'cpu',
    title: 'CPU (demos and tests)',
    gpu: null,
    gpuMemoryGiB: null,
    containerMemory: '1g',
    containerCpus: 1,
    containerPids: 256,
    build: { memory: '2g', cpus: 2, pids: 512 },
    limits: { build: 20 * UNIT_MS.m, fineTune: 10 * UNIT_MS.m, openEval: 10 * UNIT_MS.m, closedEval: 10 * UNIT_MS.m, startup: 2 * UNIT_MS.m },
    disk: CPU_DISK,
    retries: CHALLENGE_RETRIES,
  },
};

export function limitsFor(track: TrackId, overrides: PartialStageLimits = {}): StageLimits {
  const base = TRACKS[track].limits;
  return {
    build: overrides.build ?? base.build,
    fineTune: overrides.fineTune ?? base.fineTune,
    openEval: overrides.openEval ?? base.openEval,
    closedEval: overrides.closedEval ?? base.closedEval,
    startup: overrides.startup ?? base.startup,
  };
}

// ---------------------------------------------------------------------------------------------
// Task queues
// ---------------------------------------------------------------------------------------------
export const TASK_QUEUES = {
  /** Workflows and bookkeeping activities (results database, reports). CPU only. */
  orchestrator: 'challenge-orchestrator',
  /**
   * Shared per-track queue: any host of the track answers `claimHost`. Only pipelines started before the
   * load-aware placement (workflows/placement.ts, patch `load-aware-placement`) still claim through it.
   */
  track: (track: TrackId) => `gpu-${track}`,
  /** Host-pinned queue for GPU work (fine-tune, evaluation); slots = GPUs of that host. */
  hostGpu: (track: TrackId, host: string) => `gpu-${track}@${host}`,
  /** Host-pinned queue for CPU work next to the images (docker build, cleanup). */
  hostCpu: (track: TrackId, host: string) => `build-${track}@${host}`,
} as const;

// ---------------------------------------------------------------------------------------------
// Activity timeouts and retries (values the workflows use; tests override heartbeats via input)
// ---------------------------------------------------------------------------------------------
export const ACTIVITY_POLICY = {
  /** A GPU worker that dies is noticed within this window (not hours later). */
  heartbeatTimeoutMs: 10_000,
  /**
   * How long a host-pinned stage waits in its host's queue before the orchestrator asks whether the host
   * is still there (pollers on its queue). A busy host keeps the stage; a host that is gone loses it to
   * another host of the track.
   */
  hostScheduleToStartMs: 2 * UNIT_MS.m,
  /** A host that has not recorded itself alive (hosts table) for this long is gone. */
  hostGoneAfterMs: 90_000,
  /** How often a GPU host records itself alive. */
  hostBeatMs: 2_000,
  /**
   * How often a host measures a running fine-tune's output folder against the track's cap (DiskLimits), at most:
   * it waits at least twice as long as the last measurement took, so a folder of many files costs at most a third
   * of a core. The overshoot past the cap is what the training writes in about this long plus a `docker kill`.
   */
  diskWatchMs: 100,
  /** Safety net beyond each stage limit; the durable timer is the real limit. */
  startToCloseMarginMs: 10 * UNIT_MS.m,
  infrastructureRetry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 5 },
  /**
   * The build activity's attempts. A build that fails for the platform's reasons (BuildInfrastructure: a package
   * index or mirror unreachable, the engine, the disk; see domain/build-failures.ts) is tried again after 15 s,
   * 30 s and 1 min: an index outage outlasts the seconds a host hiccup needs. When the attempts are used up the
   * pipeline ends in BuildInfrastructure, which is not charged. A charged failure (BuildFailed) is not retried.
   * Tests shorten it per run (PipelineInput's `buildRetry`, see retryPolicyWith).
   */
  buildRetry: { initialInterval: '15s', backoffCoefficient: 2, maximumInterval: '2m', maximumAttempts: 4 },
  /**
   * What one `docker build` may print. Past `capBytes` the build is stopped and fails as BuildFailed (charged) with
   * its own reason (domain/build-failures.ts, rule output-cap); the stored log keeps the first `headBytes` and the
   * last `tailBytes` of the output, so a build log is never larger than about 20 MiB per Dockerfile.
   */
  buildOutput: { capBytes: 20 * 1024 * 1024, headBytes: 10 * 1024 * 1024, tailBytes: 10 * 1024 * 1024 },
  bookkeepingRetry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', maximumAttempts: 10 },
  /**
   * Asking the track's placement for a slot, or handing one back (local activities that message the placement
   * workflow): retried until the placement answers (no maximumAttempts), because a submission without a slot has
   * nothing else to do.
   */
  placementRetry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' },
} as const;

/** The per-track placement of submissions on hosts (workflows/placement.ts). */
export const PLACEMENT_POLICY = {
  /**
   * How often a host announces itself (its slots) to its track's placement besides at start: a host that the
   * placement took out of service after a failover comes back within this long once it is reachable again.
   */
  hostAnnounceMs: 30_000,
  /**
   * While submissions wait, the placement checks this often that every slot holder still runs: a run that ended
   * without handing its slot back (terminated by an operator) has its slot passed on.
   */
  leaseAuditMs: 5 * UNIT_MS.m,
  /** The placement workflow continues as new past this many history events (or when the server suggests it). */
  historyEventsBeforeContinueAsNew: 2_000,
  /**
   * Fair share's starvation bound (domain/placement.ts): a submission that has waited this long for a slot is
   * served by age before any fair-share order, so a team that used much GPU time still gets a slot within this
   * long plus the time until the claims older than it have theirs (about one closed evaluation, 600 min, + margin).
   */
  fairShareMaxWaitMs: 12 * UNIT_MS.h,
} as const;

/** Per-run overrides of a retry policy of ACTIVITY_POLICY (tests shorten the backoff); durations in milliseconds. */
export interface RetryOverride {
  initialIntervalMs?: number;
  backoffCoefficient?: number;
  maximumIntervalMs?: number;
  maximumAttempts?: number;
}

/** A retry policy of ACTIVITY_POLICY with a run's overrides applied (the defaults stay the one source of truth). */
export function retryPolicyWith(
  base: { initialInterval: string; backoffCoefficient: number; maximumInterval: string; maximumAttempts: number },
  override: RetryOverride = {},
): { initialInterval: string | number; backoffCoefficient: number; maximumInterval: string | number; maximumAttempts: number } {
  return {
    initialInterval: override.initialIntervalMs ?? base.initialInterval,
    backoffCoefficient: override.backoffCoefficient ?? base.backoffCoefficient,
    maximumInterval: override.maximumIntervalMs ?? base.maximumInterval,
    maximumAttempts: override.maximumAttempts ?? base.maximumAttempts,
  };
}

/** Evaluation harness defaults (2023 used 30 parallel requests). */
export const HARNESS_DEFAULTS = {
  concurrency: 8,
  requestTimeoutMs: 60_000,
  maxAttempts: 3,
  retryBackoffMs: 500,
  maxPromptTokens: 2048,
} as const;
