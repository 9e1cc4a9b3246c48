/**
 * The boards of a competition's phases, pure (the caller reads the results database and the competition file):
 *  - the development board ranks the development runs only (ids without a `.final` / `.reproduction` suffix);
 *  - the final board ranks the `.final` runs only, each under its team and development submission, with the
 *    reproduction column: Reproduced, NotReproduced (with its reason), pending (a reproduction run exists without
 *    a verdict yet) or not selected (not among the top N). With `onFailure: 'drop'` a NotReproduced team leaves
 *    the field and the board is scored again without it (win rates depend on the field, so every other score
 *    moves); with 'mark' it stays, marked.
 * The verdict is read from the `reproduction` stage the competition clock records on the `.reproduction` run
 * (activities/competition.ts); its details are checked with zod here, a record that does not parse keeps its
 * outcome and reason.
 */
import { z } from 'zod';
import { buildLeaderboard, type Leaderboard, type LeaderboardRow, type LeaderboardSubmission, type ScenarioScore } from '../standings-table.js';
import type { ScoringRules } from '../scoring/index.js';
import { parseRunSubmissionId } from './runs.js';
import type { Reproduction } from './schema.js';

export const BOARD_PHASES = ['development', 'final'] as const;
export type BoardPhase = (typeof BOARD_PHASES)[number];

/** The development runs of a list (what the development board ranks). */
export const developmentRuns = <T extends { submissionId: string }>(runs: readonly T[]): T[] => runs.filter((r) => parseRunSubmissionId(r.submissionId).purpose === 'development');

/** The `.final` runs of a list (what the final board ranks). */
export const finalRuns = <T extends { submissionId: string }>(runs: readonly T[]): T[] => runs.filter((r) => parseRunSubmissionId(r.submissionId).purpose === 'final');

/** A scenario column whose reproduced score is outside the tolerance. */
export interface ColumnOutside {
  suite: 'open' | 'closed';
  column: string;
  submitted: number;
  reproduced: number | null;
}

/** What the results database says of one finalist's reproduction (one `.reproduction` run). */
export interface ReproductionRecord {
  /** The development submission whose final run was reproduced. */
  of: string;
  /** null: the reproduction run exists but no verdict is recorded yet. */
  verdict: 'Reproduced' | 'NotReproduced' | null;
  reason: string | null;
  finalSubmitted: number | null;
  finalReproduced: number | null;
  /** Scenario columns compared, and those outside the tolerance. */
  columnsCompared: number;
  columnsOutside: ColumnOutside[];
}

/** The `reproduction` stage as the store holds it (infra/results-store.ts StageRecord, the fields read here). */
export interface ReproductionStageFacts {
  outcome: string;
  failureCategory: string | null;
  reason: string | null;
  details: Record<string, unknown> | null;
}

const VerdictDetails = z.object({
  verdict: z.enum(['Reproduced', 'NotReproduced']),
  final: z.object({ submitted: z.number().nullable(), reproduced: z.number().nullable() }),
  columns: z.array(z.object({ suite: z.enum(['open', 'closed']), column: z.string(), score: z.number(), reproducedScore: z.number().nullable(), within: z.boolean() })),
});

/** The record of one reproduction run: `stage` is its `reproduction` stage, undefined while none is recorded. */
export function reproductionRecordOf(of: string, stage: ReproductionStageFacts | undefined): ReproductionRecord {
  const empty = { finalSubmitted: null, finalReproduced: null, columnsCompared: 0, columnsOutside: [] };
  if (stage === undefined) return { of, verdict: null, reason: null, ...empty };
  const details = VerdictDetails.safeParse(stage.details);
  if (!details.success) {
    // An older or partial record: its outcome still says the verdict.
    return { of, verdict: stage.outcome === 'succeeded' ? 'Reproduced' : 'NotReproduced', reason: stage.reason, ...empty };
  }
  const { verdict, final, columns } = details.data;
  return {
    of,
    verdict,
    reason: stage.reason,
    finalSubmitted: final.submitted,
    finalReproduced: final.reproduced,
    columnsCompared: columns.length,
    columnsOutside: columns.filter((c) => !c.within).map((c) => ({ suite: c.suite, column: c.column, submitted: c.score, reproduced: c.reproducedScore })),
  };
}

export type ReproductionState = 'Reproduced' | 'NotReproduced' | 'pending' | 'not-selected';

export interface ReproductionCell {
  state: ReproductionState;
  reason: string | null;
}

export interface FinalBoardRow extends LeaderboardRow {
  /** The development submission this final run was made from, and its name within the team. */
  of: string;
  submission: string;
  reproduction: ReproductionCell;
}

/** A NotReproduced team removed from the final ranking (onFailure: 'drop'). */
export interface DroppedFinalist {
  submissionId: string;
  of: string;
  team: string;
  reason: string | null;
}

export interface FinalBoard extends Leaderboard {
  phase: 'final';
  onFailure: Reproduction['onFailure'];
  rows: FinalBoardRow[];
  dropped: DroppedFinalist[];
}

export interface FinalBoardInput {
  track: string;
  rules: ScoringRules;
  /** Runs of any kind: only the track's `.final` runs are ranked. */
  submissions: readonly LeaderboardSubmission[];
  scores: readonly ScenarioScore[];
  reproductions: readonly ReproductionRecord[];
  onFailure: Reproduction['onFailure'];
}

const cellOf = (record: ReproductionRecord | undefined): ReproductionCell =>
  record === undefined ? { state: 'not-selected', reason: null } : record.verdict === null ? { state: 'pending', reason: null } : { state: record.verdict, reason: record.reason };

export function buildFinalBoard(input: FinalBoardInput): FinalBoard {
  const finals = finalRuns(input.submissions.filter((s) => s.track === input.track));
  const byOf = new Map(input.reproductions.map((r) => [r.of, r]));
  const ofRun = (runId: string): string => parseRunSubmissionId(runId).submissionId;
  const notReproduced = (s: LeaderboardSubmission): boolean => byOf.get(ofRun(s.submissionId))?.verdict === 'NotReproduced';
  const drop = input.onFailure === 'drop';
  const field = drop ? finals.filter((s) => !notReproduced(s)) : finals;
  const board = buildLeaderboard(input.track, input.rules, field, [...input.scores]);
  return {
    ...board,
    phase: 'final',
    onFailure: input.onFailure,
    rows: board.rows.map((row) => {
      const of = ofRun(row.submissionId);
      return { ...row, of, submission: of.split('.')[1] ?? of, reproduction: cellOf(byOf.get(of)) };
    }),
    dropped: drop
      ? finals.filter(notReproduced).map((s) => {
          const of = ofRun(s.submissionId);
          return { submissionId: s.submissionId, of, team: s.team, reason: byOf.get(of)?.reason ?? null };
        })
      : [],
  };
}

/** The reproduction runs' development submissions among a list of run ids (what the operations layer looks up). */
export const reproducedSubmissions = (runIds: readonly string[]): string[] =>
  runIds.map((id) => parseRunSubmissionId(id)).filter((r) => r.purpose === 'reproduction').map((r) => r.submissionId);
