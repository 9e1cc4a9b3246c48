/**
 * The hidden suite stays hidden on the web page. A results database filled by hand holds submissions whose
 * servers echoed closed-suite prompts everywhere they could: the closed-eval log file, a log excerpt
 * recorded with an out-of-memory failure, failure reasons (stage and pipeline), completions and
 * per-instance error strings. The public pages, the public JSON API and the public CSV export (served by
 * the real web server on a loopback port) must not carry a single fragment of the closed suite; the
 * operator pages, with the token, must (the data exists and is only withheld), and answer 401 without it.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ResultsDb, type StageRecord } from '../../infra/results-db.js';
import { instancePrompt, loadSuite, type Suite } from '../../domain/harness/suite.js';
import { defaultSuiteFiles } from '../../infra/paths.js';
import { TRACKS } from '../../temporal.config.js';
import {
  OPERATOR_TOKEN_VARIABLE,
  WebServerSetupError,
  checkOperatorSetup,
  isLoopbackHost,
  operatorAllowed,
  presentedToken,
  route,
  startWebServer,
  tokensMatch,
  type WebServer,
} from '../../web/server.js';

const TOKEN = 'op-token-7f3a9c1d2b4e6f8091a2b3c4d5e6f708';
const LIMITS = TRACKS.cpu.limits;
const files = defaultSuiteFiles('cpu');
const closedSuite = loadSuite(files.closed);
const openSuite = loadSuite(files.open);

/** Distinctive strings of a suite: instructions, every question, each in-context example's answer line. */
function fragmentsOf(suite: Suite): string[] {
  const out = new Set<string>();
  for (const scenario of suite.scenarios) {
    if (scenario.instructions) out.add(scenario.instructions);
    const asked = [...(scenario.inContext ?? []), ...scenario.instances] as { question?: string; choices?: string[]; answer?: number }[];
    for (const item of asked) if (item.question) out.add(item.question);
    for (const example of (scenario.inContext ?? []) as { choices?: string[]; answer?: number }[]) {
      if (example.choices && typeof example.answer === 'number') out.add(`${String.fromCharCode(65 + example.answer)}. ${example.choices[example.answer]}`);
    }
  }
  return [...out].filter((f) => f.length >= 7);
}
const CLOSED = fragmentsOf(closedSuite);
const OPEN = fragmentsOf(openSuite);
/** Every prompt of the closed suite as the harness sends it. */
const CLOSED_PROMPTS = closedSuite.scenarios.flatMap((s) => s.instances.map((i) => instancePrompt(s, i)));
const OPEN_PROMPTS = openSuite.scenarios.flatMap((s) => s.instances.map((i) => instancePrompt(s, i)));

/** The closed-suite fragments a text carries, JSON-escaped forms included. */
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

const ID = {
  crash: 'echo.prompt-echo',
  oom: 'hog.prompt-hog',
  loud: 'loud.quoting-startup',
  lost: 'lost.host-gone',
  good: 'good.clean',
} as const;

const T0 = Date.parse('2024-06-01T09:00:00.000Z');
const at = (s: number) => new Date(T0 + s * 1000).toISOString();
const BUILD_LOG = 'Step 1/4 : FROM challenge/base:bookworm-python3\nStep 4/4 : CMD ["python3", "/app/server.py"]\nSuccessfully built 3f2a9c1d7b21';

let dir: string;
let db: ResultsDb;
let server: WebServer;

function stage(
  submissionId: string,
  name: string,
  outcome: StageRecord['outcome'],
  from: number | null,
  to: number | null,
  extra: Partial<StageRecord> = {},
): StageRecord {
  const key = ({ build: 'build', 'fine-tune': 'fineTune', 'open-eval': 'openEval', 'closed-eval': 'closedEval' } as const)[name as 'build'];
  return {
    submissionId,
    stage: name,
    outcome,
    failureCategory: null,
    reason: null,
    startedAt: from === null ? null : at(from),
    endedAt: to === null ? null : at(to),
    limitMs: key ? LIMITS[key] : null,
    details: null,
    ...extra,
  };
}

const evalDetails = (answered: number, failed: number, total: number) => ({
  durationMs: 30_000,
  answered,
  failed,
  unanswered: total - answered,
  total,
  restarts: 1,
  failuresByKind: failed > 0 ? { 'http-status': failed } : {},
});

function populate(): void {
  const submit = (submissionId: string, offset: number) => {
    const [team, name] = submissionId.split('.') as [string, string];
    db.upsertSubmission({
      submissionId,
      team,
      name,
      track: 'cpu',
      directory: `/submissions/${submissionId}`,
      workflowId: `submission-${submissionId}`,
      runId: `run-${team}`,
      submittedAt: at(offset),
    });
  };
  const before = (id: string, t: number) => {
    db.recordStage(stage(id, 'build', 'succeeded', t, t + 60, { details: { durationMs: 60_000, logExcerpt: BUILD_LOG } }));
    db.recordStage(stage(id, 'fine-tune', 'succeeded', t + 60, t + 120, { details: { durationMs: 60_000, artifactFiles: 1, progress: null } }));
    db.recordStage(stage(id, 'open-eval', 'succeeded', t + 120, t + 180, { details: evalDetails(60, 0, 60) }));
  };
  const closedTotal = closedSuite.scenarios.reduce((n, s) => n + s.instances.length, 0);
  const logs = (id: string, files: Record<string, string>) => {
    mkdirSync(path.join(dir, 'logs', id), { recursive: true });
    for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, 'logs', id, name), text);
  };
  const echoLog = (prompts: string[]) => `prompt-echo serving\n${prompts.map((p, i) => `prompt ${i + 1}:\n${p}`).join('\n')}\n`;

  // 1. a server that prints every prompt and crashes with one in its error output (the real ServerCrashed path)
  submit(ID.crash, 0);
  before(ID.crash, 0);
  db.recordStage(
    stage(ID.crash, 'closed-eval', 'partial', 180, 210, {
      failureCategory: 'ServerCrashed',
      reason:
        `the inference server exited with status 3 after 12 of ${closedTotal} answers, also after 1 restart(s): 11 of ${closedTotal} instances answered, 1 ` +
        `failed, ${closedTotal - 12} unanswered`,
      details: evalDetails(12, 1, closedTotal),
    }),
  );
  db.recordStage(stage(ID.crash, 'score', 'succeeded', 210, 210.2, { details: {} }));
  db.recordPipeline({ submissionId: ID.crash, outcome: 'completed', failureCategory: 'ServerCrashed', reason: null, updatedAt: at(211) });
  logs(ID.crash, {
    'build.log': `${BUILD_LOG}\n`,
    'fine-tune.log': 'trained\n',
    'open-eval.log': echoLog(OPEN_PROMPTS.slice(0, 3)),
    'closed-eval.log': `${echoLog(CLOSED_PROMPTS.slice(0, 12))}fatal: cannot handle prompt: ${CLOSED_PROMPTS[12]}\n`,
  });
  const answers = db.answerStore(ID.crash, 'closed');
  closedSuite.scenarios.slice(0, 1).forEach((scenario) =>
    scenario.instances.slice(0, 12).forEach((instance, i) => {
      const prompt = instancePrompt(scenario, instance);
      answers.save(
        i === 0
          ? {
              scenario: scenario.name,
              instanceId: instance.id,
              completion: null,
              score: 0,
              errorKind: 'http-status',
              error: `http://x/process answered HTTP 500: cannot answer ${prompt.slice(0, 180)}`,
              attempts: 3,
              latencyMs: 40,
            }
          : {
              scenario: scenario.name,
              instanceId: instance.id,
              completion: ` A (you asked: ${prompt})`,
              score: 1,
              errorKind: null,
              error: null,
              attempts: 1,
              latencyMs: 12,
            },
      );
    }),
  );
  db.saveScenarioScores(ID.crash, 'open', [
    { scenario: 'opposites', column: 'opposites - EM', instances: 30, answered: 30, failed: 0, score: 0.5 },
    { scenario: 'capitals', column: 'capitals - EM', instances: 30, answered: 30, failed: 0, score: 0.5 },
  ]);
  db.saveScenarioScores(ID.crash, 'closed', [
    { scenario: 'animal-sounds', column: 'animal-sounds - EM', instances: 20, answered: 12, failed: 1, score: 0.55 },
    { scenario: 'colors', column: 'colors - EM', instances: 24, answered: 0, failed: 0, score: 0 },
  ]);

  // 2. killed for memory mid-evaluation: the failure carries the tail of its log, prompts included
  submit(ID.oom, 60);
  before(ID.oom, 60);
  db.recordStage(
    stage(ID.oom, 'closed-eval', 'failed', 240, 250, {
      failureCategory: 'OutOfMemory',
      reason: 'the inference server was killed for exceeding 1g during the evaluation',
      details: { handovers: 0, failovers: 0, logExcerpt: echoLog(CLOSED_PROMPTS.slice(20, 23)) },
    }),
  );
  db.recordPipeline({ submissionId: ID.oom, outcome: 'completed', failureCategory: 'OutOfMemory', reason: null, updatedAt: at(251) });

  // 3. a reason that quotes a prompt outright (what a future code path might write), pipeline reason too
  submit(ID.loud, 120);
  before(ID.loud, 120);
  db.recordStage(
    stage(ID.loud, 'closed-eval', 'failed', 300, 320, {
      failureCategory: 'StartupFailed',
      reason: `no valid /process answer within the start-up limit (last: answered HTTP 500: ${CLOSED_PROMPTS[30]}); the server exited with status 1`,
      details: { handovers: 0, failovers: 0, logExcerpt: CLOSED_PROMPTS[31]! },
    }),
  );
  db.recordPipeline({
    submissionId: ID.loud,
    outcome: 'failed',
    failureCategory: 'StartupFailed',
    reason: `closed evaluation: ${CLOSED_PROMPTS[32]}`,
    updatedAt: at(321),
  });

  // 4. our infrastructure failed in the closed evaluation (not ranked), its reason quoting a prompt
  submit(ID.lost, 180);
  before(ID.lost, 180);
  db.recordStage(stage(ID.lost, 'closed-eval', 'failed', 360, 365, { failureCategory: 'Infrastructure', reason: `evaluate failed: ${CLOSED_PROMPTS[40]}` }));
  db.recordPipeline({ submissionId: ID.lost, outcome: 'failed', failureCategory: 'Infrastructure', reason: null, updatedAt: at(366) });

  // 5. a clean run
  submit(ID.good, 240);
  before(ID.good, 240);
  db.recordStage(stage(ID.good, 'closed-eval', 'succeeded', 420, 450, { details: evalDetails(closedTotal, 0, closedTotal) }));
  db.recordStage(stage(ID.good, 'score', 'succeeded', 450, 450.1, { details: {} }));
  db.recordPipeline({ submissionId: ID.good, outcome: 'completed', failureCategory: null, reason: null, updatedAt: at(451) });
}

const PUBLIC_PATHS = [
  '/',
  '/tracks/cpu',
  ...Object.values(ID).map((id) => `/submissions/${id}`),
  '/api/leaderboard?track=cpu',
  '/api/leaderboard.csv?track=cpu',
  ...Object.values(ID).map((id) => `/api/submissions/${id}`),
];

const get = async (pathname: string, headers: Record<string, string> = {}) => {
  const response = await fetch(`${server.url}${pathname}`, { headers });
  return { status: response.status, headers: response.headers, body: await response.text() };
};
const bearer = { authorization: `Bearer ${TOKEN}` };

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'hidden-suite-web-'));
  db = new ResultsDb(path.join(dir, 'results.sqlite'));
  populate();
  server = await startWebServer({ db, dataDir: dir, operatorToken: TOKEN, temporalUi: { uiUrl: 'http://127.0.0.1:8233', namespace: 'default' } });
});

afterAll(async () => {
  await server?.close();
  db?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the fixture', () => {
  it('has distinctive fragments of the closed suite, none shared with the open one', () => {
    expect(CLOSED.length).toBeGreaterThan(40);
    expect(CLOSED.filter((f) => OPEN.includes(f) || OPEN_PROMPTS.some((p) => p.includes(f)))).toEqual([]);
  });
});

describe('public pages, API and export', () => {
  it('carry no fragment of the closed suite', async () => {
    for (const pathname of PUBLIC_PATHS) {
      const reply = await get(pathname);
      expect({ pathname, status: reply.status }).toEqual({ pathname, status: 200 });
      expect({ pathname, leaks: leaks(reply.body) }).toEqual({ pathname, leaks: [] });
    }
  });

  it('still say why each closed stage failed, from its category and counts', async () => {
    const board = JSON.parse((await get('/api/leaderboard?track=cpu')).body) as {
      board: {
        rows: { submissionId: string; failureCategory: string | null; failureReason: string | null }[];
        unranked: { submissionId: string; reason: string | null }[];
      };
    };
    const row = (id: string) => board.board.rows.find((r) => r.submissionId === id)!;
    const total = closedSuite.scenarios.reduce((n, s) => n + s.instances.length, 0);
    expect(row(ID.crash)).toMatchObject({
      failureCategory: 'ServerCrashed',
      failureReason: `the inference server exited with status 3 after 12 of ${total} answers, restarted 1 time (closed suite; log withheld)`,
    });
    expect(row(ID.oom).failureReason).toBe(
      'the inference server was killed for exceeding its memory limit during the closed evaluation (closed suite; log withheld)',
    );
    expect(row(ID.loud).failureReason).toBe(
      'the inference server gave no valid /process answer within the start-up limit of the closed evaluation; it exited with status 1 (closed suite; log withheld)',
    );
    expect(board.board.unranked).toEqual([
      {
        submissionId: ID.lost,
        team: 'lost',
        failureCategory: 'Infrastructure',
        reason: expect.stringContaining('our infrastructure failed during the closed evaluation'),
      },
    ]);
    const page = (await get(`/submissions/${ID.crash}`)).body;
    expect(page).toMatch(
      /data-testid="failure-reason">the inference server exited with status 3 after 12 of \d+ answers, restarted 1 time \(closed suite; log withheld\)</,
    );
    const csv = (await get('/api/leaderboard.csv?track=cpu')).body;
    expect(csv.split('\n')[0]).toMatch(/^rank,submission,team,outcome,failure_category,failure_reason,/);
    expect(csv).toContain('ServerCrashed,"the inference server exited with status 3 after 12 of');
  });

  it('show the build log and no other log', async () => {
    const view = JSON.parse((await get(`/api/submissions/${ID.crash}`)).body) as {
      audience: string;
      logs: { stage: string; text: string }[];
      answers: unknown;
      stages: { stage: string; details: Record<string, unknown> | null }[];
    };
    expect(view.audience).toBe('public');
    expect(view.logs.map((l) => l.stage)).toEqual(['build']);
    expect(view.answers).toBeNull();
    for (const s of view.stages) expect(s.details?.logExcerpt).toBeUndefined();
    const page = (await get(`/submissions/${ID.crash}`)).body;
    expect(page).toContain('data-testid="log-excerpt" data-stage="build"');
    expect(page).not.toMatch(/data-testid="log-excerpt" data-stage="(fine-tune|open-eval|closed-eval)"/);
    expect(page).toContain('data-testid="logs-withheld"');
    expect(page).not.toContain('data-testid="answers');
    // open-suite prompts are public material, but the open-eval log is still an operator view
    expect(OPEN_PROMPTS.slice(0, 3).some((p) => page.includes(p.split('\n').at(-2)!))).toBe(false);
  });

  it('link to public pages only', async () => {
    for (const pathname of ['/', '/tracks/cpu', `/submissions/${ID.crash}`]) expect((await get(pathname)).body).not.toContain('href="/operator');
  });
});

describe('operator pages', () => {
  it('answer 401 without the token, a wrong one, or the token anywhere but the Authorization header', async () => {
    const paths = [
      '/operator',
      '/operator/tracks/cpu',
      `/operator/submissions/${ID.crash}`,
      '/api/operator/leaderboard?track=cpu',
      `/api/operator/submissions/${ID.crash}`,
      '/operator/no/such/page',
      '/api/operator/nothing',
    ];
    const tries: Record<string, string>[] = [
      {},
      { authorization: 'Bearer wrong-token-wrong-token-1234' },
      { authorization: `Bearer ${TOKEN}x` },
      { authorization: TOKEN },
      { cookie: `token=${TOKEN}` },
    ];
    for (const pathname of paths) {
      for (const headers of tries) {
        const reply = await get(pathname, headers);
        expect({ pathname, headers, status: reply.status }).toEqual({ pathname, headers, status: 401 });
        expect(reply.headers.get('www-authenticate')).toMatch(/^Bearer realm="challenge operator"/);
        expect(reply.headers.get('content-security-policy')).toContain("default-src 'none'");
        expect(reply.headers.get('cache-control')).toBe('no-store');
        expect(leaks(reply.body)).toEqual([]);
      }
    }
    expect((await get(`/operator/submissions/${ID.crash}?token=${TOKEN}`)).status).toBe(401);
  });

  it('show the closed-eval log, the recorded excerpts, full reasons and the answers with the token', async () => {
    const page = await get(`/operator/submissions/${ID.crash}`, bearer);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(page.body).toContain('data-testid="operator-banner"');
    expect(page.body).toMatch(/data-testid="log-excerpt" data-stage="closed-eval"/);
    expect(leaks(page.body).length).toBeGreaterThan(5);
    expect(page.body).toContain('data-testid="answer-error"');
    expect(page.body).toContain('href="/operator/tracks/cpu"');
    const api = JSON.parse((await get(`/api/operator/submissions/${ID.crash}`, bearer)).body) as {
      audience: string;
      logs: { stage: string; text: string }[];
      answers: { suite: string; count: number; failed: number; answers: { error: string | null; completion: string | null }[] }[];
    };
    expect(api.audience).toBe('operator');
    expect(api.logs.map((l) => l.stage)).toEqual(['build', 'fine-tune', 'open-eval', 'closed-eval']);
    expect(api.logs.find((l) => l.stage === 'closed-eval')!.text).toContain('fatal: cannot handle prompt:');
    const closedAnswers = api.answers.find((a) => a.suite === 'closed')!;
    expect(closedAnswers).toMatchObject({ count: 12, failed: 1 });
    expect(closedAnswers.answers.some((a) => (a.error ?? '').includes('cannot answer The following are'))).toBe(true);
    const oom = JSON.parse((await get(`/api/operator/submissions/${ID.oom}`, bearer)).body) as { logs: { stage: string; source: string; text: string }[] };
    expect(oom.logs.find((l) => l.stage === 'closed-eval')).toMatchObject({ source: 'details', text: expect.stringContaining(CLOSED_PROMPTS[20]!) });
    const board = JSON.parse((await get('/api/operator/leaderboard?track=cpu', bearer)).body) as {
      audience: string;
      board: { rows: { submissionId: string; failureReason: string | null }[] };
    };
    expect(board.audience).toBe('operator');
    expect(board.board.rows.find((r) => r.submissionId === ID.loud)!.failureReason).toContain(CLOSED_PROMPTS[30]!);
    expect((await get('/operator', bearer)).body).toContain(`href="/operator/submissions/${ID.crash}"`);
    expect((await get('/operator/tracks/cpu', bearer)).status).toBe(200);
  });

  it('take the token as an HTTP Basic password too (for a browser), and only the token', async () => {
    const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });
    expect((await get('/operator', basic('operator', TOKEN))).status).toBe(200);
    expect((await get('/operator', basic(TOKEN, 'nope'))).status).toBe(401);
    expect((await get('/operator', basic('operator', ''))).status).toBe(401);
  });
});

describe('operator access rules', () => {
  it('refuses a non-loopback address without a token, naming the variable, and weak or placeholder tokens', async () => {
    await expect(startWebServer({ db, dataDir: dir, host: '0.0.0.0' })).rejects.toThrow(WebServerSetupError);
    await expect(startWebServer({ db, dataDir: dir, host: '0.0.0.0', operatorToken: '' })).rejects.toThrow(OPERATOR_TOKEN_VARIABLE);
    expect(() => checkOperatorSetup('::', null)).toThrow(/refusing to serve on :: without CHALLENGE_OPERATOR_TOKEN/);
    expect(() => checkOperatorSetup('10.0.0.5', undefined)).toThrow(WebServerSetupError);
    expect(() => checkOperatorSetup('0.0.0.0', 'short')).toThrow(/at least 16 characters/);
    expect(() => checkOperatorSetup('127.0.0.1', 'change-me-operator-token')).toThrow(/placeholder/);
    expect(() => checkOperatorSetup('0.0.0.0', TOKEN)).not.toThrow();
    expect(() => checkOperatorSetup('127.0.0.1', null)).not.toThrow();
    expect(() => checkOperatorSetup('localhost', null)).not.toThrow();
  });

  it('serves the operator routes without a token only on loopback, and not to proxied requests', async () => {
    const loopback = { db, dataDir: dir };
    expect((await route(loopback, 'GET', '/operator')).status).toBe(200);
    expect((await route(loopback, 'GET', `/api/operator/submissions/${ID.crash}`)).status).toBe(200);
    expect((await route(loopback, 'GET', '/operator', { 'x-forwarded-for': '203.0.113.9' })).status).toBe(401);
    expect((await route(loopback, 'GET', '/operator', { forwarded: 'for=203.0.113.9' })).status).toBe(401);
    expect((await route({ ...loopback, host: '0.0.0.0' }, 'GET', '/operator')).status).toBe(401);
    // a configured token is required on loopback too
    expect((await route({ ...loopback, operatorToken: TOKEN }, 'GET', '/operator')).status).toBe(401);
    expect((await route({ ...loopback, operatorToken: TOKEN }, 'GET', '/operator', bearer)).status).toBe(200);
    expect(operatorAllowed({ host: '127.0.0.1', operatorToken: TOKEN }, { authorization: [`Bearer ${TOKEN}`] as unknown as string })).toBe(true);
  });

  it('compares tokens by digest and reads them from Bearer or Basic', () => {
    expect(tokensMatch(TOKEN, TOKEN)).toBe(true);
    expect(tokensMatch(TOKEN, `${TOKEN} `)).toBe(false);
    expect(tokensMatch(TOKEN, '')).toBe(false);
    expect(presentedToken(`bearer ${TOKEN}`)).toBe(TOKEN);
    expect(presentedToken(`Basic ${Buffer.from('a:b:c').toString('base64')}`)).toBe('b:c');
    expect(presentedToken('Token abc')).toBeNull();
    expect(presentedToken(undefined)).toBeNull();
    expect(['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1'].map(isLoopbackHost)).toEqual([true, true, true, true, true, true]);
    expect(['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', 'example.org', ''].map(isLoopbackHost)).toEqual([false, false, false, false, false, false]);
  });
});
