/**
 * The bare HTTP client loops of the harness benchmark: the same POST the harness sends, with no harness
 * around it, through Node's fetch, node:http with a keep-alive agent, and undici's Pool.
 */
import http from 'node:http';
import { Pool } from 'undici';
import { HARNESS_DEFAULTS } from '../temporal.config.js';

export type Client = (url: string, body: string) => Promise<unknown>;

export const viaFetch: Client = async (url, body) => {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    signal: AbortSignal.timeout(HARNESS_DEFAULTS.requestTimeoutMs),
  });
  return JSON.parse(await response.text()) as unknown;
};

export const agent = new http.Agent({ keepAlive: true });
export const viaHttp: Client = (url, body) =>
  new Promise((resolve, reject) => {
    const request = http.request(
      url,
      {
        method: 'POST',
        agent,
        timeout: HARNESS_DEFAULTS.requestTimeoutMs,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown));
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(body);
  });

/** A bare undici Pool loop: one pool per origin, as the harness's client keeps. */
export const pools = new Map<string, Pool>();
export const viaPool: Client = async (url, body) => {
  const { origin, pathname } = new URL(url);
  let pool = pools.get(origin);
  if (!pool) pools.set(origin, (pool = new Pool(origin)));
  const response = await pool.request({
    path: pathname,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    headersTimeout: HARNESS_DEFAULTS.requestTimeoutMs,
    bodyTimeout: HARNESS_DEFAULTS.requestTimeoutMs,
  });
  return JSON.parse(await response.body.text()) as unknown;
};

