/**
 * The evaluation loop: asks every instance of a suite exactly once (bounded concurrency, per-request
 * timeout, bounded retries), persists each answer as it arrives, and isolates failures: an instance
 * that still fails scores 0 and never aborts its scenario. A resumed run skips persisted instances.
 */
import {
  PERTURBATION_KINDS,
  groupColumns,
  groupPerturbations,
  instancePrompt,
  perturbationColumn,
  perturbedVariants,
  requestSettings,
  scenarioColumn,
  scenarioGroups,
  scoreInstance,
  type PerturbationKind,
  type Scenario,
  type Suite,
  type SuiteInstance,
} from './suite.js';
import { worstCase } from '../metrics/index.js';
import { DecodeResponse, ProcessResponse, READINESS_PROMPT, RequestFailure, TokenizeResponse, cutAtStopSequences, postJson, processRequest, type RequestFailureKind } from './contract.js';

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
  /** the completion's log-probability (sum over its tokens) as the server reported it; null without an answer */
  logprob?: number | null;
  /** tokens the server generated for the completion (before our stop-sequence cut) */
  completionTokens?: number | null;
  /** the server's own `request_time`, in ms: the model's share of latencyMs */
  serverMs?: number | null;
}

/**
 * Where answers live between attempts of an evaluation (the results database in production: SQLite
 * answers at once, PostgreSQL with a promise). An answer counts as kept once `save` has resolved.
 */
export interface AnswerStore {
  /** keys `${scenario}/${instanceId}` of instances already answered (successfully or not) */
  answeredKeys(): Set<string> | Promise<Set<string>>;
  save(answer: InstanceAnswer): void | Promise<void>;
  all(): InstanceAnswer[] | Promise<InstanceAnswer[]>;
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
  /** The model's window (prompt + completion), 2048 in 2023; prompts are fitted into it (see fitPrompt). */
  maxPromptTokens?: number;
}

export interface ScenarioResult {
  scenario: string;
  column: string;
  instances: number;
  answered: number;
  failed: number;
  /** the scenario's metric averaged over all instances; unanswered and failed instances count 0 */
  score: number;
  /** every column of the scenario: the metric, then "(Robustness)" / "(Fairness)" worst cases when asked for */
  columns: { column: string; score: number }[];
  /**
   * Set on a group's result only (`scenario` is then the group's name): the scenarios it averages. Its
   * counts are sums over those scenarios, already counted in their own results: never add them again.
   */
  members?: string[];
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
  /** one result per scenario of the suite, in suite order, then one per scenario group (with `members`) */
  scenarios: ScenarioResult[];
}

interface WorkItem {
  scenario: Scenario;
  /** the instance as asked: the original, or one of its perturbed variants */
  instance: SuiteInstance;
  /** the id its answer is stored under: the instance id, or `<id>~<perturbation>` for a variant */
  answerId: string;
  /** the original instance id, and the kind of perturbation (null for the original) */
  instanceId: string;
  kind: PerturbationKind | null;
}

/** Everything a suite asks: each instance, then its perturbed variants where the scenario asks for them. */
export function workItems(suite: Suite): WorkItem[] {
  const items: WorkItem[] = [];
  for (const scenario of suite.scenarios) {
    for (const instance of scenario.instances) {
      items.push({ scenario, instance, answerId: instance.id, instanceId: instance.id, kind: null });
      for (const variant of perturbedVariants(scenario, instance)) {
        items.push({ scenario, instance: variant.instance, answerId: `${instance.id}~${variant.perturbation}`, instanceId: instance.id, kind: variant.category });
      }
    }
  }
  return items;
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
  const items = workItems(options.suite);
  const pending = items.filter((item) => !done.has(answerKey(item.scenario.name, item.answerId)));
  const total = items.length;
  let answered = done.size;
  let failed = (await options.store.all()).filter((a) => a.completion === null).length;
  let requestsSent = 0;
  let stopReason: StopReason | null = null;
  const stopController = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stopController.signal]) : stopController.signal;
  const stop = (reason: StopReason): void => {
    stopReason ??= reason;
    if (!stopController.signal.aborted) stopController.abort(reason);
  };
  const onAbort = () => stop(toStopReason(options.signal?.reason));
  options.signal?.addEventListener('abort', onAbort, { once: true });
  if (options.signal?.aborted) stop(toStopReason(options.signal.reason));

  let next = 0;
  const call = <T>(endpoint: string, body: unknown, schema: Parameters<typeof postJson<T>>[2]) =>
    postJson(`${options.baseUrl}${endpoint}`, body, schema, { timeoutMs: options.requestTimeoutMs, signal });
  const tokenize = async (text: string, maxLength: number | null) =>
    (await call('/tokenize', { text, truncation: maxLength !== null, max_length: maxLength ?? 1_000_000 }, TokenizeResponse)).tokens;
  const decode = async (tokens: number[]) => (await call('/decode', { tokens }, DecodeResponse)).text;

  const askOne = async (item: WorkItem): Promise<void> => {
    const settings = requestSettings(item.scenario);
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
        const response = await postJson(`${options.baseUrl}/process`, body, ProcessResponse, { timeoutMs: options.requestTimeoutMs, signal });
        answer = cutAtStopSequences(response.text, body.stop_sequences);
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
    if (answer !== null) return await record({ completion: answer, score: scoreInstance(item.scenario, item.instance, answer), errorKind: null, error: null, ...reported });
    await record({ completion: null, score: 0, errorKind: lastFailure?.kind ?? 'connection', error: lastFailure?.message ?? 'no answer' });

    async function record(result: Pick<InstanceAnswer, 'completion' | 'score' | 'errorKind' | 'error' | 'logprob' | 'completionTokens' | 'serverMs'>): Promise<void> {
      await options.store.save({
        scenario: item.scenario.name,
        instanceId: item.answerId,
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
  // A caller's long-lived signal must not keep this run's closure (the work list) alive.
  options.signal?.removeEventListener('abort', onAbort);
  return summarize(options.suite, await options.store.all(), requestsSent, stopReason);
}

export function summarize(suite: Suite, answers: InstanceAnswer[], requestsSent: number, stopReason: StopReason | null): EvaluationSummary {
  const byKey = new Map(answers.map((a) => [answerKey(a.scenario, a.instanceId), a]));
  const items = workItems(suite);
  const scenarios = suite.scenarios.map((scenario): ScenarioResult => {
    const mine = items.filter((item) => item.scenario === scenario);
    const answerOf = (item: WorkItem) => byKey.get(answerKey(scenario.name, item.answerId));
    const scoreOf = (item: WorkItem) => answerOf(item)?.score ?? 0; // unanswered counts 0
    const originals = mine.filter((item) => item.kind === null);
    const mean = (values: number[]) => values.reduce((sum, v) => sum + v, 0) / scenario.instances.length;
    const columns = [{ column: scenarioColumn(scenario), score: mean(originals.map(scoreOf)) }];
    for (const kind of PERTURBATION_KINDS) {
      if (!(scenario.perturbations ?? []).includes(kind)) continue;
      // HELM's per-instance worst case over the original and every variant of that kind.
      const worst = originals.map((original) =>
        worstCase(scoreOf(original), mine.filter((item) => item.instanceId === original.instanceId && item.kind === kind).map(scoreOf)),
      );
      columns.push({ column: perturbationColumn(scenario, kind), score: mean(worst) });
    }
    const asked = mine.map(answerOf).filter((a): a is InstanceAnswer => a !== undefined);
    return {
      scenario: scenario.name,
      column: columns[0]!.column,
      instances: scenario.instances.length,
      answered: asked.length,
      failed: asked.filter((a) => a.completion === null).length,
      score: columns[0]!.score,
      columns,
    };
  });
  const failuresByKind: Partial<Record<RequestFailureKind, number>> = {};
  for (const answer of answers) if (answer.errorKind) failuresByKind[answer.errorKind] = (failuresByKind[answer.errorKind] ?? 0) + 1;
  const answered = scenarios.reduce((s, r) => s + r.answered, 0);
  return {
    total: items.length,
    answered,
    failed: scenarios.reduce((s, r) => s + r.failed, 0),
    unanswered: items.length - answered,
    requestsSent,
    stopReason,
    failuresByKind,
    scenarios: [...scenarios, ...groupResults(suite, scenarios)],
  };
}

/**
 * One result per scenario group: each column is the unweighted mean over the group's scenarios of that
 * column (HELM's macro-average over run specs); a perturbation column averages the scenarios that ask for it.
 */
function groupResults(suite: Suite, results: readonly ScenarioResult[]): ScenarioResult[] {
  return scenarioGroups(suite.scenarios).map((group): ScenarioResult => {
    const mine = group.scenarios.map((scenario) => ({ scenario, result: results[suite.scenarios.indexOf(scenario)]! }));
    const average = (pick: (entry: (typeof mine)[number]) => number | undefined): number => {
      const values = mine.map(pick).filter((v): v is number => v !== undefined);
      return values.reduce((sum, v) => sum + v, 0) / values.length;
    };
    const named = groupColumns(group);
    const columns = [
      { column: named[0]!, score: average((entry) => entry.result.score) },
      ...groupPerturbations(group).map((kind, i) => ({
        column: named[i + 1]!,
        score: average((entry) => entry.result.columns.find((c) => c.column === perturbationColumn(entry.scenario, kind))?.score),
      })),
    ];
    return {
      scenario: group.name,
      column: columns[0]!.column,
      instances: mine.reduce((sum, entry) => sum + entry.result.instances, 0),
      answered: mine.reduce((sum, entry) => sum + entry.result.answered, 0),
      failed: mine.reduce((sum, entry) => sum + entry.result.failed, 0),
      score: columns[0]!.score,
      columns,
      members: group.scenarios.map((scenario) => scenario.name),
    };
  });
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
