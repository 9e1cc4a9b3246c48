/**
 * The cockpit's pure parts: escaping and number formats, the SVG charts, the page renderers (views in,
 * HTML out), the stage and log views, and the router on an in-memory database (no socket, no browser).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildLeaderboard, rulesForSuites } from '../../domain/standings-table.js';
import { loadSuite } from '../../domain/harness/suite.js';
import { FAILURE_CATEGORIES } from '../../domain/failures.js';
import { PROJECT_ROOT, defaultSuiteFiles } from '../../infra/paths.js';
import { ResultsDb, type StageRecord } from '../../infra/results-db.js';
import { TRACKS } from '../../temporal.config.js';
import { escapeHtml, formatCorrelation, formatScore, html, trusted } from '../../web/html.js';
import { horizontalBarsSvg, scatterSvg } from '../../web/svg.js';
import { failureBars, renderNotFound, renderOverview, renderSubmission, renderTrack, statusOf } from '../../web/render.js';
import { logFileOf, stageLogs, stageViews, submissionView, trackView, trackViewOf, type SubmissionView } from '../../web/data.js';
import { loadCompetition } from '../../domain/competition/index.js';
import { teamSubmissionDetail } from '../../web/team-data.js';
import { renderTeamOverview, renderTeamSubmission } from '../../web/render-team.js';
import { describeEta, describePrediction, type StageEta, type StagePrediction } from '../../domain/harness/throughput.js';
import type { StageState } from '../../contract/pipeline.js';
import { SubmissionAnswer } from '../../cli/remote-answers.js';
import { renderRemoteStatus } from '../../cli/remote.js';
import { doorOptions } from '../support/team-seed.js';
import { tailFile } from '../../infra/log-files.js';
import { workflowUrl } from '../../infra/temporal.js';
import { efficiencyFigures } from '../../domain/reports/efficiency.js';
import { route } from '../../web/server.js';
import { FsArtifactStore } from '../../infra/artifact-store-fs.js';
import { artifactKeys } from '../../infra/artifact-store.js';

const XSS = '<script>alert(1)</script>';
const count = (haystack: string, needle: RegExp) => (haystack.match(new RegExp(needle.source, 'g')) ?? []).length;

const files = defaultSuiteFiles();
const rules = rulesForSuites({ open: loadSuite(files.open), closed: loadSuite(files.closed) });
const sub = (id: string, failureCategory: 'BuildFailed' | 'OutOfMemory' | null = null, failureReason: string | null = null) => ({
  submissionId: id,
  team: id.split('.')[0]!,
  track: 'cpu',
  outcome: failureCategory ? 'failed' : 'completed',
  failureCategory,
  failureReason,
});
const scoresOf = (id: string, values: [number, number, number, number]) =>
  (['opposites', 'capitals', 'animal-sounds', 'colors'] as const).map((scenario, i) => ({
    submissionId: id,
    suite: (i < 2 ? 'open' : 'closed') as 'open' | 'closed',
    column: `${scenario} - EM`,
    score: values[i]!,
  }));

describe('escaping and formats', () => {
  it('escapes every character that matters in content and attributes', () => {
    expect(escapeHtml(`<a href="x" title='y'>&</a>`)).toBe('&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
    expect(escapeHtml(null)).toBe('');
    expect(escapeHtml(5)).toBe('5');
  });

  it('html`` escapes interpolations but not nested templates; arrays join, null and false vanish', () => {
    const inner = html`<b>${XSS}</b>`;
    const out = html`<p title="${'"quoted"'}">${inner}${[html`<i>1</i>`, '<2>']}${null}${false}${undefined}</p>`.toString();
    expect(out).toBe('<p title="&quot;quoted&quot;"><b>&lt;script&gt;alert(1)&lt;/script&gt;</b><i>1</i>&lt;2&gt;</p>');
    expect(html`${trusted('<hr>')}`.toString()).toBe('<hr>');
  });

  it('writes scores with four decimals and tiny ones in exponent form', () => {
    expect(formatScore(0)).toBe('0.0000');
    expect(formatScore(0.53333)).toBe('0.5333');
    expect(formatScore(1)).toBe('1.0000');
    expect(formatScore(5e-66)).toBe('5.00e-66');
    expect(formatScore(Number.MIN_VALUE)).toBe('4.94e-324');
    expect(formatScore(null)).toBe('—');
    expect(formatScore(Number.NaN)).toBe('—');
  });

  it('prints the correlation with three decimals, or n/a below three points', () => {
    expect(formatCorrelation(0.89512, 5)).toBe('0.895');
    expect(formatCorrelation(-0.5, 3)).toBe('-0.500');
    expect(formatCorrelation(1, 2)).toBe('n/a');
    expect(formatCorrelation(null, 5)).toBe('n/a');
  });
});

describe('SVG charts', () => {
  it('draws one labelled point per entry in the unit square, escaped, with a tooltip', () => {
    const svg = scatterSvg(
      [
        { id: 'a', label: 'a', x: 1, y: 1, tone: 'good' },
        { id: 'b', label: `b${XSS}`, x: 0, y: 0, tone: 'bad' },
        { id: 'c', label: 'c', x: 0, y: 0, tone: 'bad' },
        { id: 'd', label: 'd', x: 7, y: -3, tone: 'warn' },
      ],
      { xLabel: 'open', yLabel: 'closed', width: 480, height: 420 },
    ).toString();
    expect(count(svg, /data-testid="scatter-point"/)).toBe(4);
    expect(count(svg, /data-testid="scatter-label"/)).toBe(4);
    expect(svg).not.toContain(XSS);
    expect(svg).toContain('b&lt;script&gt;');
    // margins left 56, right 24, top 16, bottom 52: (1,1) is the top right corner, (0,0) the bottom left
    expect(svg).toMatch(/data-submission="a"[^>]*cx="456" cy="16"/);
    expect(svg).toMatch(/data-submission="b"[^>]*cx="56" cy="368"/);
    expect(svg).toMatch(/data-submission="d"[^>]*cx="456" cy="368"/); // clamped to the axes
    // two labels at the same point do not overlap: c's label is moved
    const labelY = (start: string) => Number(svg.match(new RegExp(`y="([\\d.-]+)" text-anchor="\\w+" class="point-label">${start}`))![1]);
    expect(Math.abs(labelY('c<') - labelY('b&lt;'))).toBeGreaterThanOrEqual(12);
    expect(svg).not.toContain('<script');
  });

  it('draws bars whose length follows the count, with the count written out', () => {
    const svg = horizontalBarsSvg(
      [
        { key: 'BuildFailed', label: 'BuildFailed', value: 4, tone: 'bad' },
        { key: 'Infrastructure', label: 'Infrastructure', value: 2, tone: 'muted', title: XSS },
      ],
      { testId: 'failure-bar', ariaLabel: 'failures' },
    ).toString();
    expect(svg).toContain('data-key="BuildFailed" data-count="4"');
    expect(svg).toContain('data-key="Infrastructure" data-count="2"');
    const widths = [...svg.matchAll(/<rect [^>]*width="([\d.]+)"/g)].map((m) => Number(m[1]));
    expect(widths[0]! / widths[1]!).toBeCloseTo(2, 5);
    expect(svg).not.toContain(XSS);
  });
});

describe('track page', () => {
  const board = buildLeaderboard(
    'cpu',
    rules,
    [sub('a.one'), sub('b.two'), sub('c.three', 'BuildFailed', `docker said ${XSS}`)],
    [...scoresOf('a.one', [0.9, 0.8, 0.7, 0.9]), ...scoresOf('b.two', [0.5, 0.4, 0.6, 0.3])],
  );
  const view = trackViewOf(board);
  const page = renderTrack(view);

  it('has a row per submission in rank order with its scores, tiny ones in exponent form', () => {
    expect([...page.matchAll(/data-testid="leaderboard-row" data-submission="([^"]+)"/g)].map((m) => m[1])).toEqual(['a.one', 'b.two', 'c.three']);
    expect(board.rows[2]!.final).toBe(Number.MIN_VALUE);
    expect(page).toContain('<b>4.94e-324</b>');
    expect(count(page, /data-testid="cell-mwr"/)).toBe(3 * 4);
    expect(page).toContain(`title="BuildFailed: ${FAILURE_CATEGORIES.BuildFailed.meaning}"`);
  });

  it('shows the generalization check of the evaluated submissions only', () => {
    expect([...page.matchAll(/data-testid="generalization-row" data-submission="([^"]+)" data-overfit="(yes|no)"/g)].map((m) => [m[1], m[2]])).toEqual([
      ['a.one', 'no'],
      ['b.two', 'no'],
    ]);
    expect(page).toMatch(/data-testid="generalization-pearson">(n\/a|-?\d\.\d{3})</);
  });

  it('escapes the failure reason and contains no script', () => {
    expect(page).not.toContain(XSS);
    expect(page).toContain('docker said &lt;script&gt;alert(1)&lt;/script&gt;');
    expect(page).not.toMatch(/<script/i);
  });

  it('plots every submission and prints the correlation, n/a below three points', () => {
    expect(count(page, /data-testid="scatter-point"/)).toBe(3);
    expect(page).toContain(`data-testid="correlation">${formatCorrelation(view.correlation, 3)}<`);
    const two = trackViewOf(
      buildLeaderboard('cpu', rules, [sub('a.one'), sub('b.two')], [...scoresOf('a.one', [0.9, 0.8, 0.7, 0.9]), ...scoresOf('b.two', [0.5, 0.4, 0.6, 0.3])]),
    );
    expect(two.correlation).toBeNull();
    const twoPage = renderTrack(two);
    expect(twoPage).toContain('data-testid="correlation">n/a<');
    expect(count(twoPage, /data-testid="scatter-point"/)).toBe(2);
  });

  it('shows one mean-win-rate cell per ranking scenario of the real suites, its columns in the title', () => {
    const real = {
      open: loadSuite(path.join(PROJECT_ROOT, 'suites', 'neurips2023', 'open-small.json')),
      closed: loadSuite(path.join(PROJECT_ROOT, 'suites', 'neurips2023', 'closed-small.json')),
    };
    const realRules = rulesForSuites(real);
    const columns = realRules.stages.flatMap((stage) =>
      stage.scenarios.flatMap((scenario) => scenario.columns.map((c) => ({ suite: stage.name as 'open' | 'closed', column: c.name }))),
    );
    const scores = ['a.one', 'b.two'].flatMap((id, n) =>
      columns.map((c) => ({ submissionId: id, suite: c.suite, column: c.column, score: n === 0 ? 0.5 : 0.25 })),
    );
    const realPage = renderTrack(trackViewOf(buildLeaderboard('cpu', realRules, [sub('a.one'), sub('b.two')], scores, 'not-cut')));
    expect(realPage).toContain('<span data-testid="stop-rule">Stop sequences: not cut (2023 rule)</span>');
    const row = realPage.split('data-testid="leaderboard-row"')[1]!;
    expect([...row.matchAll(/data-scenario="([^"]+)"/g)].map((m) => m[1])).toEqual(['MMLU', 'TruthfulQA', 'GSM8K', 'BBQ', 'corr2cause', 'MMLU held-out']);
    expect(row).toContain('title="MMLU - EM: 0.5000; MMLU - EM (Robustness): 0.5000; MMLU - EM (Fairness): 0.5000"');
  });

  it('counts failure categories, and says none when every submission succeeded', () => {
    expect(view.failures).toEqual({ BuildFailed: 1 });
    expect(page).toContain('data-key="BuildFailed" data-count="1"');
    expect(page).not.toContain('data-testid="failure-none"');
    const clean = renderTrack(trackViewOf(buildLeaderboard('cpu', rules, [sub('a.one')], scoresOf('a.one', [1, 1, 1, 1]))));
    expect(clean).toContain('data-testid="failure-none"');
    expect(clean).not.toContain('data-testid="failure-bar"');
    expect(failureBars({ OutOfMemory: 1, BuildFailed: 3, Infrastructure: 1 }).map((b) => [b.key, b.value, b.tone])).toEqual([
      ['BuildFailed', 3, 'bad'],
      ['Infrastructure', 1, 'muted'],
      ['OutOfMemory', 1, 'bad'],
    ]);
  });

  it('labels a partial submission amber and a failed one red', () => {
    expect(statusOf('completed', 'TimeLimit').tone).toBe('warn');
    expect(statusOf('failed', 'TimeLimit').tone).toBe('bad');
    expect(statusOf('failed', 'Infrastructure').tone).toBe('muted');
    expect(statusOf('completed', null)).toMatchObject({ label: 'completed', tone: 'good' });
  });

  it('says so when a track has no submissions', () => {
    const empty = renderTrack(trackViewOf(buildLeaderboard('a100-40gb', rules, [], [])));
    expect(empty).toContain('No submissions on this track yet.');
    expect(empty).toContain('data-testid="correlation">n/a<');
  });
});

describe('submission page', () => {
  const stage = (
    name: string,
    outcome: StageRecord['outcome'],
    from: string | null,
    to: string | null,
    limitMs: number | null,
    extra: Partial<StageRecord> = {},
  ): StageRecord => ({
    submissionId: 'x.y',
    stage: name,
    outcome,
    failureCategory: null,
    reason: null,
    startedAt: from,
    endedAt: to,
    limitMs,
    details: null,
    ...extra,
  });
  const records: StageRecord[] = [
    // the database orders by start time: skipped stages (no start) come first
    stage('score', 'skipped', null, null, null, { reason: 'the evaluation failed' }),
    stage('build', 'succeeded', '2024-01-01T00:00:00.000Z', '2024-01-01T00:05:00.000Z', 20 * 60_000),
    stage('fine-tune', 'succeeded', '2024-01-01T00:05:00.000Z', '2024-01-01T00:07:30.000Z', 10 * 60_000, {
      details: { progress: { step: 3, totalSteps: 9, checkpoint: null } },
    }),
    stage('open-eval', 'failed', '2024-01-01T00:07:30.000Z', '2024-01-01T00:19:30.000Z', 10 * 60_000, {
      failureCategory: 'ContractViolation',
      reason: `answered ${XSS}`,
      details: { logExcerpt: `line 1\n${XSS}`, answered: 3, failed: 1, unanswered: 57, total: 60 },
    }),
  ];
  const stages = stageViews(records, 'cpu');
  const view: SubmissionView = {
    submission: {
      submissionId: 'x.y',
      team: 'x',
      name: 'y',
      track: 'cpu',
      directory: '/d',
      workflowId: 'submission-x.y',
      runId: 'r',
      submittedAt: '2024-01-01T00:00:00.000Z',
    },
    pipeline: {
      submissionId: 'x.y',
      outcome: 'failed',
      failureCategory: 'ContractViolation',
      reason: 'ignored: the stage reason wins',
      updatedAt: '2024-01-01T00:20:00.000Z',
    },
    stages,
    scores: [],
    logs: [],
    standing: null,
    workflowUrl: workflowUrl({ uiUrl: 'http://ui:8233/', namespace: 'team a' }, 'submission-x.y'),
    efficiency: efficiencyFigures({
      training: { wallTimeMs: 150_000, gpus: 1 },
      evaluation: { wallTimeMs: 720_000, instances: 3 },
      latenciesMs: [10, 20, 30, 400],
      peakMemoryBytes: 3 * 1024 ** 3,
    }),
  };
  let page = '';
  beforeAll(async () => {
    view.logs = await stageLogs('/nonexistent', 'x.y', stages);
    page = renderSubmission(view);
  });

  it('shows the efficiency figures: training GPU-hours, throughput, latency percentiles, peak memory', () => {
    expect(page).toMatch(/data-testid="efficiency-training">2m 30s on 1 GPU \(0\.042 GPU-hours\)/);
    expect(page).toMatch(/data-testid="efficiency-latency">20 ms \/ 400 ms over 4 requests/);
    expect(page).toMatch(/data-testid="efficiency-peak">3(\.0)? GiB/);
  });

  it('orders stages as the pipeline runs them, filling in stages not recorded yet', () => {
    expect(stages.map((s) => [s.stage, s.outcome, s.elapsedMs, s.limitMs])).toEqual([
      ['build', 'succeeded', 300_000, 1_200_000],
      ['fine-tune', 'succeeded', 150_000, 600_000],
      ['open-eval', 'failed', 720_000, 600_000],
      ['closed-eval', 'pending', null, TRACKS.cpu.limits.closedEval],
      ['score', 'skipped', null, null],
    ]);
  });

  it('draws elapsed against the limit for every stage, marking a stage that ran over', () => {
    expect(count(page, /data-testid="timeline-bar"/)).toBe(5);
    expect(page).toMatch(/data-stage="build"[^>]*data-elapsed-ms="300000" data-limit-ms="1200000"/);
    expect(page).toContain('width: 25.0%'); // build: 5m of 20m
    expect(page).toContain('width: 100.0%'); // open-eval: 12m of 10m, capped, with the over-limit mark
    expect(page).toContain('title="over the limit"');
    expect(page).toContain('5m of 20m (25%)');
    expect(page).toContain('12m of 10m (120%)');
    expect(page).toContain('not run yet');
    expect(page).toContain('step 3 of 9');
    expect(page).toContain('answered 2 of 60, 1 failed, 57 unanswered');
  });

  it('shows the failure, the log excerpt and the Temporal link, all escaped', () => {
    expect(page).not.toContain(XSS);
    expect(page).not.toMatch(/<script/i);
    expect(page).toMatch(/data-testid="failure-reason">answered &lt;script&gt;alert\(1\)&lt;\/script&gt;</);
    expect(page).toMatch(/data-testid="log-excerpt" data-stage="open-eval">line 1\n&lt;script&gt;/);
    expect(page).toContain('href="http://ui:8233/namespaces/team%20a/workflows/submission-x.y"');
    expect(page).toContain('data-testid="no-metrics"');
  });
});

describe('overview and errors', () => {
  it('sums outcomes over the tracks', () => {
    const page = renderOverview({
      tracks: [
        {
          track: 'cpu',
          title: 'CPU',
          byOutcome: { failed: 1, completed: 2 },
          submissions: [{ submissionId: XSS, team: 't', name: 'n', track: 'cpu', submittedAt: 'now', outcome: 'failed', failureCategory: 'OutOfMemory' }],
        },
      ],
      totals: { failed: 1, completed: 2 },
      submissionCount: 3,
    });
    expect(page).toMatch(/data-outcome="completed"[^>]*><b>2<\/b>/);
    expect(page).toMatch(/data-outcome="failed"[^>]*><b>1<\/b>/);
    expect(page).toContain(`href="/submissions/${encodeURIComponent(XSS)}"`);
    expect(page).not.toContain(XSS);
  });

  it('escapes what the 404 page repeats', () => {
    const page = renderNotFound(`There is no submission "${XSS}".`);
    expect(page).toContain('&lt;script&gt;');
    expect(page).not.toContain(XSS);
  });
});

describe('logs on disk', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'cockpit-unit-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the last 40 lines of a long log, even past the byte window', () => {
    const file = path.join(dir, 'big.log');
    writeFileSync(file, `${Array.from({ length: 5000 }, (_, i) => `line ${i + 1} ${'x'.repeat(80)}`).join('\n')}\n\n`);
    const tail = tailFile(file, 40, 4096)!.split('\n');
    expect(tail.length).toBeLessThanOrEqual(40);
    expect(tail[tail.length - 1]).toMatch(/^line 5000 /);
    expect(tailFile(file, 40)!.split('\n')).toHaveLength(40);
    expect(tailFile(path.join(dir, "missing.log"), 40)).toBeNull();
  });

  it('never leaves <dataDir>/logs', () => {
    expect(logFileOf(dir, 'team.sub', 'build')).toBe(path.join(dir, 'logs', 'team.sub', 'build.log'));
    expect(logFileOf(dir, '../../etc', 'passwd')).toBeNull();
    expect(logFileOf(dir, 'a/b', 'build')).toBeNull();
    expect(logFileOf(dir, '..', 'build')).toBeNull();
  });

  it('prefers the excerpt a stage recorded over its log file', async () => {
    mkdirSync(path.join(dir, 'logs', 't.s'), { recursive: true });
    writeFileSync(path.join(dir, 'logs', 't.s', 'build.log'), 'from the file\n');
    writeFileSync(path.join(dir, 'logs', 't.s', 'fine-tune.log'), 'training\n');
    const stages = stageViews(
      [
        {
          submissionId: 't.s',
          stage: 'build',
          outcome: 'failed',
          failureCategory: 'BuildFailed',
          reason: 'r',
          startedAt: null,
          endedAt: null,
          limitMs: null,
          details: { logExcerpt: 'recorded' },
        },
        {
          submissionId: 't.s',
          stage: 'fine-tune',
          outcome: 'succeeded',
          failureCategory: null,
          reason: null,
          startedAt: null,
          endedAt: null,
          limitMs: null,
          details: {},
        },
      ],
      'cpu',
    );
    expect(await stageLogs(dir, 't.s', stages)).toEqual([
      { stage: 'build', source: 'details', text: 'recorded' },
      { stage: 'fine-tune', source: 'file', text: 'training' },
    ]);
  });

  it('reads a log from the artifact store when the stage ran on another host', async () => {
    const store = new FsArtifactStore(path.join(dir, 'store'));
    await store.putText(artifactKeys.log('o.h', 'open-eval.log'), `${Array.from({ length: 300 }, (_, i) => `line ${i}`).join('\n')}\n\n`);
    const stages = stageViews(
      [
        {
          submissionId: 'o.h',
          stage: 'open-eval',
          outcome: 'succeeded',
          failureCategory: null,
          reason: null,
          startedAt: null,
          endedAt: null,
          limitMs: null,
          details: {},
        },
      ],
      'cpu',
    );
    expect(await stageLogs(dir, 'o.h', stages)).toEqual([]); // not on this host, no store given
    const [log] = await stageLogs(dir, 'o.h', stages, store);
    expect(log).toMatchObject({ stage: 'open-eval', source: 'file' });
    expect(log!.text.split('\n').at(-1)).toBe('line 299');
    expect(log!.text.split('\n').length).toBeLessThan(300); // a tail, not the whole log
  });
});

describe('router', () => {
  const db = new ResultsDb(':memory:');
  afterAll(() => db.close());
  db.upsertSubmission({
    submissionId: 'a.b',
    team: 'a',
    name: 'b',
    track: 'cpu',
    directory: '/d',
    workflowId: 'submission-a.b',
    runId: 'r',
    submittedAt: '2024-01-01T00:00:00.000Z',
  });
  const options = { db, dataDir: '/nonexistent' };

  it('serves the pages and the API, and 404s what does not exist', async () => {
    expect((await route(options, 'GET', '/')).status).toBe(200);
    expect((await route(options, 'GET', '/tracks/cpu')).status).toBe(200);
    expect((await route(options, 'GET', '/tracks/a100-40gb')).status).toBe(200); // a configured track without submissions
    expect((await route(options, 'GET', '/tracks/mars')).status).toBe(404);
    expect((await route(options, 'GET', '/submissions/a.b')).status).toBe(200);
    expect((await route(options, 'GET', '/submissions/a.b/')).status).toBe(200);
    const missing = await route(options, 'GET', `/submissions/${encodeURIComponent(XSS)}`);
    expect(missing.status).toBe(404);
    expect(missing.body).not.toContain(XSS);
    expect((await route(options, 'GET', '/submissions/%E0%A4%A')).status).toBe(404); // malformed escape
    expect(await route(options, 'GET', '/api/leaderboard?track=cpu')).toMatchObject({ status: 200, type: 'json' });
    expect(await route(options, 'GET', '/api/submissions/a.b')).toMatchObject({ status: 200, type: 'json' });
    expect(await route(options, 'GET', '/api/nothing')).toMatchObject({ status: 404, type: 'json' });
    expect((await route(options, 'DELETE', '/submissions/a.b')).status).toBe(405);
  });
});

describe('audiences', () => {
  const board = buildLeaderboard('cpu', rules, [sub('a.one'), sub('c.three', 'BuildFailed', 'step 4/6 failed')], scoresOf('a.one', [0.9, 0.8, 0.7, 0.9]));

  it('links public pages to public pages and operator pages under /operator, with a banner', () => {
    const pub = renderTrack(trackViewOf(board));
    expect(pub).toContain('href="/submissions/a.one"');
    expect(pub).not.toContain('/operator');
    const op = renderTrack(trackViewOf(board, 'operator'));
    expect(op).toContain('href="/operator/submissions/a.one"');
    expect(op).toContain('href="/operator/tracks/cpu"');
    expect(op).toContain('data-testid="operator-banner"');
    expect(op).not.toContain('href="/submissions/');
  });

  it('shows answers, completions and per-instance errors on the operator page only, escaped', () => {
    const view: SubmissionView = {
      audience: 'operator',
      submission: {
        submissionId: 'a.one',
        team: 'a',
        name: 'one',
        track: 'cpu',
        directory: '/d',
        workflowId: 'submission-a.one',
        runId: 'r',
        submittedAt: '2024-01-01T00:00:00.000Z',
      },
      pipeline: null,
      stages: stageViews([], 'cpu'),
      scores: [],
      logs: [],
      standing: null,
      workflowUrl: null,
      efficiency: efficiencyFigures({ training: null, evaluation: null, latenciesMs: [], peakMemoryBytes: null }),
      answers: [
        { suite: 'open', count: 0, failed: 0, answers: [] },
        {
          suite: 'closed',
          count: 2,
          failed: 1,
          answers: [
            { scenario: 'colors', instanceId: 'id1', completion: ' B', score: 0, errorKind: null, error: null, attempts: 1, latencyMs: 12 },
            {
              scenario: 'colors',
              instanceId: 'id0',
              completion: null,
              score: 0,
              errorKind: 'http-status',
              error: `answered HTTP 500: ${XSS}`,
              attempts: 3,
              latencyMs: 40,
            },
          ],
        },
      ],
    };
    const op = renderSubmission(view);
    expect(op).toContain('data-testid="answers-section"');
    expect([...op.matchAll(/data-testid="answer-row" data-suite="closed" data-scenario="colors" data-instance="(id\d)"/g)].map((m) => m[1])).toEqual([
      'id0',
      'id1',
    ]); // failed first
    expect(op).toContain('answered HTTP 500: &lt;script&gt;');
    expect(op).not.toContain(XSS);
    const pub = renderSubmission({ ...view, audience: 'public', answers: null });
    expect(pub).not.toContain('data-testid="answers');
    expect(pub).toContain('data-testid="logs-withheld"');
  });

  it('serves the CSV export and the operator routes through the router', async () => {
    const db = new ResultsDb(':memory:');
    try {
      db.upsertSubmission({
        submissionId: 'a.b',
        team: 'a',
        name: 'b',
        track: 'cpu',
        directory: '/d',
        workflowId: 'submission-a.b',
        runId: 'r',
        submittedAt: '2024-01-01T00:00:00.000Z',
      });
      const options = { db, dataDir: '/nonexistent' };
      const csv = await route(options, 'GET', '/api/leaderboard.csv?track=cpu');
      expect(csv).toMatchObject({ status: 200, type: 'csv' });
      expect(csv.body.split('\n')[0]).toMatch(/^rank,submission,team,outcome,failure_category,failure_reason,/);
      expect((await route(options, 'GET', '/api/leaderboard.csv')).status).toBe(400);
      expect((await route(options, 'GET', '/operator/submissions/a.b')).status).toBe(200); // loopback, no token
      expect((await route({ ...options, operatorToken: 'a-token-of-twenty-chars' }, 'GET', '/operator/submissions/a.b')).status).toBe(401);
      expect(
        (
          await route({ ...options, operatorToken: 'a-token-of-twenty-chars' }, 'GET', '/api/operator/submissions/a.b', {
            authorization: 'Bearer a-token-of-twenty-chars',
          })
        ).status,
      ).toBe(200);
      expect((await route(options, 'GET', '/operator/nothing/here')).status).toBe(404);
    } finally {
      db.close();
    }
  });
});

describe('phases on the track page: development and final boards, reproduction column, banner', () => {
  const db = new ResultsDb(':memory:');
  afterAll(() => db.close());
  const demo = loadCompetition(path.join(PROJECT_ROOT, 'competitions', 'demo.json'));
  const dropping = { ...demo, reproduction: { ...demo.reproduction, onFailure: 'drop' as const } };
  const register = (id: string) => {
    const [team, name] = id.split('.') as [string, string];
    db.upsertSubmission({ submissionId: id, team, name, track: 'cpu', directory: '/d', workflowId: `submission-${id}`, runId: 'r', submittedAt: '2030-01-01T00:00:00.000Z' });
    db.recordPipeline({ submissionId: id, outcome: 'completed', failureCategory: null, reason: null, updatedAt: '2030-01-02T00:00:00.000Z' });
  };
  const scored = (id: string, value: number) => {
    register(id);
    for (const [suite, scenarios] of [['open', ['opposites', 'capitals']], ['closed', ['animal-sounds', 'colors']]] as const) {
      db.saveScenarioScores(id, suite, scenarios.map((scenario) => ({ scenario, column: `${scenario} - EM`, score: value, instances: 10, answered: 10, failed: 0 })));
    }
  };
  const judged = (of: string, reproduced: boolean, reason: string) => {
    register(`${of}.reproduction`);
    db.recordStage({
      submissionId: `${of}.reproduction`,
      stage: 'reproduction',
      outcome: reproduced ? 'succeeded' : 'failed',
      failureCategory: reproduced ? null : 'NotReproduced',
      reason,
      startedAt: null,
      endedAt: '2036-01-03T00:00:00.000Z',
      limitMs: null,
      details: {
        of,
        verdict: reproduced ? 'Reproduced' : 'NotReproduced',
        final: { submitted: 0.5, reproduced: reproduced ? 0.49 : 0.1, difference: null, within: reproduced },
        columns: [{ suite: 'closed', column: 'colors - EM', score: 0.7, reproducedScore: reproduced ? 0.7 : 0.2, difference: null, within: reproduced }],
      },
    });
  };
  beforeAll(() => {
    for (const [team, value] of [['alpha', 0.9], ['beta', 0.7], ['gamma', 0.5], ['delta', 0.3]] as const) {
      scored(`${team}.v1`, value);
      scored(`${team}.v1.final`, value);
    }
    judged('alpha.v1', true, 'final score 0.490 reproduced vs 0.500 submitted');
    judged('beta.v1', false, `final score 0.100 reproduced vs 0.500 submitted ${XSS}`);
    register('gamma.v1.reproduction'); // running: no verdict yet
  });

  it('the development board ranks the development runs only', async () => {
    const view = await trackView(db, 'cpu');
    expect(view.board.rows.map((r) => r.submissionId)).toEqual(['alpha.v1', 'beta.v1', 'gamma.v1', 'delta.v1']);
    expect(view.final).toBeNull();
    const page = renderTrack(view);
    expect(page).toMatch(/<b data-testid="phase-link" data-phase="development" aria-current="page">/);
    expect(page).toContain('href="/tracks/cpu?phase=final"');
    expect(page).not.toContain('data-testid="cell-reproduction"');
    expect(page).not.toContain('data-testid="phase-banner"'); // no competition file, no banner
  });

  it('the final board ranks the final runs under their development submission, marked (mark)', async () => {
    const view = await trackView(db, 'cpu', undefined, 'public', { phase: 'final', competition: demo, now: Date.parse('2030-06-01T00:00:00Z') });
    expect(view.final!.rows.map((r) => [r.submissionId, r.reproduction.state])).toEqual([
      ['alpha.v1.final', 'Reproduced'],
      ['beta.v1.final', 'NotReproduced'],
      ['gamma.v1.final', 'pending'],
      ['delta.v1.final', 'not-selected'],
    ]);
    // N = 4: alpha beats three in every column.
    expect(view.board.rows[0]!.final).toBeCloseTo(3 / 4, 12);
    const page = renderTrack(view);
    expect(count(page, /data-testid="cell-reproduction"/)).toBe(4);
    expect(page).toMatch(/data-state="NotReproduced"><details class="why">.*final score 0\.100 reproduced vs 0\.500 submitted &lt;script&gt;/s);
    expect(page).not.toContain(XSS);
    expect(page).toMatch(/data-state="not-selected"><span class="badge tone-muted"[^>]*>—<\/span>/);
    expect(page).toMatch(/href="\/submissions\/beta\.v1\.final" title="beta\.v1\.final">beta\.v1<\/a>/);
    expect(page).toMatch(/stays on the board, marked NotReproduced/);
    expect(page).toMatch(/data-testid="phase-banner" data-phase="development">.*Phase <b data-testid="banner-phase">Development: teams submit/s);
    expect(page).toMatch(/data-testid="banner-closes">2036-01-01 00:00/);
  });

  it('drops a NotReproduced team and scores the field again without it (drop)', async () => {
    const view = await trackView(db, 'cpu', undefined, 'public', { phase: 'final', competition: dropping, now: Date.parse('2037-01-01T00:00:00Z') });
    expect(view.final!.rows.map((r) => r.submissionId)).toEqual(['alpha.v1.final', 'gamma.v1.final', 'delta.v1.final']);
    // N = 3 without beta: alpha beats two (2/3, was 3/4), gamma one (1/3, was 2/4).
    expect(view.board.rows[0]!.final).toBeCloseTo(2 / 3, 12);
    expect(view.board.rows[1]!.final).toBeCloseTo(1 / 3, 12);
    expect(view.final!.dropped.map((d) => d.of)).toEqual(['beta.v1']);
    const page = renderTrack(view);
    expect(page).toMatch(/data-testid="dropped" data-submission="beta\.v1"><b>beta<\/b>/);
    expect(page).toMatch(/is dropped, and the board is scored again without it/);
    expect(page).toMatch(/data-testid="banner-phase">The competition is over/);
    const development = renderTrack(await trackView(db, 'cpu', undefined, 'public', { competition: dropping, now: Date.parse('2037-01-01T00:00:00Z') }));
    expect(development).toMatch(/data-testid="banner-frozen">This development board is frozen: the development phase closed 2036-01-01 00:00/);
  });

  it('serves the final board and its export through the router, and refuses an unknown board', async () => {
    const options = { db, dataDir: '/nonexistent' };
    const final = await route(options, 'GET', '/tracks/cpu?phase=final');
    expect(final.status).toBe(200);
    expect(count(final.body, /data-testid="cell-reproduction"/)).toBe(4);
    expect((await route(options, 'GET', '/operator/tracks/cpu?phase=final')).body).toContain('href="/operator/tracks/cpu"');
    expect((await route(options, 'GET', '/tracks/cpu?phase=nope')).status).toBe(404);
    expect((await route(options, 'GET', '/api/leaderboard?track=cpu&phase=nope')).status).toBe(400);
    const csv = await route(options, 'GET', '/api/leaderboard.csv?track=cpu&phase=final');
    expect(csv.body.split('\n')[0]).toMatch(/^rank,team,submission,final_run,outcome,failure_category,.*,reproduction,reproduction_reason$/);
    expect(csv.body.split('\n')[2]).toMatch(/^2,beta,beta\.v1,beta\.v1\.final,completed,.*,NotReproduced,/);
    const json = JSON.parse((await route(options, 'GET', '/api/leaderboard?track=cpu&phase=final')).body) as { phase: string; final: { rows: unknown[] } };
    expect([json.phase, json.final.rows.length]).toEqual(['final', 4]);
  });

  it("shows a team its own reproduction outcome, and nothing for a team that was not reproduced", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'final-team-'));
    try {
      const context = { db, dataDir: dir, door: doorOptions(dir) };
      const beta = await teamSubmissionDetail(context, 'beta', 'beta.v1');
      expect(beta!.reproduction).toEqual({ state: 'NotReproduced', reason: `final score 0.100 reproduced vs 0.500 submitted ${XSS}`, finalSubmitted: 0.5, finalReproduced: 0.1 });
      const page = renderTeamSubmission(beta!, 'csrf');
      expect(page).toMatch(/data-testid="team-reproduction" data-submission="beta\.v1" data-state="NotReproduced">.*final score 0\.1000 reproduced vs 0\.5000 submitted/s);
      expect(page).not.toContain(XSS);
      expect((await teamSubmissionDetail(context, 'gamma', 'gamma.v1'))!.reproduction!.state).toBe('pending');
      const delta = await teamSubmissionDetail(context, 'delta', 'delta.v1');
      expect(delta!.reproduction).toBeNull();
      expect(renderTeamSubmission(delta!, 'csrf')).not.toContain('data-testid="team-reproduction"');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("an evaluation's progress and the probe's prediction", () => {
  const MIN = 60_000;
  const T0 = Date.parse('2026-03-01T10:00:00.000Z');
  const iso = (ms: number) => new Date(ms).toISOString();
  const openPrediction: StagePrediction = {
    total: 60,
    estimateMs: 12 * MIN,
    lowMs: 10 * MIN,
    highMs: 14 * MIN,
    limitMs: 30 * MIN,
    fits: true,
    answeredShareAtLimit: 1,
    sample: 12,
    concurrency: 4,
  };
  const closedPrediction: StagePrediction = { ...openPrediction, total: 200, estimateMs: 100 * MIN, lowMs: 90 * MIN, highMs: 110 * MIN, fits: false, answeredShareAtLimit: 0.3 };
  // started at T0 + 20 min, 40 of 200 answered at 2/min: the end 100 min after its start, 70 min past its 30-min limit
  const closedEta: StageEta = { answered: 40, total: 200, perMinute: 2, projectedEndAt: T0 + 120 * MIN, limitAt: T0 + 50 * MIN, pastLimit: true };
  const liveStages: StageState[] = [
    { stage: 'open-eval', outcome: 'succeeded', failureCategory: null, reason: null, startedAt: T0, endedAt: T0 + 15 * MIN, limitMs: 30 * MIN, prediction: openPrediction, eta: null },
    { stage: 'closed-eval', outcome: 'running', failureCategory: null, reason: null, startedAt: T0 + 20 * MIN, endedAt: null, limitMs: 30 * MIN, prediction: closedPrediction, eta: closedEta },
  ];
  const db = new ResultsDb(':memory:');
  const asked: string[] = [];
  const live = async (id: string) => {
    asked.push(id);
    return liveStages;
  };
  beforeAll(() => {
    db.upsertSubmission({ submissionId: 'p.run', team: 'p', name: 'run', track: 'cpu', directory: '/d', workflowId: 'submission-p.run', runId: 'r', submittedAt: iso(T0) });
    const build = { submissionId: 'p.run', stage: 'build', outcome: 'succeeded', failureCategory: null, reason: null, limitMs: 20 * MIN, details: null } as const;
    db.recordStage({ ...build, startedAt: iso(T0 - 10 * MIN), endedAt: iso(T0 - 5 * MIN) });
    db.recordStage({
      submissionId: 'p.run',
      stage: 'open-eval',
      outcome: 'succeeded',
      failureCategory: null,
      reason: null,
      startedAt: iso(T0),
      endedAt: iso(T0 + 15 * MIN),
      limitMs: 30 * MIN,
      details: { prediction: openPrediction, progress: { answered: 60, total: 60 } },
    });
  });
  afterAll(() => db.close());

  it('the operator page shows the ended stage as recorded and the running one live, warned past its limit', async () => {
    const view = (await submissionView(db, 'p.run', { dataDir: '/nonexistent', audience: 'operator', live }))!;
    expect(asked).toEqual(['p.run']);
    const open = view.stages.find((s) => s.stage === 'open-eval')!;
    expect(open.progress!.lines).toEqual(['answered 60/60 in 15m (4.0/min)', `probe: ${describePrediction('open suite', openPrediction)}`]);
    const closed = view.stages.find((s) => s.stage === 'closed-eval')!;
    expect(closed.outcome).toBe('pending'); // not recorded yet: the live state says it runs
    expect(closed.startedAt).toBe(iso(T0 + 20 * MIN));
    expect(closed.progress).toMatchObject({ running: true, answered: 40, total: 200, perMinute: 2, pastLimit: true });
    expect(closed.progress!.answeredShareAtLimit).toBeCloseTo(0.3, 10);
    expect(closed.progress!.lines[0]).toBe(describeEta(closedEta));
    expect(closed.progress!.lines[1]).toMatch(/^warning: at 2\.0\/min the stage would end 1h 10m after its limit/);
    expect(closed.progress!.lines[2]).toBe(`probe: ${describePrediction('closed suite', closedPrediction)}`);
    const page = renderSubmission(view);
    expect(page).toMatch(/data-testid="stage-progress" data-stage="open-eval" data-past-limit="no">answered 60\/60 in 15m \(4\.0\/min\)<br>probe: open suite: 60 items/);
    expect(page).toMatch(/class="tl-progress warn" data-testid="stage-progress" data-stage="closed-eval" data-past-limit="yes">40\/200 answered, 2\/min/);
    expect(page).toContain('warning: at 2.0/min');
  });

  it('the public page keeps the figures of the closed stage (numbers only), and nothing live is asked once the pipeline ended', async () => {
    const pub = (await submissionView(db, 'p.run', { dataDir: '/nonexistent', live }))!;
    expect(pub.stages.find((s) => s.stage === 'closed-eval')!.progress!.pastLimit).toBe(true);
    expect(renderSubmission(pub)).toContain('data-stage="closed-eval" data-past-limit="yes"');
    const ended = new ResultsDb(':memory:');
    try {
      ended.upsertSubmission({ submissionId: 'q.run', team: 'q', name: 'run', track: 'cpu', directory: '/d', workflowId: 'submission-q.run', runId: 'r', submittedAt: iso(T0) });
      ended.recordPipeline({ submissionId: 'q.run', outcome: 'completed', failureCategory: null, reason: null, updatedAt: iso(T0 + 60 * MIN) });
      const before = asked.length;
      const view = (await submissionView(ended, 'q.run', { dataDir: '/nonexistent', live }))!;
      expect(asked.length).toBe(before);
      expect(view.stages.every((s) => (s.progress ?? null) === null)).toBe(true);
      expect(renderSubmission(view)).not.toContain('data-testid="stage-progress"');
    } finally {
      ended.close();
    }
  });

  it("the team's pages, its JSON and `challenge remote status` show the running stage's projection and the probe's line", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'progress-team-'));
    try {
      const detail = (await teamSubmissionDetail({ db, dataDir: dir, door: doorOptions(dir), live }, 'p', 'p.run'))!;
      const closed = detail.stages.find((s) => s.stage === 'closed-eval')!;
      expect(closed.outcome).toBe('running');
      expect(closed.progress!.lines[0]).toBe(describeEta(closedEta));
      const page = renderTeamSubmission(detail, 'csrf');
      expect(page).toMatch(/data-testid="stage-progress" data-stage="closed-eval" data-past-limit="yes">40\/200 answered/);
      const overview = renderTeamOverview({ team: 'p', phase: null, quotas: [], grants: [], submissions: [detail], running: true }, 'csrf');
      expect(overview).toMatch(/data-testid="team-progress" data-stage="closed-eval" data-past-limit="yes">40\/200 answered, 2\/min/);

      // what GET /api/team/submissions/<id> answers, read back as the client reads it
      const answer = SubmissionAnswer.parse(JSON.parse(JSON.stringify(detail)));
      const printed = renderRemoteStatus([answer], true);
      expect(printed[2]).toMatch(/^p\.run\s+cpu\s+running\s+closed-eval 40\/200 \(past its limit\)/);
      const under = printed.indexOf(printed.find((l) => l.trimStart().startsWith('closed-eval'))!);
      expect(printed.slice(under + 1, under + 4)).toEqual(closed.progress!.lines.map((l) => `      ${l}`));
      expect(printed).toContain(`      probe: ${describePrediction('open suite', openPrediction)}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
