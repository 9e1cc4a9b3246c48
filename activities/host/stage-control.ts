/**
 * How a host stage runs as a Temporal activity: it announces its real start to the workflow, heartbeats for
 * its whole life, and knows at any moment whether (and why) it is being stopped.
 */
import { Context, heartbeat } from '@temporalio/activity';
import type { StageName } from '../../temporal.config.js';
import { stageStartedSignal } from '../../contract/pipeline.js';

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
 * Tells the workflow the stage really started (its limit runs from here, not from when it was queued)
 * and returns that moment; a later execution of the same stage keeps the first start.
 */
export async function beginStage(stage: StageName, stageStartedAt: number | null): Promise<number> {
  const ctx = Context.current();
  const reported = (ctx.info.heartbeatDetails as { stageStartedAt?: number } | undefined)?.stageStartedAt;
  const at = stageStartedAt ?? reported ?? Date.now();
  const workflowId = ctx.info.workflowExecution?.workflowId;
  try {
    if (workflowId) await ctx.client.workflow.getHandle(workflowId).signal(stageStartedSignal, { stage, at });
  } catch (error) {
    // The activity enforces its own deadline; the workflow's timer then only starts at its backstop.
    ctx.log.warn('could not signal the stage start', { stage, error: String(error) });
  }
  return at;
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
