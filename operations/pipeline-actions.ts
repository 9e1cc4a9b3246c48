/**
 * What an operator does to one submission's pipeline: cancel it, retry it from the first stage that did not
 * succeed, or re-evaluate its fine-tuned artifact against a suite. Functions return data; the
 * CLI (cli/commands/cancel.ts, retry.ts, evaluate.ts) calls them and prints. A retry starts from what the earlier
 * run was started with (operations/started-with.ts).
 */
import type { Client } from '@temporalio/client';
import { EVAL_STAGE, EVAL_STAGES, STAGE_LIMIT_KEY, TASK_QUEUES, type PartialStageLimits } from '../temporal.config.js';
import { type RuntimeConfig } from '../infra/runtime-config.js';
import { loadSuite, type SuiteKind } from '../domain/harness/suite.js';
import { phaseThatSkipped, type ResultsStore, type StageRecord, type SubmissionRecord } from '../infra/results-store.js';
import { workflowUrl } from '../infra/temporal.js';
import type { PipelineInput } from '../contract/types.js';
import { pipelineWorkflowId, reevaluationWorkflowId } from '../contract/pipeline.js';
import { reevaluateSubmission, type ReevaluateInput } from '../workflows/batch-evaluation.js';
import type { SubmitResult } from './pipelines.js';
import { restartPipeline } from './pipeline-restart.js';
import { recordedInput, startedWith } from './started-with.js';

export async function cancelPipeline(client: Client, submissionId: string): Promise<string> {
  const workflowId = pipelineWorkflowId(submissionId);
  await client.workflow.getHandle(workflowId).cancel();
  return workflowId;
}

/** What a retry reads of the results database. */
export type RetryStore = Pick<ResultsStore, 'location' | 'submission' | 'stages' | 'intakes'>;

/** What a retry started from: the input the pipeline's latest run was started with, or (that run gone) the results database. */
export type RetryBasis =
  | { from: 'earlier-run'; workflowId: string }
  | { from: 'results-database'; fallback: string };

export type RetryPlan =
  | { kind: 'nothing-to-retry'; reason: string }
  | { kind: 'pipeline'; reuseBuild: boolean; result: SubmitResult; startedFrom: RetryBasis }
  | { kind: 'reevaluate'; suites: SuiteKind[]; workflowId: string; url: string; startedFrom: RetryBasis };

/**
 * Re-runs a submission from its first stage that did not succeed, without redoing the ones that did:
 * evaluations only (the fine-tuned artifact is kept), fine-tune onwards (the images are kept), or all.
 * It starts from what the earlier run was started with (its phase and stages, an upload's stored archive, the
 * phase's suites, harness and host settings); the operator's suites and limits override those.
 */
export async function retryPipeline(
  client: Client,
  config: RuntimeConfig,
  db: RetryStore,
  submissionId: string,
  options: { suites?: Record<SuiteKind, string>; limits?: PartialStageLimits } = {},
): Promise<RetryPlan> {
  const submission = await db.submission(submissionId);
  if (!submission) throw new Error(`no submission "${submissionId}" in ${db.location}; list them with: challenge status`);
  const records = await db.stages(submissionId);
  const stages = new Map(records.map((s) => [s.stage, s]));
  const ok = (stage: string) => stages.get(stage)?.outcome === 'succeeded';
  // A stage the run's phase leaves out (inference only: no fine-tune) is not to be retried.
  const done = (stage: string) => ok(stage) || phaseThatSkipped(stages.get(stage)) !== null;
  if (['build', 'fine-tune', ...EVAL_STAGES].every(done)) return { kind: 'nothing-to-retry', reason: 'every stage succeeded (or its phase runs none)' };

  const { input: earlier, startedFrom } = await retryBase(client, db, submission, records);
  // A retry runs under the limits the submission ran under, unless the operator gives others.
  const recorded = (stage: string) => stages.get(stage)?.limitMs ?? undefined;
  const limits: PartialStageLimits = {
    ...Object.fromEntries(
      Object.entries(STAGE_LIMIT_KEY)
        .map(([stage, key]) => [key, recorded(stage)])
        .filter(([key, value]) => key !== null && value !== undefined),
    ),
    ...earlier.limits,
    ...options.limits,
  };
  const suiteFiles = options.suites ?? earlier.suites;
  // Evaluations only when training left an artifact; an inference-only run (fine-tune skipped) goes through its pipeline again, images reused.
  if (ok('build') && (ok('fine-tune') || stages.get('fine-tune')?.outcome === 'partial')) {
    const suites = (['open', 'closed'] as SuiteKind[]).filter((kind) => !done(EVAL_STAGE[kind]));
    const input: ReevaluateInput = {
      submissionId,
      track: earlier.track,
      suites: Object.fromEntries(suites.map((k) => [k, suiteFiles[k]])),
      reason: 'retry',
      limits,
      ...(earlier.harness ? { harness: earlier.harness } : {}),
      ...(earlier.heartbeatTimeoutMs ? { heartbeatTimeoutMs: earlier.heartbeatTimeoutMs } : {}),
      ...(earlier.hostPolicy ? { hostPolicy: earlier.hostPolicy } : {}),
      // Finishing a phase's run: its GPU time counts in that phase's fair share, not under re-evaluations.
      ...(earlier.run ? { phase: earlier.run.phase } : {}),
      // An upload: a host without its directory builds the images from the stored archive.
      ...(earlier.source ? { source: earlier.source } : {}),
    };
    const started = await reevaluate(client, config, input, 'retry');
    return { kind: 'reevaluate', suites, ...started, startedFrom };
  }
  const reuseBuild = ok('build');
  const result = await restartPipeline(client, config, { ...earlier, suites: suiteFiles, limits }, { reuseBuild });
  return { kind: 'pipeline', reuseBuild, result, startedFrom };
}

/** The input to retry from: the earlier run's (operations/started-with.ts), else rebuilt from the database, saying what it lacks. */
async function retryBase(client: Client, db: RetryStore, submission: SubmissionRecord, stages: StageRecord[]): Promise<{ input: PipelineInput; startedFrom: RetryBasis }> {
  const earlier = await startedWith(client, submission.submissionId);
  if (earlier) return { input: earlier, startedFrom: { from: 'earlier-run', workflowId: pipelineWorkflowId(submission.submissionId) } };
  const rebuilt = await recordedInput(db, submission, stages);
  const fallback =
    `Temporal no longer has the run ${pipelineWorkflowId(submission.submissionId)} (history retention?): retried from ${db.location} ` +
    `(directory ${submission.directory}${rebuilt.input.run ? `, phase ${rebuilt.input.run.phase}: ${rebuilt.input.run.stages.join(', ')}` : ''}` +
    `${rebuilt.input.source ? `, archive ${rebuilt.input.source.archiveKey}` : ''}); not recorded there: ${rebuilt.unknown.join('; ')}`;
  return { input: rebuilt.input, startedFrom: { from: 'results-database', fallback } };
}

export async function reevaluate(client: Client, config: RuntimeConfig, input: ReevaluateInput, label: string): Promise<{ workflowId: string; url: string }> {
  for (const file of Object.values(input.suites)) if (file) loadSuite(file); // a bad suite fails here, not on a GPU
  const workflowId = reevaluationWorkflowId(input.submissionId, `${label}-${Date.now()}`);
  await client.workflow.start(reevaluateSubmission, {
    taskQueue: TASK_QUEUES.orchestrator,
    workflowId,
    args: [input],
    staticSummary: `Re-evaluate ${input.submissionId} against ${Object.keys(input.suites).join(' and ')} (${input.reason})`,
  });
  return { workflowId, url: workflowUrl(config, workflowId) };
}
