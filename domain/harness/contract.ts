/**
 * The participant container's HTTP API (SUBMISSION_CONTRACT.md), as zod schemas, and a client with a
 * timeout on every endpoint. Responses are validated: "any HTTP answer" is not an answer.
 */
import { z } from 'zod';

/** What HELM sent in 2023 plus the fields participants declared (num_samples, top_k, seed). */
export const ProcessRequest = z.object({
  prompt: z.string(),
  temperature: z.number(),
  num_return_sequences: z.number().int().min(1),
  num_samples: z.number().int().min(1),
  max_new_tokens: z.number().int().min(1),
  top_p: z.number(),
  top_k: z.number().int(),
  top_k_per_token: z.number().int(),
  echo_prompt: z.boolean(),
  stop_sequences: z.array(z.string()),
  seed: z.number().int().nullable(),
});
export type ProcessRequest = z.infer<typeof ProcessRequest>;

export const TokenLogprob = z.object({
  text: z.string(),
  logprob: z.number(),
  top_logprob: z.record(z.string(), z.number()),
});

export const ProcessResponse = z.object({
  text: z.string(),
  tokens: z.array(TokenLogprob),
  logprob: z.number(),
  request_time: z.number(),
});
export type ProcessResponse = z.infer<typeof ProcessResponse>;

export const TokenizeResponse = z.object({ tokens: z.array(z.number().int()), request_time: z.number() });
export const DecodeResponse = z.object({ text: z.string(), request_time: z.number() });

/** HELM sends 1e-7 instead of 0 because some servers divide by the temperature. */
export const ZERO_TEMPERATURE = 1e-7;

export function processRequest(prompt: string, options: { maxNewTokens: number; temperature: number; stopSequences: string[]; seed?: number }): ProcessRequest {
  return {
    prompt,
    temperature: options.temperature === 0 ? ZERO_TEMPERATURE : options.temperature,
    num_return_sequences: 1,
    num_samples: 1,
    max_new_tokens: options.maxNewTokens,
    top_p: 1,
    top_k: 5,
    top_k_per_token: 5,
    echo_prompt: false,
    stop_sequences: options.stopSequences,
    seed: options.seed ?? 0,
  };
}

/** Why a request to a submission did not give a valid answer. */
export type RequestFailureKind = 'timeout' | 'connection' | 'http-status' | 'invalid-json' | 'schema' | 'too-large' | 'aborted';

export class RequestFailure extends Error {
  constructor(
    readonly kind: RequestFailureKind,
    message: string,
  ) {
    super(message);
    this.name = 'RequestFailure';
  }
}

const MAX_BODY_BYTES = 1_000_000;

/** POST a JSON body and validate the answer with `schema`; every failure becomes a RequestFailure. */
export async function postJson<T>(
  url: string,
  body: unknown,
  schema: z.ZodType<T>,
  options: { timeoutMs: number; signal?: AbortSignal },
): Promise<T> {
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
  let response: Response;
  try {
    response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal });
  } catch (error) {
    throw classifyFetchError(error, options, url);
  }
  let text: string;
  try {
    text = await readCapped(response, MAX_BODY_BYTES);
  } catch (error) {
    if (error instanceof RequestFailure) throw error;
    throw classifyFetchError(error, options, url);
  }
  if (!response.ok) throw new RequestFailure('http-status', `${url} answered HTTP ${response.status}: ${text.slice(0, 200)}`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new RequestFailure('invalid-json', `${url} answered with a body that is not JSON: ${JSON.stringify(text.slice(0, 120))}`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 5).map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`);
    throw new RequestFailure('schema', `${url} answered outside the contract: ${issues.join('; ')}`);
  }
  return parsed.data;
}

function classifyFetchError(error: unknown, options: { signal?: AbortSignal }, url: string): RequestFailure {
  if (options.signal?.aborted) return new RequestFailure('aborted', `request to ${url} aborted`);
  const name = (error as { name?: string }).name;
  if (name === 'TimeoutError' || name === 'AbortError') return new RequestFailure('timeout', `${url} did not answer in time`);
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return new RequestFailure('connection', `${url}: ${cause?.code ?? cause?.message ?? (error as Error).message}`);
}

async function readCapped(response: Response, maxBytes: number): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw new RequestFailure('too-large', `answer larger than ${maxBytes} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Cut a completion at the first stop sequence: done on our side, since 2023 servers ignored them. */
export function cutAtStopSequences(text: string, stopSequences: readonly string[]): string {
  let end = text.length;
  for (const stop of stopSequences) {
    if (stop === '') continue;
    const index = text.indexOf(stop);
    if (index !== -1 && index < end) end = index;
  }
  return text.slice(0, end);
}

/** The readiness probe of 2023, but requiring a valid contract answer. */
export const READINESS_PROMPT = 'The capital of France is ';
