/** Names shared by workflows, the CLI and tests: queries, signals and the workflow id scheme. */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { FailureCategory, StageOutcome } from '../domain/failures.js';
import type { StageName } from '../temporal.config.js';
import type { Failover } from '../activities/types.js';

export interface StageState {
  stage: StageName;
  outcome: StageOutcome | 'running' | 'pending';
  failureCategory: FailureCategory | null;
  reason: string | null;
  startedAt: number | null;
  endedAt: number | null;
  limitMs: number | null;
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

export const pipelineWorkflowId = (submissionId: string): string => `submission-${submissionId}`;

/** Search attributes every pipeline keeps current (registered with the server in temporal.config.ts). */
export const SA = {
  Team: defineSearchAttributeKey('Team', SearchAttributeType.KEYWORD),
  Submission: defineSearchAttributeKey('Submission', SearchAttributeType.KEYWORD),
  Track: defineSearchAttributeKey('Track', SearchAttributeType.KEYWORD),
  Stage: defineSearchAttributeKey('Stage', SearchAttributeType.KEYWORD),
  Outcome: defineSearchAttributeKey('Outcome', SearchAttributeType.KEYWORD),
  FailureCategory: defineSearchAttributeKey('FailureCategory', SearchAttributeType.KEYWORD),
};

/** The images a submission's build produces, tagged by submission so later stages and re-evaluations find them. */
export const submissionImages = (submissionId: string) => ({
  inferenceImage: `challenge-submissions/${submissionId}:inference`,
  trainImage: `challenge-submissions/${submissionId}:train`,
});

export const reevaluationWorkflowId = (submissionId: string, label: string): string => `reeval-${label}-${submissionId}`;
