/**
 * The kinds of pipeline run a competition makes of one submission, and their ids. Workflow-safe (no Node
 * imports): the competition clock and the pipeline use it.
 *  - development: what a team uploaded during a phase that takes uploads, run with that phase's stages;
 *  - final: the team's final submission re-run "as is" on the final phase's suites at the development close;
 *  - reproduction: a finalist's Dockerfile.train re-run from the same stored source, then evaluated like the final.
 * A submission id is `<team>.<submission>` (both slugs, no dots), so the suffixes below cannot collide with one.
 */
import type { PhaseStage } from './schema.js';

export const RUN_PURPOSES = ['development', 'final', 'reproduction'] as const;
export type RunPurpose = (typeof RUN_PURPOSES)[number];

/** What a pipeline run is for, carried in its input (absent: an operator's run with every stage, as before phases). */
export interface PhaseRun {
  phase: string;
  purpose: RunPurpose;
  /** The stages this run goes through; the others are recorded as skipped by the phase. */
  stages: PhaseStage[];
  /** For final and reproduction runs: the development submission they were made from. */
  of?: string;
}

/** The submission id of a run: the uploaded id for development, `<id>.final` and `<id>.reproduction` otherwise. */
export function runSubmissionId(submissionId: string, purpose: RunPurpose): string {
  return purpose === 'development' ? submissionId : `${submissionId}.${purpose}`;
}

/** The uploaded submission a run id stands for, and the run's purpose. */
export function parseRunSubmissionId(runId: string): { submissionId: string; purpose: RunPurpose } {
  const parts = runId.split('.');
  const last = parts[parts.length - 1];
  if (parts.length === 3 && (last === 'final' || last === 'reproduction')) return { submissionId: parts.slice(0, 2).join('.'), purpose: last };
  return { submissionId: runId, purpose: 'development' };
}

/** Whether a phase's stages include fine-tuning (without it a submission is evaluated as built: inference only). */
export const trainsIn = (stages: readonly PhaseStage[]): boolean => stages.includes('fine-tune');
