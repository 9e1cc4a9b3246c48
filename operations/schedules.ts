/**
 * Scheduled batch re-evaluations: a Temporal Schedule whose action is a batch workflow re-evaluating every completed
 * submission (of a track) with bounded concurrency. Create, list, describe (with the running batch's progress),
 * pause, unpause, trigger and delete; functions return data, the CLI (cli/commands/schedule.ts) prints.
 */
import { ScheduleNotFoundError, ScheduleOverlapPolicy, type Client } from '@temporalio/client';
import { TASK_QUEUES, type PartialStageLimits, type TrackId } from '../temporal.config.js';
import { loadSuite, type SuiteKind } from '../domain/harness/suite.js';
import { batchEvaluation, type BatchInput } from '../workflows/batch-evaluation.js';
import { batchProgressQuery, batchWorkflowId, type BatchProgress } from '../contract/batch.js';

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

export interface ScheduleSummary {
  scheduleId: string;
  paused: boolean;
  note: string | undefined;
  nextRun: Date | undefined;
  recentRuns: number;
}

export type ScheduleAction = 'pause' | 'unpause' | 'trigger' | 'delete' | 'describe';
export const SCHEDULE_ACTIONS: readonly ScheduleAction[] = ['describe', 'pause', 'unpause', 'trigger', 'delete'];

export async function listSchedules(client: Client): Promise<ScheduleSummary[]> {
  const out: ScheduleSummary[] = [];
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

export async function scheduleAction(client: Client, scheduleId: string, action: ScheduleAction): Promise<unknown> {
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
