/**
 * What the two results stores share: the schema (the same tables and columns; only the integer and real
 * types are named differently) and the mapping of a row to its record, so SQLite and PostgreSQL cannot
 * drift apart.
 */
import { VARIANT_SUFFIXES, type AnswerTally, type InstanceAnswer } from '../domain/harness/answers.js';
import type { RequestFailureKind } from '../domain/harness/contract.js';
import type { FailureCategory, StageOutcome } from '../domain/failures.js';
import type { SuiteKind } from '../domain/harness/suite.js';
import type { HostRecord, PipelineRecord, ScoreRow, StageRecord, SubmissionRecord } from './results-store.js';

/** The schema, with each engine's names for a 64-bit integer and a double. */
export const resultsSchema = (types: { integer: string; real: string }): string => `
CREATE TABLE IF NOT EXISTS submissions (
  submission_id TEXT PRIMARY KEY,
  team TEXT NOT NULL,
  name TEXT NOT NULL,
  track TEXT NOT NULL,
  directory TEXT NOT NULL,
  workflow_id TEXT NOT NULL,
  run_id TEXT NOT NULL,
  submitted_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS stages (
  submission_id TEXT NOT NULL,
  stage TEXT NOT NULL,
  outcome TEXT NOT NULL,
  failure_category TEXT,
  reason TEXT,
  started_at TEXT,
  ended_at TEXT,
  limit_ms ${types.integer},
  details TEXT,
  PRIMARY KEY (submission_id, stage)
);
CREATE TABLE IF NOT EXISTS answers (
  submission_id TEXT NOT NULL,
  suite TEXT NOT NULL,
  suite_version TEXT NOT NULL,
  scenario TEXT NOT NULL,
  instance_id TEXT NOT NULL,
  completion TEXT,
  score ${types.real} NOT NULL,
  error_kind TEXT,
  error TEXT,
  attempts ${types.integer} NOT NULL,
  latency_ms ${types.integer} NOT NULL,
  answered_at TEXT NOT NULL,
  logprob ${types.real},
  completion_tokens ${types.integer},
  server_ms ${types.real},
  PRIMARY KEY (submission_id, suite, suite_version, scenario, instance_id)
);
CREATE TABLE IF NOT EXISTS column_scores (
  submission_id TEXT NOT NULL,
  suite TEXT NOT NULL,
  scenario TEXT NOT NULL,
  metric_column TEXT NOT NULL,
  score ${types.real} NOT NULL,
  instances ${types.integer} NOT NULL,
  answered ${types.integer} NOT NULL,
  failed ${types.integer} NOT NULL,
  PRIMARY KEY (submission_id, suite, scenario, metric_column)
);
CREATE TABLE IF NOT EXISTS hosts (
  host_id TEXT PRIMARY KEY,
  track TEXT NOT NULL,
  slots ${types.integer} NOT NULL,
  started_at TEXT NOT NULL,
  last_seen TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS pipelines (
  submission_id TEXT PRIMARY KEY,
  outcome TEXT NOT NULL,
  failure_category TEXT,
  reason TEXT,
  updated_at TEXT NOT NULL
);
${teamSchema(types)}`;

/**
 * The participants' door (infra/team-store.ts): teams with their current token (id, salt, scrypt hash),
 * browser sessions, operators' quota grants, accepted uploads and each team's chosen final submission per
 * track and phase. Booleans are 0/1 integers in both
 * engines; tracks are a JSON array. New tables only, so a store of an earlier version gains them on open.
 */
const teamSchema = (types: { integer: string }): string => `
CREATE TABLE IF NOT EXISTS teams (
  name TEXT PRIMARY KEY,
  tracks TEXT NOT NULL,
  disabled ${types.integer} NOT NULL,
  created_at TEXT NOT NULL,
  webhook TEXT,
  token_id TEXT NOT NULL UNIQUE,
  token_salt TEXT NOT NULL,
  token_hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS team_sessions (
  id_hash TEXT PRIMARY KEY,
  team TEXT NOT NULL,
  token_id TEXT NOT NULL,
  created_at TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  ended_at TEXT
);
CREATE TABLE IF NOT EXISTS quota_grants (
  team TEXT NOT NULL,
  phase TEXT NOT NULL,
  amount ${types.integer} NOT NULL,
  granted_by TEXT NOT NULL,
  reason TEXT NOT NULL,
  granted_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS quota_grants_by_team ON quota_grants (team, phase);
CREATE TABLE IF NOT EXISTS intakes (
  intake_id TEXT PRIMARY KEY,
  team TEXT NOT NULL,
  track TEXT NOT NULL,
  phase TEXT NOT NULL,
  submission_id TEXT NOT NULL,
  archive_key TEXT NOT NULL,
  archive_sha256 TEXT NOT NULL,
  accepted_at TEXT NOT NULL,
  uses_grant ${types.integer} NOT NULL,
  outcome TEXT,
  failure_category TEXT,
  refunded ${types.integer} NOT NULL,
  refund_reason TEXT,
  settled_at TEXT
);
CREATE INDEX IF NOT EXISTS intakes_by_team ON intakes (team, phase);
CREATE INDEX IF NOT EXISTS intakes_by_submission ON intakes (submission_id);
CREATE TABLE IF NOT EXISTS final_choices (
  team TEXT NOT NULL,
  track TEXT NOT NULL,
  phase TEXT NOT NULL,
  submission_id TEXT NOT NULL,
  chosen_at TEXT NOT NULL,
  PRIMARY KEY (team, track, phase)
);
`;

export type Row = Record<string, unknown>;

export const toSubmission = (row: Row): SubmissionRecord => ({
  submissionId: row.submission_id as string,
  team: row.team as string,
  name: row.name as string,
  track: row.track as string,
  directory: row.directory as string,
  workflowId: row.workflow_id as string,
  runId: row.run_id as string,
  submittedAt: row.submitted_at as string,
});

export const toStage = (row: Row): StageRecord => ({
  submissionId: row.submission_id as string,
  stage: row.stage as string,
  outcome: row.outcome as StageOutcome,
  failureCategory: (row.failure_category as FailureCategory | null) ?? null,
  reason: (row.reason as string | null) ?? null,
  startedAt: (row.started_at as string | null) ?? null,
  endedAt: (row.ended_at as string | null) ?? null,
  limitMs: (row.limit_ms as number | null) ?? null,
  details: row.details ? (JSON.parse(row.details as string) as Record<string, unknown>) : null,
});

export const toPipeline = (row: Row): PipelineRecord => ({
  submissionId: row.submission_id as string,
  outcome: row.outcome as PipelineRecord['outcome'],
  failureCategory: (row.failure_category as FailureCategory | null) ?? null,
  reason: (row.reason as string | null) ?? null,
  updatedAt: row.updated_at as string,
});

export const toAnswer = (row: Row): InstanceAnswer => ({
  scenario: row.scenario as string,
  instanceId: row.instance_id as string,
  completion: (row.completion as string | null) ?? null,
  score: row.score as number,
  errorKind: (row.error_kind as InstanceAnswer['errorKind']) ?? null,
  error: (row.error as string | null) ?? null,
  attempts: row.attempts as number,
  latencyMs: row.latency_ms as number,
  // Answers stored before these columns existed (or failed ones) have none: the fields stay absent.
  ...(row.logprob !== null && row.logprob !== undefined ? { logprob: Number(row.logprob) } : {}),
  ...(row.completion_tokens !== null && row.completion_tokens !== undefined ? { completionTokens: Number(row.completion_tokens) } : {}),
  ...(row.server_ms !== null && row.server_ms !== undefined ? { serverMs: Number(row.server_ms) } : {}),
});

/** Columns added to `answers` after its first release, for stores created before them (oldest first). */
export const ANSWER_COLUMNS_ADDED: readonly (readonly [name: string, type: 'integer' | 'real'])[] = [
  ['logprob', 'real'],
  ['completion_tokens', 'integer'],
  ['server_ms', 'real'],
];

export const toScore = (row: Row): ScoreRow => ({
  submissionId: row.submission_id as string,
  suite: row.suite as SuiteKind,
  scenario: row.scenario as string,
  column: row.metric_column as string,
  score: row.score as number,
  instances: row.instances as number,
  answered: row.answered as number,
  failed: row.failed as number,
});

export const toHost = (row: Row): HostRecord => ({
  hostId: row.host_id as string,
  track: row.track as string,
  slots: row.slots as number,
  startedAt: row.started_at as string,
  lastSeen: row.last_seen as string,
});

/**
 * SQL (the same in SQLite and PostgreSQL) that tells an original instance's answer from a perturbed
 * variant's (`<id>~<perturbation>`, see domain/harness/answers.ts) and gives a variant's original id:
 * what the stores aggregate and group by, so scores are summed where the answers are.
 */
export const VARIANT_SQL: { isOriginal: string; base: string } = (() => {
  const column = 'instance_id';
  const matches = VARIANT_SUFFIXES.map(({ suffix }) => ({
    length: suffix.length,
    sql: `(length(${column}) > ${suffix.length} AND substr(${column}, length(${column}) - ${suffix.length - 1}) = '${suffix.replaceAll("'", "''")}')`,
  }));
  return {
    isOriginal: `NOT (${matches.map((m) => m.sql).join(' OR ')})`,
    base: `CASE ${matches.map((m) => `WHEN ${m.sql} THEN substr(${column}, 1, length(${column}) - ${m.length})`).join(' ')} ELSE ${column} END`,
  };
})();

/** The per-scenario tally of answers matching `where` (see AnswerTally). */
export const tallySql = (where: string): { scenarios: string; failures: string } => ({
  scenarios: `SELECT scenario, CAST(COUNT(*) AS INTEGER) AS answered, CAST(SUM(CASE WHEN completion IS NULL THEN 1 ELSE 0 END) AS INTEGER) AS failed,
    SUM(CASE WHEN ${VARIANT_SQL.isOriginal} THEN score ELSE 0 END) AS original_score_sum FROM answers WHERE ${where} GROUP BY scenario`,
  failures: `SELECT error_kind, CAST(COUNT(*) AS INTEGER) AS n FROM answers WHERE ${where} AND error_kind IS NOT NULL GROUP BY error_kind`,
});

/** Rows of tallySql's two queries as an AnswerTally. */
export function toTally(scenarios: readonly Row[], failures: readonly Row[]): AnswerTally {
  const tally: AnswerTally = { scenarios: new Map(), failuresByKind: {} };
  for (const row of scenarios) {
    tally.scenarios.set(row.scenario as string, {
      answered: Number(row.answered),
      failed: Number(row.failed),
      originalScoreSum: Number(row.original_score_sum ?? 0),
    });
  }
  for (const row of failures) tally.failuresByKind[row.error_kind as RequestFailureKind] = Number(row.n);
  return tally;
}
