/**
 * The fair-share benchmark's ideals (bench/fair-share.ts), pure so they are tested without a server
 * (test/unit/bench-fair-share-ideal.test.ts).
 *
 * `idealOnHandOuts` is the figure's reference: the placement's own history replayed with the fair-share order: the
 * claims and releases in the order the placement handled them (its history order: signals are handled one by one in
 * that order), a claim that finds a slot free taking it, a released slot going to the waiting claim of the team
 * granted the fewest slots so far (ties: the earlier claim), which is what equal-weight fair share by GPU time comes
 * to with equal jobs. The free-slot count depends only on that sequence, so the k-th hand-out of the replay is made
 * by the same event as the placement's k-th grant, and takes that grant's real instant: the machine's speed is the
 * same on both sides. A placement that serves the fair-share order has every ratio 1.
 * `idealFirstStarts` is the modelled ideal of the end-to-end reading: `slots` free from the start, every job `jobMs`.
 */

export interface Arrival {
  team: string;
  at: number;
}

/** A claim or a slot coming back, at its place (`seq`) in the placement's history. */
export type HandledEvent = { kind: 'claim'; team: string; seq: number } | { kind: 'release'; seq: number };

/** Each team's first hand-out when the placement's events are replayed in the fair-share order on `slots` slots; `grantTimes`: the real grants' instants, in history order. */
export function idealOnHandOuts(events: readonly HandledEvent[], slots: number, grantTimes: readonly number[]): Map<string, number> {
  const waiting: { team: string; seq: number }[] = [];
  const granted = new Map<string, number>();
  const first = new Map<string, number>();
  let free = slots;
  let handOuts = 0;
  const handOut = (team: string) => {
    const at = grantTimes[handOuts++];
    if (at === undefined) throw new Error(`the replay makes more hand-outs than the placement's ${grantTimes.length} grants: the events and the grants are not of one round`);
    granted.set(team, (granted.get(team) ?? 0) + 1);
    if (!first.has(team)) first.set(team, at);
  };
  const serveWaiting = () => {
    while (free > 0 && waiting.length > 0) {
      let best = 0;
      for (let i = 1; i < waiting.length; i++) if ((granted.get(waiting[i]!.team) ?? 0) < (granted.get(waiting[best]!.team) ?? 0)) best = i;
      const [claim] = waiting.splice(best, 1);
      free--;
      handOut(claim!.team);
    }
  };
  for (const event of [...events].sort((a, b) => a.seq - b.seq)) {
    if (event.kind === 'claim') waiting.push({ team: event.team, seq: event.seq });
    else free++;
    serveWaiting();
  }
  if (handOuts !== grantTimes.length) throw new Error(`the replay makes ${handOuts} hand-outs, the placement ${grantTimes.length}: the events and the grants are not of one round`);
  return first;
}

/** Start of each team's first job when `slots` are free from the start and every job holds one `jobMs`; a free slot takes the next arrival. */
export function idealFirstStarts(arrivals: readonly Arrival[], slots: number, jobMs: number, pick: 'round-robin' | 'fifo'): Map<string, number> {
  const free = Array.from({ length: slots }, () => Number.NEGATIVE_INFINITY);
  const waiting = [...arrivals].sort((a, b) => a.at - b.at);
  const started = new Map<string, number>();
  const first = new Map<string, number>();
  while (waiting.length > 0) {
    free.sort((a, b) => a - b);
    const t = Math.max(free[0]!, waiting[0]!.at);
    let best = 0;
    for (let i = 1; i < waiting.length && waiting[i]!.at <= t; i++) {
      if (pick === 'round-robin' && (started.get(waiting[i]!.team) ?? 0) < (started.get(waiting[best]!.team) ?? 0)) best = i;
    }
    const [job] = waiting.splice(best, 1);
    free[0] = t + jobMs;
    started.set(job!.team, (started.get(job!.team) ?? 0) + 1);
    if (!first.has(job!.team)) first.set(job!.team, t);
  }
  return first;
}
