import { afterEach, describe, expect, it } from '@jest/globals';
import { MemoryAnswerStore, evaluateSuite, waitForReadiness, type EvaluationOptions } from '../../domain/harness/evaluate.js';
import { cutAtStopSequences, processRequest, scoredCompletion, ZERO_TEMPERATURE } from '../../domain/harness/contract.js';
import { helmRequest, Scenario, stopSequenceRule } from '../../domain/harness/suite.js';
import type { Suite } from '../../domain/harness/suite.js';
import { startContractServer, type Behaviour, type ContractServer } from '../support/contract-server.js';

function suiteOf(instances: number): Suite {
  const make = (scenario: string) => ({
    name: scenario,
    title: scenario,
    kind: 'multiple_choice' as const,
    metric: 'exact_match' as const,
    instructions: `Questions about ${scenario}.`,
    inContext: [],
    instances: Array.from({ length: instances }, (_, i) => ({
      id: `id${i}`,
      question: `${scenario} question ${i}?`,
      choices: ['w', 'x', 'y', 'z'],
      answer: i % 4,
    })),
  });
  return { schemaVersion: 1, name: 't', kind: 'open', version: '1', description: '', scenarios: [make('alpha'), make('beta')] };
}

const servers: ContractServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(suite: Suite, behave: (prompt: string, nth: number) => Behaviour, slowMs?: number) {
  const server = await startContractServer(suite, behave, slowMs);
  servers.push(server);
  return server;
}

const options = (suite: Suite, url: string, extra: Partial<EvaluationOptions> = {}): EvaluationOptions => ({
  baseUrl: url,
  suite,
  store: new MemoryAnswerStore(),
  concurrency: 4,
  requestTimeoutMs: 2000,
  maxAttempts: 2,
  retryBackoffMs: 10,
  ...extra,
});

describe('contract client', () => {
  it("sends exactly HELM's HTTPModelClient fields, temperature 0 as 1e-7; no num_samples, top_k or seed", () => {
    const body = processRequest('Q', { maxNewTokens: 1, temperature: 0, stopSequences: ['\n'], topKPerToken: 5 });
    // Strict: an extra field (a reference, an instance id) would be a leak, so the body must be exactly this.
    expect(body).toStrictEqual({
      prompt: 'Q',
      temperature: ZERO_TEMPERATURE,
      num_return_sequences: 1,
      max_new_tokens: 1,
      top_p: 1,
      echo_prompt: false,
      top_k_per_token: 5,
      stop_sequences: ['\n'],
    });
    // HELM's Request default when the adapter sets none (generation, e.g. GSM8K)
    expect(processRequest('Q', { maxNewTokens: 400, temperature: 0, stopSequences: ['\n\n'] }).top_k_per_token).toBe(1);
  });

  it('helmRequest: multiple choice asks for top 5 log-probabilities, GSM8K for 1 (HELM run_specs)', () => {
    const mc = {
      name: 'm',
      title: 'M',
      kind: 'multiple_choice',
      metric: 'exact_match',
      instructions: '',
      inContext: [],
      instances: [{ id: 'id0', question: 'q', choices: ['a', 'b'], answer: 0 }],
    } as const;
    expect(helmRequest(Scenario.parse(mc))).toEqual({ maxNewTokens: 1, temperature: 0, stopSequences: [], topKPerToken: 5 });
    const gen = {
      name: 'g',
      title: 'G',
      kind: 'generation',
      metric: 'exact_match_indicator',
      instructions: '',
      format: { inputPrefix: 'Q: ', inputSuffix: '\n', outputPrefix: 'A: ', outputSuffix: '\n', instancePrefix: '\n' },
      request: { maxNewTokens: 400, temperature: 0, stopSequences: ['\n\n'] },
      inContext: [],
      instances: [{ id: 'id0', input: 'x', references: ['y'] }],
    } as const;
    expect(helmRequest(Scenario.parse(gen))).toEqual({ maxNewTokens: 400, temperature: 0, stopSequences: ['\n\n'], topKPerToken: 1 });
    expect(helmRequest(Scenario.parse({ ...gen, request: { ...gen.request, topKPerToken: 3 } })).topKPerToken).toBe(3);
  });

  it('stop sequences: 2023 scored the text as returned (not-cut); cut is the option', () => {
    const text = 'The answer is 72.\n\nQ: next';
    expect(scoredCompletion(text, ['\n\n'], 'not-cut')).toBe(text);
    expect(scoredCompletion(text, ['\n\n'], 'cut')).toBe('The answer is 72.');
    expect(stopSequenceRule({})).toBe('cut');
    expect(stopSequenceRule({ stopSequences: 'not-cut' })).toBe('not-cut');
  });

  it('cuts completions at the earliest stop sequence on our side', () => {
    expect(cutAtStopSequences('The answer is 72.\n\nQ: next', ['\n\n'])).toBe('The answer is 72.');
    expect(cutAtStopSequences('abc###def\n\nghi', ['\n\n', '###'])).toBe('abc');
    expect(cutAtStopSequences('no stop here', ['###', ''])).toBe('no stop here');
  });
});

describe('evaluateSuite', () => {
  it('scores every instance against a well-behaved server', async () => {
    const suite = suiteOf(10);
    const server = await serve(suite, () => 'ok');
    const summary = await evaluateSuite(options(suite, server.url));
    expect(summary).toMatchObject({ total: 20, answered: 20, failed: 0, unanswered: 0, stopReason: null });
    expect(summary.scenarios.map((s) => s.score)).toEqual([1, 1]);
  });

  it('isolates failures per instance: a server failing 20% of requests zeroes exactly those instances', async () => {
    const suite = suiteOf(25);
    // Every 5th instance of each scenario always fails, in a different way each time.
    const kinds: Behaviour[] = ['http-500', 'garbage', 'bad-types', 'huge', 'drop'];
    const failing = new Set<string>();
    suite.scenarios.forEach((s) => s.instances.forEach((instance, i) => i % 5 === 0 && failing.add(`${s.name}/${instance.id}`)));
    const server = await serve(suite, (prompt) => {
      const match = /(alpha|beta) question (\d+)\?/.exec(prompt);
      const index = Number(match?.[2]);
      return index % 5 === 0 ? kinds[(index / 5) % kinds.length]! : 'ok';
    });
    const store = new MemoryAnswerStore();
    const summary = await evaluateSuite(options(suite, server.url, { store }));
    expect(summary.answered).toBe(50);
    expect(summary.failed).toBe(10);
    const zeroed = store
      .all()
      .filter((a) => a.score === 0)
      .map((a) => `${a.scenario}/${a.instanceId}`)
      .sort();
    expect(zeroed).toEqual([...failing].sort());
    expect(summary.scenarios.map((s) => s.score)).toEqual([0.8, 0.8]);
    const kindsSeen = new Set(
      store
        .all()
        .filter((a) => a.errorKind)
        .map((a) => a.errorKind),
    );
    expect([...kindsSeen].sort()).toEqual(['connection', 'http-status', 'invalid-json', 'schema', 'too-large']);
  });

  it('retries a failed request and keeps the answer of the retry', async () => {
    const suite = suiteOf(4);
    const server = await serve(suite, (_prompt, nth) => (nth === 1 ? 'http-500' : 'ok'));
    const store = new MemoryAnswerStore();
    const summary = await evaluateSuite(options(suite, server.url, { store }));
    expect(summary.failed).toBe(0);
    expect(store.all().every((a) => a.attempts === 2 && a.score === 1)).toBe(true);
  });

  it('times out a slow request instead of waiting for it', async () => {
    const suite = suiteOf(2);
    const server = await serve(suite, (prompt) => (prompt.includes('alpha question 0?') ? 'slow' : 'ok'), 5000);
    const started = Date.now();
    const store = new MemoryAnswerStore();
    const summary = await evaluateSuite(options(suite, server.url, { store, requestTimeoutMs: 300, maxAttempts: 1 }));
    expect(Date.now() - started).toBeLessThan(4000);
    expect(store.all().find((a) => a.scenario === 'alpha' && a.instanceId === 'id0')?.errorKind).toBe('timeout');
    expect(summary.failed).toBe(1);
  });

  it('stops when aborted, keeps what was answered, and a resumed run asks no instance twice', async () => {
    const suite = suiteOf(30);
    const server = await serve(suite, () => 'slow', 100);
    const store = new MemoryAnswerStore();
    const controller = new AbortController();
    setTimeout(() => controller.abort('deadline'), 450);
    const first = await evaluateSuite(options(suite, server.url, { store, concurrency: 2, signal: controller.signal }));
    expect(first.stopReason).toBe('deadline');
    expect(first.answered).toBeGreaterThan(0);
    expect(first.answered).toBeLessThan(60);
    const second = await evaluateSuite(options(suite, server.url, { store, concurrency: 4 }));
    expect(second).toMatchObject({ answered: 60, unanswered: 0, failed: 0, stopReason: null });
    // Requests cut by the abort were never answered; every answered instance was answered exactly once.
    const answeredTwice = [...server.requestsByPrompt.values()].filter((n) => n > 2);
    expect(answeredTwice).toEqual([]);
    expect(second.requestsSent).toBe(60 - first.answered);
  });

  it('stops with server-crashed instead of zeroing everything when the server dies', async () => {
    const suite = suiteOf(10);
    const server = await serve(suite, () => 'ok');
    await server.close();
    const summary = await evaluateSuite(options(suite, server.url, { isServerAlive: async () => false }));
    expect(summary.stopReason).toBe('server-crashed');
    expect(summary.answered).toBe(0);
  });
});

describe('waitForReadiness', () => {
  it('requires a valid contract answer, not just any HTTP answer', async () => {
    const suite = suiteOf(1);
    const server = await serve(suite, () => 'garbage');
    const result = await waitForReadiness({ baseUrl: server.url, deadline: Date.now() + 700, isAlive: async () => true, pollMs: 100 });
    expect(result.ready).toBe(false);
    if (!result.ready) expect(result.reason).toMatch(/not JSON/);
  });

  it('is ready as soon as a valid answer comes', async () => {
    const suite = suiteOf(1);
    const server = await serve(suite, (_p, nth) => (nth < 3 ? 'http-500' : 'ok'));
    const result = await waitForReadiness({ baseUrl: server.url, deadline: Date.now() + 5000, isAlive: async () => true, pollMs: 50 });
    expect(result.ready).toBe(true);
  });

  it('gives up at once when the server process died', async () => {
    const result = await waitForReadiness({ baseUrl: 'http://127.0.0.1:9', deadline: Date.now() + 10_000, isAlive: async () => false });
    expect(result).toMatchObject({ ready: false, died: true });
  });
});
