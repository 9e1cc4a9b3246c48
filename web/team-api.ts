/** The participants' JSON API (/api/team/...). Being written: answers 404 until then. */
import type { Reply, TeamContext, TeamRequest } from './team-context.js';

export async function routeTeamApi(_context: TeamContext, request: TeamRequest): Promise<Reply> {
  return { status: 404, type: 'json', body: `${JSON.stringify({ error: `no such API endpoint: ${request.pathname}` })}\n` };
}
