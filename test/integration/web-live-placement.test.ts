/**
 * The real web server (startWebServer on a loopback port, no operator token) with the two sources
 * `challenge serve` fills from Temporal replaced by fakes: `live` (a running pipeline's stages, as
 * operations/pipelines.ts liveStagesOf gives them) and `placement` (every track's slot book, as
 * operations/placement.ts placementsOf gives it). Read over HTTP as a browser would: the running stage's
 * answered/total and projection line on the operator's submission page and on the owning team's /team pages
 * (signed in through the form), the operator's /operator/placement page with each team's GPU time, the page
 * when the placement cannot be asked, no placement on the public pages, and on /team each team's own GPU time and
 * queue place only (the other team's name and time never). The database is
 * test/support/team-seed.ts (alpha.second is the running pipeline).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { StageState } from '../../contract/pipeline.js';
import { describeEta, describePrediction, type StageEta, type StagePrediction } from '../../domain/harness/throughput.js';
import { SlotBook } from '../../domain/placement.js';
import { formatSpan } from '../../domain/units.js';
import { ResultsDb } from '../../infra/results-db.js';
import type { TrackPlacement } from '../../operations/placement.js';
import { startWebServer, type WebServer } from '../../web/server.js';
import { QUEUE_UNAVAILABLE } from '../../web/team-placement.js';
import { CSRF_COOKIE, SESSION_COOKIE } from '../../web/team-pages.js';
import { ID, NOW, doorOptions, seedTeams, type SeededTeams } from '../support/team-seed.js';

const MIN = 60_000;
const STARTED = NOW - 10 * MIN;
// open-eval of alpha.second: 12 of 60 answered in its first 4 minutes, projected to end well inside its 30-minute limit.
const eta: StageEta = { answered: 12, total: 60, perMinute: 3, projectedEndAt: STARTED + 20 * MIN, limitAt: STARTED + 30 * MIN, pastLimit: false };
const prediction: StagePrediction = {
  total: 60,
  estimateMs: 19 * MIN,
  lowMs: 17 * MIN,
  highMs: 22 * MIN,
  limitMs: 30 * MIN,
  fits: true,
  answeredShareAtLimit: 1,
  sample: 8,
  concurrency: 2,
};
const LIVE: StageState[] = [
  { stage: 'build', outcome: 'succeeded', failureCategory: null, reason: null, startedAt: NOW - 30 * MIN, endedAt: NOW - 29 * MIN, limitMs: 20 * MIN },
  { stage: 'fine-tune', outcome: 'succeeded', failureCategory: null, reason: null, startedAt: NOW - 29 * MIN, endedAt: STARTED, limitMs: 10 * MIN },
  { stage: 'open-eval', outcome: 'running', failureCategory: null, reason: null, startedAt: STARTED, endedAt: null, limitMs: 30 * MIN, prediction, eta },
];

/** cpu: one host of one slot that alpha.second has held for 25 min (after 15 min of alpha.first), bravo.secret waiting. */
function cpuBook(): TrackPlacement {
  const clock = { t: NOW - 40 * MIN };
  const book = new SlotBook({ now: () => clock.t });
  book.announce('cpu-host-1', 1);
  book.request({ workflowId: `submission-${ID.evaluated}`, runId: 'r1' }, null, 1, { team: 'alpha', phase: 'development' });
  clock.t += 15 * MIN;
  book.release({ workflowId: `submission-${ID.evaluated}`, runId: 'r1' });
  book.request({ workflowId: `submission-${ID.running}`, runId: 'r2' }, null, 1, { team: 'alpha', phase: 'development' });
  clock.t += 20 * MIN;
  book.request({ workflowId: `submission-${ID.bravo}`, runId: 'r3' }, null, 1, { team: 'bravo', phase: 'development' });
  book.setWeight('bravo', 3);
  clock.t += 5 * MIN;
  return { track: 'cpu', view: book.view(), error: null };
}

let dir: string;
let db: ResultsDb;
let server: WebServer;
let seeded: SeededTeams;
const liveAsked: string[] = [];
let placementAsked = 0;
let placementDown = false;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'web-live-placement-'));
  db = new ResultsDb(path.join(dir, 'results.sqlite'));
  seeded = await seedTeams(db);
  const live = (submissionId: string) => {
    liveAsked.push(submissionId);
    return Promise.resolve(submissionId === ID.running ? LIVE : null);
  };
  const placement = () => {
    placementAsked += 1;
    return placementDown ? Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:7233')) : Promise.resolve([cpuBook(), { track: 'a100-40gb' as const, view: null, error: null }]);
  };
  server = await startWebServer({ db, dataDir: dir, teams: doorOptions(dir), live, placement });
}, 60_000);

afterAll(async () => {
  await server?.close();
  db?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function get(pathname: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; type: string | null }> {
  const response = await fetch(`${server.url}${pathname}`, { headers, redirect: 'manual' });
  return { status: response.status, body: await response.text(), type: response.headers.get('content-type') };
}

/** The value of cookie `name` among a response's Set-Cookie headers. */
function cookieOf(response: Response, name: string): string {
  const pair = response.headers.getSetCookie().map((c) => c.split(';')[0]!).find((c) => c.startsWith(`${name}=`));
  if (!pair) throw new Error(`the reply (${response.status}) set no ${name} cookie`);
  return pair.slice(name.length + 1);
}

/** Signs in through the form, as the browser does (its Origin, the CSRF cookie and field); gives the session cookie. */
async function signIn(token: string): Promise<string> {
  const form = await fetch(`${server.url}/team`);
  const csrf = cookieOf(form, CSRF_COOKIE);
  expect(/name="csrf" value="([^"]*)"/.exec(await form.text())?.[1]).toBe(csrf);
  const reply = await fetch(`${server.url}/team/sign-in`, {
    method: 'POST',
    redirect: 'manual',
    headers: { origin: server.url, cookie: `${CSRF_COOKIE}=${csrf}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token, csrf }).toString(),
  });
  expect(reply.status).toBe(303);
  return `${SESSION_COOKIE}=${cookieOf(reply, SESSION_COOKIE)}`;
}

/** The text of the progress block of `stage` (lines joined by <br>) on a page, or null. */
const progressOf = (body: string, testid: string, stage: string): string | null =>
  new RegExp(`data-testid="${testid}" data-stage="${stage}" data-past-limit="(?:yes|no)">([^<]*(?:<br>[^<]*)*)</div>`).exec(body)?.[1] ?? null;

describe("a running stage's progress through the server", () => {
  const lines = [describeEta(eta), `probe: ${describePrediction('open suite', prediction)}`];

  it("the operator's submission page shows answered/total and the projection line of the running stage", async () => {
    const page = await get(`/operator/submissions/${ID.running}`);
    expect(page.status).toBe(200);
    expect(liveAsked).toContain(ID.running);
    expect(lines[0]).toMatch(/^12\/60 answered, 3(\.0)?\/min, projected end \d\d:\d\d \(limit \d\d:\d\d\)$/);
    expect(progressOf(page.body, 'stage-progress', 'open-eval')).toBe(lines.join('<br>'));
    expect(page.body).toMatch(/data-testid="timeline-bar" data-stage="open-eval" data-outcome="pending"/);
  });

  it('the owning team sees it on /team and on the submission page; nothing live is asked for an ended pipeline', async () => {
    const session = await signIn(seeded.tokens.alpha);
    const overview = await get('/team', { cookie: session });
    expect(overview.status).toBe(200);
    expect(progressOf(overview.body, 'team-progress', 'open-eval')).toBe(lines.join('<br>'));
    const detail = await get(`/team/submissions/${ID.running}`, { cookie: session });
    expect(detail.status).toBe(200);
    expect(progressOf(detail.body, 'stage-progress', 'open-eval')).toBe(lines.join('<br>'));
    expect(overview.body).toContain('data-testid="team-stage" data-stage="open-eval" data-outcome="running"');
    expect(detail.body).toContain('data-testid="timeline-bar" data-stage="open-eval" data-outcome="running"');
    // alpha.first ended (its pipeline is recorded): its page asks nothing live and shows no running progress.
    const before = liveAsked.filter((id) => id === ID.evaluated).length;
    const ended = await get(`/team/submissions/${ID.evaluated}`, { cookie: session });
    expect(ended.status).toBe(200);
    expect(liveAsked.filter((id) => id === ID.evaluated).length).toBe(before);
    expect(progressOf(ended.body, 'team-progress', 'open-eval')).toBeNull();
  });

  it('another team gets 404 for the running submission, with none of its progress', async () => {
    const session = await signIn(seeded.tokens.bravo);
    const page = await get(`/team/submissions/${ID.running}`, { cookie: session });
    expect(page.status).toBe(404);
    expect(page.body).not.toContain('12/60 answered');
  });
});

describe("the teams' GPU time on the operator's placement page", () => {
  it('shows per track the slots in use, the waiting order and each team with its GPU time, weight and share', async () => {
    const before = placementAsked;
    const page = await get('/operator/placement');
    expect(page.status).toBe(200);
    expect(page.type).toMatch(/^text\/html/);
    expect(placementAsked).toBe(before + 1);
    const cpu = /<section class="card" data-testid="placement-track" data-track="cpu" data-state="running">([\s\S]*?)<\/section>/.exec(page.body)![1]!;
    expect(cpu).toMatch(/data-testid="placement-slots-held"><b>1<\/b>slots held/);
    expect(cpu).toMatch(/data-testid="placement-slots-in-service"><b>1<\/b>slots in service/);
    expect(cpu).toContain(`data-testid="placement-lease" data-workflow="submission-${ID.running}"`);
    expect(cpu).toContain(`data-testid="placement-waiting" data-position="1" data-workflow="submission-${ID.bravo}"`);
    expect(cpu).toContain(`href="/operator/submissions/${ID.bravo}"`);
    // alpha: 15 min of alpha.first + 25 min of alpha.second so far; bravo waits with nothing used, weight 3
    const alpha = /data-team="alpha" data-used-ms="(\d+)">([\s\S]*?)<\/tr>/.exec(cpu)!;
    expect(Number(alpha[1])).toBe(40 * MIN);
    expect(alpha[2]).toContain(`data-testid="placement-used">${formatSpan(40 * MIN)}</td>`);
    expect(alpha[2]).toContain('data-testid="placement-share">100%</td>');
    const bravo = /data-team="bravo" data-used-ms="(\d+)">([\s\S]*?)<\/tr>/.exec(cpu)!;
    expect(Number(bravo[1])).toBe(0);
    expect(bravo[2]).toContain('data-testid="placement-weight">3</td>');
    expect(page.body).toContain('data-track="a100-40gb" data-state="not-started"');
    const overview = await get('/operator');
    expect(overview.body).toContain('href="/operator/placement"');
  });

  it('is not on the public pages nor the team pages (only /team asks it, for the team\'s own line)', async () => {
    const before = placementAsked;
    expect((await get('/placement')).status).toBe(404);
    expect((await get('/api/placement')).status).toBe(404);
    expect((await get('/')).body).not.toContain('placement-link');
    expect(placementAsked).toBe(before);
    const session = await signIn(seeded.tokens.alpha);
    for (const pathname of ['/team', `/team/submissions/${ID.running}`]) {
      const page = await get(pathname, { cookie: session });
      expect(page.status).toBe(200);
      expect(page.body).not.toContain('data-testid="placement');
      expect(page.body).not.toContain(ID.bravo);
    }
    expect(placementAsked).toBe(before + 1);
  });

  it("each team sees on /team its own GPU time and queue place, never the other team's; the card says so when the placement is down", async () => {
    const cardOf = (body: string): string => /<section class="card" data-testid="team-gpu">([\s\S]*?)<\/section>/.exec(body)![1]!;
    const alpha = await get('/team', { cookie: await signIn(seeded.tokens.alpha) });
    expect(alpha.status).toBe(200);
    const alphaCard = cardOf(alpha.body);
    // alpha: 15 min of alpha.first + 25 min so far of alpha.second, which holds the one slot; it waits for nothing
    const used = `data-used-ms="${40 * MIN}">phase <b>development</b>: <b data-testid="team-gpu-used">${formatSpan(40 * MIN)}</b>`;
    expect(alphaCard).toContain(`data-testid="team-gpu-phase" data-phase="development" ${used}`);
    expect(alphaCard).toContain(`<a href="/team/submissions/${ID.running}">${ID.running}</a> holds a slot, running for ${formatSpan(25 * MIN)}`);
    expect(alphaCard).not.toContain('team-gpu-waiting');
    expect(alpha.body).not.toContain('bravo');
    expect(alpha.body).not.toContain('weight 3');

    const bravo = await get('/team', { cookie: await signIn(seeded.tokens.bravo) });
    expect(bravo.status).toBe(200);
    const bravoCard = cardOf(bravo.body);
    expect(bravoCard).toContain(`data-testid="team-gpu-waiting" data-submission="${ID.bravo}" data-position="1">`);
    expect(bravoCard).toContain('<b>1st in line for cpu</b>, waiting for 5m');
    expect(bravoCard).toContain('data-testid="team-gpu-weight">(weight 3: it counts as 0ms)</span>');
    expect(bravoCard).toContain('data-testid="team-gpu-holding" data-count="0">None of your submissions holds a slot now.');
    expect(bravo.body).not.toContain('alpha');
    expect(bravo.body).not.toContain(formatSpan(40 * MIN));
    // the same figures in GET /api/team/quota's `gpu`, with the team token
    const api = await get('/api/team/quota', { authorization: `Bearer ${seeded.tokens.bravo}` });
    expect(api.status).toBe(200);
    const gpu = (JSON.parse(api.body) as { gpu: { unavailable: string | null; tracks: { track: string; phases: unknown[]; waiting: { submissionId: string; position: number }[] }[] } }).gpu;
    expect(gpu.unavailable).toBeNull();
    expect(gpu.tracks.map((t) => [t.track, t.phases, t.waiting.map((w) => [w.submissionId, w.position])])).toEqual([
      ['cpu', [{ phase: 'development', usedMs: 0, weight: 3 }], [[ID.bravo, 1]]],
    ]);
    expect(api.body).not.toContain('alpha');

    placementDown = true;
    try {
      const down = await get('/team', { cookie: await signIn(seeded.tokens.alpha) });
      expect(down.status).toBe(200);
      expect(cardOf(down.body)).toContain(`data-testid="team-gpu-unavailable">${QUEUE_UNAVAILABLE}</p>`);
      expect(down.body).not.toContain('ECONNREFUSED');
      expect(down.body).toContain('data-testid="quota"');
      const api = await get('/api/team/quota', { authorization: `Bearer ${seeded.tokens.alpha}` });
      expect(api.status).toBe(200);
      expect((JSON.parse(api.body) as { gpu: { unavailable: string } }).gpu.unavailable).toBe(QUEUE_UNAVAILABLE);
    } finally {
      placementDown = false;
    }
  });

  it('says that the placement cannot be asked when Temporal is down, instead of a 500', async () => {
    placementDown = true;
    try {
      const page = await get('/operator/placement');
      expect(page.status).toBe(200);
      expect(page.body).toMatch(/data-testid="placement-unavailable">The placement could not be asked \(connect ECONNREFUSED 127\.0\.0\.1:7233\)/);
      expect(page.body).not.toContain('data-testid="placement-track"');
      const api = await get('/api/operator/placement');
      expect(api.status).toBe(503);
      expect((JSON.parse(api.body) as { unavailable: string }).unavailable).toContain('ECONNREFUSED');
    } finally {
      placementDown = false;
    }
  });
});
