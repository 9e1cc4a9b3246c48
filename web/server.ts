/**
 * The operators' cockpit: a read-only web server over the results database and the stage logs.
 * `node:http` only; binds to loopback unless told otherwise. Routing and HTTP live here; what a page
 * shows is in web/data.ts and how it looks in web/render.ts and web/svg.ts.
 *
 *   /                        overview of every track with submissions
 *   /tracks/<track>          leaderboard, open-vs-closed scatter, failure categories
 *   /submissions/<id>        stage timeline against limits, scores, failure, log excerpts
 *   /api/leaderboard?track=  the leaderboard (plus correlation and failure counts) as JSON
 *   /api/submissions/<id>    the submission view as JSON
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ResultsStore } from '../infra/results-store.js';
import type { ArtifactStore } from '../infra/artifact-store.js';
import { knownTrack, overviewView, submissionView, trackView, type SuiteFiles } from './data.js';
import { renderError, renderNotFound, renderOverview, renderSubmission, renderTrack } from './render.js';

export interface WebServerOptions {
  db: ResultsStore;
  /** Where `logs/<submissionId>/<stage>.log` are. */
  dataDir: string;
  /** The artifact store, for logs of stages that ran on other hosts. */
  artifacts?: ArtifactStore;
  /** Interface to listen on; loopback by default. */
  host?: string;
  /** 0 (default): any free port. */
  port?: number;
  /** Suite files the leaderboard is scored with (default: the shipped suites). */
  suites?: SuiteFiles;
  /** Temporal Web UI base URL, e.g. http://127.0.0.1:8233: submission pages link to their workflow. */
  webUiUrl?: string;
}

export interface WebServer {
  url: string;
  close(): Promise<void>;
}

interface Reply {
  status: number;
  type: 'html' | 'json';
  body: string;
}

const CONTENT_TYPES = { html: 'text/html; charset=utf-8', json: 'application/json; charset=utf-8' } as const;
const SECURITY_HEADERS = {
  // No scripts at all, styles only inline, nothing fetched from anywhere.
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
} as const;

const page = (status: number, body: string): Reply => ({ status, type: 'html', body });
const json = (status: number, value: unknown): Reply => ({ status, type: 'json', body: `${JSON.stringify(value, null, 2)}\n` });

function decodeSegment(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

/** Routes one GET request; exported for tests that do not want a socket. */
export async function route(options: WebServerOptions, method: string, rawUrl: string): Promise<Reply> {
  const url = new URL(rawUrl, 'http://cockpit.invalid');
  const pathname = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : url.pathname;
  if (method !== 'GET' && method !== 'HEAD') return pathname.startsWith('/api/') ? json(405, { error: `method ${method} not allowed` }) : page(405, renderError(`Method ${method} is not allowed: the cockpit is read-only.`));
  const { db } = options;
  const segments = pathname.split('/').slice(1);

  if (pathname === '/') return page(200, renderOverview(await overviewView(db)));

  if (segments[0] === 'tracks' && segments.length === 2) {
    const track = decodeSegment(segments[1]!);
    if (track === null || !(await knownTrack(db, track))) return page(404, renderNotFound(`There is no track "${track ?? segments[1]}".`));
    return page(200, renderTrack(await trackView(db, track, options.suites)));
  }

  if (segments[0] === 'submissions' && segments.length === 2) {
    const id = decodeSegment(segments[1]!);
    const view = id === null ? null : await submissionView(db, id, { dataDir: options.dataDir, suites: options.suites, webUiUrl: options.webUiUrl, ...(options.artifacts ? { artifacts: options.artifacts } : {}) });
    if (!view) return page(404, renderNotFound(`There is no submission "${id ?? segments[1]}" in the results database.`));
    return page(200, renderSubmission(view));
  }

  if (pathname === '/api/leaderboard') {
    const track = url.searchParams.get('track');
    if (!track) return json(400, { error: 'give the track: /api/leaderboard?track=<track>' });
    if (!(await knownTrack(db, track))) return json(404, { error: `there is no track "${track}"` });
    return json(200, await trackView(db, track, options.suites));
  }

  if (segments[0] === 'api' && segments[1] === 'submissions' && segments.length === 3) {
    const id = decodeSegment(segments[2]!);
    const view = id === null ? null : await submissionView(db, id, { dataDir: options.dataDir, suites: options.suites, webUiUrl: options.webUiUrl, ...(options.artifacts ? { artifacts: options.artifacts } : {}) });
    if (!view) return json(404, { error: `there is no submission "${id ?? segments[2]}"` });
    return json(200, view);
  }

  if (segments[0] === 'api') return json(404, { error: `no such API endpoint: ${pathname}` });
  return page(404, renderNotFound(`Nothing lives at ${pathname}. Try the overview, /tracks/<track> or /submissions/<id>.`));
}

export async function startWebServer(options: WebServerOptions): Promise<WebServer> {
  const host = options.host ?? '127.0.0.1';
  const answer = async (request: http.IncomingMessage, response: http.ServerResponse): Promise<void> => {
    let reply: Reply;
    try {
      reply = await route(options, request.method ?? 'GET', request.url ?? '/');
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      reply = (request.url ?? '').startsWith('/api/') ? json(500, { error: message }) : page(500, renderError(message));
    }
    response.writeHead(reply.status, { 'content-type': CONTENT_TYPES[reply.type], 'content-length': Buffer.byteLength(reply.body), ...SECURITY_HEADERS });
    response.end(request.method === 'HEAD' ? undefined : reply.body);
  };
  const server = http.createServer((request, response) => {
    answer(request, response).catch((error: unknown) => response.destroy(error instanceof Error ? error : new Error(String(error))));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
