/**
 * The boards of a track as the results database has them: what the CLI prints, the web page draws and the
 * reports rank. One reader, so that the CLI and the page can never disagree on a submission's outcome.
 *  - leaderboard: the development board (development runs only: the `.final` and `.reproduction` runs of the
 *    competition clock are not development submissions);
 *  - finalLeaderboard: the final board (the `.final` runs, with the reproduction column; a NotReproduced team
 *    marked or dropped as the competition file's `reproduction.onFailure` says);
 *  - reproductionStatus: every reproduction run with its verdict (`challenge reproduce status`).
 */
import { loadSuite, stopSequenceRule, type SuiteKind } from '../domain/harness/suite.js';
import { buildLeaderboard, rulesForSuites, type Leaderboard, type LeaderboardSubmission, type ScenarioScore } from '../domain/standings-table.js';
import type { FailureCategory } from '../domain/failures.js';
import { isFinalPhase } from '../domain/competition/clock.js';
import { buildFinalBoard, developmentRuns, reproductionRecordOf, type FinalBoard, type ReproductionRecord } from '../domain/competition/final-board.js';
import type { ReproductionStatusEntry } from '../domain/competition/final-board-text.js';
import { parseRunSubmissionId, runSubmissionId } from '../domain/competition/runs.js';
import type { CompetitionFile, Reproduction } from '../domain/competition/schema.js';
import type { ResultsStore, SubmissionRecord } from '../infra/results-store.js';
import { defaultSuiteFiles } from '../infra/paths.js';

export interface SubmissionOutcome {
  /** The pipeline's outcome, or 'unknown' while no pipeline end is recorded. */
  outcome: string;
  /** The pipeline's category, else the first charged stage failure's (a cancelled stage is not a cause). */
  failureCategory: FailureCategory | null;
  failureReason: string | null;
}

/** Where a submission stands, from its pipeline record and its stages. */
export async function submissionOutcome(db: ResultsStore, submissionId: string): Promise<SubmissionOutcome> {
  const pipeline = await db.pipeline(submissionId);
  const failedStage = (await db.stages(submissionId)).find((stage) => stage.failureCategory !== null && stage.failureCategory !== 'Cancelled');
  return {
    outcome: pipeline?.outcome ?? 'unknown',
    failureCategory: pipeline?.failureCategory ?? failedStage?.failureCategory ?? null,
    failureReason: failedStage?.reason ?? pipeline?.reason ?? null,
  };
}

async function boardInputs(db: ResultsStore, records: readonly SubmissionRecord[]): Promise<{ submissions: LeaderboardSubmission[]; scores: ScenarioScore[] }> {
  const submissions: LeaderboardSubmission[] = [];
  for (const s of records) submissions.push({ submissionId: s.submissionId, team: s.team, track: s.track, ...(await submissionOutcome(db, s.submissionId)) });
  const ids = new Set(records.map((r) => r.submissionId));
  const scores = (await db.scenarioScores()).filter((s) => ids.has(s.submissionId)).map((s) => ({ submissionId: s.submissionId, suite: s.suite, column: s.column, score: s.score }));
  return { submissions, scores };
}

const rulesOf = (suites: Record<SuiteKind, string>) => rulesForSuites({ open: loadSuite(suites.open), closed: loadSuite(suites.closed) });

/** The development board of a track: its development runs only. Its stop rule is the open suite's (the one teams see). */
export async function leaderboard(db: ResultsStore, track: string, suites: Record<SuiteKind, string> = defaultSuiteFiles(track)): Promise<Leaderboard> {
  const { submissions, scores } = await boardInputs(db, developmentRuns(await db.submissions(track)));
  return buildLeaderboard(track, rulesOf(suites), submissions, scores, stopSequenceRule(loadSuite(suites.open)));
}

/** The suite files the clock ran a track's finals on: the final phase's set for the track, else the default. */
export function finalSuiteFiles(competition: CompetitionFile, track: string): Record<SuiteKind, string> {
  const phase = competition.phases.find(isFinalPhase);
  return defaultSuiteFiles(track, phase?.suites[track as keyof typeof phase.suites]);
}

/** The verdict recorded on each reproduction run of a track (pending while the clock has not judged it). */
async function reproductionsOf(db: ResultsStore, records: readonly SubmissionRecord[]): Promise<(ReproductionRecord & { runId: string; team: string; track: string })[]> {
  const out = [];
  for (const record of records) {
    const run = parseRunSubmissionId(record.submissionId);
    if (run.purpose !== 'reproduction') continue;
    const stage = (await db.stages(record.submissionId)).find((s) => s.stage === 'reproduction');
    out.push({ ...reproductionRecordOf(run.submissionId, stage), runId: record.submissionId, team: record.team, track: record.track });
  }
  return out;
}

export interface FinalBoardOptions {
  /** What happens to a NotReproduced team (the competition file's reproduction.onFailure). */
  onFailure: Reproduction['onFailure'];
  /** The final phase's suite files (finalSuiteFiles); default: the track's default set. */
  suites?: Record<SuiteKind, string>;
}

/** The final board of a track: its `.final` runs with the reproduction column, a NotReproduced team marked or dropped. */
export async function finalLeaderboard(db: ResultsStore, track: string, options: FinalBoardOptions): Promise<FinalBoard> {
  const records = await db.submissions(track);
  const finals = records.filter((r) => parseRunSubmissionId(r.submissionId).purpose === 'final');
  const { submissions, scores } = await boardInputs(db, finals);
  return buildFinalBoard({
    track,
    rules: rulesOf(options.suites ?? defaultSuiteFiles(track)),
    submissions,
    scores,
    reproductions: await reproductionsOf(db, records),
    onFailure: options.onFailure,
  });
}

/** Every reproduction run (of one track, or all), by track then team: its verdict, final scores and the columns outside tolerance. */
export async function reproductionStatus(db: ResultsStore, track?: string): Promise<ReproductionStatusEntry[]> {
  const entries = await reproductionsOf(db, await db.submissions(track));
  return entries.sort((a, b) => a.track.localeCompare(b.track) || a.team.localeCompare(b.team) || a.of.localeCompare(b.of));
}

/** The reproduction run id of a development submission (for the team's view). */
export const reproductionRunOf = (submissionId: string): string => runSubmissionId(submissionId, 'reproduction');

/** One development submission's reproduction verdict; null when it was not reproduced (no reproduction run). */
export async function reproductionOf(db: ResultsStore, submissionId: string): Promise<ReproductionRecord | null> {
  const runId = reproductionRunOf(submissionId);
  if (!(await db.submission(runId))) return null;
  return reproductionRecordOf(submissionId, (await db.stages(runId)).find((s) => s.stage === 'reproduction'));
}
