/**
 * "Only prompts are sent: closed-suite references never leave the harness." The harness evaluates the real
 * closed suite (suites/neurips2023/closed-small.json, with its robustness and fairness variants and prompt
 * fitting through /tokenize and /decode) against an in-process contract server that records every request
 * body; no body may carry an evaluated instance's gold answer, its label, its id or its metadata.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import path from 'node:path';
import { MemoryAnswerStore, evaluateSuite, type EvaluationSummary } from '../../domain/harness/evaluate.js';
import { letter, loadSuite, type MultipleChoiceInstance, type Suite } from '../../domain/harness/suite.js';
import { PROJECT_ROOT } from '../../infra/paths.js';
import { startContractServer, type ContractServer } from '../support/contract-server.js';

const SUITE_FILE = path.join(PROJECT_ROOT, 'suites', 'neurips2023', 'closed-small.json');
/** The fields of the 2023 contract's requests (domain/harness/contract.ts): nothing else may be sent. */
const REQUEST_FIELDS: Record<string, string[]> = {
  '/process': [
    'prompt',
    'temperature',
    'num_return_sequences',
    'num_samples',
    'max_new_tokens',
    'top_p',
    'top_k',
    'top_k_per_token',
    'echo_prompt',
    'stop_sequences',
    'seed',
  ],
  '/tokenize': ['text', 'truncation', 'max_length'],
  '/decode': ['tokens'],
};

let suite: Suite;
let server: ContractServer;
let summary: EvaluationSummary;

beforeAll(async () => {
  suite = loadSuite(SUITE_FILE);
  server = await startContractServer(suite);
  // 1,024 tokens (bytes, for this server) so that long corr2cause prompts go through /tokenize and /decode too.
  summary = await evaluateSuite({
    baseUrl: server.url,
    suite,
    store: new MemoryAnswerStore(),
    concurrency: 8,
    requestTimeoutMs: 5000,
    maxAttempts: 2,
    retryBackoffMs: 10,
    maxPromptTokens: 1024,
  });
}, 60_000);

afterAll(async () => {
  await server?.close();
});

/** What a request carries as text: the prompt, the text to tokenize, or the tokens to decode as bytes. */
function textOf(request: { path: string; body: string }): string {
  const body = JSON.parse(request.body) as { prompt?: string; text?: string; tokens?: number[] };
  if (request.path === '/decode') return Buffer.from((body.tokens ?? []).map((t) => t % 256)).toString('utf8');
  return body.prompt ?? body.text ?? '';
}

describe('closed-suite references never leave the harness', () => {
  it('evaluated every closed instance, prompt fitting included', () => {
    expect(summary.unanswered).toBe(0);
    expect(summary.failed).toBe(0);
    const paths = new Set(server.requests.map((r) => r.path));
    expect([...paths].sort()).toEqual(['/decode', '/process', '/tokenize']);
    expect(server.requests.length).toBeGreaterThan(100);
  });

  it('sends only the contract fields', () => {
    for (const request of server.requests) {
      const fields = Object.keys(JSON.parse(request.body) as object);
      expect({ path: request.path, extra: fields.filter((f) => !REQUEST_FIELDS[request.path]!.includes(f)) }).toEqual({ path: request.path, extra: [] });
    }
  });

  it("sends no evaluated instance's answer: every prompt ends at the answer cue, and labelled blocks are only the in-context examples", () => {
    let labelledSeen = 0;
    const everything = server.requests.map(textOf).join('\u0000');
    for (const scenario of suite.scenarios) {
      if (scenario.kind !== 'multiple_choice') continue;
      const cue = `${scenario.outputNoun ?? 'Answer'}:`;
      const inContextQuestions = scenario.inContext.map((example) => example.question);
      for (const instance of scenario.instances as MultipleChoiceInstance[]) {
        // The block the harness would write if it showed this instance with its answer, as an in-context example.
        const options = instance.choices.map((choice, index) => `${letter(index)}. ${choice}\n`).join('');
        const answered = `${instance.question}\n${options}${cue} ${letter(instance.answer)}`;
        expect(everything.includes(answered)).toBe(false);
      }
      // Every "Answer: X" a prompt holds belongs to one of the scenario's in-context examples.
      for (const request of server.requests.filter((r) => r.path === '/process')) {
        const prompt = textOf(request);
        if (!instancesOf(scenario).some((q) => prompt.includes(q))) continue;
        // A prompt too long for the window even without examples is cut from the right (HELM's truncation), cue and all.
        if (!prompt.endsWith(cue)) expect(Buffer.byteLength(prompt, 'utf8')).toBeLessThanOrEqual(1024);
        const labelled = [...prompt.matchAll(new RegExp(`\\n${escape(cue)} [A-Z]\\n`, 'g'))].length;
        expect(labelled).toBeLessThanOrEqual(inContextQuestions.length);
        labelledSeen += labelled;
      }
    }
    expect(labelledSeen).toBeGreaterThan(0); // the check saw the in-context examples it allows
  });

  it('sends no instance id, no metadata label and no gold index', () => {
    const all = server.requests.map((r) => `${r.body}\n${textOf(r)}`).join('\n');
    for (const scenario of suite.scenarios) {
      for (const instance of scenario.instances) {
        expect(new RegExp(`\\b${escape(instance.id)}\\b`).test(all)).toBe(false);
        const meta = (instance as { meta?: Record<string, unknown> }).meta ?? {};
        for (const value of Object.values(meta)) if (typeof value === 'string' && /[_a-z]{6,}/.test(value)) expect(all.includes(value)).toBe(false);
      }
    }
    expect(all).not.toMatch(/"(answer|answers|references|gold|label|correct)"\s*:/);
  });
});

/** The questions of a scenario's evaluated instances (to tell its prompts from another scenario's). */
function instancesOf(scenario: Suite['scenarios'][number]): string[] {
  return (scenario.instances as { question?: string }[]).map((i) => (i.question ?? '').slice(0, 120)).filter(Boolean);
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
