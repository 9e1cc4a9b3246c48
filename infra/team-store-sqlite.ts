/**
 * The TeamStore (infra/team-store.ts) on the SQLite results database: ResultsDb extends it, so teams,
 * sessions, grants and intakes live in the results file and a pipeline's end settles its intake in the
 * same transaction. A reservation counts and inserts inside BEGIN IMMEDIATE: the write lock is taken
 * before the count, so processes sharing the file take turns and a quota cannot be overrun.
 */
import type Database from 'better-sqlite3';
import { decideQuota, type QuotaDecision, type QuotaRule } from '../domain/teams/quota.js';
import type { StoredToken } from '../domain/teams/tokens.js';
import type { Row } from './results-rows.js';
import type { PipelineRecord } from './results-store.js';
import {
  choiceIntakesSql, choiceProblem, chooseFinalSql, conflictingIntakeSql, liveSessionTeam, newIntake, noTeam, sessionSql, settlementOf,
  toFinalChoice, toGrant, toIntake, toTeam, toToken, usageOf, usageSql,
} from './team-rows.js';
import { TeamExistsError, type FinalChoice, type IntakeRecord, type QuotaGrant, type ReserveRequest, type ReserveResult, type TeamRecord, type TeamStore } from './team-store.js';

export abstract class SqliteTeamStore implements TeamStore {
  protected constructor(
    readonly db: Database.Database,
    readonly location: string,
  ) {}

  createTeam(team: Omit<TeamRecord, 'disabled' | 'createdAt'> & { at: string }, token: StoredToken): void {
    const { changes } = this.db
      .prepare(`INSERT INTO teams VALUES (?, ?, 0, ?, ?, ?, ?, ?) ON CONFLICT(name) DO NOTHING`)
      .run(team.name, JSON.stringify(team.tracks), team.at, team.webhook, token.tokenId, token.salt, token.hash);
    if (changes === 0) throw new TeamExistsError(team.name);
  }

  team(name: string): TeamRecord | undefined {
    const row = this.db.prepare('SELECT * FROM teams WHERE name = ?').get(name) as Row | undefined;
    return row ? toTeam(row) : undefined;
  }

  teams(): TeamRecord[] {
    return (this.db.prepare('SELECT * FROM teams ORDER BY name').all() as Row[]).map(toTeam);
  }

  replaceToken(name: string, token: StoredToken): void {
    const { changes } = this.db
      .prepare('UPDATE teams SET token_id = ?, token_salt = ?, token_hash = ? WHERE name = ?')
      .run(token.tokenId, token.salt, token.hash, name);
    if (changes === 0) throw noTeam(name, this.location);
  }

  setTeamDisabled(name: string, disabled: boolean): void {
    const { changes } = this.db.prepare('UPDATE teams SET disabled = ? WHERE name = ?').run(disabled ? 1 : 0, name);
    if (changes === 0) throw noTeam(name, this.location);
  }

  tokenById(tokenId: string): { team: string; token: StoredToken } | undefined {
    const row = this.db.prepare('SELECT * FROM teams WHERE token_id = ?').get(tokenId) as Row | undefined;
    return row ? { team: row.name as string, token: toToken(row) } : undefined;
  }

  createSession(session: { idHash: string; team: string; tokenId: string; createdAt: string; expiresAt: string }): void {
    this.db
      .prepare('INSERT INTO team_sessions VALUES (?, ?, ?, ?, ?, NULL)')
      .run(session.idHash, session.team, session.tokenId, session.createdAt, session.expiresAt);
  }

  sessionTeam(idHash: string, at: string): string | undefined {
    const row = this.db.prepare(sessionSql('?')).get(idHash) as Row | undefined;
    return liveSessionTeam(row, at);
  }

  endSession(idHash: string): void {
    this.db.prepare('UPDATE team_sessions SET ended_at = ? WHERE id_hash = ? AND ended_at IS NULL').run(new Date().toISOString(), idHash);
  }

  grantQuota(grant: QuotaGrant): void {
    this.db.prepare('INSERT INTO quota_grants VALUES (?, ?, ?, ?, ?, ?)').run(grant.team, grant.phase, grant.amount, grant.grantedBy, grant.reason, grant.at);
  }

  grants(team: string, phase?: string): QuotaGrant[] {
    const rows =
      phase === undefined
        ? this.db.prepare('SELECT * FROM quota_grants WHERE team = ? ORDER BY granted_at, rowid').all(team)
        : this.db.prepare('SELECT * FROM quota_grants WHERE team = ? AND phase = ? ORDER BY granted_at, rowid').all(team, phase);
    return (rows as Row[]).map(toGrant);
  }

  reserveIntake(request: ReserveRequest): ReserveResult {
    return this.db
      .transaction((): ReserveResult => {
        if (!this.team(request.team)) throw noTeam(request.team, this.location);
        const existing = this.db.prepare(conflictingIntakeSql('?')).get(request.submissionId) as Row | undefined;
        if (existing) return { kind: 'conflict', existing: toIntake(existing) };
        const decision = this.quotaStatus(request.team, request.track, request.phase, request.rule, request.at);
        if (!decision.allowed) return { kind: 'refused', decision };
        const intake = newIntake(request, decision.usesGrant);
        this.db
          .prepare('INSERT INTO intakes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, 0, NULL, NULL)')
          .run(
            intake.intakeId,
            intake.team,
            intake.track,
            intake.phase,
            intake.submissionId,
            intake.archiveKey,
            intake.archiveSha256,
            intake.acceptedAt,
            intake.usesGrant ? 1 : 0,
          );
        return { kind: 'accepted', intake, decision };
      })
      .immediate();
  }

  quotaStatus(team: string, track: string, phase: string, rule: QuotaRule, at: string): QuotaDecision {
    const sql = usageSql('?', '?');
    const counted = this.db.prepare(sql.counted).all(team, phase) as Row[];
    const granted = (this.db.prepare(sql.granted).get(team, phase) as Row).granted;
    return decideQuota(rule, usageOf(counted, track, granted), Date.parse(at));
  }

  releaseIntake(intakeId: string, reason: string, at: string): void {
    const { changes } = this.db
      .prepare('UPDATE intakes SET refunded = 1, refund_reason = ?, settled_at = ? WHERE intake_id = ? AND settled_at IS NULL')
      .run(reason, at, intakeId);
    if (changes === 0 && !this.intake(intakeId)) throw new Error(`no intake "${intakeId}" in ${this.location}; nothing to release`);
  }

  intakes(team: string): IntakeRecord[] {
    return (this.db.prepare('SELECT * FROM intakes WHERE team = ? ORDER BY accepted_at, intake_id').all(team) as Row[]).map(toIntake);
  }

  intake(intakeId: string): IntakeRecord | undefined {
    const row = this.db.prepare('SELECT * FROM intakes WHERE intake_id = ?').get(intakeId) as Row | undefined;
    return row ? toIntake(row) : undefined;
  }

  chooseFinal(choice: FinalChoice): FinalChoice {
    return this.db
      .transaction((): FinalChoice => {
        const problem = choiceProblem(this.db.prepare(choiceIntakesSql('?', '?')).all(choice.team, choice.submissionId) as Row[], choice);
        if (problem) throw new Error(problem);
        this.db.prepare(chooseFinalSql(['?', '?', '?', '?', '?'])).run(choice.team, choice.track, choice.phase, choice.submissionId, choice.at);
        return { ...choice };
      })
      .immediate();
  }

  finalChoice(team: string, track: string, phase: string): FinalChoice | undefined {
    const row = this.db.prepare('SELECT * FROM final_choices WHERE team = ? AND track = ? AND phase = ?').get(team, track, phase) as Row | undefined;
    return row ? toFinalChoice(row) : undefined;
  }

  finalChoices(phase: string): FinalChoice[] {
    return (this.db.prepare('SELECT * FROM final_choices WHERE phase = ? ORDER BY team, track').all(phase) as Row[]).map(toFinalChoice);
  }

  /** Settles the submission's running intake when `record` ends its pipeline; the caller holds the transaction. */
  protected settleIntakes(record: PipelineRecord): void {
    const settlement = settlementOf(record);
    if (!settlement) return;
    this.db
      .prepare(
        `UPDATE intakes SET outcome = @outcome, failure_category = @failureCategory, refunded = @refunded, refund_reason = @refundReason, settled_at = @settledAt
         WHERE submission_id = @submissionId AND settled_at IS NULL`,
      )
      .run({ ...settlement, submissionId: record.submissionId });
  }
}

