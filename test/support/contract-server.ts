/**
 * An in-process HTTP server that speaks the submission contract, for harness tests. It answers multiple
 * choice prompts with the gold letter (so scores are predictable), can misbehave on chosen instances,
 * counts requests per prompt so tests can prove no instance was asked twice, and records every request
 * (path and raw body) so tests can check what leaves the harness. /tokenize and /decode work on bytes.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Suite } from '../../domain/harness/suite.js';
import { isMultipleChoiceInstance, letter, multipleChoicePrompt } from '../../domain/harness/suite.js';

export type Behaviour = 'ok' | 'wrong' | 'http-500' | 'garbage' | 'bad-types' | 'huge' | 'slow' | 'drop';

export interface ContractServer {
  url: string;
  requestsByPrompt: Map<string, number>;
  /** Every request received, in order: its path and its body as sent. */
  requests: { path: string; body: string }[];
  totalRequests: () => number;
  close: () => Promise<void>;
}

/** `behave(prompt, nth)` decides how to answer the nth request (1-based) for that prompt. */
export async function startContractServer(suite: Suite, behave: (prompt: string, nth: number) => Behaviour = () => 'ok', slowMs = 2000): Promise<ContractServer> {
  const gold = new Map<string, string>();
  for (const scenario of suite.scenarios) {
    for (const instance of scenario.instances) if (isMultipleChoiceInstance(instance)) gold.set(multipleChoicePrompt(scenario, instance), letter(instance.answer));
  }
  const requestsByPrompt = new Map<string, number>();
  const requests: { path: string; body: string }[] = [];
  let total = 0;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      requests.push({ path: req.url ?? '', body });
      if (req.url === '/tokenize' || req.url === '/decode') {
        try {
          const parsed = JSON.parse(body) as { text?: string; tokens?: number[]; truncation?: boolean; max_length?: number };
          const reply =
            req.url === '/tokenize'
              ? { tokens: [...Buffer.from(parsed.text ?? '', 'utf8')].slice(0, parsed.truncation ? (parsed.max_length ?? Infinity) : Infinity), request_time: 0.001 }
              : { text: Buffer.from((parsed.tokens ?? []).map((t) => t % 256)).toString('utf8'), request_time: 0.001 };
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(reply));
        } catch {
          res.writeHead(400).end('{"error":"bad json"}');
        }
        return;
      }
      total++;
      let prompt = '';
      try {
        prompt = (JSON.parse(body) as { prompt?: string }).prompt ?? '';
      } catch {
        res.writeHead(400).end('{"error":"bad json"}');
        return;
      }
      const nth = (requestsByPrompt.get(prompt) ?? 0) + 1;
      requestsByPrompt.set(prompt, nth);
      const answer = gold.get(prompt) ?? 'A';
      const send = (text: string) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ text, tokens: [{ text, logprob: -0.1, top_logprob: { [text]: -0.1 } }], logprob: -0.1, request_time: 0.001 }));
      };
      switch (behave(prompt, nth)) {
        case 'ok':
          return send(` ${answer}`);
        case 'wrong':
          return send(answer === 'A' ? ' B' : ' A');
        case 'http-500':
          res.writeHead(500).end('internal error');
          return;
        case 'garbage':
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"text": "A", tokens: nope');
          return;
        case 'bad-types':
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ text: 42, tokens: 'x', logprob: 'high', request_time: null }));
          return;
        case 'huge':
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ text: 'x'.repeat(10 * 1024 * 1024), tokens: [], logprob: 0, request_time: 0 }));
          return;
        case 'slow':
          setTimeout(() => send(` ${answer}`), slowMs);
          return;
        case 'drop':
          req.socket.destroy();
          return;
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requestsByPrompt,
    requests,
    totalRequests: () => total,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
