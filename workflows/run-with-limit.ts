/**
 * A stage under a durable time limit: the stage runs in its own cancellation scope, raced against a
 * workflow timer. When the timer fires first, the scope is cancelled; the activity stops its container
 * and returns what the stage produced (WAIT_CANCELLATION_COMPLETED delivers that value here).
 * The loser is always cancelled: a plain Promise.race would leave a GPU job running.
 */
import { CancellationScope, condition, isCancellation, sleep } from '@temporalio/workflow';

export type LimitedResult<T> =
  | { ok: true; value: T; /** the timer fired before the stage finished */ timerFired: boolean }
  | { ok: false; error: unknown; timerFired: boolean };

export interface LimitOptions<T> {
  limitMs: number;
  /** The limit timer's summary in the Web UI ("The fine-tune stage reaches its limit of 1d"). */
  summary: string;
  /** Workflow time at which the stage really started (its start signal); undefined until then. */
  startedAt: () => number | undefined;
  stage: () => Promise<T>;
}

/**
 * Runs `stage` under `limitMs`, counted from `startedAt()` (the timer waits until it is known). A
 * cancellation that did not come from the timer (an operator cancelling the workflow) is rethrown; every
 * other ending is returned.
 */
export async function runWithLimit<T>({ limitMs, summary, startedAt, stage }: LimitOptions<T>): Promise<LimitedResult<T>> {
  let timerFired = false;
  const stageScope = new CancellationScope();
  const timerScope = new CancellationScope();
  timerScope
    .run(async () => {
      await condition(() => startedAt() !== undefined);
      await sleep(Math.max(0, limitMs - (Date.now() - startedAt()!)), { summary });
    })
    .then(
      () => {
        timerFired = true;
        stageScope.cancel();
      },
      () => undefined, // the timer was cancelled because the stage finished first
    );
  try {
    const value = await stageScope.run(stage);
    return { ok: true, value, timerFired };
  } catch (error) {
    if (isCancellation(error) && !timerFired) throw error;
    return { ok: false, error, timerFired };
  } finally {
    timerScope.cancel();
  }
}
