/**
 * `challenge remote ...` as a team runs it: the compiled CLI (dist/cli/challenge.js) against a small HTTP server
 * on 127.0.0.1 that answers like the participants' API (202, 400 with problems, 429 with Retry-After, ...). What
 * is asserted is what the command printed, its exit code, and what the server received (nothing, for a
 * directory the local preflight refuses).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { PROJECT_ROOT } from '../../infra/paths.js';

const TOKEN = 'cht_abc123_secretpart';

interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}
type Handler = (request: Received) => { status: number; body: unknown; headers?: Record<string, string> };

/** The stand-in API: every request is recorded, and answered by the handler of the test. */
let handler: Handler = () => ({ status: 500, body: { error: 'no handler' } });
const requests: Received[] = [];
let server: Server;
let baseUrl: string;
const temporary: string[] = [];

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) };
      requests.push(request);
      const answer = handler(request);
      const text = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
      res.writeHead(answer.status, { 'content-type': typeof answer.body === 'string' ? 'text/plain' : 'application/json', ...answer.headers }).end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterEach(() => {
  requests.splice(0);
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  for (const dir of temporary) rmSync(dir, { recursive: true, force: true });
});

const remote = (args: string[], env: Record<string, string> = { CHALLENGE_URL: baseUrl, CHALLENGE_TEAM_TOKEN: TOKEN }) =>
  execa('node', [path.join(PROJECT_ROOT, 'dist', 'cli', 'challenge.js'), 'remote', ...args], {
    reject: false,
    extendEnv: false,
    env: { PATH: process.env.PATH ?? '', CHALLENGE_DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'remote-cli-data-')), ...env },
  });

/** A copy of the good sample submission, which passes the preflight. */
function goodSubmission(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'remote-cli-sub-'));
  temporary.push(dir);
  cpSync(path.join(PROJECT_ROOT, 'examples', 'good-cooccurrence'), dir, { recursive: true });
  return dir;
}

const summary = (id: string, outcome: string, stages: { stage: string; outcome: string }[], extra: Record<string, unknown> = {}) => ({
  submissionId: id,
  intakeId: `in-${id}`,
  track: 'cpu',
  phase: 'development',
  acceptedAt: '2026-06-01T10:00:00Z',
  outcome,
  failureCategory: null,
  reason: null,
  running: outcome === 'running',
  refunded: false,
  refundReason: null,
  stages: stages.map((s) => ({ ...s, failureCategory: null, reason: null, limitMs: 1000 })),
  openScores: [],
  ...extra,
});

describe('challenge remote submit', () => {
  it('uploads the packed directory with the token and prints the id, status URL and quota left', async () => {
    handler = () => ({
      status: 202,
      body: { submissionId: 'acme.sub1', statusUrl: `${baseUrl}/api/team/submissions/acme.sub1`, quota: { left: 2, nextSlotAt: null, perWindow: 3 }, workflowId: 'submission-acme.sub1' },
    });
    const result = await remote(['submit', goodSubmission()]);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/^accepted acme\.sub1 \(\d+ bytes uploaded\)$/m);
    expect(result.stdout).toContain(`status: ${baseUrl}/api/team/submissions/acme.sub1`);
    expect(result.stdout).toContain('quota left: 2 more uploads now');

    expect(requests).toHaveLength(1);
    const [upload] = requests;
    expect(upload!.method).toBe('POST');
    expect(upload!.url).toBe('/api/team/submissions');
    expect(upload!.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(upload!.headers['content-type']).toBe('application/gzip');
    // A real .tar.gz of the directory: the tar inside names the submission's files.
    const tar = gunzipSync(upload!.body).toString('latin1');
    for (const file of ['submission.json', 'Dockerfile', 'Dockerfile.train', 'server.py']) expect(tar).toContain(file);
  });

  it('prints each problem of a 400 with its file, field and fix, and exits 2', async () => {
    handler = () => ({
      status: 400,
      body: {
        error: 'the archive is not a valid submission',
        problems: [
          { file: 'submission.json', field: 'baseModel', message: 'name the base model you fine-tuned', fix: 'add "baseModel": "mistralai/Mistral-7B-v0.1"' },
          { file: 'Dockerfile.train', message: 'missing', fix: 'add it at the top of the submission directory' },
          { file: 'Dockerfile', line: 3, rule: 'unpinned-pip', message: 'pip installs requests without a version', fix: 'pin it exactly' },
        ],
      },
    });
    const result = await remote(['submit', goodSubmission()]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('the server refused the upload (400): the archive is not a valid submission');
    expect(result.stderr).toContain('  - submission.json: field baseModel: name the base model you fine-tuned\n      fix: add "baseModel": "mistralai/Mistral-7B-v0.1"');
    expect(result.stderr).toContain('  - Dockerfile.train: missing\n      fix: add it at the top of the submission directory');
    expect(result.stderr).toContain('  - Dockerfile:3: [unpinned-pip]: pip installs requests without a version\n      fix: pin it exactly');
    expect(requests).toHaveLength(1);
  });

  it('prints the reason of a 429 and when the next slot frees (Retry-After), and exits 2', async () => {
    handler = () => ({ status: 429, body: { error: 'quota used up', reason: '3 of 3 submissions of track cpu in the last 24h' }, headers: { 'retry-after': '3600' } });
    const before = Date.now();
    const result = await remote(['submit', goodSubmission()]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('the server refused the upload (429): 3 of 3 submissions of track cpu in the last 24h (quota used up)');
    const at = /next slot frees at (\S+) \(in 1h\)/.exec(result.stderr);
    expect(at).not.toBeNull();
    const freesAt = Date.parse(at![1]!);
    expect(freesAt).toBeGreaterThanOrEqual(before + 3_600_000 - 1000);
    expect(freesAt).toBeLessThanOrEqual(Date.now() + 3_600_000);
  });

  it("prints the server's message of a 409 and exits 2; a 500 exits 1", async () => {
    handler = () => ({ status: 409, body: { error: 'acme.sub1 is still running; wait for it or rename the submission' } });
    const conflict = await remote(['submit', goodSubmission()]);
    expect(conflict.exitCode).toBe(2);
    expect(conflict.stderr).toContain('the server refused (409): acme.sub1 is still running; wait for it or rename the submission');
    handler = () => ({ status: 500, body: 'internal error' });
    const failed = await remote(['submit', goodSubmission()]);
    expect(failed.exitCode).toBe(1);
    expect(failed.stderr).toContain('the server failed (500): internal error');
  });

  it("exits 1 naming the field when a 202 is not what the client expects", async () => {
    handler = () => ({ status: 202, body: { statusUrl: 'x' } });
    const result = await remote(['submit', goodSubmission()]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/answered 202 with JSON this client does not understand \(field submissionId: /);
  });

  it('stops on the local preflight: prints each error, exits 2, and never reaches the server', async () => {
    handler = () => ({ status: 202, body: { submissionId: 'never', statusUrl: 'never' } });
    const dir = goodSubmission();
    writeFileSync(path.join(dir, 'Dockerfile'), 'FROM python:3.11-slim\nENV HF_TOKEN=hf_abcdefghijklmnopqrstuvwxyz123456\nRUN pip install requests\nCMD ["python", "server.py"]\n');
    const result = await remote(['submit', dir]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('found errors; nothing was uploaded');
    expect(result.stderr).toMatch(/Dockerfile:2: error \[secret\]/);
    expect(result.stderr).toMatch(/Dockerfile:3: error \[unpinned-pip\]/);
    expect(result.stderr).not.toContain('hf_abcdefghijklmnopqrstuvwxyz123456');

    const broken = goodSubmission();
    rmSync(path.join(broken, 'Dockerfile.train'));
    const invalid = await remote(['submit', broken]);
    expect(invalid.exitCode).toBe(2);
    expect(invalid.stderr).toContain('Dockerfile.train: missing; add it at the top of the submission directory');
    expect(requests).toHaveLength(0);
  });

  it('names a missing CHALLENGE_URL or CHALLENGE_TEAM_TOKEN and exits 2', async () => {
    const noUrl = await remote(['submit', goodSubmission()], { CHALLENGE_TEAM_TOKEN: TOKEN });
    expect(noUrl.exitCode).toBe(2);
    expect(noUrl.stderr).toContain('CHALLENGE_URL is not set');
    const noToken = await remote(['status'], { CHALLENGE_URL: baseUrl });
    expect(noToken.exitCode).toBe(2);
    expect(noToken.stderr).toContain('CHALLENGE_TEAM_TOKEN is not set');
    expect(requests).toHaveLength(0);
  });
});

describe('challenge remote status and logs', () => {
  it("prints the team's submissions as a table", async () => {
    handler = () => ({
      status: 200,
      body: {
        team: 'acme',
        phase: null,
        quotas: [],
        submissions: [
          summary('acme.sub1', 'running', [
            { stage: 'build', outcome: 'succeeded' },
            { stage: 'fine-tune', outcome: 'running' },
          ]),
          summary('acme.sub0', 'failed', [{ stage: 'build', outcome: 'failed' }], { failureCategory: 'Infrastructure', refunded: true, refundReason: 'not charged' }),
        ],
      },
    });
    const result = await remote(['status']);
    expect(result.exitCode).toBe(0);
    expect(requests.map((r) => [r.method, r.url, r.headers.authorization])).toEqual([['GET', '/api/team/submissions', `Bearer ${TOKEN}`]]);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toMatch(/^id\s+track\s+phase\s+outcome\s+stage\s+refunded$/);
    expect(lines[2]).toMatch(/^acme\.sub1\s+cpu\s+development\s+running\s+fine-tune\s+no$/);
    expect(lines[3]).toMatch(/^acme\.sub0\s+cpu\s+development\s+failed \(Infrastructure\)\s+build\s+yes: not charged$/);
  });

  it('with --watch redraws until no shown submission runs', async () => {
    let reads = 0;
    handler = () => {
      reads++;
      const outcome = reads === 1 ? 'running' : 'completed';
      const last = reads === 1 ? 'running' : 'succeeded';
      return { status: 200, body: summary('acme.sub1', outcome, [{ stage: 'build', outcome: 'succeeded' }, { stage: 'open-eval', outcome: last }]) };
    };
    const result = await remote(['status', 'acme.sub1', '--watch']);
    expect(result.exitCode).toBe(0);
    expect(requests.map((r) => r.url)).toEqual(['/api/team/submissions/acme.sub1', '/api/team/submissions/acme.sub1']);
    // Not a terminal: each changed line once, time-stamped (cli/live-block.ts).
    expect(result.stdout).toMatch(/acme\.sub1\s+cpu\s+development\s+running\s+open-eval\s+no/);
    expect(result.stdout).toMatch(/acme\.sub1\s+cpu\s+development\s+completed\s+open-eval\s+no/);
  });

  it('prints a 401 as refused (exit 2) and a stage log as text', async () => {
    handler = () => ({ status: 401, body: { error: 'unknown or replaced token; ask the organizers for a new one' } });
    const refused = await remote(['status']);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain('the server refused (401): unknown or replaced token; ask the organizers for a new one');

    handler = () => ({ status: 200, body: { submissionId: 'acme.sub1', stage: 'build', source: 'file', text: 'Step 1/4 : FROM challenge/base\nSuccessfully built\n' } });
    const logs = await remote(['logs', 'acme.sub1', '--stage', 'build']);
    expect(logs.exitCode).toBe(0);
    expect(logs.stdout).toBe('Step 1/4 : FROM challenge/base\nSuccessfully built');
    expect(requests.at(-1)!.url).toBe('/api/team/submissions/acme.sub1/logs?stage=build');

    handler = () => ({ status: 200, body: { submissionId: 'acme.sub1', stage: 'open-eval', source: null, text: null, note: 'no open-eval log yet: the stage has not run or wrote nothing' } });
    const none = await remote(['logs', 'acme.sub1', '--stage', 'open-eval']);
    expect(none.exitCode).toBe(0);
    expect(none.stdout).toBe('no open-eval log yet: the stage has not run or wrote nothing');

    handler = () => ({ status: 404, body: { error: 'your team has no submission "acme.nope"; GET /api/team/submissions lists them' } });
    const missing = await remote(['logs', 'acme.nope', '--stage', 'build']);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toContain('the server refused (404): your team has no submission "acme.nope"');

    const closed = await remote(['logs', 'acme.sub1', '--stage', 'closed-eval']);
    expect(closed.exitCode).toBe(2);
    expect(closed.stderr).toContain("the closed evaluation's logs are withheld");
    expect(requests).toHaveLength(4); // the closed-eval request never left the client
  });
});
