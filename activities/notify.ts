/**
 * End-of-submission notifications (webhooks), an orchestrator activity: when a pipeline ends, its team's webhook
 * (TeamStore team.webhook) and the competition's (competition file notifications.webhook) each get one JSON POST
 * saying how it ended. One call of the activity serves one receiver, so a retry after a failing receiver never
 * sends the other one a second copy.
 *
 * What goes out is public by construction: the reason goes through domain/redaction.ts (a reason of the closed
 * evaluation or later is rebuilt from its category and counts, never copied), the scores are the open suite's
 * columns and the leaderboard's final score; no closed-suite prompt, answer or server text is read here at all.
 *
 * Failures: a receiver that answers 5xx, 408 or 429, times out (10 s) or cannot be reached raises a retryable
 * failure (the workflow's retry policy backs off and tries again); one that answers another 4xx, or a URL that is
 * not http(s), is not retried. The workflow catches whatever is left and logs it: a notification never fails a pipeline.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { loadCompetition } from '../domain/competition/index.js';
import type { FailureCategory } from '../domain/failures.js';
import { loadSuite } from '../domain/harness/suite.js';
import { buildLeaderboard, rulesForSuites, type LeaderboardSubmission } from '../domain/standings-table.js';
import { publicFailureReason, type StageFacts } from '../domain/redaction.js';
import { competitionFilePath, defaultSuiteFiles } from '../infra/paths.js';
import type { ResultsStore, StageRecord } from '../infra/results-store.js';

/** Which webhook one call notifies. */
export const NOTIFY_RECEIVERS = ['team', 'competition'] as const;
export type NotifyReceiver = (typeof NOTIFY_RECEIVERS)[number];

export interface NotifyInput {
  submissionId: string;
  receiver: NotifyReceiver;
}

export interface NotifyResult {
  receiver: NotifyReceiver;
  /** True when the receiver answered 2xx. */
  delivered: boolean;
  /** The receiver's HTTP status, when one was called. */
  status: number | null;
  /** Why nothing was sent (no webhook configured), else null. */
  skipped: string | null;
}

/** The JSON body a receiver gets. */
export interface SubmissionEndedEvent {
  event: 'submission.ended';
  submissionId: string;
  team: string;
  track: string;
  outcome: string;
  failureCategory: FailureCategory | null;
  /** The public reason (domain/redaction.ts), or null when the submission completed without a failure. */
  reason: string | null;
  scores: {
    /** The open suite's scenario columns as recorded. */
    open: { scenario: string; column: string; score: number; instances: number; answered: number; failed: number }[];
    /** The track leaderboard's final score and rank at the time of the notification; null when not ranked. */
    final: number | null;
    rank: number | null;
  };
  endedAt: string | null;
}

export interface NotifyOptions {
  /** The competition file; default $CHALLENGE_COMPETITION, else competitions/demo.json. */
  competitionFile?: string;
  /** Per call (default 10 s). */
  timeoutMs?: number;
  /** The suites the final score is ranked on (default: the track's, as the leaderboard ranks it). */
  suiteFiles?: (track: string) => Record<'open' | 'closed', string>;
}

export const NOTIFY_TIMEOUT_MS = 10_000;

/** The failure types the workflow's retry policy does not retry (a receiver that refuses, a URL that is not http(s)). */
export const NOTIFY_NON_RETRYABLE = ['WebhookRefused', 'WebhookInvalid'] as const;

const competitionFileOf = (options: NotifyOptions): string => options.competitionFile ?? competitionFilePath();

const factsOf = (stage: StageRecord): StageFacts => ({
  stage: stage.stage,
  outcome: stage.outcome,
  category: stage.failureCategory,
  reason: stage.reason,
  limitMs: stage.limitMs,
  details: stage.details,
});

/** The track leaderboard's row of the submission (final score and rank); null when it cannot be ranked. */
async function finalOf(db: ResultsStore, track: string, submissionId: string, options: NotifyOptions): Promise<{ final: number; rank: number } | null> {
  try {
    const files = (options.suiteFiles ?? defaultSuiteFiles)(track);
    const rules = rulesForSuites({ open: loadSuite(files.open), closed: loadSuite(files.closed) });
    const submissions: LeaderboardSubmission[] = [];
    for (const s of await db.submissions(track)) {
      const pipeline = await db.pipeline(s.submissionId);
      const stages = await db.stages(s.submissionId);
      const failed = stages.find((stage) => stage.failureCategory !== null && stage.failureCategory !== 'Cancelled');
      submissions.push({
        submissionId: s.submissionId,
        team: s.team,
        track: s.track,
        outcome: pipeline?.outcome ?? 'unknown',
        failureCategory: pipeline?.failureCategory ?? failed?.failureCategory ?? null,
        failureReason: null,
      });
    }
    const scores = (await db.scenarioScores()).map((s) => ({ submissionId: s.submissionId, suite: s.suite, column: s.column, score: s.score }));
    const row = buildLeaderboard(track, rules, submissions, scores).rows.find((r) => r.submissionId === submissionId);
    return row ? { final: row.final, rank: row.rank } : null;
  } catch (error) {
    Context.current().log.warn('could not rank the submission for its notification; sending it without a final score', { submissionId, error: String(error) });
    return null;
  }
}

/** What a receiver is told about a submission that ended, from the results database; public fields only. */
export async function submissionEndedEvent(db: ResultsStore, submissionId: string, options: NotifyOptions = {}): Promise<SubmissionEndedEvent> {
  const record = await db.submission(submissionId);
  if (!record) throw ApplicationFailure.nonRetryable(`no submission "${submissionId}" in the results database (${db.location}); nothing to notify`, 'WebhookInvalid');
  const pipeline = await db.pipeline(submissionId);
  const stages = (await db.stages(submissionId)).map(factsOf);
  const failed = stages.find((s) => s.category !== null && s.category !== 'Cancelled');
  const pipelineFacts = pipeline ? { outcome: pipeline.outcome, category: pipeline.failureCategory, reason: pipeline.reason } : null;
  const open = (await db.scenarioScores(submissionId))
    .filter((s) => s.suite === 'open')
    .map(({ scenario, column, score, instances, answered, failed: failedCount }) => ({ scenario, column, score, instances, answered, failed: failedCount }));
  const ranked = await finalOf(db, record.track, submissionId, options);
  return {
    event: 'submission.ended',
    submissionId,
    team: record.team,
    track: record.track,
    outcome: pipeline?.outcome ?? 'unknown',
    failureCategory: pipeline?.failureCategory ?? (failed?.category as FailureCategory | null | undefined) ?? null,
    reason: publicFailureReason(stages, pipelineFacts),
    scores: { open, final: ranked?.final ?? null, rank: ranked?.rank ?? null },
    endedAt: pipeline?.updatedAt ?? null,
  };
}

/** The webhook of a receiver, or null when none is configured. */
async function webhookOf(db: ResultsStore, receiver: NotifyReceiver, team: string, options: NotifyOptions): Promise<string | null> {
  if (receiver === 'team') return (await db.team(team))?.webhook ?? null;
  const file = competitionFileOf(options);
  try {
    return loadCompetition(file).notifications.webhook ?? null;
  } catch (error) {
    throw ApplicationFailure.nonRetryable(`the competition file ${file} cannot be read for its webhook: ${(error as Error).message}`, 'WebhookInvalid');
  }
}

/** Only http(s) URLs are called; anything else is refused without a request. */
function webhookUrl(url: string, receiver: NotifyReceiver): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw ApplicationFailure.nonRetryable(`the ${receiver} webhook "${url}" is not a URL; set an http(s) URL`, 'WebhookInvalid');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw ApplicationFailure.nonRetryable(`the ${receiver} webhook ${parsed.protocol}… is not http(s); only http(s) webhooks are called`, 'WebhookInvalid');
  return parsed;
}

/** A webhook's address for logs and messages: origin and path, no query (it may carry a receiver's secret). */
const shown = (url: URL): string => `${url.origin}${url.pathname}`;

/** POSTs the event; throws a retryable failure on 5xx/408/429/network/timeout, a non-retryable one on other 4xx. */
async function post(url: URL, receiver: NotifyReceiver, event: SubmissionEndedEvent, timeoutMs: number): Promise<number> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'challenge-notify/1', 'x-challenge-event': event.event, 'x-challenge-submission': event.submissionId },
      body: JSON.stringify(event),
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (error) {
    const cause = (error as { name?: unknown } | null)?.name === 'TimeoutError' ? `no answer within ${timeoutMs / 1000} s` : String((error as Error).cause ?? error);
    throw ApplicationFailure.retryable(`the ${receiver} webhook ${shown(url)} could not be reached: ${cause}; it will be tried again`, 'WebhookUnreachable');
  }
  await response.body?.cancel();
  if (response.ok) return response.status;
  const retry = response.status >= 500 || response.status === 408 || response.status === 429;
  const message = `the ${receiver} webhook ${shown(url)} answered ${response.status}${retry ? '; it will be tried again' : '; not retried (fix the receiver)'}`;
  throw retry ? ApplicationFailure.retryable(message, 'WebhookFailed') : ApplicationFailure.nonRetryable(message, 'WebhookRefused');
}

export function createNotifyActivities(db: ResultsStore, options: NotifyOptions = {}) {
  return {
    /** Tells one receiver (the team's webhook or the competition's) that a submission ended. */
    async notifySubmissionEnded(input: NotifyInput): Promise<NotifyResult> {
      const record = await db.submission(input.submissionId);
      if (!record) throw ApplicationFailure.nonRetryable(`no submission "${input.submissionId}" in the results database; nothing to notify`, 'WebhookInvalid');
      const configured = await webhookOf(db, input.receiver, record.team, options);
      if (!configured) return { receiver: input.receiver, delivered: false, status: null, skipped: `no ${input.receiver} webhook configured` };
      const url = webhookUrl(configured, input.receiver);
      const event = await submissionEndedEvent(db, input.submissionId, options);
      const status = await post(url, input.receiver, event, options.timeoutMs ?? NOTIFY_TIMEOUT_MS);
      Context.current().log.info('submission end notified', { submissionId: input.submissionId, receiver: input.receiver, webhook: shown(url), status });
      return { receiver: input.receiver, delivered: true, status, skipped: null };
    },
  };
}

export type NotifyActivities = ReturnType<typeof createNotifyActivities>;
