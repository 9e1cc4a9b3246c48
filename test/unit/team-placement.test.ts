/**
 * A team's own GPU time and queue places (web/team-placement.ts, the /team card of web/render-team-gpu.ts): a real
 * slot book (domain/placement.ts) on a clock the test moves, with two teams, cut down to one team's figures. The
 * other team's name, GPU time and submissions must appear neither in the view nor in the rendered card; the card
 * says the queue is not available when the placement cannot be asked.
 */
import { describe, expect, it } from '@jest/globals';
import { SlotBook, type Requester } from '../../domain/placement.js';
import { formatSpan } from '../../domain/units.js';
import type { TrackPlacement } from '../../operations/placement.js';
import { placementPageView } from '../../web/placement-data.js';
import { renderTeamOverview } from '../../web/render-team.js';
import { FAIR_SHARE_RULE, QUEUE_UNAVAILABLE, ordinal, teamQueue, teamQueueView, type TeamQueueView } from '../../web/team-placement.js';

const MIN = 60_000;
const run = (id: string): Requester => ({ workflowId: `submission-${id}`, runId: `run-${id}` });

/**
 * cpu: gpu-1 with 2 slots. alpha.a1 holds one from 0 to 46 min, bravo.b1 from 30 min; alpha.a2 waits from 40 min,
 * bravo.b2 from 45; bravo weighs 2. Before them alpha used 7 min in phase final (alpha.f1, released) and waits there
 * too (alpha.f2, from 42 min). At 46 min, per phase ÷ weight: alpha's final 7 min, bravo's development 8 (16 ÷ 2),
 * alpha's development 46: alpha.f2 is 1st, bravo.b2 2nd, alpha.a2 3rd.
 */
function cpuBook(order: 'fair-share' | 'fifo' = 'fair-share'): TrackPlacement {
  const clock = { t: Date.UTC(2026, 2, 1, 9) };
  const book = new SlotBook({ now: () => clock.t, order });
  book.announce('gpu-1', 2);
  book.request(run('alpha.f1'), null, 1, { team: 'alpha', phase: 'final' });
  clock.t += 7 * MIN;
  book.release(run('alpha.f1'));
  book.request(run('alpha.a1'), null, 1, { team: 'alpha', phase: 'development' });
  clock.t += 30 * MIN;
  book.request(run('bravo.b1'), null, 1, { team: 'bravo', phase: 'development' });
  clock.t += 10 * MIN;
  book.request(run('alpha.a2'), null, 1, { team: 'alpha', phase: 'development' });
  clock.t += 2 * MIN;
  book.request(run('alpha.f2'), null, 1, { team: 'alpha', phase: 'final' });
  clock.t += 3 * MIN;
  book.request(run('bravo.b2'), null, 1, { team: 'bravo', phase: 'development' });
  book.setWeight('bravo', 2);
  clock.t += 1 * MIN;
  return { track: 'cpu', view: book.view(), error: null };
}

const tracks = (): TrackPlacement[] => [
  cpuBook(),
  { track: 'a100-40gb', view: null, error: null },
  { track: '4090-24gb', view: null, error: 'the placement query of placement-4090-24gb failed: no poller for bravo' },
];
const queueOf = async (team: string, source: () => Promise<readonly TrackPlacement[]> = () => Promise.resolve(tracks())): Promise<TeamQueueView> =>
  teamQueue(await placementPageView(source), team);
const overview = (team: string) => ({ team, phase: null, quotas: [], grants: [], submissions: [], running: false });

describe("a team's own GPU time and queue places", () => {
  it("gives alpha its GPU time per phase, the slot it holds and its waiting claims' positions, and nothing of bravo", async () => {
    const queue = await queueOf('alpha');
    expect(queue.unavailable).toBeNull();
    expect(queue.rule).toBe(FAIR_SHARE_RULE);
    // a100-40gb has no placement yet: not listed; 4090-24gb did not answer: listed as unreachable, with nothing else.
    expect(queue.tracks.map((t) => [t.track, t.state])).toEqual([
      ['cpu', 'running'],
      ['4090-24gb', 'unreachable'],
    ]);
    const cpu = queue.tracks[0]!;
    expect(cpu.order).toBe('fair-share');
    expect(cpu.phases).toEqual([
      { phase: 'development', usedMs: 46 * MIN, weight: 1 },
      { phase: 'final', usedMs: 7 * MIN, weight: 1 },
    ]);
    expect(cpu.holding).toEqual([{ submissionId: 'alpha.a1', phase: 'development', heldMs: 46 * MIN }]);
    expect(cpu.waiting).toEqual([
      { submissionId: 'alpha.f2', phase: 'final', position: 1, reclaim: false, waitedMs: 4 * MIN },
      { submissionId: 'alpha.a2', phase: 'development', position: 3, reclaim: false, waitedMs: 6 * MIN },
    ]);
    expect(queue.tracks[1]).toEqual({ track: '4090-24gb', title: expect.any(String), state: 'unreachable', order: null, phases: [], holding: [], waiting: [] });
    const text = JSON.stringify(queue);
    expect(text).not.toContain('bravo');
    expect(text).not.toContain(String(16 * MIN));
  });

  it('gives bravo its weight and its place, and nothing of alpha', async () => {
    const queue = await queueOf('bravo');
    const cpu = queue.tracks.find((t) => t.track === 'cpu')!;
    expect(cpu.phases).toEqual([{ phase: 'development', usedMs: 16 * MIN, weight: 2 }]);
    expect(cpu.holding.map((h) => h.submissionId)).toEqual(['bravo.b1']);
    expect(cpu.waiting.map((w) => [w.submissionId, w.position, w.waitedMs])).toEqual([['bravo.b2', 2, 1 * MIN]]);
    const text = JSON.stringify(queue);
    expect(text).not.toContain('alpha');
    expect(text).not.toContain(String(46 * MIN));
  });

  it('a team with nothing in any book gets no track but the one that did not answer', async () => {
    const queue = await queueOf('charlie');
    expect(queue.tracks.map((t) => t.track)).toEqual(['4090-24gb']);
    expect((await queueOf('charlie', () => Promise.resolve([cpuBook()]))).tracks).toEqual([]);
  });

  it('says the queue is not available, without the operator-side detail, when there is no source, it fails or it is late', async () => {
    expect(await teamQueueView(undefined, 'alpha')).toEqual({ unavailable: QUEUE_UNAVAILABLE, tracks: [], rule: FAIR_SHARE_RULE });
    const failed = await teamQueueView(() => Promise.reject(new Error('connect ECONNREFUSED 127.0.0.1:7233')), 'alpha');
    expect(failed.unavailable).toBe(QUEUE_UNAVAILABLE);
    expect(JSON.stringify(failed)).not.toContain('ECONNREFUSED');
    const late = await teamQueueView(() => new Promise<TrackPlacement[]>((resolve) => setTimeout(() => resolve([cpuBook()]), 2_000).unref()), 'alpha', 30);
    expect(late).toEqual({ unavailable: QUEUE_UNAVAILABLE, tracks: [], rule: FAIR_SHARE_RULE });
  });

  it('names places as ordinals', () => {
    expect([1, 2, 3, 4, 10, 11, 12, 13, 21, 22, 23, 101, 111, 112].map(ordinal)).toEqual([
      '1st', '2nd', '3rd', '4th', '10th', '11th', '12th', '13th', '21st', '22nd', '23rd', '101st', '111th', '112th',
    ]);
  });
});

describe('the "GPU time and queue" card on /team', () => {
  it("renders alpha's own lines and no trace of bravo", async () => {
    const page = renderTeamOverview(overview('alpha'), 'csrf', undefined, await queueOf('alpha'));
    const card = /<section class="card" data-testid="team-gpu">([\s\S]*?)<\/section>/.exec(page)![1]!;
    expect(card).toContain('<h2>GPU time and queue</h2>');
    expect(card).toContain(`The rule: ${FAIR_SHARE_RULE.replaceAll("'", '&#39;')}.`);
    expect(card).toMatch(
      new RegExp(`data-testid="team-gpu-phase" data-phase="development" data-used-ms="${46 * MIN}">phase <b>development</b>: <b data-testid="team-gpu-used">${formatSpan(46 * MIN)}</b>`),
    );
    expect(card).toContain(`data-phase="final" data-used-ms="${7 * MIN}"`);
    expect(card).not.toContain('team-gpu-weight');
    expect(card).toContain('data-testid="team-gpu-holding" data-count="1">1 of your submissions holds a slot now:');
    expect(card).toContain(`<a href="/team/submissions/alpha.a1">alpha.a1</a> holds a slot, running for ${formatSpan(46 * MIN)}`);
    const waiting = [...card.matchAll(/data-testid="team-gpu-waiting" data-submission="([^"]+)" data-position="(\d+)">[\s\S]*?<b>([^<]+)<\/b>/g)].map((m) => [m[1], m[2], m[3]]);
    expect(waiting).toEqual([
      ['alpha.f2', '1', '1st in line for cpu'],
      ['alpha.a2', '3', '3rd in line for cpu'],
    ]);
    expect(card).toMatch(/data-track="4090-24gb" data-state="unreachable">[\s\S]*The queue of this track is not available right now/);
    expect(card).not.toContain('a100-40gb');
    expect(page).not.toContain('bravo');
    expect(page).not.toContain(formatSpan(16 * MIN));
    expect(page).not.toContain('no poller');
  });

  it("shows bravo's weight, a fifo track's order, and the not-available and nothing-yet cards", async () => {
    const bravo = renderTeamOverview(overview('bravo'), 'csrf', undefined, await queueOf('bravo'));
    expect(bravo).toContain(`data-testid="team-gpu-weight">(weight 2: it counts as ${formatSpan(8 * MIN)})</span>`);
    expect(bravo).toContain('<b>2nd in line for cpu</b>');
    expect(bravo).not.toContain('alpha');
    const fifo = renderTeamOverview(overview('alpha'), 'csrf', undefined, await queueOf('alpha', () => Promise.resolve([cpuBook('fifo')])));
    expect(fifo).toContain('data-testid="team-gpu-fifo"');
    // in arrival order alpha.a2 (40 min) and alpha.f2 (42 min) come before bravo.b2 (45 min)
    expect(fifo).toContain('<b>1st in line for cpu</b>');
    expect(fifo).toContain('<b>2nd in line for cpu</b>');
    const down = renderTeamOverview(overview('alpha'), 'csrf', undefined, await teamQueueView(() => Promise.reject(new Error('Temporal is down')), 'alpha'));
    expect(down).toContain(`data-testid="team-gpu-unavailable">${QUEUE_UNAVAILABLE}</p>`);
    expect(down).not.toContain('Temporal is down');
    const nothing = renderTeamOverview(overview('charlie'), 'csrf', undefined, await queueOf('charlie', () => Promise.resolve([cpuBook()])));
    expect(nothing).toContain('data-testid="team-gpu-none">None of your submissions has used or waited for a GPU slot yet.');
    expect(renderTeamOverview(overview('alpha'), 'csrf')).not.toContain('data-testid="team-gpu"');
  });
});
