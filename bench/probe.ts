/**
 * Benchmark: the throughput probe's prediction against the measured stage (issue 26, item 4). For the small and
 * the full CPU-track suites (suites/neurips2023/open-small.json, open.json) one real evaluateSuite run asks the
 * probe's stratified sample first (domain/harness/throughput.ts), predicts the whole stage from it the moment the
 * probe's last answer arrives, and goes on through the suite; prediction ÷ measured wall time of the whole stage,
 * goal 0.9–1.1, and whether the measured time fell inside the prediction's 90% interval (bench/probe-round.ts).
 *
 * The server is a stand-in (bench/probe-server.ts, per-token latency model, 4 batch slots against the harness's
 * production concurrency HARNESS_DEFAULTS.concurrency): what is measured here is the probe's model of a server
 * with batch slots. bench/probe-llm.ts runs the same rounds on the real CPU sample (examples/llm-finetune, one
 * generation at a time), which needs Docker and its base image.
 */
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { HARNESS_DEFAULTS } from '../temporal.config.js';
import { loadSuite } from '../domain/harness/suite.js';
import { PROJECT_ROOT } from '../infra/paths.js';
import type { LatencyModel } from './probe-server.js';
import { roundNote, roundRows, runProbeRound, type ProbeRound } from './probe-round.js';
import { isMain, mainOf, type BenchResult, type Row } from './support.js';

const MODEL: LatencyModel = { slots: 4, baseMs: 8, prefillMsPerToken: 0.024, decodeMsPerToken: 3, jitter: 0.2 };
const SUITES = ['open-small', 'open'] as const;

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

async function runOne(name: string): Promise<ProbeRound> {
  const suite = loadSuite(path.join(PROJECT_ROOT, 'suites', 'neurips2023', `${name}.json`));
  const server = await startServer();
  try {
    const round = await runProbeRound('probe', name, suite, server.url);
    if (round.failed > 0 || round.unanswered > 0) throw new Error(`${name}: ${round.failed} failed, ${round.unanswered} unanswered: the stand-in server misbehaved`);
    return round;
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
      'The real CPU sample is measured by probe-llm (bench/probe-llm.ts), which needs Docker and challenge/llm-base.',
  ];
  for (const name of SUITES) {
    const round = await runOne(name);
    rows.push(...roundRows(round));
    notes.push(roundNote(round));
  }
  return { id: 'probe', title: 'Throughput probe: prediction ÷ measured stage', rows, notes, wallMs: performance.now() - started };
}

if (isMain(import.meta.url)) mainOf(runProbe);
