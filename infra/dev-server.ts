/**
 * The embedded Temporal dev server (the `temporal` CLI built from Go modules), started on demand with a
 * SQLite file so a restart loses nothing, the project's search attributes registered and the Web UI on.
 * Reused when one already answers on the port.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { SEARCH_ATTRIBUTES } from '../contract/search-attributes.js';
import { readEnvironment, type EnvSource } from './environment.js';

/** The temporal CLI: CHALLENGE_TEMPORAL_BIN, else the one scripts/ensure-tools.sh builds into the cache. */
export function temporalBinary(source?: EnvSource): string {
  const env = readEnvironment('tools', source);
  if (env.CHALLENGE_TEMPORAL_BIN) return env.CHALLENGE_TEMPORAL_BIN;
  const cache = env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache');
  return path.join(cache, 'challenge', 'bin', 'temporal');
}

export interface DevServerOptions {
  port: number;
  uiPort: number;
  dbFile: string;
  logFile: string;
  binary?: string;
  /** Wait at most this long for the port to answer (a first start on a loaded machine is slow). */
  startTimeoutMs?: number;
  /**
   * Read and write partitions per task queue (default 1). With the server's default of four, a freed GPU slot's
   * poller can wait up to a second or two for a task queued in another partition (bench/RESULTS.md, GPU pool
   * utilisation, which runs four as its reference).
   */
  taskQueuePartitions?: number;
}

/** A port that was free a moment ago on loopback (for servers started on free ports). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export function portOpen(port: number, host = '127.0.0.1', timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host });
    const done = (open: boolean) => {
      socket.destroy();
      resolve(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export function devServerArgs(options: DevServerOptions): string[] {
  return [
    'server', 'start-dev',
    '--ip', '127.0.0.1',
    '--port', String(options.port),
    '--ui-port', String(options.uiPort),
    '--db-filename', options.dbFile,
    '--namespace', 'default',
    '--log-level', 'error',
    '--dynamic-config-value', `matching.numTaskqueueReadPartitions=${options.taskQueuePartitions ?? 1}`,
    '--dynamic-config-value', `matching.numTaskqueueWritePartitions=${options.taskQueuePartitions ?? 1}`,
    ...Object.entries(SEARCH_ATTRIBUTES).flatMap(([name, type]) => ['--search-attribute', `${name}=${type}`]),
  ];
}

/** Starts the dev server detached (it outlives this process) unless one answers already; returns its pid or null. */
export async function ensureDevServer(options: DevServerOptions): Promise<{ pid: number | null; started: boolean }> {
  if (await portOpen(options.port)) return { pid: readPid(options), started: false };
  const binary = options.binary ?? temporalBinary();
  if (!existsSync(binary)) {
    throw new Error(`Temporal CLI not found at ${binary}: run scripts/ensure-tools.sh (it builds it with go install), or set CHALLENGE_TEMPORAL_BIN`);
  }
  mkdirSync(path.dirname(options.dbFile), { recursive: true });
  mkdirSync(path.dirname(options.logFile), { recursive: true });
  const log = openSync(options.logFile, 'a');
  const child = spawn(binary, devServerArgs(options), { detached: true, stdio: ['ignore', log, log] });
  child.unref();
  writeFileSync(pidFile(options), String(child.pid));
  const deadline = Date.now() + (options.startTimeoutMs ?? 60_000);
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the Temporal dev server exited with status ${child.exitCode}; see ${options.logFile}`);
    if ((await portOpen(options.port)) && (await portOpen(options.uiPort))) return { pid: child.pid ?? null, started: true };
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`the Temporal dev server did not open port ${options.port} within ${options.startTimeoutMs ?? 60_000} ms; see ${options.logFile}`);
}

const pidFile = (options: DevServerOptions) => `${options.dbFile}.pid`;

function readPid(options: DevServerOptions): number | null {
  try {
    return Number(readFileSync(pidFile(options), 'utf8').trim()) || null;
  } catch {
    return null;
  }
}

/** Stops a dev server this project started (SIGTERM, then SIGKILL). */
export async function stopDevServer(options: DevServerOptions, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  const pid = readPid(options);
  if (pid === null) return;
  try {
    process.kill(pid, signal);
  } catch {
    return;
  }
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && (await portOpen(options.port))) await new Promise((resolve) => setTimeout(resolve, 100));
  if (await portOpen(options.port)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}
