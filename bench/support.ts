/**
 * Shared helpers of the benchmarks: result rows and their printing, child processes (one per benchmark, so
 * CPU time and peak RSS belong to that benchmark alone), a Temporal dev server on free ports, a seeded RNG,
 * statistics, garbage collection, the stub contract server (a worker thread) and synthetic suites.
 */
import { fork, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Worker } from 'node:worker_threads';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker as TemporalWorker, type WorkerOptions } from '@temporalio/worker';
import { ensureDevServer, freePort, stopDevServer, temporalBinary, type DevServerOptions } from '../infra/dev-server.js';
import type { MultipleChoiceScenario, Suite } from '../domain/harness/suite.js';
import { placementWorkflowId } from '../contract/placement.js';
import type { TrackId } from '../temporal.config.js';

// ---------------------------------------------------------------------------------------------
// Results
// ---------------------------------------------------------------------------------------------

/** One measured figure, next to the reference it is judged against (measured in the same run). */
export interface Row {
  figure: string;
  value: number;
  unit: string;
  /** what the figure is compared with; measured in the same run unless it says "config" */
  reference: string;
  referenceValue: number | null;
  referenceUnit: string;
  /** value / referenceValue unless the row says otherwise; null when there is none (see ratioNote) */
  ratio: number | null;
  /** why a row with a reference has no ratio (a reference at or below zero: a ratio over it would mislead) */
  ratioNote?: string | null;
  target: string | null;
  pass: boolean | null;
}

export interface BenchResult {
  id: string;
  title: string;
  rows: Row[];
  /** how the figures were obtained, and the measured cause of every missed target */
  notes: string[];
  wallMs: number;
  /** raw figures a parent benchmark combines (child processes of one benchmark) */
  data?: Record<string, number>;
}

export function row(
  figure: string,
  value: number,
  unit: string,
  reference: string,
  referenceValue: number | null,
  referenceUnit = unit,
  extra: { ratio?: number | null; target?: string; pass?: boolean } = {},
): Row {
  const { ratio, ratioNote } = ratioOf(value, referenceValue, extra.ratio);
  return { figure, value, unit, reference, referenceValue, referenceUnit, ratio, ratioNote, target: extra.target ?? null, pass: extra.pass ?? null };
}

/**
 * measured ÷ reference, or n/a with the reason when the reference is at or below zero (a growth that came out
 * negative, a reference of nothing): such a ratio changes sign or explodes and would read as met or missed.
 */
export function ratioOf(value: number, referenceValue: number | null, given?: number | null): { ratio: number | null; ratioNote: string | null } {
  if (given !== undefined) return { ratio: given, ratioNote: null };
  if (referenceValue === null || !Number.isFinite(referenceValue)) return { ratio: null, ratioNote: null };
  if (referenceValue <= 0) return { ratio: null, ratioNote: `n/a: the reference is ${fmt(referenceValue)} (at or below zero)` };
  return { ratio: value / referenceValue, ratioNote: null };
}

/** The ratio column: the ratio, its n/a reason, or a dash. */
export function ratioText(r: Pick<Row, 'ratio' | 'ratioNote'>): string {
  if (r.ratio !== null) return fmt(r.ratio);
  return r.ratioNote ?? '–';
}

const RESULT_MARK = 'BENCH_RESULT ';

/** A benchmark process hands its result to the driver on one stdout line. */
export function emitResult(result: BenchResult): void {
  process.stdout.write(`${RESULT_MARK}${JSON.stringify(result)}\n`);
}

export function log(message: string): void {
  const t = new Date().toISOString().slice(11, 19);
  process.stderr.write(`[${t}] ${message}\n`);
}

/** Human formatting: 3 significant digits, thousands kept whole. */
export function fmt(value: number | null, unit = ''): string {
  if (value === null || !Number.isFinite(value)) return value === null ? '–' : String(value);
  const abs = Math.abs(value);
  const text =
    abs >= 1000
      ? Math.round(value).toLocaleString('en-US')
      : abs >= 100
        ? value.toFixed(0)
        : abs >= 10
          ? value.toFixed(1)
          : abs >= 1
            ? value.toFixed(2)
            : abs === 0
              ? '0'
              : value.toPrecision(3);
  return unit ? `${text} ${unit}` : text;
}

export function printRows(result: BenchResult): void {
  for (const r of result.rows) {
    const verdict = r.pass === null ? '' : r.pass ? '  OK' : '  MISSED';
    const ref = r.referenceValue === null ? r.reference : `${r.reference} = ${fmt(r.referenceValue, r.referenceUnit)}`;
    const ratio = r.ratio === null && !r.ratioNote ? '' : `  ratio ${ratioText(r)}`;
    process.stdout.write(`  ${r.figure}: ${fmt(r.value, r.unit)}  | ref: ${ref}${ratio}${r.target ? `  target ${r.target}` : ''}${verdict}\n`);
  }
}

// ---------------------------------------------------------------------------------------------
// Child processes: every benchmark runs in its own node process (with --expose-gc).
// ---------------------------------------------------------------------------------------------

export const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));

export async function runChild(script: string, args: string[] = [], env: Record<string, string> = {}, timeoutMs = 300_000): Promise<BenchResult> {
  const file = path.join(BENCH_DIR, script);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', file, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
    let result: BenchResult | null = null;
    let buffered = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      let newline: number;
      while ((newline = buffered.indexOf('\n')) !== -1) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        if (line.startsWith(RESULT_MARK)) result = JSON.parse(line.slice(RESULT_MARK.length)) as BenchResult;
        else process.stderr.write(`${line}\n`);
      }
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (result) resolve(result);
      else reject(new Error(`${script} ${args.join(' ')} ended (code ${code}, signal ${signal}) without a result`));
    });
  });
}

/** True when this module is the process entry point. */
export const isMain = (metaUrl: string): boolean => process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(metaUrl);

/** Runs a benchmark as a process: its result goes to stdout for the driver; failures exit 1. */
export function mainOf(run: () => Promise<BenchResult>): void {
  run().then(
    (result) => {
      emitResult(result);
      process.exit(0);
    },
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}

// ---------------------------------------------------------------------------------------------
// Memory
// ---------------------------------------------------------------------------------------------

let gcFn: (() => void) | null = null;
/** A full garbage collection (works without --expose-gc too). */
export function gc(): void {
  if (!gcFn) {
    const g = (globalThis as { gc?: () => void }).gc;
    if (g) gcFn = g;
    else {
      setFlagsFromString('--expose-gc');
      gcFn = runInNewContext('gc') as () => void;
    }
  }
  gcFn();
  gcFn();
}

export const MB = 1024 * 1024;

/** Peak resident set size of this process so far, in bytes. */
export const maxRss = (): number => process.resourceUsage().maxRSS * 1024;

// ---------------------------------------------------------------------------------------------
// Statistics and randomness
// ---------------------------------------------------------------------------------------------

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  const a = sorted[lo] ?? Number.NaN;
  const b = sorted[hi] ?? Number.NaN;
  return a + (b - a) * (rank - lo);
}

export const mean = (values: readonly number[]): number => values.reduce((s, v) => s + v, 0) / values.length;

export { mulberry32 as seededRandom } from '../domain/random.js';

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// Temporal dev server (the project's own binary, temporary SQLite file, free ports)
// ---------------------------------------------------------------------------------------------

export { freePort };

export interface BenchTemporal {
  address: string;
  /** the dev server's process id (null when unknown) */
  pid: number | null;
  stop: () => Promise<void>;
}

/** CPU time (user + system) a process has used so far, ms; null where /proc cannot tell. */
export function processCpuMs(pid: number | null): number | null {
  if (pid === null) return null;
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    const ticks = Number(fields[11]) + Number(fields[12]);
    return Number.isFinite(ticks) ? ticks * 10 : null; // USER_HZ = 100
  } catch {
    return null;
  }
}

/** The server's own default of task-queue partitions (4 read, 4 write); the project's dev server sets 1. */
export const SERVER_DEFAULT_PARTITIONS = 4;

export type ServerKind = 'project' | 'default-partitions';

/**
 * Starts a dev server for the benchmarks; stop() ends it and removes its files. `project`: exactly as the
 * project starts it (ensureDevServer, infra/dev-server.ts). `default-partitions`: the same, with the server's
 * default number of task-queue partitions instead of the project's one, as a reference.
 */
export async function startTemporal(kind: ServerKind = 'project'): Promise<BenchTemporal> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'challenge-bench-'));
  const options: DevServerOptions = {
    port: await freePort(),
    uiPort: await freePort(),
    dbFile: path.join(dir, 'temporal.sqlite'),
    logFile: path.join(dir, 'temporal.log'),
    binary: temporalBinary(),
    startTimeoutMs: 120_000,
    ...(kind === 'default-partitions' ? { taskQueuePartitions: SERVER_DEFAULT_PARTITIONS } : {}),
  };
  const { started, pid } = await ensureDevServer(options);
  if (!started) throw new Error(`port ${options.port} already answered; the benchmark needs a server of its own`);
  return {
    address: `127.0.0.1:${options.port}`,
    pid,
    stop: async () => {
      await stopDevServer(options);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const ADDRESS_ENV: Record<ServerKind, string> = { project: 'BENCH_TEMPORAL', 'default-partitions': 'BENCH_TEMPORAL_4P' };

/** Environment that hands a started server to a benchmark process. */
export const temporalEnv = (kind: ServerKind, server: BenchTemporal): Record<string, string> => ({
  [`${ADDRESS_ENV[kind]}_ADDRESS`]: server.address,
  [`${ADDRESS_ENV[kind]}_PID`]: String(server.pid ?? ''),
});

/** The server the driver started (see temporalEnv), or one of our own when a benchmark runs alone. */
export async function temporalForBenchmark(kind: ServerKind = 'project'): Promise<BenchTemporal> {
  const address = process.env[`${ADDRESS_ENV[kind]}_ADDRESS`];
  if (address) return { address, pid: Number(process.env[`${ADDRESS_ENV[kind]}_PID`]) || null, stop: async () => undefined };
  log(`starting a Temporal dev server (${kind}) for this benchmark`);
  return startTemporal(kind);
}

// ---------------------------------------------------------------------------------------------
// The stub contract server: node:http in a worker thread of this process, C slots, service time L.
// ---------------------------------------------------------------------------------------------

export interface StubOptions {
  /** service time per request, ms */
  latencyMs: number;
  /** parallel slots; requests beyond them queue */
  slots: number;
  /**
   * Where the stub runs: a worker thread of this process (default: its CPU does not share the harness's event loop),
   * or a child process (its memory is not this process's either: the memory benchmark measures this process's RSS).
   */
  isolation?: 'thread' | 'process';
}

export interface StubStats {
  requests: number;
  /** most requests in service at once (≤ slots) */
  maxInService: number;
  /** most requests waiting for a slot at once */
  maxQueued: number;
  /** mean time a request held its slot (timer precision makes it a little more than L), ms */
  meanHoldMs: number;
  /** the stub thread's event-loop busy time since the last reset, ms */
  busyMs: number;
}

export interface StubServer {
  url: string;
  stats: () => Promise<StubStats>;
  reset: () => Promise<void>;
  close: () => Promise<void>;
}

export async function startStubServer(options: StubOptions): Promise<StubServer> {
  const entry = new URL('./stub-server.js', import.meta.url);
  // Both a worker thread and a child process are event emitters of 'message'; only the way to send differs.
  let events: NodeJS.EventEmitter;
  let send: (message: { type: string }) => void;
  let end: () => Promise<void>;
  if (options.isolation === 'process') {
    const child = fork(fileURLToPath(entry), [], { env: { ...process.env, STUB_OPTIONS: JSON.stringify(options) }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    events = child;
    send = (message) => child.send(message);
    end = async () => {
      if (child.exitCode === null && child.signalCode === null) await new Promise<void>((resolve) => child.once('exit', () => resolve()));
    };
  } else {
    const worker = new Worker(entry, { workerData: options });
    events = worker;
    send = (message) => worker.postMessage(message);
    end = async () => void (await worker.terminate());
  }
  const request = <T>(type: string): Promise<T> =>
    new Promise((resolve) => {
      const onMessage = (message: { type: string; payload: T }) => {
        if (message.type !== type) return;
        events.off('message', onMessage);
        resolve(message.payload);
      };
      events.on('message', onMessage);
      send({ type });
    });
  const port = await request<number>('port');
  return {
    url: `http://127.0.0.1:${port}`,
    stats: () => request<StubStats>('stats'),
    reset: () => request<null>('reset').then(() => undefined),
    close: async () => {
      await request<null>('close');
      await end();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Synthetic multiple-choice suites
// ---------------------------------------------------------------------------------------------

const WORDS = ['river', 'mountain', 'copper', 'violin', 'harbor', 'lantern', 'meadow', 'glacier', 'orchard', 'compass', 'falcon', 'quartz'];

/** `instances` multiple-choice instances over `scenarios` scenarios, each with two in-context examples. */
export function syntheticSuite(instances: number, scenarios = 4): Suite {
  const word = (i: number) => WORDS[i % WORDS.length] ?? 'word';
  const list: MultipleChoiceScenario[] = [];
  for (let s = 0; s < scenarios; s++) {
    const count = Math.floor(instances / scenarios) + (s < instances % scenarios ? 1 : 0);
    const mk = (id: string, i: number) => ({
      id,
      question: `Which word is associated with item ${i} of scenario ${s}, the ${word(i)} one?`,
      choices: [word(i), word(i + 1), word(i + 2), word(i + 3)],
      answer: 0,
    });
    list.push({
      name: `bench-${s}`,
      title: `Bench scenario ${s}`,
      kind: 'multiple_choice',
      metric: 'exact_match',
      instructions: 'The following are multiple choice questions (with answers).',
      inContext: [mk('ctx-0', 1), mk('ctx-1', 2)],
      instances: Array.from({ length: count }, (_, i) => mk(`i${i}`, i)),
    });
  }
  return { schemaVersion: 1, name: `bench-${instances}`, kind: 'open', version: '1', description: 'synthetic benchmark suite', scenarios: list };
}

// ---------------------------------------------------------------------------------------------
// In-process Temporal workers
// ---------------------------------------------------------------------------------------------

let runtimeInstalled = false;

/** The bench workflows' bundle entry point (compiled next to this file). */
export const BENCH_WORKFLOWS = fileURLToPath(new URL('./workflows/index.js', import.meta.url));

/**
 * Creates the workers on one native connection, runs `body` with a client while they poll, then shuts
 * them down (Worker.runUntil) and closes the connections.
 */
export async function withWorkers<T>(address: string, workers: Omit<WorkerOptions, 'connection'>[], body: (client: Client) => Promise<T>): Promise<T> {
  if (!runtimeInstalled) {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
    runtimeInstalled = true;
  }
  const connection = await NativeConnection.connect({ address });
  const clientConnection = await Connection.connect({ address });
  try {
    const client = new Client({ connection: clientConnection, namespace: 'default' });
    const created = await Promise.all(workers.map((options) => TemporalWorker.create({ ...options, connection })));
    const work = body(client);
    const results = await Promise.all(created.map((worker) => worker.runUntil(work)));
    return results[0] as T;
  } finally {
    await clientConnection.close();
    await connection.close();
  }
}

/**
 * Ends the track's placement workflow if one is running. Benchmarks share one dev server, and the slot book of
 * an earlier benchmark still lists its hosts (whose queues nobody polls any more): a later benchmark's claims
 * would be granted slots there and wait for ever. Each benchmark that uses placement starts from an empty book.
 */
export async function freshPlacement(client: Client, track: TrackId): Promise<void> {
  try {
    await client.workflow.getHandle(placementWorkflowId(track)).terminate('benchmark: start from an empty slot book');
  } catch (error) {
    if (!(error instanceof WorkflowNotFoundError)) throw error;
  }
}
