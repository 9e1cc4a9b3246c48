/**
 * A real stack for integration tests: a Temporal dev server (the project's own binary, SQLite file in a
 * temporary folder, free ports) and the real worker processes, started from their compiled entry points.
 */
import { execa, type ResultPromise } from 'execa';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { loadRuntimeConfig, type RuntimeConfig } from '../../infra/runtime-config.js';
import { ensureDevServer, freePort, stopDevServer, type DevServerOptions } from '../../infra/dev-server.js';
import { connectClient } from '../../infra/temporal.js';
import { PROJECT_ROOT } from '../../infra/paths.js';

export { freePort };

export interface WorkerProcess {
  name: string;
  process: ResultPromise;
  output: () => string;
}

export interface Stack {
  env: Record<string, string>;
  config: RuntimeConfig;
  client: Client;
  server: DevServerOptions;
  workers: WorkerProcess[];
  startWorker: (name: string, script: string, args?: string[], extraEnv?: Record<string, string>) => Promise<WorkerProcess>;
  cli: (args: string[]) => Promise<{ exitCode: number | undefined; stdout: string; stderr: string }>;
  stop: () => Promise<void>;
}

/** `env`: more variables for every process of the stack (e.g. DATABASE_URL, CHALLENGE_ARTIFACT_STORE). */
export async function startStack(options: { hostWorkers?: { hostId: string; track: string; slots?: number }[]; env?: Record<string, string> } = {}): Promise<Stack> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'challenge-it-'));
  const port = await freePort();
  const uiPort = await freePort();
  const env: Record<string, string> = {
    CHALLENGE_DATA_DIR: dataDir,
    CHALLENGE_TEMPORAL_PORT: String(port),
    CHALLENGE_TEMPORAL_UI_PORT: String(uiPort),
    CHALLENGE_EVAL_NETWORK: 'challenge-eval-test',
    ...options.env,
  };
  const config = loadRuntimeConfig(env);
  const server: DevServerOptions = { port, uiPort, dbFile: path.join(dataDir, 'temporal.sqlite'), logFile: path.join(dataDir, 'logs', 'temporal-server.log') };
  // A caller that names a cluster (TEMPORAL_ADDRESS) brings its own: no dev server is started or stopped here.
  const ownServer = !options.env?.TEMPORAL_ADDRESS;
  if (ownServer) await ensureDevServer(server);
  const client = await connectClient(config);
  const workers: WorkerProcess[] = [];

  const startWorker = async (name: string, script: string, args: string[] = [], extraEnv: Record<string, string> = {}) => {
    let output = '';
    const child = execa('node', [path.join(PROJECT_ROOT, 'dist', 'workers', script), ...args], {
      env: { ...env, ...extraEnv },
      reject: false,
      all: true,
      buffer: false,
    });
    child.all?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const worker = { name, process: child, output: () => output };
    workers.push(worker);
    const deadline = Date.now() + 60_000;
    while (!/state: 'RUNNING'/.test(output)) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`worker ${name} did not start:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return worker;
  };

  await startWorker('orchestrator', 'orchestrator.js');
  for (const host of options.hostWorkers ?? [{ hostId: 'host-1', track: 'cpu' }]) {
    await startWorker(`gpu-host ${host.hostId}`, 'gpu-host.js', ['--track', host.track], { CHALLENGE_HOST_ID: host.hostId, CHALLENGE_GPU_SLOTS: String(host.slots ?? 2) });
  }

  return {
    env,
    config,
    client,
    server,
    workers,
    startWorker,
    cli: async (args) => {
      const result = await execa('node', [path.join(PROJECT_ROOT, 'dist', 'cli', 'challenge.js'), ...args], { env, reject: false });
      return { exitCode: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr) };
    },
    stop: async () => {
      for (const worker of workers) worker.process.kill('SIGTERM');
      await Promise.allSettled(workers.map((w) => w.process));
      await client.connection.close();
      if (ownServer) await stopDevServer(server);
    },
  };
}
