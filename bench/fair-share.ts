/**
 * Benchmark fair-share (issue 26), fair-share placement: a season burst on one track of 3 stand-in hosts × 2 GPU slots. One team
 * ("flood") submits 20 at once, then 49 other teams submit one each, JOB_MS of GPU work per submission, on the
 * real dev server with the real placement workflow (workflows/placement.ts) and, in the same run, the same burst
 * under the order before fair share (the placement started with order 'fifo'). Each submission is the
 * placement benchmark's job workflow (bench/workflows/index.ts benchPlacedJob, now naming its team): claim a slot,
 * hold it for its work (an activity on the host's pinned GPU queue), hand it back.
 *
 * Figure: for each team its first wait (its first submission's client start call → the first of its jobs running
 * on a slot) ÷ its fair-share wait, max over teams. The fair-share wait is the ideal: the round's own slot
 * capacity handed out round robin over teams with no further overhead: every submission reaches the placement the
 * round's start latency L after its client start call (L = the first job's start − the burst, the flood's own
 * first wait: nothing starts before the platform started a submission), every job holds its slot for the round's
 * measured slot period H (per host: slots × (last job's end − first job's start) ÷ jobs run there, averaged: the
 * work plus the hand-over as this machine sustained it), a submission that finds a slot free takes it, and each
 * freed slot goes to the waiting team that has started the fewest jobs so far (ties: the earlier arrival), which is
 * what equal-weight fair share by GPU time comes to with equal jobs. So the figure measures the order the placement
 * serves, not the machine's speed; the zero-overhead ideal (L = 0, H = JOB_MS) is a row of its own. The flood team
 * is first in both (its ideal wait is L, its own): no ratio.
 */
import type { Client } from '@temporalio/client';
import { TASK_QUEUES } from '../temporal.config.js';
import { announceHost, createPlacementActivities, createPlacementAuditActivities } from '../activities/placement.js';
import { PLACEMENT_WORKFLOW_TYPE, placementWorkflowId, type TrackPlacementInput } from '../contract/placement.js';
import type { PlacementOrder } from '../domain/placement.js';
import { createBenchActivities, type PlacedJobRecord } from './activities.js';
import type { BenchPlacedJobInput } from './workflows/index.js';
import { BENCH_WORKFLOWS, fmt, freshPlacement, isMain, log, mainOf, mean, row, sleep, temporalForBenchmark, withWorkers, type BenchResult, type Row } from './support.js';

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
  arrivedAt: number;
}

/** Start of each team's first job in the ideal (rules in the header): every job `jobMs` long; a free slot takes the next arrival. */
export function idealFirstStarts(arrivals: readonly { team: string; at: number }[], slots: number, jobMs: number, pick: 'round-robin' | 'fifo'): Map<string, number> {
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

/** The slot period the round sustained: per host, slots × (last end − first start) ÷ jobs run there, averaged over hosts. */
function slotPeriod(placed: readonly Placed[]): number {
  const periods = HOSTS.map((host) => placed.filter((p) => p.hostId === host))
    .filter((jobs) => jobs.length > 0)
    .map((jobs) => (SLOTS * (Math.max(...jobs.map((j) => j.endAt)) - Math.min(...jobs.map((j) => j.startAt)))) / jobs.length);
  return mean(periods);
}

interface Round {
  label: string;
  /** team → first wait, ms */
  firstWait: Map<string, number>;
  /** team → first wait ÷ fair-share wait (every team but the flood) */
  ratio: Map<string, number>;
  /** the same against the zero-overhead ideal (S0 = 0, H = JOB_MS) */
  ratioZeroOverhead: Map<string, number>;
  idealWait: Map<string, number>;
  firstStartMs: number;
  slotPeriodMs: number;
  makespanMs: number;
}

async function round(client: Client, order: PlacementOrder, label: string, jobs: Job[]): Promise<Round> {
  log(`fair-share: ${jobs.length} submissions of ${new Set(jobs.map((j) => j.team)).size} teams, ${label}`);
  // Each round starts from an empty book, with its order (the hosts' announcements then signal the running placement).
  await freshPlacement(client, 'cpu');
  await client.workflow.start(PLACEMENT_WORKFLOW_TYPE, {
    workflowId: placementWorkflowId('cpu'),
    taskQueue: TASK_QUEUES.orchestrator,
    args: [{ track: 'cpu', order } satisfies TrackPlacementInput],
  });
  for (const hostId of HOSTS) await announceHost(client, 'cpu', hostId, SLOTS);
  const t0 = Date.now();
  const placed = await Promise.all(
    jobs.map(async (job): Promise<Placed> => {
      await sleep(Math.max(0, t0 + job.arrivalMs - Date.now()));
      const arrivedAt = Date.now();
      const record = (await client.workflow.execute('benchPlacedJob', {
        taskQueue: TASK_QUEUES.orchestrator,
        workflowId: `bench-fair-share-${process.pid}-${order}-${job.jobId}-${t0}`,
        args: [{ jobId: job.jobId, workMs: JOB_MS, claim: 'placement', team: job.team } satisfies BenchPlacedJobInput],
      })) as PlacedJobRecord;
      return { ...record, team: job.team, arrivedAt };
    }),
  );
  const teams = [...new Set(jobs.map((j) => j.team))];
  const firstArrival = new Map(teams.map((team) => [team, Math.min(...placed.filter((p) => p.team === team).map((p) => p.arrivedAt))]));
  const arrivals = placed.map((p) => ({ team: p.team, at: p.arrivedAt }));
  const firstStart = Math.min(...placed.map((p) => p.startAt));
  const period = slotPeriod(placed);
  const latency = firstStart - t0;
  const ideal = idealFirstStarts(
    arrivals.map((a) => ({ ...a, at: a.at + latency })),
    HOSTS.length * SLOTS,
    period,
    'round-robin',
  );
  const zeroOverhead = idealFirstStarts(arrivals, HOSTS.length * SLOTS, JOB_MS, 'round-robin');
  const firstWait = new Map<string, number>();
  const idealWait = new Map<string, number>();
  const ratio = new Map<string, number>();
  const ratioZeroOverhead = new Map<string, number>();
  for (const team of teams) {
    const arrived = firstArrival.get(team)!;
    const wait = Math.min(...placed.filter((p) => p.team === team).map((p) => p.startAt)) - arrived;
    firstWait.set(team, wait);
    idealWait.set(team, ideal.get(team)! - arrived);
    if (team === 'flood') continue;
    ratio.set(team, wait / (ideal.get(team)! - arrived));
    // A zero-overhead ideal may serve a team at once (wait 0): counted against 1 ms.
    ratioZeroOverhead.set(team, wait / Math.max(1, zeroOverhead.get(team)! - arrived));
  }
  log(`  ${label}: L ${fmt(latency)} ms, H ${fmt(period)} ms; first wait / fair-share wait per team: ${teams.map((t) => `${t} ${fmt(firstWait.get(t)!)}/${fmt(idealWait.get(t)!)}`).join(', ')}`);
  return { label, firstWait, ratio, ratioZeroOverhead, idealWait, firstStartMs: firstStart - t0, slotPeriodMs: period, makespanMs: Math.max(...placed.map((p) => p.endAt)) - t0 };
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
      row(`worst team's first wait ÷ its fair-share wait, ${fair.label}`, fairMax, '×', "ideal: fair-share wait (the round's slot capacity, round robin over teams)", 1, '×', {
        target: `≤ ${TARGET}`,
        pass: fairMax <= TARGET,
      }),
      row(`worst team's first wait ÷ its fair-share wait, ${fifo.label}`, fifoMax, '×', 'ideal: fair-share wait', 1, '×'),
      row('worst ratio, fair share against FIFO', fairMax, '×', 'FIFO in the same run', fifoMax, '×'),
      row(`mean first wait of the ${TEAMS - 1} one-submission teams, ${fair.label}`, mean(singles(fair)), 'ms', 'FIFO in the same run', mean(singles(fifo)), 'ms'),
      row(
        `worst first wait ÷ zero-overhead fair-share wait (L = 0, H = ${JOB_MS} ms), ${fair.label}`,
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
      `First wait: the team's first client start call → the first of its jobs running on a slot (it includes the workflow start, the claim, ` +
        `the grant and the GPU activity's dispatch). Fair-share wait: the ideal of the header, with the round's own start latency L and slot ` +
        `period H, the teams served round robin; the zero-overhead row uses L = 0, H = the work alone.`,
      ...[
        [fair, fairWorst],
        [fifo, fifoWorst],
      ].map(([r, team]) => {
        const round = r as Round;
        const name = team as string;
        return (
          `${round.label}: worst ${name} (first wait ${fmt(round.firstWait.get(name)!)} ms, fair-share wait ${fmt(round.idealWait.get(name)!)} ms); ` +
          `ratio over the ${round.ratio.size} one-submission teams p50 ${fmt([...round.ratio.values()].sort((a, b) => a - b)[Math.floor(round.ratio.size / 2)]!)}; ` +
          `start latency L ${fmt(round.firstStartMs)} ms (the flood's first wait ${fmt(round.firstWait.get('flood')!)} ms), ` +
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
