/**
 * The team's own pages through route() (web/server.ts) over a real SQLite results database: signing in sets
 * an HttpOnly, SameSite=Strict session cookie; forms from another origin or without the right CSRF value are
 * refused (403); another team's submission answers exactly like an unknown one (404) and shows none of its
 * data; closed-stage text a server echoed (reasons, logs, answers) is not on any team page or view; the quota,
 * refunds and open scores are the store's; signing out ends the session.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sessionHash } from '../../domain/teams/tokens.js';
import { ResultsDb } from '../../infra/results-db.js';
import { route, type WebServerOptions } from '../../web/server.js';
import { formatTimestamp } from '../../web/html.js';
import { CSRF_COOKIE, SESSION_COOKIE, SESSION_SECONDS, TEAM_PAGE_CSP, signOutCsrf } from '../../web/team-pages.js';
import { teamOverview, teamSubmissionDetail } from '../../web/team-data.js';
import type { Reply, TeamContext } from '../../web/team-context.js';
import { ACCEPTED, BRAVO_SECRET, BUILD_LOG, CLOSED_COMPLETION, CLOSED_PROMPT, HOUR, ID, NOW, OPEN_COMPLETION, OPEN_EVAL_LOG, doorOptions, seedTeams, type SeededTeams } from '../support/team-seed.js';

const HOST = 'cockpit.example:8080';
const ORIGIN = `http://${HOST}`;

let dir: string;
let db: ResultsDb;
let options: WebServerOptions;
let context: TeamContext;
let seeded: SeededTeams;
let address = 0;
/** A fresh peer address per test, so that one test's bad tokens do not throttle the next. */
const peer = () => `10.0.0.${++address}`;

const badTokenLog: string[] = [];
beforeAll(async () => {
  jest.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
    badTokenLog.push(args.map(String).join(' '));
  });
  dir = mkdtempSync(path.join(os.tmpdir(), 'team-pages-'));
  db = new ResultsDb(path.join(dir, 'results.sqlite'));
  seeded = await seedTeams(db);
  options = { db, dataDir: dir, teams: doorOptions(dir) };
  context = { db, dataDir: dir, door: options.teams! };
});

afterAll(() => {
  jest.restoreAllMocks();
  db?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const get = (pathname: string, headers: Record<string, string> = {}) => route(options, 'GET', pathname, { host: HOST, ...headers });
const post = (pathname: string, form: Record<string, string>, headers: Record<string, string> = {}, remoteAddress = peer()) =>
  route(options, 'POST', pathname, { host: HOST, 'content-type': 'application/x-www-form-urlencoded', ...headers }, { body: Buffer.from(new URLSearchParams(form).toString()), remoteAddress });

/** The name=value of a reply's Set-Cookie and its attributes. */
function setCookie(reply: Reply): { name: string; value: string; attributes: string[] } {
  const raw = reply.headers?.['set-cookie'];
  if (!raw) throw new Error(`the reply (${reply.status}) set no cookie`);
  const [pair, ...attributes] = raw.split(';').map((part) => part.trim());
  const eq = pair!.indexOf('=');
  return { name: pair!.slice(0, eq), value: pair!.slice(eq + 1), attributes };
}

const hiddenCsrf = (body: string): string => /name="csrf" value="([^"]*)"/.exec(body)?.[1] ?? '';

/** Opens the sign-in form and signs in with `token`; gives the session cookie's secret. */
async function signIn(token: string, extra: Record<string, string> = {}): Promise<{ reply: Reply; secret: string }> {
  const form = await get('/team');
  const csrf = setCookie(form);
  expect(csrf.name).toBe(CSRF_COOKIE);
  const reply = await post('/team/sign-in', { token, csrf: hiddenCsrf(form.body) }, { origin: ORIGIN, cookie: `${CSRF_COOKIE}=${csrf.value}`, ...extra });
  return { reply, secret: reply.status === 303 ? setCookie(reply).value : '' };
}

const as = (secret: string) => ({ cookie: `${SESSION_COOKIE}=${secret}` });

describe('signing in', () => {
  it('shows the form with a double-submit CSRF value, under a CSP that lets it post to this origin only', async () => {
    const reply = await get('/team');
    expect(reply.status).toBe(200);
    expect(reply.body).toContain('action="/team/sign-in"');
    expect(reply.body).toContain('name="token"');
    const csrf = setCookie(reply);
    expect(csrf.value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(hiddenCsrf(reply.body)).toBe(csrf.value);
    expect(csrf.attributes).toEqual(expect.arrayContaining(['HttpOnly', 'SameSite=Strict', 'Path=/team']));
    expect(reply.headers?.['content-security-policy']).toBe(TEAM_PAGE_CSP);
    expect(TEAM_PAGE_CSP).toContain("form-action 'self'");
    expect(TEAM_PAGE_CSP).not.toMatch(/script-src/);
    expect(reply.body).not.toContain('<script');
    // a second visit keeps the cookie it already holds (two tabs both work)
    const again = await get('/team', { cookie: `${CSRF_COOKIE}=${csrf.value}` });
    expect(hiddenCsrf(again.body)).toBe(csrf.value);
  });

  it('sets an HttpOnly SameSite=Strict session cookie for 12 h and opens a session in the store', async () => {
    const { reply, secret } = await signIn(seeded.tokens.alpha);
    expect(reply.status).toBe(303);
    expect(reply.headers?.location).toBe('/team');
    const cookie = setCookie(reply);
    expect(cookie.name).toBe(SESSION_COOKIE);
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(cookie.attributes).toEqual(['HttpOnly', 'SameSite=Strict', 'Path=/team', `Max-Age=${SESSION_SECONDS}`]);
    expect(SESSION_SECONDS).toBe(43_200);
    expect(await db.sessionTeam(sessionHash(secret), new Date(NOW).toISOString())).toBe('alpha');
    expect(await db.sessionTeam(sessionHash(secret), new Date(NOW + 12 * HOUR + 1000).toISOString())).toBeUndefined();
  });

  it('marks the cookie Secure when the request came over https through a proxy', async () => {
    const { reply } = await signIn(seeded.tokens.bravo, { 'x-forwarded-proto': 'https' });
    expect(reply.status).toBe(303);
    expect(setCookie(reply).attributes).toContain('Secure');
  });

  it('answers a wrong token with 401 and the form again, saying nothing of whether the token id exists', async () => {
    const knownId = seeded.tokens.alpha.replace(/_[^_]+$/, '_wrongsecretwrongsecretwrongsecret');
    const known = (await signIn(knownId)).reply;
    const unknown = (await signIn('cht_nosuchid_wrongsecretwrongsecretwrongsecret')).reply;
    expect(known.status).toBe(401);
    expect(unknown.status).toBe(401);
    const message = (body: string) => /data-testid="sign-in-error">([^<]*)</.exec(body)?.[1];
    expect(message(known.body)).toBeDefined();
    expect(message(known.body)).toBe(message(unknown.body));
    expect(known.body).toContain('action="/team/sign-in"');
    expect(known.headers?.['set-cookie']).toMatch(new RegExp(`^${CSRF_COOKIE}=`));
    // the operators' log says which address sent it
    expect(badTokenLog.some((line) => line.includes('bad team token from 10.0.0.'))).toBe(true);
  });

  it('slows an address down with 429 after the competition\'s number of bad tokens', async () => {
    const from = peer();
    const form = await get('/team');
    const csrf = setCookie(form).value;
    const attempt = () => post('/team/sign-in', { token: 'cht_x_y', csrf }, { origin: ORIGIN, cookie: `${CSRF_COOKIE}=${csrf}` }, from);
    const limit = options.teams!.competition.intake.badTokensPerWindow;
    for (let i = 0; i < limit; i++) expect((await attempt()).status).toBe(401);
    const throttled = await attempt();
    expect(throttled.status).toBe(429);
    expect(Number(throttled.headers?.['retry-after'])).toBeGreaterThan(0);
    // even the right token waits: the address is blocked, not the token
    const right = await post('/team/sign-in', { token: seeded.tokens.alpha, csrf }, { origin: ORIGIN, cookie: `${CSRF_COOKIE}=${csrf}` }, from);
    expect(right.status).toBe(429);
  });
});

describe('cross-site requests', () => {
  it('refuses a sign-in with a wrong or missing CSRF value, from another origin, or with no origin at all (403)', async () => {
    const form = await get('/team');
    const csrf = setCookie(form).value;
    const token = seeded.tokens.alpha;
    const cookie = `${CSRF_COOKIE}=${csrf}`;
    expect((await post('/team/sign-in', { token, csrf: 'A'.repeat(43) }, { origin: ORIGIN, cookie })).status).toBe(403);
    expect((await post('/team/sign-in', { token }, { origin: ORIGIN, cookie })).status).toBe(403);
    expect((await post('/team/sign-in', { token, csrf }, { origin: ORIGIN })).status).toBe(403);
    expect((await post('/team/sign-in', { token, csrf }, { origin: 'http://evil.example', cookie })).status).toBe(403);
    expect((await post('/team/sign-in', { token, csrf }, { origin: 'null', cookie })).status).toBe(403);
    expect((await post('/team/sign-in', { token, csrf }, { cookie })).status).toBe(403);
    expect((await post('/team/sign-in', { token, csrf }, { referer: 'http://evil.example/team', cookie })).status).toBe(403);
    const refused = await post('/team/sign-in', { token, csrf }, { origin: 'http://evil.example', cookie });
    expect(refused.headers?.['set-cookie']).toBeUndefined();
    expect(refused.body).toContain('must be sent from a page of this server');
    // the same form from this origin (by Referer, or by Sec-Fetch-Site) signs in
    expect((await post('/team/sign-in', { token, csrf }, { referer: `${ORIGIN}/team`, cookie })).status).toBe(303);
    expect((await post('/team/sign-in', { token, csrf }, { 'sec-fetch-site': 'same-origin', cookie })).status).toBe(303);
  });

  it('refuses a sign-out without the HMAC of the session, or from another origin, and keeps the session', async () => {
    const { secret } = await signIn(seeded.tokens.alpha);
    const cookie = as(secret).cookie;
    expect((await post('/team/sign-out', { csrf: signOutCsrf(secret) }, { origin: 'http://evil.example', cookie })).status).toBe(403);
    expect((await post('/team/sign-out', { csrf: signOutCsrf('A'.repeat(43)) }, { origin: ORIGIN, cookie })).status).toBe(403);
    expect((await post('/team/sign-out', {}, { origin: ORIGIN, cookie })).status).toBe(403);
    expect(await db.sessionTeam(sessionHash(secret), new Date(NOW).toISOString())).toBe('alpha');
  });
});

describe('the team page', () => {
  it('lists the team\'s submissions with status, stages, open scores, refunds and the quota', async () => {
    const { secret } = await signIn(seeded.tokens.alpha);
    const reply = await get('/team', as(secret));
    expect(reply.status).toBe(200);
    expect(reply.headers?.['content-security-policy']).toBe(TEAM_PAGE_CSP);
    const body = reply.body;
    expect(body).toContain('data-testid="team-name">Team alpha<');
    const rows = [...body.matchAll(/data-testid="team-submission-row" data-submission="([^"]+)" data-outcome="([^"]+)"/g)].map((m) => [m[1], m[2]]);
    expect(rows).toEqual([
      [ID.running, 'running'],
      [ID.refunded, 'failed'],
      [ID.evaluated, 'completed'],
    ]);
    expect(body).not.toContain(ID.bravo);
    expect(body).toContain('data-testid="team-open-score" data-scenario="opposites"');
    expect(body).toContain('capitals <b>0.8000</b>');
    expect(body).toContain('opposites <b>0.9000</b>');
    expect(body).not.toContain('animal-sounds'); // a closed-suite scenario
    expect(body).toContain('data-stage="fine-tune" data-outcome="running"'); // the running one's current stage
    // quota: 2 counted (the refunded one does not count) of 3 a day; the oldest frees its slot 24 h after it was accepted
    expect(body).toMatch(/data-testid="quota-row" data-track="cpu">[\s\S]*?data-testid="quota-used">2 of 3</);
    expect(body).toMatch(/data-testid="quota-left"><b>1<\/b>/);
    expect(body).toContain(`data-testid="quota-reset">${formatTimestamp(new Date(ACCEPTED.evaluated + 24 * HOUR).toISOString())}<`);
    expect(body).toMatch(/data-testid="refund" data-refunded="yes"><b>refunded<\/b>: Infrastructure — our infrastructure failed during the closed evaluation/);
    // a running pipeline: the page reloads itself, with no script
    expect(body).toContain('<meta http-equiv="refresh" content="5">');
    expect(body).not.toContain('<script');
    expect(body).toContain(`name="csrf" value="${signOutCsrf(secret)}"`);
  });

  it('carries no closed-suite text a server echoed: not in the page, the overview view or the detail view', async () => {
    const { secret } = await signIn(seeded.tokens.alpha);
    const pages = [await get('/team', as(secret)), await get(`/team/submissions/${ID.evaluated}`, as(secret)), await get(`/team/submissions/${ID.refunded}`, as(secret))];
    const views = [await teamOverview(context, 'alpha'), await teamSubmissionDetail(context, 'alpha', ID.evaluated), await teamSubmissionDetail(context, 'alpha', ID.refunded)];
    for (const text of [...pages.map((p) => p.body), ...views.map((v) => JSON.stringify(v))]) {
      expect(text).not.toContain('CLOSEDSUITE');
      expect(text).not.toContain('Segmentation fault');
      expect(text).not.toContain(CLOSED_COMPLETION);
    }
    expect(CLOSED_PROMPT).toContain('CLOSEDSUITE');
    // the closed-eval reason is the rebuilt public one
    expect(pages[1]!.body).toContain('the inference server exited after 9 of 44 answers (closed suite; log withheld)');
  });

  it('shows a submission in detail: stages, open scores and answers, the build and open-eval logs', async () => {
    const { secret } = await signIn(seeded.tokens.alpha);
    const reply = await get(`/team/submissions/${ID.evaluated}`, as(secret));
    expect(reply.status).toBe(200);
    const body = reply.body;
    expect(body).toContain(`data-testid="submission-id">${ID.evaluated}<`);
    expect([...body.matchAll(/data-testid="timeline-bar" data-stage="([^"]+)" data-outcome="([^"]+)"/g)].map((m) => `${m[1]}:${m[2]}`)).toEqual([
      'build:succeeded',
      'fine-tune:succeeded',
      'open-eval:succeeded',
      'closed-eval:partial',
      'score:succeeded',
    ]);
    expect(body).toContain('Successfully built alpha-image');
    expect(body).toContain('open-eval: 60 requests answered');
    expect([...body.matchAll(/data-testid="log-excerpt" data-stage="([^"]+)"/g)].map((m) => m[1])).toEqual(['build', 'open-eval']);
    expect(body).toContain('data-testid="answer-row" data-suite="open" data-scenario="capitals" data-instance="1"');
    expect(body).toContain('open answer: Paris (alpha)');
    expect(body).not.toContain('data-suite="closed"');
    expect(body).not.toContain('http-equiv="refresh"'); // nothing of it runs
    const detail = await teamSubmissionDetail(context, 'alpha', ID.evaluated);
    expect(detail).not.toBeNull();
    expect(JSON.parse(JSON.stringify(detail))).toEqual(detail);
    expect(detail!.openAnswers).toEqual([
      { scenario: 'capitals', instanceId: '1', completion: OPEN_COMPLETION, score: 1 },
      { scenario: 'opposites', instanceId: '2', completion: null, score: 0 },
    ]);
    expect(detail!.logs.map((l) => [l.stage, l.text])).toEqual([
      ['build', BUILD_LOG],
      ['open-eval', OPEN_EVAL_LOG],
    ]);
    expect(detail!.openScores.map((s) => s.scenario)).toEqual(['capitals', 'opposites']); // by scenario name
    expect(detail!.stages.every((s) => s.details === null || !('logExcerpt' in s.details))).toBe(true);
  });

  it('answers another team\'s submission exactly like an unknown one: 404, none of its data', async () => {
    const { secret } = await signIn(seeded.tokens.alpha);
    const other = await get(`/team/submissions/${ID.bravo}`, as(secret));
    const unknown = await get('/team/submissions/bravo.nothing', as(secret));
    expect(other.status).toBe(404);
    expect(unknown.status).toBe(404);
    expect(other.body).not.toContain(BRAVO_SECRET);
    expect(other.body).not.toContain('BuildFailed');
    expect(other.body.replaceAll(ID.bravo, '<id>')).toBe(unknown.body.replaceAll('bravo.nothing', '<id>'));
    expect(await teamSubmissionDetail(context, 'alpha', ID.bravo)).toBeNull();
    // bravo itself sees it
    const bravo = await signIn(seeded.tokens.bravo);
    const own = await get(`/team/submissions/${ID.bravo}`, as(bravo.secret));
    expect(own.status).toBe(200);
    expect(own.body).toContain(BRAVO_SECRET); // a build reason is the team's own to read
  });

  it('answers the pages signed out with the sign-in form', async () => {
    const detail = await get(`/team/submissions/${ID.evaluated}`);
    expect(detail.status).toBe(401);
    expect(detail.body).toContain('action="/team/sign-in"');
    expect(detail.body).not.toContain(OPEN_COMPLETION);
    expect((await get('/team', as('B'.repeat(43)))).body).toContain('action="/team/sign-in"');
    expect((await get('/team/nothing-here')).status).toBe(404);
    expect((await route(options, 'GET', '/team/sign-in', { host: HOST })).status).toBe(405);
  });

  it('gives the overview as JSON-serialisable figures of the store', async () => {
    const view = await teamOverview(context, 'alpha');
    expect(JSON.parse(JSON.stringify(view))).toEqual(view);
    expect(view.phase?.id).toBe('development');
    expect(view.quotas).toEqual([
      {
        track: 'cpu',
        phase: 'development',
        used: 2,
        perWindow: 3,
        windowMs: 24 * HOUR,
        usedInPhase: 2,
        perPhase: null,
        left: 1,
        grantsLeft: 0,
        nextSlotAt: new Date(ACCEPTED.evaluated + 24 * HOUR).toISOString(),
      },
    ]);
    expect(view.running).toBe(true);
    const refunded = view.submissions.find((s) => s.submissionId === ID.refunded)!;
    expect(refunded.refunded).toBe(true);
    expect(refunded.refundReason).toBe('refunded: Infrastructure — our infrastructure failed during the closed evaluation; not charged, to be re-run (closed suite; log withheld)');
    const evaluated = view.submissions.find((s) => s.submissionId === ID.evaluated)!;
    expect(evaluated.openScores.map((s) => [s.scenario, s.score])).toEqual([
      ['capitals', 0.8],
      ['opposites', 0.9],
    ]);
    expect(evaluated.refunded).toBe(false);
  });
});

describe('signing out', () => {
  it('ends the session, clears the cookie, and the old cookie then shows the sign-in form', async () => {
    const { secret } = await signIn(seeded.tokens.alpha);
    expect((await get('/team', as(secret))).body).toContain('Team alpha');
    const reply = await post('/team/sign-out', { csrf: signOutCsrf(secret) }, { origin: ORIGIN, ...as(secret) });
    expect(reply.status).toBe(303);
    expect(reply.headers?.location).toBe('/team');
    const cleared = setCookie(reply);
    expect(cleared).toEqual({ name: SESSION_COOKIE, value: '', attributes: ['HttpOnly', 'SameSite=Strict', 'Path=/team', 'Max-Age=0'] });
    expect(await db.sessionTeam(sessionHash(secret), new Date(NOW).toISOString())).toBeUndefined();
    const after = await get('/team', as(secret));
    expect(after.status).toBe(200);
    expect(after.body).toContain('action="/team/sign-in"');
    expect(after.body).not.toContain('Team alpha');
  });
});
