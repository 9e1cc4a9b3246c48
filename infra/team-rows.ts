/**
 * What the two TeamStore implementations share besides the schema (results-rows.ts): the mapping of a row
 * to its record, how a pipeline's end settles its intake (and whether it is refunded), and how the rows of
 * a team's intakes and grants become the usage decideQuota weighs. Both stores call these inside their
 * transactions, so SQLite and PostgreSQL decide alike.
 */
import { FAILURE_CATEGORIES, type FailureCategory } from '../domain/failures.js';
import type { QuotaUsage } from '../domain/teams/quota.js';
import type { StoredToken } from '../domain/teams/tokens.js';
import type { Row } from './results-rows.js';
import type { PipelineRecord } from './results-store.js';
import type { FinalChoice, IntakeRecord, QuotaGrant, ReserveRequest, TeamRecord } from './team-store.js';

export const toTeam = (row: Row): TeamRecord => ({
  name: row.name as string,
  tracks: JSON.parse(row.tracks as string) as string[],
  disabled: Number(row.disabled) === 1,
  createdAt: row.created_at as string,
  webhook: (row.webhook as string | null) ?? null,
});

export const toToken = (row: Row): StoredToken => ({
  tokenId: row.token_id as string,
  salt: row.token_salt as string,
  hash: row.token_hash as string,
});

export const toGrant = (row: Row): QuotaGrant => ({
  team: row.team as string,
  phase: row.phase as string,
  amount: Number(row.amount),
  grantedBy: row.granted_by as string,
  reason: row.reason as string,
  at: row.granted_at as string,
});

export const toIntake = (row: Row): IntakeRecord => ({
  intakeId: row.intake_id as string,
  team: row.team as string,
  track: row.track as string,
  phase: row.phase as string,
  submissionId: row.submission_id as string,
  archiveKey: row.archive_key as string,
  archiveSha256: row.archive_sha256 as string,
  acceptedAt: row.accepted_at as string,
  usesGrant: Number(row.uses_grant) === 1,
  outcome: (row.outcome as IntakeRecord['outcome']) ?? null,
  failureCategory: (row.failure_category as FailureCategory | null) ?? null,
  refunded: Number(row.refunded) === 1,
  refundReason: (row.refund_reason as string | null) ?? null,
  settledAt: (row.settled_at as string | null) ?? null,
});

/** How an intake is settled when its pipeline ends, as the columns the stores update. */
export interface Settlement {
  outcome: 'completed' | 'failed' | 'cancelled';
  failureCategory: FailureCategory | null;
  /** 0/1: refunded because the failure was not the team's (FAILURE_CATEGORIES[c].charged === false). */
  refunded: number;
  refundReason: string | null;
  settledAt: string;
}


/**
 * The settlement a pipeline record means, or null while it runs. A cancellation without a category is an operator's
 * (Cancelled). The refund reason is the category's meaning (see below).
 */
export function settlementOf(record: PipelineRecord): Settlement | null {
  if (record.outcome === 'running') return null;
  const category = record.failureCategory ?? (record.outcome === 'cancelled' ? 'Cancelled' : null);
  const uncharged = category !== null && record.outcome !== 'completed' && !FAILURE_CATEGORIES[category].charged;
  // The category's meaning, never the pipeline's own reason: that text may quote what a closed-suite stage saw, and
  // teams, the CLI and webhooks read the refund reason as it is.
  const why = category ? FAILURE_CATEGORIES[category].meaning : '';
  return {
    outcome: record.outcome,
    failureCategory: category,
    refunded: uncharged ? 1 : 0,
    refundReason: uncharged ? `refunded: ${category} — ${why}` : null,
    settledAt: record.updatedAt,
  };
}

/** The SQL (the same in both engines) of the intakes blocking a new one of a submission (its id in `param`): running, or completed. */
export const conflictingIntakeSql = (param: string): string =>
  `SELECT * FROM intakes WHERE submission_id = ${param} AND (settled_at IS NULL OR outcome = 'completed') ORDER BY accepted_at, intake_id LIMIT 1`;

/** The SQL of a team's counted intakes in a phase (usageOf filters the track), and of the sum of its grants there. */
export const usageSql = (team: string, phase: string): { counted: string; granted: string } => ({
  counted: `SELECT track, accepted_at, uses_grant FROM intakes WHERE team = ${team} AND phase = ${phase} AND refunded = 0`,
  granted: `SELECT SUM(amount) AS granted FROM quota_grants WHERE team = ${team} AND phase = ${phase}`,
});

/**
 * The usage of one team, track and phase from the team's counted (not refunded) intakes of the phase and
 * the sum of its grants there. Grants are given per phase, so the grants used are counted over every
 * track of the phase; the window and phase quota are per track.
 */
export function usageOf(counted: readonly Row[], track: string, granted: unknown): QuotaUsage {
  return {
    counted: counted.filter((row) => row.track === track && Number(row.uses_grant) !== 1).map((row) => Date.parse(row.accepted_at as string)),
    granted: Number(granted ?? 0),
    grantsUsed: counted.filter((row) => Number(row.uses_grant) === 1).length,
  };
}

/** An error for an operation on a team that is not in the store, naming where to look. */
export const noTeam = (name: string, location: string): Error =>
  new Error(`no team "${name}" in ${location}; list the teams with: challenge team list (or add it with: challenge team add ${name})`);

/** The SQL of a session joined with its team (the session's id hash in `param`), for liveSessionTeam. */
export const sessionSql = (param: string): string =>
  `SELECT s.team, s.token_id, s.expires_at, s.ended_at, t.token_id AS current_token_id, t.disabled
   FROM team_sessions s JOIN teams t ON t.name = s.team WHERE s.id_hash = ${param}`;

/** The team of a session row joined with its team: only while not ended, not expired, its token current and the team enabled. */
export function liveSessionTeam(row: Row | undefined, at: string): string | undefined {
  if (!row || row.ended_at !== null || Number(row.disabled) === 1) return undefined;
  if (row.token_id !== row.current_token_id || Date.parse(row.expires_at as string) <= Date.parse(at)) return undefined;
  return row.team as string;
}

export const toFinalChoice = (row: Row): FinalChoice => ({
  team: row.team as string,
  track: row.track as string,
  phase: row.phase as string,
  submissionId: row.submission_id as string,
  at: row.chosen_at as string,
});

/** The SQL of a team's intakes of one submission (team, then submission id), for choiceProblem. */
export const choiceIntakesSql = (team: string, submissionId: string): string => `SELECT track, phase FROM intakes WHERE team = ${team} AND submission_id = ${submissionId}`;

/** The upsert of a choice (team, track, phase, submission id, time): the latest choice of a team, track and phase wins. */
export const chooseFinalSql = (params: readonly [string, string, string, string, string]): string =>
  `INSERT INTO final_choices (team, track, phase, submission_id, chosen_at) VALUES (${params.join(', ')})
   ON CONFLICT (team, track, phase) DO UPDATE SET submission_id = excluded.submission_id, chosen_at = excluded.chosen_at`;

/**
 * Why `choice` may not be recorded, given the rows (track, phase) of the team's intakes of that submission; null when
 * one of them is of the choice's track and phase. Both stores throw it as an Error.
 */
export function choiceProblem(rows: readonly Row[], choice: FinalChoice): string | null {
  const { team, track, phase, submissionId } = choice;
  const pick = `choose one of the team's ${track} uploads of phase ${phase} (GET /api/team/submissions, or: challenge remote status)`;
  if (rows.length === 0) return `team "${team}" has no submission "${submissionId}"; ${pick}`;
  if (rows.some((row) => row.track === track && row.phase === phase)) return null;
  if (!rows.some((row) => row.track === track)) return `submission "${submissionId}" of team "${team}" is of track ${String(rows[0]!.track)}, not ${track}; ${pick}`;
  return `submission "${submissionId}" of team "${team}" was not uploaded in phase ${phase}; ${pick}`;
}

/** The intake a reservation inserts: accepted now, running (unsettled), counted (not refunded). */
export const newIntake = (request: ReserveRequest, usesGrant: boolean): IntakeRecord => ({
  intakeId: request.intakeId,
  team: request.team,
  track: request.track,
  phase: request.phase,
  submissionId: request.submissionId,
  archiveKey: request.archiveKey,
  archiveSha256: request.archiveSha256,
  acceptedAt: request.at,
  usesGrant,
  outcome: null,
  failureCategory: null,
  refunded: false,
  refundReason: null,
  settledAt: null,
});
