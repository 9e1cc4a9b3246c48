/** Names shared by workflows, the CLI and tests: queries, signals and the workflow id scheme. */
import { defineQuery, defineSignal } from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import type { FailureCategory, StageOutcome } from '../domain/failures.js';
import type { StageName } from '../temporal.config.js';
import type { Failover } from '../activities/types.js';
import type { CompetitionClockState, DeadlineExtension } from '../domain/competition/clock.js';

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

// The stage-start signal and the image names belong to the activities' side (activities/ must not import workflows/).
export { stageStartedSignal, submissionImages, type StageStarted } from '../activities/definitions.js';

export const pipelineWorkflowId = (submissionId: string): string => `submission-${submissionId}`;

/** Search attributes every pipeline keeps current (registered with the server in temporal.config.ts). */
export const SA = {
  Team: defineSearchAttributeKey('Team', SearchAttributeType.KEYWORD),
  Submission: defineSearchAttributeKey('Submission', SearchAttributeType.KEYWORD),
  Track: defineSearchAttributeKey('Track', SearchAttributeType.KEYWORD),
  Stage: defineSearchAttributeKey('Stage', SearchAttributeType.KEYWORD),
  Outcome: defineSearchAttributeKey('Outcome', SearchAttributeType.KEYWORD),
  FailureCategory: defineSearchAttributeKey('FailureCategory', SearchAttributeType.KEYWORD),
  /** The competition phase a pipeline runs for (its PhaseRun), and the phase the competition clock has open. */
  Phase: defineSearchAttributeKey('Phase', SearchAttributeType.KEYWORD),
};

export const reevaluationWorkflowId = (submissionId: string, label: string): string => `reeval-${label}-${submissionId}`;

/** The competition clock (workflows/competition-clock.ts): one per competition. */
export const competitionWorkflowId = (competitionId: string): string => `competition-${competitionId}`;
export const competitionStateQuery = defineQuery<CompetitionClockState>('competitionState');
/** An operator moves a phase's close; the clock records it with its decision (refusals keep their reason). */
export const extendDeadlineSignal = defineSignal<[DeadlineExtension]>('extendDeadline');
