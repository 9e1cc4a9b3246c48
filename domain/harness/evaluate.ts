/**
 * The evaluation loop: asks every instance of a suite exactly once (bounded concurrency, per-request
 * timeout, bounded retries), persists each answer as it arrives, and isolates failures: an instance
 * that still fails scores 0 and never aborts its scenario. A resumed run skips persisted instances.
 */
import { instancePrompt, requestSettings, scenarioColumn, scoreInstance, type Scenario, type Suite, type SuiteInstance } from './suite.js';
import { ProcessResponse, READINESS_PROMPT, RequestFailure, cutAtStopSequences, postJson, processRequest, type RequestFailureKind } from './contract.js';

export interface InstanceAnswer {
  scenario: string;
  instanceId: string;
  /** null when no valid answer came back after every attempt */
  completion: string | null;
  score: number;
  errorKind: RequestFailureKind | null;
  error: string | null;
  attempts: number;
  latencyMs: number;
}

/** Where answers live between attempts of an evaluation (the results database in production). */
export interface AnswerStore {
  /** keys `${scenario}/${instanceId}` of instances already answered (successfully or not) */
  answeredKeys(): Set<string>;
  save(answer: InstanceAnswer): void;
  all(): InstanceAnswer[];
}

export class MemoryAnswerStore implements AnswerStore {
  private readonly answers = new Map<string, InstanceAnswer>();
  answeredKeys(): Set<string> {
    return new Set(this.answers.keys());
  }
  save(answer: InstanceAnswer): void {
    this.answers.set(answerKey(answer.scenario, answer.instanceId), answer);
  }
  all(): InstanceAnswer[] {
    return [...this.answers.values()];
  }
}

export const answerKey = (scenario: string, instanceId: string): string => `${scenario}/${instanceId}`;

export interface EvaluationProgress {
  total: number;
  answered: number;
  failed: number;
}

export type StopReason = 'deadline' | 'cancelled' | 'server-crashed';

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
}

export interface ScenarioResult {
  scenario: string;
  column: string;
  instances: number;
  answered: number;
  failed: number;
  /** mean exact match over all instances; unanswered and failed instances count 0 */
  score: number;
}

export interface EvaluationSummary {
  total: number;
  answered: number;
  failed: number;
  unanswered: number;
  /** requests sent in this run (resumed instances are not asked again) */
  requestsSent: number;
  stopReason: StopReason | null;
  /** failed instances by why their last request failed (schema, timeout, ...) */
  failuresByKind: Partial<Record<RequestFailureKind, number>>;
  scenarios: ScenarioResult[];
}

interface WorkItem {
  scenario: Scenario;
  instance: SuiteInstance;
}

export async function evaluateSuite(options: EvaluationOptions): Promise<EvaluationSummary> {
  const done = options.store.answeredKeys();
  const pending: WorkItem[] = [];
  for (const scenario of options.suite.scenarios) {
    for (const instance of scenario.instances) {
      if (!done.has(answerKey(scenario.name, instance.id))) pending.push({ scenario, instance });
    }
  }
  const total = options.suite.scenarios.reduce((sum, s) => sum + s.instances.length, 0);
  let answered = done.size;
  let failed = options.store.all().filter((a) => a.completion === null).length;
  let requestsSent = 0;
  let stopReason: StopReason | null = null;
  const stopController = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stopController.signal]) : stopController.signal;
  const stop = (reason: StopReason): void => {
    stopReason ??= reason;
    if (!stopController.signal.aborted) stopController.abort(reason);
  };
  options.signal?.addEventListener('abort', () => stop(toStopReason(options.signal?.reason)), { once: true });
  if (options.signal?.aborted) stop(toStopReason(options.signal.reason));

  let next = 0;
  const askOne = async (item: WorkItem): Promise<void> => {
    const prompt = instancePrompt(item.scenario, item.instance);
    const body = processRequest(prompt, requestSettings(item.scenario));
    const started = performance.now();
    let lastFailure: RequestFailure | null = null;
    let attempts = 0;
    for (attempts = 1; attempts <= options.maxAttempts; attempts++) {
      if (signal.aborted) return;
      requestsSent++;
      try {
        const response = await postJson(`${options.baseUrl}/process`, body, ProcessResponse, { timeoutMs: options.requestTimeoutMs, signal });
        const completion = cutAtStopSequences(response.text, body.stop_sequences);
        record({ completion, score: scoreInstance(item.scenario, item.instance, completion), errorKind: null, error: null });
        return;
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
    record({ completion: null, score: 0, errorKind: lastFailure?.kind ?? 'connection', error: lastFailure?.message ?? 'no answer' });

    function record(result: Pick<InstanceAnswer, 'completion' | 'score' | 'errorKind' | 'error'>): void {
      options.store.save({
        scenario: item.scenario.name,
        instanceId: item.instance.id,
        attempts: Math.min(attempts, options.maxAttempts),
        latencyMs: Math.round(performance.now() - started),
        ...result,
      });
      answered++;
      if (result.completion === null) failed++;
      options.onProgress?.({ total, answered, failed });
    }
  };

  const worker = async (): Promise<void> => {
    while (!signal.aborted) {
      const item = pending[next++];
      if (!item) return;
      await askOne(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency, pending.length)) }, worker));
  return summarize(options.suite, options.store.all(), requestsSent, stopReason);
}

export function summarize(suite: Suite, answers: InstanceAnswer[], requestsSent: number, stopReason: StopReason | null): EvaluationSummary {
  const byScenario = new Map<string, InstanceAnswer[]>();
  for (const answer of answers) {
    const list = byScenario.get(answer.scenario) ?? [];
    list.push(answer);
    byScenario.set(answer.scenario, list);
  }
  const scenarios = suite.scenarios.map((scenario): ScenarioResult => {
    const ids = new Set(scenario.instances.map((i) => i.id));
    const mine = (byScenario.get(scenario.name) ?? []).filter((a) => ids.has(a.instanceId));
    const points = mine.reduce((sum, a) => sum + a.score, 0);
    return {
      scenario: scenario.name,
      column: scenarioColumn(scenario),
      instances: scenario.instances.length,
      answered: mine.length,
      failed: mine.filter((a) => a.completion === null).length,
      score: points / scenario.instances.length,
    };
  });
  const answered = scenarios.reduce((s, r) => s + r.answered, 0);
  const total = scenarios.reduce((s, r) => s + r.instances, 0);
  const failuresByKind: Partial<Record<RequestFailureKind, number>> = {};
  for (const answer of answers) if (answer.errorKind) failuresByKind[answer.errorKind] = (failuresByKind[answer.errorKind] ?? 0) + 1;
  return {
    total,
    answered,
    failed: scenarios.reduce((s, r) => s + r.failed, 0),
    unanswered: total - answered,
    requestsSent,
    stopReason,
    failuresByKind,
    scenarios,
  };
}

function toStopReason(reason: unknown): StopReason {
  return reason === 'deadline' || reason === 'server-crashed' ? reason : 'cancelled';
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => { clearTimeout(timer); resolve(); }, { once: true });
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
  while (Date.now() < options.deadline) {
    if (options.signal?.aborted) return { ready: false, reason: 'cancelled while waiting for the server', died: false, lastFailure };
    try {
      const remaining = Math.max(500, Math.min(10_000, options.deadline - Date.now()));
      await postJson(`${options.baseUrl}/process`, processRequest(READINESS_PROMPT, { maxNewTokens: 1, temperature: 0, stopSequences: [] }), ProcessResponse, {
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
