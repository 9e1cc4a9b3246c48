/**
 * The evaluation loop: asks every instance of a suite exactly once (bounded concurrency, per-request
 * timeout, bounded retries), persists each answer as it arrives, and isolates failures: an instance
 * that still fails scores 0 and never aborts its scenario. A resumed run skips persisted instances.
 * With a throughput probe (issue 26) the probe's items are asked first and measured (probe-run.ts).
 */
import { setMaxListeners } from 'node:events';
import { helmRequest, instancePrompt, requestSettings, scoreInstance, stopSequenceRule, type Scenario, type Suite, type SuiteInstance } from './suite.js';
import {
  DecodeResponse,
  PoolSubmissionClient,
  ProcessResponse,
  READINESS_PROMPT,
  RequestFailure,
  TokenizeResponse,
  processRequest,
  scoredCompletion,
  type RequestFailureKind,
  type SubmissionClient,
} from './contract.js';
import { answerKey, type AnswerStore, type InstanceAnswer } from './answers.js';
import { countWorkItems, eachWorkItem, type WorkItem } from './work.js';
import { summarizeStore, type EvaluationSummary, type StopReason } from './summary.js';
import { ProbeRun, type ProbeOption } from './probe-run.js';
import { promptChars } from './throughput.js';

export { MemoryAnswerStore, answerKey, type AnswerStore, type AnswerTally, type InstanceAnswer, type StoredScore } from './answers.js';
export { countWorkItems, eachWorkItem, workItems, type WorkItem } from './work.js';
export { summarize, summarizeStore, type EvaluationSummary, type ScenarioResult, type StopReason } from './summary.js';
export type { ProbeOption } from './probe-run.js';

export interface EvaluationProgress {
  total: number;
  answered: number;
  failed: number;
}

export interface EvaluationOptions {
  baseUrl: string;
  suite: Suite;
  store: AnswerStore;
  concurrency: number;
  requestTimeoutMs: number;
  maxAttempts: number;
  retryBackoffMs: number;
  /** Aborting stops the run; `signal.reason` (a StopReason string) is reported. */
  signal?: AbortSignal;
  onProgress?: (progress: EvaluationProgress) => void;
  /** Consulted after a connection failure: a dead server stops the run instead of zeroing every instance. */
  isServerAlive?: () => Promise<boolean>;
  /** The model's window (prompt + completion), 2048 in 2023; prompts are fitted into it (see fitPrompt). */
  maxPromptTokens?: number;
  /** The HTTP client to the submission (default: PoolSubmissionClient, `concurrency` connections); closed at the end. */
  client?: (baseUrl: string, connections: number) => SubmissionClient;
  /**
   * The throughput probe: its sample's items are asked first (answers count as usual) and `onMeasured` gets the
   * measurement once they are all answered; with `only`, nothing else is asked.
   */
  probe?: ProbeOption;
}

/**
 * Fits a prompt into the model's window as HELM did: drop in-context examples (last first) until prompt
 * plus completion fit, then cut the prompt from the right with the server's own /tokenize and /decode.
 * A prompt of at most `budget` UTF-8 bytes is sent as it is without asking the server (a tokenizer
 * produces at most one token per byte: byte-level BPEs and word-level vocabularies alike).
 */
export async function fitPrompt(
  scenario: Scenario,
  instance: SuiteInstance,
  maxPromptTokens: number,
  tokenize: (text: string, maxLength: number | null) => Promise<number[]>,
  decode: (tokens: number[]) => Promise<string>,
): Promise<{ prompt: string; droppedExamples: number; truncated: boolean }> {
  const budget = maxPromptTokens - requestSettings(scenario).maxNewTokens;
  for (let keep = scenario.inContext.length; keep >= 0; keep--) {
    const prompt = instancePrompt({ ...scenario, inContext: scenario.inContext.slice(0, keep) } as Scenario, instance);
    if (Buffer.byteLength(prompt, 'utf8') <= budget || (await tokenize(prompt, null)).length <= budget) {
      return { prompt, droppedExamples: scenario.inContext.length - keep, truncated: false };
    }
  }
  const bare = instancePrompt({ ...scenario, inContext: [] } as Scenario, instance);
  return { prompt: await decode(await tokenize(bare, Math.max(1, budget))), droppedExamples: scenario.inContext.length, truncated: true };
}

export async function evaluateSuite(options: EvaluationOptions): Promise<EvaluationSummary> {
  const done = await options.store.answeredKeys();
  const probe = options.probe ? new ProbeRun(options.probe, done, Math.max(1, options.concurrency)) : null;
  const probeOnly = probe !== null && options.probe?.only === true;
  const total = probeOnly ? done.size + probe.toAsk : countWorkItems(options.suite);
  let answered = done.size;
  let failed = 0;
  if (answered > 0) for (const counted of (await options.store.tally()).scenarios.values()) failed += counted.failed;
  let requestsSent = 0;
  let stopReason: StopReason | null = null;
  const stopController = new AbortController();
  // One combined signal per run (not per request: AbortSignal.any leaves a WeakRef on its sources, nodejs/node#55351).
  const signal = options.signal ? AbortSignal.any([options.signal, stopController.signal]) : stopController.signal;
  // The client adds one abort listener per request in flight; undici removes it a tick after the body ends, so
  // up to about twice `concurrency` can be attached at once (measured: 15 at concurrency 8).
  setMaxListeners(Math.max(10, 2 * options.concurrency + 10), signal);
  const stop = (reason: StopReason): void => {
    stopReason ??= reason;
    if (!stopController.signal.aborted) stopController.abort(reason);
  };
  const onAbort = () => stop(toStopReason(options.signal?.reason));
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) stop(toStopReason(options.signal.reason));

  const concurrency = Math.max(1, options.concurrency);
  const client = (options.client ?? ((baseUrl, connections) => new PoolSubmissionClient(baseUrl, { connections })))(options.baseUrl, concurrency);
  const requestOptions = { timeoutMs: options.requestTimeoutMs, signal };
  const tokenize = async (text: string, maxLength: number | null) =>
    (await client.post('/tokenize', { text, truncation: maxLength !== null, max_length: maxLength ?? 1_000_000 }, TokenizeResponse, requestOptions)).tokens;
  const decode = async (tokens: number[]) => (await client.post('/decode', { tokens }, DecodeResponse, requestOptions)).text;

  const askOne = async (item: WorkItem): Promise<void> => {
    const settings = helmRequest(item.scenario);
    const started = performance.now();
    let lastFailure: RequestFailure | null = null;
    let attempts = 0;
    let answer: string | null = null;
    let reported: Pick<InstanceAnswer, 'logprob' | 'completionTokens' | 'serverMs'> = {};
    for (attempts = 1; attempts <= options.maxAttempts; attempts++) {
      if (signal.aborted) return;
      requestsSent++;
      try {
        const prompt = options.maxPromptTokens
          ? (await fitPrompt(item.scenario, item.instance, options.maxPromptTokens, tokenize, decode)).prompt
          : instancePrompt(item.scenario, item.instance);
        const body = processRequest(prompt, settings);
        const response = await client.post('/process', body, ProcessResponse, requestOptions);
        answer = scoredCompletion(response.text, body.stop_sequences, stopSequenceRule(options.suite));
        reported = { logprob: response.logprob, completionTokens: response.tokens.length, serverMs: Math.round(response.request_time * 1e6) / 1e3 };
        break;
      } catch (error) {
        if (signal.aborted) return; // stopped: leave the instance unanswered so a later run asks it
        lastFailure = error instanceof RequestFailure ? error : new RequestFailure('connection', String(error));
        if (lastFailure.kind === 'connection' && options.isServerAlive && !(await options.isServerAlive())) {
          stop('server-crashed');
          return;
        }
        if (attempts < options.maxAttempts) await delay(options.retryBackoffMs * 2 ** (attempts - 1), signal);
      }
    }
    // Saved outside the request's try: a store that fails is our failure, not the submission's answer.
    if (answer !== null)
      return await record({ completion: answer, score: scoreInstance(item.scenario, item.instance, answer), errorKind: null, error: null, ...reported });
    await record({ completion: null, score: 0, errorKind: lastFailure?.kind ?? 'connection', error: lastFailure?.message ?? 'no answer' });

    async function record(
      result: Pick<InstanceAnswer, 'completion' | 'score' | 'errorKind' | 'error' | 'logprob' | 'completionTokens' | 'serverMs'>,
    ): Promise<void> {
      const latencyMs = performance.now() - started;
      await options.store.save({
        scenario: item.scenario.name,
        instanceId: item.answerId,
        attempts: Math.min(attempts, options.maxAttempts),
        latencyMs: Math.round(latencyMs),
        ...result,
      });
      if (probe) probe.answered(item.scenario.name, item.answerId, probe.isProbeItem(item.scenario.name, item.answerId) ? promptChars(item) : 0, latencyMs, result.serverMs ?? null);
      answered++;
      if (result.completion === null) failed++;
      options.onProgress?.({ total, answered, failed });
    }
  };

  // The work list is a cursor shared by the workers: next() is synchronous, so no item is taken twice.
  // With a probe its items come first; probe-only stops at the first other item.
  const cursor = eachWorkItem(options.suite, probe ? { first: options.probe?.sample.answerIds } : {});
  const worker = async (): Promise<void> => {
    while (!signal.aborted) {
      const next = cursor.next();
      if (next.done || (probeOnly && !probe.isProbeItem(next.value.scenario.name, next.value.answerId))) return probe?.workerStarved();
      if (done.has(answerKey(next.value.scenario.name, next.value.answerId))) continue;
      probe?.requestStarted();
      try {
        await askOne(next.value);
      } finally {
        probe?.requestEnded();
      }
    }
  };
  try {
    probe?.begin();
    await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, total - done.size)) }, worker));
    probe?.finish();
  } finally {
    // A caller's long-lived signal must not keep this run's closure (the cursor, `done`) alive.
    options.signal?.removeEventListener('abort', onAbort);
    await client.close().catch(() => undefined);
  }
  return summarizeStore(options.suite, options.store, requestsSent, stopReason);
}

function toStopReason(reason: unknown): StopReason {
  return reason === 'deadline' || reason === 'server-crashed' ? reason : 'cancelled';
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}

/** Waits until the server gives a valid /process answer, or the deadline passes, or `isAlive` says it died. */
export async function waitForReadiness(options: {
  baseUrl: string;
  deadline: number;
  signal?: AbortSignal;
  isAlive: () => Promise<boolean>;
  pollMs?: number;
}): Promise<{ ready: true; afterMs: number } | { ready: false; reason: string; died: boolean; lastFailure: RequestFailureKind | null }> {
  const started = Date.now();
  let lastError = 'no answer yet';
  let lastFailure: RequestFailureKind | null = null;
  // One client (one keep-alive connection) for every poll.
  const client = new PoolSubmissionClient(options.baseUrl, { connections: 1 });
  try {
    return await poll();
  } finally {
    await client.close().catch(() => undefined);
  }

  async function poll(): Promise<{ ready: true; afterMs: number } | { ready: false; reason: string; died: boolean; lastFailure: RequestFailureKind | null }> {
    while (Date.now() < options.deadline) {
      if (options.signal?.aborted) return { ready: false, reason: 'cancelled while waiting for the server', died: false, lastFailure };
      try {
        const remaining = Math.max(500, Math.min(10_000, options.deadline - Date.now()));
        await client.post('/process', processRequest(READINESS_PROMPT, { maxNewTokens: 1, temperature: 0, stopSequences: [] }), ProcessResponse, {
          timeoutMs: remaining,
          ...(options.signal ? { signal: options.signal } : {}),
        });
        return { ready: true, afterMs: Date.now() - started };
      } catch (error) {
        // An invalid answer does not count as ready (it may still be loading); remember why for the report.
        lastError = (error as Error).message;
        lastFailure = error instanceof RequestFailure ? error.kind : 'connection';
      }
      if (!(await options.isAlive())) return { ready: false, reason: `the server exited before answering (${lastError})`, died: true, lastFailure };
      await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 500));
    }
    return { ready: false, reason: `no valid /process answer within the start-up limit (last: ${lastError})`, died: false, lastFailure };
  }
}
