/**
 * The results database in PostgreSQL, used when DATABASE_URL is set (see results-store.ts for the
 * contract and infra/results-db.ts for the SQLite twin, whose schema, upserts and read order this
 * mirrors). GPU hosts on several machines write to one server; every write is an upsert keyed by what
 * it describes, so a retried activity never duplicates a row.
 */
import pg from 'pg';
import { answerKey, type AnswerStore, type InstanceAnswer, type StoredScore } from '../domain/harness/answers.js';
import type { SuiteKind } from '../domain/harness/suite.js';
import { redactedUrl } from './results-store.js';
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
import { PostgresTeamStore, type Queryable } from './team-store-postgres.js';
import type { HostRecord, PipelineRecord, ResultsStore, ScoreRow, ScoredScenario, StageRecord, SubmissionRecord } from './results-store.js';

/** The shared schema with PostgreSQL's names: SQLite's INTEGER is 64-bit (BIGINT), its REAL is a double. */
const SCHEMA = resultsSchema({ integer: 'BIGINT', real: 'DOUBLE PRECISION' });

/**
 * Any constant: CREATE TABLE IF NOT EXISTS is not safe against itself (two sessions may both see no
 * table and one fails on the catalog's unique index), so schema creation is serialized on this lock.
 */
const SCHEMA_LOCK = 7_305_114_214;

/** BIGINT comes back from pg as a string (it may exceed 2^53); the values here (counts, milliseconds) never do. */
const TYPES: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8 ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format ?? 'text')) as pg.CustomTypesConfig['getTypeParser'],
};

/**
 * PostgreSQL sorts NULLs last and text by the database's collation; SQLite sorts NULLs first and text
 * bytewise. The reads below say NULLS FIRST and COLLATE "C" so both stores list rows in the same order.
 */
const C = 'COLLATE "C"';

/** PostgreSQL text cannot hold NUL (SQLite can): a model may answer one, and the answer must still be kept. */
const storable = (text: string | null): string | null => (text === null ? null : text.replaceAll('\u0000', '\uFFFD'));

/** The teams, sessions, grants and intakes are PostgresTeamStore's (infra/team-store-postgres.ts), in this same database. */
export class PostgresResultsDb extends PostgresTeamStore implements ResultsStore {
  private constructor(pool: pg.Pool, location: string) {
    super(pool, location);
  }

  /** Connects and creates the schema; fails with the (redacted) URL named when the server cannot be reached. */
  static async connect(url: string): Promise<PostgresResultsDb> {
    const location = redactedUrl(url);
    const pool = new pg.Pool({ connectionString: url, types: TYPES, connectionTimeoutMillis: 10_000 });
    // An idle client losing its server (restart, network) must not crash the process; the next query reconnects.
    pool.on('error', () => {});
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      await pool.end().catch(() => {});
      throw new Error(
        `cannot connect to the results database at ${location}: ${withoutPassword(error instanceof Error ? error.message : String(error), url)}. ` +
          'Check DATABASE_URL (host, port, user, password, database) and that the PostgreSQL server runs and accepts connections from this machine.',
      );
    }
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
      await client.query(SCHEMA);
      for (const [name, type] of ANSWER_COLUMNS_ADDED) {
        await client.query(`ALTER TABLE answers ADD COLUMN IF NOT EXISTS ${name} ${type === 'real' ? 'DOUBLE PRECISION' : 'BIGINT'}`);
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      client.release();
      await pool.end().catch(() => {});
      // 42501 insufficient_privilege: since PostgreSQL 15 not every role may create tables in public.
      const hint =
        (error as { code?: unknown }).code === '42501' ? ' (the role in DATABASE_URL needs CREATE on the schema public, or to own the database)' : '';
      throw new Error(`cannot create the results schema in ${location}: ${error instanceof Error ? error.message : String(error)}${hint}`);
    }
    client.release();
    return new PostgresResultsDb(pool, location);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  async registerRun(record: SubmissionRecord): Promise<void> {
    await this.transaction(async (client) => {
      // The row lock makes two registrations of one submission take turns (SQLite's transactions are serial anyway).
      const { rows } = await client.query('SELECT run_id FROM submissions WHERE submission_id = $1 FOR UPDATE', [record.submissionId]);
      const previous = rows[0] as Row | undefined;
      if (previous?.run_id === record.runId) return;
      if (previous) {
        for (const table of ['stages', 'answers', 'column_scores']) await client.query(`DELETE FROM ${table} WHERE submission_id = $1`, [record.submissionId]);
      }
      await this.upsertSubmissionWith(client, record);
      await this.recordPipelineWith(client, {
        submissionId: record.submissionId,
        outcome: 'running',
        failureCategory: null,
        reason: null,
        updatedAt: record.submittedAt,
      });
    });
  }

  async recordHostSeen(host: { hostId: string; track: string; slots: number; at: string }): Promise<void> {
    await this.pool.query(
      `INSERT INTO hosts VALUES ($1, $2, $3, $4, $4)
       ON CONFLICT (host_id) DO UPDATE SET track = excluded.track, slots = excluded.slots, last_seen = excluded.last_seen`,
      [host.hostId, host.track, host.slots, host.at],
    );
  }

  async hosts(track?: string): Promise<HostRecord[]> {
    const { rows } = track
      ? await this.pool.query(`SELECT * FROM hosts WHERE track = $1 ORDER BY host_id ${C}`, [track])
      : await this.pool.query(`SELECT * FROM hosts ORDER BY host_id ${C}`);
    return (rows as Row[]).map(toHost);
  }

  async upsertSubmission(record: SubmissionRecord): Promise<void> {
    await this.upsertSubmissionWith(this.pool, record);
  }

  private async upsertSubmissionWith(db: Queryable, record: SubmissionRecord): Promise<void> {
    await db.query(
      `INSERT INTO submissions VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
       ON CONFLICT (submission_id) DO UPDATE SET team = excluded.team, name = excluded.name, track = excluded.track,
         directory = excluded.directory, workflow_id = excluded.workflow_id, run_id = excluded.run_id,
         submitted_at = excluded.submitted_at`,
      [record.submissionId, record.team, record.name, record.track, record.directory, record.workflowId, record.runId, record.submittedAt],
    );
  }

  async submission(submissionId: string): Promise<SubmissionRecord | undefined> {
    const { rows } = await this.pool.query('SELECT * FROM submissions WHERE submission_id = $1', [submissionId]);
    const row = rows[0] as Row | undefined;
    return row ? toSubmission(row) : undefined;
  }

  async submissions(track?: string): Promise<SubmissionRecord[]> {
    const { rows } = track
      ? await this.pool.query(`SELECT * FROM submissions WHERE track = $1 ORDER BY submission_id ${C}`, [track])
      : await this.pool.query(`SELECT * FROM submissions ORDER BY submission_id ${C}`);
    return (rows as Row[]).map(toSubmission);
  }

  async recordStage(record: StageRecord): Promise<void> {
    await this.pool.query(
      `INSERT INTO stages VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (submission_id, stage) DO UPDATE SET outcome = excluded.outcome, failure_category = excluded.failure_category,
         reason = excluded.reason, started_at = COALESCE(excluded.started_at, stages.started_at), ended_at = excluded.ended_at,
         limit_ms = excluded.limit_ms, details = excluded.details`,
      [
        record.submissionId,
        record.stage,
        record.outcome,
        record.failureCategory,
        storable(record.reason),
        record.startedAt,
        record.endedAt,
        record.limitMs,
        record.details === null ? null : JSON.stringify(record.details),
      ],
    );
  }

  async stages(submissionId: string): Promise<StageRecord[]> {
    const { rows } = await this.pool.query(`SELECT * FROM stages WHERE submission_id = $1 ORDER BY started_at ${C} NULLS FIRST, stage ${C}`, [submissionId]);
    return (rows as Row[]).map(toStage);
  }

  /** A pipeline's end settles its running intake (and refunds it when the failure is not the team's) in the same transaction. */
  async recordPipeline(record: PipelineRecord): Promise<void> {
    await this.transaction((client) => this.recordPipelineWith(client, record));
  }

  /** `db` is the caller's transaction: the intake is settled with the pipeline's outcome. */
  private async recordPipelineWith(db: Queryable, record: PipelineRecord): Promise<void> {
    await this.settleIntakes(db, record);
    await db.query(
      `INSERT INTO pipelines VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (submission_id) DO UPDATE SET outcome = excluded.outcome, failure_category = excluded.failure_category,
         reason = excluded.reason, updated_at = excluded.updated_at`,
      [record.submissionId, record.outcome, record.failureCategory, storable(record.reason), record.updatedAt],
    );
  }

  async pipeline(submissionId: string): Promise<PipelineRecord | undefined> {
    const { rows } = await this.pool.query('SELECT * FROM pipelines WHERE submission_id = $1', [submissionId]);
    const row = rows[0] as Row | undefined;
    return row ? toPipeline(row) : undefined;
  }

  /**
   * The answers of one submission to one suite, kept per suite version (see ResultsStore.answerStore).
   * Reads list answers in key order (version, scenario, instance), as SQLite's primary-key index does.
   */
  answerStore(submissionId: string, suite: SuiteKind, version?: string): AnswerStore {
    const where = version === undefined ? 'submission_id = $1 AND suite = $2' : 'submission_id = $1 AND suite = $2 AND suite_version = $3';
    const params: unknown[] = version === undefined ? [submissionId, suite] : [submissionId, suite, version];
    const order = version === undefined ? `ORDER BY suite_version ${C}, scenario ${C}, instance_id ${C}` : `ORDER BY scenario ${C}, instance_id ${C}`;
    const tally = tallySql(where);
    const next = params.length + 1;
    return {
      answeredKeys: async () => {
        const { rows } = await this.pool.query(`SELECT scenario, instance_id FROM answers WHERE ${where}`, params);
        return new Set((rows as Row[]).map((r) => answerKey(r.scenario as string, r.instance_id as string)));
      },
      save: async (answer) => {
        await this.pool.query(
          `INSERT INTO answers VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
           ON CONFLICT (submission_id, suite, suite_version, scenario, instance_id) DO NOTHING`,
          [
            submissionId,
            suite,
            version ?? '',
            answer.scenario,
            answer.instanceId,
            storable(answer.completion),
            answer.score,
            answer.errorKind,
            storable(answer.error),
            answer.attempts,
            answer.latencyMs,
            new Date().toISOString(),
            answer.logprob ?? null,
            answer.completionTokens ?? null,
            answer.serverMs ?? null,
          ],
        );
      },
      all: async () => ((await this.pool.query(`SELECT * FROM answers WHERE ${where} ${order}`, params)).rows as Row[]).map(toAnswer),
      tally: async () => {
        const [scenarios, failures] = await Promise.all([this.pool.query(tally.scenarios, params), this.pool.query(tally.failures, params)]);
        return toTally(scenarios.rows as Row[], failures.rows as Row[]);
      },
      scores: (scenario) =>
        this.cursor(
          `SELECT instance_id, score FROM answers WHERE ${where} AND scenario = $${next} ORDER BY (${VARIANT_SQL.base}) ${C}, instance_id ${C}`,
          [...params, scenario],
          (row): StoredScore => ({ instanceId: row.instance_id as string, score: Number(row.score) }),
        ),
      each: () => this.cursor(`SELECT * FROM answers WHERE ${where} ${order}`, params, (row): InstanceAnswer => toAnswer(row)),
    };
  }

  /**
   * The rows of one query, a page at a time, through a server-side cursor in a read-only transaction on
   * a connection of its own: a reader of every answer holds one page, not the result.
   */
  private async *cursor<T>(sql: string, params: unknown[], map: (row: Row) => T, pageSize = 1000): AsyncGenerator<T, void, undefined> {
    const client = await this.pool.connect();
    let inTransaction = false;
    let broken = false;
    try {
      await client.query('BEGIN READ ONLY');
      inTransaction = true;
      await client.query(`DECLARE answers_cursor NO SCROLL CURSOR FOR ${sql}`, params);
      for (;;) {
        const { rows } = await client.query(`FETCH ${pageSize} FROM answers_cursor`);
        for (const row of rows as Row[]) yield map(row);
        if (rows.length < pageSize) break;
      }
      await client.query('COMMIT');
      inTransaction = false;
    } catch (error) {
      broken = true; // the connection's state is unknown: it is closed, not reused
      throw error;
    } finally {
      // A reader that stopped early leaves the transaction open: roll it back before the connection is reused.
      if (inTransaction && !broken) await client.query('ROLLBACK').catch(() => (broken = true));
      client.release(broken);
    }
  }

  /** Per-instance request counts are on the server side; this counts persisted answers. */
  async answerCount(submissionId: string, suite: SuiteKind): Promise<number> {
    const { rows } = await this.pool.query('SELECT COUNT(*)::integer AS n FROM answers WHERE submission_id = $1 AND suite = $2', [submissionId, suite]);
    return (rows[0] as { n: number }).n;
  }

  /** The latest evaluation of a suite kind replaces its scores (a new suite version may have other scenarios). */
  async saveScenarioScores(submissionId: string, suite: SuiteKind, results: ScoredScenario[]): Promise<void> {
    await this.transaction(async (client) => {
      await client.query('DELETE FROM column_scores WHERE submission_id = $1 AND suite = $2', [submissionId, suite]);
      for (const result of results) {
        for (const column of result.columns ?? [{ column: result.column, score: result.score }]) {
          await client.query('INSERT INTO column_scores VALUES ($1, $2, $3, $4, $5, $6, $7, $8)', [
            submissionId,
            suite,
            result.scenario,
            column.column,
            column.score,
            result.instances,
            result.answered,
            result.failed,
          ]);
        }
      }
    });
  }

  /** In key order (submission, suite, scenario, column): what SQLite's index gives for one submission. */
  async scenarioScores(submissionId?: string): Promise<ScoreRow[]> {
    const order = `ORDER BY submission_id ${C}, suite ${C}, scenario ${C}, metric_column ${C}`;
    const { rows } = submissionId
      ? await this.pool.query(`SELECT * FROM column_scores WHERE submission_id = $1 ${order}`, [submissionId])
      : await this.pool.query(`SELECT * FROM column_scores ${order}`);
    return (rows as Row[]).map(toScore);
  }
}

/** An error message with the URL's password (as written and decoded) replaced by ***: pg may quote what it was given. */
function withoutPassword(message: string, url: string): string {
  let password: string;
  try {
    password = new URL(url).password;
  } catch {
    return message;
  }
  if (!password) return message;
  let decoded = password;
  try {
    decoded = decodeURIComponent(password);
  } catch {
    // a malformed %-escape: only the password as written can appear
  }
  return message.replaceAll(password, '***').replaceAll(decoded, '***');
}
