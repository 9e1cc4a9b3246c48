/**
 * The operator's GPU placement page (web/placement-data.ts, web/render-placement.ts, the /operator/placement
 * route): a real slot book (domain/placement.ts) on a clock the test moves, turned into the page's view (slots in
 * use, waiting claims in serving order, each team's GPU time, weight and share), rendered and routed without a
 * socket; and what the page says when the placement cannot be asked (no source, a failure, no answer in time).
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { SlotBook, type Requester } from '../../domain/placement.js';
import { formatSpan } from '../../domain/units.js';
import { ResultsDb } from '../../infra/results-db.js';
import type { TrackPlacement } from '../../operations/placement.js';
import { placementPageView, sharedFor, teamRows, trackPlacementView } from '../../web/placement-data.js';
import { renderPlacementPage } from '../../web/render-placement.js';
import { renderOverview } from '../../web/render.js';
import { route } from '../../web/server.js';

const MIN = 60_000;
const XSS = '<script>alert(1)</script>';
const run = (id: string): Requester => ({ workflowId: `submission-${id}`, runId: `run-${id}` });
const count = (haystack: string, needle: string) => haystack.split(needle).length - 1;

/**
 * gpu-1 (2 slots) and gpu-2 (1 slot, withdrawn). alpha.a1 holds a slot from 0 to 46 min, bravo.b1 from 30 min;
 * alpha.a2 waits from 40 min, bravo.b2 from 45; bravo weighs 2. At 46 min: alpha used 46 min, bravo 16 min (8 per
 * weight), so bravo's claim goes first although it is the younger one.
 */
function scenario(): { book: SlotBook; at: number } {
  const clock = { t: Date.UTC(2026, 2, 1, 9) };
  const book = new SlotBook({ now: () => clock.t });
  book.announce('gpu-1', 2);
  book.announce('gpu-2', 1);
  book.withdraw('gpu-2');
  book.request(run('alpha.a1'), null, 1, { team: 'alpha', phase: 'development' });
  clock.t += 30 * MIN;
  book.request(run('bravo.b1'), null, 1, { team: 'bravo', phase: 'development' });
  clock.t += 10 * MIN;
  expect(book.request(run('alpha.a2'), null, 1, { team: 'alpha', phase: 'development' }).granted).toBe(false);
  clock.t += 5 * MIN;
  expect(book.request(run('bravo.b2'), null, 1, { team: 'bravo', phase: 'development' }).granted).toBe(false);
  book.setWeight('bravo', 2);
  clock.t += 1 * MIN;
  return { book, at: clock.t };
}

const cpuPlacement = (): TrackPlacement => ({ track: 'cpu', view: scenario().book.view(), error: null });

describe('the placement view', () => {
  it('counts the slots in service and held, and orders the waiting claims as the book serves them', () => {
    const view = trackPlacementView(cpuPlacement());
    expect(view.state).toBe('running');
    expect(view.title).toBe('CPU (demos and tests)');
    expect(view.slots).toEqual({ inService: 2, held: 2, free: 0 });
    expect(view.hosts).toEqual([
      { hostId: 'gpu-1', slots: 2, held: 2, inService: true },
      { hostId: 'gpu-2', slots: 1, held: 0, inService: false },
    ]);
    expect(view.leases.map((l) => [l.submissionId, l.team, l.heldMs])).toEqual([
      ['alpha.a1', 'alpha', 46 * MIN],
      ['bravo.b1', 'bravo', 16 * MIN],
    ]);
    expect(view.waiting.map((w) => [w.position, w.submissionId, w.waitedMs])).toEqual([
      [1, 'bravo.b2', 1 * MIN],
      [2, 'alpha.a2', 6 * MIN],
    ]);
  });

  it("gives each team's GPU time, weight, time ÷ weight and its share of the phase", () => {
    const teams = trackPlacementView(cpuPlacement()).teams;
    const bravo = teams.find((t) => t.team === 'bravo')!;
    const alpha = teams.find((t) => t.team === 'alpha')!;
    expect([bravo.usedMs, bravo.weight, bravo.perWeightMs, bravo.holding, bravo.waiting]).toEqual([16 * MIN, 2, 8 * MIN, 1, 1]);
    expect([alpha.usedMs, alpha.weight, alpha.perWeightMs]).toEqual([46 * MIN, 1, 46 * MIN]);
    expect(alpha.shareOfPhase).toBeCloseTo(46 / 62, 10);
    expect(bravo.shareOfPhase).toBeCloseTo(16 / 62, 10);
    expect(alpha.weightShare).toBeCloseTo(1 / 3, 10);
    expect(bravo.weightShare).toBeCloseTo(2 / 3, 10);
    // Phases count apart; a phase where nothing was used has no share yet.
    const apart = teamRows([
      { phase: 'final', team: 'alpha', usedMs: 0, weight: 1, holding: 0, waiting: 1 },
      { phase: 'development', team: 'alpha', usedMs: 10, weight: 1, holding: 0, waiting: 0 },
    ]);
    expect(apart.map((t) => [t.phase, t.shareOfPhase, t.weightShare])).toEqual([
      ['final', null, 1],
      ['development', 1, 1],
    ]);
  });

  it('a track without a placement yet and one whose query failed say so', () => {
    expect(trackPlacementView({ track: 'a100-40gb', view: null, error: null }).state).toBe('not-started');
    const failed = trackPlacementView({ track: '4090-24gb', view: null, error: 'the placement query of placement-4090-24gb failed: no poller' });
    expect([failed.state, failed.error]).toEqual(['unreachable', 'the placement query of placement-4090-24gb failed: no poller']);
  });
});

describe('the placement page', () => {
  it('renders hosts, slots held, the waiting order and the GPU time per team with links to the submissions', async () => {
    const page = renderPlacementPage(await placementPageView(() => Promise.resolve([cpuPlacement(), { track: 'a100-40gb', view: null, error: null }])));
    expect(page).toContain('data-testid="operator-banner"');
    expect(page).not.toContain('data-testid="placement-unavailable"');
    expect(page).toMatch(/data-testid="placement-slots-held"><b>2<\/b>slots held/);
    expect(page).toMatch(/data-testid="placement-waiting-count"><b>2<\/b>waiting/);
    expect(page).toContain('data-testid="placement-host" data-host="gpu-2" data-in-service="no"');
    const waiting = [...page.matchAll(/data-testid="placement-waiting" data-position="(\d)" data-workflow="([^"]+)"/g)].map((m) => [m[1], m[2]]);
    expect(waiting).toEqual([
      ['1', 'submission-bravo.b2'],
      ['2', 'submission-alpha.a2'],
    ]);
    expect(page).toContain('href="/operator/submissions/bravo.b2"');
    const bravoRow = /<tr data-testid="placement-team" data-phase="development" data-team="bravo" data-used-ms="(\d+)">([\s\S]*?)<\/tr>/.exec(page)!;
    expect(Number(bravoRow[1])).toBe(16 * MIN);
    expect(bravoRow[2]).toContain(`data-testid="placement-used">${formatSpan(16 * MIN)}</td>`);
    expect(bravoRow[2]).toContain('data-testid="placement-weight">2</td>');
    expect(bravoRow[2]).toContain('data-testid="placement-share">26%</td>');
    expect(page).toMatch(/data-team="alpha" data-used-ms="2760000">[\s\S]*?data-testid="placement-share">74%/);
    expect(page).toContain('data-track="a100-40gb" data-state="not-started"');
    expect(page).toContain('gpu-host.js --track a100-40gb');
  });

  it('escapes what the book carries (team names come from submission.json)', async () => {
    const book = new SlotBook({ now: () => 1_000 });
    book.announce('gpu-1', 1);
    book.request({ workflowId: `submission-${XSS}`, runId: 'r' }, null, 1, { team: XSS, phase: 'development' });
    const page = renderPlacementPage(await placementPageView(() => Promise.resolve([{ track: 'cpu', view: book.view(), error: null }])));
    expect(page).not.toContain(XSS);
    expect(count(page, '&lt;script&gt;alert(1)&lt;/script&gt;')).toBeGreaterThanOrEqual(2);
  });

  it('says why when there is no source, the source fails, a track fails, or nothing answers in time', async () => {
    const absent = await placementPageView(undefined);
    expect(absent.unavailable).toMatch(/no connection to the placement workflows/);
    const failing = await placementPageView(() => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:7233')));
    expect(failing).toEqual({ unavailable: expect.stringContaining('ECONNREFUSED 127.0.0.1:7233'), tracks: [] });
    expect(renderPlacementPage(failing)).toMatch(/data-testid="placement-unavailable">The placement could not be asked \(connect ECONNREFUSED/);
    const slow = await placementPageView(() => new Promise<TrackPlacement[]>((resolve) => setTimeout(() => resolve([cpuPlacement()]), 2_000).unref()), 30);
    expect(slow.unavailable).toMatch(/did not answer within 0.03 s/);
    const oneFailed = renderPlacementPage(await placementPageView(() => Promise.resolve([{ track: 'cpu', view: null, error: 'the placement query of placement-cpu failed: boom' }])));
    expect(oneFailed).toMatch(/data-state="unreachable">[\s\S]*data-testid="placement-track-error">the placement query of placement-cpu failed: boom/);
  });

  it('the operator overview links to it; the public one does not', () => {
    const empty = { submissionCount: 0, totals: {}, tracks: [] };
    expect(renderOverview({ ...empty, audience: 'operator' })).toContain('data-testid="placement-link" href="/operator/placement"');
    expect(renderOverview({ ...empty, audience: 'public' })).not.toContain('placement-link');
  });
});

describe('the placement routes', () => {
  const db = new ResultsDb(':memory:');
  afterAll(() => db.close());
  let asked = 0;
  const placement = () => {
    asked += 1;
    return Promise.resolve([cpuPlacement()]);
  };

  it('answers operators with the page and the JSON; the public /placement is a 404 that asks nothing', async () => {
    const options = { db, dataDir: '/nonexistent', placement };
    const pageReply = await route(options, 'GET', '/operator/placement');
    expect(pageReply.status).toBe(200);
    expect(pageReply.body).toContain('data-testid="placement-track" data-track="cpu" data-state="running"');
    const jsonReply = await route(options, 'GET', '/api/operator/placement');
    expect(jsonReply.status).toBe(200);
    const parsed = JSON.parse(jsonReply.body) as { tracks: { track: string; teams: { team: string; usedMs: number }[] }[] };
    expect(parsed.tracks[0]!.teams.map((t) => [t.team, t.usedMs])).toEqual(expect.arrayContaining([['bravo', 16 * MIN], ['alpha', 46 * MIN]]));
    expect(asked).toBe(2);
    for (const pathname of ['/placement', '/api/placement']) expect((await route(options, 'GET', pathname)).status).toBe(404);
    expect(asked).toBe(2);
  });

  it('needs the operator token when one is set, and answers 200 with the reason (503 for the JSON) when the placement fails', async () => {
    const guarded = { db, dataDir: '/nonexistent', placement, operatorToken: 'a-long-operator-secret-1234' };
    expect((await route(guarded, 'GET', '/operator/placement')).status).toBe(401);
    expect((await route(guarded, 'GET', '/operator/placement', { authorization: 'Bearer a-long-operator-secret-1234' })).status).toBe(200);
    const down = { db, dataDir: '/nonexistent', placement: () => Promise.reject(new Error('Temporal is down')) };
    const pageReply = await route(down, 'GET', '/operator/placement');
    expect(pageReply.status).toBe(200);
    expect(pageReply.body).toContain('The placement could not be asked (Temporal is down)');
    expect((await route(down, 'GET', '/api/operator/placement')).status).toBe(503);
  });
});

describe('one placement answer shared by the pages', () => {
  it('asks once for many pages at once and within the time an answer is kept, again after it, and again after a failure', async () => {
    let clock = 0;
    let asked = 0;
    let fail = false;
    const answer: TrackPlacement[] = [];
    const shared = sharedFor(3_000, async () => {
      asked++;
      if (fail) throw new Error('temporal down');
      return answer;
    }, () => clock);
    const many = await Promise.all(Array.from({ length: 20 }, () => shared()));
    expect([asked, many.every((a) => a === answer)]).toEqual([1, true]);
    clock = 2_999;
    await shared();
    expect(asked).toBe(1);
    clock = 3_000;
    fail = true;
    await expect(shared()).rejects.toThrow('temporal down');
    expect(asked).toBe(2);
    fail = false;
    await expect(shared()).resolves.toBe(answer); // the failure was not kept
    expect(asked).toBe(3);
  });
});
