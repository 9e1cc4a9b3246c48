/**
 * The fair-share benchmark's references (bench/fair-share-ideal.ts): the ideal order over the real hand-out
 * instants, and the modelled ideal of the end-to-end reading.
 */
import { describe, expect, it } from '@jest/globals';
import { idealFirstStarts, idealOnHandOuts } from '../../bench/fair-share-ideal.js';

const flood = (n: number, at = 0) => Array.from({ length: n }, () => ({ team: 'flood', at }));

const claim = (team: string, seq: number) => ({ kind: 'claim' as const, team, seq });
const release = (seq: number) => ({ kind: 'release' as const, seq });

describe('idealOnHandOuts', () => {
  it('lets a claim that finds a slot free take it, and gives a released slot to the team granted the fewest so far', () => {
    // 2 slots: flood's first two take them; flood's third, a and b wait; the releases go to a, then b, then flood.
    const events = [claim('flood', 1), claim('flood', 2), claim('flood', 3), claim('a', 4), claim('b', 5), release(6), release(7), release(8)];
    const first = idealOnHandOuts(events, 2, [100, 101, 200, 300, 400]);
    expect(Object.fromEntries(first)).toEqual({ flood: 100, a: 200, b: 300 });
  });

  it('handles events in history order: a claim after a release does not take the slot the release gave away', () => {
    // 1 slot: flood holds it, flood's second waits; the release at 3 goes to it before a's claim (4) is handled.
    const events = [claim('flood', 1), claim('flood', 2), release(3), claim('a', 4), release(5)];
    expect(Object.fromEntries(idealOnHandOuts(events, 1, [10, 20, 30]))).toEqual({ flood: 10, a: 30 });
  });

  it('breaks ties by the earlier claim', () => {
    const events = [claim('x', 1), claim('late', 3), claim('early', 2), release(4), release(5)];
    expect(Object.fromEntries(idealOnHandOuts(events, 1, [1, 5, 6]))).toEqual({ x: 1, early: 5, late: 6 });
  });

  it('refuses grants that the events do not explain', () => {
    expect(() => idealOnHandOuts([claim('a', 1), claim('b', 2)], 2, [1])).toThrow('more hand-outs than the placement');
    expect(() => idealOnHandOuts([claim('a', 1)], 1, [1, 2])).toThrow('the replay makes 1 hand-outs, the placement 2');
  });
});

describe('idealFirstStarts', () => {
  it('serves round robin when slots free up, FIFO in arrival order', () => {
    const arrivals = [...flood(3), { team: 'a', at: 1 }];
    expect(Object.fromEntries(idealFirstStarts(arrivals, 1, 10, 'round-robin'))).toEqual({ flood: 0, a: 10 });
    expect(Object.fromEntries(idealFirstStarts(arrivals, 1, 10, 'fifo'))).toEqual({ flood: 0, a: 30 });
  });
});
