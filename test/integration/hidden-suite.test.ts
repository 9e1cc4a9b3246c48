/**
 * The hidden suite stays hidden, through the real pipeline. test/fixtures/prompt-echo is a server that
 * prints every prompt it gets, answers HTTP 500 quoting some closed-suite prompts (so per-instance errors
 * quote them) and, after a few unfamiliar prompts, dies with one in its error output. It goes through
 * build → fine-tune → open eval → closed eval → score on the cpu track with the toy suites, then
 * `challenge serve` (the real CLI, an operator token in its environment, on a loopback port) is read:
 * the public pages, the public JSON API and the public CSV export carry no fragment of the closed suite,
 * while the operator pages, with the token, show the closed-eval log, the errors and the answers.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { ResultsDb, type StageRecord } from '../../infra/results-db.js';
import { PROJECT_ROOT, defaultSuiteFiles } from '../../infra/paths.js';
import { submit, type SubmitResult } from '../../operations/pipelines.js';
import { instancePrompt, loadSuite, type Suite } from '../../domain/harness/suite.js';
import type { PipelineState } from '../../contract/pipeline.js';
import { freePort, startStack, type Stack } from '../support/stack.js';

const FIXTURE = path.join(PROJECT_ROOT, 'test', 'fixtures', 'prompt-echo');
const CLI = path.join(PROJECT_ROOT, 'dist', 'cli', 'challenge.js');
const LIMITS = { fineTune: 60_000, openEval: 30_000, closedEval: 30_000, startup: 15_000 };
const HARNESS = { concurrency: 1, retryBackoffMs: 50 };
const TOKEN = 'hidden-suite-test-token-5b1e0c7a9d3f';

const suites = defaultSuiteFiles('cpu');
const closedSuite = loadSuite(suites.closed);
const openSuite = loadSuite(suites.open);

/** Distinctive strings of a suite: instructions, every question, each in-context example's answer line. */
function fragmentsOf(suite: Suite): string[] {
  const out = new Set<string>();
  for (const scenario of suite.scenarios) {
    if (scenario.instructions) out.add(scenario.instructions);
    for (const item of [...(scenario.inContext ?? []), ...scenario.instances] as { question?: string }[]) if (item.question) out.add(item.question);
    for (const example of (scenario.inContext ?? []) as { choices?: string[]; answer?: number }[]) {
      if (example.choices && typeof example.answer === 'number') out.add(`${String.fromCharCode(65 + example.answer)}. ${example.choices[example.answer]}`);
    }
  }
  return [...out].filter((f) => f.length >= 7);
}
const CLOSED = fragmentsOf(closedSuite);
const OPEN_PROMPTS = openSuite.scenarios.flatMap((s) => s.instances.map((i) => instancePrompt(s, i)));

/** The closed-suite fragments a response body carries, in its HTML- or JSON-escaped forms too. */
function leaks(text: string): string[] {
  const decoded = text
    .replace(/\\n/g, '\n')
    .replace(/\\"/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>');
  return CLOSED.filter((f) => text.includes(f) || decoded.includes(f));
}

let stack: Stack;
let db: ResultsDb;
let submitted: SubmitResult;
let state: PipelineState;
let records: StageRecord[];
let serve: ResultPromise;
let serveOutput = '';
let baseUrl: string;
const stage = (name: string) => records.find((s) => s.stage === name)!;

const get = async (pathname: string, headers: Record<string, string> = {}) => {
  const response = await fetch(`${baseUrl}${pathname}`, { headers });
  return { status: response.status, headers: response.headers, body: await response.text() };
};
const bearer = { authorization: `Bearer ${TOKEN}` };

beforeAll(async () => {
  expect(CLOSED.filter((f) => OPEN_PROMPTS.some((p) => p.includes(f)))).toEqual([]);
  stack = await startStack();
  // One request at a time, so the server's failures and its crash come in the suite's order: the instances
  // it answers HTTP 500 before dying are recorded with their error, and it dies before the suite ends.
  submitted = await submit(stack.client, stack.config, FIXTURE, { limits: LIMITS, heartbeatTimeoutMs: 5000, harness: HARNESS });
  state = (await stack.client.workflow.getHandle(submitted.workflowId).result()) as PipelineState;
  db = new ResultsDb(stack.config.databasePath);
  records = db.stages(submitted.submissionId);

  // The real `challenge serve`, with the operator token in its environment, on a loopback port.
  const port = await freePort();
  serve = execa('node', [CLI, 'serve', '--host', '127.0.0.1', '--port', String(port)], {
    env: { ...stack.env, CHALLENGE_OPERATOR_TOKEN: TOKEN },
    reject: false,
    all: true,
    buffer: false,
  });
  serve.all?.on('data', (chunk: Buffer) => (serveOutput += chunk.toString()));
  const deadline = Date.now() + 30_000;
  while (!/leaderboard web page: (http:\/\/\S+)/.test(serveOutput)) {
    if (serve.exitCode !== null || Date.now() > deadline) throw new Error(`challenge serve did not start:\n${serveOutput}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  baseUrl = /leaderboard web page: (http:\/\/\S+)/.exec(serveOutput)![1]!;
}, 360_000);

afterAll(async () => {
  if (serve !== undefined && serve.exitCode === null) {
    serve.kill('SIGTERM');
    await serve;
  }
  db?.close();
  await stack?.stop();
}, 60_000);

describe('a server that prints every prompt, on the real pipeline', () => {
  it('passes the open evaluation and crashes in the closed one, its log full of closed-suite prompts', () => {
    expect(state).toMatchObject({ outcome: 'completed', failureCategory: 'ServerCrashed' });
    expect(stage('open-eval')).toMatchObject({ outcome: 'succeeded', failureCategory: null });
    const closed = stage('closed-eval');
    expect(closed).toMatchObject({ outcome: 'partial', failureCategory: 'ServerCrashed' });
    expect(closed.reason).toMatch(/^the inference server exited with status 3 after \d+ of 44 answers/);
    // the data exists: the closed-eval log on this host quotes the prompts, and so do per-instance errors
    const log = path.join(stack.config.dataDir, 'logs', submitted.submissionId, 'closed-eval.log');
    expect(existsSync(log)).toBe(true);
    const text = readFileSync(log, 'utf8');
    expect(text).toContain('fatal: cannot handle prompt:');
    expect(leaks(text).length).toBeGreaterThan(5);
    const errors = db
      .answerStore(submitted.submissionId, 'closed')
      .all()
      .filter((a) => a.error !== null);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.some((a) => leaks(a.error!).length > 0)).toBe(true);
  });

  it('shows nothing of the closed suite on the public pages, the public JSON API and the public CSV export', async () => {
    const id = submitted.submissionId;
    for (const pathname of [
      '/',
      '/tracks/cpu',
      `/submissions/${id}`,
      '/api/leaderboard?track=cpu',
      `/api/submissions/${id}`,
      '/api/leaderboard.csv?track=cpu',
    ]) {
      const reply = await get(pathname);
      expect({ pathname, status: reply.status }).toEqual({ pathname, status: 200 });
      expect({ pathname, leaks: leaks(reply.body) }).toEqual({ pathname, leaks: [] });
    }
    // ... but says why the closed stage failed, from its category, exit status and counts
    const page = (await get(`/submissions/${id}`)).body;
    expect(page).toMatch(
      /data-testid="failure-reason">the inference server exited with status 3 after \d+ of 44 answers(, restarted 1 time)? \(closed suite; log withheld\)</,
    );
    expect(page).not.toMatch(/data-testid="log-excerpt" data-stage="(fine-tune|open-eval|closed-eval)"/);
    const board = JSON.parse((await get('/api/leaderboard?track=cpu')).body) as { board: { rows: { submissionId: string; failureReason: string | null }[] } };
    expect(board.board.rows.find((r) => r.submissionId === id)!.failureReason).toMatch(/\(closed suite; log withheld\)$/);
    expect((await get('/api/leaderboard.csv?track=cpu')).body).toMatch(/ServerCrashed,"?the inference server exited with status 3 after/);
  });

  it('answers 401 on the operator routes without the token', async () => {
    for (const pathname of [
      '/operator',
      `/operator/submissions/${submitted.submissionId}`,
      `/api/operator/submissions/${submitted.submissionId}`,
      '/api/operator/leaderboard?track=cpu',
    ]) {
      for (const headers of [{}, { authorization: 'Bearer not-the-token-not-the-token' }] as Record<string, string>[]) {
        const reply = await get(pathname, headers);
        expect({ pathname, status: reply.status }).toEqual({ pathname, status: 401 });
        expect(reply.headers.get('www-authenticate')).toMatch(/^Bearer /);
        expect(leaks(reply.body)).toEqual([]);
      }
    }
  });

  it('shows the closed-eval log, the per-instance errors and the answers to the operator with the token', async () => {
    const id = submitted.submissionId;
    const page = await get(`/operator/submissions/${id}`, bearer);
    expect(page.status).toBe(200);
    expect(page.body).toMatch(/data-testid="log-excerpt" data-stage="closed-eval"/);
    expect(leaks(page.body).length).toBeGreaterThan(5);
    const api = JSON.parse((await get(`/api/operator/submissions/${id}`, bearer)).body) as {
      logs: { stage: string; text: string }[];
      answers: { suite: string; answers: { error: string | null }[] }[];
    };
    expect(leaks(api.logs.find((l) => l.stage === 'closed-eval')!.text).length).toBeGreaterThan(0);
    expect(api.answers.find((a) => a.suite === 'closed')!.answers.some((a) => a.error !== null && leaks(a.error).length > 0)).toBe(true);
    const board = JSON.parse((await get('/api/operator/leaderboard?track=cpu', bearer)).body) as {
      board: { rows: { submissionId: string; failureReason: string | null }[] };
    };
    expect(board.board.rows.find((r) => r.submissionId === id)!.failureReason).toBe(stage('closed-eval').reason);
  });

  it('refuses to serve on a public address without the token, naming the variable', async () => {
    const refused = await execa('node', [CLI, 'serve', '--host', '0.0.0.0', '--port', '0'], {
      env: { ...stack.env, CHALLENGE_OPERATOR_TOKEN: '' },
      reject: false,
      timeout: 30_000,
    });
    expect(refused.exitCode).toBe(2);
    expect(String(refused.stderr)).toContain('refusing to serve on 0.0.0.0 without CHALLENGE_OPERATOR_TOKEN');
  }, 60_000);

  it('leaves no container behind', async () => {
    const listed = await execa('docker', ['ps', '-aq', '--filter', `label=challenge.workflow=${submitted.workflowId}`]);
    expect(listed.stdout.trim()).toBe('');
  });
});
