/**
 * The leaderboard of a track as the results database has it: what the CLI prints, the web page draws and the
 * reports rank. One reader, so that the CLI and the page can never disagree on a submission's outcome.
 */
import { loadSuite, type SuiteKind } from '../domain/harness/suite.js';
import { buildLeaderboard, rulesForSuites, type Leaderboard } from '../domain/leaderboard.js';
import type { FailureCategory } from '../domain/failures.js';
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

export async function leaderboard(db: ResultsStore, track: string, suites: Record<SuiteKind, string> = defaultSuiteFiles(track)): Promise<Leaderboard> {
  const rules = rulesForSuites({ open: loadSuite(suites.open), closed: loadSuite(suites.closed) });
  const submissions = [];
  for (const s of (await db.submissions(track)) as SubmissionRecord[]) {
    submissions.push({ submissionId: s.submissionId, team: s.team, track: s.track, ...(await submissionOutcome(db, s.submissionId)) });
  }
  const scores = (await db.scenarioScores()).map((s) => ({ submissionId: s.submissionId, suite: s.suite, column: s.column, score: s.score }));
  return buildLeaderboard(track, rules, submissions, scores);
}
