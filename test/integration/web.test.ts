/**
 * The cockpit in a real browser: a results database holding a realistic cpu track (a good submission, a
 * TimeLimit partial, a BuildFailed, an OutOfMemory and one whose closed-eval failure reason carries a
 * <script>), the web server on a free loopback port without an operator token (so the operator pages answer
 * on loopback), and headless Chromium reading the public and the operator pages as a person would.
 * Screenshots of every page land in test-artifacts/screenshots/.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { ResultsDb, type StageRecord } from '../../infra/results-db.js';
import { leaderboard } from '../../operations/standings.js';
import { pearson } from '../../domain/reports/generalization.js';
import { FAILURE_CATEGORIES, type FailureCategory } from '../../domain/failures.js';
import type { Leaderboard } from '../../domain/standings-table.js';
import { formatDuration, TRACKS } from '../../temporal.config.js';
import { startWebServer, type WebServer } from '../../web/server.js';
import { formatScore } from '../../web/html.js';
import { formatSpan } from '../../domain/units.js';
import { CHROMIUM_PATH, launchBrowser, screenshot, type LaunchedBrowser } from '../support/browser.js';

const T0 = Date.parse('2024-06-01T09:00:00.000Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();
const LIMITS = TRACKS.cpu.limits;
const WEB_UI = 'http://127.0.0.1:8233';
const NAMESPACE = 'finals.llm-efficiency';
const XSS = '<script>alert(1)</script>';

const ID = {
  good: 'alpha.llama-lora',
  partial: 'bravo.slow-tuner',
  build: 'charlie.broken-build',
  oom: 'delta.big-batch',
  xss: 'echo.crashy-server',
} as const;

const BUILD_LOG = [
  'Step 1/6 : FROM challenge/base:bookworm-python3',
  ' ---> 3f2a9c1d7b21',
  'Step 4/6 : RUN pip install -r requirements.txt',
  'Collecting torch==9.9.0',
  'ERROR: Could not find a version that satisfies the requirement torch==9.9.0',
  'ERROR: No matching distribution found for torch==9.9.0',
  "The command '/bin/sh -c pip install -r requirements.txt' returned a non-zero code: 1",
].join('\n');

let dir: string;
let db: ResultsDb;
let server: WebServer;
let browser: LaunchedBrowser;
let page: Page;
let board: Leaderboard;
const dialogs: string[] = [];

function stage(
  submissionId: string,
  name: string,
  outcome: StageRecord['outcome'],
  from: number | null,
  to: number | null,
  limitMs: number | null,
  extra: Partial<StageRecord> = {},
): StageRecord {
  return {
    submissionId,
    stage: name,
    outcome,
    failureCategory: null,
    reason: null,
    startedAt: from === null ? null : at(from),
    endedAt: to === null ? null : at(to),
    limitMs,
    details: null,
    ...extra,
  };
}

/** Scenario results of one suite with `correct` right answers per scenario. */
function scores(suite: 'open' | 'closed', correct: Record<string, number>, answered?: Record<string, number>, failed: Record<string, number> = {}) {
  const instances: Record<string, number> = { opposites: 30, capitals: 30, 'animal-sounds': 20, colors: 24 };
  const names = suite === 'open' ? ['opposites', 'capitals'] : ['animal-sounds', 'colors'];
  return names.map((scenario) => ({
    scenario,
    column: `${scenario} - EM`,
    instances: instances[scenario]!,
    answered: answered?.[scenario] ?? instances[scenario]!,
    failed: failed[scenario] ?? 0,
    score: (correct[scenario] ?? 0) / instances[scenario]!,
  }));
}

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
  const pipelineEnd = (submissionId: string, outcome: 'completed' | 'failed', failureCategory: FailureCategory | null, reason: string | null, t: number) =>
    db.recordPipeline({ submissionId, outcome, failureCategory, reason, updatedAt: at(t) });
  const evalDetails = (answered: number, failed: number, total: number, durationMs: number) => ({
    durationMs,
    answered,
    failed,
    unanswered: total - answered,
    total,
  });

  // 1. completed with high scores
  submit(ID.good, 0);
  db.recordStage(stage(ID.good, 'build', 'succeeded', 0, 192, LIMITS.build, { details: { durationMs: 192_000 } }));
  db.recordStage(
    stage(ID.good, 'fine-tune', 'succeeded', 192, 592, LIMITS.fineTune, {
      details: { durationMs: 400_000, artifactFiles: 4, progress: { step: 120, totalSteps: 120, checkpoint: 'final' }, oomRetry: false },
    }),
  );
  db.recordStage(stage(ID.good, 'open-eval', 'succeeded', 592, 712, LIMITS.openEval, { details: evalDetails(60, 0, 60, 120_000) }));
  db.recordStage(stage(ID.good, 'closed-eval', 'succeeded', 712, 822, LIMITS.closedEval, { details: evalDetails(44, 0, 44, 110_000) }));
  db.recordStage(stage(ID.good, 'score', 'succeeded', 822, 822.4, null, { details: {} }));
  db.saveScenarioScores(ID.good, 'open', scores('open', { opposites: 28, capitals: 26 }));
  db.saveScenarioScores(ID.good, 'closed', scores('closed', { 'animal-sounds': 17, colors: 19 }));
  pipelineEnd(ID.good, 'completed', null, null, 823);

  // 2. fine-tune and open eval reach their limits: partial, still scored
  submit(ID.partial, 60);
  db.recordStage(stage(ID.partial, 'build', 'succeeded', 60, 150, LIMITS.build, { details: { durationMs: 90_000 } }));
  db.recordStage(
    stage(ID.partial, 'fine-tune', 'partial', 150, 750, LIMITS.fineTune, {
      failureCategory: 'TimeLimit',
      reason: 'training reached its limit of 10m; evaluating what it wrote (3 files)',
      details: { durationMs: 600_000, artifactFiles: 3, progress: { step: 310, totalSteps: 1000, checkpoint: 'checkpoint-300' }, oomRetry: false },
    }),
  );
  db.recordStage(
    stage(ID.partial, 'open-eval', 'partial', 750, 1350, LIMITS.openEval, {
      failureCategory: 'TimeLimit',
      reason: 'the evaluation reached its limit of 10m: 41 of 60 instances answered, 0 failed, 19 unanswered',
      details: evalDetails(41, 0, 60, 600_000),
    }),
  );
  db.recordStage(stage(ID.partial, 'closed-eval', 'succeeded', 1350, 1610, LIMITS.closedEval, { details: evalDetails(44, 0, 44, 260_000) }));
  db.recordStage(stage(ID.partial, 'score', 'succeeded', 1610, 1610.3, null, { details: {} }));
  db.saveScenarioScores(ID.partial, 'open', scores('open', { opposites: 14, capitals: 7 }, { opposites: 25, capitals: 16 }));
  db.saveScenarioScores(ID.partial, 'closed', scores('closed', { 'animal-sounds': 12, colors: 11 }));
  pipelineEnd(ID.partial, 'completed', 'TimeLimit', null, 1611);

  // 3. the image does not build: excerpt of the build log in the stage details, the rest skipped
  submit(ID.build, 120);
  db.recordStage(
    stage(ID.build, 'build', 'failed', 120, 165, LIMITS.build, {
      failureCategory: 'BuildFailed',
      reason: 'docker build of Dockerfile failed at step 4/6 (RUN pip install -r requirements.txt)',
      details: { step: 'RUN pip install -r requirements.txt', logExcerpt: BUILD_LOG },
    }),
  );
  for (const name of ['fine-tune', 'open-eval', 'closed-eval', 'score']) {
    const key = ({ 'fine-tune': 'fineTune', 'open-eval': 'openEval', 'closed-eval': 'closedEval' } as const)[name as 'fine-tune'];
    db.recordStage(stage(ID.build, name, 'skipped', null, null, key ? LIMITS[key] : null, { reason: 'the build failed' }));
  }
  pipelineEnd(ID.build, 'failed', 'BuildFailed', 'docker build of Dockerfile failed at step 4/6 (RUN pip install -r requirements.txt)', 166);

  // 4. training killed for memory: no excerpt in the details, the log file on disk instead
  submit(ID.oom, 180);
  db.recordStage(stage(ID.oom, 'build', 'succeeded', 180, 300, LIMITS.build, { details: { durationMs: 120_000 } }));
  db.recordStage(
    stage(ID.oom, 'fine-tune', 'failed', 300, 395, LIMITS.fineTune, {
      failureCategory: 'OutOfMemory',
      reason: 'training was killed for exceeding the 1g memory limit of track cpu (OOMKilled)',
      details: { oomRetry: true },
    }),
  );
  for (const name of ['open-eval', 'closed-eval', 'score']) {
    const key = ({ 'open-eval': 'openEval', 'closed-eval': 'closedEval' } as const)[name as 'open-eval'];
    db.recordStage(stage(ID.oom, name, 'skipped', null, null, key ? LIMITS[key] : null, { reason: 'fine-tuning failed' }));
  }
  pipelineEnd(ID.oom, 'failed', 'OutOfMemory', 'training was killed for exceeding the 1g memory limit of track cpu (OOMKilled)', 396);
  const logDir = path.join(dir, 'logs', ID.oom);
  mkdirSync(logDir, { recursive: true });
  const lines = Array.from({ length: 100 }, (_, i) => `train line ${String(i + 1).padStart(3, '0')}: batch_size=512 loss=${(2.5 - i * 0.01).toFixed(2)}`);
  lines[99] = 'train line 100: Killed <oom-killer> & exiting';
  writeFileSync(path.join(logDir, 'fine-tune.log'), `${lines.join('\n')}\n`);

  // 5. the server crashed in the closed eval; its reason and log carry markup that must stay text
  submit(ID.xss, 240);
  db.recordStage(stage(ID.xss, 'build', 'succeeded', 240, 330, LIMITS.build, { details: { durationMs: 90_000 } }));
  db.recordStage(
    stage(ID.xss, 'fine-tune', 'succeeded', 330, 630, LIMITS.fineTune, { details: { durationMs: 300_000, artifactFiles: 2, progress: null, oomRetry: false } }),
  );
  db.recordStage(stage(ID.xss, 'open-eval', 'succeeded', 630, 780, LIMITS.openEval, { details: evalDetails(60, 2, 60, 150_000) }));
  db.recordStage(
    stage(ID.xss, 'closed-eval', 'partial', 780, 815, LIMITS.closedEval, {
      failureCategory: 'ServerCrashed',
      reason: `the server exited with status 139 after answering ${XSS}`,
      details: { ...evalDetails(9, 1, 44, 35_000), logExcerpt: `Serving on :8080\n<img src=x onerror=alert(2)>\nSegmentation fault (core dumped)` },
    }),
  );
  db.recordStage(stage(ID.xss, 'score', 'succeeded', 815, 815.2, null, { details: {} }));
  db.saveScenarioScores(ID.xss, 'open', scores('open', { opposites: 18, capitals: 12 }, undefined, { opposites: 2 }));
  db.saveScenarioScores(ID.xss, 'closed', scores('closed', { 'animal-sounds': 3, colors: 1 }, { 'animal-sounds': 5, colors: 4 }, { colors: 1 }));
  pipelineEnd(ID.xss, 'completed', 'ServerCrashed', null, 816);
}

async function open(pathname: string): Promise<number> {
  const response = await page.goto(`${server.url}${pathname}`, { waitUntil: 'load' });
  return response?.status() ?? 0;
}

const texts = async (selector: string) => (await page.locator(selector).allTextContents()).map((t) => t.replace(/\s+/g, ' ').trim());

beforeAll(async () => {
  if (!existsSync(CHROMIUM_PATH)) throw new Error(`the browser tests need Chromium at ${CHROMIUM_PATH} (apt-get install chromium, or set CHROMIUM_PATH)`);
  dir = mkdtempSync(path.join(os.tmpdir(), 'cockpit-'));
  db = new ResultsDb(path.join(dir, 'results.sqlite'));
  populate();
  board = await leaderboard(db, 'cpu');
  // A namespace other than 'default' (as on Temporal Cloud): every link must carry it.
  server = await startWebServer({ db, dataDir: dir, temporalUi: { uiUrl: WEB_UI, namespace: NAMESPACE } });
  browser = await launchBrowser();
  page = await browser.newPage();
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.close();
  db?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('cockpit pages in a browser', () => {
  it('serves on loopback', () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('overview: one section per track with submissions, and totals by outcome', async () => {
    expect(await open('/')).toBe(200);
    const sections = page.getByTestId('track-section');
    expect(await sections.count()).toBe(1);
    expect(await sections.first().getAttribute('data-track')).toBe('cpu');
    await expect(page.locator('a[href="/tracks/cpu"]').count()).resolves.toBeGreaterThan(0);
    const totals = Object.fromEntries(
      await page
        .getByTestId('outcome-total')
        .evaluateAll((els) => els.map((el) => [el.getAttribute('data-outcome'), Number(el.querySelector('b')?.textContent)])),
    );
    expect(totals).toEqual({ completed: 3, failed: 2 });
    expect(await page.getByTestId('overview-row').count()).toBe(5);
    await screenshot(page, 'overview');
  }, 60_000);

  it('track: the leaderboard shows the order and scores of leaderboard(db, "cpu")', async () => {
    expect(await open('/tracks/cpu')).toBe(200);
    const rows = page.getByTestId('leaderboard-row');
    expect(await rows.count()).toBe(5);
    expect(await rows.evaluateAll((els) => els.map((el) => el.getAttribute('data-submission')))).toEqual(board.rows.map((r) => r.submissionId));
    expect(board.rows[0]!.submissionId).toBe(ID.good);
    expect(await texts('[data-testid=cell-rank]')).toEqual(board.rows.map((r) => String(r.rank)));
    expect(await texts('[data-testid=cell-open]')).toEqual(board.rows.map((r) => formatScore(r.open)));
    expect(await texts('[data-testid=cell-closed]')).toEqual(board.rows.map((r) => formatScore(r.closed)));
    expect(await texts('[data-testid=cell-final]')).toEqual(board.rows.map((r) => formatScore(r.final)));
    // the two failed submissions tie for last (missing cells rank as worst) and share the tie credit
    expect(
      board.rows
        .slice(3)
        .map((r) => r.submissionId)
        .sort(),
    ).toEqual([ID.build, ID.oom]);
    // per-scenario mean win rates, open and closed
    const first = board.rows[0]!;
    for (const c of board.columns) {
      const cell = rows.first().locator(`[data-testid=cell-mwr][data-stage="${c.suite}"][data-scenario="${c.scenario}"]`);
      expect((await cell.textContent())?.trim()).toBe(formatScore(first.scenarioMeanWinRates[c.suite]![c.scenario]!));
    }
    expect(board.columns.map((c) => c.column)).toEqual(['opposites - EM', 'capitals - EM', 'animal-sounds - EM', 'colors - EM']);
    // status: the failure category, with its meaning as the tooltip
    const statuses = await texts('[data-testid=cell-status] .badge');
    expect(statuses).toEqual(board.rows.map((r) => r.failureCategory ?? r.outcome));
    const oomBadge = page.locator(`[data-testid=leaderboard-row][data-submission="${ID.oom}"] [data-testid=cell-status] .badge`);
    expect(await oomBadge.getAttribute('title')).toContain(FAILURE_CATEGORIES.OutOfMemory.meaning);
    await screenshot(page, 'track-cpu');
  }, 60_000);

  it('track: the scatter has one point per submission and prints the Pearson correlation', async () => {
    await open('/tracks/cpu');
    const points = page.getByTestId('scatter-point');
    expect(await points.count()).toBe(5);
    expect((await points.evaluateAll((els) => els.map((el) => el.getAttribute('data-submission')))).sort()).toEqual(Object.values(ID).sort());
    expect(await page.getByTestId('scatter-label').count()).toBe(5);
    const r = pearson(
      board.rows.map((row) => row.open),
      board.rows.map((row) => row.closed),
    );
    expect(r).not.toBeNull();
    expect((await page.getByTestId('correlation').textContent())?.trim()).toBe(r!.toFixed(3));
    // the best submission is drawn up and to the right of the crashed one
    const box = async (id: string) => (await page.locator(`[data-testid=scatter-point][data-submission="${id}"]`).boundingBox())!;
    const good = await box(ID.good);
    const crashed = await box(ID.xss);
    expect(good.x).toBeGreaterThan(crashed.x);
    expect(good.y).toBeLessThan(crashed.y);
  }, 60_000);

  it('track: the failure chart counts the failure categories of the track', async () => {
    await open('/tracks/cpu');
    const bars = Object.fromEntries(
      await page.getByTestId('failure-bar').evaluateAll((els) => els.map((el) => [el.getAttribute('data-key'), Number(el.getAttribute('data-count'))])),
    );
    const expected: Record<string, number> = {};
    for (const row of board.rows) if (row.failureCategory) expected[row.failureCategory] = (expected[row.failureCategory] ?? 0) + 1;
    expect(bars).toEqual(expected);
    expect(bars).toEqual({ TimeLimit: 1, BuildFailed: 1, OutOfMemory: 1, ServerCrashed: 1 });
    // the count is written next to each bar
    expect(await texts('[data-testid=failure-bar] .bar-value')).toEqual(Object.values(bars).map(String));
    expect(await page.getByTestId('failure-none').count()).toBe(0);
  }, 60_000);

  it('submission (completed): each stage is drawn against its limit; scores and the Temporal link are shown', async () => {
    expect(await open(`/submissions/${ID.good}`)).toBe(200);
    const records = db.stages(ID.good);
    const bars = page.getByTestId('timeline-bar');
    expect(await bars.evaluateAll((els) => els.map((el) => el.getAttribute('data-stage')))).toEqual([
      'build',
      'fine-tune',
      'open-eval',
      'closed-eval',
      'score',
    ]);
    for (const record of records) {
      const elapsed = Date.parse(record.endedAt!) - Date.parse(record.startedAt!);
      const bar = page.locator(`[data-testid=timeline-bar][data-stage="${record.stage}"]`);
      expect(Number(await bar.getAttribute('data-elapsed-ms'))).toBe(elapsed);
      expect(await bar.getAttribute('data-limit-ms')).toBe(record.limitMs === null ? '' : String(record.limitMs));
      const text = (await page.locator(`[data-testid=timeline-text][data-stage="${record.stage}"]`).textContent())!.replace(/\s+/g, ' ');
      expect(text).toContain(formatSpan(elapsed));
      if (record.limitMs !== null) {
        expect(text).toContain(`of ${formatDuration(record.limitMs)}`);
        // the coloured bar covers elapsed/limit of the limit bar
        const outer = (await bar.boundingBox())!;
        const inner = (await bar.getByTestId('timeline-elapsed').boundingBox())!;
        expect(inner.width / outer.width).toBeCloseTo(elapsed / record.limitMs, 1);
      }
    }
    expect(await page.locator('[data-testid=timeline-text][data-stage="build"]').textContent()).toContain('3m 12s of 20m (16%)');
    expect(await page.getByTestId('metric-row').count()).toBe(4);
    const order = board.columns.map((c) => c.column);
    const shown = db.scenarioScores(ID.good).sort((a, b) => order.indexOf(a.column) - order.indexOf(b.column));
    expect(await texts('[data-testid=metric-score]')).toEqual(shown.map((s) => formatScore(s.score)));
    expect(await page.getByTestId('metric-row').evaluateAll((els) => els.map((el) => el.getAttribute('data-scenario')))).toEqual([
      'opposites',
      'capitals',
      'animal-sounds',
      'colors',
    ]);
    expect(await page.getByTestId('temporal-link').getAttribute('href')).toBe(`${WEB_UI}/namespaces/finals.llm-efficiency/workflows/submission-${ID.good}`);
    expect(await page.getByTestId('failure').count()).toBe(0);
    expect(await page.getByTestId('standing').textContent()).toContain('Rank 1 of 5');
    await screenshot(page, 'submission-completed');
  }, 60_000);

  it('submission (TimeLimit): the partial stages show their category, reason and how far they got', async () => {
    expect(await open(`/submissions/${ID.partial}`)).toBe(200);
    const fineTune = page.locator('[data-testid=timeline-bar][data-stage="fine-tune"]');
    expect(await fineTune.getAttribute('data-outcome')).toBe('partial');
    expect(await page.locator('[data-testid=timeline-text][data-stage="fine-tune"]').textContent()).toContain('10m of 10m (100%)');
    await expect(page.locator('.timeline').textContent()).resolves.toContain('training reached its limit of 10m');
    await expect(page.locator('[data-testid=stage-row][data-stage="open-eval"]').textContent()).resolves.toContain(
      'answered 41 of 60, 0 failed, 19 unanswered',
    );
    await expect(page.locator('[data-testid=stage-row][data-stage="fine-tune"]').textContent()).resolves.toContain('step 310 of 1000');
    expect((await page.getByTestId('failure').textContent())!).toContain('TimeLimit');
    await screenshot(page, 'submission-timelimit');
  }, 60_000);

  it('submission (BuildFailed): the recorded log excerpt is visible and later stages are skipped', async () => {
    expect(await open(`/submissions/${ID.build}`)).toBe(200);
    const log = page.locator('[data-testid=log-excerpt][data-stage="build"]');
    expect(await log.isVisible()).toBe(true);
    expect(await log.textContent()).toBe(BUILD_LOG);
    expect(await page.getByTestId('failure-reason').textContent()).toContain('step 4/6');
    const outcomes = await page.getByTestId('timeline-bar').evaluateAll((els) => els.map((el) => el.getAttribute('data-outcome')));
    expect(outcomes).toEqual(['failed', 'skipped', 'skipped', 'skipped', 'skipped']);
    expect(await page.getByTestId('no-metrics').isVisible()).toBe(true);
    await screenshot(page, 'submission-buildfailed');
  }, 60_000);

  it('submission (OutOfMemory): the last 40 lines of the stage log file, escaped, on the operator page only', async () => {
    expect(await open(`/submissions/${ID.oom}`)).toBe(200);
    expect(await page.getByTestId('log-excerpt').count()).toBe(0); // the public page shows build logs only
    expect(await page.getByTestId('logs-withheld').isVisible()).toBe(true);
    expect(await page.getByTestId('failure-reason').textContent()).toContain('OOMKilled'); // a fine-tune reason is public
    expect(await open(`/operator/submissions/${ID.oom}`)).toBe(200);
    expect(await page.getByTestId('operator-banner').isVisible()).toBe(true);
    const log = page.locator('[data-testid=log-excerpt][data-stage="fine-tune"]');
    expect(await log.isVisible()).toBe(true);
    const lines = (await log.textContent())!.split('\n');
    expect(lines).toHaveLength(40);
    expect(lines[0]).toMatch(/^train line 061:/);
    expect(lines[39]).toBe('train line 100: Killed <oom-killer> & exiting');
    expect(await page.locator('oom-killer').count()).toBe(0);
    expect(await page.getByTestId('failure-reason').textContent()).toContain('OOMKilled');
    await expect(page.locator('[data-testid=stage-row][data-stage="fine-tune"]').textContent()).resolves.toContain('retried after OOM');
    await screenshot(page, 'submission-oom');
  }, 60_000);

  it('submission (closed-eval reason and log): the public page rebuilds the reason and shows no log', async () => {
    const raw = await (await fetch(`${server.url}/submissions/${ID.xss}`)).text();
    expect(raw).not.toContain('alert(');
    expect(raw).not.toContain('Segmentation fault');
    expect(await open(`/submissions/${ID.xss}`)).toBe(200);
    expect(await page.getByTestId('failure-reason').textContent()).toBe('the inference server exited after 9 of 44 answers (closed suite; log withheld)');
    expect(await page.locator('[data-testid=log-excerpt][data-stage="closed-eval"]').count()).toBe(0);
    await expect(page.locator('[data-testid=stage-row][data-stage="closed-eval"]').textContent()).resolves.toContain(
      'answered 8 of 44, 1 failed, 35 unanswered',
    );
    expect(await page.locator('a[href^="/operator"]').count()).toBe(0);
    await screenshot(page, 'submission-closed-public');
    await open('/tracks/cpu');
    expect(await page.locator(`[data-testid=leaderboard-row][data-submission="${ID.xss}"] .reason`).textContent()).toBe(
      'the inference server exited after 9 of 44 answers (closed suite; log withheld)',
    );
  }, 60_000);

  it('submission (markup in the reason and log, operator page): shown as text, nothing runs', async () => {
    const raw = await (await fetch(`${server.url}/operator/submissions/${ID.xss}`)).text();
    expect(raw).not.toContain(XSS);
    expect(raw).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(await open(`/operator/submissions/${ID.xss}`)).toBe(200);
    expect(await page.getByTestId('failure-reason').textContent()).toBe(`the server exited with status 139 after answering ${XSS}`);
    expect(await page.locator('[data-testid=log-excerpt][data-stage="closed-eval"]').textContent()).toContain('<img src=x onerror=alert(2)>');
    expect(await page.locator('script').count()).toBe(0);
    expect(await page.locator('main img').count()).toBe(0);
    await expect(page.locator('[data-testid=stage-row][data-stage="closed-eval"]').textContent()).resolves.toContain(
      'answered 8 of 44, 1 failed, 35 unanswered',
    );
    await screenshot(page, 'submission-xss');
    // the operator leaderboard shows the reason as text too
    await open('/operator/tracks/cpu');
    expect(await page.locator(`[data-testid=leaderboard-row][data-submission="${ID.xss}"] .reason`).textContent()).toContain(XSS);
    expect(await page.locator('script').count()).toBe(0);
    expect(dialogs).toEqual([]);
  }, 60_000);

  it('answers unknown paths and ids with a 404 page that says what is missing', async () => {
    expect(await open('/submissions/nobody.nothing')).toBe(404);
    expect(await page.getByTestId('not-found').textContent()).toContain('There is no submission "nobody.nothing"');
    await screenshot(page, 'not-found');
    expect(await open(`/submissions/${encodeURIComponent(XSS)}`)).toBe(404);
    expect(await page.getByTestId('not-found').textContent()).toContain(XSS);
    expect(await page.locator('script').count()).toBe(0);
    expect(await open('/tracks/no-such-track')).toBe(404);
    expect(await open('/no/such/page')).toBe(404);
    expect(dialogs).toEqual([]);
  }, 60_000);
});

describe('cockpit JSON API', () => {
  it('returns the leaderboard of a track, with the correlation and failure counts', async () => {
    const response = await fetch(`${server.url}/api/leaderboard?track=cpu`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/application\/json/);
    const body = (await response.json()) as { board: Leaderboard; correlation: number; failures: Record<string, number> };
    // the public board is leaderboard(db) with the closed-eval reason rebuilt; the operator board is it as it is
    const redacted = {
      ...board,
      rows: board.rows.map((r) =>
        r.submissionId === ID.xss ? { ...r, failureReason: 'the inference server exited after 9 of 44 answers (closed suite; log withheld)' } : r,
      ),
    };
    expect(body.board).toEqual(JSON.parse(JSON.stringify(redacted)));
    const operator = (await (await fetch(`${server.url}/api/operator/leaderboard?track=cpu`)).json()) as { board: Leaderboard };
    expect(operator.board).toEqual(JSON.parse(JSON.stringify(board)));
    expect(body.correlation).toBe(
      pearson(
        board.rows.map((r) => r.open),
        board.rows.map((r) => r.closed),
      ),
    );
    expect(body.failures).toEqual({ TimeLimit: 1, BuildFailed: 1, OutOfMemory: 1, ServerCrashed: 1 });
    expect((await fetch(`${server.url}/api/leaderboard?track=nope`)).status).toBe(404);
    expect((await fetch(`${server.url}/api/leaderboard`)).status).toBe(400);
  });

  it('returns a submission with its stages, scores and logs, and 404 for an unknown one', async () => {
    const response = await fetch(`${server.url}/api/submissions/${ID.oom}`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as {
      submission: { team: string };
      stages: { stage: string; outcome: string }[];
      logs: { stage: string; source: string; text: string }[];
    };
    expect(body.submission.team).toBe('delta');
    expect(body.stages.map((s) => s.outcome)).toEqual(['succeeded', 'failed', 'skipped', 'skipped', 'skipped']);
    expect(body.logs).toEqual([]); // public: build logs only, and this build left none
    const operator = (await (await fetch(`${server.url}/api/operator/submissions/${ID.oom}`)).json()) as typeof body & { answers: unknown[] };
    expect(operator.logs).toEqual([{ stage: 'fine-tune', source: 'file', text: expect.stringContaining('train line 100') }]);
    expect(operator.answers).toHaveLength(2);
    const missing = await fetch(`${server.url}/api/submissions/nobody`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: string }).error).toContain('nobody');
  });

  it('refuses writes', async () => {
    expect((await fetch(`${server.url}/`, { method: 'POST' })).status).toBe(405);
    expect((await fetch(`${server.url}/api/operator/submissions/${ID.oom}`, { method: 'POST' })).status).toBe(405);
  });

  it('exports the public leaderboard as CSV, with the public reasons', async () => {
    const response = await fetch(`${server.url}/api/leaderboard.csv?track=cpu`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/csv/);
    expect(response.headers.get('content-disposition')).toBe('attachment; filename="leaderboard-cpu.csv"');
    const lines = (await response.text()).trim().split('\n');
    expect(lines).toHaveLength(1 + board.rows.length);
    expect(lines.slice(1).map((l) => l.split(',')[1])).toEqual(board.rows.map((r) => r.submissionId));
    expect(lines.join('\n')).not.toContain('alert(');
  });
});
