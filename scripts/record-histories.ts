/**
 * Records the event histories of real runs of the project's workflows, for the replay test
 * (test/unit/workflow-replay.test.ts): a change to workflow code that a running 24 h pipeline could not
 * replay fails there.
 *
 *   npm run build && flock /tmp/challenge-it.lock node dist/scripts/record-histories.js [--out DIR]
 *
 * (DIR defaults to a new generation folder test/fixtures/histories/<date>-<commit>; earlier ones are kept.)
 *
 * It starts the real stack (a fresh Temporal dev server, the orchestrator worker and a cpu gpu-host worker,
 * Docker for the stages), as the integration tests do, and runs:
 *  - four pipelines of the shipped samples: one that goes through every stage (good-cooccurrence), one whose
 *    build fails (build-fails), one whose fine-tune is OOM-killed twice (oom-train: the OOM retry loop) and
 *    one whose evaluations reach their time limit (slow-server: the limit timer cancels a running stage);
 *  - a batch evaluation of the completed ones with one child per page, so it continues as new once and its
 *    children (reevaluateSubmission) are recorded too.
 * Every closed execution is then written to DIR (test/fixtures/histories) as the SDK's JSON form of its
 * history (the SDK's historyToJSON form, see test/support/history-json.ts; what `temporal workflow show --output json` writes too), one file per run, with
 * index.json naming the workflow id and type each file needs for replay. Earlier fixtures in DIR (only) are removed.
 * Limits are short (seconds) and the suites are the toy ones, so the files stay small and a run takes minutes.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import type { Client } from '@temporalio/client';
import { historyToJSON } from '../test/support/history-json.js';
import { TASK_QUEUES, type PartialStageLimits } from '../temporal.config.js';
import { PROJECT_ROOT, defaultSuiteFiles } from '../infra/paths.js';
import { submit } from '../operations/pipelines.js';
import type { batchEvaluation } from '../workflows/batch-evaluation.js';
import type { submissionPipeline } from '../workflows/submission-pipeline.js';
import { startStack } from '../test/support/stack.js';

/** One recorded run, as index.json lists it: what the replay test needs besides the history itself. */
export interface RecordedHistory {
  /** File name in the fixtures folder (the SDK's JSON form of the history). */
  file: string;
  /** Histories do not carry the workflow id; the workflows put it in activity inputs and child ids. */
  workflowId: string;
  runId: string;
  workflowType: string;
  /** How the run ended (COMPLETED, FAILED, CONTINUED_AS_NEW, ...). */
  status: string;
  events: number;
  /** What the run covers, for a reader of the fixtures. */
  covers: string;
}

export interface HistoryIndex {
  recordedAt: string;
  /** The commit whose workflow code produced the histories (a dirty tree is marked). */
  workflowCodeCommit: string;
  temporalSdk: string;
  histories: RecordedHistory[];
}

/**
 * One folder per recording (a generation of the workflow code), each with its index.json. Earlier generations
 * stay: they are what pipelines started by earlier code look like, and the replay test runs all of them, so a
 * change guarded by patched() is tested on both sides of the patch.
 */
export const HISTORIES_ROOT = path.join(PROJECT_ROOT, 'test', 'fixtures', 'histories');

/** The generations of recorded histories, by folder name (each index.json says when it was recorded). */
export function historyGenerations(root: string = HISTORIES_ROOT): { dir: string; name: string }[] {
  return readdirSync(root, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => ({ dir: path.join(root, entry.name), name: entry.name }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** The runs to record: each sample with the limits that make its ending quick and certain. */
const PIPELINES: { sample: string; limits: PartialStageLimits; covers: string }[] = [
  { sample: 'good-cooccurrence', limits: { fineTune: 90_000, openEval: 30_000, closedEval: 30_000, startup: 15_000 }, covers: 'every stage succeeds' },
  { sample: 'build-fails', limits: { startup: 15_000 }, covers: 'the build fails (BuildFailed, charged); later stages skipped' },
  { sample: 'oom-train', limits: { fineTune: 90_000, startup: 15_000 }, covers: 'fine-tune OOM-killed, retried once with CHALLENGE_OOM_RETRY, fails (OutOfMemory)' },
  {
    sample: 'slow-server',
    limits: { fineTune: 90_000, openEval: 10_000, closedEval: 10_000, startup: 15_000 },
    covers: 'both evaluations reach their limit: the limit timer cancels the running stage (TimeLimit, partial)',
  },
];
const BATCH_WORKFLOW_ID = 'batch-replay-fixture';

async function workflowCodeCommit(): Promise<string> {
  const head = await execa('git', ['rev-parse', 'HEAD'], { cwd: PROJECT_ROOT, reject: false });
  const dirty = await execa('git', ['status', '--porcelain', '--', 'workflows', 'temporal.config.ts'], { cwd: PROJECT_ROOT, reject: false });
  return `${String(head.stdout).trim() || 'unknown'}${String(dirty.stdout).trim() ? ' (workflows/ modified)' : ''}`;
}

async function temporalSdkVersion(): Promise<string> {
  const { createRequire } = await import('node:module');
  const require = createRequire(import.meta.url);
  return (require('@temporalio/workflow/package.json') as { version: string }).version;
}

/** Every closed run on the server (and the open placement runs), its history written to `dir`; continued runs of one workflow id get -run2, -run3... */
async function exportClosedRuns(client: Client, dir: string, coversOf: (workflowId: string, workflowType: string) => string): Promise<RecordedHistory[]> {
  const runs = [];
  for await (const execution of client.workflow.list()) {
    // The placement workflow of a track never ends (it continues as new): its open history is recorded as it is.
    if (execution.status.name === 'RUNNING' && execution.type !== 'trackPlacement') throw new Error(`${execution.workflowId} is still running: record only finished runs`);
    runs.push(execution);
  }
  runs.sort((a, b) => a.workflowId.localeCompare(b.workflowId) || a.startTime.getTime() - b.startTime.getTime());
  const recorded: RecordedHistory[] = [];
  const seen = new Map<string, number>();
  for (const run of runs) {
    const nth = (seen.get(run.workflowId) ?? 0) + 1;
    seen.set(run.workflowId, nth);
    const history = await client.workflow.getHandle(run.workflowId, run.runId).fetchHistory();
    const file = `${run.workflowId.replace(/[^A-Za-z0-9._-]/g, '_')}${nth > 1 ? `-run${nth}` : ''}.json`;
    writeFileSync(path.join(dir, file), `${historyToJSON(history)}\n`);
    recorded.push({
      file,
      workflowId: run.workflowId,
      runId: run.runId,
      workflowType: run.type,
      status: run.status.name,
      events: history.events?.length ?? 0,
      covers: coversOf(run.workflowId, run.type),
    });
    console.log(`  ${file}: ${run.type} ${run.status.name}, ${history.events?.length ?? 0} events`);
  }
  return recorded;
}

export async function recordHistories(dir: string): Promise<HistoryIndex> {
  const stack = await startStack();
  try {
    const covers = new Map<string, string>();
    const submitted = [];
    for (const { sample, limits, covers: what } of PIPELINES) {
      const result = await submit(stack.client, stack.config, path.join(PROJECT_ROOT, 'examples', sample), { limits, heartbeatTimeoutMs: 5000 });
      covers.set(result.workflowId, `submissionPipeline of examples/${sample}: ${what}`);
      submitted.push(result);
    }
    for (const result of submitted) {
      const state = await stack.client.workflow.getHandle<typeof submissionPipeline>(result.workflowId).result();
      console.log(`${result.workflowId}: ${JSON.stringify({ outcome: state.outcome, failureCategory: state.failureCategory })}`);
    }

    const batch = await stack.client.workflow.start<typeof batchEvaluation>('batchEvaluation', {
      taskQueue: TASK_QUEUES.orchestrator,
      workflowId: BATCH_WORKFLOW_ID,
      args: [{ suites: { closed: defaultSuiteFiles('cpu').closed }, track: 'cpu', concurrency: 1, pageSize: 1, limits: { closedEval: 30_000, startup: 15_000 }, heartbeatTimeoutMs: 5000 }],
    });
    console.log(`${BATCH_WORKFLOW_ID}: ${JSON.stringify(await batch.result())}`);

    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const histories = await exportClosedRuns(stack.client, dir, (workflowId, workflowType) => {
      const known = covers.get(workflowId);
      if (known) return known;
      if (workflowType === 'batchEvaluation') return 'batchEvaluation with pageSize 1: starts a child, drains the page, continues as new while submissions are pending';
      if (workflowType === 'reevaluateSubmission') return 'reevaluateSubmission started by the batch: images reused, closed suite evaluated again';
      if (workflowType === 'trackPlacement') return 'trackPlacement of the cpu track (open): a host announced, slots requested, granted and released';
      return workflowType;
    });
    const index: HistoryIndex = { recordedAt: new Date().toISOString(), workflowCodeCommit: await workflowCodeCommit(), temporalSdk: await temporalSdkVersion(), histories };
    writeFileSync(path.join(dir, 'index.json'), `${JSON.stringify(index, null, 2)}\n`);
    return index;
  } catch (error) {
    for (const worker of stack.workers) console.error(`--- ${worker.name}\n${worker.output().slice(-4000)}`);
    throw error;
  } finally {
    await stack.stop();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const outAt = process.argv.indexOf('--out');
  const name = `${new Date().toISOString().slice(0, 10)}-${(await workflowCodeCommit()).slice(0, 7)}`;
  const dir = outAt >= 0 && process.argv[outAt + 1] ? path.resolve(process.argv[outAt + 1]!) : path.join(HISTORIES_ROOT, name);
  const index = await recordHistories(dir);
  console.log(`${index.histories.length} histories in ${dir} (${readdirSync(dir).length - 1} files + index.json)`);
}
