/**
 * Benchmark fair-share (issue 26), fair-share placement: a season burst on one track of 3 stand-in hosts × 2 GPU slots. One team
 * ("flood") submits 20 at once, then 49 other teams submit one each, JOB_MS of GPU work per submission, on the
 * real dev server with the real placement workflow (workflows/placement.ts) and, in the same run, the same burst
 * under the order before fair share (the placement started with order 'fifo'). Each submission is the
 * placement benchmark's job workflow (bench/workflows/index.ts benchPlacedJob, now naming its team): claim a slot,
 * hold it for its work (an activity on the host's pinned GPU queue), hand it back.
 *
 * Figure: for each team its first wait (its first claim reaching the placement → the placement granting one of its
 * claims a slot, both read from the placement's own history, bench/placement-arrivals.ts) ÷ its fair-share wait, max
 * over teams. The fair-share wait is the wait in the ideal order over the same round (bench/fair-share-ideal.ts
 * idealOnHandOuts): the placement's own claims and releases replayed in its history order, a claim that finds a slot
 * free taking it and each released slot going to the waiting claim of the team granted the fewest slots so far
 * (ties: the earlier claim), each hand-out at the instant of the placement's own grant of the same rank, which is
 * what equal-weight fair share by GPU time comes to with equal jobs. Both sides share the machine's speed, so the figure measures the order the
 * placement serves: 1 when it serves the fair-share order, more for a team served later than that order would.
 * It is read at the placement, not from the clients' start calls, because starting 69 workflows at once on a small
 * machine delays and reorders their claims before the placement sees any, and dispatching a granted job's GPU
 * activity under that load is the machine's cost too. The end-to-end reading (client call → job running, against a
 * modelled ideal: slots free from the start, latency L = the first job's start − the burst, slot period H per host
 * as the round sustained it) is a row of its own, as is the same against a zero-overhead model (L = 0, H = the work).
 * The flood team is first in both (no ratio).
 */
import type { Client } from '@temporalio/client';
import { TASK_QUEUES } from '../temporal.config.js';
import { announceHost, createPlacementActivities, createPlacementAuditActivities } from '../activities/placement.js';
import { PLACEMENT_WORKFLOW_TYPE, placementWorkflowId, type TrackPlacementInput } from '../contract/placement.js';
import type { PlacementOrder } from '../domain/placement.js';
import { createBenchActivities, type PlacedJobRecord } from './activities.js';
import type { BenchPlacedJobInput } from './workflows/index.js';
import { placementTimeline, type PlacementEvent } from './placement-arrivals.js';
import { idealFirstStarts, idealOnHandOuts } from './fair-share-ideal.js';
import { BENCH_WORKFLOWS, fmt, freshPlacement, isMain, log, mainOf, mean, percentile, row, sleep, temporalForBenchmark, withWorkers, type BenchResult, type Row } from './support.js';

const HOSTS = ['host-a', 'host-b', 'host-c'] as const;
const SLOTS = 2;
const TEAMS = 50;
const FLOOD = 20;
/** GPU work of every submission (fixed, so the ideal is exact); BENCH_FAIR_SHARE_JOB_MS overrides it. */
const JOB_MS = Number(process.env.BENCH_FAIR_SHARE_JOB_MS ?? 1000);
/** The other teams start this long after the flood's 20, one every TEAM_SPACING_MS: the flood is first in line. */
const TEAMS_AFTER_MS = 50;
const TEAM_SPACING_MS = 10;
const TARGET = 1.2;

interface Job {
  team: string;
  jobId: string;
  arrivalMs: number;
}

function makeJobs(): Job[] {
  const jobs: Job[] = Array.from({ length: FLOOD }, (_, i) => ({ team: 'flood', jobId: `flood-${i}`, arrivalMs: 0 }));
  for (let t = 1; t < TEAMS; t++) jobs.push({ team: `team-${String(t).padStart(2, '0')}`, jobId: `team-${t}`, arrivalMs: TEAMS_AFTER_MS + (t - 1) * TEAM_SPACING_MS });
  return jobs;
}

interface Placed extends PlacedJobRecord {
  team: string;
  workflowId: string;
  /** the client's start call of the job's workflow, epoch ms */
  calledAt: number;
  /** the job's first claim reaching the placement, its grant and its release (server times in the placement's history), epoch ms */
  arrivedAt: number;
  grantedAt: number;
  releasedAt: number;
}

/** The slot period the round sustained: per host, slots × (last end − first start) ÷ jobs run there, averaged over hosts. */
function slotPeriod(placed: readonly Placed[]): number {
  const periods = HOSTS.map((host) => placed.filter((p) => p.hostId === host))
    .filter((jobs) => jobs.length > 0)
    .map((jobs) => (SLOTS * (Math.max(...jobs.map((j) => j.endAt)) - Math.min(...jobs.map((j) => j.startAt)))) / jobs.length);
  return mean(periods);
}

interface Round {
  label: string;
  /** team → first wait, ms: its first claim reaching the placement → the placement granting it a slot (the figure) */
  firstWait: Map<string, number>;
  /** team → first wait ÷ fair-share wait (every team but the flood) */
  ratio: Map<string, number>;
  /** end to end against the zero-overhead model (L = 0, a slot held for JOB_MS) */
  ratioZeroOverhead: Map<string, number>;
  idealWait: Map<string, number>;
  /** end to end: the team's first client start call → its first job running (workflow start-up and dispatch included) */
  fromClient: { firstWait: Map<string, number>; ratio: Map<string, number> };
  /** burst → the first and the last team's first claim at the placement, ms */
  firstArrivalMs: number;
  lastArrivalMs: number;
  /** claims that reached the placement in another order than their client start calls */
  reordered: number;
  /** G: the placement's reaction, claim → grant, median over the claims that found a slot free */
  reactionMs: number;
  /** a slot's hold in the placement's book, grant → release, mean */
  holdMs: number;
  firstStartMs: number;
  slotPeriodMs: number;
  makespanMs: number;
}

/** Per team: the wait from `arrivedAt` to `servedAt` of its first job, against its wait in `ideal` (team → its first job served there). */
function waitsAgainst(placed: readonly Placed[], arrivedAt: (p: Placed) => number, servedAt: (p: Placed) => number, ideal: Map<string, number>) {
  const teams = [...new Set(placed.map((p) => p.team))];
  const firstWait = new Map<string, number>();
  const idealWait = new Map<string, number>();
  const ratio = new Map<string, number>();
  for (const team of teams) {
    const jobs = placed.filter((p) => p.team === team);
    const arrived = Math.min(...jobs.map(arrivedAt));
    const wait = Math.min(...jobs.map(servedAt)) - arrived;
    firstWait.set(team, wait);
    idealWait.set(team, ideal.get(team)! - arrived);
    // An ideal that serves a team at once is counted against 1 ms.
    if (team !== 'flood') ratio.set(team, wait / Math.max(1, ideal.get(team)! - arrived));
  }
  return { firstWait, idealWait, ratio };
}

async function round(client: Client, order: PlacementOrder, label: string, jobs: Job[]): Promise<Round> {
  log(`fair-share: ${jobs.length} submissions of ${new Set(jobs.map((j) => j.team)).size} teams, ${label}`);
  // Each round starts from an empty book, with its order (the hosts' announcements then signal the running placement).
  await freshPlacement(client, 'cpu');
  const placement = await client.workflow.start(PLACEMENT_WORKFLOW_TYPE, {
    workflowId: placementWorkflowId('cpu'),
    taskQueue: TASK_QUEUES.orchestrator,
    args: [{ track: 'cpu', order } satisfies TrackPlacementInput],
  });
  for (const hostId of HOSTS) await announceHost(client, 'cpu', hostId, SLOTS);
  const t0 = Date.now();
  const started = await Promise.all(
    jobs.map(async (job) => {
      await sleep(Math.max(0, t0 + job.arrivalMs - Date.now()));
      const calledAt = Date.now();
      const workflowId = `bench-fair-share-${process.pid}-${order}-${job.jobId}-${t0}`;
      const record = (await client.workflow.execute('benchPlacedJob', {
        taskQueue: TASK_QUEUES.orchestrator,
        workflowId,
        args: [{ jobId: job.jobId, workMs: JOB_MS, claim: 'placement', team: job.team } satisfies BenchPlacedJobInput],
      })) as PlacedJobRecord;
      return { ...record, team: job.team, calledAt, workflowId };
    }),
  );
  // Each job's first claim, its grant and its release as the placement saw them (server times in its history).
  const timeline = await placementTimeline(client, 'cpu', placement.firstExecutionRunId);
  const firstOf = (events: PlacementEvent[]) => new Map(events.filter((e) => e.claim === 1 || e.claim === null).reverse().map((e) => [e.workflowId, e]));
  const [claims, grants, releases] = [firstOf(timeline.claims), firstOf(timeline.grants), firstOf(timeline.releases)];
  const placed: Placed[] = started.map((job) => {
    const [claim, grant, release] = [claims, grants, releases].map((events) => events.get(job.workflowId));
    if (!claim || !grant || !release) throw new Error(`fair-share: the placement's history lacks the claim, grant or release of ${job.workflowId}`);
    return { ...job, arrivedAt: claim.at, grantedAt: grant.at, releasedAt: release.at };
  });
  const teamOf = new Map(placed.map((p) => [p.workflowId, p.team]));
  const byCall = [...placed].sort((a, b) => a.calledAt - b.calledAt);
  const reordered = byCall.filter((p, i) => i > 0 && p.arrivedAt < byCall[i - 1]!.arrivedAt).length;
  // G: claims granted before the first slot came back found a slot free: claim → grant is the placement's reaction alone.
  const firstRelease = Math.min(...placed.map((p) => p.releasedAt));
  const reaction = percentile(placed.filter((p) => p.grantedAt < firstRelease).map((p) => p.grantedAt - p.arrivedAt), 50);
  const hold = mean(placed.map((p) => p.releasedAt - p.grantedAt));
  // The figure: the placement's real hand-outs, in the order fair share would have given them.
  // Every claim and release of the round in the placement's history order, and its grants' instants in that order.
  const handled = [
    ...timeline.claims.map((c) => ({ kind: 'claim' as const, team: teamOf.get(c.workflowId) ?? 'unknown', seq: c.seq })),
    ...timeline.releases.map((r) => ({ kind: 'release' as const, seq: r.seq })),
  ];
  const grantTimes = [...timeline.grants].sort((a, b) => a.seq - b.seq).map((g) => g.at);
  const atPlacement = waitsAgainst(placed, (p) => p.arrivedAt, (p) => p.grantedAt, idealOnHandOuts(handled, HOSTS.length * SLOTS, grantTimes));
  // End to end, as an operator's clock would see it: client call → running, against the modelled ideal (latency L = the first job's start − the burst, slot period H).
  const firstStart = Math.min(...placed.map((p) => p.startAt));
  const period = slotPeriod(placed);
  const modelled = idealFirstStarts(
    placed.map((p) => ({ team: p.team, at: p.calledAt + firstStart - t0 })),
    HOSTS.length * SLOTS,
    period,
    'round-robin',
  );
  const fromCall = waitsAgainst(placed, (p) => p.calledAt, (p) => p.startAt, modelled);
  const zeroOverhead = waitsAgainst(placed, (p) => p.calledAt, (p) => p.startAt, idealFirstStarts(placed.map((p) => ({ team: p.team, at: p.calledAt })), HOSTS.length * SLOTS, JOB_MS, 'round-robin'));
  const teams = [...atPlacement.firstWait.keys()];
  const teamArrivals = teams.map((team) => Math.min(...placed.filter((p) => p.team === team).map((p) => p.arrivedAt)) - t0);
  log(
    `  ${label}: G ${fmt(reaction)} ms, hold ${fmt(hold)} ms, claims at the placement ${fmt(Math.min(...teamArrivals))}–${fmt(Math.max(...teamArrivals))} ms ` +
      `after the burst (${reordered} out of call order); first wait / fair-share wait per team: ` +
      teams.map((t) => `${t} ${fmt(atPlacement.firstWait.get(t)!)}/${fmt(atPlacement.idealWait.get(t)!)}`).join(', '),
  );
  return {
    label,
    ...atPlacement,
    ratioZeroOverhead: zeroOverhead.ratio,
    fromClient: { firstWait: fromCall.firstWait, ratio: fromCall.ratio },
    firstArrivalMs: Math.min(...teamArrivals),
    lastArrivalMs: Math.max(...teamArrivals),
    reordered,
    reactionMs: reaction,
    holdMs: hold,
    firstStartMs: firstStart - t0,
    slotPeriodMs: period,
    makespanMs: Math.max(...placed.map((p) => p.endAt)) - t0,
  };
}

const worst = (ratios: Map<string, number>): [string, number] => [...ratios].reduce((a, b) => (b[1] > a[1] ? b : a));

export async function runFairShare(): Promise<BenchResult> {
  const started = performance.now();
  const temporal = await temporalForBenchmark();
  try {
    const activities = createBenchActivities();
    const hostWorkers = HOSTS.map((hostId) => ({ taskQueue: TASK_QUEUES.hostGpu('cpu', hostId), activities: { gpuWork: activities.gpuWork }, maxConcurrentActivityTaskExecutions: SLOTS }));
    const jobs = makeJobs();
    const { fair, fifo } = await withWorkers(
      temporal.address,
      [{ taskQueue: TASK_QUEUES.orchestrator, workflowsPath: BENCH_WORKFLOWS, activities: { ...createPlacementActivities(), ...createPlacementAuditActivities() } }, ...hostWorkers],
      async (client) => {
        const warmUp = jobs.slice(FLOOD - 3, FLOOD + 6).map((j) => ({ ...j, arrivalMs: 0 }));
        await round(client, 'fair-share', 'warm-up', warmUp);
        const fairRound = await round(client, 'fair-share', 'fair-share placement (now)', jobs);
        const fifoRound = await round(client, 'fifo', 'first come, first served (before)', jobs);
        await freshPlacement(client, 'cpu');
        return { fair: fairRound, fifo: fifoRound };
      },
    );
    const [fairWorst, fairMax] = worst(fair.ratio);
    const [fifoWorst, fifoMax] = worst(fifo.ratio);
    const singles = (r: Round) => [...r.firstWait].filter(([team]) => team !== 'flood').map(([, wait]) => wait);
    const rows: Row[] = [
      row(`worst team's first wait ÷ its fair-share wait, ${fair.label}`, fairMax, '×', "ideal: fair-share wait (the placement's own claims and releases replayed in the fair-share order)", 1, '×', {
        target: `≤ ${TARGET}`,
        pass: fairMax <= TARGET,
      }),
      row(`worst team's first wait ÷ its fair-share wait, ${fifo.label}`, fifoMax, '×', 'ideal: fair-share wait', 1, '×'),
      row('worst ratio, fair share against FIFO', fairMax, '×', 'FIFO in the same run', fifoMax, '×'),
      row(
        `end to end: worst team's first wait from its client start call to its job running ÷ the same ideal (start-up and dispatch under the burst included), ${fair.label}`,
        worst(fair.fromClient.ratio)[1],
        '×',
        'FIFO in the same run, same reading',
        worst(fifo.fromClient.ratio)[1],
        '×',
      ),
      row(`mean first wait of the ${TEAMS - 1} one-submission teams, ${fair.label}`, mean(singles(fair)), 'ms', 'FIFO in the same run', mean(singles(fifo)), 'ms'),
      row(
        `end to end against a zero-overhead model (L = 0, a slot held for the work alone, ${JOB_MS} ms), worst team, ${fair.label}`,
        worst(fair.ratioZeroOverhead)[1],
        '×',
        'FIFO in the same run',
        worst(fifo.ratioZeroOverhead)[1],
        '×',
      ),
      row(`slot period H (work ${JOB_MS} ms + hand-over), ${fair.label}`, fair.slotPeriodMs, 'ms', 'FIFO in the same run', fifo.slotPeriodMs, 'ms'),
      row(`makespan (burst → last job's end), ${fair.label}`, fair.makespanMs, 'ms', 'FIFO in the same run', fifo.makespanMs, 'ms'),
    ];
    const notes = [
      `One workflow worker (the bench workflows and the real trackPlacement with its local activities) and per host a GPU activity worker on its ` +
        `pinned queue (maxConcurrentActivityTaskExecutions = ${SLOTS}), in process, on the project's dev server. ${TEAMS} teams: "flood" starts ` +
        `${FLOOD} submissions at once, then ${TEAMS - 1} teams one each, ${TEAMS_AFTER_MS} ms later and ${TEAM_SPACING_MS} ms apart; every job holds ` +
        `its slot for ${JOB_MS} ms of work; ${HOSTS.length} hosts × ${SLOTS} slots. Both rounds run the same burst in the same process, each on a ` +
        `fresh placement (fair share first, then the placement started with order 'fifo').`,
      `First wait: the team's first claim reaching the placement → the placement granting one of its claims a slot, both read from the ` +
        `placement's history (bench/placement-arrivals.ts). Fair-share wait: the same round's real hand-outs, at their instants, given in the ` +
        `fair-share order: the placement's claims and releases replayed in its history order (bench/fair-share-ideal.ts idealOnHandOuts). ` +
        `The end-to-end rows read from each team's first client start call to its ` +
        `first job running, against a modelled ideal (latency L = the first job's start − the burst, slot period H per host; or L = 0 and the ` +
        `work alone): they add how long this machine took to start ${jobs.length} workflows at once (which reorders the claims before the ` +
        `placement sees any) and to dispatch the GPU activities, costs of the machine and not of the order served.`,
      ...[
        [fair, fairWorst],
        [fifo, fifoWorst],
      ].map(([r, team]) => {
        const round = r as Round;
        const name = team as string;
        return (
          `${round.label}: worst ${name} (first wait ${fmt(round.firstWait.get(name)!)} ms, fair-share wait ${fmt(round.idealWait.get(name)!)} ms); ` +
          `ratio over the ${round.ratio.size} one-submission teams p50 ${fmt([...round.ratio.values()].sort((a, b) => a - b)[Math.floor(round.ratio.size / 2)]!)}; ` +
          `teams' first claims reached the placement ${fmt(round.firstArrivalMs)}–${fmt(round.lastArrivalMs)} ms after the burst, ` +
          `${round.reordered} out of their call order; reaction G ${fmt(round.reactionMs)} ms, slot hold ${fmt(round.holdMs)} ms; end to end ` +
          `the worst ratio is ${fmt(worst(round.fromClient.ratio)[1])} (first job running ${fmt(round.firstStartMs)} ms after the burst); ` +
          `slot period H ${fmt(round.slotPeriodMs)} ms, makespan ${fmt(round.makespanMs)} ms.`
        );
      }),
    ];
    return { id: 'fair-share', title: 'Fair-share placement: a season burst', rows, notes, wallMs: performance.now() - started };
  } finally {
    await temporal.stop();
  }
}

if (isMain(import.meta.url)) mainOf(runFairShare);
