/**
 * The participant container's HTTP API (SUBMISSION_CONTRACT.md), as zod schemas, and a client with a
 * timeout on every endpoint. Responses are validated: "any HTTP answer" is not an answer.
 */
import { Pool } from 'undici';
import { z } from 'zod';

/**
 * Exactly the fields HELM's HTTPModelClient sent to /process in 2023 (SUBMISSION_CONTRACT.md), no more: not
 * `num_samples`, `top_k` or `seed`, which the participants' servers declared but HELM never sent, so a server
 * sees their defaults, as in 2023. test/integration/helm-reference.test.ts compares each body with HELM's.
 */
export const ProcessRequest = z.object({
  prompt: z.string(),
  temperature: z.number(),
  num_return_sequences: z.number().int().min(1),
  max_new_tokens: z.number().int().min(1),
  top_p: z.number(),
  echo_prompt: z.boolean(),
  top_k_per_token: z.number().int(),
  stop_sequences: z.array(z.string()),
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

/**
 * The /process body HELM's HTTPModelClient.make_request builds from a Request: one completion, top_p 1, no echo,
 * `top_k_per_token` as the adapter set it (HELM's Request default 1 when not given; multiple choice asks for 5,
 * see `helmRequest` in suite.ts).
 */
export function processRequest(
  prompt: string,
  options: { maxNewTokens: number; temperature: number; stopSequences: string[]; topKPerToken?: number },
): ProcessRequest {
  return {
    prompt,
    temperature: options.temperature === 0 ? ZERO_TEMPERATURE : options.temperature,
    num_return_sequences: 1,
    max_new_tokens: options.maxNewTokens,
    top_p: 1,
    echo_prompt: false,
    top_k_per_token: options.topKPerToken ?? 1,
    stop_sequences: options.stopSequences,
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

/** Per-request options of every call to a submission: a time limit, and the caller's stop signal. */
export interface RequestOptions {
  timeoutMs: number;
  signal?: AbortSignal;
}

/**
 * What the harness needs from an HTTP client to one submission endpoint: POST a JSON body, validate the
 * answer with a zod schema, and turn every failure into a RequestFailure. `close` ends its connections.
 */
export interface SubmissionClient {
  post<T>(endpoint: string, body: unknown, schema: z.ZodType<T>, options: RequestOptions): Promise<T>;
  close(): Promise<void>;
}

/**
 * The submission client on undici's Pool: one pool of keep-alive connections per submission endpoint
 * (its origin), at most `connections` of them. Why not fetch: fetch wraps every request and answer in
 * web streams, and its per-call AbortSignal.timeout + AbortSignal.any cost 0.4–0.8 ms of main-thread
 * time per request and leave a WeakRef per call on the long-lived stop signal (Node 20, nodejs/node#55351;
 * bench/RESULTS.md §1, §5). Here the time limit is undici's own headers/body timeout, one timer kept on
 * the connection and refreshed for each request, and the caller's signal gets one listener that undici
 * removes when the request ends.
 */
export class PoolSubmissionClient implements SubmissionClient {
  private readonly pool: Pool;
  private readonly origin: string;

  constructor(baseUrl: string, options: { connections?: number } = {}) {
    this.origin = new URL(baseUrl).origin;
    this.pool = new Pool(this.origin, {
      connections: options.connections ?? null,
      // undici stops reading and fails with UND_ERR_RES_EXCEEDED_MAX_SIZE: classified as too-large.
      maxResponseSize: MAX_BODY_BYTES,
      pipelining: 1,
    });
  }

  async post<T>(endpoint: string, body: unknown, schema: z.ZodType<T>, options: RequestOptions): Promise<T> {
    const url = `${this.origin}${endpoint}`;
    let statusCode: number;
    let text: string;
    try {
      const response = await this.pool.request({
        path: endpoint,
        method: 'POST',
        headers: JSON_HEADERS,
        body: JSON.stringify(body),
        headersTimeout: options.timeoutMs,
        bodyTimeout: options.timeoutMs,
        signal: options.signal ?? null,
      });
      statusCode = response.statusCode;
      text = await response.body.text();
    } catch (error) {
      throw classifyClientError(error, options, url);
    }
    return validated(url, statusCode, text, schema);
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}

const JSON_HEADERS = { 'content-type': 'application/json' } as const;

/** One POST to a URL with a client of its own, closed afterwards (probes, one-off checks). */
export async function postJson<T>(url: string, body: unknown, schema: z.ZodType<T>, options: RequestOptions): Promise<T> {
  const parsed = new URL(url);
  const client = new PoolSubmissionClient(parsed.origin, { connections: 1 });
  try {
    return await client.post(`${parsed.pathname}${parsed.search}`, body, schema, options);
  } finally {
    await client.close().catch(() => undefined);
  }
}

/** An HTTP answer, judged against the contract: status, JSON, then the schema. */
export function validated<T>(url: string, statusCode: number, text: string, schema: z.ZodType<T>): T {
  if (statusCode < 200 || statusCode > 299) throw new RequestFailure('http-status', `${url} answered HTTP ${statusCode}: ${text.slice(0, 200)}`);
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

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

/** An error of the HTTP client as a RequestFailure: the same kinds and messages fetch's errors had. */
export function classifyClientError(error: unknown, options: { signal?: AbortSignal }, url: string): RequestFailure {
  if (error instanceof RequestFailure) return error;
  if (options.signal?.aborted) return new RequestFailure('aborted', `request to ${url} aborted`);
  const { code, name, message, cause } = error as { code?: unknown; name?: unknown; message?: unknown; cause?: { code?: string; message?: string } };
  if (code === 'UND_ERR_RES_EXCEEDED_MAX_SIZE') return new RequestFailure('too-large', `answer larger than ${MAX_BODY_BYTES} bytes`);
  if ((typeof code === 'string' && TIMEOUT_CODES.has(code)) || name === 'TimeoutError' || name === 'AbortError') {
    return new RequestFailure('timeout', `${url} did not answer in time`);
  }
  const why =
    typeof code === 'string' && !code.startsWith('UND_ERR') ? code : (cause?.code ?? cause?.message ?? (typeof message === 'string' ? message : String(error)));
  return new RequestFailure('connection', `${url}: ${why}`);
}

/** Cut a completion at the first stop sequence (the suite's `cut` rule; 2023's HELM never cut, see `stopSequenceRule`). */
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

/** The completion that is scored: as the server returned it under `not-cut` (2023), else cut at the stop sequences. */
export const scoredCompletion = (text: string, stopSequences: readonly string[], rule: 'not-cut' | 'cut'): string =>
  rule === 'not-cut' ? text : cutAtStopSequences(text, stopSequences);
