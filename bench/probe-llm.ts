/**
 * Benchmark: the throughput probe's prediction against the measured stage on the real CPU LLM sample (issue 26,
 * item 4): the rounds of bench/probe.ts (bench/probe-round.ts: one evaluateSuite run per suite at the production
 * harness settings, the probe's sample first, predictStage at the CPU track's open-evaluation limit) against the
 * sample's inference server (examples/llm-finetune, the base model, no adapter; bench/llm-sample-server.ts) for
 * suites/neurips2023/open-small.json and open.json, on one server. Goal: prediction ÷ measured 0.9–1.1.
 *
 * The sample serves one generation at a time (a lock) and reports request_time without the wait for it, so the
 * probe measures the server's parallelism as Σ request_time ÷ its window (about one). A warm-up (one instance of
 * every scenario of the small suite) runs first, so that the first round's probe does not pay for the server's
 * first answers (slower by about a quarter). BENCH_LLM_PER_SCENARIO shortens both suites, as in llm-share.
 *
 * After each stage the probe's items are asked once more (not in the measured time): on a machine whose cores
 * other processes share, the CPU sample's speed changes during a stage, which no probe taken at its start can
 * foresee (its interval covers the sampling of the requests, not that); the two probes side by side show how much
 * it changed, and the split rows (Σ request_time, parallelism) show which part of the model missed.
 */
import os from 'node:os';
import path from 'node:path';
import { HARNESS_DEFAULTS } from '../temporal.config.js';
import { evaluateSuite, MemoryAnswerStore } from '../domain/harness/evaluate.js';
import { loadSuite } from '../domain/harness/suite.js';
import { countWorkItems } from '../domain/harness/work.js';
import { PROJECT_ROOT } from '../infra/paths.js';
import { PER_SCENARIO, startLlmSampleServer, trimmed, trimmedTo } from './llm-sample-server.js';
import { roundNote, roundRows, runProbeRound } from './probe-round.js';
import { fmt, isMain, log, mainOf, type BenchResult, type Row } from './support.js';

const SUITES = ['open-small', 'open'] as const;
const suiteFile = (name: string) => path.join(PROJECT_ROOT, 'suites', 'neurips2023', `${name}.json`);

export async function runProbeLlm(): Promise<BenchResult> {
  const started = performance.now();
  const server = await startLlmSampleServer('probe-llm');
  try {
    const suites = SUITES.map((name) => ({ name, suite: trimmed(loadSuite(suiteFile(name))) }));
    // The server's first few dozen answers are slower (about 25% here); one instance of every scenario (about 150 items) first.
    const warmUp = trimmedTo(suites[0]!.suite, 1);
    log(`probe-llm: warm-up, ${countWorkItems(warmUp)} items`);
    const warm = await evaluateSuite({ baseUrl: server.baseUrl, suite: warmUp, store: new MemoryAnswerStore(), ...HARNESS_DEFAULTS });
    const rows: Row[] = [];
    const notes: string[] = [
      `Server: ${server.image} (examples/llm-finetune, base model, CPU, one generation at a time) in a container on the default bridge, ready after ` +
        `${fmt(server.readyAfterMs / 1000)} s; one server for both suites, after a warm-up of ${warm.total} items (${warm.failed} failed). The harness at ` +
        `HARNESS_DEFAULTS (concurrency ${HARNESS_DEFAULTS.concurrency}, prompts fitted into ${HARNESS_DEFAULTS.maxPromptTokens} tokens, ` +
        `${HARNESS_DEFAULTS.maxAttempts} attempts), the in-memory store${Number.isFinite(PER_SCENARIO) ? `; first ${PER_SCENARIO} instance(s) per scenario` : ''}.`,
    ];
    for (const { name, suite } of suites) {
      const loadBefore = os.loadavg()[0]!;
      const round = await runProbeRound('probe-llm', name, suite, server.baseUrl, { reprobe: true });
      rows.push(...roundRows(round));
      notes.push(`${roundNote(round)} Load average (1 min) on the ${os.cpus().length} cores: ${fmt(loadBefore)} before the round, ${fmt(os.loadavg()[0]!)} after it.`);
    }
    return { id: 'probe-llm', title: 'Throughput probe on the real LLM sample', rows, notes, wallMs: performance.now() - started };
  } finally {
    await server.close();
  }
}

if (isMain(import.meta.url)) mainOf(runProbeLlm);
