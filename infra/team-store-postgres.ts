/**
 * The TeamStore (infra/team-store.ts) on the PostgreSQL results database: PostgresResultsDb extends it
 * (see team-store-sqlite.ts for the SQLite twin, whose behaviour and read order this mirrors). A
 * reservation locks the team's row (SELECT … FOR UPDATE) before it counts, so concurrent uploads of one
 * team, from any connection or machine, take turns and a quota cannot be overrun.
 */
import type pg from 'pg';
import { decideQuota, type QuotaDecision, type QuotaRule } from '../domain/teams/quota.js';
import type { StoredToken } from '../domain/teams/tokens.js';
import type { Row } from './results-rows.js';
import type { PipelineRecord } from './results-store.js';
import {
  choiceIntakesSql, choiceProblem, chooseFinalSql, conflictingIntakeSql, liveSessionTeam, newIntake, noTeam, sessionSql, settlementOf,
  toFinalChoice, toGrant, toIntake, toTeam, toToken, usageOf, usageSql,
} from './team-rows.js';
import { TeamExistsError, type FinalChoice, type IntakeRecord, type QuotaGrant, type ReserveRequest, type ReserveResult, type TeamRecord, type TeamStore } from './team-store.js';

export type Queryable = Pick<pg.Pool | pg.PoolClient, 'query'>;

/** Text is sorted bytewise, as SQLite does (see results-db-postgres.ts). */
const C = 'COLLATE "C"';

export abstract class PostgresTeamStore implements TeamStore {
  protected constructor(
    protected readonly pool: pg.Pool,
    readonly location: string,
  ) {}

  /** Runs `work` in one transaction on one connection; rolls back when it throws. */
  protected async transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  async createTeam(team: Omit<TeamRecord, 'disabled' | 'createdAt'> & { at: string }, token: StoredToken): Promise<void> {
    const { rowCount } = await this.pool.query(`INSERT INTO teams VALUES ($1, $2, 0, $3, $4, $5, $6, $7) ON CONFLICT (name) DO NOTHING`, [
      team.name,
      JSON.stringify(team.tracks),
      team.at,
      team.webhook,
      token.tokenId,
      token.salt,
      token.hash,
    ]);
    if (rowCount === 0) throw new TeamExistsError(team.name);
  }

  async team(name: string): Promise<TeamRecord | undefined> {
    const { rows } = await this.pool.query('SELECT * FROM teams WHERE name = $1', [name]);
    const row = rows[0] as Row | undefined;
    return row ? toTeam(row) : undefined;
  }

  async teams(): Promise<TeamRecord[]> {
    return ((await this.pool.query(`SELECT * FROM teams ORDER BY name ${C}`)).rows as Row[]).map(toTeam);
  }

  async replaceToken(name: string, token: StoredToken): Promise<void> {
    const { rowCount } = await this.pool.query('UPDATE teams SET token_id = $1, token_salt = $2, token_hash = $3 WHERE name = $4', [
      token.tokenId,
      token.salt,
      token.hash,
      name,
    ]);
    if (rowCount === 0) throw noTeam(name, this.location);
  }

  async setTeamDisabled(name: string, disabled: boolean): Promise<void> {
    const { rowCount } = await this.pool.query('UPDATE teams SET disabled = $1 WHERE name = $2', [disabled ? 1 : 0, name]);
    if (rowCount === 0) throw noTeam(name, this.location);
  }

  async tokenById(tokenId: string): Promise<{ team: string; token: StoredToken } | undefined> {
    const { rows } = await this.pool.query('SELECT * FROM teams WHERE token_id = $1', [tokenId]);
    const row = rows[0] as Row | undefined;
    return row ? { team: row.name as string, token: toToken(row) } : undefined;
  }

  async createSession(session: { idHash: string; team: string; tokenId: string; createdAt: string; expiresAt: string }): Promise<void> {
    await this.pool.query('INSERT INTO team_sessions VALUES ($1, $2, $3, $4, $5, NULL)', [
      session.idHash,
      session.team,
      session.tokenId,
      session.createdAt,
      session.expiresAt,
    ]);
  }

  async sessionTeam(idHash: string, at: string): Promise<string | undefined> {
    const { rows } = await this.pool.query(sessionSql('$1'), [idHash]);
    return liveSessionTeam(rows[0] as Row | undefined, at);
  }

  async endSession(idHash: string): Promise<void> {
    await this.pool.query('UPDATE team_sessions SET ended_at = $1 WHERE id_hash = $2 AND ended_at IS NULL', [new Date().toISOString(), idHash]);
  }

  async grantQuota(grant: QuotaGrant): Promise<void> {
    await this.pool.query('INSERT INTO quota_grants VALUES ($1, $2, $3, $4, $5, $6)', [grant.team, grant.phase, grant.amount, grant.grantedBy, grant.reason, grant.at]);
  }

  async grants(team: string, phase?: string): Promise<QuotaGrant[]> {
    // ctid: the insertion order of rows granted at the same instant, as SQLite's rowid gives it (rows are never updated).
    const { rows } =
      phase === undefined
        ? await this.pool.query(`SELECT * FROM quota_grants WHERE team = $1 ORDER BY granted_at ${C}, ctid`, [team])
        : await this.pool.query(`SELECT * FROM quota_grants WHERE team = $1 AND phase = $2 ORDER BY granted_at ${C}, ctid`, [team, phase]);
    return (rows as Row[]).map(toGrant);
  }

  async reserveIntake(request: ReserveRequest): Promise<ReserveResult> {
    return this.transaction(async (client): Promise<ReserveResult> => {
      const locked = await client.query('SELECT name FROM teams WHERE name = $1 FOR UPDATE', [request.team]);
      if (locked.rowCount === 0) throw noTeam(request.team, this.location);
      const existing = (await client.query(conflictingIntakeSql('$1'), [request.submissionId])).rows[0] as Row | undefined;
      if (existing) return { kind: 'conflict', existing: toIntake(existing) };
      const decision = await this.quotaStatusWith(client, request.team, request.track, request.phase, request.rule, request.at);
      if (!decision.allowed) return { kind: 'refused', decision };
      const intake = newIntake(request, decision.usesGrant);
      await client.query('INSERT INTO intakes VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, NULL, 0, NULL, NULL)', [
        intake.intakeId,
        intake.team,
        intake.track,
        intake.phase,
        intake.submissionId,
        intake.archiveKey,
        intake.archiveSha256,
        intake.acceptedAt,
        intake.usesGrant ? 1 : 0,
      ]);
      return { kind: 'accepted', intake, decision };
    });
  }

  async quotaStatus(team: string, track: string, phase: string, rule: QuotaRule, at: string): Promise<QuotaDecision> {
    return this.quotaStatusWith(this.pool, team, track, phase, rule, at);
  }

  private async quotaStatusWith(db: Queryable, team: string, track: string, phase: string, rule: QuotaRule, at: string): Promise<QuotaDecision> {
    const sql = usageSql('$1', '$2');
    const counted = (await db.query(sql.counted, [team, phase])).rows as Row[];
    const granted = ((await db.query(sql.granted, [team, phase])).rows[0] as Row).granted;
    return decideQuota(rule, usageOf(counted, track, granted), Date.parse(at));
  }

  async releaseIntake(intakeId: string, reason: string, at: string): Promise<void> {
    const { rowCount } = await this.pool.query(
      'UPDATE intakes SET refunded = 1, refund_reason = $1, settled_at = $2 WHERE intake_id = $3 AND settled_at IS NULL',
      [reason, at, intakeId],
    );
    if (rowCount === 0 && !(await this.intake(intakeId))) throw new Error(`no intake "${intakeId}" in ${this.location}; nothing to release`);
  }

  async intakes(team: string): Promise<IntakeRecord[]> {
    const { rows } = await this.pool.query(`SELECT * FROM intakes WHERE team = $1 ORDER BY accepted_at ${C}, intake_id ${C}`, [team]);
    return (rows as Row[]).map(toIntake);
  }

  async intake(intakeId: string): Promise<IntakeRecord | undefined> {
    const { rows } = await this.pool.query('SELECT * FROM intakes WHERE intake_id = $1', [intakeId]);
    const row = rows[0] as Row | undefined;
    return row ? toIntake(row) : undefined;
  }

  async chooseFinal(choice: FinalChoice): Promise<FinalChoice> {
    return this.transaction(async (client): Promise<FinalChoice> => {
      const rows = (await client.query(choiceIntakesSql('$1', '$2'), [choice.team, choice.submissionId])).rows as Row[];
      const problem = choiceProblem(rows, choice);
      if (problem) throw new Error(problem);
      await client.query(chooseFinalSql(['$1', '$2', '$3', '$4', '$5']), [choice.team, choice.track, choice.phase, choice.submissionId, choice.at]);
      return { ...choice };
    });
  }

  async finalChoice(team: string, track: string, phase: string): Promise<FinalChoice | undefined> {
    const { rows } = await this.pool.query('SELECT * FROM final_choices WHERE team = $1 AND track = $2 AND phase = $3', [team, track, phase]);
    const row = rows[0] as Row | undefined;
    return row ? toFinalChoice(row) : undefined;
  }

  async finalChoices(phase: string): Promise<FinalChoice[]> {
    const { rows } = await this.pool.query(`SELECT * FROM final_choices WHERE phase = $1 ORDER BY team ${C}, track ${C}`, [phase]);
    return (rows as Row[]).map(toFinalChoice);
  }

  /** Settles the submission's running intake when `record` ends its pipeline; `db` is the caller's transaction. */
  protected async settleIntakes(db: Queryable, record: PipelineRecord): Promise<void> {
    const settlement = settlementOf(record);
    if (!settlement) return;
    await db.query(
      `UPDATE intakes SET outcome = $1, failure_category = $2, refunded = $3, refund_reason = $4, settled_at = $5
       WHERE submission_id = $6 AND settled_at IS NULL`,
      [settlement.outcome, settlement.failureCategory, settlement.refunded, settlement.refundReason, settlement.settledAt, record.submissionId],
    );
  }
}
