/**
 * Names a submission's pipeline shares with its activities, the CLI, the web and tests: its workflow id scheme,
 * the progress query, the stage-start signal and the image names. Workflow-safe (bundled into the sandbox).
 */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import type { FailureCategory, StageOutcome } from '../domain/failures.js';
import type { StageName } from '../temporal.config.js';
import type { Failover } from './types.js';
import type { ExecutionStart, StageEta, StagePrediction } from '../domain/harness/projection.js';

export const pipelineWorkflowId = (submissionId: string): string => `submission-${submissionId}`;
export const reevaluationWorkflowId = (submissionId: string, label: string): string => `reeval-${label}-${submissionId}`;

export interface StageState {
  stage: StageName;
  outcome: StageOutcome | 'running' | 'pending';
  failureCategory: FailureCategory | null;
  reason: string | null;
  startedAt: number | null;
  endedAt: number | null;
  limitMs: number | null;
  /** An evaluation stage's probe prediction (made once its probe items are answered) and its running projection. */
  prediction?: StagePrediction | null;
  eta?: StageEta | null;
}

export interface PipelineState {
  submissionId: string;
  track: string;
  host: string | null;
  /** Stages that moved from a lost GPU host to another one, in order. */
  failovers: Failover[];
  currentStage: StageName | 'done';
  outcome: 'running' | 'completed' | 'failed' | 'cancelled';
  failureCategory: FailureCategory | null;
  stages: StageState[];
}

export const progressQuery = defineQuery<PipelineState>('progress');

/**
 * Sent by a stage's activity when it really starts (not when it was queued): a stage's limit runs from
 * here, so a submission never loses time waiting for a free GPU. `at` is the activity host's clock.
 */
export interface StageStarted {
  stage: StageName;
  at: number;
}
export const stageStartedSignal = defineSignal<[StageStarted]>('stageStarted');

/**
 * Sent by an evaluation stage's activity while it runs (at most every few seconds): answered of total, and the
 * probe's prediction once made. The workflow keeps the latest for the progress query and the Web UI's details.
 */
export interface StageProgress {
  stage: StageName;
  answered: number;
  total: number;
  at: number;
  prediction: StagePrediction | null;
  /**
   * This execution of the activity: when it began asking and how many answers the store held then (a resumed
   * stage's earlier answers), so the projection's rate counts only this execution's answers over its own time.
   * Optional: the signals in recorded histories have none (their rate runs from the stage's start).
   */
  execution?: ExecutionStart;
}
export const stageProgressSignal = defineSignal<[StageProgress]>('stageProgress');

/** The images a submission's build produces, tagged by submission so later stages and re-evaluations find them. */
export const submissionImages = (submissionId: string) => ({
  inferenceImage: `challenge-submissions/${submissionId}:inference`,
  trainImage: `challenge-submissions/${submissionId}:train`,
});
