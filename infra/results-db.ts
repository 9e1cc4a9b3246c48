/**
 * The results database (SQLite, WAL): submissions, stage outcomes, per-instance answers and scenario
 * scores. Every write is an upsert keyed by what it describes, so a retried activity never duplicates.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { AnswerStore, InstanceAnswer, ScenarioResult } from '../domain/harness/evaluate.js';
import { answerKey } from '../domain/harness/evaluate.js';
import type { FailureCategory, StageOutcome } from '../domain/failures.js';
import type { SuiteKind } from '../domain/harness/suite.js';

const SCHEMA = `
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
  limit_ms INTEGER,
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
  score REAL NOT NULL,
  error_kind TEXT,
  error TEXT,
  attempts INTEGER NOT NULL,
  latency_ms INTEGER NOT NULL,
  answered_at TEXT NOT NULL,
  PRIMARY KEY (submission_id, suite, suite_version, scenario, instance_id)
);
CREATE TABLE IF NOT EXISTS column_scores (
  submission_id TEXT NOT NULL,
  suite TEXT NOT NULL,
  scenario TEXT NOT NULL,
  metric_column TEXT NOT NULL,
  score REAL NOT NULL,
  instances INTEGER NOT NULL,
  answered INTEGER NOT NULL,
  failed INTEGER NOT NULL,
  PRIMARY KEY (submission_id, suite, scenario, metric_column)
);
CREATE TABLE IF NOT EXISTS pipelines (
  submission_id TEXT PRIMARY KEY,
  outcome TEXT NOT NULL,
  failure_category TEXT,
  reason TEXT,
  updated_at TEXT NOT NULL
);
`;

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
export type ScoredScenario = Pick<ScenarioResult, 'scenario' | 'column' | 'score' | 'instances' | 'answered' | 'failed'> & { columns?: ScenarioResult['columns'] };

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

export class ResultsDb {
  readonly db: Database.Database;

  constructor(readonly file: string) {
    if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true });
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('busy_timeout = 10000');
    this.db.pragma('synchronous = NORMAL');
    this.migrate();
    this.db.exec(SCHEMA);
  }

  /** Brings a database written by an earlier version up to date, keeping every row. */
  private migrate(): void {
    const tables = new Set((this.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((t) => t.name));
    if (tables.has('scenario_scores')) {
      // One row per scenario became one row per metric column (robustness and fairness columns).
      this.db.transaction(() => {
        this.db.exec(SCHEMA);
        this.db.exec('INSERT OR IGNORE INTO column_scores SELECT submission_id, suite, scenario, metric_column, score, instances, answered, failed FROM scenario_scores');
        this.db.exec('DROP TABLE scenario_scores');
      })();
    }
    const columns = this.db.prepare("SELECT name FROM pragma_table_info('answers')").all() as { name: string }[];
    if (columns.length > 0 && !columns.some((c) => c.name === 'suite_version')) {
      this.db.transaction(() => {
        this.db.exec('ALTER TABLE answers RENAME TO answers_before_versions');
        this.db.exec(SCHEMA);
        this.db.exec(`INSERT INTO answers SELECT submission_id, suite, '', scenario, instance_id, completion, score, error_kind, error, attempts, latency_ms, answered_at FROM answers_before_versions`);
        this.db.exec('DROP TABLE answers_before_versions');
      })();
    }
  }

  close(): void {
    this.db.close();
  }

  upsertSubmission(record: SubmissionRecord): void {
    this.db
      .prepare(
        `INSERT INTO submissions VALUES (@submissionId, @team, @name, @track, @directory, @workflowId, @runId, @submittedAt)
         ON CONFLICT(submission_id) DO UPDATE SET team=excluded.team, name=excluded.name, track=excluded.track,
           directory=excluded.directory, workflow_id=excluded.workflow_id, run_id=excluded.run_id,
           submitted_at=excluded.submitted_at`,
      )
      .run(record);
  }

  submission(submissionId: string): SubmissionRecord | undefined {
    return this.submissions().find((s) => s.submissionId === submissionId);
  }

  submissions(track?: string): SubmissionRecord[] {
    const rows = (track
      ? this.db.prepare('SELECT * FROM submissions WHERE track = ? ORDER BY submission_id').all(track)
      : this.db.prepare('SELECT * FROM submissions ORDER BY submission_id').all()) as Record<string, string>[];
    return rows.map((row) => ({
      submissionId: row.submission_id!,
      team: row.team!,
      name: row.name!,
      track: row.track!,
      directory: row.directory!,
      workflowId: row.workflow_id!,
      runId: row.run_id!,
      submittedAt: row.submitted_at!,
    }));
  }

  recordStage(record: StageRecord): void {
    this.db
      .prepare(
        `INSERT INTO stages VALUES (@submissionId, @stage, @outcome, @failureCategory, @reason, @startedAt, @endedAt, @limitMs, @details)
         ON CONFLICT(submission_id, stage) DO UPDATE SET outcome=excluded.outcome, failure_category=excluded.failure_category,
           reason=excluded.reason, started_at=COALESCE(excluded.started_at, stages.started_at), ended_at=excluded.ended_at,
           limit_ms=excluded.limit_ms, details=excluded.details`,
      )
      .run({ ...record, details: record.details === null ? null : JSON.stringify(record.details) });
  }

  stages(submissionId: string): StageRecord[] {
    const rows = this.db.prepare('SELECT * FROM stages WHERE submission_id = ? ORDER BY started_at, stage').all(submissionId) as Record<string, unknown>[];
    return rows.map((row) => ({
      submissionId: row.submission_id as string,
      stage: row.stage as string,
      outcome: row.outcome as StageOutcome,
      failureCategory: (row.failure_category as FailureCategory | null) ?? null,
      reason: (row.reason as string | null) ?? null,
      startedAt: (row.started_at as string | null) ?? null,
      endedAt: (row.ended_at as string | null) ?? null,
      limitMs: (row.limit_ms as number | null) ?? null,
      details: row.details ? (JSON.parse(row.details as string) as Record<string, unknown>) : null,
    }));
  }

  recordPipeline(record: PipelineRecord): void {
    this.db
      .prepare(
        `INSERT INTO pipelines VALUES (@submissionId, @outcome, @failureCategory, @reason, @updatedAt)
         ON CONFLICT(submission_id) DO UPDATE SET outcome=excluded.outcome, failure_category=excluded.failure_category,
           reason=excluded.reason, updated_at=excluded.updated_at`,
      )
      .run(record);
  }

  pipeline(submissionId: string): PipelineRecord | undefined {
    const row = this.db.prepare('SELECT * FROM pipelines WHERE submission_id = ?').get(submissionId) as Record<string, string | null> | undefined;
    if (!row) return undefined;
    return {
      submissionId: row.submission_id!,
      outcome: row.outcome as PipelineRecord['outcome'],
      failureCategory: (row.failure_category as FailureCategory | null) ?? null,
      reason: row.reason ?? null,
      updatedAt: row.updated_at!,
    };
  }

  /**
   * The answers of one submission to one suite. Answers are kept per suite version: a re-evaluation
   * with a new version of a suite starts empty, and earlier answers stay as history. Without a version,
   * reads see every version (counts, latencies) and writes go to the unversioned set.
   */
  answerStore(submissionId: string, suite: SuiteKind, version?: string): AnswerStore {
    const insert = this.db.prepare(
      `INSERT INTO answers VALUES (@submissionId, @suite, @version, @scenario, @instanceId, @completion, @score, @errorKind, @error, @attempts, @latencyMs, @answeredAt)
       ON CONFLICT(submission_id, suite, suite_version, scenario, instance_id) DO NOTHING`,
    );
    const select =
      version === undefined
        ? this.db.prepare('SELECT * FROM answers WHERE submission_id = ? AND suite = ?')
        : this.db.prepare('SELECT * FROM answers WHERE submission_id = ? AND suite = ? AND suite_version = ?');
    const rows = () => (version === undefined ? select.all(submissionId, suite) : select.all(submissionId, suite, version)) as Record<string, unknown>[];
    const toAnswer = (row: Record<string, unknown>): InstanceAnswer => ({
      scenario: row.scenario as string,
      instanceId: row.instance_id as string,
      completion: (row.completion as string | null) ?? null,
      score: row.score as number,
      errorKind: (row.error_kind as InstanceAnswer['errorKind']) ?? null,
      error: (row.error as string | null) ?? null,
      attempts: row.attempts as number,
      latencyMs: row.latency_ms as number,
    });
    return {
      answeredKeys: () => new Set(rows().map((r) => answerKey(r.scenario as string, r.instance_id as string))),
      save: (answer) => {
        insert.run({ submissionId, suite, version: version ?? '', ...answer, answeredAt: new Date().toISOString() });
      },
      all: () => rows().map(toAnswer),
    };
  }

  /** The latest evaluation of a suite kind replaces its scores (a new suite version may have other scenarios). */
  saveScenarioScores(submissionId: string, suite: SuiteKind, results: ScoredScenario[]): void {
    const insert = this.db.prepare(
      `INSERT INTO column_scores VALUES (@submissionId, @suite, @scenario, @column, @score, @instances, @answered, @failed)`,
    );
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM column_scores WHERE submission_id = ? AND suite = ?').run(submissionId, suite);
      for (const result of results) {
        for (const column of result.columns ?? [{ column: result.column, score: result.score }]) {
          insert.run({ submissionId, suite, scenario: result.scenario, column: column.column, score: column.score, instances: result.instances, answered: result.answered, failed: result.failed });
        }
      }
    })();
  }

  scenarioScores(submissionId?: string): ScoreRow[] {
    const rows = (submissionId
      ? this.db.prepare('SELECT * FROM column_scores WHERE submission_id = ?').all(submissionId)
      : this.db.prepare('SELECT * FROM column_scores').all()) as Record<string, unknown>[];
    return rows.map((row) => ({
      submissionId: row.submission_id as string,
      suite: row.suite as SuiteKind,
      scenario: row.scenario as string,
      column: row.metric_column as string,
      score: row.score as number,
      instances: row.instances as number,
      answered: row.answered as number,
      failed: row.failed as number,
    }));
  }

  /** Per-instance request counts are on the server side; this counts persisted answers. */
  answerCount(submissionId: string, suite: SuiteKind): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM answers WHERE submission_id = ? AND suite = ?').get(submissionId, suite) as { n: number }).n;
  }
}
