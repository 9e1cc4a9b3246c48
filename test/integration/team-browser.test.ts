/**
 * The team's pages in a real Chromium against a real web server with the participants' door: team alpha
 * signs in through the form (the browser posts it with its own Origin, CSRF cookie and field), sees its
 * submissions, open scores and quota on /team, uploads through the API and sees the new submission (and the quota's
 * refusal of one more), opens one in detail, gets 404 for team bravo's id, chooses its final submission with a
 * row's "Choose as final" button (the browser posts the form with its Origin and the form's CSRF field), and
 * signs out (a reload then shows the sign-in form). The seed is test/support/team-seed.ts.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { ResultsDb } from '../../infra/results-db.js';
import { packDirectory } from '../../infra/archive.js';
import { PROJECT_ROOT } from '../../infra/paths.js';
import { startWebServer, type WebServer } from '../../web/server.js';
import { CSRF_COOKIE, SESSION_COOKIE, TEAM_PAGE_CSP } from '../../web/team-pages.js';
import { CHROMIUM_PATH, launchBrowser, screenshot, type LaunchedBrowser } from '../support/browser.js';
import { BRAVO_SECRET, ID, NOW, doorOptions, seedTeams, type SeededTeams } from '../support/team-seed.js';

let dir: string;
let db: ResultsDb;
let server: WebServer;
let browser: LaunchedBrowser;
let page: Page;
let seeded: SeededTeams;
const dialogs: string[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`the browser tests need Chromium at ${CHROMIUM_PATH} (apt-get install chromium, or set CHROMIUM_PATH)`);
  jest.spyOn(console, 'error').mockImplementation(() => undefined); // the operators' log of bad tokens
  dir = mkdtempSync(path.join(os.tmpdir(), 'team-browser-'));
  db = new ResultsDb(path.join(dir, 'results.sqlite'));
  seeded = await seedTeams(db);
  server = await startWebServer({ db, dataDir: dir, teams: doorOptions(dir) });
  browser = await launchBrowser({ viewport: { width: 1280, height: 800 } });
  page = await browser.newPage();
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
}, 120_000);

afterAll(async () => {
  jest.restoreAllMocks();
  await browser?.close();
  await server?.close();
  db?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const signInForm = () => page.getByTestId('sign-in-form');

describe('the team pages in a browser', () => {
  it('refuses a wrong token with 401 and the form again', async () => {
    await page.goto(`${server.url}/team`, { waitUntil: 'load' });
    expect(await signInForm().isVisible()).toBe(true);
    await page.getByTestId('token').fill('cht_nosuchid_notthesecretnotthesecretnotthesecret');
    const [response] = await Promise.all([page.waitForResponse((r) => r.url().endsWith('/team/sign-in')), page.getByTestId('sign-in').click()]);
    expect(response.status()).toBe(401);
    await page.waitForLoadState('load');
    expect(await page.getByTestId('sign-in-error').textContent()).toContain('That team token is not valid');
    expect(await signInForm().isVisible()).toBe(true);
  }, 60_000);

  it('team alpha signs in through the form and sees its submissions, open scores and quota', async () => {
    const first = await page.goto(`${server.url}/team`, { waitUntil: 'load' });
    expect(first?.headers()['content-security-policy']).toBe(TEAM_PAGE_CSP);
    await page.getByTestId('token').fill(seeded.tokens.alpha);
    const [posted] = await Promise.all([page.waitForRequest((r) => r.method() === 'POST'), page.waitForURL(`${server.url}/team`), page.getByTestId('sign-in').click()]);
    // the page's same-origin referrer policy lets the browser name its origin (the server's default header says no-referrer)
    expect((await posted.allHeaders())['origin']).toBe(server.url);
    await page.waitForLoadState('load');
    expect(await page.getByTestId('team-name').textContent()).toBe('Team alpha');
    const cookies = await browser.context.cookies(`${server.url}/team`);
    const session = cookies.find((c) => c.name === SESSION_COOKIE);
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/team' });
    expect(cookies.find((c) => c.name === CSRF_COOKIE)).toMatchObject({ httpOnly: true, sameSite: 'Strict' });
    const rows = await page.getByTestId('team-submission-row').evaluateAll((els) => els.map((el) => el.getAttribute('data-submission')));
    expect(rows).toEqual([ID.running, ID.refunded, ID.evaluated]);
    const evaluated = page.locator(`[data-testid=team-submission-row][data-submission="${ID.evaluated}"]`);
    expect((await evaluated.getByTestId('team-open-score').allTextContents()).map((t) => t.trim())).toEqual(['capitals 0.8000', 'opposites 0.9000']);
    expect(await page.locator('[data-testid=quota-row][data-track=cpu] [data-testid=quota-used]').textContent()).toBe('2 of 3');
    expect(await page.locator('[data-testid=quota-row][data-track=cpu] [data-testid=quota-left]').textContent()).toBe('1');
    expect(await page.locator(`[data-testid=team-submission-row][data-submission="${ID.refunded}"] [data-testid=refund]`).getAttribute('data-refunded')).toBe('yes');
    expect(await page.locator('body').textContent()).not.toContain('CLOSEDSUITE');
    await screenshot(page, 'team-overview');
  }, 60_000);

  it('reloads itself while a pipeline runs, and stops once it ended', async () => {
    await page.goto(`${server.url}/team`, { waitUntil: 'load' });
    expect(await page.getByTestId('refreshing').isVisible()).toBe(true);
    await page.waitForEvent('load', { timeout: 9_000 }); // the meta refresh (5 s), no script
    db.recordPipeline({ submissionId: ID.running, outcome: 'completed', failureCategory: null, reason: null, updatedAt: new Date(NOW).toISOString() });
    await page.goto(`${server.url}/team`, { waitUntil: 'load' });
    expect(await page.getByTestId('refreshing').count()).toBe(0);
    expect(await page.locator('meta[http-equiv=refresh]').count()).toBe(0);
  }, 60_000);

  it('opens a submission in detail: the stages, open-suite scores and answers, the build log', async () => {
    await page.goto(`${server.url}/team`, { waitUntil: 'load' });
    await Promise.all([page.waitForURL(`**/team/submissions/${ID.evaluated}`), page.locator(`a[href="/team/submissions/${ID.evaluated}"]`).click()]);
    expect(await page.getByTestId('submission-id').textContent()).toBe(ID.evaluated);
    expect(await page.getByTestId('timeline-bar').evaluateAll((els) => els.map((el) => el.getAttribute('data-outcome')))).toEqual([
      'succeeded',
      'succeeded',
      'succeeded',
      'partial',
      'succeeded',
    ]);
    expect(await page.getByTestId('failure-reason').textContent()).toBe('the inference server exited after 9 of 44 answers (closed suite; log withheld)');
    expect(await page.getByTestId('metric-score').allTextContents()).toEqual(['0.8000', '0.9000']);
    expect(await page.locator('[data-testid=log-excerpt][data-stage="build"]').textContent()).toContain('Successfully built alpha-image');
    expect(await page.locator('[data-testid=log-excerpt][data-stage="closed-eval"]').count()).toBe(0);
    await page.getByTestId('open-answers').locator('summary').click();
    expect(await page.getByTestId('answer-row').count()).toBe(2);
    expect(await page.locator('body').textContent()).not.toContain('CLOSEDSUITE');
    await screenshot(page, 'team-submission');
  }, 60_000);

  it('team alpha uploads through the API: the page lists the new submission, then the quota refuses one more', async () => {
    const archiveOf = async (submission: string): Promise<Buffer> => {
      const source = path.join(dir, `upload-${submission}`);
      cpSync(path.join(PROJECT_ROOT, 'examples', 'good-cooccurrence'), source, { recursive: true });
      const manifest = JSON.parse(readFileSync(path.join(source, 'submission.json'), 'utf8')) as Record<string, unknown>;
      writeFileSync(path.join(source, 'submission.json'), JSON.stringify({ ...manifest, team: 'alpha', submission, track: 'cpu' }));
      return packDirectory(source);
    };
    const upload = async (submission: string) =>
      fetch(`${server.url}/api/team/submissions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${seeded.tokens.alpha}`, 'content-type': 'application/gzip' },
        body: await archiveOf(submission),
      });
    const accepted = await upload('third');
    expect(accepted.status).toBe(202);
    expect(((await accepted.json()) as { submissionId: string }).submissionId).toBe('alpha.third');
    await page.goto(`${server.url}/team`, { waitUntil: 'load' });
    const rows = await page.getByTestId('team-submission-row').evaluateAll((els) => els.map((el) => el.getAttribute('data-submission')));
    expect(rows[0]).toBe('alpha.third');
    expect(await page.locator('[data-testid=quota-row][data-track=cpu] [data-testid=quota-left]').textContent()).toBe('0');
    expect((await upload('third')).status).toBe(409); // the same id while it runs
    const refused = await upload('fourth');
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
  }, 60_000);

  it('answers team bravo\'s submission with 404 and none of its data', async () => {
    const response = await page.goto(`${server.url}/team/submissions/${ID.bravo}`, { waitUntil: 'load' });
    expect(response?.status()).toBe(404);
    expect(await page.getByTestId('not-found').textContent()).toBe(`Your team has no submission "${ID.bravo}".`);
    expect(await page.locator('body').textContent()).not.toContain(BRAVO_SECRET);
  }, 60_000);

  it('refuses a form posted from another origin (403), whatever cookies it carries', async () => {
    const cookies = (await browser.context.cookies(`${server.url}/team`)).map((c) => `${c.name}=${c.value}`).join('; ');
    const refused = await fetch(`${server.url}/team/sign-out`, {
      method: 'POST',
      headers: { origin: 'http://evil.example', cookie: cookies, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'csrf=x',
      redirect: 'manual',
    });
    expect(refused.status).toBe(403);
    await page.goto(`${server.url}/team`, { waitUntil: 'load' });
    expect(await page.getByTestId('team-name').textContent()).toBe('Team alpha'); // still signed in
  }, 60_000);

  it('chooses the final submission with a row\'s button: /team then shows the choice for the track', async () => {
    await page.goto(`${server.url}/team`, { waitUntil: 'load' });
    const finalNote = page.locator('[data-testid=final-row][data-track=cpu] [data-testid=final-note]');
    expect(await finalNote.textContent()).toBe('none chosen yet: your latest completed submission of phase development for cpu is used');
    const row = page.locator(`[data-testid=team-submission-row][data-submission="${ID.evaluated}"]`);
    await Promise.all([page.waitForURL(`${server.url}/team?chosen=${ID.evaluated}`), row.getByTestId('choose-final').click()]);
    await page.waitForLoadState('load');
    expect(await page.getByTestId('final-notice').textContent()).toBe(`Submission "${ID.evaluated}" is now your final submission for track cpu (phase development).`);
    expect(await page.locator('[data-testid=final-row][data-track=cpu]').getAttribute('data-submission')).toBe(ID.evaluated);
    expect(await finalNote.textContent()).toBe('it completed, so it goes to the finals');
    expect(await row.getByTestId('final-chosen').isVisible()).toBe(true);
    expect(await row.getByTestId('choose-final').count()).toBe(0);
    expect((await db.finalChoice('alpha', 'cpu', 'development'))?.submissionId).toBe(ID.evaluated);
    await screenshot(page, 'team-final-chosen');
  }, 60_000);

  it('signs out: the session ends, and a reload shows the sign-in form', async () => {
    await page.goto(`${server.url}/team`, { waitUntil: 'load' });
    const secret = (await browser.context.cookies(`${server.url}/team`)).find((c) => c.name === SESSION_COOKIE)!.value;
    await Promise.all([page.waitForURL(`${server.url}/team`), page.getByTestId('sign-out').click()]);
    await page.waitForLoadState('load');
    expect(await signInForm().isVisible()).toBe(true);
    await page.reload({ waitUntil: 'load' });
    expect(await signInForm().isVisible()).toBe(true);
    expect((await browser.context.cookies(`${server.url}/team`)).some((c) => c.name === SESSION_COOKIE)).toBe(false);
    // the old cookie, sent again by hand, opens nothing
    const replay = await fetch(`${server.url}/team/submissions/${ID.evaluated}`, { headers: { cookie: `${SESSION_COOKIE}=${secret}` } });
    expect(replay.status).toBe(401);
    expect(await replay.text()).toContain('action="/team/sign-in"');
    expect(dialogs).toEqual([]);
    await screenshot(page, 'team-signed-out');
  }, 60_000);
});
