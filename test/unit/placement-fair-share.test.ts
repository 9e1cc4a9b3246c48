/**
 * Fair share in the slot book (domain/placement.ts, domain/placement-order.ts), on a clock the test drives: GPU
 * time per (phase, team), the order of the waiting claims (least GPU time ÷ weight first, re-claims first, aged
 * claims by age), the starvation bound, the FIFO reference order, and the snapshot carried across continue-as-new.
 */
import { describe, expect, it } from '@jest/globals';
import { SlotBook, type Requester, type SlotBookOptions } from '../../domain/placement.js';

const run = (name: string): Requester => ({ workflowId: `submission-${name}`, runId: `run-${name}` });

/** A book on a clock the test moves (`clock.t`), one host of `slots` slots. */
function bookWith(slots: number, options: Omit<SlotBookOptions, 'now'> = {}) {
  const clock = { t: Date.UTC(2026, 11, 1) };
  const book = new SlotBook({ ...options, now: () => clock.t });
  book.announce('a', slots);
  return { book, clock };
}

const served = (grants: { requester: Requester }[]): string[] => grants.map((g) => g.requester.workflowId.replace('submission-', ''));

describe('SlotBook fair share', () => {
  it('measures GPU time per (phase, team): grant to release, plus the time so far of the leases held', () => {
    const { book, clock } = bookWith(2);
    book.request(run('a1'), null, 1, { team: 'A', phase: 'dev' });
    clock.t += 500;
    book.request(run('a2'), null, 1, { team: 'A', phase: 'dev' });
    clock.t += 1000;
    expect(book.usedMs('dev', 'A')).toBe(1500 + 1000);
    book.release(run('a1'));
    clock.t += 250;
    expect(book.usedMs('dev', 'A')).toBe(1500 + 1250);
    book.release(run('a2'));
    clock.t += 10_000;
    expect(book.usedMs('dev', 'A')).toBe(2750);
    // Another phase, and a team that used nothing, count apart.
    expect(book.usedMs('final', 'A')).toBe(0);
    expect(book.usedMs('dev', 'B')).toBe(0);
    // A claim without a phase counts under "none", one without a team under "unknown".
    book.request(run('x'));
    clock.t += 40;
    expect(book.usedMs('none', 'unknown')).toBe(40);
  });

  it('a freed slot goes to the team with the least GPU time, not the oldest claim: B and C before A’s second', () => {
    const { book, clock } = bookWith(1);
    book.request(run('a1'), null, 1, { team: 'A' });
    for (const name of ['a2', 'a3', 'a4']) {
      clock.t += 10;
      expect(book.request(run(name), null, 1, { team: 'A' }).granted).toBe(false);
    }
    clock.t += 10;
    book.request(run('b1'), null, 1, { team: 'B' });
    clock.t += 10;
    expect(book.request(run('c1'), null, 1, { team: 'C' })).toEqual({ granted: false, position: 2 });
    expect(served(book.view().next)).toEqual(['b1', 'c1', 'a2', 'a3', 'a4']);
    clock.t += 1000;
    expect(served(book.release(run('a1')))).toEqual(['b1']);
    clock.t += 1000;
    expect(served(book.release(run('b1')))).toEqual(['c1']);
    clock.t += 1000;
    expect(served(book.release(run('c1')))).toEqual(['a2']);
    clock.t += 1000;
    expect(served(book.release(run('a2')))).toEqual(['a3']);
  });

  it("a team's weight divides its GPU time: a weight changes who goes next", () => {
    const { book, clock } = bookWith(1);
    // A used 3 s, B 1 s; both wait.
    book.request(run('a1'), null, 1, { team: 'A' });
    clock.t += 3000;
    book.release(run('a1'));
    book.request(run('b1'), null, 1, { team: 'B' });
    clock.t += 1000;
    book.request(run('a2'), null, 1, { team: 'A' });
    book.request(run('c1'), null, 1, { team: 'C' });
    book.release(run('b1')); // c1: C used nothing
    book.request(run('b2'), null, 1, { team: 'B' });
    clock.t += 500;
    expect(served(book.view().next)).toEqual(['b2', 'a2']);
    // A weighs 4: 3 s ÷ 4 = 0.75 s < B's 1 s.
    expect(book.setWeight('A', 4)).toBe(true);
    expect(served(book.view().next)).toEqual(['a2', 'b2']);
    expect(served(book.release(run('c1')))).toEqual(['a2']);
    // Weights that are not positive and finite are refused and change nothing.
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) expect(book.setWeight('B', bad)).toBe(false);
    expect(book.weightOf('B')).toBe(1);
    const shares = book.view().teams.map((t) => [t.team, t.usedMs, t.weight]);
    // Shown lowest GPU time ÷ weight first: C 0.5 s, A 3 s ÷ 4, B 1 s.
    expect(shares).toEqual([
      ['C', 500, 1],
      ['A', 3000, 4],
      ['B', 1000, 1],
    ]);
  });

  it('counts GPU time per phase: what a team used in development does not delay its final run', () => {
    const { book, clock } = bookWith(1);
    book.request(run('a-dev'), null, 1, { team: 'A', phase: 'development' });
    clock.t += 5000;
    book.release(run('a-dev'));
    book.request(run('b-final'), null, 1, { team: 'B', phase: 'final' });
    clock.t += 100;
    book.request(run('b-final2'), null, 1, { team: 'B', phase: 'final' });
    clock.t += 100;
    book.request(run('a-final'), null, 1, { team: 'A', phase: 'final' });
    // In the final phase A used nothing and B 200 ms so far: A goes first.
    expect(served(book.release(run('b-final')))).toEqual(['a-final']);
  });

  it('at one instant, slots freed together go to teams holding fewer slots first (equal GPU time used)', () => {
    const { book } = bookWith(0);
    for (const name of ['a1', 'a2', 'a3']) book.request(run(name), null, 1, { team: 'A' });
    book.request(run('b1'), null, 1, { team: 'B' });
    book.request(run('c1'), null, 1, { team: 'C' });
    // Nobody used anything: A's first (oldest), then B and C (holding none) before A's second.
    expect(served(book.announce('a', 4))).toEqual(['a1', 'b1', 'c1', 'a2']);
  });

  it('a re-claim after a failover still goes first, ahead of teams that used less', () => {
    const { book, clock } = bookWith(1);
    book.announce('b', 1);
    book.request(run('heavy'), null, 1, { team: 'H' });
    book.request(run('x'), null, 1, { team: 'X' });
    clock.t += 60_000;
    book.request(run('new'), null, 1, { team: 'N' });
    // heavy (60 s used) lost host a: it waits ahead of new (team N used nothing).
    expect(book.request(run('heavy'), 'a', 2, { team: 'H' })).toEqual({ granted: false, position: 1 });
    expect(book.release(run('x'))).toEqual([{ requester: run('heavy'), claim: 2, hostId: 'b' }]);
  });

  it("order 'fifo' serves arrival order (the order before fair share, the benchmark's reference)", () => {
    const { book, clock } = bookWith(1, { order: 'fifo' });
    book.request(run('a1'), null, 1, { team: 'A' });
    book.request(run('a2'), null, 1, { team: 'A' });
    book.request(run('b1'), null, 1, { team: 'B' });
    clock.t += 1000;
    expect(served(book.release(run('a1')))).toEqual(['a2']);
    expect(served(book.release(run('a2')))).toEqual(['b1']);
  });

  it('is starvation-free: under a stream of new teams that used nothing, a heavy team waits at most maxWaitMs + (older claims + 1) jobs', () => {
    const JOB_MS = 1000;
    const MAX_WAIT_MS = 10_000;
    const stream = (maxWaitMs: number) => {
      const { book, clock } = bookWith(1, { maxWaitMs });
      // The heavy team used 20 s and holds the slot; an older claim of another team waits before its next.
      book.request(run('heavy-1'), null, 1, { team: 'H' });
      clock.t += 20 * JOB_MS;
      book.request(run('older'), null, 1, { team: 'O' });
      clock.t += 1;
      book.request(run('heavy-2'), null, 1, { team: 'H' });
      const heavyAskedAt = clock.t;
      const olderClaims = 1;
      // Every job lasts JOB_MS; each time a slot frees, a new team that used nothing has just asked.
      let holder = 'heavy-1';
      for (let step = 0; step < 200; step++) {
        book.request(run(`new-${step}`), null, 1, { team: `T${step}` });
        clock.t += JOB_MS;
        const [next] = served(book.release(run(holder)));
        holder = next!;
        if (holder === 'heavy-2') return { waitMs: clock.t - heavyAskedAt, bound: maxWaitMs + (olderClaims + 1) * JOB_MS };
      }
      return { waitMs: Number.POSITIVE_INFINITY, bound: maxWaitMs + (olderClaims + 1) * JOB_MS };
    };
    // Without the aging bound, fair share alone would keep serving the new teams: 200 jobs and the heavy claim still waits.
    expect(stream(Number.POSITIVE_INFINITY).waitMs).toBe(Number.POSITIVE_INFINITY);
    const { waitMs, bound } = stream(MAX_WAIT_MS);
    expect(waitMs).toBeLessThanOrEqual(bound);
    // Served by the bound, not earlier by fair share: it waited at least maxWaitMs.
    expect(waitMs).toBeGreaterThanOrEqual(MAX_WAIT_MS);
  });

  it('carries GPU time, weights and claim ages across continue-as-new, and reads books from before fair share', () => {
    const { book, clock } = bookWith(1);
    book.request(run('a1'), null, 1, { team: 'A', phase: 'dev' });
    clock.t += 700;
    book.release(run('a1'));
    book.request(run('b1'), null, 1, { team: 'B', phase: 'dev' });
    book.request(run('a2'), null, 1, { team: 'A', phase: 'dev' });
    book.setWeight('A', 3);
    clock.t += 300;
    const copy = SlotBook.from(JSON.parse(JSON.stringify(book.snapshot())), { now: () => clock.t });
    expect(copy.snapshot()).toEqual(book.snapshot());
    expect(copy.usedMs('dev', 'A')).toBe(700);
    expect(copy.usedMs('dev', 'B')).toBe(300);
    expect(copy.weightOf('A')).toBe(3);
    expect(copy.release(run('b1'))).toEqual(book.release(run('b1')));

    // A book from before fair share: no team, phase, claim time, grant time, GPU time or weights.
    const old = SlotBook.from(
      {
        hosts: [{ hostId: 'a', slots: 1, inService: true }],
        leases: [{ requester: run('old-1'), claim: 1, hostId: 'a' }],
        waiting: [{ requester: run('old-2'), claim: 1 }, { requester: run('old-3'), claim: 1 }],
      },
      { now: () => clock.t, maxWaitMs: 12 * 3_600_000 },
    );
    old.request(run('new'), null, 1, { team: 'N' });
    clock.t += 100;
    // The old lease's GPU time counts from the load; the old claims count as waiting since ever (aged): they go in
    // their order, before a new team that used nothing.
    expect(old.usedMs('none', 'unknown')).toBe(100);
    expect(served(old.release(run('old-1')))).toEqual(['old-2']);
    expect(served(old.release(run('old-2')))).toEqual(['old-3']);
  });
});
