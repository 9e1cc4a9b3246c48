/**
 * A team chooses its final submission on its own page (POST /team/final, web/team-pages.ts) through route()
 * (web/server.ts) over a real SQLite results database seeded by test/support/team-seed.ts: /team shows the choice per
 * track (or that none is chosen and what is used instead) and a "Choose as final" form on each upload of the open
 * phase; a choice is recorded and shown; a missing or wrong CSRF value, another origin or no session is refused with
 * nothing recorded; another team's id answers exactly like an unknown one; and the page refuses exactly the cases the
 * JSON API (POST /api/team/final) refuses, with the same status and the same reason (web/team-final.ts decides both).
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ResultsDb } from '../../infra/results-db.js';
import { route, type WebServerOptions } from '../../web/server.js';
import { API_FINAL_DOOR, FINAL_RULE, PAGE_FINAL_DOOR } from '../../web/team-final.js';
import { CSRF_COOKIE, SESSION_COOKIE, TEAM_PAGE_CSP, finalCsrf, signOutCsrf } from '../../web/team-pages.js';
import type { Reply } from '../../web/team-context.js';
import { BRAVO_SECRET, ID, NOW, RULE, doorOptions, seedTeams, type SeededTeams } from '../support/team-seed.js';

const HOST = 'cockpit.example:8080';
const ORIGIN = `http://${HOST}`;
const iso = (ms: number) => new Date(ms).toISOString();
/** Two more of alpha's: one an operator ran for it (no upload), one uploaded in an earlier phase. */
const OPERATOR_RUN = 'alpha.by-operator';
const EARLIER = 'alpha.warmup';

let dir: string;
let db: ResultsDb;
let options: WebServerOptions;
let seeded: SeededTeams;
const clock = { now: NOW };
let address = 0;

beforeAll(async () => {
  jest.spyOn(console, 'error').mockImplementation(() => undefined); // the operators' log of bad tokens
  dir = mkdtempSync(path.join(os.tmpdir(), 'team-final-'));
  db = new ResultsDb(path.join(dir, 'results.sqlite'));
  seeded = await seedTeams(db);
  const submittedAt = iso(NOW - 5 * 3_600_000);
  db.registerRun({ submissionId: OPERATOR_RUN, team: 'alpha', name: 'by-operator', track: 'cpu', directory: '/d', workflowId: `submission-${OPERATOR_RUN}`, runId: 'r', submittedAt });
  const earlier = db.reserveIntake({
    intakeId: `intake-${EARLIER}`,
    team: 'alpha',
    track: 'cpu',
    phase: 'warmup',
    submissionId: EARLIER,
    archiveKey: `archives/${EARLIER}.tar.gz`,
    archiveSha256: '1'.repeat(64),
    at: iso(NOW - 30 * 3_600_000),
    rule: RULE,
  });
  expect(earlier.kind).toBe('accepted');
  options = { db, dataDir: dir, teams: doorOptions(dir, () => clock.now) };
});

afterAll(() => {
  jest.restoreAllMocks();
  db?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const get = (url: string, headers: Record<string, string> = {}) => route(options, 'GET', url, { host: HOST, ...headers });
const post = (url: string, form: Record<string, string>, headers: Record<string, string> = {}) =>
  route(options, 'POST', url, { host: HOST, 'content-type': 'application/x-www-form-urlencoded', ...headers }, {
    body: Buffer.from(new URLSearchParams(form).toString()),
    remoteAddress: `10.1.0.${++address}`,
  });
const apiChoose = (token: string, submissionId: string) =>
  route(options, 'POST', '/api/team/final', { host: HOST, authorization: `Bearer ${token}`, 'content-type': 'application/json' }, {
    body: Buffer.from(JSON.stringify({ submissionId })),
    remoteAddress: '10.1.1.1',
  });

const cookieValue = (reply: Reply): string => /^[^=]+=([^;]*)/.exec(reply.headers?.['set-cookie'] ?? '')?.[1] ?? '';

/** Signs in with `token` through the form; gives the session cookie's secret. */
async function signIn(token: string): Promise<string> {
  const form = await get('/team');
  const csrf = cookieValue(form);
  const reply = await post('/team/sign-in', { token, csrf }, { origin: ORIGIN, cookie: `${CSRF_COOKIE}=${csrf}` });
  expect(reply.status).toBe(303);
  return cookieValue(reply);
}

const as = (secret: string) => ({ cookie: `${SESSION_COOKIE}=${secret}` });
const choose = (secret: string, submissionId: string, csrf = finalCsrf(secret)) => post('/team/final', { submissionId, csrf }, { origin: ORIGIN, ...as(secret) });

const unescape = (text: string) => text.replaceAll('&quot;', '"').replaceAll('&#39;', "'").replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&amp;', '&');
const finalRow = (body: string) => {
  const match = /data-testid="final-row" data-track="cpu" data-submission="([^"]*)">[\s\S]*?data-testid="final-note">([^<]*)</.exec(body);
  return match ? { submission: match[1], note: unescape(match[2]!) } : null;
};
const refusalOf = (body: string) => {
  const match = /data-testid="final-refused">([^<]*)</.exec(body);
  return match ? unescape(match[1]!) : null;
};
/** The submissions whose row carries a "Choose as final" form, and the CSRF value each form carries. */
const forms = (body: string) =>
  [...body.matchAll(/data-testid="choose-final-form"><input type="hidden" name="submissionId" value="([^"]+)">\s*<input type="hidden" name="csrf" value="([^"]+)">/g)].map((m) => [m[1], m[2]]);
/** The submission rows marked as the final choice. */
const chosenBadges = (body: string) =>
  [...body.matchAll(/<tr data-testid="team-submission-row" data-submission="([^"]+)"[\s\S]*?<\/tr>/g)].filter((m) => m[0].includes('data-testid="final-chosen"')).map((m) => m[1]);

describe('the final choice on /team', () => {
  it('says none is chosen yet and what is used instead, and offers the form on each upload of the open phase only', async () => {
    const secret = await signIn(seeded.tokens.alpha);
    const reply = await get('/team', as(secret));
    expect(reply.status).toBe(200);
    expect(finalRow(reply.body)).toEqual({ submission: '', note: 'none chosen yet: your latest completed submission of phase development for cpu is used' });
    expect(reply.body).toContain(`The rule: ${FINAL_RULE}.`);
    // the three development uploads have the form (with this session's value); the earlier phase's upload has none
    expect(forms(reply.body)).toEqual([ID.running, ID.refunded, ID.evaluated].map((id) => [id, finalCsrf(secret)]));
    expect(reply.body).toContain(`data-submission="${EARLIER}"`);
    expect(finalCsrf(secret)).not.toBe(signOutCsrf(secret));
    expect(reply.body).not.toContain('<script');
    expect(reply.headers?.['content-security-policy']).toBe(TEAM_PAGE_CSP);
  });

  it('records a choice, redirects to /team with a notice, and shows it per track and on its row', async () => {
    const secret = await signIn(seeded.tokens.alpha);
    clock.now = NOW + 60_000;
    const reply = await choose(secret, ID.evaluated);
    expect(reply.status).toBe(303);
    expect(reply.headers?.location).toBe(`/team?chosen=${ID.evaluated}`);
    expect(reply.headers?.['set-cookie']).toBeUndefined();
    expect(await db.finalChoice('alpha', 'cpu', 'development')).toEqual({ team: 'alpha', track: 'cpu', phase: 'development', submissionId: ID.evaluated, at: iso(NOW + 60_000) });

    const page = await get(reply.headers!.location!, as(secret));
    expect(page.status).toBe(200);
    expect(unescape(/data-testid="final-notice">([^<]*)</.exec(page.body)?.[1] ?? '')).toBe(`Submission "${ID.evaluated}" is now your final submission for track cpu (phase development).`);
    expect(finalRow(page.body)).toEqual({ submission: ID.evaluated, note: 'it completed, so it goes to the finals' });
    expect(chosenBadges(page.body)).toEqual([ID.evaluated]);
    expect(forms(page.body).map(([id]) => id)).toEqual([ID.running, ID.refunded]);
    // the plain /team has no notice; the API sees the same choice
    expect((await get('/team', as(secret))).body).not.toContain('data-testid="final-notice"');
    const api = JSON.parse((await route(options, 'GET', '/api/team/final', { authorization: `Bearer ${seeded.tokens.alpha}` })).body) as { choices: { submissionId: string }[] };
    expect(api.choices.map((c) => c.submissionId)).toEqual([ID.evaluated]);

    // a later choice replaces it; what the page says follows that submission's outcome
    expect((await choose(secret, ID.refunded)).status).toBe(303);
    expect(finalRow((await get('/team', as(secret))).body)).toEqual({
      submission: ID.refunded,
      note: 'it did not complete (failed), so your latest completed submission of phase development for cpu is used unless you choose another',
    });
    expect((await choose(secret, ID.running)).status).toBe(303);
    expect(finalRow((await get('/team', as(secret))).body)).toEqual({
      submission: ID.running,
      note: 'it goes to the finals if its pipeline completes; else your latest completed submission of phase development for cpu is used',
    });
    expect((await db.finalChoice('alpha', 'cpu', 'development'))?.submissionId).toBe(ID.running);
    clock.now = NOW;
  });
});

describe('refused choices record nothing', () => {
  it('refuses a missing or wrong CSRF value, the sign-out form\'s value, another origin, and no session', async () => {
    const secret = await signIn(seeded.tokens.alpha);
    const before = await db.finalChoice('alpha', 'cpu', 'development');
    const missing = await post('/team/final', { submissionId: ID.evaluated }, { origin: ORIGIN, ...as(secret) });
    expect(missing.status).toBe(403);
    expect(missing.body).toContain('its CSRF value does not match your session), so nothing was chosen. Open /team and choose there.');
    expect((await choose(secret, ID.evaluated, 'A'.repeat(43))).status).toBe(403);
    expect((await choose(secret, ID.evaluated, signOutCsrf(secret))).status).toBe(403);
    expect((await choose(secret, ID.evaluated, finalCsrf('B'.repeat(43)))).status).toBe(403);
    const foreign = await post('/team/final', { submissionId: ID.evaluated, csrf: finalCsrf(secret) }, { origin: 'http://evil.example', ...as(secret) });
    expect(foreign.status).toBe(403);
    expect(foreign.body).toContain('must be sent from a page of this server');
    const signedOut = await post('/team/final', { submissionId: ID.evaluated, csrf: finalCsrf(secret) }, { origin: ORIGIN });
    expect(signedOut.status).toBe(401);
    expect(signedOut.body).toContain('action="/team/sign-in"');
    expect(await db.finalChoice('alpha', 'cpu', 'development')).toEqual(before);
    expect(before?.submissionId).not.toBe(ID.evaluated);
    // a form with no submission named
    const empty = await choose(secret, '');
    expect(empty.status).toBe(400);
    expect(refusalOf(empty.body)).toMatch(/^Not chosen: the form named no submission \(field submissionId/);
    expect((await get('/team/final', as(secret))).headers?.allow).toBe('POST');
  });

  it('refuses a hostile submission id, an over-long one or markup, with a 4xx and nothing recorded', async () => {
    const secret = await signIn(seeded.tokens.alpha);
    const before = await db.finalChoice('alpha', 'cpu', 'development');
    const long = await choose(secret, `alpha.${'x'.repeat(200)}`);
    expect(long.status).toBe(400);
    expect(refusalOf(long.body)).toMatch(/^Not chosen: the form named no submission \(field submissionId, 1 to 200 characters\)/);
    const markup = await choose(secret, '<script>alert(1)</script>');
    expect(markup.status).toBe(404);
    expect(markup.body).not.toContain('<script>alert(1)</script>');
    expect(refusalOf(markup.body)).toBe('Not chosen: your team has no submission "<script>alert(1)</script>"; your team page /team lists them.');
    expect(await db.finalChoice('alpha', 'cpu', 'development')).toEqual(before);
  });

  it('answers another team\'s submission exactly like an unknown one (404, none of its data)', async () => {
    const secret = await signIn(seeded.tokens.alpha);
    const before = await db.finalChoice('alpha', 'cpu', 'development');
    const theirs = await choose(secret, ID.bravo);
    const unknown = await choose(secret, 'bravo.nothing');
    expect(theirs.status).toBe(404);
    expect(unknown.status).toBe(404);
    expect(refusalOf(theirs.body)).toBe(`Not chosen: your team has no submission "${ID.bravo}"; your team page /team lists them.`);
    expect(theirs.body).not.toContain(BRAVO_SECRET);
    expect(theirs.body.replaceAll(ID.bravo, '<id>')).toBe(unknown.body.replaceAll('bravo.nothing', '<id>'));
    expect(await db.finalChoice('alpha', 'cpu', 'development')).toEqual(before);
    expect(await db.finalChoice('bravo', 'cpu', 'development')).toBeUndefined();
  });
});

describe('the page and the API refuse the same cases alike', () => {
  /** The API's error with its pointers replaced by the page's: what the page must say. */
  const onPage = (apiError: string) => `Not chosen: ${apiError.replace(API_FINAL_DOOR.lists, PAGE_FINAL_DOOR.lists).replace(API_FINAL_DOOR.choices, PAGE_FINAL_DOOR.choices)}.`;

  it.each([
    ['an unknown id', 'alpha.nothing', NOW, 404],
    ["another team's id", ID.bravo, NOW, 404],
    ['a run the organizers submitted for the team', OPERATOR_RUN, NOW, 400],
    ['an upload of an earlier phase', EARLIER, NOW, 400],
    ['any upload once no phase takes uploads', ID.evaluated, Date.parse('2036-06-01T00:00:00Z'), 403],
  ])('%s', async (_case, submissionId, at, status) => {
    const before = await db.finalChoice('alpha', 'cpu', 'development');
    clock.now = at;
    try {
      const secret = await signIn(seeded.tokens.alpha);
      const api = await apiChoose(seeded.tokens.alpha, submissionId);
      const page = await choose(secret, submissionId);
      expect(api.status).toBe(status);
      expect(page.status).toBe(status);
      const apiError = (JSON.parse(api.body) as { error: string }).error;
      if (status === 403) expect(apiError).toMatch(/^no phase takes uploads now/);
      else expect(apiError).toContain(`submission "${submissionId}"`);
      expect(refusalOf(page.body)).toBe(onPage(apiError));
      expect(page.body).not.toContain('http-equiv="refresh"'); // a reload would repeat the POST as a GET
      expect(await db.finalChoice('alpha', 'cpu', 'development')).toEqual(before);
    } finally {
      clock.now = NOW;
    }
  });

  it('both accept the same upload, and the page shows what the API chose', async () => {
    const secret = await signIn(seeded.tokens.alpha);
    const api = await apiChoose(seeded.tokens.alpha, ID.evaluated);
    expect(api.status).toBe(200);
    expect(finalRow((await get('/team', as(secret))).body)?.submission).toBe(ID.evaluated);
    expect((await choose(secret, ID.refunded)).status).toBe(303);
    const listed = JSON.parse((await route(options, 'GET', '/api/team/final', { authorization: `Bearer ${seeded.tokens.alpha}` })).body) as { choices: { submissionId: string }[] };
    expect(listed.choices.map((c) => c.submissionId)).toEqual([ID.refunded]);
  });
});
