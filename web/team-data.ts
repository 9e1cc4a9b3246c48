/**
 * What the participants' door shows a team (no HTTP, no markup): its submissions with stage timelines,
 * open-suite scores and answers, build and open-stage logs, redacted closed-stage reasons, quota and refunds.
 * Being written: minimal views until then.
 */
import type { TeamContext } from './team-context.js';

export interface TeamSubmissionSummary {
  submissionId: string;
  track: string;
  phase: string;
  acceptedAt: string;
  outcome: string;
  refunded: boolean;
  refundReason: string | null;
}

export interface TeamOverview {
  team: string;
  submissions: TeamSubmissionSummary[];
}

export async function teamOverview(context: TeamContext, team: string): Promise<TeamOverview> {
  const intakes = await context.db.intakes(team);
  return {
    team,
    submissions: intakes.map((i) => ({
      submissionId: i.submissionId,
      track: i.track,
      phase: i.phase,
      acceptedAt: i.acceptedAt,
      outcome: i.outcome ?? 'running',
      refunded: i.refunded,
      refundReason: i.refundReason,
    })),
  };
}

/** One of the team's submissions; null when it is not the team's (the caller answers 404, never another team's data). */
export async function teamSubmissionDetail(context: TeamContext, team: string, submissionId: string): Promise<Record<string, unknown> | null> {
  const record = await context.db.submission(submissionId);
  if (!record || record.team !== team) return null;
  return { submissionId, team, track: record.track };
}
