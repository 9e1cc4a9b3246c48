/**
 * evaluateSuite with the throughput probe (issue 26): the probe's items are asked first, measured once, counted
 * as the stage's answers; a resumed stage skips what was answered; probe-only asks nothing else.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { MemoryAnswerStore, evaluateSuite, type EvaluationOptions } from '../../domain/harness/evaluate.js';
import { multipleChoicePrompt, type Suite } from '../../domain/harness/suite.js';
import { probeSample, type ProbeMeasurement } from '../../domain/harness/throughput.js';
import { startContractServer, type ContractServer } from '../support/contract-server.js';

function suiteOf(instances: number): Suite {
  const make = (scenario: string, pad: number) => ({
    name: scenario,
    title: scenario,
    kind: 'multiple_choice' as const,
    metric: 'exact_match' as const,
    instructions: `Questions about ${scenario}.`,
    inContext: [],
    instances: Array.from({ length: instances }, (_, i) => ({ id: `id${i}`, question: `${scenario} question ${i}${'?'.repeat(i * pad)}`, choices: ['w', 'x', 'y', 'z'], answer: i % 4 })),
  });
  return { schemaVersion: 1, name: 't', kind: 'open', version: '1', description: '', scenarios: [make('alpha', 1), make('beta', 3), make('gamma', 0)] };
}

const servers: ContractServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

const options = (suite: Suite, url: string, extra: Partial<EvaluationOptions> = {}): EvaluationOptions => ({
  baseUrl: url,
  suite,
  store: new MemoryAnswerStore(),
  concurrency: 4,
  requestTimeoutMs: 5000,
  maxAttempts: 2,
  retryBackoffMs: 10,
  ...extra,
});

/** The prompt each item of `suite` is asked with → its answer key. */
const keyOfPrompt = (suite: Suite) =>
  new Map(suite.scenarios.flatMap((scenario) => scenario.instances.map((instance) => [multipleChoicePrompt(scenario, instance), `${scenario.name}/${instance.id}`] as const)));

describe('evaluateSuite with a probe', () => {
  it('asks the probe items first, measures them once, and they count as the stage answers', async () => {
    const suite = suiteOf(20);
    const server = await startContractServer(suite, () => 'slow', 30);
    servers.push(server);
    const sample = probeSample(suite, { size: 12 });
    const measured: ProbeMeasurement[] = [];
    const summary = await evaluateSuite(options(suite, server.url, { probe: { sample, onMeasured: (m) => measured.push(m) } }));
    expect(summary).toMatchObject({ answered: 60, failed: 0 });
    const prompts = keyOfPrompt(suite);
    const asked = server.requests.filter((r) => r.path === '/process').map((r) => prompts.get((JSON.parse(r.body) as { prompt: string }).prompt));
    expect(asked).toHaveLength(60);
    expect(new Set(asked.slice(0, 12))).toEqual(new Set(sample.answerIds));
    expect(measured).toHaveLength(1);
    const m = measured[0]!;
    expect(m).toMatchObject({ items: 12, concurrency: 4 });
    expect(m.requests.map((r) => r.scenario).sort()).toEqual([...sample.answerIds].map((k) => k.split('/')[0]).sort());
    // 12 requests of ≥ 30 ms, 4 at a time: at least 3 rounds; 4 in flight while every worker had work.
    expect(m.wallMs).toBeGreaterThanOrEqual(90);
    for (const r of m.requests) expect(r.wallMs).toBeGreaterThanOrEqual(29);
    expect(m.inFlight).toBeGreaterThan(3.5);
    expect(m.inFlight).toBeLessThanOrEqual(4);
    expect(new Set(m.requests.map((r) => r.promptChars)).size).toBeGreaterThan(3);
  });

  it('probe-only asks the sample and nothing else; a resumed stage skips answered probe items and does not measure again', async () => {
    const suite = suiteOf(10);
    const server = await startContractServer(suite, () => 'ok');
    servers.push(server);
    const sample = probeSample(suite, { size: 9 });
    const store = new MemoryAnswerStore();
    const measured: ProbeMeasurement[] = [];
    const probe = { sample, onMeasured: (m: ProbeMeasurement) => measured.push(m) };
    const first = await evaluateSuite(options(suite, server.url, { store, probe: { ...probe, only: true } }));
    expect(first.answered).toBe(9);
    expect(server.requests.filter((r) => r.path === '/process')).toHaveLength(9);
    expect(new Set(store.all().map((a) => `${a.scenario}/${a.instanceId}`))).toEqual(new Set(sample.answerIds));
    expect(measured.map((m) => m.items)).toEqual([9]);
    const second = await evaluateSuite(options(suite, server.url, { store, probe }));
    expect(second).toMatchObject({ answered: 30, unanswered: 0 });
    expect(server.requests.filter((r) => r.path === '/process')).toHaveLength(30);
    expect(measured).toHaveLength(1);
  });
});
