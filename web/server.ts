/**
 * The leaderboard web server: a read-only web server over the results database and the stage logs.
 * `node:http` only; binds to loopback unless told otherwise. Routing, HTTP and operator access live here;
 * what a page shows is in web/data.ts and how it looks in web/render.ts and web/svg.ts.
 *
 * Public (anyone who reaches the address; nothing derived from closed-suite inputs, see web/data.ts):
 *   /                                 overview of every track with submissions
 *   /tracks/<track>[?phase=final]     leaderboard (development; final: the final runs with the reproduction column),
 *                                     phase banner (with a competition file), open-vs-closed scatter, failure categories
 *   /submissions/<id>                 stage timeline against limits, scores, the public failure reason, the build log
 *   /api/leaderboard?track=[&phase=]  the leaderboard (plus correlation and failure counts) as JSON
 *   /api/leaderboard.csv?track=[&phase=] the leaderboard as CSV (the public export)
 *   /api/submissions/<id>             the public submission view as JSON
 *
 * Operator (every stage log, full failure reasons and details, closed-suite answers and per-instance errors):
 *   /operator, /operator/tracks/<track>, /operator/submissions/<id>,
 *   /api/operator/leaderboard?track=, /api/operator/leaderboard.csv?track=, /api/operator/submissions/<id>
 *   /operator/placement, /api/operator/placement: each track's GPU hosts, slots held, waiting claims in serving order
 *   and each team's GPU time per phase (the `placement` source; without one, or when it fails, the page says so)
 * They need `Authorization: Bearer <CHALLENGE_OPERATOR_TOKEN>` (or HTTP Basic with the token as the
 * password, for a browser) when a token is configured. Without one they answer only on a loopback bind,
 * and only to requests that did not come through a proxy; the server refuses to start on any other
 * address without a token.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import type { ResultsStore } from '../infra/results-store.js';
import type { TemporalUiLocation } from '../infra/temporal.js';
import type { ArtifactStore } from '../infra/artifact-store.js';
import { knownTrack, overviewView, publicLeaderboardCsv, submissionView, trackView, type Audience, type LiveStages, type SuiteFiles, type TrackViewOptions } from './data.js';
import { finalBoardCsv } from '../domain/competition/final-board-text.js';
import { BOARD_PHASES, type BoardPhase } from '../domain/competition/final-board.js';
import { renderError, renderNotFound, renderOverview, renderSubmission, renderTrack, renderUnauthorized } from './render.js';
import { renderPlacementPage } from './render-placement.js';
import { placementPageView, type PlacementSource } from './placement-data.js';
import { routeTeamApi } from './team-api.js';
import { routeTeamPage } from './team-pages.js';
import { isTeamApiPath, isTeamPagePath, type Reply, type TeamDoorOptions, type TeamRequest } from './team-context.js';

/** The environment variable `challenge serve` reads the operator token from. */
export const OPERATOR_TOKEN_VARIABLE = 'CHALLENGE_OPERATOR_TOKEN';
export const MIN_OPERATOR_TOKEN_LENGTH = 16;

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
  temporalUi?: TemporalUiLocation;
  /**
   * The secret the operator routes require (`Authorization: Bearer <token>`). Absent or empty: the operator
   * routes answer only on a loopback bind, and startWebServer refuses any other address.
   */
  operatorToken?: string | null;
  /** The participants' door (/api/team/..., /team): absent, those routes answer 404. */
  teams?: TeamDoorOptions;
  /** The running stages of a pipeline from its workflow (progress, projection); absent: pages show what is recorded. */
  live?: LiveStages;
  /** Every track's GPU placement book (operations/placement.ts placementsOf), for /operator/placement and each team's own line on /team; absent: they say so. */
  placement?: PlacementSource;
}

export interface WebServer {
  url: string;
  close(): Promise<void>;
}

/** The server cannot start as configured (no operator token on a public address, a weak token). */
export class WebServerSetupError extends Error {}

const CONTENT_TYPES = { html: 'text/html; charset=utf-8', json: 'application/json; charset=utf-8', csv: 'text/csv; charset=utf-8' } as const;
const SECURITY_HEADERS = {
  // No scripts at all, styles only inline, nothing fetched from anywhere.
  'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
} as const;
const CHALLENGE = { 'www-authenticate': 'Bearer realm="challenge operator", Basic realm="challenge operator", charset="UTF-8"' };

const page = (status: number, body: string): Reply => ({ status, type: 'html', body });
const json = (status: number, value: unknown): Reply => ({ status, type: 'json', body: `${JSON.stringify(value, null, 2)}\n` });

function decodeSegment(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

/** 127.0.0.0/8, ::1 (also IPv4-mapped) and "localhost": addresses only this machine reaches. */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().replace(/^\[(.*)\]$/, '$1').toLowerCase();
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice('::ffff:'.length) : h;
  return net.isIPv4(v4) && v4.startsWith('127.');
}

/**
 * Refuses a setup that would serve the operator pages (logs, closed-suite answers) to anyone who reaches a
 * non-loopback address, and tokens too weak to guard them. Called by startWebServer before it listens.
 */
export function checkOperatorSetup(host: string, token: string | null | undefined): void {
  const configured = typeof token === 'string' && token !== '';
  if (configured) {
    if (token.length < MIN_OPERATOR_TOKEN_LENGTH || /\s/.test(token))
      throw new WebServerSetupError(`${OPERATOR_TOKEN_VARIABLE} must be at least ${MIN_OPERATOR_TOKEN_LENGTH} characters without spaces (e.g. the output of \`openssl rand -hex 32\`)`);
    if (/^change-?me/i.test(token))
      throw new WebServerSetupError(`${OPERATOR_TOKEN_VARIABLE} still holds the placeholder of docker/.env.example; set it to a secret (e.g. the output of \`openssl rand -hex 32\`)`);
    return;
  }
  if (!isLoopbackHost(host))
    throw new WebServerSetupError(
      `refusing to serve on ${host} without ${OPERATOR_TOKEN_VARIABLE}: the operator pages (stage logs, full failure reasons, closed-suite answers) ` +
        `would be open to anyone who reaches that address. Set ${OPERATOR_TOKEN_VARIABLE} to a secret of at least ${MIN_OPERATOR_TOKEN_LENGTH} characters, or serve on 127.0.0.1`,
    );
}

/** The token a request presents: `Bearer <token>`, or HTTP Basic with the token as the password. */
export function presentedToken(authorization: string | undefined): string | null {
  if (!authorization) return null;
  const match = /^\s*(Bearer|Basic)\s+(\S+)\s*$/i.exec(authorization);
  if (!match) return null;
  if (match[1]!.toLowerCase() === 'bearer') return match[2]!;
  const decoded = Buffer.from(match[2]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? null : decoded.slice(colon + 1);
}

/** Constant time in the content and the length of both: compares SHA-256 digests with timingSafeEqual. */
export function tokensMatch(expected: string, presented: string): boolean {
  const a = createHash('sha256').update(expected, 'utf8').digest();
  const b = createHash('sha256').update(presented, 'utf8').digest();
  return timingSafeEqual(a, b);
}

type Headers = Record<string, string | string[] | undefined>;
const header = (headers: Headers, name: string): string | undefined => {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
};

/** Whether a request may read the operator routes (see the module comment). */
export function operatorAllowed(options: Pick<WebServerOptions, 'host' | 'operatorToken'>, headers: Headers): boolean {
  const token = options.operatorToken;
  if (typeof token === 'string' && token !== '') {
    const presented = presentedToken(header(headers, 'authorization'));
    return presented !== null && tokensMatch(token, presented);
  }
  // No token: only a loopback bind, and not a request a reverse proxy on this machine passed on.
  if (header(headers, 'forwarded') !== undefined || header(headers, 'x-forwarded-for') !== undefined) return false;
  return isLoopbackHost(options.host ?? '127.0.0.1');
}

/** The most bytes a request body other than an upload may have (sign-in forms). */
export const MAX_FORM_BYTES = 64 * 1024;

/**
 * Routes one request; exported for tests that do not want a socket. The participants' door (/api/team/...,
 * /team) takes GET and POST and has its own authentication (team tokens, session cookies); every other route
 * is read-only.
 */
export async function route(
  options: WebServerOptions,
  method: string,
  rawUrl: string,
  headers: Headers = {},
  extra: { body?: Buffer | null; remoteAddress?: string; bodyTooLarge?: boolean } = {},
): Promise<Reply> {
  const url = new URL(rawUrl, 'http://cockpit.invalid');
  let pathname = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : url.pathname;
  const isApi = pathname === '/api' || pathname.startsWith('/api/');
  if (isTeamApiPath(pathname) || isTeamPagePath(pathname)) {
    if (!options.teams) {
      return isApi ? json(404, { error: 'this server has no participants\' door (start it with a competition file)' }) : page(404, renderNotFound('This server has no participants\' door.'));
    }
    const request: TeamRequest = { method, url, pathname, headers, body: extra.body ?? null, bodyTooLarge: extra.bodyTooLarge ?? false, remoteAddress: extra.remoteAddress ?? '' };
    const stores = { ...(options.artifacts ? { artifacts: options.artifacts } : {}), ...(options.suites ? { suites: options.suites } : {}) };
    const sources = { ...(options.live ? { live: options.live } : {}), ...(options.placement ? { placement: options.placement } : {}) };
    const context = { db: options.db, dataDir: options.dataDir, ...stores, door: options.teams, ...sources };
    return isTeamApiPath(pathname) ? routeTeamApi(context, request) : routeTeamPage(context, request);
  }
  if (method !== 'GET' && method !== 'HEAD') return isApi ? json(405, { error: `method ${method} not allowed` }) : page(405, renderError(`Method ${method} is not allowed: the cockpit is read-only.`));

  // Operator routes: authorized first (a 401 says nothing about what exists), then routed like the public ones.
  let audience: Audience = 'public';
  const operatorPrefix = pathname === '/operator' || pathname.startsWith('/operator/') ? '/operator' : pathname === '/api/operator' || pathname.startsWith('/api/operator/') ? '/api/operator' : null;
  if (operatorPrefix !== null) {
    if (!operatorAllowed(options, headers)) {
      const message = options.operatorToken
        ? 'The operator pages need the operator token: Authorization: Bearer <token> (or HTTP Basic with the token as the password).'
        : 'The operator pages are served on a loopback address only.';
      return { ...(isApi ? json(401, { error: message }) : page(401, renderUnauthorized(message))), headers: CHALLENGE };
    }
    audience = 'operator';
    const rest = pathname.slice(operatorPrefix.length);
    pathname = operatorPrefix === '/operator' ? rest || '/' : `/api${rest}`;
  }

  const { db } = options;
  const segments = pathname.split('/').slice(1);
  const viewOptions = {
    dataDir: options.dataDir,
    suites: options.suites,
    temporalUi: options.temporalUi,
    audience,
    ...(options.artifacts ? { artifacts: options.artifacts } : {}),
    ...(options.live ? { live: options.live } : {}),
  };

  if (pathname === '/') return page(200, renderOverview(await overviewView(db, audience)));

  // The GPU placement: operators only (teams must not see each other's GPU time); a public /placement is a 404 below.
  if (audience === 'operator' && pathname === '/placement') return page(200, renderPlacementPage(await placementPageView(options.placement)));
  if (audience === 'operator' && pathname === '/api/placement') {
    const view = await placementPageView(options.placement);
    return json(view.unavailable === null ? 200 : 503, view);
  }

  // Which board a track page or export shows (?phase=development|final), with the competition file's banner.
  const phaseParam = url.searchParams.get('phase') ?? 'development';
  const phase = (BOARD_PHASES as readonly string[]).includes(phaseParam) ? (phaseParam as BoardPhase) : null;
  const boardOptions = (chosen: BoardPhase): TrackViewOptions => ({
    phase: chosen,
    ...(options.teams ? { competition: options.teams.competition, now: options.teams.now?.() ?? Date.now() } : {}),
  });
  const badPhase = `there is no "${phaseParam}" board: use phase=development or phase=final`;

  if (segments[0] === 'tracks' && segments.length === 2) {
    const track = decodeSegment(segments[1]!);
    if (track === null || !(await knownTrack(db, track))) return page(404, renderNotFound(`There is no track "${track ?? segments[1]}".`));
    if (phase === null) return page(404, renderNotFound(`There is no "${phaseParam}" board: use ?phase=development or ?phase=final.`));
    return page(200, renderTrack(await trackView(db, track, options.suites, audience, boardOptions(phase))));
  }

  if (segments[0] === 'submissions' && segments.length === 2) {
    const id = decodeSegment(segments[1]!);
    const view = id === null ? null : await submissionView(db, id, viewOptions);
    if (!view) return page(404, renderNotFound(`There is no submission "${id ?? segments[1]}" in the results database.`));
    return page(200, renderSubmission(view));
  }

  if (pathname === '/api/leaderboard' || pathname === '/api/leaderboard.csv') {
    const track = url.searchParams.get('track');
    if (!track) return json(400, { error: `give the track: ${pathname}?track=<track>` });
    if (!(await knownTrack(db, track))) return json(404, { error: `there is no track "${track}"` });
    if (phase === null) return json(400, { error: badPhase });
    const view = await trackView(db, track, options.suites, audience, boardOptions(phase));
    if (pathname === '/api/leaderboard') return json(200, view);
    const file = `leaderboard-${track.replace(/[^A-Za-z0-9_.-]/g, '_')}${phase === 'final' ? '-final' : ''}.csv`;
    const body = view.final ? finalBoardCsv(view.final) : publicLeaderboardCsv(view.board);
    return { status: 200, type: 'csv', body, headers: { 'content-disposition': `attachment; filename="${file}"` } };
  }

  if (segments[0] === 'api' && segments[1] === 'submissions' && segments.length === 3) {
    const id = decodeSegment(segments[2]!);
    const view = id === null ? null : await submissionView(db, id, viewOptions);
    if (!view) return json(404, { error: `there is no submission "${id ?? segments[2]}"` });
    return json(200, view);
  }

  if (isApi) return json(404, { error: `no such API endpoint: ${url.pathname}` });
  return page(404, renderNotFound(`Nothing lives at ${url.pathname}. Try the overview, /tracks/<track> or /submissions/<id>.`));
}

const cspOf = (reply: Reply): Record<string, string> => {
  const csp = reply.headers?.['content-security-policy'];
  return csp ? { 'content-security-policy': csp } : {};
};

/** Uploads may be as large as the competition's archive limit; every other body is a small form. */
function bodyLimitOf(options: WebServerOptions, rawUrl: string): number {
  const pathname = new URL(rawUrl, 'http://cockpit.invalid').pathname.replace(/\/+$/, '');
  return pathname === '/api/team/submissions' && options.teams ? options.teams.competition.intake.maxArchiveBytes : MAX_FORM_BYTES;
}

/** Reads a request body up to `limit` bytes; past it (by Content-Length or by counting) stops reading and says so. */
async function readBody(request: http.IncomingMessage, limit: number): Promise<{ body: Buffer | null; tooLarge: boolean }> {
  const declared = Number(request.headers['content-length'] ?? NaN);
  if (Number.isFinite(declared) && declared > limit) {
    request.resume(); // drain without keeping it; the reply closes the connection
    return { body: null, tooLarge: true };
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > limit) {
      request.resume();
      return { body: null, tooLarge: true };
    }
    chunks.push(chunk as Buffer);
  }
  return { body: Buffer.concat(chunks), tooLarge: false };
}

export async function startWebServer(options: WebServerOptions): Promise<WebServer> {
  const host = options.host ?? '127.0.0.1';
  checkOperatorSetup(host, options.operatorToken);
  const answer = async (request: http.IncomingMessage, response: http.ServerResponse): Promise<void> => {
    let reply: Reply;
    try {
      const method = request.method ?? 'GET';
      const read = method === 'POST' && options.teams ? await readBody(request, bodyLimitOf(options, request.url ?? '/')) : { body: null, tooLarge: false };
      reply = await route(options, method, request.url ?? '/', request.headers, { body: read.body, bodyTooLarge: read.tooLarge, remoteAddress: request.socket.remoteAddress ?? '' });
    } catch (error) {
      // The full message only on the operator routes (it may name paths, hosts or what a server wrote).
      const raw = request.url ?? '';
      const operator = /^\/(api\/)?operator(\/|\?|$)/.test(raw) && operatorAllowed(options, request.headers);
      const message = operator ? (error instanceof Error ? error.message : String(error)) : 'the page could not be built; the operators can see why on the operator pages or in the server output';
      if (!operator) console.error(`challenge serve: ${request.method ?? 'GET'} ${raw}: ${error instanceof Error ? error.message : String(error)}`);
      reply = raw.startsWith('/api/') ? json(500, { error: message }) : page(500, renderError(message));
    }
    // A reply may loosen the CSP only by naming its own (the team pages post forms to themselves).
    // An upload refused before it was read whole closes the connection instead of reading the rest.
    const close = reply.closeConnection ? { connection: 'close' } : {};
    response.writeHead(reply.status, { 'content-type': CONTENT_TYPES[reply.type], 'content-length': Buffer.byteLength(reply.body), ...reply.headers, ...close, ...SECURITY_HEADERS, ...cspOf(reply) });
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
