/**
 * The demo competition (`npm run demo`): starts the Temporal dev server if none answers, starts the orchestrator
 * and one CPU-track host worker, opens the participants' door (scripts/demo-door.ts: two teams, the real LLM sample
 * uploaded with `challenge remote submit`, a quota refusal), submits two failing samples as an operator, shows their
 * progress, then prints the leaderboard, the tokens and where to look. The server keeps running afterwards so the
 * Web UI stays browsable (`node dist/scripts/temporal-server.js down` stops it).
 *
 *   npm run demo             # reuse earlier results if the samples already ran
 *   npm run demo -- --fresh  # start from an empty history and results database
 *   npm run demo -- --season # a compressed competition instead (scripts/demo-season.ts, docs/season-demo.md):
 *                            # development through the door, the close on the clock's timer, finals, a reproduction
 */
import { execa, type ResultPromise } from 'execa';
import { createWriteStream, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { loadRuntimeConfig } from '../infra/runtime-config.js';
import { type PartialStageLimits } from '../temporal.config.js';
import { ensureDevServer, stopDevServer } from '../infra/dev-server.js';
import { PROJECT_ROOT } from '../infra/paths.js';
import { openResultsStore } from '../infra/open-results-store.js';
import { connectClient, uiPageUrl } from '../infra/temporal.js';
import { liveBlock } from '../cli/live-block.js';
import { leaderboardTable } from '../domain/standings-table.js';
import { pipelineStatus, submit, type SubmitResult } from '../operations/pipelines.js';
import { leaderboard } from '../operations/standings.js';
import { devServerOptionsFor } from './temporal-server.js';
import { runDoorDemo } from './demo-door.js';
import { runSeasonDemo } from './demo-season.js';
import { openArtifactStore } from '../infra/open-artifact-store.js';
import type { WebServer } from '../web/server.js';

/**
 * The samples an operator submits (scripts/demo-door.ts has the teams upload the real LLM sample and the failing
 * build through the participants' door): the slow server gets seconds, so it runs out of time, and the training
 * that runs out of memory.
 */
const SAMPLES: { name: string; limits: PartialStageLimits }[] = [
  { name: 'slow-server', limits: { fineTune: 120_000, openEval: 30_000, closedEval: 30_000, startup: 20_000 } },
  { name: 'oom-train', limits: { fineTune: 120_000 } },
];

const { values } = parseArgs({ options: { fresh: { type: 'boolean', default: false }, season: { type: 'boolean', default: false } } });
const config = loadRuntimeConfig();
const serverOptions = devServerOptionsFor(config);
if (values.fresh) {
  await stopDevServer(serverOptions);
  for (const file of [serverOptions.dbFile, config.databasePath]) for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true }); // a stale WAL would corrupt the new file
  rmSync(path.join(config.dataDir, 'artifacts'), { recursive: true, force: true });
}
const { started } = await ensureDevServer(serverOptions);
console.log(`Temporal dev server ${started ? 'started' : 'already running'} at ${config.temporal.address} (Web UI ${config.uiUrl})`);

const logsDir = path.join(config.dataDir, 'logs');
mkdirSync(logsDir, { recursive: true });
const workers: ResultPromise[] = [];
async function startWorker(name: string, script: string, args: string[]): Promise<void> {
  const log = createWriteStream(path.join(logsDir, `${name}.log`));
  const child = execa('node', [path.join(PROJECT_ROOT, 'dist', 'workers', script), ...args], { reject: false, all: true, buffer: false });
  let output = '';
  child.all?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
    log.write(chunk);
  });
  workers.push(child);
  const deadline = Date.now() + 60_000;
  while (!/state: 'RUNNING'/.test(output)) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`the ${name} worker did not start; see ${path.join(logsDir, `${name}.log`)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  console.log(`worker ${name} running (log: ${path.join(logsDir, `${name}.log`)})`);
}

const client = await connectClient(config);
let closeDoor: WebServer | undefined;
try {
  await startWorker('orchestrator', 'orchestrator.js', []);
  await startWorker('gpu-host-cpu', 'gpu-host.js', ['--track', 'cpu']);

  const db = await openResultsStore(config);
  if (values.season) {
    await runSeasonDemo({ db, client, config, artifacts: await openArtifactStore(config.artifactStore) });
    await db.close();
    console.log(`\nCLI: node dist/cli/challenge.js competition status --competition <the file above> | reproduce status\nWeb UI: ${uiPageUrl(config, 'workflows')} (filter Phase="final")`);
  } else {
    // Teams first: the participants' door (web server with the intake), two teams, uploads and a quota refusal.
    const door = await runDoorDemo({ db, client, config, artifacts: await openArtifactStore(config.artifactStore) });
    closeDoor = door.web;
    const submitted: Pick<SubmitResult, 'workflowId' | 'submissionId'>[] = door.workflowIds.map((workflowId) => ({ workflowId, submissionId: workflowId.replace(/^submission-/, '') }));
    for (const sample of SAMPLES) {
      const result = await submit(client, config, path.join(PROJECT_ROOT, 'examples', sample.name), { limits: sample.limits });
      submitted.push(result);
      console.log(`operator: ${result.status === 'started' ? 'submitted' : result.status.replace('-', ' ')}: ${result.submissionId}  ${result.url}`);
    }

    // Progress while waiting: one line per pipeline, redrawn in place on a terminal (cli/live-block.ts).
    const board = liveBlock();
    for (;;) {
      const statuses = await Promise.all(submitted.map((s) => pipelineStatus(client, s.workflowId)));
      const lines = statuses.map((status) => {
        const state = status.state;
        const current = state?.stages.find((s) => s.outcome === 'running');
        const elapsed = current?.startedAt ? `${((Date.now() - current.startedAt) / 1000).toFixed(0)}s` : '';
        const details = status.activity?.details as { answered?: number; total?: number } | null | undefined;
        const progress = details?.total ? ` ${details.answered ?? 0}/${details.total} answered` : '';
        const what =
          status.status === 'RUNNING'
            ? `${state?.currentStage ?? '…'} ${elapsed}${progress}`
            : `${state?.outcome ?? status.status}${state?.failureCategory ? ` (${state.failureCategory})` : ''}`;
        return `  ${status.workflowId.padEnd(50)} ${what}`;
      });
      board.update(new Date().toISOString().slice(11, 19), lines);
      if (statuses.every((s) => s.status !== 'RUNNING')) break;
      await new Promise((r) => setTimeout(r, 5000));
    }

    console.log(`\n${leaderboardTable(await leaderboard(db, 'cpu'))}\n`);
    for (const s of submitted) {
      const failed = (await db.stages(s.submissionId)).find((stage) => stage.failureCategory);
      if (failed) console.log(`${s.submissionId}: ${failed.stage} ${failed.failureCategory} — ${failed.reason}`);
    }
    await db.close();
    console.log(`\n${door.summary.join('\n')}`);
    console.log(`
Web UI: ${uiPageUrl(config, 'workflows')}
  filters an operator uses:  Track="cpu" AND FailureCategory="TimeLimit"
                             Stage="open-eval"      Outcome="failed"
CLI:    node dist/cli/challenge.js status | leaderboard --track cpu | status <team.submission>
The Temporal server keeps running for the Web UI; stop it with: node dist/scripts/temporal-server.js down`);
  }
} finally {
  await closeDoor?.close();
  for (const worker of workers) worker.kill('SIGTERM');
  await Promise.allSettled(workers);
  await client.connection.close();
}
