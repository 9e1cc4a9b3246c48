/**
 * Bookkeeping activities on the orchestrator: the results database is written only from here and from
 * the evaluation harness (answers), never from workflow code.
 */
import type { ResultsDb } from '../infra/results-db.js';
import type { EvaluationSummary } from '../domain/harness/evaluate.js';
import type { SuiteKind } from '../domain/harness/suite.js';
import type { FailureCategory } from '../domain/failures.js';
import type { StageReport } from './types.js';
import type { TrackId } from '../temporal.config.js';

export interface RegisterInput {
  submissionId: string;
  team: string;
  submission: string;
  track: string;
  directory: string;
  workflowId: string;
  runId: string;
  submittedAt: string;
}

export function createBookkeepingActivities(db: ResultsDb) {
  return {
    /** Registers a pipeline run; a new run of the same submission starts from a clean slate of results. */
    async registerSubmission(input: RegisterInput): Promise<void> {
      const previous = db.submission(input.submissionId);
      db.db.transaction(() => {
        if (previous && previous.runId !== input.runId) {
          for (const table of ['stages', 'answers', 'column_scores']) {
            db.db.prepare(`DELETE FROM ${table} WHERE submission_id = ?`).run(input.submissionId);
          }
        }
        db.upsertSubmission({
          submissionId: input.submissionId,
          team: input.team,
          name: input.submission,
          track: input.track,
          directory: input.directory,
          workflowId: input.workflowId,
          runId: input.runId,
          submittedAt: input.submittedAt,
        });
        db.recordPipeline({ submissionId: input.submissionId, outcome: 'running', failureCategory: null, reason: null, updatedAt: input.submittedAt });
      })();
    },

    async recordStage(report: StageReport): Promise<void> {
      db.recordStage(report);
    },

    async recordScores(input: { submissionId: string; suite: SuiteKind; summary: EvaluationSummary }): Promise<void> {
      db.saveScenarioScores(input.submissionId, input.suite, input.summary.scenarios);
    },

    /** Submissions a batch re-evaluates: those whose pipeline completed (they have an artifact to serve). */
    async selectSubmissions(input: { track?: string; outcome: 'completed' }): Promise<{ submissionId: string; track: TrackId }[]> {
      return db
        .submissions(input.track)
        .filter((s) => db.pipeline(s.submissionId)?.outcome === input.outcome)
        .map((s) => ({ submissionId: s.submissionId, track: s.track as TrackId }));
    },

    async recordPipelineEnd(input: {
      submissionId: string;
      outcome: 'completed' | 'failed' | 'cancelled';
      failureCategory: FailureCategory | null;
      reason: string | null;
      at: string;
    }): Promise<void> {
      db.recordPipeline({ submissionId: input.submissionId, outcome: input.outcome, failureCategory: input.failureCategory, reason: input.reason, updatedAt: input.at });
    },
  };
}

export type BookkeepingActivities = ReturnType<typeof createBookkeepingActivities>;
