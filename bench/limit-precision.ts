/**
 * Benchmark 6, limit precision: one stage under runWithLimit (limit 1 s) whose activity heartbeats and runs
 * a child process (`sleep 30`, execa with cancelSignal); when the workflow's timer fires, the scope is
 * cancelled, the activity kills the child and returns. Measured: from the limit (stage start reported by
 * the activity + 1 s) to the child being gone, p50/p95 over 10 runs. Reference: the heartbeat throttle
 * interval (0.8 × heartbeatTimeout), since a cancellation reaches an activity only with the answer to a
 * heartbeat the worker sends. Also: the same activity stopping at its own copy of the deadline, which is
 * what activities/host.ts does.
 */
import { ACTIVITY_POLICY } from '../temporal.config.js';
import type { LimitedChildResult } from './activities.js';
import { createBenchActivities } from './activities.js';
import { BENCH_WORKFLOWS, fmt, isMain, log, mainOf, percentile, row, sleep, temporalForBenchmark, withWorkers, type BenchResult, type Row } from './support.js';
import type { Client } from '@temporalio/client';

const RUNS = Number(process.env.BENCH_LIMIT_RUNS ?? 10);
const LIMIT_MS = 1000;
const HEARTBEAT_EVERY_MS = 200;
const ORCH_QUEUE = 'bench-limit-orchestrator';
const HOST_QUEUE = 'bench-limit-host';

interface Variant {
  label: string;
  heartbeatTimeoutMs: number;
  selfDeadline: boolean;
}

interface Measured {
  variant: Variant;
  delays: number[];
  /** from the limit to the activity seeing the cancellation */
  cancelDelays: number[];
  /** from the stop to the child being gone */
  killMs: number[];
  childrenLeft: number;
  timersFired: number;
  reasons: string[];
}

let seq = 0;
async function runVariant(client: Client, variant: Variant): Promise<Measured> {
  log(`limit: ${RUNS} runs, ${variant.label}`);
  // Runs overlap (started 300 ms apart) to keep the benchmark short; each has its own workflow and activity.
  const runs = await Promise.all(
    Array.from({ length: RUNS }, async (_, i) => {
      await sleep(i * 300);
      return client.workflow.execute('benchLimit', {
        taskQueue: ORCH_QUEUE,
        workflowId: `bench-limit-${process.pid}-${seq++}`,
        args: [
          {
            queue: HOST_QUEUE,
            heartbeatTimeoutMs: variant.heartbeatTimeoutMs,
            limitMs: LIMIT_MS,
            selfDeadline: variant.selfDeadline,
            heartbeatEveryMs: HEARTBEAT_EVERY_MS,
          },
        ],
      }) as Promise<{ timerFired: boolean; result: LimitedChildResult | null; error: string | null }>;
    }),
  );
  const results = runs.map((r) => {
    if (!r.result) throw new Error(`a limited stage ended without a result: ${r.error}`);
    return r.result;
  });
  return {
    variant,
    delays: results.map((r) => r.goneAt - (r.at + LIMIT_MS)),
    cancelDelays: results.filter((r) => r.cancelAt !== null).map((r) => (r.cancelAt ?? 0) - (r.at + LIMIT_MS)),
    killMs: results.map((r) => r.goneAt - (r.stopAt ?? r.goneAt)),
    childrenLeft: results.filter((r) => r.childStillThere).length,
    timersFired: runs.filter((r) => r.timerFired).length,
    reasons: results.map((r) => r.reason),
  };
}

export async function runLimitPrecision(): Promise<BenchResult> {
  const started = performance.now();
  const temporal = await temporalForBenchmark();
  try {
    const activities = createBenchActivities();
    const variants: Variant[] = [
      {
        label: `cancellation only, heartbeatTimeout ${ACTIVITY_POLICY.heartbeatTimeoutMs / 1000} s (production)`,
        heartbeatTimeoutMs: ACTIVITY_POLICY.heartbeatTimeoutMs,
        selfDeadline: false,
      },
      { label: 'cancellation only, heartbeatTimeout 2 s', heartbeatTimeoutMs: 2000, selfDeadline: false },
      {
        label: `own deadline + cancellation (as activities/host.ts), heartbeatTimeout ${ACTIVITY_POLICY.heartbeatTimeoutMs / 1000} s`,
        heartbeatTimeoutMs: ACTIVITY_POLICY.heartbeatTimeoutMs,
        selfDeadline: true,
      },
    ];
    const measured = await withWorkers(
      temporal.address,
      [
        { taskQueue: ORCH_QUEUE, workflowsPath: BENCH_WORKFLOWS },
        { taskQueue: HOST_QUEUE, activities: { limitedChild: activities.limitedChild } },
      ],
      async (client) => {
        const out: Measured[] = [];
        for (const variant of variants) out.push(await runVariant(client, variant));
        return out;
      },
    );
    const rows: Row[] = [];
    const notes: string[] = [];
    for (const m of measured) {
      const throttle = 0.8 * m.variant.heartbeatTimeoutMs;
      for (const p of [50, 95]) {
        rows.push(
          row(
            `limit → child gone, p${p}, ${m.variant.label}`,
            percentile(m.delays, p),
            'ms',
            'heartbeat throttle interval 0.8 × heartbeatTimeout',
            throttle,
            'ms',
            {
              target: '≤ throttle interval',
              pass: percentile(m.delays, p) <= throttle && m.childrenLeft === 0,
            },
          ),
        );
      }
      notes.push(
        `${m.variant.label}: limit → activity saw the cancellation p50 ${fmt(percentile(m.cancelDelays, 50))} ms (${m.cancelDelays.length} of ${RUNS} runs saw one before stopping); stop → child gone p50 ${fmt(percentile(m.killMs, 50))} ms; ` +
          `endings ${[...new Set(m.reasons)].map((r) => `${r} ×${m.reasons.filter((x) => x === r).length}`).join(', ')}; timer fired in ${m.timersFired} of ${RUNS}; children left running: ${m.childrenLeft}. Delays: ${m.delays.map((d) => Math.round(d)).join(', ')} ms.`,
      );
    }
    notes.push(
      `Reading: with cancellation only, the delay is set by the heartbeat throttle, not by the timer: the worker sends the first heartbeat at once and the next one a throttle interval later, so a cancellation requested at the limit (1 s) reaches the activity only at ≈ 0.8 × heartbeatTimeout after the stage start (delay ≈ throttle − limit; with a limit longer than the throttle, anywhere up to one throttle interval). At the production heartbeatTimeout (${ACTIVITY_POLICY.heartbeatTimeoutMs / 1000} s) that is up to ${fmt(0.8 * ACTIVITY_POLICY.heartbeatTimeoutMs)} ms. An activity that also stops at its own copy of the deadline (fineTune and evaluate in activities/host.ts) stops within a few ms; buildImages has no such deadline and relies on the cancellation.`,
    );
    notes.unshift(
      `The activity heartbeats every ${HEARTBEAT_EVERY_MS} ms; the worker forwards a heartbeat to the server at most once per throttle interval (0.8 × heartbeatTimeout), and a cancellation reaches the activity only in the server's answer to one. The limit instant is the stage start the activity reported plus ${LIMIT_MS} ms (runWithLimit starts its timer when the start signal arrives, so the signal's latency is part of the delay). Children are execa('sleep', ['30']) with cancelSignal (SIGTERM); "gone" = the child's exit was observed and kill(pid, 0) fails.`,
    );
    return { id: 'limit', title: '6. Limit precision', rows, notes, wallMs: performance.now() - started };
  } finally {
    await temporal.stop();
  }
}

if (isMain(import.meta.url)) mainOf(runLimitPrecision);
