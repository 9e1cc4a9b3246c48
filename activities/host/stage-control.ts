/**
 * How a host stage runs as a Temporal activity: it announces its real start (and an evaluation its progress) to
 * the workflow, heartbeats for its whole life, and knows at any moment whether (and why) it is being stopped.
 */
import { Context, heartbeat } from '@temporalio/activity';
import type { SignalDefinition } from '@temporalio/common';
import type { StageName } from '../../temporal.config.js';
import { stageProgressSignal, stageStartedSignal, type StageProgress } from '../../contract/pipeline.js';

export type Stop = 'deadline' | 'cancelled' | 'shutdown';

/** Why the activity is being stopped: its own deadline, the workflow (limit or operator), or a worker shutdown. */
export function stopReasonNow(ctx: Context, deadline: number): Stop | null {
  if (ctx.cancellationSignal.aborted) return ctx.cancellationDetails?.workerShutdown ? 'shutdown' : 'cancelled';
  return Date.now() >= deadline ? 'deadline' : null;
}

/**
 * Resolves after `ms`, or at once when the activity is cancelled. The abort listener goes when the timer fires:
 * the training loop pauses twice a second for up to a day, and each pause would otherwise leave one behind.
 */
export function pause(ctx: Context, ms: number): Promise<void> {
  const signal = ctx.cancellationSignal;
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Signals the workflow that runs this activity. A signal that cannot be sent is logged, not thrown: the stage
 * goes on without it (what the signals tell is also in the activity's result or enforced by the activity itself).
 */
async function signalOwnWorkflow<T>(ctx: Context, signal: SignalDefinition<[T]>, arg: T, what: string): Promise<void> {
  const workflowId = ctx.info.workflowExecution?.workflowId;
  try {
    if (workflowId) await ctx.client.workflow.getHandle(workflowId).signal(signal, arg);
  } catch (error) {
    ctx.log.warn(`could not signal ${what}`, { workflowId, error: String(error) });
  }
}

/**
 * Tells the workflow the stage really started (its limit runs from here, not from when it was queued)
 * and returns that moment; a later execution of the same stage keeps the first start.
 */
export async function beginStage(stage: StageName, stageStartedAt: number | null): Promise<number> {
  const ctx = Context.current();
  const reported = (ctx.info.heartbeatDetails as { stageStartedAt?: number } | undefined)?.stageStartedAt;
  const at = stageStartedAt ?? reported ?? Date.now();
  // Unsent, the activity still enforces its own deadline; the workflow's timer then only starts at its backstop.
  await signalOwnWorkflow(ctx, stageStartedSignal, { stage, at }, `the start of ${stage}`);
  return at;
}

/** Tells the workflow an evaluation's progress (answered of total, the probe's prediction); `ctx` is captured by the caller. */
export function signalStageProgress(ctx: Context, progress: StageProgress): Promise<void> {
  return signalOwnWorkflow(ctx, stageProgressSignal, progress, `the progress of ${progress.stage}`);
}

/**
 * One signal for every reason to stop a stage's work: the workflow's cancel (its limit or an operator), the
 * activity's own copy of the deadline (no heartbeat round trip needed), or a worker shutdown. `release` removes
 * the listener and the timer; call it once the work it guarded is over.
 */
export function stopSignal(ctx: Context, deadline: number): { signal: AbortSignal; stoppedBy: () => Stop | null; release: () => void } {
  const stop = new AbortController();
  const onCancel = () => stop.abort(ctx.cancellationDetails?.workerShutdown ? 'shutdown' : 'cancelled');
  ctx.cancellationSignal.addEventListener('abort', onCancel, { once: true });
  if (ctx.cancellationSignal.aborted) onCancel();
  const deadlineTimer = setTimeout(() => stop.abort('deadline'), Math.max(0, deadline - Date.now()));
  return {
    signal: stop.signal,
    stoppedBy: () => (stop.signal.aborted ? (stop.signal.reason as Stop) : null),
    release: () => {
      clearTimeout(deadlineTimer);
      ctx.cancellationSignal.removeEventListener('abort', onCancel);
    },
  };
}

/**
 * Heartbeats `details()` every second for the whole activity, set-up included (creating a network or
 * removing an earlier attempt's container can take longer than a short heartbeat timeout).
 */
export function heartbeatEvery(details: () => Record<string, unknown>, everyMs = 1000): { stop: () => void } {
  heartbeat(details());
  const timer = setInterval(() => heartbeat(details()), everyMs);
  return { stop: () => clearInterval(timer) };
}
