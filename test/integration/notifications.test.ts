/**
 * End-of-submission notifications (activities/notify.ts): the activity runs in Temporal's MockActivityEnvironment
 * against a real SQLite results database and a real HTTP receiver on 127.0.0.1. What is asserted is what the
 * receiver got: one POST with the submission's public facts, nothing of a closed-stage reason, a retryable failure
 * for each 5xx (the workflow's retry policy then tries again), and no call at all when no webhook is configured.
 */
import { afterAll, afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createNotifyActivities, type NotifyInput, type NotifyOptions, type NotifyResult, type SubmissionEndedEvent } from '../../activities/notify.js';
import { newToken } from '../../domain/teams/tokens.js';
import { PROJECT_ROOT } from '../../infra/paths.js';
import { ResultsDb } from '../../infra/results-db.js';

const temporary: string[] = [];
afterAll(() => {
  for (const dir of temporary) rmSync(dir, { recursive: true, force: true });
});

interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/** A webhook receiver answering each request with the next status of `statuses` (the last one repeats). */
class Receiver {
  readonly requests: Received[] = [];
  private readonly server: Server;
  constructor(private readonly statuses: number[] | 'never') {
    this.server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        this.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        if (this.statuses === 'never') return; // holds the request open: the caller's timeout must end it
        const status = this.statuses[Math.min(this.requests.length - 1, this.statuses.length - 1)]!;
        res.writeHead(status, { 'content-type': 'text/plain' }).end(`status ${status}`);
      });
    });
  }
  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks/challenge?secret=s3`;
  }
  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const PROMPT = 'Question: what is the capital of Zorbania? Answer with one word.';
const SUBMISSION = 'acme.sub1';
let db: ResultsDb;
let dir: string;
const receivers: Receiver[] = [];

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'notifications-'));
  temporary.push(dir);
  db = new ResultsDb(path.join(dir, 'results.sqlite'));
});
afterEach(async () => {
  db.close();
  await Promise.all(receivers.splice(0).map((r) => r.close()));
});

async function receiver(statuses: number[] | 'never'): Promise<{ receiver: Receiver; url: string }> {
  const r = new Receiver(statuses);
  receivers.push(r);
  return { receiver: r, url: await r.start() };
}

/** A competition file like competitions/demo.json, with `webhook` as its notifications.webhook (none when null). */
function competitionFile(webhook: string | null): string {
  const demo = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'competitions', 'demo.json'), 'utf8')) as Record<string, unknown>;
  const file = path.join(dir, 'competition.json');
  writeFileSync(file, JSON.stringify({ ...demo, ...(webhook ? { notifications: { webhook } } : {}) }));
  return file;
}

/** A team whose submission went through the open evaluation and failed in the closed one, its server echoing a prompt. */
async function endedSubmission(teamWebhook: string | null): Promise<void> {
  await db.createTeam({ name: 'acme', tracks: ['cpu'], webhook: teamWebhook, at: '2026-06-01T00:00:00Z' }, (await newToken()).stored);
  await db.registerRun({
    submissionId: SUBMISSION,
    team: 'acme',
    name: 'sub1',
    track: 'cpu',
    directory: '/nonexistent',
    workflowId: `submission-${SUBMISSION}`,
    runId: 'run-1',
    submittedAt: '2026-06-01T10:00:00Z',
  });
  const stage = (name: string, outcome: 'succeeded' | 'failed', extra: Partial<Parameters<ResultsDb['recordStage']>[0]> = {}) =>
    db.recordStage({ submissionId: SUBMISSION, stage: name, outcome, failureCategory: null, reason: null, startedAt: null, endedAt: null, limitMs: 600_000, details: null, ...extra });
  await stage('build', 'succeeded');
  await stage('fine-tune', 'succeeded');
  await stage('open-eval', 'succeeded', { details: { total: 4, answered: 4, failed: 0 } });
  await stage('closed-eval', 'failed', {
    failureCategory: 'ServerCrashed',
    reason: `the inference server exited with status 137 after 3 of 8 answers: Traceback ... prompt was "${PROMPT}"`,
    details: { total: 8, answered: 3, failed: 0, restarts: 1, logExcerpt: PROMPT },
  });
  await db.saveScenarioScores(SUBMISSION, 'open', [{ scenario: 'toy-qa', column: 'exact_match', score: 0.75, instances: 4, answered: 4, failed: 0 }]);
  await db.saveScenarioScores(SUBMISSION, 'closed', [{ scenario: 'hidden-qa', column: 'exact_match', score: 0.125, instances: 8, answered: 3, failed: 0 }]);
  await db.recordPipeline({ submissionId: SUBMISSION, outcome: 'completed', failureCategory: 'ServerCrashed', reason: null, updatedAt: '2026-06-01T11:00:00Z' });
}

async function notify(input: NotifyInput, options: NotifyOptions, attempt = 1): Promise<NotifyResult> {
  const env = new MockActivityEnvironment({ attempt });
  return env.run(createNotifyActivities(db, options).notifySubmissionEnded, input);
}

/** The failure a call ends with (null when it did not fail). */
async function rejection(call: Promise<unknown>): Promise<ApplicationFailure | null> {
  return call.then(
    () => null,
    (error: unknown) => {
      expect(error).toBeInstanceOf(ApplicationFailure);
      return error as ApplicationFailure;
    },
  );
}

describe('notifySubmissionEnded', () => {
  it("POSTs the submission's public facts once to the team's webhook, with nothing of the closed stage's reason", async () => {
    const { receiver: team, url } = await receiver([200]);
    await endedSubmission(url);
    const options = { competitionFile: competitionFile(null) };
    const result = await notify({ submissionId: SUBMISSION, receiver: 'team' }, options);
    expect(result).toEqual({ receiver: 'team', delivered: true, status: 200, skipped: null });
    // The competition has no webhook: its call sends nothing.
    expect(await notify({ submissionId: SUBMISSION, receiver: 'competition' }, options)).toMatchObject({ delivered: false, status: null, skipped: 'no competition webhook configured' });

    expect(team.requests).toHaveLength(1);
    const [request] = team.requests;
    expect(request!.method).toBe('POST');
    expect(request!.url).toBe('/hooks/challenge?secret=s3');
    expect(request!.headers['content-type']).toBe('application/json');
    const event = JSON.parse(request!.body) as SubmissionEndedEvent;
    expect(event).toMatchObject({
      event: 'submission.ended',
      submissionId: SUBMISSION,
      team: 'acme',
      track: 'cpu',
      outcome: 'completed',
      failureCategory: 'ServerCrashed',
      endedAt: '2026-06-01T11:00:00Z',
    });
    // Rebuilt from the category and the counts; no character of the recorded reason or log excerpt.
    expect(event.reason).toBe('the inference server exited with status 137 after 3 of 8 answers, restarted 1 time (closed suite; log withheld)');
    expect(request!.body).not.toContain('Zorbania');
    expect(request!.body).not.toContain('Traceback');
    expect(event.scores.open).toEqual([{ scenario: 'toy-qa', column: 'exact_match', score: 0.75, instances: 4, answered: 4, failed: 0 }]);
    expect(request!.body).not.toContain('hidden-qa');
    // The only submission of its track: ranked first, with the leaderboard's final score.
    expect(event.scores.rank).toBe(1);
    expect(typeof event.scores.final).toBe('number');
  });

  it("POSTs to the competition file's webhook too", async () => {
    const { receiver: organizers, url } = await receiver([204]);
    await endedSubmission(null);
    const options = { competitionFile: competitionFile(url) };
    expect(await notify({ submissionId: SUBMISSION, receiver: 'team' }, options)).toMatchObject({ delivered: false, skipped: 'no team webhook configured' });
    expect(await notify({ submissionId: SUBMISSION, receiver: 'competition' }, options)).toMatchObject({ delivered: true, status: 204 });
    expect(organizers.requests).toHaveLength(1);
    expect(JSON.parse(organizers.requests[0]!.body)).toMatchObject({ submissionId: SUBMISSION, team: 'acme' });
  });

  it('raises a retryable failure for each 500, and the third attempt delivers', async () => {
    const { receiver: team, url } = await receiver([500, 500, 200]);
    await endedSubmission(url);
    const options = { competitionFile: competitionFile(null) };
    for (const attempt of [1, 2]) {
      const failure = await rejection(notify({ submissionId: SUBMISSION, receiver: 'team' }, options, attempt));
      expect(failure).toMatchObject({ type: 'WebhookFailed', nonRetryable: false });
      expect(failure?.message).toMatch(/answered 500; it will be tried again/);
      expect(failure?.message).not.toContain('secret=s3'); // the query may carry the receiver's secret
    }
    expect(await notify({ submissionId: SUBMISSION, receiver: 'team' }, options, 3)).toMatchObject({ delivered: true, status: 200 });
    expect(team.requests).toHaveLength(3);
    expect(new Set(team.requests.map((r) => r.body)).size).toBe(1); // every attempt sends the same event
  });

  it('does not retry a receiver that refuses (404)', async () => {
    const { receiver: team, url } = await receiver([404]);
    await endedSubmission(url);
    await expect(notify({ submissionId: SUBMISSION, receiver: 'team' }, { competitionFile: competitionFile(null) })).rejects.toMatchObject({
      type: 'WebhookRefused',
      nonRetryable: true,
    });
    expect(team.requests).toHaveLength(1);
  });

  it('calls no webhook that is not an http(s) URL', async () => {
    await endedSubmission('file:///etc/passwd');
    const failure = await rejection(notify({ submissionId: SUBMISSION, receiver: 'team' }, { competitionFile: competitionFile(null) }));
    expect(failure).toMatchObject({ type: 'WebhookInvalid', nonRetryable: true });
    expect(failure?.message).toMatch(/team webhook file:.* is not http\(s\)/);
  });

  it('gives up a call after its timeout, as a retryable failure', async () => {
    const { receiver: team, url } = await receiver('never');
    await endedSubmission(url);
    const started = Date.now();
    const failure = await rejection(notify({ submissionId: SUBMISSION, receiver: 'team' }, { competitionFile: competitionFile(null), timeoutMs: 300 }));
    expect(failure).toMatchObject({ type: 'WebhookUnreachable', nonRetryable: false });
    expect(failure?.message).toMatch(/could not be reached: no answer within 0\.3 s; it will be tried again/);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(team.requests).toHaveLength(1);
  });

  it('calls nobody when neither the team nor the competition has a webhook', async () => {
    const { receiver: bystander } = await receiver([200]);
    await endedSubmission(null);
    const options = { competitionFile: competitionFile(null) };
    const results = [await notify({ submissionId: SUBMISSION, receiver: 'team' }, options), await notify({ submissionId: SUBMISSION, receiver: 'competition' }, options)];
    expect(results.map((r) => [r.receiver, r.delivered, r.skipped])).toEqual([
      ['team', false, 'no team webhook configured'],
      ['competition', false, 'no competition webhook configured'],
    ]);
    expect(bystander.requests).toHaveLength(0);
  });
});
