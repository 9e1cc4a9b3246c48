import { describe, expect, it } from '@jest/globals';
import { SlotBook, type Requester } from '../../domain/placement.js';
import { mulberry32 } from '../../domain/random.js';

const run = (n: number): Requester => ({ workflowId: `submission-${n}`, runId: `run-${n}` });

/** Three hosts of two slots, announced in order. */
function threeHosts(): SlotBook {
  const book = new SlotBook();
  for (const host of ['a', 'b', 'c']) book.announce(host, 2);
  return book;
}

describe('SlotBook', () => {
  it('spreads requests over the hosts with the most free slots; a busy host gets none while another has a slot', () => {
    const book = threeHosts();
    const hosts = [1, 2, 3, 4, 5, 6].map((n) => book.request(run(n)));
    expect(hosts).toEqual(['a', 'b', 'c', 'a', 'b', 'c'].map((hostId) => ({ granted: true, hostId })));
    // a frees one slot: it is the only host with a free slot, so it takes the next request.
    book.release(run(1));
    expect(book.request(run(7))).toEqual({ granted: true, hostId: 'a' });
    expect(['a', 'b', 'c'].map((h) => book.leasesOn(h))).toEqual([2, 2, 2]);
  });

  it('queues requests when every slot is taken; the first slot freed anywhere goes to the head of the queue', () => {
    const book = threeHosts();
    for (let n = 1; n <= 6; n++) book.request(run(n));
    expect(book.request(run(7))).toEqual({ granted: false, position: 1 });
    expect(book.request(run(8))).toEqual({ granted: false, position: 2 });
    expect(book.release(run(5))).toEqual([{ requester: run(7), claim: 1, hostId: 'b' }]);
    expect(book.release(run(3))).toEqual([{ requester: run(8), claim: 1, hostId: 'c' }]);
    expect(book.waitingCount).toBe(0);
    // A new request does not jump the queue even when it arrives with a slot free: there is no queue now.
    expect(book.release(run(1))).toEqual([]);
    expect(book.request(run(9))).toEqual({ granted: true, hostId: 'a' });
  });

  it('a new request while others wait joins the end of the queue', () => {
    const book = new SlotBook();
    book.announce('a', 1);
    book.request(run(1));
    book.request(run(2));
    expect(book.request(run(3))).toEqual({ granted: false, position: 2 });
    expect(book.release(run(1))).toEqual([{ requester: run(2), claim: 1, hostId: 'a' }]);
  });

  it('is idempotent per requester: asking again returns the same host or the same place', () => {
    const book = new SlotBook();
    book.announce('a', 1);
    expect(book.request(run(1))).toEqual({ granted: true, hostId: 'a' });
    expect(book.request(run(1))).toEqual({ granted: true, hostId: 'a' });
    expect(book.request(run(2))).toEqual({ granted: false, position: 1 });
    expect(book.request(run(2))).toEqual({ granted: false, position: 1 });
    expect(book.leasesOn('a')).toBe(1);
    // A second release of the same requester frees nothing more.
    expect(book.release(run(1))).toEqual([{ requester: run(2), claim: 1, hostId: 'a' }]);
    expect(book.release(run(1))).toEqual([]);
    expect(book.leasesOn('a')).toBe(1);
    // Another run of the same workflow id is another requester.
    expect(book.request({ workflowId: 'submission-2', runId: 'run-later' })).toEqual({ granted: false, position: 1 });
  });

  it('a re-claim after a failover gives up the lost host, takes it out of service and goes first in the queue', () => {
    const book = threeHosts();
    for (let n = 1; n <= 6; n++) book.request(run(n));
    book.request(run(7));
    // run 1 lost host a: no slot anywhere else, so it waits, ahead of run 7.
    expect(book.request(run(1), 'a', 2)).toEqual({ granted: false, position: 1 });
    expect(book.freeSlots('a')).toBe(0);
    // The grant names the claim it answers (the second claim of run 1).
    expect(book.release(run(2))).toEqual([{ requester: run(1), claim: 2, hostId: 'b' }]);
    // Asking again with the same lost host (a retried message) keeps the new lease.
    expect(book.request(run(1), 'a', 2)).toEqual({ granted: true, hostId: 'b' });
    expect(book.lease(run(1))).toMatchObject({ requester: run(1), claim: 2, hostId: 'b' });
    // The lost host comes back with its announcement and takes the next in line.
    expect(book.announce('a', 2)).toEqual([{ requester: run(7), claim: 1, hostId: 'a' }]);
  });

  it('a re-claim takes a free slot on another host at once', () => {
    const book = new SlotBook();
    book.announce('a', 1);
    expect(book.request(run(1))).toEqual({ granted: true, hostId: 'a' });
    book.announce('b', 2);
    expect(book.request(run(1), 'a')).toEqual({ granted: true, hostId: 'b' });
    expect(book.leasesOn('a')).toBe(0);
    expect(book.freeSlots('a')).toBe(0);
  });

  it('a withdrawn host gets no new leases; its holders keep theirs until they release', () => {
    const book = new SlotBook();
    book.announce('a', 2);
    book.announce('b', 1);
    book.request(run(1));
    book.withdraw('a');
    expect(book.request(run(2))).toEqual({ granted: true, hostId: 'b' });
    expect(book.request(run(3))).toEqual({ granted: false, position: 1 });
    expect(book.release(run(1))).toEqual([]);
    expect(book.leaseOf(run(2))).toBe('b');
  });

  it('a waiting requester that gives up leaves the queue', () => {
    const book = new SlotBook();
    book.announce('a', 1);
    book.request(run(1));
    book.request(run(2));
    book.request(run(3));
    expect(book.release(run(2))).toEqual([]);
    expect(book.release(run(1))).toEqual([{ requester: run(3), claim: 1, hostId: 'a' }]);
  });

  it('survives a snapshot round trip (continue-as-new)', () => {
    const book = threeHosts();
    for (let n = 1; n <= 8; n++) book.request(run(n));
    book.withdraw('c');
    const copy = SlotBook.from(JSON.parse(JSON.stringify(book.snapshot())));
    expect(copy.snapshot()).toEqual(book.snapshot());
    expect(copy.release(run(1))).toEqual(book.release(run(1)));
  });

  it('never leases more slots than a host has, and never leaves a slot free while a request waits (random operations)', () => {
    const random = mulberry32(7);
    const book = new SlotBook();
    const slots: Record<string, number> = { a: 2, b: 2, c: 2 };
    for (const [host, n] of Object.entries(slots)) book.announce(host, n);
    const active = new Set<number>();
    for (let step = 0; step < 5000; step++) {
      const n = Math.floor(random() * 40);
      if (active.has(n) && random() < 0.5) {
        book.release(run(n));
        active.delete(n);
      } else {
        book.request(run(n));
        active.add(n);
      }
      const free = Object.keys(slots).reduce((sum, host) => sum + book.freeSlots(host), 0);
      for (const [host, n] of Object.entries(slots)) expect(book.leasesOn(host)).toBeLessThanOrEqual(n);
      expect(free > 0 && book.waitingCount > 0).toBe(false);
    }
  });
});
