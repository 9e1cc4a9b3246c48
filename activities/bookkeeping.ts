/**
 * Bookkeeping activities on the orchestrator: the results database is written only from here and from
 * the evaluation harness (answers), never from workflow code.
 */
import { hostLiveness, phaseThatSkipped, type ResultsStore, type SubmissionRecord } from '../infra/results-store.js';
import type { EvaluationSummary } from '../domain/harness/evaluate.js';
import type { SuiteKind } from '../domain/harness/suite.js';
import type { FailureCategory } from '../domain/failures.js';
import type { StageReport } from '../contract/types.js';
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

export function createBookkeepingActivities(db: ResultsStore) {
  return {
    /** Registers a pipeline run; a new run of the same submission starts from a clean slate of results. */
    async registerSubmission(input: RegisterInput): Promise<void> {
      await db.registerRun({
        submissionId: input.submissionId,
        team: input.team,
        name: input.submission,
        track: input.track,
        directory: input.directory,
        workflowId: input.workflowId,
        runId: input.runId,
        submittedAt: input.submittedAt,
      });
    },

    async recordStage(report: StageReport): Promise<void> {
      await db.recordStage(report);
    },

    async recordScores(input: { submissionId: string; suite: SuiteKind; summary: EvaluationSummary }): Promise<void> {
      await db.saveScenarioScores(input.submissionId, input.suite, input.summary.scenarios);
    },

    /**
     * Whether a GPU host still shows signs of life: its workers record themselves every few seconds.
     * A host that is busy (every GPU slot taken, so it polls no new work) is alive; one that stopped
     * recording for `goneAfterMs` is gone and its submissions move to another host.
     */
    async hostStatus(input: { hostId: string; goneAfterMs: number }): Promise<{ alive: boolean; lastSeen: string | null; silentForMs: number | null }> {
      const host = (await db.hosts()).find((h) => h.hostId === input.hostId);
      if (!host) return { alive: false, lastSeen: null, silentForMs: null };
      return { ...hostLiveness(host, Date.now(), input.goneAfterMs), lastSeen: host.lastSeen };
    },

    /** One submission as registered (a re-evaluation builds its images from `directory` on a host that lacks them). */
    /**
     * The submission, and whether its run had no fine-tune (its phase skipped it: the weights are in the image), so a
     * re-evaluation builds and serves the inference image alone, with no /artifacts mount.
     */
    async submissionRecord(input: { submissionId: string }): Promise<(SubmissionRecord & { inferenceOnly: boolean }) | null> {
      const submission = await db.submission(input.submissionId);
      if (!submission) return null;
      const fineTune = (await db.stages(input.submissionId)).find((s) => s.stage === 'fine-tune');
      return { ...submission, inferenceOnly: phaseThatSkipped(fineTune) !== null };
    },

    /** Submissions a batch re-evaluates: those whose pipeline completed (they have an artifact to serve). */
    async selectSubmissions(input: { track?: string; outcome: 'completed' }): Promise<{ submissionId: string; track: TrackId }[]> {
      const selected: { submissionId: string; track: TrackId }[] = [];
      for (const s of await db.submissions(input.track)) {
        if ((await db.pipeline(s.submissionId))?.outcome === input.outcome) selected.push({ submissionId: s.submissionId, track: s.track as TrackId });
      }
      return selected;
    },

    async recordPipelineEnd(input: {
      submissionId: string;
      outcome: 'completed' | 'failed' | 'cancelled';
      failureCategory: FailureCategory | null;
      reason: string | null;
      at: string;
    }): Promise<void> {
      await db.recordPipeline({ submissionId: input.submissionId, outcome: input.outcome, failureCategory: input.failureCategory, reason: input.reason, updatedAt: input.at });
    },
  };
}

export type BookkeepingActivities = ReturnType<typeof createBookkeepingActivities>;
