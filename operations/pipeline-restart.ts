/**
 * Starts a submission's pipeline again from a whole PipelineInput (what its first run was started with, see
 * operations/started-with.ts), not from the directory: a retry keeps the run's submission id (`<id>.final` too),
 * its phase and stages, the upload's stored archive and the phase's suites. The start itself is submit's
 * (operations/pipelines.ts startPipelineWorkflow); its suites are loaded here, not in a GPU stage.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { RuntimeConfig } from '../infra/runtime-config.js';
import { loadSuite } from '../domain/harness/suite.js';
import type { PipelineInput } from '../contract/types.js';
import { pipelineWorkflowId } from '../contract/pipeline.js';
import { workflowUrl } from '../infra/temporal.js';
import { startPipelineWorkflow, type SubmitResult } from './pipelines.js';

export async function restartPipeline(client: Client, config: RuntimeConfig, input: PipelineInput, options: { reuseBuild: boolean }): Promise<SubmitResult> {
  const { submissionId } = input;
  const workflowId = pipelineWorkflowId(submissionId);
  const url = workflowUrl(config, workflowId);
  for (const kind of ['open', 'closed'] as const) loadSuite(input.suites[kind]); // a bad or missing suite fails here
  const running = await runningRunId(client, workflowId);
  if (running !== null) return { status: 'already-running', submissionId, workflowId, runId: running, url };
  const { reuseBuild: _earlier, ...rest } = input; // an earlier retry's choice is not this one's
  const args: PipelineInput = { ...rest, ...(options.reuseBuild ? { reuseBuild: true } : {}) };
  return startPipelineWorkflow(client, url, args, {
    summary:
      `Retry of the pipeline of ${input.team}/${input.submission} on track ${input.track}` +
      `${input.run ? `, ${input.run.purpose} run of phase ${input.run.phase}` : ''}${options.reuseBuild ? ' (build reused)' : ''}`,
    details: `Runs ${submissionId} again from its first stage that did not succeed, with the input its earlier run was started with.`,
  });
}

async function runningRunId(client: Client, workflowId: string): Promise<string | null> {
  try {
    const description = await client.workflow.getHandle(workflowId).describe();
    return description.status.name === 'RUNNING' ? description.runId : null;
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return null;
    throw error;
  }
}
