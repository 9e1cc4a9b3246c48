/**
 * The real LLM sample (examples/llm-finetune: PyTorch + transformers + peft on challenge/llm-base) through the
 * whole pipeline on the real Temporal dev server and Docker, on the CPU track and the small real suites
 * (MMLU, TruthfulQA, GSM8K, BBQ open; corr2cause and held-out MMLU subjects closed):
 * build → fine-tune (a supervised fine-tune that really trains; the host worker is killed with SIGKILL mid-run and
 * started again) → open → closed → score.
 */
import { modelShare } from '../../domain/reports/efficiency.js';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { submit, type SubmitResult } from '../../operations/pipelines.js';
import { leaderboard } from '../../operations/standings.js';
import { artifactKeys, type ArtifactStore } from '../../infra/artifact-store.js';
import { openArtifactStore } from '../../infra/open-artifact-store.js';
import { submissionEfficiency } from '../../infra/efficiency.js';
import { PROJECT_ROOT, llmBaseImage } from '../../infra/paths.js';
import { ResultsDb, type StageRecord } from '../../infra/results-db.js';
import { countInstances, loadSuite, type SuiteKind } from '../../domain/harness/suite.js';
import { workItems } from '../../domain/harness/evaluate.js';
import type { PipelineState } from '../../contract/pipeline.js';
import { startStack, type Stack, type WorkerProcess } from '../support/stack.js';
import { until } from '../support/until.js';

const SAMPLE = path.join(PROJECT_ROOT, 'examples', 'llm-finetune');
const SUITES: Record<SuiteKind, string> = {
  open: path.join(PROJECT_ROOT, 'suites', 'neurips2023', 'open-small.json'),
  closed: path.join(PROJECT_ROOT, 'suites', 'neurips2023', 'closed-small.json'),
};
const LLM_BASE = llmBaseImage();
/** Limits in minutes, as the issue asks: the CPU track's 2 cores carry a real model. */
const LIMITS = { fineTune: 10 * 60_000, openEval: 15 * 60_000, closedEval: 15 * 60_000, startup: 3 * 60_000 };

interface LossLine {
  step: number;
  loss: number;
  /** The loss exactly as train.py logged it (5 decimals), compared as text. */
  logged: string;
  resumed: boolean;
}

let stack: Stack;
let db: ResultsDb;
let store: ArtifactStore;
let submitted: SubmitResult;
let state: PipelineState;
let stages: Map<string, StageRecord>;
let killedAtStep = 0;
let storedAtKill = 0;
let restartedOutput = '';
/** Docker's destroy event of the orphaned training container (ms), and the restarted worker's first activity start in the history (ms). */
let orphanDestroyedAt = 0;
let firstActivityAfterRestartAt = 0;

const hostOutput = () => stack.workers.map((w) => `--- ${w.name}\n${w.output().slice(-3000)}`).join('\n');
const readLoss = (dir: string): LossLine[] =>
  readFileSync(path.join(dir, 'loss.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => ({ ...(JSON.parse(line) as Omit<LossLine, 'logged'>), logged: /"loss":\s*([-+0-9.eE]+)/.exec(line)?.[1] ?? '' }));
/** The newest checkpoint the training wrote to its output (checkpoints/step-NNNNNN), 0 when none. */
const newestCheckpoint = (dir: string): number =>
  Math.max(0, ...(existsSync(path.join(dir, 'checkpoints')) ? readdirSync(path.join(dir, 'checkpoints')) : []).map((f) => Number(/^step-(\d+)$/.exec(f)?.[1] ?? 0)));
const eventMs = (t: { seconds?: unknown; nanos?: number | null } | null | undefined): number => Number(t?.seconds ?? 0) * 1000 + Math.floor((t?.nanos ?? 0) / 1e6);

beforeAll(async () => {
  const image = await execa('docker', ['image', 'inspect', LLM_BASE], { reject: false });
  if (image.exitCode !== 0) throw new Error(`the LLM base image ${LLM_BASE} is missing: run scripts/build-base-image.sh (npm test does)`);
  stack = await startStack({ hostWorkers: [{ hostId: 'llm-host', track: 'cpu', slots: 2 }] });
  db = new ResultsDb(stack.config.databasePath);
  store = await openArtifactStore(stack.config.artifactStore);
  submitted = await submit(stack.client, stack.config, SAMPLE, { suites: SUITES, limits: LIMITS, heartbeatTimeoutMs: 5000 });
  const handle = stack.client.workflow.getHandle(submitted.workflowId);
  const artifacts = path.join(stack.config.dataDir, 'artifacts', submitted.submissionId);

  // Kill the host worker with SIGKILL once training is past its first stored checkpoint and at least one step past
  // its newest checkpoint (so that the resumed run repeats a step), then start it again.
  await until(
    'training past step 25 with a checkpoint in the artifact store, a step past the newest checkpoint',
    async () => {
      const stored = await store.getText(artifactKeys.checkpoint(submitted.submissionId));
      const progress = existsSync(path.join(artifacts, 'progress.json')) ? readLoss(artifacts) : [];
      return stored && progress.length >= 25 && progress.at(-1)!.step > newestCheckpoint(artifacts) ? true : null;
    },
    8 * 60_000,
    hostOutput,
  );
  const host = stack.workers.find((w) => w.name === 'gpu-host llm-host') as WorkerProcess;
  killedAtStep = readLoss(artifacts).at(-1)!.step;
  storedAtKill = (JSON.parse((await store.getText(artifactKeys.checkpoint(submitted.submissionId)))!) as { step: number }).step;
  // Docker's own record of the orphaned training container (attempt 1) going away, watched from before the restart.
  let destroyed = '';
  const watcher = execa(
    'docker',
    ['events', '--filter', `label=challenge.workflow=${submitted.workflowId}`, '--filter', 'label=challenge.attempt=1', '--filter', 'event=destroy', '--format', '{{.TimeNano}}'],
    { reject: false, buffer: false },
  );
  watcher.stdout?.on('data', (chunk: Buffer) => (destroyed += chunk.toString()));
  await new Promise((r) => setTimeout(r, 1000)); // let it subscribe
  host.process.kill('SIGKILL');
  await host.process.catch(() => undefined);
  const killedAt = Date.now();
  stack.workers.splice(stack.workers.indexOf(host), 1);
  const restarted = await stack.startWorker('gpu-host llm-host (restarted)', 'gpu-host.js', ['--track', 'cpu'], {
    CHALLENGE_HOST_ID: 'llm-host',
    CHALLENGE_GPU_SLOTS: '2',
  });
  restartedOutput = restarted.output();
  await until('the orphan destroyed, as Docker reports it', () => destroyed.trim() !== '', 60_000);
  watcher.kill();
  await watcher.catch(() => undefined);
  orphanDestroyedAt = Number(BigInt(destroyed.trim().split('\n')[0]!) / 1_000_000n);

  state = (await handle.result()) as PipelineState;
  const history = await handle.fetchHistory();
  firstActivityAfterRestartAt = Math.min(
    ...(history.events ?? []).filter((e) => e.activityTaskStartedEventAttributes && eventMs(e.eventTime) > killedAt).map((e) => eventMs(e.eventTime)),
  );
  stages = new Map((await db.stages(submitted.submissionId)).map((s) => [s.stage, s]));
}, 45 * 60_000);

afterAll(async () => {
  db?.close();
  await stack?.stop();
});

describe('the real LLM sample through the pipeline (CPU track, small real suites)', () => {
  it('goes through every stage', () => {
    expect(state).toMatchObject({ outcome: 'completed', failureCategory: null });
    for (const name of ['build', 'fine-tune', 'open-eval', 'closed-eval', 'score']) expect(stages.get(name)?.outcome).toBe('succeeded');
  });

  it('resumes training from the last checkpoint after the host worker was killed: the step count and the loss go on', () => {
    const fineTune = stages.get('fine-tune')!.details as {
      resumedFrom: { step: number; checkpoint: string } | null;
      resumedFromSource: string;
      progress: { step: number; totalSteps: number };
    };
    expect(fineTune.progress.step).toBe(fineTune.progress.totalSteps);
    expect(fineTune.resumedFrom).not.toBeNull();
    expect(fineTune.resumedFrom!.step).toBeGreaterThanOrEqual(storedAtKill);
    // The restarted worker removed the orphaned training container before it took work, so nothing trained
    // on after the kill: the run resumes from a checkpoint written before it.
    expect(fineTune.resumedFrom!.step).toBeLessThanOrEqual(killedAtStep);
    expect(restartedOutput).toMatch(/removed 1 container\(s\) an earlier worker process left running: ch-submission-tiny-llama-lab\.finetune-v1-fine-tune-a1/);
    // From outside the product: Docker destroyed the orphan before the restarted worker's first activity started (Temporal's history).
    expect(Number.isFinite(firstActivityAfterRestartAt)).toBe(true);
    expect(orphanDestroyedAt).toBeGreaterThan(0);
    expect(orphanDestroyedAt).toBeLessThan(firstActivityAfterRestartAt);
    expect(fineTune.resumedFrom!.checkpoint).toBe(`checkpoints/step-${String(fineTune.resumedFrom!.step).padStart(6, '0')}`);
    const lines = readLoss(path.join(stack.config.dataDir, 'artifacts', submitted.submissionId));
    const first = lines.filter((l) => !l.resumed);
    const resumed = lines.filter((l) => l.resumed);
    // The resumed run starts right after the checkpoint, not at step 1, and runs to the end.
    expect(resumed[0]!.step).toBe(fineTune.resumedFrom!.step + 1);
    expect(resumed.at(-1)!.step).toBe(fineTune.progress.totalSteps);
    expect(first.at(-1)!.step).toBeGreaterThanOrEqual(killedAtStep);
    // Same data order and optimizer state: where both runs did a step, they got the same loss.
    const before = new Map(first.map((l) => [l.step, l.loss]));
    const logged = new Map(first.map((l) => [l.step, l.logged]));
    const overlap = resumed.filter((l) => before.has(l.step));
    expect(overlap.length).toBeGreaterThanOrEqual(1); // the kill came after the newest checkpoint: at least one step ran twice
    expect(overlap.map((l) => ({ step: l.step, loss: l.logged }))).toEqual(overlap.map((l) => ({ step: l.step, loss: logged.get(l.step) })));
    // The loss curve goes on: the first resumed loss is far below the loss at step 1, and training lowered it.
    expect(resumed[0]!.loss).toBeLessThan(first[0]!.loss * 0.85);
    expect(resumed.at(-1)!.loss).toBeLessThan(first[0]!.loss * 0.75);
    console.log(
      `llm-pipeline: killed the host worker at training step ${killedAtStep} (store held step ${storedAtKill}); resumed from ${fineTune.resumedFromSource} at step ${fineTune.resumedFrom!.step}; ` +
        `loss ${first[0]!.loss.toFixed(3)} at step 1 → ${resumed[0]!.loss.toFixed(3)} at step ${resumed[0]!.step} → ` +
        `${resumed.at(-1)!.loss.toFixed(3)} at step ${resumed.at(-1)!.step}; ${overlap.length} step(s) ran twice with the same logged loss; ` +
        `Docker destroyed the orphan ${firstActivityAfterRestartAt - orphanDestroyedAt} ms before the restarted worker's first activity`,
    );
  });

  it('keeps the checkpoints (model and optimizer state) and the fine-tuned model in the artifact store', async () => {
    const objects = await store.list(artifactKeys.trainingOutput(submitted.submissionId));
    const keys = objects.map((o) => o.key);
    const checkpoints = [...new Set(keys.map((k) => /checkpoints\/(step-\d+)\//.exec(k)?.[1]).filter(Boolean))];
    expect(checkpoints.length).toBeGreaterThanOrEqual(3);
    for (const checkpoint of checkpoints) {
      // Multi-megabyte: the weights (about 4 MB) and AdamW's two moments (about twice that).
      const size = (file: string) => objects.find((o) => o.key.endsWith(`/${checkpoint}/${file}`))?.size ?? 0;
      expect(size('model.safetensors')).toBeGreaterThan(3_000_000);
      expect(size('state.pt')).toBeGreaterThan(6_000_000);
    }
    expect(keys.some((k) => k.endsWith('/model/model.safetensors'))).toBe(true);
    expect(keys.some((k) => k.endsWith('/model/tokenizer.json'))).toBe(true);
    expect(keys.some((k) => k.endsWith('/progress.json'))).toBe(true);
  });

  it('answers every instance of both small suites with real log-probabilities', async () => {
    for (const kind of ['open', 'closed'] as const) {
      const suite = loadSuite(SUITES[kind]);
      const answers = await db.answerStore(submitted.submissionId, kind).all();
      expect(answers).toHaveLength(workItems(suite).length);
      expect(answers.length).toBeGreaterThanOrEqual(countInstances(suite));
      for (const answer of answers) {
        expect(answer.completion).not.toBeNull();
        expect(answer.errorKind).toBeNull();
        expect(answer.completionTokens).toBeGreaterThanOrEqual(1);
        // A real model's log-probability: finite, negative, and not the same number every time.
        expect(Number.isFinite(answer.logprob)).toBe(true);
        expect(answer.logprob!).toBeLessThan(0);
      }
      expect(new Set(answers.map((a) => a.logprob!.toFixed(4))).size).toBeGreaterThan(answers.length / 4);
      const details = stages.get(`${kind}-eval`)!.details as { answered: number; total: number; failed: number };
      expect(details).toMatchObject({ failed: 0 });
      expect(details.answered).toBe(details.total);
    }
  });

  it('has a leaderboard row with every metric column of the real scenarios', async () => {
    const board = await leaderboard(db, 'cpu', SUITES);
    const row = board.rows.find((r) => r.submissionId === submitted.submissionId)!;
    expect(row).toBeDefined();
    expect(board.columns.map((c) => c.column)).toEqual(
      expect.arrayContaining(['MMLU - EM', 'MMLU - EM (Robustness)', 'MMLU - EM (Fairness)', 'TruthfulQA - EM', 'GSM8K - EM', 'BBQ - EM', 'corr2cause - EM']),
    );
    for (const column of board.columns) expect(row.metrics[column.column]).not.toBeNull();
    expect(Number.isFinite(row.final)).toBe(true);
  });

  it('passes `challenge check --serve`: 0 preflight errors, no contamination, the contract with log-probability sums', async () => {
    const checked = await stack.cli(['check', SAMPLE, '--serve']);
    expect(checked.exitCode).toBe(0);
    expect(checked.stdout).toContain('preflight: 0 errors');
    expect(checked.stdout).toContain('No evaluation instance shares a 13-gram');
    expect(checked.stdout).toContain('conformance of the inference server: passes');
    expect(checked.stdout).not.toMatch(/FAIL/);
  }, 300_000);

  it('lowers its batch size on the retry after an out-of-memory kill (CHALLENGE_OOM_RETRY=1)', async () => {
    // The training image the pipeline built, run for one step as the platform runs a retry.
    const trainImage = `challenge-submissions/${submitted.submissionId}:train`;
    const summaries: Record<string, unknown>[] = [];
    for (const retry of [false, true]) {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'oom-retry-'));
      chmodSync(dir, 0o777);
      const run = await execa(
        'docker',
        [
          'run',
          '--rm',
          '--network',
          'none',
          '--memory',
          '1g',
          '-e',
          'TRAIN_STEPS=1',
          ...(retry ? ['-e', 'CHALLENGE_OOM_RETRY=1'] : []),
          '-v',
          `${dir}:/artifacts`,
          trainImage,
        ],
        { reject: false, all: true },
      );
      expect(run.exitCode).toBe(0);
      summaries.push(JSON.parse(readFileSync(path.join(dir, 'training_summary.json'), 'utf8')) as Record<string, unknown>);
      rmSync(dir, { recursive: true, force: true });
    }
    expect(summaries[0]).toMatchObject({ microBatch: 8, accumulation: 1 });
    expect(summaries[1]).toMatchObject({ microBatch: 4, accumulation: 2 });
  }, 180_000);

  it('reports efficiency figures from real inference: tokens/s, p95 latency, peak memory', async () => {
    const figures = await submissionEfficiency(db, submitted.submissionId, 'cpu');
    expect(figures.evaluation?.tokensPerSecond).toBeGreaterThan(0);
    expect(figures.latency?.p95Ms).toBeGreaterThan(0);
    expect(figures.peakMemory?.bytes).toBeGreaterThan(100 * 1024 * 1024); // torch alone is more than that
    expect(figures.training?.wallTimeSeconds).toBeGreaterThan(10);
    // The model's share of the evaluation: its own request_time summed, against the stages' wall time (a
    // figure to read, not a target: targets live in the benchmarks).
    const serverMs: (number | null | undefined)[] = [];
    for (const kind of ['open', 'closed'] as const)
      for (const answer of await db.answerStore(submitted.submissionId, kind).all()) serverMs.push(answer.serverMs);
    const share = modelShare({ wallTimeMs: figures.evaluation!.wallTimeSeconds * 1000, serverMs });
    expect(share.modelMs).toBeGreaterThan(0);
    // The sample's request_time is the generation alone (not the wait for its one-at-a-time lock), so however many
    // requests the harness had in flight, the generations add up to less than the evaluation's wall time.
    expect(share.share).toBeLessThan(1);
    console.log(
      `llm-pipeline model share: the server's own request_time adds up to ${(share.modelMs / 1000).toFixed(1)} s of ${figures.evaluation!.wallTimeSeconds.toFixed(1)} s of evaluation wall time ` +
        `(${((share.share ?? 0) * 100).toFixed(0)}%; the rest is start-up, prompt fitting and the harness; the sample's request_time is the ` +
        `generation alone, see modelShare)`,
    );
    console.log(
      `llm-pipeline efficiency: training ${figures.training!.wallTimeSeconds.toFixed(0)} s; evaluation ${figures.evaluation!.instances} answers in ` +
        `${figures.evaluation!.wallTimeSeconds.toFixed(0)} s, ${figures.evaluation!.tokensPerSecond!.toFixed(1)} generated tokens/s; p50 ${figures.latency!.p50Ms} ms, ` +
        `p95 ${figures.latency!.p95Ms} ms; peak memory ${figures.peakMemory!.formatted}`,
    );
  });
});
