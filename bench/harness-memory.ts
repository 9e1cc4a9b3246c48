/**
 * Benchmark 5, harness memory: evaluateSuite with the SQLite answer store against the stub server (L small,
 * C large) for 100,000 instances, against the same for 1,000 instances, each in a fresh process. "Flat"
 * means the heap growth does not scale with the suite: the 100k/1k ratio must be far below 100×.
 *
 * Heap is sampled every 20 ms and every 1,000 answers; the live heap (after a full GC) is taken at two
 * moments inside evaluateSuite: at 98% of the answers (the request loop's structures alive) and inside its
 * final `store.all()` (the answers summarize() reads). Afterwards each suspected structure is measured by
 * itself, as bytes per instance.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { HARNESS_DEFAULTS } from '../temporal.config.js';
import { evaluateSuite, type AnswerStore, type InstanceAnswer } from '../domain/harness/evaluate.js';
import { ResultsDb } from '../infra/results-db.js';
import { fmt, gc, isMain, log, mainOf, maxRss, MB, row, runChild, sleep, startStubServer, syntheticSuite, type BenchResult, type Row } from './support.js';

const SMALL = 1_000;
const LARGE = Number(process.env.BENCH_MEMORY_INSTANCES ?? 100_000);
const L = 1;
const C = 64;

/** The Set in which Node 20 keeps one WeakRef per AbortSignal.any() that followed `signal`. */
function dependants(signal: AbortSignal): Set<unknown> | undefined {
  const key = Object.getOwnPropertySymbols(signal).find((s) => s.toString() === 'Symbol(kDependantSignals)');
  return key ? ((signal as unknown as Record<symbol, Set<unknown> | undefined>)[key] ?? undefined) : undefined;
}

const heap = (): number => process.memoryUsage().heapUsed;

/** Live heap held by what `make` returns (full GC before and after). */
function held<T>(make: () => T): { bytes: number; value: T } {
  gc();
  const before = heap();
  const value = make();
  gc();
  return { bytes: heap() - before, value };
}

async function measureOne(n: number): Promise<BenchResult> {
  const started = performance.now();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'challenge-bench-memory-'));
  const db = new ResultsDb(path.join(dir, 'results.sqlite'));
  const server = await startStubServer({ latencyMs: L, slots: C });
  try {
    const options = {
      baseUrl: server.url,
      concurrency: C,
      requestTimeoutMs: HARNESS_DEFAULTS.requestTimeoutMs,
      maxAttempts: HARNESS_DEFAULTS.maxAttempts,
      retryBackoffMs: HARNESS_DEFAULTS.retryBackoffMs,
    };
    await evaluateSuite({ ...options, suite: syntheticSuite(512), store: db.answerStore('warm-up', 'open'), signal: new AbortController().signal });
    const suite = syntheticSuite(n);
    const inner = db.answerStore('bench-memory', 'open');
    // Like the real evaluate activity: one long-lived stop signal for the whole run.
    const holder: { stop: AbortController | null } = { stop: new AbortController() };
    const stopSignal = (): AbortSignal => {
      if (!holder.stop) throw new Error('the stop signal was released');
      return holder.stop.signal;
    };
    let liveNearEnd = 0;
    let liveInFinalAll = 0;
    let dependantsNearEnd = 0;
    for (let i = 0; i < 5; i++) {
      await sleep(50);
      gc(); // lets the warm-up's finalizers run, so the baseline holds none of its garbage
    }
    const base = process.memoryUsage();
    const baseMaxRss = maxRss();
    let peakHeap = base.heapUsed;
    const sample = () => {
      peakHeap = Math.max(peakHeap, heap());
    };
    const store: AnswerStore = {
      answeredKeys: () => inner.answeredKeys(),
      save: (answer: InstanceAnswer) => inner.save(answer),
      all: () => inner.all(),
      // summarizeStore reads the tally once the requests are done: the live heap here is the run's end state.
      tally: () => {
        const tally = inner.tally();
        let stored = 0;
        for (const counted of tally.scenarios.values()) stored += counted.answered;
        if (stored === n) {
          sample();
          gc();
          liveInFinalAll = heap() - base.heapUsed;
        }
        return tally;
      },
      scores: (scenario) => inner.scores(scenario),
      each: () => inner.each(),
    };
    const sampler = setInterval(sample, 20);
    const t0 = performance.now();
    const summary = await evaluateSuite({
      ...options,
      suite,
      store,
      signal: stopSignal(),
      onProgress: ({ answered }) => {
        if (answered % 1000 === 0) sample();
        if (liveNearEnd === 0 && answered >= Math.floor(n * 0.98)) {
          sample();
          gc();
          liveNearEnd = heap() - base.heapUsed;
          dependantsNearEnd = dependants(stopSignal())?.size ?? 0;
        }
        if (answered % 10_000 === 0) log(`memory: ${n} instances: ${answered} answered`);
      },
    });
    const wallMs = performance.now() - t0;
    clearInterval(sampler);
    sample();
    if (summary.answered !== n || summary.failed !== 0) throw new Error(`answered ${summary.answered}/${n}, ${summary.failed} failed`);
    const peakRssGrowth = maxRss() - Math.max(baseMaxRss, base.rss);
    const peakRssAbsoluteGrowth = maxRss() - base.rss;
    gc();
    const retainedAfter = heap() - base.heapUsed;
    // FinalizationRegistry callbacks (AbortSignal.timeout's timer cleanup) only run in later turns.
    for (let i = 0; i < 5; i++) {
      await sleep(50);
      gc();
    }
    const retainedSettled = heap() - base.heapUsed;

    // Attribution, each structure by itself.
    const deps = dependants(stopSignal());
    const dependantCount = deps?.size ?? 0;
    gc();
    const withDeps = heap();
    deps?.clear();
    gc();
    const dependantBytes = withDeps - heap();
    // Drop the caller's signal: whatever is freed now was reachable only through it.
    const withSignal = heap();
    holder.stop = null;
    for (let i = 0; i < 3; i++) {
      await sleep(50);
      gc();
    }
    const freedWithSignal = withSignal - heap();
    const allRows = held(() => inner.all());
    const keys = held(() => inner.answeredKeys());
    const pending = held(() => suite.scenarios.flatMap((scenario) => scenario.instances.map((instance) => ({ scenario, instance }))));
    const summarized = held(() => {
      // what summarize() builds besides the answers: per-scenario answer lists and id sets
      const byScenario = new Map<string, InstanceAnswer[]>();
      for (const a of allRows.value) {
        const list = byScenario.get(a.scenario) ?? [];
        list.push(a);
        byScenario.set(a.scenario, list);
      }
      return { byScenario, ids: suite.scenarios.map((s) => new Set(s.instances.map((i) => i.id))) };
    });
    const suiteBytes = held(() => syntheticSuite(n)).bytes;
    void keys.value.size;
    void pending.value.length;
    void summarized.value;

    const data: Record<string, number> = {
      n,
      wallMs,
      perSecond: n / (wallMs / 1000),
      peakHeapGrowth: peakHeap - base.heapUsed,
      liveNearEnd,
      liveInFinalAll,
      retainedAfter,
      retainedSettled,
      peakRssGrowth,
      peakRssAbsoluteGrowth,
      dependantCount,
      dependantsNearEnd,
      dependantBytes,
      freedWithSignal,
      allRowsBytes: allRows.bytes,
      answeredKeysBytes: keys.bytes,
      pendingBytes: pending.bytes,
      summarizeBytes: summarized.bytes,
      suiteBytes,
      baseHeap: base.heapUsed,
      baseRss: base.rss,
    };
    log(
      `memory: ${n} instances in ${fmt(wallMs / 1000)} s: peak heap +${fmt(data.peakHeapGrowth! / MB)} MB, live at end +${fmt(liveInFinalAll / MB)} MB, peak RSS +${fmt(peakRssAbsoluteGrowth / MB)} MB`,
    );
    return { id: `memory-${n}`, title: `memory ${n}`, rows: [], notes: [], wallMs: performance.now() - started, data };
  } finally {
    await server.close();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * What one request's abort signals keep alive: `count` bare fetches against the stub with no signal, with
 * AbortSignal.timeout(60 s), and with postJson's AbortSignal.any([timeout, long-lived signal]); bytes per
 * request still live right after a full GC, and after FinalizationRegistry callbacks had their turns.
 */
async function measureSignals(count: number): Promise<BenchResult> {
  const started = performance.now();
  const server = await startStubServer({ latencyMs: L, slots: C });
  const settle = async () => {
    for (let i = 0; i < 5; i++) {
      await sleep(50);
      gc();
    }
  };
  try {
    const url = `${server.url}/process`;
    const body = JSON.stringify({ prompt: 'x' });
    const longLived = new AbortController();
    const variants: Record<string, () => AbortSignal | undefined> = {
      none: () => undefined,
      timeout: () => AbortSignal.timeout(HARNESS_DEFAULTS.requestTimeoutMs),
      any: () => AbortSignal.any([AbortSignal.timeout(HARNESS_DEFAULTS.requestTimeoutMs), longLived.signal]),
    };
    const data: Record<string, number> = {};
    for (const name of ['none', 'any', 'none', 'timeout', 'any']) {
      await settle();
      const before = heap();
      let next = 0;
      await Promise.all(
        Array.from({ length: 32 }, async () => {
          while (next++ < count) {
            const signal = variants[name]?.();
            const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, ...(signal ? { signal } : {}) });
            await response.text();
          }
        }),
      );
      gc();
      data[`${name}AfterGc`] = (heap() - before) / count; // a later round overwrites the warm-up round
      await settle();
      data[`${name}Settled`] = (heap() - before) / count;
    }
    return { id: 'memory-signals', title: 'signals', rows: [], notes: [], wallMs: performance.now() - started, data };
  } finally {
    await server.close();
  }
}

export async function runHarnessMemory(): Promise<BenchResult> {
  const started = performance.now();
  const small = (await runChild('harness-memory.js', ['--instances', String(SMALL)])).data ?? {};
  const large = (await runChild('harness-memory.js', ['--instances', String(LARGE)])).data ?? {};
  log("memory: what one request's abort signals keep alive (3,000 bare fetches per variant)");
  const signals = (await runChild('harness-memory.js', ['--signals', '3000'])).data ?? {};
  const get = (d: Record<string, number>, key: string): number => d[key] ?? Number.NaN;
  const ratio = (key: string) => get(large, key) / get(small, key);
  const flat = (key: string) => ratio(key) <= 10;
  const perInstance = (key: string) => get(large, key) / LARGE;
  const slope = (key: string) => (get(large, key) - get(small, key)) / (LARGE - SMALL);
  const k = LARGE / SMALL;
  const rows: Row[] = [
    row(
      `peak heap growth (sampled heapUsed), ${LARGE.toLocaleString('en-US')} instances`,
      get(large, 'peakHeapGrowth') / MB,
      'MB',
      `same, ${SMALL.toLocaleString('en-US')} instances`,
      get(small, 'peakHeapGrowth') / MB,
      'MB',
      { target: `≪ ${k}× (≤ 10×)`, pass: flat('peakHeapGrowth') },
    ),
    row(
      `live heap growth inside the final store.all() (after GC), ${LARGE.toLocaleString('en-US')}`,
      get(large, 'liveInFinalAll') / MB,
      'MB',
      `same, ${SMALL.toLocaleString('en-US')}`,
      get(small, 'liveInFinalAll') / MB,
      'MB',
      { target: `≪ ${k}× (≤ 10×)`, pass: flat('liveInFinalAll') },
    ),
    row(
      `live heap growth at 98% answered (after GC), ${LARGE.toLocaleString('en-US')}`,
      get(large, 'liveNearEnd') / MB,
      'MB',
      `same, ${SMALL.toLocaleString('en-US')}`,
      get(small, 'liveNearEnd') / MB,
      'MB',
      { target: `≪ ${k}× (≤ 10×)`, pass: flat('liveNearEnd') },
    ),
    row(
      `heap still held after evaluateSuite returned (after GC), ${LARGE.toLocaleString('en-US')}`,
      get(large, 'retainedAfter') / MB,
      'MB',
      `same, ${SMALL.toLocaleString('en-US')}`,
      get(small, 'retainedAfter') / MB,
      'MB',
      { target: `≪ ${k}× (≤ 10×)`, pass: flat('retainedAfter') },
    ),
    row(
      `peak RSS growth, ${LARGE.toLocaleString('en-US')}`,
      get(large, 'peakRssAbsoluteGrowth') / MB,
      'MB',
      `same, ${SMALL.toLocaleString('en-US')}`,
      get(small, 'peakRssAbsoluteGrowth') / MB,
      'MB',
      { target: `≪ ${k}× (≤ 10×)`, pass: flat('peakRssAbsoluteGrowth') },
    ),
    row(
      'live heap per extra instance, inside the final store.all()',
      slope('liveInFinalAll'),
      'B',
      'one persisted answer materialised by store.all()',
      perInstance('allRowsBytes'),
      'B',
    ),
    row(
      '  of which: answers from store.all() (summarize input)',
      perInstance('allRowsBytes'),
      'B',
      'the suite instance itself (input)',
      perInstance('suiteBytes'),
      'B',
    ),
    row(
      "  of which: summarize()'s per-scenario lists and id sets",
      perInstance('summarizeBytes'),
      'B',
      'the suite instance itself',
      perInstance('suiteBytes'),
      'B',
    ),
    row("  of which: evaluateSuite's `pending` WorkItem array", perInstance('pendingBytes'), 'B', 'the suite instance itself', perInstance('suiteBytes'), 'B'),
    row(
      '  of which: AbortSignal.any() WeakRefs left on the run signal (kept after return)',
      perInstance('dependantBytes'),
      'B',
      'the suite instance itself',
      perInstance('suiteBytes'),
      'B',
    ),
    row(
      `heap still held after return and finalizers (after GC), ${LARGE.toLocaleString('en-US')}`,
      get(large, 'retainedSettled') / MB,
      'MB',
      `same, ${SMALL.toLocaleString('en-US')}`,
      get(small, 'retainedSettled') / MB,
      'MB',
    ),
    row(
      'per request, live after a full GC: fetch with AbortSignal.timeout(60 s) (as postJson)',
      get(signals, 'timeoutAfterGc'),
      'B',
      'same fetch without a signal',
      get(signals, 'noneAfterGc'),
      'B',
      { ratio: null },
    ),
    row(
      '  same, once its FinalizationRegistry cleanup ran',
      get(signals, 'timeoutSettled'),
      'B',
      'same fetch without a signal',
      get(signals, 'noneSettled'),
      'B',
      { ratio: null },
    ),
    row(
      "per request, left for good: postJson's AbortSignal.any([timeout, long-lived signal]) after cleanup",
      get(signals, 'anySettled'),
      'B',
      'same fetch without a signal',
      get(signals, 'noneSettled'),
      'B',
      { ratio: null },
    ),
    row(
      'answeredKeys() Set (what a resumed run loads first)',
      perInstance('answeredKeysBytes'),
      'B',
      'the suite instance itself',
      perInstance('suiteBytes'),
      'B',
    ),
    row(
      `harness instances/s during the ${LARGE.toLocaleString('en-US')} run (SQLite)`,
      get(large, 'perSecond'),
      '/s',
      `stub capacity C/L (C=${C}, L=${L} ms)`,
      (C / L) * 1000,
      '/s',
    ),
  ];
  const mb = (d: Record<string, number>, key: string) => fmt(get(d, key) / MB);
  const notes = [
    `Each size runs in a fresh process (peak RSS = getrusage maxRSS − RSS at the baseline), after a 512-instance warm-up, with the SQLite ResultsDb answer store in a temp file and one long-lived stop signal passed as \`signal\`, as the evaluate activity does. Baseline = heap after full GCs (finalizers settled) with the suite already built (the suite is input: ${fmt(perInstance('suiteBytes'))} B/instance). ${LARGE.toLocaleString('en-US')} instances took ${fmt(get(large, 'wallMs') / 1000)} s.`,
    `Not flat: the live heap grows linearly with the suite, ${fmt(slope('liveInFinalAll'))} B per extra instance at the end of the run, ${fmt(slope('liveNearEnd'))} B while requests run, ${fmt(slope('retainedAfter'))} B still held after evaluateSuite returned; and the garbage between major GCs grows with the number of requests (peak heap +${mb(large, 'peakHeapGrowth')} MB, peak RSS +${mb(large, 'peakRssAbsoluteGrowth')} MB).`,
    `Which structure holds what (${LARGE.toLocaleString('en-US')} instances): ` +
      `(1) evaluateSuite ends with \`summarize(options.suite, options.store.all(), …)\` (domain/harness/evaluate.ts): ResultsDb.answerStore().all() (infra/results-db.ts) materialises every answer row as an InstanceAnswer, ${mb(large, 'allRowsBytes')} MB, and summarize() adds per-scenario answer lists and id Sets, ${mb(large, 'summarizeBytes')} MB; the start of every run calls all() too (\`failed = options.store.all().filter(…)\`) besides answeredKeys() (${mb(large, 'answeredKeysBytes')} MB of key strings), so a resumed run holds both up front. ` +
      `(2) the \`pending\` WorkItem array ({scenario, instance} per instance), built up front and alive for the whole run: ${mb(large, 'pendingBytes')} MB. ` +
      `(3) after evaluateSuite returned, ${mb(large, 'retainedSettled')} MB stay reachable; dropping the caller's signal frees ${fmt((get(large, 'freedWithSignal') + get(large, 'dependantBytes')) / MB)} MB of it (heap snapshot retainer path: signal → abort Listener → the arrow \`() => stop(toStopReason(…))\` that evaluateSuite adds with \`options.signal?.addEventListener('abort', …, { once: true })\` and never removes → evaluateSuite's closure context → \`pending\`, \`done\`, \`stopController\`). ` +
      `(4) postJson (domain/harness/contract.ts) combines \`AbortSignal.any([AbortSignal.timeout(requestTimeoutMs), signal])\` per request; Node ${process.versions.node} adds one WeakRef per call to every source signal's kDependantSignals Set and never prunes it (nodejs/node#55351): ${get(large, 'dependantCount')} entries on the caller's signal at the end (${mb(large, 'dependantBytes')} MB of Set entries; evaluateSuite's stopController signal holds the same WeakRefs). ` +
      `(5) the peak is garbage waiting for a major GC (peak heap +${mb(large, 'peakHeapGrowth')} MB against +${mb(large, 'liveNearEnd')} MB live at 98%): every request allocates fetch/undici web-stream objects, and postJson's AbortSignal.timeout(60 s) keeps ${fmt(get(signals, 'timeoutAfterGc'))} B per request reachable even after a full GC until its FinalizationRegistry cleanup has run (${fmt(get(signals, 'timeoutSettled'))} B after it), because its timer stays on the timer list for the full 60 s; objects that live that long are promoted to old space, which grows with the number of requests between major GCs. The peak therefore scales with run length, not with anything the harness keeps.`,
  ];
  return { id: 'memory', title: '5. Harness memory', rows, notes, wallMs: performance.now() - started };
}

if (isMain(import.meta.url)) {
  const index = process.argv.indexOf('--instances');
  const n = index === -1 ? null : Number(process.argv[index + 1]);
  const signalsIndex = process.argv.indexOf('--signals');
  mainOf(() => (signalsIndex !== -1 ? measureSignals(Number(process.argv[signalsIndex + 1])) : n === null ? runHarnessMemory() : measureOne(n)));
}
