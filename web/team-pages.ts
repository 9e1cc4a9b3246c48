/** The team's own pages (/team). Being written: answers 404 until then. */
import type { Reply, TeamContext, TeamRequest } from './team-context.js';

export async function routeTeamPage(_context: TeamContext, request: TeamRequest): Promise<Reply> {
  return { status: 404, type: 'html', body: `<p>Nothing lives at ${request.pathname.replace(/[<>&"]/g, '')}.</p>` };
}
