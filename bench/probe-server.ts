/**
 * The stand-in LLM server of the probe benchmark (bench/probe.ts), a worker thread: the real CPU sample
 * (examples/llm-finetune) needs Docker and the base image, so this serves the contract with a per-token
 * latency model instead. /tokenize cuts text into 4-character tokens (a BPE's ratio on English); /process holds
 * one of `slots` batch slots for base + prefill × prompt tokens + decode × generated tokens, times a seeded
 * log-normal jitter; a generation request produces 60–259 tokens (its prompt's hash) up to max_new_tokens,
 * multiple choice one. Requests beyond the slots wait in FIFO order, as a batching server's queue does.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import { mulberry32 } from '../domain/random.js';

export interface LatencyModel {
  slots: number;
  baseMs: number;
  prefillMsPerToken: number;
  decodeMsPerToken: number;
  /** σ of the log-normal jitter on each service time */
  jitter: number;
}

const model = workerData as LatencyModel;
const random = mulberry32(2023);
const vocabulary = new Map<string, number>();
const pieces: string[] = [];

const tokenize = (text: string): number[] => {
  const ids: number[] = [];
  for (let i = 0; i < text.length; i += 4) {
    const piece = text.slice(i, i + 4);
    let id = vocabulary.get(piece);
    if (id === undefined) {
      id = pieces.push(piece) - 1;
      vocabulary.set(piece, id);
    }
    ids.push(id);
  }
  return ids;
};

const hash = (text: string): number => {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
};

/** Standard normal (Box–Muller) from the seeded generator. */
const normal = (): number => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());

let free = model.slots;
const queue: (() => void)[] = [];
const acquire = (): Promise<void> => {
  if (free > 0) {
    free--;
    return Promise.resolve();
  }
  return new Promise((resolve) => queue.push(resolve));
};
const release = (): void => {
  const next = queue.shift();
  if (next) next();
  else free++;
};

function process(body: { prompt: string; max_new_tokens: number }, res: http.ServerResponse): void {
  const promptTokens = Math.ceil(body.prompt.length / 4);
  const generated = body.max_new_tokens <= 1 ? 1 : Math.min(body.max_new_tokens, 60 + (hash(body.prompt) % 200));
  void acquire().then(() => {
    const serviceMs = (model.baseMs + model.prefillMsPerToken * promptTokens + model.decodeMsPerToken * generated) * Math.exp(model.jitter * normal());
    setTimeout(() => {
      const tokens = Array.from({ length: generated }, (_, i) => ({ text: i === 0 ? ' A' : ' x', logprob: -0.1, top_logprob: { ' A': -0.1 } }));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ text: tokens.map((t) => t.text).join(''), tokens, logprob: -0.1 * generated, request_time: serviceMs / 1000 }));
      release();
    }, serviceMs);
  });
}

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    let body: { prompt?: string; max_new_tokens?: number; text?: string; truncation?: boolean; max_length?: number; tokens?: number[] };
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as typeof body;
    } catch {
      res.writeHead(400).end('{"error":"bad json"}');
      return;
    }
    const json = (value: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(value));
    if (req.url === '/tokenize') {
      const ids = tokenize(body.text ?? '');
      const kept = body.truncation && body.max_length !== undefined ? ids.slice(0, body.max_length) : ids;
      return json({ tokens: kept, request_time: 0 });
    }
    if (req.url === '/decode') return json({ text: (body.tokens ?? []).map((id) => pieces[id] ?? '').join(''), request_time: 0 });
    if (req.url === '/process') return process({ prompt: body.prompt ?? '', max_new_tokens: body.max_new_tokens ?? 1 }, res);
    res.writeHead(404).end('{}');
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => parentPort?.postMessage((server.address() as AddressInfo).port));
parentPort?.on('message', () => {
  server.closeAllConnections();
  server.close(() => parentPort?.postMessage('closed'));
});
