import { afterEach, describe, expect, it } from '@jest/globals';
import { MemoryAnswerStore, evaluateSuite, fitPrompt, workItems } from '../../domain/harness/evaluate.js';
import { instancePrompt, type Scenario, type Suite } from '../../domain/harness/suite.js';
import { startContractServer, type ContractServer } from '../support/contract-server.js';

const servers: ContractServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

function perturbedSuite(): Suite {
  return {
    schemaVersion: 1,
    name: 'variants',
    kind: 'open',
    version: '1',
    description: '',
    scenarios: [
      {
        name: 'pronouns',
        title: 'Pronouns',
        kind: 'multiple_choice',
        metric: 'exact_match',
        instructions: 'Questions.',
        inContext: [],
        perturbations: ['robustness', 'fairness'],
        instances: Array.from({ length: 6 }, (_, i) => ({
          id: `id${i}`,
          question: `Where did John put his Book number ${i} yesterday?`,
          choices: ['Here', 'There', 'Nowhere'],
          answer: i % 2 === 0 ? 0 : 2,
        })),
      },
    ],
  };
}

describe('robustness and fairness through the harness', () => {
  it('asks every perturbed variant once and scores each column as the per-instance worst case', async () => {
    const suite = perturbedSuite();
    const items = workItems(suite);
    const variants = items.filter((item) => item.kind !== null);
    expect(variants.some((v) => v.kind === 'robustness')).toBe(true);
    expect(variants.some((v) => v.kind === 'fairness')).toBe(true);
    // The server knows the gold answers of the original prompts only; to any other prompt it answers "B",
    // which is never the gold answer here: every variant is answered wrongly.
    const server = await startContractServer(suite, (prompt) => (prompt.includes('Where did John put his Book') ? 'ok' : 'wrong'));
    servers.push(server);
    const store = new MemoryAnswerStore();
    const summary = await evaluateSuite({ baseUrl: server.url, suite, store, concurrency: 3, requestTimeoutMs: 2000, maxAttempts: 1, retryBackoffMs: 10 });
    expect(summary).toMatchObject({ total: items.length, answered: items.length, unanswered: 0 });
    expect([...server.requestsByPrompt.values()].every((n) => n === 1)).toBe(true);
    expect(server.totalRequests()).toBe(items.length);
    expect(summary.scenarios[0]!.columns).toEqual([
      { column: 'pronouns - EM', score: 1 },
      { column: 'pronouns - EM (Robustness)', score: 0 },
      { column: 'pronouns - EM (Fairness)', score: 0 },
    ]);
    expect(store.all().some((a) => a.instanceId.includes('~'))).toBe(true);
  });
});

describe('fitPrompt (the 2048-token window)', () => {
  const words = (text: string) => text.split(/\s+/).filter(Boolean);
  const scenario: Scenario = {
    name: 'long',
    title: 'Long',
    kind: 'multiple_choice',
    metric: 'exact_match',
    instructions: 'Questions.',
    inContext: Array.from({ length: 3 }, (_, i) => ({ id: `train${i}`, question: `${'word '.repeat(400)}example ${i}?`, choices: ['a', 'b'], answer: 0 })),
    instances: [{ id: 'id0', question: 'Which is it?', choices: ['a', 'b'], answer: 1 }],
  };
  const instance = scenario.instances[0]!;
  const tokenizeCalls: (number | null)[] = [];
  const tokenize = async (text: string, maxLength: number | null) => {
    tokenizeCalls.push(maxLength);
    const ids = words(text).map((_, i) => i);
    return maxLength === null ? ids : ids.slice(0, maxLength);
  };
  const decode = async (tokens: number[]) => tokens.map(() => 'w').join(' ');

  it('sends a short prompt as it is without asking the server', async () => {
    tokenizeCalls.length = 0;
    const fitted = await fitPrompt({ ...scenario, inContext: [] } as Scenario, instance, 2048, tokenize, decode);
    expect(fitted).toEqual({ prompt: instancePrompt({ ...scenario, inContext: [] } as Scenario, instance), droppedExamples: 0, truncated: false });
    expect(tokenizeCalls).toEqual([]);
  });

  it('drops in-context examples, last first, until prompt and completion fit', async () => {
    // 3 examples of ~410 words each; a window of 1000 tokens keeps two of them.
    const fitted = await fitPrompt(scenario, instance, 1000, tokenize, decode);
    expect(fitted.droppedExamples).toBe(1);
    expect(fitted.truncated).toBe(false);
    expect(fitted.prompt).toBe(instancePrompt({ ...scenario, inContext: scenario.inContext.slice(0, 2) } as Scenario, instance));
  });

  it('cuts the prompt with /tokenize and /decode when even no example fits', async () => {
    const long = { ...scenario, instances: [{ ...instance, question: `${'long '.repeat(50)}question?` }] } as Scenario;
    const fitted = await fitPrompt(long, long.instances[0]!, 20, tokenize, decode);
    expect(fitted).toMatchObject({ droppedExamples: 3, truncated: true });
    expect(words(fitted.prompt)).toHaveLength(19); // window 20 minus the one new token
  });
});
