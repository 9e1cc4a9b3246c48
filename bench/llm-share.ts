/**
 * Benchmark 7, the real model as the reference: the LLM sample's inference server (examples/llm-finetune,
 * the base model, no adapter) answers the small real open suite; the harness's evaluation wall time is
 * compared with the sum of the server's own request_time over the same answers (domain/reports/efficiency
 * modelShare). Target: model share ≥ 0.98, i.e. the harness, HTTP and prompt fitting add at most 2%.
 *
 * The harness sends one request at a time: the sample serves one request at a time (a lock) and starts
 * request_time before waiting for it, so with more in flight a request's wait would count as model time.
 * Needs Docker and the sample's inference image (BENCH_LLM_IMAGE, else built from examples/llm-finetune).
 */
import { execa } from 'execa';
import path from 'node:path';
import { HARNESS_DEFAULTS } from '../temporal.config.js';
import { evaluateSuite, MemoryAnswerStore, waitForReadiness } from '../domain/harness/evaluate.js';
import { PoolSubmissionClient, type SubmissionClient } from '../domain/harness/contract.js';
import { loadSuite, type Suite } from '../domain/harness/suite.js';
import { modelShare } from '../domain/reports/efficiency.js';
import { BENCH_DIR, fmt, isMain, log, mainOf, row, type BenchResult } from './support.js';

const PROJECT = path.resolve(BENCH_DIR, '..', '..');
const SUITE_FILE = path.join(PROJECT, 'suites', 'neurips2023', 'open-small.json');
const IMAGE = process.env.BENCH_LLM_IMAGE ?? 'challenge-check/llm-finetune:inference';
/** at most this many instances per scenario (all by default): a shorter run on a slow machine */
const PER_SCENARIO = Number(process.env.BENCH_LLM_PER_SCENARIO ?? Infinity);

async function ensureImage(): Promise<string> {
  if ((await execa('docker', ['image', 'inspect', IMAGE], { reject: false })).exitCode === 0) return IMAGE;
  const tag = 'challenge-bench/llm-finetune:inference';
  log(`llm-share: ${IMAGE} is missing; building ${tag} from examples/llm-finetune`);
  await execa('docker', ['build', '-t', tag, path.join(PROJECT, 'examples', 'llm-finetune')]);
  return tag;
}

/** The harness's own client, timing each call by endpoint (calls, Σ ms) to tell /process from prompt fitting. */
function timedClient(baseUrl: string, connections: number, calls: Map<string, { count: number; ms: number }>): SubmissionClient {
  const inner = new PoolSubmissionClient(baseUrl, { connections });
  return {
    post: async (endpoint, body, schema, options) => {
      const t0 = performance.now();
      try {
        return await inner.post(endpoint, body, schema, options);
      } finally {
        const entry = calls.get(endpoint) ?? { count: 0, ms: 0 };
        entry.count++;
        entry.ms += performance.now() - t0;
        calls.set(endpoint, entry);
      }
    },
    close: () => inner.close(),
  };
}

function trimmed(suite: Suite): Suite {
  if (!Number.isFinite(PER_SCENARIO)) return suite;
  return {
    ...suite,
    scenarios: suite.scenarios.map((scenario) => ({ ...scenario, instances: scenario.instances.slice(0, PER_SCENARIO) })) as Suite['scenarios'],
  };
}

export async function runLlmShare(): Promise<BenchResult> {
  const started = performance.now();
  const image = await ensureImage();
  const name = `challenge-bench-llm-${process.pid}`;
  await execa('docker', ['run', '-d', '--rm', '--name', name, '-e', 'CHALLENGE_TRACK=cpu', image]);
  try {
    const ip = (await execa('docker', ['inspect', '-f', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', name])).stdout.trim();
    const baseUrl = `http://${ip}:80`;
    const isAlive = async () => (await execa('docker', ['inspect', '-f', '{{.State.Running}}', name], { reject: false })).stdout.trim() === 'true';
    const readiness = await waitForReadiness({ baseUrl, deadline: Date.now() + 300_000, isAlive });
    if (!readiness.ready) throw new Error(`the LLM sample's server did not become ready: ${readiness.reason}`);
    log(`llm-share: ${image} ready after ${fmt(readiness.afterMs / 1000)} s at ${baseUrl}`);
    const suite = trimmed(loadSuite(SUITE_FILE));
    const store = new MemoryAnswerStore();
    const calls = new Map<string, { count: number; ms: number }>();
    const elu0 = performance.eventLoopUtilization();
    const t0 = performance.now();
    const summary = await evaluateSuite({
      client: (url, connections) => timedClient(url, connections, calls),
      baseUrl,
      suite,
      store,
      concurrency: 1,
      requestTimeoutMs: HARNESS_DEFAULTS.requestTimeoutMs * 5,
      maxAttempts: 1,
      retryBackoffMs: HARNESS_DEFAULTS.retryBackoffMs,
      maxPromptTokens: HARNESS_DEFAULTS.maxPromptTokens,
      onProgress: ({ answered, total }) => {
        if (answered % 50 === 0) log(`llm-share: ${answered}/${total}`);
      },
    });
    const wallTimeMs = performance.now() - t0;
    const busyMs = performance.eventLoopUtilization(elu0).active;
    const process = calls.get('/process') ?? { count: 0, ms: 0 };
    const fitting = ['/tokenize', '/decode'].map((endpoint) => calls.get(endpoint) ?? { count: 0, ms: 0 });
    const fittingMs = fitting.reduce((sum, c) => sum + c.ms, 0);
    const answers = store.all();
    const share = modelShare({ wallTimeMs, serverMs: answers.map((a) => a.serverMs) });
    const latencySum = answers.reduce((sum, a) => sum + a.latencyMs, 0);
    const perAnswer = (ms: number) => ms / Math.max(1, share.answers);
    log(
      `llm-share: ${summary.answered}/${summary.total} answered (${summary.failed} failed) in ${fmt(wallTimeMs / 1000)} s; model ${fmt(share.modelMs / 1000)} s, share ${fmt(share.share)}`,
    );
    const rows = [
      row(
        'model share of the evaluation wall time (Σ server request_time / wall), concurrency 1',
        share.modelMs,
        'ms',
        'evaluation wall time',
        wallTimeMs,
        'ms',
        { target: '≥ 0.98', pass: (share.share ?? 0) >= 0.98 },
      ),
      row(
        'harness time per answer beyond the model (wall − Σ request_time) / answers',
        perAnswer(wallTimeMs - share.modelMs),
        'ms',
        'model time per answer',
        perAnswer(share.modelMs),
        'ms',
      ),
      row(
        "of which inside the harness's request round trips (Σ latencyMs − Σ request_time) / answers",
        perAnswer(latencySum - share.modelMs),
        'ms',
        'model time per answer',
        perAnswer(share.modelMs),
        'ms',
      ),
      row(
        '  of which prompt fitting: /tokenize and /decode round trips / answers',
        perAnswer(fittingMs),
        'ms',
        'model time per answer',
        perAnswer(share.modelMs),
        'ms',
      ),
      row(
        "  of which /process beyond the server's request_time (framework, (de)serialisation outside it, network, client) / answers",
        perAnswer(process.ms - share.modelMs),
        'ms',
        'model time per answer',
        perAnswer(share.modelMs),
        'ms',
      ),
      row(
        "harness main-thread busy per answer (event-loop utilisation: everything the harness's JavaScript did)",
        perAnswer(busyMs),
        'ms',
        'harness time per answer beyond the model',
        perAnswer(wallTimeMs - share.modelMs),
        'ms',
      ),
      row(
        "model share if the server's uncounted time were the model's (Σ /process and fitting round trips / wall)",
        process.ms + fittingMs,
        'ms',
        'evaluation wall time',
        wallTimeMs,
        'ms',
      ),
    ];
    const notes = [
      `Server: ${image} (examples/llm-finetune, base model, CPU) in a container on the default bridge, reached at its address; harness: evaluateSuite ` +
        `with the undici Pool client, concurrency 1, prompt fitting to ${HARNESS_DEFAULTS.maxPromptTokens} tokens, the in-memory store. Suite: ` +
        `${path.relative(PROJECT, SUITE_FILE)}${Number.isFinite(PER_SCENARIO) ? `, first ${PER_SCENARIO} instance(s) per scenario` : ''}: ` +
        `${summary.total} requests (originals and perturbed variants), ${summary.answered} answered, ${summary.failed} failed; ${share.answers} ` +
        `answers carried request_time.`,
      `Calls: /process ${process.count} (Σ ${fmt(process.ms / 1000)} s), /tokenize ${fitting[0]!.count} (Σ ${fmt(fitting[0]!.ms / 1000)} s), /decode ` +
        `${fitting[1]!.count} (Σ ${fmt(fitting[1]!.ms / 1000)} s). The harness's main thread was busy ${fmt(busyMs / 1000)} s of the ` +
        `${fmt(wallTimeMs / 1000)} s.`,
      'Wall time runs from the first request to the summary (readiness excluded). Σ latencyMs is what the harness measured around each answer ' +
        '(attempts, prompt fitting through /tokenize and /decode, the /process round trip); what remains of the wall time beyond it is the harness ' +
        'between requests (scoring, storing, the next prompt).',
    ];
    return { id: 'llm-share', title: '7. The real model as the reference', rows, notes, wallMs: performance.now() - started };
  } finally {
    await execa('docker', ['rm', '-f', name], { reject: false });
  }
}

if (isMain(import.meta.url)) mainOf(runLlmShare);
