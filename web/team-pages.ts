/**
 * The team's own pages: GET /team (sign-in form, or the team's submissions and quota), POST /team/sign-in
 * (the team token, checked by web/team-auth.ts, buys a 12-hour session cookie), POST /team/sign-out, and
 * GET /team/submissions/<id> (another team's id answers exactly like an unknown one: 404), and POST /team/final
 * (the "Choose as final" form of a submission row: the rules of web/team-final.ts, shared with POST /api/team/final;
 * a choice redirects to /team?chosen=<id>, a refusal answers the overview with the reason and its 4xx status).
 *
 * The session cookie holds a random secret; the store keeps only its sha256 (domain/teams/tokens.ts
 * sessionHash). It is HttpOnly, SameSite=Strict, Path=/team, and Secure when the request came over https.
 * Every POST must come from a page of this server (Origin or Referer naming the Host, or Sec-Fetch-Site:
 * same-origin) and carry a CSRF field: for sign-in the double-submit value of the `challenge_csrf` cookie
 * set with the form, for sign-out and the final choice an HMAC of the session secret (one per form). Pages send the server's CSP with
 * `form-action 'self'` (they post to themselves) and run no script.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { sessionHash } from '../domain/teams/tokens.js';
import { renderSignIn, renderTeamNotFound, renderTeamOverview, renderTeamRefusal, renderTeamSubmission } from './render-team.js';
import { checkTeamToken, nowOf } from './team-auth.js';
import type { Reply, RequestHeaders, TeamContext, TeamRequest } from './team-context.js';
import { teamQueueView } from './team-placement.js';
import { teamOverview, teamSubmissionDetail } from './team-data.js';
import { FinalSubmissionId, PAGE_FINAL_DOOR, chooseFinalSubmission, currentFinals } from './team-final.js';

export const SESSION_COOKIE = 'challenge_team';
export const CSRF_COOKIE = 'challenge_csrf';
export const SESSION_SECONDS = 12 * 3600;
const CSRF_COOKIE_SECONDS = 3600;

/** The server's default CSP (web/server.ts) with the one change these pages need: forms may post to this origin. */
export const TEAM_PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/** Random cookie values: 32 bytes, base64url (43 characters). */
const SECRET_PATTERN = /^[A-Za-z0-9_-]{43}$/;
const newSecret = (): string => randomBytes(32).toString('base64url');

const first = (headers: RequestHeaders, name: string): string | undefined => {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
};

/** The cookies of a request by name (the first of a repeated name wins). */
export function cookiesOf(headers: RequestHeaders): Map<string, string> {
  const out = new Map<string, string>();
  const raw = headers['cookie'];
  for (const line of Array.isArray(raw) ? raw : raw ? [raw] : []) {
    for (const part of line.split(';')) {
      const eq = part.indexOf('=');
      if (eq <= 0) continue;
      const name = part.slice(0, eq).trim();
      if (!out.has(name)) out.set(name, part.slice(eq + 1).trim());
    }
  }
  return out;
}

/** Whether the request came over https (directly, or through a proxy that says so). */
export function overHttps(context: TeamContext, headers: RequestHeaders): boolean {
  if (first(headers, 'x-forwarded-proto')?.split(',')[0]?.trim().toLowerCase() === 'https') return true;
  if (/(^|[;,\s])proto=https(\b|$)/i.test(first(headers, 'forwarded') ?? '')) return true;
  return context.door.publicUrl?.startsWith('https://') ?? false;
}

const cookie = (context: TeamContext, headers: RequestHeaders, name: string, value: string, maxAge: number): string =>
  `${name}=${value}; HttpOnly; SameSite=Strict; Path=/team; Max-Age=${maxAge}${overHttps(context, headers) ? '; Secure' : ''}`;

/** The sign-out form's CSRF value: an HMAC keyed with the session secret, so only a page that was sent it can post it. */
export const signOutCsrf = (sessionSecret: string): string => createHmac('sha256', sessionSecret).update('challenge team sign-out').digest('base64url');
/** The "Choose as final" forms' CSRF value: the same construction, for that form only. */
export const finalCsrf = (sessionSecret: string): string => createHmac('sha256', sessionSecret).update('challenge team final choice').digest('base64url');

function sameValue(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Whether a POST came from a page of this server: Origin (else Referer) naming the Host, or Sec-Fetch-Site: same-origin. */
export function sameOrigin(headers: RequestHeaders): boolean {
  if (first(headers, 'sec-fetch-site') === 'same-origin') return true;
  const host = first(headers, 'host')?.trim().toLowerCase();
  if (!host) return false;
  const source = first(headers, 'origin') ?? first(headers, 'referer');
  if (!source || source === 'null') return false;
  try {
    return new URL(source).host.toLowerCase() === host;
  } catch {
    return false;
  }
}

const htmlReply = (status: number, body: string, headers: Record<string, string> = {}): Reply => ({
  status,
  type: 'html',
  body,
  headers: { 'content-security-policy': TEAM_PAGE_CSP, ...headers },
});
/** A 303 to /team setting one cookie (a Reply header is one string: each reply sets at most one cookie). */
const redirect = (setCookie: string): Reply => ({
  status: 303,
  type: 'html',
  body: '<p>See <a href="/team">/team</a>.</p>',
  headers: { 'content-security-policy': TEAM_PAGE_CSP, location: '/team', 'set-cookie': setCookie },
});

/** A 303 to `location` that sets nothing. */
const seeOther = (location: string): Reply => ({
  status: 303,
  type: 'html',
  body: '<p>See <a href="/team">/team</a>.</p>',
  headers: { 'content-security-policy': TEAM_PAGE_CSP, location },
});

/** The sign-in form with its double-submit CSRF cookie (a valid one already held is kept, so two tabs work). */
function signInPage(context: TeamContext, request: TeamRequest, status: number, message: string | null): Reply {
  const held = cookiesOf(request.headers).get(CSRF_COOKIE);
  const csrf = held && SECRET_PATTERN.test(held) ? held : newSecret();
  return htmlReply(status, renderSignIn(csrf, message), { 'set-cookie': cookie(context, request.headers, CSRF_COOKIE, csrf, CSRF_COOKIE_SECONDS) });
}

/** The signed-in team of a request: its live session (not expired, ended or from a replaced token) of an enabled team. */
async function sessionOf(context: TeamContext, headers: RequestHeaders): Promise<{ team: string; secret: string } | null> {
  const secret = cookiesOf(headers).get(SESSION_COOKIE);
  if (!secret || !SECRET_PATTERN.test(secret)) return null;
  const team = await context.db.sessionTeam(sessionHash(secret), new Date(nowOf(context)).toISOString());
  if (!team) return null;
  const record = await context.db.team(team);
  return record && !record.disabled ? { team, secret } : null;
}

function formOf(request: TeamRequest): URLSearchParams {
  return new URLSearchParams(request.body ? request.body.toString('utf8') : '');
}

const refused = (message: string): Reply => htmlReply(403, renderTeamRefusal('Request refused', message));
const FOREIGN = 'This form must be sent from a page of this server (the Origin, Referer or Sec-Fetch-Site header says it was not). Open /team and submit the form there.';

async function signIn(context: TeamContext, request: TeamRequest): Promise<Reply> {
  if (!sameOrigin(request.headers)) return refused(FOREIGN);
  const form = formOf(request);
  const held = cookiesOf(request.headers).get(CSRF_COOKIE);
  const sent = form.get('csrf');
  if (!held || !sent || !SECRET_PATTERN.test(held) || !sameValue(held, sent))
    return refused('The sign-in form expired or was not sent by this server (its CSRF value does not match the cookie). Open /team again and sign in there.');
  const check = await checkTeamToken(context, form.get('token')?.trim() || null, request.remoteAddress);
  if (check.kind === 'throttled') {
    const reply = signInPage(context, request, 429, `Too many wrong tokens from your address: try again in ${Math.ceil(check.retryAfterMs / 1000)} s.`);
    return { ...reply, headers: { ...reply.headers, 'retry-after': String(Math.ceil(check.retryAfterMs / 1000)) } };
  }
  if (check.kind === 'disabled') return signInPage(context, request, 403, `${check.message}.`);
  // One message for every wrong token: it says nothing of whether its id exists.
  if (check.kind === 'unauthenticated') return signInPage(context, request, 401, 'That team token is not valid. Paste the whole token (cht_…), or ask the organizers for a new one.');
  const secret = newSecret();
  const now = nowOf(context);
  await context.db.createSession({
    idHash: sessionHash(secret),
    team: check.team.name,
    tokenId: check.tokenId,
    createdAt: new Date(now).toISOString(),
    expiresAt: new Date(now + SESSION_SECONDS * 1000).toISOString(),
  });
  return redirect(cookie(context, request.headers, SESSION_COOKIE, secret, SESSION_SECONDS));
}

/** The team's overview with its final choices and their forms; `chosen` (from the redirect) becomes a notice while it is the choice. */
async function overviewPage(context: TeamContext, session: { team: string; secret: string }, status: number, said: { chosen?: string | null; refusal?: string }): Promise<Reply> {
  const view = await teamOverview(context, session.team);
  const finals = await currentFinals(context, session.team, view.quotas.map((q) => q.track));
  const current = said.chosen ? finals.find((f) => f.submissionId === said.chosen) : undefined;
  const notice = current ? `Submission "${current.submissionId}" is now your final submission for track ${current.track} (phase ${current.phase}).` : null;
  const section = { finals, csrf: finalCsrf(session.secret), notice, refusal: said.refusal ?? null };
  const queue = await teamQueueView(context.placement, session.team);
  return htmlReply(status, renderTeamOverview(view, signOutCsrf(session.secret), section, queue));
}

/** POST /team/final: the session's team chooses the form's submission (web/team-final.ts decides, as for the API). */
async function chooseFinal(context: TeamContext, request: TeamRequest): Promise<Reply> {
  if (!sameOrigin(request.headers)) return refused(FOREIGN);
  const session = await sessionOf(context, request.headers);
  if (!session) return signInPage(context, request, 401, 'Your session ended, so no final submission was chosen: sign in, then use "Choose as final" on /team again.');
  const form = formOf(request);
  const sent = form.get('csrf');
  if (!sent || !sameValue(sent, finalCsrf(session.secret)))
    return refused('The "Choose as final" form was not sent by this server (its CSRF value does not match your session), so nothing was chosen. Open /team and choose there.');
  const id = FinalSubmissionId.safeParse(form.get('submissionId') ?? '');
  const noId = 'Not chosen: the form named no submission (field submissionId, 1 to 200 characters); use the "Choose as final" button of a submission below.';
  if (!id.success) return overviewPage(context, session, 400, { refusal: noId });
  const result = await chooseFinalSubmission(context, session.team, id.data, PAGE_FINAL_DOOR);
  if (result.kind === 'refused') return overviewPage(context, session, result.status, { refusal: `Not chosen: ${result.message}.` });
  return seeOther(`/team?chosen=${encodeURIComponent(result.choice.submissionId)}`);
}

async function signOut(context: TeamContext, request: TeamRequest): Promise<Reply> {
  if (!sameOrigin(request.headers)) return refused(FOREIGN);
  const secret = cookiesOf(request.headers).get(SESSION_COOKIE);
  const clear = cookie(context, request.headers, SESSION_COOKIE, '', 0);
  if (!secret || !SECRET_PATTERN.test(secret)) return redirect(clear);
  const sent = formOf(request).get('csrf');
  if (!sent || !sameValue(sent, signOutCsrf(secret))) return refused('The sign-out form was not sent by this server (its CSRF value does not match your session). Open /team and sign out there.');
  await context.db.endSession(sessionHash(secret));
  return redirect(clear);
}

function decodeSegment(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

/** The paths the pages' forms post to. */
const FORMS: ReadonlyMap<string, (context: TeamContext, request: TeamRequest) => Promise<Reply>> = new Map([
  ['/team/sign-in', signIn],
  ['/team/sign-out', signOut],
  ['/team/final', chooseFinal],
]);

/** Routes /team and /team/... (web/server.ts sends them here). */
export async function routeTeamPage(context: TeamContext, request: TeamRequest): Promise<Reply> {
  const { method, pathname } = request;
  const isPost = method === 'POST';
  if (isPost && request.bodyTooLarge) {
    const message = 'A form of these pages (sign-in, sign-out, choose as final) is a few hundred bytes; this one was far larger.';
    return { ...htmlReply(413, renderTeamRefusal('Form too large', message)), closeConnection: true };
  }

  const form = FORMS.get(pathname);
  if (form) {
    if (!isPost) return htmlReply(405, renderTeamRefusal('Method not allowed', `${pathname} takes the form of /team (POST); open /team.`), { allow: 'POST' });
    return form(context, request);
  }
  if (method !== 'GET' && method !== 'HEAD') {
    const message = `${pathname} is a page to read (GET); forms post to ${[...FORMS.keys()].join(', ')}.`;
    return htmlReply(405, renderTeamRefusal('Method not allowed', message), { allow: 'GET' });
  }

  const segments = pathname.split('/').slice(1);
  const isOverview = pathname === '/team';
  const isDetail = segments.length === 3 && segments[1] === 'submissions';
  if (!isOverview && !isDetail) return htmlReply(404, renderTeamRefusal('Not found', `Nothing lives at ${pathname}: the team pages are /team and /team/submissions/<id>.`));

  const session = await sessionOf(context, request.headers);
  // Signed out, expired, or its token rotated: the form again (a stale cookie is harmless and is replaced at the next sign-in).
  if (!session) return signInPage(context, request, isOverview ? 200 : 401, isOverview ? null : 'Sign in to see your submissions.');
  const csrf = signOutCsrf(session.secret);
  if (isOverview) return overviewPage(context, session, 200, { chosen: request.url.searchParams.get('chosen') });
  const id = decodeSegment(segments[2]!);
  const detail = id === null ? null : await teamSubmissionDetail(context, session.team, id);
  if (!detail) return htmlReply(404, renderTeamNotFound(id ?? segments[2]!, session.team));
  return htmlReply(200, renderTeamSubmission(detail, csrf));
}
