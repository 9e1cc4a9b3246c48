/**
 * Conformance preflight: exercises every endpoint of a submission's server once and reports every way
 * it departs from the published contract, in one message, before an evaluation is queued for it.
 * A server passes only with valid answers (not merely HTTP answers).
 */
import { request } from 'undici';
import { z } from 'zod';
import { DecodeResponse, ProcessResponse, RequestFailure, TokenizeResponse, postJson, processRequest } from './contract.js';

export interface ConformanceResult {
  ok: boolean;
  violations: string[];
  checks: { name: string; ok: boolean; detail: string }[];
}

/** Token log-probabilities must add up to the answer's logprob (within this tolerance). */
export const LOGPROB_TOLERANCE = 1e-3;

const MULTIPLE_CHOICE_PROBE =
  'The following are multiple choice questions (with answers) about capital cities.\n\nQuestion: What is the capital of France?\nA. Paris\nB. Rome\nC. Madrid\nD. Berlin\nAnswer:';
const GENERATION_PROBE = 'Q: Natalia sold 48 clips in April and half as many in May. How many clips did she sell altogether?\nA:';

export async function checkConformance(baseUrl: string, options: { timeoutMs?: number } = {}): Promise<ConformanceResult> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const checks: ConformanceResult['checks'] = [];
  const check = async <T>(name: string, run: () => Promise<T>, verify: (value: T) => string | null = () => null): Promise<T | null> => {
    try {
      const value = await run();
      const problem = verify(value);
      checks.push({ name, ok: problem === null, detail: problem ?? 'ok' });
      return value;
    } catch (error) {
      checks.push({ name, ok: false, detail: error instanceof RequestFailure ? `${error.kind}: ${error.message}` : String(error) });
      return null;
    }
  };
  const logprobsAddUp = (response: ProcessResponse): string | null => {
    const sum = response.tokens.reduce((total, token) => total + token.logprob, 0);
    if (Math.abs(sum - response.logprob) > LOGPROB_TOLERANCE * Math.max(1, Math.abs(response.logprob))) {
      return `token logprobs add up to ${sum.toFixed(6)} but "logprob" is ${response.logprob.toFixed(6)}`;
    }
    if (response.tokens.some((token) => token.logprob > 1e-9)) return 'a token logprob is positive (log-probabilities are ≤ 0)';
    return null;
  };

  await check(
    '/process answers a multiple-choice prompt with one token',
    () =>
      postJson(`${baseUrl}/process`, processRequest(MULTIPLE_CHOICE_PROBE, { maxNewTokens: 1, temperature: 0, stopSequences: [] }), ProcessResponse, {
        timeoutMs,
      }),
    (response) => logprobsAddUp(response) ?? (response.tokens.length > 1 ? `asked for 1 new token, got ${response.tokens.length}` : null),
  );
  await check(
    '/process answers a generation prompt',
    () =>
      postJson(`${baseUrl}/process`, processRequest(GENERATION_PROBE, { maxNewTokens: 20, temperature: 0, stopSequences: ['\n\n'] }), ProcessResponse, {
        timeoutMs,
      }),
    (response) => logprobsAddUp(response) ?? (response.tokens.length > 20 ? `asked for at most 20 new tokens, got ${response.tokens.length}` : null),
  );
  await check(
    '/process with echo_prompt returns the prompt first',
    () =>
      postJson(
        `${baseUrl}/process`,
        { ...processRequest('Echo this: ', { maxNewTokens: 2, temperature: 0, stopSequences: [] }), echo_prompt: true },
        ProcessResponse,
        { timeoutMs },
      ),
    (response) =>
      response.text.startsWith('Echo this: ')
        ? null
        : `with echo_prompt the text must start with the prompt, got ${JSON.stringify(response.text.slice(0, 40))}`,
  );
  const tokenized = await check(
    '/tokenize returns integer token ids',
    () => postJson(`${baseUrl}/tokenize`, { text: 'The capital of France is Paris.', truncation: true, max_length: 2048 }, TokenizeResponse, { timeoutMs }),
    (response) => (response.tokens.length === 0 ? 'no tokens for a non-empty text' : null),
  );
  await check(
    '/tokenize honours truncation and max_length',
    () =>
      postJson(`${baseUrl}/tokenize`, { text: 'one two three four five six seven eight nine ten', truncation: true, max_length: 3 }, TokenizeResponse, {
        timeoutMs,
      }),
    (response) => (response.tokens.length > 3 ? `max_length 3 with truncation returned ${response.tokens.length} tokens` : null),
  );
  if (tokenized) {
    await check(
      '/decode turns the token ids back into text',
      () => postJson(`${baseUrl}/decode`, { tokens: tokenized.tokens }, DecodeResponse, { timeoutMs }),
      (response) => (response.text.trim() === '' ? 'decoding the tokens of a non-empty text gave an empty text' : null),
    );
  }
  await check(
    'a body that is not JSON gets a client error, not a crash',
    async () => {
      const response = await request(`${baseUrl}/process`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{not json',
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      await response.body.dump();
      return response.statusCode;
    },
    (status) => (status >= 400 && status < 500 ? null : `answered HTTP ${status} to a malformed body (expected 4xx)`),
  );
  await check('the server still answers after the malformed body', () =>
    postJson(`${baseUrl}/process`, processRequest(MULTIPLE_CHOICE_PROBE, { maxNewTokens: 1, temperature: 0, stopSequences: [] }), ProcessResponse, {
      timeoutMs,
    }),
  );

  const violations = checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail}`);
  return { ok: violations.length === 0, violations, checks };
}

export function renderConformance(url: string, result: ConformanceResult): string {
  const lines = result.checks.map((c) => `  ${c.ok ? 'ok  ' : 'FAIL'} ${c.name}${c.ok ? '' : ` — ${c.detail}`}`);
  return [`conformance of ${url}: ${result.ok ? 'passes' : `${result.violations.length} violation(s)`}`, ...lines].join('\n');
}

export const ConformanceUrl = z.url();
