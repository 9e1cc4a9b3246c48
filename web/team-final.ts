/**
 * A team's choice of the submission that goes to the finals, per track: the one rule both doors apply
 * (web/team-api.ts POST /api/team/final, web/team-pages.ts POST /team/final), so the JSON API and the team page
 * accept and refuse exactly the same cases, and the current choices the team page shows.
 *
 * A choice is one of the team's own uploads of the phase that takes uploads now; it is recorded for that upload's
 * track (TeamStore.chooseFinal, the latest choice wins). Another team's id is refused exactly like an unknown one, so
 * the answer says nothing of what other teams uploaded. Which submission then goes is activities/competition.ts
 * finalSelections (competition file `finalSelection: chosen-else-latest-completed`): FINAL_RULE says it in words.
 */
import { z } from 'zod';
import { openQuota } from '../domain/competition/index.js';
import type { FinalChoice } from '../infra/team-store.js';
import { nowOf } from './team-auth.js';
import type { TeamContext } from './team-context.js';

/** The selection rule of the finals (activities/competition.ts finalSelections), as the team is told it. */
export const FINAL_RULE = 'per track, the chosen submission goes to the finals if its pipeline completed; else the latest completed one';

/** A submission id as both doors take it (the API's JSON field and the page form's hidden field `submissionId`). */
export const FinalSubmissionId = z.string().min(1).max(200);

/** Where each door points the team: where its submissions are listed, and where its choices are shown. */
export interface FinalDoor {
  lists: string;
  choices: string;
}

export const API_FINAL_DOOR: FinalDoor = { lists: 'GET /api/team/submissions lists them', choices: 'GET /api/team/final shows the choices made' };
export const PAGE_FINAL_DOOR: FinalDoor = { lists: 'your team page /team lists them', choices: 'your team page /team shows the choices made' };

/** Why a choice was refused: the HTTP status both doors answer with, and the sentence naming the submission and what to do. */
export type FinalRefusal = { kind: 'refused'; status: 400 | 403 | 404; reason: 'closed' | 'unknown' | 'not-uploaded' | 'other-phase'; message: string };

export type FinalChoiceResult = { kind: 'chosen'; choice: FinalChoice; replaced: string | null } | FinalRefusal;

/** The answer to an unknown id and to another team's id alike (the caller must not add anything that tells them apart). */
export const unknownSubmission = (submissionId: string, door: FinalDoor): FinalRefusal => ({
  kind: 'refused',
  status: 404,
  reason: 'unknown',
  message: `your team has no submission "${submissionId}"; ${door.lists}`,
});

/** Records `submissionId` as the team's final for its track in the phase that takes uploads now, or says why not. */
export async function chooseFinalSubmission(context: TeamContext, team: string, submissionId: string, door: FinalDoor): Promise<FinalChoiceResult> {
  const now = nowOf(context);
  const open = openQuota(context.door.competition, now);
  if (!open) return { kind: 'refused', status: 403, reason: 'closed', message: `no phase takes uploads now, so the final submission can no longer be chosen (${door.choices})` };
  const intakes = (await context.db.intakes(team)).filter((i) => i.submissionId === submissionId);
  if (intakes.length === 0) {
    // The team's own submission that an operator ran for it (challenge submit) is no upload: say so; anything else is unknown.
    if ((await context.db.submission(submissionId))?.team !== team) return unknownSubmission(submissionId, door);
    const message = `submission "${submissionId}" was submitted by the organizers, not uploaded by your team; only your uploads of phase ${open.phase.id} can be chosen (${door.lists})`;
    return { kind: 'refused', status: 400, reason: 'not-uploaded', message };
  }
  const intake = intakes.find((i) => i.phase === open.phase.id);
  if (!intake) {
    const message = `submission "${submissionId}" was not uploaded in phase ${open.phase.id}; choose one of this phase's uploads (${door.lists})`;
    return { kind: 'refused', status: 400, reason: 'other-phase', message };
  }
  const previous = await context.db.finalChoice(team, intake.track, open.phase.id);
  const choice = await context.db.chooseFinal({ team, track: intake.track, phase: open.phase.id, submissionId, at: new Date(now).toISOString() });
  return { kind: 'chosen', choice, replaced: previous && previous.submissionId !== submissionId ? previous.submissionId : null };
}

/** The team's choice for one track in the phase that takes uploads now (null: none chosen yet). */
export interface TeamFinal {
  track: string;
  phase: string;
  submissionId: string | null;
  chosenAt: string | null;
}

/** The team's current choice per track (`tracks`, in order) in the phase that takes uploads now; empty between phases. */
export async function currentFinals(context: TeamContext, team: string, tracks: readonly string[]): Promise<TeamFinal[]> {
  const open = openQuota(context.door.competition, nowOf(context));
  if (!open) return [];
  const finals: TeamFinal[] = [];
  for (const track of tracks) {
    const choice = await context.db.finalChoice(team, track, open.phase.id);
    finals.push({ track, phase: open.phase.id, submissionId: choice?.submissionId ?? null, chosenAt: choice?.at ?? null });
  }
  return finals;
}
