/**
 * What an operator does to one submission's pipeline: cancel it, retry it from the first stage that did not
 * succeed, or re-evaluate its fine-tuned artifact against a suite. Functions return data; the CLI
 * (cli/commands/pipeline-actions.ts) and the web call them and print or render.
 */
import type { Client } from '@temporalio/client';
import { EVAL_STAGE, EVAL_STAGES, STAGE_LIMIT_KEY, TASK_QUEUES, type PartialStageLimits, type TrackId } from '../temporal.config.js';
import { type RuntimeConfig } from '../infra/runtime-config.js';
import { loadSuite, type SuiteKind } from '../domain/harness/suite.js';
import type { ResultsStore } from '../infra/results-store.js';
import { workflowUrl } from '../infra/temporal.js';
import { defaultSuiteFiles } from '../infra/paths.js';
import { pipelineWorkflowId, reevaluationWorkflowId } from '../contract/pipeline.js';
import { reevaluateSubmission, type ReevaluateInput } from '../workflows/batch-evaluation.js';
import { submit, type SubmitResult } from './pipelines.js';

export async function cancelPipeline(client: Client, submissionId: string): Promise<string> {
  const workflowId = pipelineWorkflowId(submissionId);
  await client.workflow.getHandle(workflowId).cancel();
  return workflowId;
}

export type RetryPlan =
  | { kind: 'nothing-to-retry'; reason: string }
  | { kind: 'pipeline'; reuseBuild: boolean; result: SubmitResult }
  | { kind: 'reevaluate'; suites: SuiteKind[]; workflowId: string; url: string };

/**
 * Re-runs a submission from its first stage that did not succeed, without redoing the ones that did:
 * evaluations only (the fine-tuned artifact is kept), fine-tune onwards (the images are kept), or all.
 */
export async function retryPipeline(
  client: Client,
  config: RuntimeConfig,
  db: ResultsStore,
  submissionId: string,
  options: { suites?: Record<SuiteKind, string>; limits?: PartialStageLimits } = {},
): Promise<RetryPlan> {
  const submission = await db.submission(submissionId);
  if (!submission) throw new Error(`no submission "${submissionId}" in ${db.location}; list them with: challenge status`);
  const stages = new Map((await db.stages(submissionId)).map((s) => [s.stage, s]));
  const ok = (stage: string) => stages.get(stage)?.outcome === 'succeeded';
  // A retry runs under the limits the submission ran under, unless the operator gives others.
  const recorded = (stage: string) => stages.get(stage)?.limitMs ?? undefined;
  const limits: PartialStageLimits = {
    ...Object.fromEntries(
      Object.entries(STAGE_LIMIT_KEY)
        .map(([stage, key]) => [key, recorded(stage)])
        .filter(([key, value]) => key !== null && value !== undefined),
    ),
    ...options.limits,
  };
  if (['build', 'fine-tune', ...EVAL_STAGES].every(ok)) return { kind: 'nothing-to-retry', reason: 'every stage succeeded' };
  if (ok('build') && (ok('fine-tune') || stages.get('fine-tune')?.outcome === 'partial')) {
    const suites = (['open', 'closed'] as SuiteKind[]).filter((kind) => !ok(EVAL_STAGE[kind]));
    const files = options.suites ?? defaultSuiteFiles(submission.track);
    const started = await reevaluate(
      client,
      config,
      { submissionId, track: submission.track as TrackId, suites: Object.fromEntries(suites.map((k) => [k, files[k]])), reason: 'retry', limits },
      'retry',
    );
    return { kind: 'reevaluate', suites, ...started };
  }
  const result = await submit(client, config, submission.directory, { reuseBuild: ok('build'), limits });
  return { kind: 'pipeline', reuseBuild: ok('build'), result };
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
