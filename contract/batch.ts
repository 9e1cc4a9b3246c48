/** Names of scheduled batch re-evaluations (workflows/batch-evaluation.ts), shared with the cockpit and tests. */
import { defineQuery } from '@temporalio/workflow';

/** The batch a schedule starts (the server appends the run's timestamp, so each run's id is unique). */
export const batchWorkflowId = (scheduleId: string): string => `batch-${scheduleId}`;

export interface BatchProgress {
  batchId: string;
  selected: number;
  done: number;
  failed: number;
  running: number;
  pending: number;
}

export const batchProgressQuery = defineQuery<BatchProgress>('batchProgress');
