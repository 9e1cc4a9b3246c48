/**
 * The results database in SQLite (WAL), the default (see results-store.ts for the contract and the
 * PostgreSQL twin). Every write is an upsert keyed by what it describes, so a retried activity never
 * duplicates. Several processes of one machine may share the file (WAL, busy timeout).
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { answerKey, type AnswerStore, type AnswerTally, type InstanceAnswer, type StoredScore } from '../domain/harness/answers.js';
import type { SuiteKind } from '../domain/harness/suite.js';
import type { HostRecord, PipelineRecord, ResultsStore, ScoreRow, ScoredScenario, StageRecord, SubmissionRecord } from './results-store.js';
import {
  ANSWER_COLUMNS_ADDED,
  VARIANT_SQL,
  resultsSchema,
  tallySql,
  toAnswer,
  toTally,
  toHost,
  toPipeline,
  toScore,
  toStage,
  toSubmission,
  type Row,
} from './results-rows.js';
import { SqliteTeamStore } from './team-store-sqlite.js';

/** The SQLite store answers synchronously: callers holding this class (tests, the bench) need no await. */
export interface SyncAnswerStore extends AnswerStore {
  answeredKeys(): Set<string>;
  save(answer: InstanceAnswer): void;
  all(): InstanceAnswer[];
  tally(): AnswerTally;
  /** better-sqlite3 iterators: consume them without awaiting in between (the connection is busy until they end) */
  scores(scenario: string): IterableIterator<StoredScore>;
  each(): IterableIterator<InstanceAnswer>;
}

const SCHEMA = resultsSchema({ integer: 'INTEGER', real: 'REAL' });

export type { HostRecord, PipelineRecord, ScoreRow, ScoredScenario, StageRecord, SubmissionRecord } from './results-store.js';

/** Opens (creating its folder) the file with the settings every connection uses: WAL, a busy timeout for the other processes. */
function openDatabase(file: string): Database.Database {
  if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('busy_timeout = 10000');
  db.pragma('synchronous = NORMAL');
  return db;
}

/** The teams, sessions, grants and intakes are SqliteTeamStore's (infra/team-store-sqlite.ts), on this same file. */
export class ResultsDb extends SqliteTeamStore implements ResultsStore {
  constructor(readonly file: string) {
    super(openDatabase(file), file);
    this.migrate();
    this.db.exec(SCHEMA);
  }

  /** Brings a database written by an earlier version up to date, keeping every row (tables added later, e.g. the teams', come with SCHEMA). */
  private migrate(): void {
    const tables = new Set((this.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((t) => t.name));
    if (tables.has('scenario_scores')) {
      // One row per scenario became one row per metric column (robustness and fairness columns).
      this.db.transaction(() => {
        this.db.exec(SCHEMA);
        this.db.exec(
          'INSERT OR IGNORE INTO column_scores SELECT submission_id, suite, scenario, metric_column, score, instances, answered, failed FROM scenario_scores',
        );
        this.db.exec('DROP TABLE scenario_scores');
      })();
    }
    const columns = this.db.prepare("SELECT name FROM pragma_table_info('answers')").all() as { name: string }[];
    if (columns.length > 0 && columns.some((c) => c.name === 'suite_version')) {
      for (const [name, type] of ANSWER_COLUMNS_ADDED) {
        if (!columns.some((c) => c.name === name)) this.db.exec(`ALTER TABLE answers ADD COLUMN ${name} ${type === 'real' ? 'REAL' : 'INTEGER'}`);
      }
    }
    if (columns.length > 0 && !columns.some((c) => c.name === 'suite_version')) {
      this.db.transaction(() => {
        this.db.exec('ALTER TABLE answers RENAME TO answers_before_versions');
        this.db.exec(SCHEMA);
        this.db.exec(
          `INSERT INTO answers SELECT submission_id, suite, '', scenario, instance_id, completion, score, error_kind, error, attempts, latency_ms, ` +
            `answered_at, NULL, NULL, NULL FROM answers_before_versions`,
        );
        this.db.exec('DROP TABLE answers_before_versions');
      })();
    }
  }

  close(): void {
    this.db.close();
  }

  registerRun(record: SubmissionRecord): void {
    this.db.transaction(() => {
      const previous = this.submission(record.submissionId);
      if (previous?.runId === record.runId) return;
      if (previous) {
        for (const table of ['stages', 'answers', 'column_scores']) this.db.prepare(`DELETE FROM ${table} WHERE submission_id = ?`).run(record.submissionId);
      }
      this.upsertSubmission(record);
      this.recordPipeline({ submissionId: record.submissionId, outcome: 'running', failureCategory: null, reason: null, updatedAt: record.submittedAt });
    })();
  }

  recordHostSeen(host: { hostId: string; track: string; slots: number; at: string }): void {
    this.db
      .prepare(
        `INSERT INTO hosts VALUES (@hostId, @track, @slots, @at, @at)
         ON CONFLICT(host_id) DO UPDATE SET track=excluded.track, slots=excluded.slots, last_seen=excluded.last_seen`,
      )
      .run(host);
  }

  hosts(track?: string): HostRecord[] {
    const rows = (
      track ? this.db.prepare('SELECT * FROM hosts WHERE track = ? ORDER BY host_id').all(track) : this.db.prepare('SELECT * FROM hosts ORDER BY host_id').all()
    ) as Record<string, string | number>[];
    return rows.map(toHost);
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
    const rows = (
      track
        ? this.db.prepare('SELECT * FROM submissions WHERE track = ? ORDER BY submission_id').all(track)
        : this.db.prepare('SELECT * FROM submissions ORDER BY submission_id').all()
    ) as Record<string, string>[];
    return rows.map(toSubmission);
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
    return rows.map(toStage);
  }

  /** A pipeline's end settles its running intake (and refunds it when the failure is not the team's) in the same transaction. */
  recordPipeline(record: PipelineRecord): void {
    this.db.transaction(() => {
      this.db
        .prepare(
          `INSERT INTO pipelines VALUES (@submissionId, @outcome, @failureCategory, @reason, @updatedAt)
           ON CONFLICT(submission_id) DO UPDATE SET outcome=excluded.outcome, failure_category=excluded.failure_category,
             reason=excluded.reason, updated_at=excluded.updated_at`,
        )
        .run(record);
      this.settleIntakes(record);
    })();
  }

  pipeline(submissionId: string): PipelineRecord | undefined {
    const row = this.db.prepare('SELECT * FROM pipelines WHERE submission_id = ?').get(submissionId) as Row | undefined;
    return row ? toPipeline(row) : undefined;
  }

  /**
   * The answers of one submission to one suite. Answers are kept per suite version: a re-evaluation
   * with a new version of a suite starts empty, and earlier answers stay as history. Without a version,
   * reads see every version (counts, latencies) and writes go to the unversioned set.
   */
  answerStore(submissionId: string, suite: SuiteKind, version?: string): SyncAnswerStore {
    const insert = this.db.prepare(
      `INSERT INTO answers VALUES (@submissionId, @suite, @version, @scenario, @instanceId, @completion, @score, @errorKind, @error, @attempts, @latencyMs, @answeredAt,
         @logprob, @completionTokens, @serverMs)
       ON CONFLICT(submission_id, suite, suite_version, scenario, instance_id) DO NOTHING`,
    );
    // Without a version the reads see every version (the same filter as PostgreSQL's).
    const where =
      version === undefined
        ? 'submission_id = @submissionId AND suite = @suite'
        : 'submission_id = @submissionId AND suite = @suite AND suite_version = @version';
    const params = version === undefined ? { submissionId, suite } : { submissionId, suite, version };
    const select = this.db.prepare(`SELECT * FROM answers WHERE ${where}`);
    const keys = this.db.prepare(`SELECT scenario, instance_id FROM answers WHERE ${where}`).raw();
    const tally = tallySql(where);
    const tallyScenarios = this.db.prepare(tally.scenarios);
    const tallyFailures = this.db.prepare(tally.failures);
    const scores = this.db
      .prepare(`SELECT instance_id, score FROM answers WHERE ${where} AND scenario = @scenario ORDER BY ${VARIANT_SQL.base}, instance_id`)
      .raw();
    return {
      answeredKeys: () => {
        const answered = new Set<string>();
        for (const [scenario, instanceId] of keys.iterate(params) as IterableIterator<[string, string]>) answered.add(answerKey(scenario, instanceId));
        return answered;
      },
      save: (answer) => {
        insert.run({
          submissionId,
          suite,
          version: version ?? '',
          logprob: null,
          completionTokens: null,
          serverMs: null,
          ...answer,
          answeredAt: new Date().toISOString(),
        });
      },
      all: () => (select.all(params) as Row[]).map(toAnswer),
      tally: () => toTally(tallyScenarios.all(params) as Row[], tallyFailures.all(params) as Row[]),
      scores: function* (scenario) {
        for (const [instanceId, score] of scores.iterate({ ...params, scenario }) as IterableIterator<[string, number]>) yield { instanceId, score };
      },
      each: function* () {
        for (const row of select.iterate(params) as IterableIterator<Row>) yield toAnswer(row);
      },
    };
  }

  /** The latest evaluation of a suite kind replaces its scores (a new suite version may have other scenarios). */
  saveScenarioScores(submissionId: string, suite: SuiteKind, results: ScoredScenario[]): void {
    const insert = this.db.prepare(`INSERT INTO column_scores VALUES (@submissionId, @suite, @scenario, @column, @score, @instances, @answered, @failed)`);
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM column_scores WHERE submission_id = ? AND suite = ?').run(submissionId, suite);
      for (const result of results) {
        for (const column of result.columns ?? [{ column: result.column, score: result.score }]) {
          insert.run({
            submissionId,
            suite,
            scenario: result.scenario,
            column: column.column,
            score: column.score,
            instances: result.instances,
            answered: result.answered,
            failed: result.failed,
          });
        }
      }
    })();
  }

  scenarioScores(submissionId?: string): ScoreRow[] {
    const rows = (
      submissionId
        ? this.db.prepare('SELECT * FROM column_scores WHERE submission_id = ?').all(submissionId)
        : this.db.prepare('SELECT * FROM column_scores').all()
    ) as Record<string, unknown>[];
    return rows.map(toScore);
  }

  /** Per-instance request counts are on the server side; this counts persisted answers. */
  answerCount(submissionId: string, suite: SuiteKind): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM answers WHERE submission_id = ? AND suite = ?').get(submissionId, suite) as { n: number }).n;
  }
}
