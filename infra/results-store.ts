/**
 * The results database as every process sees it: submissions, stage outcomes, per-instance answers,
 * scenario scores, pipeline outcomes and the GPU hosts' liveness. Two implementations behave the same
 * (one contract test runs against both):
 *  - SQLite (infra/results-db.ts), the default, a file on the orchestrator host (or a folder every
 *    process of one machine shares); answers at once;
 *  - PostgreSQL (infra/results-db-postgres.ts) when DATABASE_URL is set: what a deployment with GPU
 *    hosts on several machines uses; answers with promises.
 * Callers `await` every call, so they work with either. Every write is an upsert keyed by what it
 * describes, so a retried activity never duplicates a row.
 */
import type { AnswerStore, ScenarioResult } from '../domain/harness/evaluate.js';
import type { FailureCategory, StageOutcome } from '../domain/failures.js';
import type { SuiteKind } from '../domain/harness/suite.js';
import type { TeamStore } from './team-store.js';

export type Awaitable<T> = T | Promise<T>;

export interface StageRecord {
  submissionId: string;
  stage: string;
  outcome: StageOutcome;
  failureCategory: FailureCategory | null;
  reason: string | null;
  startedAt: string | null;
  endedAt: string | null;
  limitMs: number | null;
  details: Record<string, unknown> | null;
}

/**
 * The phase that left this stage out of its run (an inference-only phase's fine-tune; the pipeline records it as
 * `details.skippedByPhase`), or null for a stage that ran, failed, or was skipped for another reason.
 */
export function phaseThatSkipped(stage: StageRecord | undefined): string | null {
  const phase = stage?.outcome === 'skipped' ? stage.details?.skippedByPhase : undefined;
  return typeof phase === 'string' ? phase : null;
}

export interface SubmissionRecord {
  submissionId: string;
  team: string;
  name: string;
  track: string;
  directory: string;
  workflowId: string;
  runId: string;
  submittedAt: string;
}

export interface PipelineRecord {
  submissionId: string;
  outcome: 'running' | 'completed' | 'failed' | 'cancelled';
  failureCategory: FailureCategory | null;
  reason: string | null;
  updatedAt: string;
}

/** A scenario's result as the harness reports it; `columns` adds robustness and fairness columns. */
export type ScoredScenario = Pick<ScenarioResult, 'scenario' | 'column' | 'score' | 'instances' | 'answered' | 'failed'> & {
  columns?: ScenarioResult['columns'];
};

export interface ScoreRow {
  submissionId: string;
  suite: SuiteKind;
  scenario: string;
  column: string;
  score: number;
  instances: number;
  answered: number;
  failed: number;
}

/** A GPU host as it last reported itself: the orchestrator decides from `lastSeen` whether it is gone. */
export interface HostRecord {
  hostId: string;
  track: string;
  slots: number;
  startedAt: string;
  lastSeen: string;
}

export interface ResultsStore extends TeamStore {
  /** Where the data lives, for messages: a file path, or a PostgreSQL URL without its password. */
  readonly location: string;
  close(): Awaitable<void>;

  /**
   * Registers a pipeline run in one transaction: a new run of a submission (another run id) starts
   * from a clean slate of stages, answers and scores; the same run registered again changes nothing.
   */
  registerRun(record: SubmissionRecord): Awaitable<void>;
  upsertSubmission(record: SubmissionRecord): Awaitable<void>;
  submission(submissionId: string): Awaitable<SubmissionRecord | undefined>;
  submissions(track?: string): Awaitable<SubmissionRecord[]>;

  recordStage(record: StageRecord): Awaitable<void>;
  stages(submissionId: string): Awaitable<StageRecord[]>;

  recordPipeline(record: PipelineRecord): Awaitable<void>;
  pipeline(submissionId: string): Awaitable<PipelineRecord | undefined>;

  /**
   * The answers of one submission to one suite, kept per suite version: a re-evaluation with a new
   * version starts empty and earlier answers stay as history. Without a version, reads see every
   * version and writes go to the unversioned set.
   */
  answerStore(submissionId: string, suite: SuiteKind, version?: string): AnswerStore;
  answerCount(submissionId: string, suite: SuiteKind): Awaitable<number>;

  /** The latest evaluation of a suite kind replaces its scores (a new suite version may have other scenarios). */
  saveScenarioScores(submissionId: string, suite: SuiteKind, results: ScoredScenario[]): Awaitable<void>;
  scenarioScores(submissionId?: string): Awaitable<ScoreRow[]>;

  /** A GPU host says it is alive (every few seconds while its workers run). */
  recordHostSeen(host: { hostId: string; track: string; slots: number; at: string }): Awaitable<void>;
  hosts(track?: string): Awaitable<HostRecord[]>;
}

/** Whether a host is alive at `now`: it recorded itself less than `goneAfterMs` ago. */
export function hostLiveness(host: HostRecord, now: number, goneAfterMs: number): { alive: boolean; silentForMs: number } {
  const silentForMs = Math.max(0, now - Date.parse(host.lastSeen));
  return { alive: silentForMs < goneAfterMs, silentForMs };
}

/** A PostgreSQL URL fit for messages and logs: the password replaced by ***. */
export function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'postgresql://(unparseable DATABASE_URL)';
  }
}
