/**
 * Activities of the benchmark workflows. They do (almost) nothing, so what a workflow takes beyond their
 * own time is the orchestration's. Stage activities signal their start like the real host activities do
 * (activities/host/stage-control.ts beginStage → stageStartedSignal), because runWithLimit counts the limit from there.
 */
import { Context, heartbeat } from '@temporalio/activity';
import { execa } from 'execa';
import type { StageName } from '../temporal.config.js';
import type { HostAssignment } from '../contract/types.js';
import { stageStartedSignal } from '../contract/pipeline.js';

export interface ActivityTiming {
  /** the activity function's own time, from its first line to its return, ms */
  ownMs: number;
  /** of which: the stage-start signal's round trip, ms */
  signalMs: number;
}

export interface GpuJobRecord {
  jobId: string;
  track: string;
  workMs: number;
  /** when the server scheduled the activity (ActivityTaskScheduled), epoch ms */
  scheduledAt: number;
  startAt: number;
  endAt: number;
}

/** A GPU job of the placement benchmark, with the host that ran it. */
export interface PlacedJobRecord extends GpuJobRecord {
  hostId: string;
  /** when the job's workflow had its host (the claim's answer), epoch ms */
  claimedAt: number;
}

export interface LimitedChildInput {
  limitMs: number;
  /** also stop at the activity's own copy of the deadline, as the real fineTune/evaluate do */
  selfDeadline: boolean;
  heartbeatEveryMs: number;
}

export interface LimitedChildResult {
  /** the stage start the activity reported (the limit runs from here), epoch ms */
  at: number;
  /** when the activity saw the cancellation (null: it stopped at its own deadline first) */
  cancelAt: number | null;
  /** when the child was told to stop */
  stopAt: number | null;
  /** when the child had exited */
  goneAt: number;
  reason: 'cancelled' | 'deadline' | 'exited';
  childStillThere: boolean;
}

/** Announces the stage start to the workflow, as activities/host/stage-control.ts beginStage does; returns the time spent. */
async function signalStart(stage: StageName, at: number): Promise<number> {
  const ctx = Context.current();
  const t0 = performance.now();
  const workflowId = ctx.info.workflowExecution?.workflowId;
  if (!workflowId) throw new Error('a stage activity runs inside a workflow');
  await ctx.client.workflow.getHandle(workflowId).signal(stageStartedSignal, { stage, at });
  return performance.now() - t0;
}

export function createBenchActivities() {
  return {
    /** a bookkeeping write that writes nothing */
    async noop(_what: string): Promise<ActivityTiming> {
      const t0 = performance.now();
      return { ownMs: performance.now() - t0, signalMs: 0 };
    },

    async claimHost(): Promise<ActivityTiming> {
      const t0 = performance.now();
      return { ownMs: performance.now() - t0, signalMs: 0 };
    },

    /** a stage: signal its start, heartbeat once, work `workMs` (0 by default) */
    async stage(input: { stage: StageName; workMs: number }): Promise<ActivityTiming> {
      const t0 = performance.now();
      const signalMs = await signalStart(input.stage, Date.now());
      heartbeat({ stage: input.stage });
      if (input.workMs > 0) await new Promise((resolve) => setTimeout(resolve, input.workMs));
      return { ownMs: performance.now() - t0, signalMs };
    },

    /** the claim of the placement benchmark's hosts before the placement (each host overrides it with its queues) */
    async claimSlotHost(): Promise<HostAssignment> {
      throw new Error('each host of the placement benchmark answers claimSlotHost with its own queues');
    },

    /** a GPU job: holds its slot for `workMs` */
    async gpuWork(input: { jobId: string; track: string; workMs: number }): Promise<GpuJobRecord> {
      const info = Context.current().info;
      const startAt = Date.now();
      await new Promise((resolve) => setTimeout(resolve, input.workMs));
      return { jobId: input.jobId, track: input.track, workMs: input.workMs, scheduledAt: info.currentAttemptScheduledTimestampMs, startAt, endAt: Date.now() };
    },

    /**
     * A stage under a limit that runs a child process (`sleep 30`): heartbeats while it runs; on
     * cancellation (the workflow's timer fired) it kills the child and returns.
     */
    async limitedChild(input: LimitedChildInput): Promise<LimitedChildResult> {
      const ctx = Context.current();
      const at = Date.now();
      await signalStart('fine-tune', at);
      const stop = new AbortController();
      let cancelAt: number | null = null;
      let stopAt: number | null = null;
      const onCancel = () => {
        cancelAt = Date.now();
        stopAt ??= cancelAt;
        stop.abort('cancelled');
      };
      ctx.cancellationSignal.addEventListener('abort', onCancel, { once: true });
      const deadline = input.selfDeadline
        ? setTimeout(
            () => {
              stopAt ??= Date.now();
              stop.abort('deadline');
            },
            Math.max(0, at + input.limitMs - Date.now()),
          )
        : null;
      heartbeat({ at });
      const beat = setInterval(() => heartbeat({ at }), input.heartbeatEveryMs);
      try {
        const child = execa('sleep', ['30'], { cancelSignal: stop.signal, reject: false, forceKillAfterDelay: 2000 });
        const pid = child.pid;
        await child;
        const goneAt = Date.now();
        let childStillThere = false;
        try {
          if (pid !== undefined) {
            process.kill(pid, 0);
            childStillThere = true;
          }
        } catch {
          childStillThere = false;
        }
        const reason = stop.signal.aborted ? (stop.signal.reason === 'deadline' ? 'deadline' : 'cancelled') : 'exited';
        return { at, cancelAt, stopAt, goneAt, reason, childStillThere };
      } finally {
        clearInterval(beat);
        if (deadline) clearTimeout(deadline);
        ctx.cancellationSignal.removeEventListener('abort', onCancel);
      }
    },
  };
}

export type BenchActivities = ReturnType<typeof createBenchActivities>;
