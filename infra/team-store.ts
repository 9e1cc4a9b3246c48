/**
 * Teams, their tokens, sessions, quota grants and accepted uploads (intakes), as the results store keeps
 * them. Both results stores (SQLite, PostgreSQL) implement it on the same database as the results, so a
 * pipeline's end settles its intake (and refunds it) in the same write that records the outcome.
 *
 * Quotas are race-free because `reserveIntake` counts and inserts in one transaction that holds the team's
 * row (SQLite: BEGIN IMMEDIATE; PostgreSQL: SELECT … FOR UPDATE on the team row).
 */
import type { FailureCategory } from '../domain/failures.js';
import type { QuotaDecision, QuotaRule } from '../domain/teams/quota.js';
import type { StoredToken } from '../domain/teams/tokens.js';

type Awaitable<T> = T | Promise<T>;

export interface TeamRecord {
  name: string;
  /** Tracks the team may submit to. */
  tracks: string[];
  disabled: boolean;
  createdAt: string;
  /** Called when one of the team's submissions ends (optional). */
  webhook: string | null;
}

/** An operator's grant of extra submissions in a phase, with who gave it and why. */
export interface QuotaGrant {
  team: string;
  phase: string;
  amount: number;
  grantedBy: string;
  reason: string;
  at: string;
}

/** One accepted upload: it counts against the quota unless refunded. */
export interface IntakeRecord {
  intakeId: string;
  team: string;
  track: string;
  phase: string;
  submissionId: string;
  /** Artifact store key of the stored archive and its sha256 (hex). */
  archiveKey: string;
  archiveSha256: string;
  acceptedAt: string;
  /** It went past the window's quota on an operator's grant. */
  usesGrant: boolean;
  /** null while the pipeline runs; then how it ended. */
  outcome: 'completed' | 'failed' | 'cancelled' | null;
  failureCategory: FailureCategory | null;
  /** Refunded: it no longer counts (an uncharged failure, or the pipeline never started), and why. */
  refunded: boolean;
  refundReason: string | null;
  settledAt: string | null;
}

export interface ReserveRequest {
  intakeId: string;
  team: string;
  track: string;
  phase: string;
  submissionId: string;
  archiveKey: string;
  archiveSha256: string;
  /** ISO instant of the decision (the caller's clock, so tests can move it). */
  at: string;
  rule: QuotaRule;
}

/** A team's choice of the submission that goes to the finals for one track, from its intakes of one phase (the latest choice wins). */
export interface FinalChoice {
  team: string;
  track: string;
  /** The phase the submission was uploaded in (the phase before the finals). */
  phase: string;
  submissionId: string;
  at: string;
}

export type ReserveResult =
  | { kind: 'accepted'; intake: IntakeRecord; decision: QuotaDecision }
  | { kind: 'refused'; decision: QuotaDecision }
  /** The submission id has an intake still running, or one whose pipeline completed: 409. */
  | { kind: 'conflict'; existing: IntakeRecord };

export interface TeamStore {
  /** Creates a team with its token's hash; throws TeamExistsError when the name is taken. */
  createTeam(team: Omit<TeamRecord, 'disabled' | 'createdAt'> & { at: string }, token: StoredToken): Awaitable<void>;
  team(name: string): Awaitable<TeamRecord | undefined>;
  teams(): Awaitable<TeamRecord[]>;
  /** Replaces the token (old one stops working at once, with every session signed in with it). */
  replaceToken(name: string, token: StoredToken): Awaitable<void>;
  setTeamDisabled(name: string, disabled: boolean): Awaitable<void>;
  /** The team and stored hash of a token id (the public part of a token), for verifyToken. */
  tokenById(tokenId: string): Awaitable<{ team: string; token: StoredToken } | undefined>;

  /** Browser sessions: `idHash` is the sha256 of the cookie's secret. */
  createSession(session: { idHash: string; team: string; tokenId: string; createdAt: string; expiresAt: string }): Awaitable<void>;
  /** The team of a live session (not expired, not ended, its token not replaced). */
  sessionTeam(idHash: string, at: string): Awaitable<string | undefined>;
  endSession(idHash: string): Awaitable<void>;

  grantQuota(grant: QuotaGrant): Awaitable<void>;
  grants(team: string, phase?: string): Awaitable<QuotaGrant[]>;

  /** Counts and inserts in one transaction (see the module comment). */
  reserveIntake(request: ReserveRequest): Awaitable<ReserveResult>;
  /** What the team has left now, as reserveIntake would decide (for the team's view and 429 answers). */
  quotaStatus(team: string, track: string, phase: string, rule: QuotaRule, at: string): Awaitable<QuotaDecision>;
  /** Gives an intake back (e.g. the pipeline could not be started): refunded with the reason, settled. */
  releaseIntake(intakeId: string, reason: string, at: string): Awaitable<void>;
  intakes(team: string): Awaitable<IntakeRecord[]>;
  intake(intakeId: string): Awaitable<IntakeRecord | undefined>;

  /**
   * Records (or replaces) the team's final submission for a track and phase. Throws, naming what to do, when the
   * submission is not one of the team's intakes of that track in that phase.
   */
  chooseFinal(choice: FinalChoice): Awaitable<FinalChoice>;
  finalChoice(team: string, track: string, phase: string): Awaitable<FinalChoice | undefined>;
  /** Every team's choices in a phase, by team then track. */
  finalChoices(phase: string): Awaitable<FinalChoice[]>;
}

export class TeamExistsError extends Error {
  constructor(readonly team: string) {
    super(`team "${team}" already exists; pick another name, or rotate its token with: challenge team rotate-token ${team}`);
    this.name = 'TeamExistsError';
  }
}
