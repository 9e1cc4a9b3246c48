/**
 * What crosses the workflow/activity boundary: small, serializable values only (ids, paths, summaries).
 * Answers, logs and artifacts stay in the database and on disk.
 */
import type { PartialStageLimits, RetryOverride, TrackId } from '../temporal.config.js';
import type { EvaluationSummary } from '../domain/harness/evaluate.js';
import type { SuiteKind } from '../domain/harness/suite.js';
import type { PhaseRun } from '../domain/competition/runs.js';
import type { StagePrediction } from '../domain/harness/projection.js';

export interface HarnessSettings {
  concurrency: number;
  requestTimeoutMs: number;
  maxAttempts: number;
  retryBackoffMs: number;
  /** prompt + completion window the prompts are fitted into (2048 in 2023) */
  maxPromptTokens: number;
}

export interface PipelineInput {
  submissionId: string;
  team: string;
  submission: string;
  track: TrackId;
  /** Absolute path of the submission directory (readable by the build host). */
  directory: string;
  /** Absolute paths of the suite files, per stage. */
  suites: Record<SuiteKind, string>;
  /** Per-run overrides of the track's stage limits, in milliseconds (tests use seconds). */
  limits?: PartialStageLimits;
  harness?: Partial<HarnessSettings>;
  /** Overrides ACTIVITY_POLICY.heartbeatTimeoutMs (tests shorten it). */
  heartbeatTimeoutMs?: number;
  /** A retry whose earlier run built the images: use them where the claimed host has them, else build. */
  reuseBuild?: boolean;
  /** Overrides of ACTIVITY_POLICY's host failure detection (tests shorten it). */
  hostPolicy?: HostPolicy;
  /** Overrides of ACTIVITY_POLICY.buildRetry, the backoff of builds that failed for the platform's reasons (tests shorten it). */
  buildRetry?: RetryOverride;
  /** An upload through the participants' door: the stored archive a build host without `directory` builds from. */
  source?: SubmissionSource;
  /**
   * What this run is for in the competition (domain/competition/runs.ts): its phase, purpose and the stages it goes
   * through; a stage it leaves out is recorded as skipped by the phase, not as failed. Absent: every stage runs.
   */
  run?: PhaseRun;
}

/** The archive a team uploaded, as kept in the artifact store (operations/intake.ts). */
export interface SubmissionSource {
  /** Artifact store key: `sources/<sha256>.<tar.gz|zip>`. */
  archiveKey: string;
  /** sha256 (hex) of the archive bytes. */
  archiveSha256: string;
  /** infra/source-digest.ts digest of the tree the upload was accepted with: a directory that differs is built from the archive instead. */
  sourceDigest?: string;
}

export interface HostPolicy {
  /** How long a host-pinned stage waits in its host's queue before the host's liveness is checked. */
  scheduleToStartMs?: number;
  /** A host without a sign of life for this long is gone. */
  goneAfterMs?: number;
}

/** A stage that left a lost host for another one. */
export interface Failover {
  stage: string;
  from: string;
  to: string;
  /** How long the lost host had been silent when it was given up (not charged to the stage's limit). */
  creditedMs: number;
  at: string;
}

export interface HostAssignment {
  hostId: string;
  gpuQueue: string;
  cpuQueue: string;
}

export interface BuildInput {
  submissionId: string;
  workflowId: string;
  directory: string;
  /** Keep images already on this host when they were built from the same sources (same digest). */
  reuseIfPresent?: boolean;
  /** Set for uploads: a host that lacks `directory` (or finds it changed) builds from this stored archive. */
  source?: SubmissionSource;
  /** A run of a phase without fine-tune: only the inference image is built (Dockerfile.train may be absent). */
  inferenceOnly?: boolean;
}

/** What every stage activity reports in its heartbeats besides its progress. */
export interface StageHeartbeat {
  stageStartedAt: number;
}

export interface BuiltImages {
  inferenceImage: string;
  trainImage: string;
  durationMs: number;
  /** Dockerfile preflight warnings, shown to the participant (errors stop the build). */
  preflightWarnings: string[];
  /** Digest of the submission's sources the images were built from. */
  sourceDigest: string;
  /** true when images built from the same sources were already on the host. */
  reused: boolean;
  hostId: string;
}

export interface FineTuneInput {
  submissionId: string;
  workflowId: string;
  track: TrackId;
  trainImage: string;
  /** The stage's limit; it runs from the stage's first real start (the durable workflow timer too). */
  limitMs: number;
  /** When the stage first started (host clock), for a later execution of it; null for the first. */
  stageStartedAt: number | null;
  oomRetry: boolean;
  /** true for the stage's first execution: start from an empty artifacts folder */
  fresh: boolean;
}

export interface TrainingProgress {
  step: number | null;
  totalSteps: number | null;
  checkpoint: string | null;
}

export interface FineTuneResult {
  /** completed: exited 0; deadline/cancelled: stopped by us, artifacts kept as they were. */
  ending: 'completed' | 'deadline' | 'cancelled';
  artifactsDir: string;
  artifactFiles: number;
  progress: TrainingProgress | null;
  /** the checkpoint this attempt resumed from, if any */
  resumedFrom: TrainingProgress | null;
  /** where that checkpoint came from: this host's disk, the last heartbeat, or the artifact store (another host's) */
  resumedFromSource: 'disk' | 'heartbeat' | 'artifact-store' | null;
  /** files the training output has in the artifact store after the final push */
  storedFiles: number;
  hostId: string;
  attempt: number;
  /** how long after the deadline the container was gone (when the deadline stopped it) */
  stopDelayMs: number | null;
  /** peak memory of the training container (cgroup), when the engine exposes it */
  peakMemoryBytes: number | null;
  durationMs: number;
  logFile: string;
}

export interface EvaluateInput {
  submissionId: string;
  workflowId: string;
  track: TrackId;
  suite: SuiteKind;
  suiteFile: string;
  inferenceImage: string;
  limitMs: number;
  stageStartedAt: number | null;
  startupLimitMs: number;
  harness: HarnessSettings;
  /** restarts allowed for a server that exits mid-evaluation */
  serverRestarts: number;
  /**
   * Whether the platform trained this run's weights: then its /artifacts is mounted read-only; an inference-only
   * run (a phase without fine-tune) gets no mount and serves the weights baked into its image. Absent: mounted.
   */
  mountArtifacts?: boolean;
}

export interface EvaluateResult {
  ending: 'completed' | 'deadline' | 'cancelled' | 'server-crashed';
  reason: string | null;
  summary: EvaluationSummary;
  restarts: number;
  stopDelayMs: number | null;
  peakMemoryBytes: number | null;
  durationMs: number;
  logFile: string;
  hostId: string;
  /** The probe's prediction of the stage's wall time, made once its probe items were answered; absent in results recorded before the probe. */
  prediction?: StagePrediction | null;
}

/** A stage's outcome as the workflow reports it to the results database. */
export type { StageRecord as StageReport } from '../infra/results-store.js';
