/**
 * Benchmark: the throughput probe's prediction against the measured stage (issue 26, item 4). For the small and
 * the full CPU-track suites (suites/neurips2023/open-small.json, open.json) one real evaluateSuite run asks the
 * probe's stratified sample first (domain/harness/throughput.ts), predicts the whole stage from it the moment the
 * probe's last answer arrives, and goes on through the suite; prediction ÷ measured wall time of the whole stage,
 * goal 0.9–1.1, and whether the measured time fell inside the prediction's 90% interval.
 *
 * The server is a stand-in (bench/probe-server.ts, per-token latency model, 4 batch slots against the harness's
 * production concurrency HARNESS_DEFAULTS.concurrency): the real CPU sample (examples/llm-finetune) needs Docker
 * and its base image, and its speed is not what is measured here — the probe's model of a server is.
 */
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { HARNESS_DEFAULTS, TRACKS } from '../temporal.config.js';
import { evaluateSuite, MemoryAnswerStore } from '../domain/harness/evaluate.js';
import { loadSuite } from '../domain/harness/suite.js';
import { describePrediction, predictStage, probeSample, type ProbeMeasurement, type StagePrediction } from '../domain/harness/throughput.js';
import { PROJECT_ROOT } from '../infra/paths.js';
import type { LatencyModel } from './probe-server.js';
import { fmt, isMain, log, mainOf, row, type BenchResult, type Row } from './support.js';

const MODEL: LatencyModel = { slots: 4, baseMs: 8, prefillMsPerToken: 0.024, decodeMsPerToken: 3, jitter: 0.2 };
const SUITES = ['open-small', 'open'] as const;
const MEASURED = 'measured stage wall time, first request to last answer (same run)';

async function startServer(): Promise<{ url: string; close: () => Promise<void> }> {
  const worker = new Worker(new URL('./probe-server.js', import.meta.url), { workerData: MODEL });
  const port = await new Promise<number>((resolve) => worker.once('message', resolve));
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      await new Promise((resolve) => {
        worker.once('message', resolve);
        worker.postMessage('close');
      });
      await worker.terminate();
    },
  };
}

interface Outcome {
  name: string;
  prediction: StagePrediction;
  measuredMs: number;
  probeMs: number;
  /** evaluateSuite's set-up before its first request (counting the suite's items: a pass perturbs every instance) */
  setupMs: number;
  items: number;
}

async function runOne(name: string): Promise<Outcome> {
  const suite = loadSuite(path.join(PROJECT_ROOT, 'suites', 'neurips2023', `${name}.json`));
  const sample = probeSample(suite);
  const limitMs = TRACKS.cpu.limits.openEval;
  const server = await startServer();
  try {
    let measurement: ProbeMeasurement | null = null;
    let prediction: StagePrediction | null = null;
    let askingFrom = Number.NaN;
    const started = performance.now();
    const summary = await evaluateSuite({
      baseUrl: server.url,
      suite,
      store: new MemoryAnswerStore(),
      ...HARNESS_DEFAULTS, // the production harness settings
      probe: {
        sample,
        onMeasured: (m) => {
          measurement = m;
          askingFrom = performance.now() - m.wallMs;
          prediction = predictStage(m, suite, { limitMs });
          log(`probe: ${name}: ${describePrediction(name, prediction)} (probe ${m.items} items in ${fmt(m.wallMs / 1000)} s, ${fmt(m.inFlight ?? 0)} in flight)`);
        },
      },
    });
    const measuredMs = performance.now() - askingFrom;
    if (summary.failed > 0 || summary.unanswered > 0) throw new Error(`${name}: ${summary.failed} failed, ${summary.unanswered} unanswered: the stand-in server misbehaved`);
    if (!prediction || !measurement) throw new Error(`${name}: the probe never reported a measurement`);
    const probeMs = (measurement as ProbeMeasurement).wallMs;
    log(`probe: ${name}: measured ${fmt(measuredMs / 1000)} s for ${summary.answered} items`);
    return { name, prediction, measuredMs, probeMs, setupMs: askingFrom - started, items: summary.answered };
  } finally {
    await server.close();
  }
}

export async function runProbe(): Promise<BenchResult> {
  const started = performance.now();
  const rows: Row[] = [];
  const notes: string[] = [
    `Stand-in server (bench/probe-server.ts): ${MODEL.slots} batch slots, ${MODEL.baseMs} ms + ${MODEL.prefillMsPerToken} ms per prompt token + ` +
      `${MODEL.decodeMsPerToken} ms per generated token, log-normal jitter σ ${MODEL.jitter}; 4-character tokens; generation answers 60–259 tokens. ` +
      `The harness at HARNESS_DEFAULTS (concurrency ${HARNESS_DEFAULTS.concurrency}, prompts fitted into ${HARNESS_DEFAULTS.maxPromptTokens} tokens). ` +
      'The real CPU sample is not used: it needs Docker and challenge/llm-base.',
  ];
  for (const name of SUITES) {
    const outcome = await runOne(name);
    const p = outcome.prediction;
    const ratio = p.estimateMs / outcome.measuredMs;
    rows.push(
      row(`${name} (${outcome.items} items): predicted stage wall time`, p.estimateMs / 1000, 's', MEASURED, outcome.measuredMs / 1000, 's', {
        target: '0.9–1.1',
        pass: ratio >= 0.9 && ratio <= 1.1,
      }),
    );
    rows.push(row(`${name}: probe wall time (${p.sample} items)`, outcome.probeMs / 1000, 's', 'measured stage wall time', outcome.measuredMs / 1000, 's'));
    notes.push(
      `${name}: ${describePrediction(name, p)}; measured ${fmt(outcome.measuredMs / 1000)} s, ` +
        `${outcome.measuredMs >= p.lowMs && outcome.measuredMs <= p.highMs ? 'inside' : 'outside'} the 90% interval; effective concurrency ${fmt(p.concurrency)}; ` +
        `evaluateSuite's set-up before the first request (not in either figure) ${fmt(outcome.setupMs / 1000)} s.`,
    );
  }
  return { id: 'probe', title: 'Throughput probe: prediction ÷ measured stage', rows, notes, wallMs: performance.now() - started };
}

if (isMain(import.meta.url)) mainOf(runProbe);
