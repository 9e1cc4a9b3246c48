/**
 * Names the activities share with the workflows, kept on this side so that activities/ never imports workflow
 * code (workflows/definitions.ts re-exports them for the workflows, the CLI and tests).
 */
import { defineSignal } from '@temporalio/workflow';
import type { StageName } from '../temporal.config.js';

/**
 * Sent by a stage's activity when it really starts (not when it was queued): a stage's limit runs from
 * here, so a submission never loses time waiting for a free GPU. `at` is the activity host's clock.
 */
export interface StageStarted {
  stage: StageName;
  at: number;
}
export const stageStartedSignal = defineSignal<[StageStarted]>('stageStarted');

/** The images a submission's build produces, tagged by submission so later stages and re-evaluations find them. */
export const submissionImages = (submissionId: string) => ({
  inferenceImage: `challenge-submissions/${submissionId}:inference`,
  trainImage: `challenge-submissions/${submissionId}:train`,
});
