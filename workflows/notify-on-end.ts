/**
 * The end-of-submission notifications, as the pipeline calls them after recording its end: one activity task per
 * receiver (the team's webhook, the competition's; activities/notify.ts), each retried a few times with backoff.
 * A receiver that keeps failing, or an orchestrator that does not register the activity, never fails the pipeline:
 * what is left after the retries is logged and the pipeline ends as it would have.
 *
 * Guarded by a patch so that histories recorded before notifications existed (test/fixtures/histories) replay.
 */
import { ActivityFailure, log, patched, proxyActivities } from '@temporalio/workflow';
import { TASK_QUEUES } from '../temporal.config.js';
import type { NotifyActivities, NotifyReceiver } from '../activities/notify.js';

export const NOTIFY_ON_END_PATCH = 'notify-on-end';

/** Kept here (not imported from activities/notify.ts, whose values the workflow bundle may not load). */
const RECEIVERS: readonly NotifyReceiver[] = ['team', 'competition'];

const notifications = proxyActivities<NotifyActivities>({
  taskQueue: TASK_QUEUES.orchestrator,
  // One POST is limited to 10 s by the activity; the rest is margin for reading the results database.
  startToCloseTimeout: '30s',
  retry: {
    initialInterval: '2s',
    backoffCoefficient: 2,
    maximumInterval: '30s',
    maximumAttempts: 4,
    // A receiver that refuses (4xx) or a URL that is not http(s) will not get better; NotFoundError is an
    // orchestrator without the activity registered (an older worker during a deploy, or a test's worker).
    nonRetryableErrorTypes: ['WebhookRefused', 'WebhookInvalid', 'NotFoundError'],
  },
});

/** Notifies every receiver that the submission ended; never throws. */
export async function notifySubmissionEnded(submissionId: string): Promise<void> {
  if (!patched(NOTIFY_ON_END_PATCH)) return;
  const results = await Promise.allSettled(RECEIVERS.map((receiver) => notifications.notifySubmissionEnded({ submissionId, receiver })));
  results.forEach((result, i) => {
    if (result.status === 'rejected') {
      const error: unknown = result.reason;
      const message = error instanceof ActivityFailure && error.cause ? error.cause.message : error instanceof Error ? error.message : String(error);
      log.warn('the end of the submission could not be notified', { submissionId, receiver: RECEIVERS[i], error: message });
    }
  });
}
