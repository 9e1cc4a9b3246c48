/**
 * The participants' JSON API, every route behind a team token (`Authorization: Bearer cht_…`, web/team-auth.ts):
 *   POST /api/team/submissions                       upload an archive (operations/intake.ts says every answer)
 *   GET  /api/team/submissions                       the team's submissions (web/team-data.ts teamOverview)
 *   GET  /api/team/submissions/<id>                  one of them; another team's id is 404 exactly like an unknown one
 *                                                    (each evaluation stage's `progress`: answered/total, rate, projected end
 *                                                    against the limit, the probe's prediction, and the lines to print)
 *   GET  /api/team/submissions/<id>/logs?stage=      the build or open-eval log; closed-stage logs are not shown to teams
 *   GET  /api/team/quota                             what the team has left per track in the open phase, and its own GPU time and queue places (`gpu`)
 *   POST /api/team/final  {"submissionId": "…"}      choose the submission that goes to the finals for its track (while uploads are taken)
 *   GET  /api/team/final                             the team's choices per phase and track
 * Anything else is 404, a known path with another method 405. The token is checked before anything about a
 * submission is looked up, so a 401 says nothing about what exists.
 */
import { z } from 'zod';
import { openQuota, phaseAt } from '../domain/competition/index.js';
import { acceptUpload, quotaFigures } from '../operations/intake.js';
import { teamQueueView } from './team-placement.js';
import type { TeamRecord } from '../infra/team-store.js';
import { stageLogs, stageViews } from './data.js';
import { bearerOf, checkTeamToken, nowOf } from './team-auth.js';
import type { Reply, TeamContext, TeamRequest } from './team-context.js';
import { TEAM_LOG_STAGES, teamOverview, teamSubmissionDetail, type TeamDataContext } from './team-data.js';
import { API_FINAL_DOOR, FINAL_RULE, FinalSubmissionId, chooseFinalSubmission, unknownSubmission } from './team-final.js';


const json = (status: number, value: unknown, headers?: Record<string, string>): Reply => ({
  status,
  type: 'json',
  body: `${JSON.stringify(value, null, 2)}\n`,
  ...(headers ? { headers } : {}),
});

const CHALLENGE = { 'www-authenticate': 'Bearer realm="challenge teams", charset="UTF-8"' };

type Route = { kind: 'submissions' } | { kind: 'submission'; id: string } | { kind: 'logs'; id: string } | { kind: 'quota' } | { kind: 'final' };

const METHODS: Record<Route['kind'], readonly string[]> = {
  submissions: ['GET', 'HEAD', 'POST'],
  submission: ['GET', 'HEAD'],
  logs: ['GET', 'HEAD'],
  quota: ['GET', 'HEAD'],
  final: ['GET', 'HEAD', 'POST'],
};

/** The body of POST /api/team/final. */
const FinalChoiceBody = z.object({ submissionId: FinalSubmissionId }).strict();

function decodeSegment(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

function routeOf(pathname: string): Route | null {
  if (pathname === '/api/team/submissions') return { kind: 'submissions' };
  if (pathname === '/api/team/quota') return { kind: 'quota' };
  if (pathname === '/api/team/final') return { kind: 'final' };
  const segments = pathname.split('/').slice(4); // '', 'api', 'team', 'submissions', …
  if (!pathname.startsWith('/api/team/submissions/') || segments.length < 1 || segments.length > 2) return null;
  const id = decodeSegment(segments[0]!);
  if (id === null || id === '') return null;
  if (segments.length === 1) return { kind: 'submission', id };
  return segments[1] === 'logs' ? { kind: 'logs', id } : null;
}

/** Where the team reaches this server: the configured public URL, else the Host header it used. */
function baseUrlOf(context: TeamContext, request: TeamRequest): string {
  if (context.door.publicUrl) return context.door.publicUrl.replace(/\/+$/, '');
  const raw = request.headers['host'];
  const host = (Array.isArray(raw) ? raw[0] : raw) ?? '127.0.0.1';
  return `http://${host}`;
}

export async function routeTeamApi(context: TeamDataContext, request: TeamRequest): Promise<Reply> {
  const route = routeOf(request.pathname);
  if (!route) return json(404, { error: `no such API endpoint: ${request.url.pathname} (see /api/team/submissions, /api/team/quota, /api/team/final)` });
  const allowed = METHODS[route.kind];
  if (!allowed.includes(request.method)) {
    return json(405, { error: `method ${request.method} not allowed on ${request.url.pathname}; use ${allowed.join(' or ')}` }, { allow: allowed.join(', ') });
  }
  // An upload refused before its body was read: answer at once and close the connection.
  if (request.bodyTooLarge) {
    const limit = context.door.competition.intake.maxArchiveBytes;
    const error = `the archive is larger than this competition's limit of ${limit} bytes (${(limit / 1024 ** 2).toFixed(0)} MiB); leave out checkpoints and data the build downloads`;
    return { ...json(413, { error, limitBytes: limit }), closeConnection: true };
  }

  const check = await checkTeamToken(context, bearerOf(request.headers), request.remoteAddress);
  if (check.kind === 'unauthenticated') return json(401, { error: check.message }, CHALLENGE);
  if (check.kind === 'disabled') return json(403, { error: check.message });
  if (check.kind === 'throttled') return json(429, { error: check.message }, { 'retry-after': String(Math.max(1, Math.ceil(check.retryAfterMs / 1000))) });
  const { team } = check;

  switch (route.kind) {
    case 'submissions':
      if (request.method === 'POST') {
        const answer = await acceptUpload({ db: context.db, ...context.door }, { team, body: request.body, remoteAddress: request.remoteAddress, baseUrl: baseUrlOf(context, request) });
        return json(answer.status, answer.body, answer.headers);
      }
      return json(200, await teamOverview(context, team.name));
    case 'submission': {
      const detail = await teamSubmissionDetail(context, team.name, route.id);
      return detail ? json(200, detail) : notFound(route.id);
    }
    case 'logs':
      return logsOf(context, team, route.id, request.url.searchParams.get('stage'));
    case 'quota':
      return json(200, await quotaOf(context, team));
    case 'final':
      return request.method === 'POST' ? chooseFinal(context, team, request.body) : json(200, await finalChoicesOf(context, team));
  }
}

/** The same answer for an unknown id and another team's. */
const notFound = (id: string): Reply => json(404, { error: unknownSubmission(id, API_FINAL_DOOR).message });

async function logsOf(context: TeamContext, team: TeamRecord, id: string, stage: string | null): Promise<Reply> {
  if (stage === null || stage === '') return json(400, { error: `name the stage: ?stage=${TEAM_LOG_STAGES.join(' or ?stage=')}` });
  if (!TEAM_LOG_STAGES.includes(stage)) {
    return json(403, { error: `the ${stage} log is not shown to teams: only the ${TEAM_LOG_STAGES.join(' and ')} logs are (closed-stage logs stay with the organizers)` });
  }
  if (!(await teamSubmissionDetail(context, team.name, id))) return notFound(id);
  // An accepted upload whose pipeline has not recorded itself yet has no stages: no log yet.
  const track = (await context.db.submission(id))?.track ?? '';
  const views = stageViews(await context.db.stages(id), track).filter((view) => view.stage === stage);
  const [log] = await stageLogs(context.dataDir, id, views, context.artifacts);
  return json(200, { submissionId: id, stage, source: log?.source ?? null, text: log?.text ?? null, ...(log ? {} : { note: `no ${stage} log yet: the stage has not run or wrote nothing` }) });
}

async function quotaOf(context: TeamContext, team: TeamRecord): Promise<Record<string, unknown>> {
  const { competition } = context.door;
  const now = nowOf(context);
  const open = openQuota(competition, now);
  const next = competition.phases.find((p) => Date.parse(p.opensAt) > now && p.quota) ?? null;
  const tracks = team.tracks.filter((track) => (competition.tracks as readonly string[]).includes(track));
  const at = new Date(now).toISOString();
  const perTrack: Record<string, unknown> = {};
  if (open) {
    for (const track of tracks) {
      const decision = await context.db.quotaStatus(team.name, track, open.phase.id, open.quota, at);
      perTrack[track] = { ...quotaFigures(decision), usedInPhase: decision.usedInPhase, perPhase: decision.perPhase, grantsLeft: decision.grantsLeft, reason: decision.reason };
    }
  }
  const current = phaseAt(competition, now);
  return {
    team: team.name,
    at,
    phase: current ? { id: current.id, title: current.title ?? null, closesAt: current.closesAt, takesSubmissions: open !== null } : null,
    window: open ? open.quota.window : null,
    tracks: perTrack,
    nextPhase: next ? { id: next.id, opensAt: next.opensAt } : null,
    // the team's own GPU time and queue places (web/team-placement.ts); `unavailable` says when the placement did not answer
    gpu: await teamQueueView(context.placement, team.name),
  };
}

/** POST /api/team/final: the team's final submission for the track of that upload, in the phase that takes uploads now. */
async function chooseFinal(context: TeamContext, team: TeamRecord, body: Buffer | null): Promise<Reply> {
  let raw: unknown;
  try {
    raw = JSON.parse(body?.toString('utf8') ?? '');
  } catch {
    return json(400, { error: 'the body is not JSON; send {"submissionId": "<team>.<submission>"} with Content-Type: application/json' });
  }
  const parsed = FinalChoiceBody.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(body)'}: ${issue.message}`);
    return json(400, { error: `send {"submissionId": "<team>.<submission>"} and nothing else (${problems.join('; ')})` });
  }
  // The rules are web/team-final.ts's, shared with the team page's form (POST /team/final).
  const result = await chooseFinalSubmission(context, team.name, parsed.data.submissionId, API_FINAL_DOOR);
  if (result.kind === 'refused') return json(result.status, { error: result.message });
  return json(200, { choice: result.choice, replaced: result.replaced });
}

/** GET /api/team/final: the team's choices in every phase that takes uploads, per track (none chosen: the latest completed goes). */
async function finalChoicesOf(context: TeamContext, team: TeamRecord): Promise<Record<string, unknown>> {
  const { competition } = context.door;
  const open = openQuota(competition, nowOf(context));
  const choices = [];
  for (const phase of competition.phases.filter((p) => p.quota)) {
    for (const track of team.tracks) {
      const choice = await context.db.finalChoice(team.name, track, phase.id);
      if (choice) choices.push(choice);
    }
  }
  return {
    team: team.name,
    phase: open ? open.phase.id : null,
    choices,
    rule: FINAL_RULE,
  };
}
