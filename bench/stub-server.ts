/**
 * The stub contract server of the harness benchmarks (a worker thread or a child process, see startStubServer
 * in support.ts): POST /process answers a valid contract response after a fixed service time L while
 * holding one of C slots; requests beyond C wait in FIFO order for a slot.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import type { StubOptions } from './support.js';

type Message = { type: string; payload?: unknown };
interface Channel {
  postMessage: (message: Message) => void;
  on: (event: 'message', listener: (message: Message) => void) => void;
}

/** The channel to the benchmark: the worker thread's port, or the child process's IPC channel. */
function channelToBenchmark(): Channel {
  if (parentPort) return parentPort;
  const send = process.send?.bind(process);
  if (!send) throw new Error('stub-server.js runs as a worker thread or as a child process with an IPC channel');
  return { postMessage: (message) => send(message), on: (_event, listener) => process.on('message', listener) };
}

const port = channelToBenchmark();
const { latencyMs, slots } = (parentPort ? workerData : JSON.parse(process.env.STUB_OPTIONS ?? '{}')) as StubOptions;
// The stub's own event-loop busy time, measured where it runs (a thread's or a process's loop).
let elu = performance.eventLoopUtilization();

let free = slots;
const queue: (() => void)[] = [];
let requests = 0;
let maxInService = 0;
let maxQueued = 0;
let holdMsSum = 0;

const acquire = (): Promise<void> => {
  if (free > 0) {
    free--;
    maxInService = Math.max(maxInService, slots - free);
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    queue.push(resolve);
    maxQueued = Math.max(maxQueued, queue.length);
  });
};
const release = (): void => {
  const next = queue.shift();
  if (next)
    next(); // the slot passes straight to the next waiter
  else free++;
};

const answer = (text: string) =>
  JSON.stringify({ text, tokens: [{ text, logprob: -0.1, top_logprob: { [text]: -0.1 } }], logprob: -0.1, request_time: latencyMs / 1000 });

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    if (req.method !== 'POST' || req.url !== '/process') {
      res.writeHead(404).end('{}');
      return;
    }
    let prompt = '';
    try {
      prompt = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { prompt?: string }).prompt ?? '';
    } catch {
      res.writeHead(400).end('{"error":"bad json"}');
      return;
    }
    void acquire().then(() => {
      const held = performance.now();
      setTimeout(() => {
        requests++;
        holdMsSum += performance.now() - held;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(answer(prompt.length > 0 ? ' A' : ' B'));
        release();
      }, latencyMs);
    });
  });
});
server.keepAliveTimeout = 60_000;

server.listen(0, '127.0.0.1');
port.on('message', (message) => {
  switch (message.type) {
    case 'port':
      if (server.listening) port.postMessage({ type: 'port', payload: (server.address() as AddressInfo).port });
      else server.once('listening', () => port.postMessage({ type: 'port', payload: (server.address() as AddressInfo).port }));
      return;
    case 'stats':
      port.postMessage({
        type: 'stats',
        payload: { requests, maxInService, maxQueued, meanHoldMs: requests ? holdMsSum / requests : 0, busyMs: performance.eventLoopUtilization(elu).active },
      });
      return;
    case 'reset':
      requests = 0;
      maxInService = slots - free;
      maxQueued = queue.length;
      holdMsSum = 0;
      elu = performance.eventLoopUtilization();
      port.postMessage({ type: 'reset', payload: null });
      return;
    case 'close':
      server.closeAllConnections();
      server.close(() => {
        port.postMessage({ type: 'close', payload: null });
        if (!parentPort) process.disconnect?.();
      });
      return;
  }
});
