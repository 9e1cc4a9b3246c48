/**
 * The public leaderboard at 1,280 × 800 in a real Chromium, on the real 2023 GPU suites (58 open and 3 closed
 * scenarios, ranked in groups): rank, team, final, open and closed are in view without scrolling the page sideways;
 * the scenario columns scroll inside the table's own container while the first columns stay put; a long
 * failure reason is folded under its status, so its row stays under three lines tall until it is opened.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { defaultSuiteFiles } from '../../infra/paths.js';
import { ResultsDb } from '../../infra/results-db.js';
import { leaderboard } from '../../operations/standings.js';
import { startWebServer, type WebServer } from '../../web/server.js';
import { CHROMIUM_PATH, launchBrowser, screenshot, type LaunchedBrowser } from '../support/browser.js';

const TRACK = 'a100-40gb';
const VIEWPORT = { width: 1280, height: 800 };
const T0 = Date.parse('2024-06-01T09:00:00.000Z');
const at = (s: number) => new Date(T0 + s * 1000).toISOString();
const LONG_TEAM = 'the-computational-linguistics-lab-of-a-university-with-a-long-name';
const LONG_ID = `${LONG_TEAM}.broken-build`;
const LONG_REASON =
  'docker build of Dockerfile failed at step 7/12 (RUN pip install --no-cache-dir -r requirements.txt && python -m spacy download en_core_web_trf): ' +
  'ERROR: Could not find a version that satisfies the requirement torch==9.9.0+cu121 (from versions: 2.0.0, 2.0.1, 2.1.0, 2.1.1, 2.1.2, 2.2.0, 2.2.1, 2.2.2, 2.3.0); ' +
  'ERROR: No matching distribution found for torch==9.9.0+cu121. Pin a version the package index has, or vendor the wheel into the submission.';

let dir: string;
let db: ResultsDb;
let server: WebServer;
let browser: LaunchedBrowser;
let page: Page;

/** Three scored submissions (every column the ranking reads, from the board's own columns) and one that did not build. */
async function populate(): Promise<void> {
  const columns = (await leaderboard(db, TRACK, defaultSuiteFiles(TRACK, 'neurips2023'))).columns;
  const submit = (submissionId: string, team: string, offset: number) =>
    db.upsertSubmission({ submissionId, team, name: submissionId.split('.')[1]!, track: TRACK, directory: `/s/${submissionId}`, workflowId: `w-${submissionId}`, runId: 'r', submittedAt: at(offset) });
  ['alpha', 'bravo', 'charlie'].forEach((team, i) => {
    const id = `${team}.model-${i}`;
    submit(id, team, i * 60);
    for (const suite of ['open', 'closed'] as const) {
      const scored = columns.filter((c) => c.suite === suite);
      db.saveScenarioScores(id, suite, scored.map((c, j) => ({ scenario: c.scenario, column: c.column, score: (((i + 1) * (j + 3)) % 10) / 10, instances: 10, answered: 10, failed: 0 })));
    }
    db.recordPipeline({ submissionId: id, outcome: 'completed', failureCategory: null, reason: null, updatedAt: at(i * 60 + 50) });
  });
  submit(LONG_ID, LONG_TEAM, 300);
  db.recordStage({ submissionId: LONG_ID, stage: 'build', outcome: 'failed', failureCategory: 'BuildFailed', reason: LONG_REASON, startedAt: at(300), endedAt: at(340), limitMs: null, details: null });
  db.recordPipeline({ submissionId: LONG_ID, outcome: 'failed', failureCategory: 'BuildFailed', reason: LONG_REASON, updatedAt: at(341) });
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`the browser tests need Chromium at ${CHROMIUM_PATH} (apt-get install chromium, or set CHROMIUM_PATH)`);
  dir = mkdtempSync(path.join(os.tmpdir(), 'board-layout-'));
  db = new ResultsDb(path.join(dir, 'results.sqlite'));
  await populate();
  server = await startWebServer({ db, dataDir: dir, suites: defaultSuiteFiles(TRACK, 'neurips2023') });
  browser = await launchBrowser({ viewport: VIEWPORT });
  page = await browser.newPage();
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  db?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const box = async (testId: string) => {
  const found = await page.getByTestId(testId).first().boundingBox();
  if (!found) throw new Error(`${testId} is not rendered`);
  return found;
};

describe('the leaderboard at 1,280 px', () => {
  it('shows rank, team, final, open and closed without scrolling the page sideways', async () => {
    const response = await page.goto(`${server.url}/tracks/${TRACK}`, { waitUntil: 'load' });
    expect(response?.status()).toBe(200);
    const board = await leaderboard(db, TRACK, defaultSuiteFiles(TRACK, 'neurips2023'));
    const scenarios = new Set(board.columns.map((c) => `${c.suite}/${c.scenario}`));
    expect(scenarios.size).toBeGreaterThan(5);
    expect(await page.getByTestId('head-scenario').count()).toBe(scenarios.size);
    for (const id of ['head-rank', 'head-team', 'head-final', 'head-open', 'head-closed']) {
      const b = await box(id);
      expect({ id, left: b.x >= 0, right: b.x + b.width <= VIEWPORT.width, top: b.y >= 0, bottom: b.y + b.height <= VIEWPORT.height }).toEqual({
        id,
        left: true,
        right: true,
        top: true,
        bottom: true,
      });
    }
    // the stage scores come before the scenario columns
    expect((await box('head-closed')).x).toBeLessThan((await box('head-scenario')).x);
    // the page itself does not scroll sideways; the table scrolls inside its container
    const widths = await page.locator('html').evaluate((el) => ({ page: el.scrollWidth, viewport: el.clientWidth }));
    expect(widths.page).toBeLessThanOrEqual(widths.viewport);
    const scroller = page.getByTestId('leaderboard-scroll');
    const inner = await scroller.evaluate((el) => ({ scroll: el.scrollWidth, client: el.clientWidth }));
    expect(inner.scroll).toBeGreaterThan(inner.client);
    await screenshot(page, 'leaderboard-1280');
  }, 60_000);

  it('keeps rank, submission and team in place while the scenario columns scroll', async () => {
    await page.goto(`${server.url}/tracks/${TRACK}`, { waitUntil: 'load' });
    const before = { rank: await box('head-rank'), team: await box('head-team'), scenario: await box('head-scenario') };
    const scrolled = await page.getByTestId('leaderboard-scroll').evaluate((el) => {
      el.scrollLeft = 3000;
      return el.scrollLeft;
    });
    expect(scrolled).toBeGreaterThan(50);
    const after = { rank: await box('head-rank'), team: await box('head-team'), scenario: await box('head-scenario') };
    expect(after.rank.x).toBeCloseTo(before.rank.x, 0);
    expect(after.team.x).toBeCloseTo(before.team.x, 0);
    expect(after.scenario.x).toBeCloseTo(before.scenario.x - scrolled, 0);
    await screenshot(page, 'leaderboard-1280-scrolled');
  }, 60_000);

  it('folds a long failure reason under the status, so the row stays under three lines tall', async () => {
    await page.goto(`${server.url}/tracks/${TRACK}`, { waitUntil: 'load' });
    const row = page.locator(`[data-testid=leaderboard-row][data-submission="${LONG_ID}"]`);
    const lineHeight = await row.locator('td').first().evaluate((el) => parseFloat(el.ownerDocument.defaultView!.getComputedStyle(el).lineHeight));
    expect(lineHeight).toBeGreaterThan(10);
    const folded = (await row.boundingBox())!;
    expect(folded.height).toBeLessThan(3 * lineHeight);
    const reason = row.locator('[data-testid=cell-status] .reason');
    expect(await reason.textContent()).toBe(LONG_REASON);
    expect(await reason.isVisible()).toBe(false);
    expect(await row.locator('[data-testid=cell-status] summary .badge').textContent()).toBe('BuildFailed');
    // every row is one line tall while folded
    const heights = await page.getByTestId('leaderboard-row').evaluateAll((rows) => rows.map((r) => r.getBoundingClientRect().height));
    expect(heights).toHaveLength(4);
    for (const h of heights) expect(h).toBeLessThan(3 * lineHeight);
    await row.locator('[data-testid=cell-status] summary').click();
    expect(await reason.isVisible()).toBe(true);
    expect((await row.boundingBox())!.height).toBeGreaterThan(folded.height);
    await screenshot(page, 'leaderboard-1280-reason-open');
  }, 60_000);
});
