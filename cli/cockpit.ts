/**
 * The rest of an operator's day: logs, cancel, retry, re-evaluation and schedules of batch
 * re-evaluations. Functions return data; cli/challenge.ts parses and prints.
 */
import { ScheduleNotFoundError, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { EVAL_STAGE, EVAL_STAGES, STAGE_LIMIT_KEY, TASK_QUEUES, type PartialStageLimits, type TrackId } from '../temporal.config.js';
import { type RuntimeConfig } from '../infra/runtime-config.js';
import { loadSuite, type SuiteKind } from '../domain/harness/suite.js';
import type { ResultsStore } from '../infra/results-store.js';
import { workflowUrl } from '../infra/temporal.js';
import { defaultSuiteFiles } from '../infra/paths.js';
import { pipelineWorkflowId, reevaluationWorkflowId } from '../contract/pipeline.js';
import { batchEvaluation, reevaluateSubmission, type BatchInput, type ReevaluateInput } from '../workflows/batch-evaluation.js';
import { batchProgressQuery, batchWorkflowId, type BatchProgress } from '../contract/batch.js';
import { submit, type SubmitResult } from '../operations/pipelines.js';
import { logExcerpt } from '../domain/failures.js';
import { artifactKeys } from '../infra/artifact-store.js';
import { openArtifactStore } from '../infra/open-artifact-store.js';

/**
 * The last `lines` lines of each stage log of a submission (or one stage), earlier attempts included:
 * from this host's data folder when the stages ran here, else from the artifact store (the GPU hosts
 * copy their logs there).
 */
export async function stageLogs(config: RuntimeConfig, submissionId: string, stage?: string, lines = 100): Promise<{ file: string; text: string }[]> {
  const wanted = (file: string) => file.endsWith('.log') && (stage === undefined || file === `${stage}.log` || file.startsWith(`${stage}.`));
  const tail = (text: string) => logExcerpt(text, lines, Infinity);
  const dir = path.join(config.dataDir, 'logs', submissionId);
  if (existsSync(dir)) {
    const local = readdirSync(dir).filter(wanted).sort();
    if (local.length > 0) return local.map((file) => ({ file: path.join(dir, file), text: tail(readFileSync(path.join(dir, file), 'utf8')) }));
  }
  const store = await openArtifactStore(config.artifactStore);
  const prefix = artifactKeys.logs(submissionId);
  const out: { file: string; text: string }[] = [];
  for (const { key } of await store.list(prefix)) {
    if (!wanted(key.slice(prefix.length + 1))) continue;
    const text = await store.getText(key);
    if (text !== null) out.push({ file: `${store.location}/${key}`, text: tail(text) });
  }
  return out;
}

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

export interface ScheduleSpec {
  scheduleId: string;
  cron: string;
  suites: Partial<Record<SuiteKind, string>>;
  track?: TrackId;
  concurrency: number;
  /** What happens when the previous batch is still running: skip this one (default) or run it next. */
  overlap: 'skip' | 'buffer-one';
  limits?: PartialStageLimits;
}

export async function createSchedule(client: Client, spec: ScheduleSpec): Promise<void> {
  for (const file of Object.values(spec.suites)) if (file) loadSuite(file);
  const input: BatchInput = {
    suites: spec.suites,
    ...(spec.track ? { track: spec.track } : {}),
    concurrency: spec.concurrency,
    ...(spec.limits ? { limits: spec.limits } : {}),
  };
  await client.schedule.create({
    scheduleId: spec.scheduleId,
    spec: { cronExpressions: [spec.cron] },
    action: {
      type: 'startWorkflow',
      workflowType: batchEvaluation,
      taskQueue: TASK_QUEUES.orchestrator,
      workflowId: batchWorkflowId(spec.scheduleId),
      args: [input],
    },
    policies: {
      // Evaluations take hours: never pile batches up on the GPUs.
      overlap: spec.overlap === 'skip' ? ScheduleOverlapPolicy.SKIP : ScheduleOverlapPolicy.BUFFER_ONE,
      // After an outage, run at most the one batch missed in the last hour, not a year of them.
      catchupWindow: '1h',
      pauseOnFailure: false,
    },
    state: {
      note: `cron "${spec.cron}": re-evaluates the completed submissions of ${spec.track ?? 'every track'} against ${Object.keys(spec.suites).join(' and ')}`,
    },
  });
}

export async function listSchedules(client: Client) {
  const out: { scheduleId: string; paused: boolean; note: string | undefined; nextRun: Date | undefined; recentRuns: number }[] = [];
  for await (const schedule of client.schedule.list()) {
    out.push({
      scheduleId: schedule.scheduleId,
      paused: schedule.state.paused,
      note: schedule.state.note,
      nextRun: schedule.info.nextActionTimes[0],
      recentRuns: schedule.info.recentActions.length,
    });
  }
  return out;
}

export async function scheduleAction(client: Client, scheduleId: string, action: 'pause' | 'unpause' | 'trigger' | 'delete' | 'describe'): Promise<unknown> {
  const handle = client.schedule.getHandle(scheduleId);
  try {
    switch (action) {
      case 'pause':
        return await handle.pause('paused from the challenge CLI');
      case 'unpause':
        return await handle.unpause('unpaused from the challenge CLI');
      case 'trigger':
        return await handle.trigger(ScheduleOverlapPolicy.ALLOW_ALL);
      case 'delete':
        return await handle.delete();
      case 'describe': {
        const d = await handle.describe();
        // The batch running now (if any) answers how far it got: selected, done, failed, running, pending. The
        // schedule lists running actions only where its overlap policy needs them (not for a manual trigger with
        // ALLOW_ALL), so the latest action is checked too; the handle follows its continue-as-new chain.
        const latest = d.info.runningActions[0]?.workflow ?? d.info.recentActions.at(-1)?.action.workflow;
        let runningBatch: { workflowId: string; progress: BatchProgress | null } | null = null;
        if (latest) {
          const batch = client.workflow.getHandle<typeof batchEvaluation>(latest.workflowId);
          const status = await batch.describe().then((b) => b.status.name, () => null);
          if (status === 'RUNNING') runningBatch = { workflowId: latest.workflowId, progress: await batch.query(batchProgressQuery).catch(() => null) };
        }
        return {
          scheduleId,
          paused: d.state.paused,
          note: d.state.note,
          overlap: d.policies.overlap,
          catchupWindow: d.policies.catchupWindow,
          recentActions: d.info.recentActions.map((a) => a.action.workflow.workflowId),
          nextActionTimes: d.info.nextActionTimes.slice(0, 3),
          runningBatch,
        };
      }
    }
  } catch (error) {
    if (error instanceof ScheduleNotFoundError) throw new Error(`no schedule "${scheduleId}"; list them with: challenge schedule list`);
    throw error;
  }
}
