/**
 * The submission client as it was before undici's Pool (commit ae35fac, domain/harness/contract.ts
 * postJson): Node's fetch, with AbortSignal.timeout + AbortSignal.any per request and a capped read of
 * the body's web stream. Kept for the benchmarks only, to measure both clients in one run.
 */
import type { z } from 'zod';
import { RequestFailure, validated, type RequestOptions, type SubmissionClient } from '../domain/harness/contract.js';

const MAX_BODY_BYTES = 1_000_000;

export class FetchSubmissionClient implements SubmissionClient {
  constructor(private readonly baseUrl: string) {}

  async post<T>(endpoint: string, body: unknown, schema: z.ZodType<T>, options: RequestOptions): Promise<T> {
    const url = `${this.baseUrl}${endpoint}`;
    const timeout = AbortSignal.timeout(options.timeoutMs);
    const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
    let response: Response;
    try {
      response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body), signal });
    } catch (error) {
      throw classify(error, options, url);
    }
    let text: string;
    try {
      text = await readCapped(response, MAX_BODY_BYTES);
    } catch (error) {
      if (error instanceof RequestFailure) throw error;
      throw classify(error, options, url);
    }
    return validated(url, response.status, text, schema);
  }

  async close(): Promise<void> {
    // fetch's connections belong to Node's global dispatcher
  }
}

function classify(error: unknown, options: { signal?: AbortSignal }, url: string): RequestFailure {
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
