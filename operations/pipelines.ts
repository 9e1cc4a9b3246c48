/**
 * Pipelines as operators drive them: submit, status, list. Functions that return data, shared by the CLI
 * (cli/commands/* parse arguments and print), the demo and the tests. `stageProgressLines` is what
 * `challenge status [--watch]` prints under an evaluation stage (answered/total, rate, projected end against the
 * limit, the warning, the probe's prediction); `liveStagesOf` gives the web pages the running stages' state.
 */
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { TASK_QUEUES, type PartialStageLimits, type RetryOverride } from '../temporal.config.js';
import { type RuntimeConfig } from '../infra/runtime-config.js';
import { loadSubmission } from '../domain/submission.js';
import { trainsIn, type PhaseRun } from '../domain/competition/runs.js';
import { loadSuite, type SuiteKind } from '../domain/harness/suite.js';
import type { HarnessSettings, HostPolicy, PipelineInput, SubmissionSource } from '../contract/types.js';
import { SA } from '../contract/search-attributes.js';
import { pipelineWorkflowId, progressQuery, type PipelineState, type StageState } from '../contract/pipeline.js';
import { liveProgressView } from '../domain/reports/prediction-progress.js';
import { submissionPipeline } from '../workflows/submission-pipeline.js';
import { defaultSuiteFiles } from '../infra/paths.js';
import { workflowUrl } from '../infra/temporal.js';

export interface SubmitOptions {
  track?: string;
  limits?: PartialStageLimits;
  suites?: Record<SuiteKind, string>;
  harness?: Partial<HarnessSettings>;
  heartbeatTimeoutMs?: number;
  /** Host failure detection overrides (tests shorten it). */
  hostPolicy?: HostPolicy;
  /** Backoff overrides for builds that failed for the platform's reasons (tests shorten it). */
  buildRetry?: RetryOverride;
  /** Retry of a pipeline whose build succeeded: reuse its images instead of building again. */
  reuseBuild?: boolean;
  /** An upload through the participants' door (operations/intake.ts): its stored archive, which build hosts without the directory use. */
  source?: SubmissionSource;
  /** What this run is for in the competition (its phase, purpose and stages: domain/competition/runs.ts); absent: every stage runs. */
  run?: PhaseRun;
}

export interface SubmitResult {
  status: 'started' | 'already-running' | 'already-completed';
  submissionId: string;
  workflowId: string;
  runId: string | null;
  url: string;
}

export async function submit(client: Client, config: RuntimeConfig, directory: string, options: SubmitOptions = {}): Promise<SubmitResult> {
  // A run of a phase without fine-tuning needs no Dockerfile.train: the image is evaluated as built.
  const loaded = loadSubmission(directory, options.track, { inferenceOnly: options.run ? !trainsIn(options.run.stages) : false });
  const { manifest, submissionId } = loaded;
  const workflowId = pipelineWorkflowId(submissionId);
  const suites = options.suites ?? defaultSuiteFiles(manifest.track);
  for (const kind of ['open', 'closed'] as const) loadSuite(suites[kind]); // fail here, not in a GPU stage
  const input: PipelineInput = {
    submissionId,
    team: manifest.team,
    submission: manifest.submission,
    track: manifest.track,
    directory: loaded.directory,
    suites,
    ...(options.limits ? { limits: options.limits } : {}),
    ...(options.harness ? { harness: options.harness } : {}),
    ...(options.heartbeatTimeoutMs ? { heartbeatTimeoutMs: options.heartbeatTimeoutMs } : {}),
    ...(options.hostPolicy ? { hostPolicy: options.hostPolicy } : {}),
    ...(options.buildRetry ? { buildRetry: options.buildRetry } : {}),
    ...(options.source ? { source: options.source } : {}),
    ...(options.run ? { run: options.run } : {}),
  };
  const url = workflowUrl(config, workflowId);
  // A submission that is running, or that went through to scoring, is not started again; one whose
  // pipeline failed (or was cancelled) may be submitted again once it is fixed.
  const previous = await describeIfExists(client, workflowId);
  if (previous?.status === 'RUNNING') return { status: 'already-running', submissionId, workflowId, runId: previous.runId, url };
  if (previous?.status === 'COMPLETED' && !options.reuseBuild) {
    const state = await client.workflow.getHandle<typeof submissionPipeline>(workflowId).result();
    if (state.outcome === 'completed') return { status: 'already-completed', submissionId, workflowId, runId: previous.runId, url };
  }
  return startPipelineWorkflow(client, url, { ...input, ...(options.reuseBuild ? { reuseBuild: true } : {}) }, {
    summary:
      `Pipeline of ${manifest.team}/${manifest.submission} on track ${manifest.track}` +
      `${options.run ? `, ${options.run.purpose} run of phase ${options.run.phase}` : ''}${options.reuseBuild ? ' (retry: build reused)' : ''}`,
    details: `Builds the images, fine-tunes, then runs the open and closed evaluations of ${submissionId}.`,
  });
}

/**
 * The one start of a submission's pipeline workflow (submit, and a retry from its earlier input in
 * operations/pipeline-restart.ts): its search attributes, the Web UI's summary, and the conflict policy under
 * which two starts at the same moment give one run and one "already running".
 */
export async function startPipelineWorkflow(client: Client, url: string, input: PipelineInput, texts: { summary: string; details: string }): Promise<SubmitResult> {
  const { submissionId } = input;
  const workflowId = pipelineWorkflowId(submissionId);
  try {
    // Started by the workflow function itself: its name and argument types come from the code that runs it.
    const handle = await client.workflow.start(submissionPipeline, {
      taskQueue: TASK_QUEUES.orchestrator,
      workflowId,
      args: [input],
      workflowIdConflictPolicy: 'FAIL',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      typedSearchAttributes: [
        { key: SA.Team, value: input.team },
        { key: SA.Submission, value: submissionId },
        { key: SA.Track, value: input.track },
        { key: SA.Stage, value: 'queued' },
        { key: SA.Outcome, value: 'running' },
        ...(input.run ? [{ key: SA.Phase, value: input.run.phase }] : []),
      ],
      staticSummary: texts.summary,
      staticDetails: texts.details,
    });
    return { status: 'started', submissionId, workflowId, runId: handle.firstExecutionRunId, url };
  } catch (error) {
    // Two starts at the same moment: the second one finds the first running.
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
    const description = await client.workflow.getHandle(workflowId).describe();
    return { status: 'already-running', submissionId, workflowId, runId: description.runId, url };
  }
}

async function describeIfExists(client: Client, workflowId: string) {
  try {
    const description = await client.workflow.getHandle(workflowId).describe();
    return { status: description.status.name, runId: description.runId };
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return null;
    throw error;
  }
}

export interface PipelineStatus {
  workflowId: string;
  status: string;
  state: PipelineState | null;
  /** Heartbeat details of the running activity (progress of training or evaluation). */
  activity: { type: string; attempt: number; details: unknown } | null;
}

export async function pipelineStatus(client: Client, workflowId: string): Promise<PipelineStatus> {
  const handle = client.workflow.getHandle(workflowId);
  const description = await handle.describe();
  let state: PipelineState | null = null;
  try {
    state = await handle.query(progressQuery);
  } catch {
    state = null; // no worker to answer (e.g. the orchestrator is down): the database still has the stages
  }
  const raw = await client.workflowService.describeWorkflowExecution({ namespace: client.options.namespace, execution: { workflowId } });
  const pending = raw.pendingActivities?.[0];
  let details: unknown = null;
  const payload = pending?.heartbeatDetails?.payloads?.[0];
  if (payload?.data) {
    try {
      details = JSON.parse(Buffer.from(payload.data).toString('utf8'));
    } catch {
      details = null;
    }
  }
  return {
    workflowId,
    status: description.status.name,
    state,
    activity: pending ? { type: pending.activityType?.name ?? '?', attempt: pending.attempt ?? 1, details } : null,
  };
}

export async function listPipelines(client: Client, query = "WorkflowType = 'submissionPipeline'") {
  const out: {
    workflowId: string;
    status: string;
    team: string | undefined;
    track: string | undefined;
    stage: string | undefined;
    outcome: string | undefined;
    failure: string | undefined;
    startTime: Date;
  }[] = [];
  for await (const execution of client.workflow.list({ query })) {
    const attrs = execution.typedSearchAttributes;
    out.push({
      workflowId: execution.workflowId,
      status: execution.status.name,
      team: attrs.get(SA.Team),
      track: attrs.get(SA.Track),
      stage: attrs.get(SA.Stage),
      outcome: attrs.get(SA.Outcome),
      failure: attrs.get(SA.FailureCategory),
      startTime: execution.startTime,
    });
  }
  return out.sort((a, b) => a.workflowId.localeCompare(b.workflowId));
}

/**
 * The lines `challenge status` prints under a stage (indented by the caller): while an evaluation runs, its
 * answered/total, rate and projected end against the limit (a warning line when the projection passes it) and the
 * probe's prediction; once it ended, what it answered and what the probe had said. None for other stages.
 */
export function stageProgressLines(stage: StageState): string[] {
  return liveProgressView(stage)?.lines ?? [];
}

/**
 * The live stages of a submission's pipeline, from its progress query: what the web pages show for a stage the
 * results database has no record of yet. Null when the workflow is unknown or no worker answers (the pages then
 * show what the database has, after at most `timeoutMs`).
 */
export function liveStagesOf(client: Client, options: { timeoutMs?: number } = {}): (submissionId: string) => Promise<StageState[] | null> {
  const timeoutMs = options.timeoutMs ?? 3000; // a page waits no longer than this for a worker to answer
  return async (submissionId) => {
    try {
      const handle = client.workflow.getHandle(pipelineWorkflowId(submissionId));
      return (await client.withDeadline(Date.now() + timeoutMs, () => handle.query(progressQuery))).stages;
    } catch {
      return null;
    }
  };
}
