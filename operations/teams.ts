/**
 * Teams as operators manage them: creating one and replacing its token, each giving back the token text to hand
 * to the team once (only its salted hash is stored). Shared by `challenge team` (cli/team.ts) and the demo.
 */
import { newToken } from '../domain/teams/tokens.js';
import type { ResultsStore } from '../infra/results-store.js';
import { TeamExistsError } from '../infra/team-store.js';

/** Creates the team (TeamExistsError when the name is taken) and returns its token. */
export async function addTeam(db: ResultsStore, team: { name: string; tracks: string[]; webhook: string | null }, at = new Date()): Promise<string> {
  const { token, stored } = await newToken();
  await db.createTeam({ name: team.name, tracks: [...new Set(team.tracks)], webhook: team.webhook, at: at.toISOString() }, stored);
  return token;
}

/** Replaces a team's token: the old one stops working at once, with every browser session signed in with it. */
export async function rotateTeamToken(db: ResultsStore, name: string): Promise<string> {
  const { token, stored } = await newToken();
  await db.replaceToken(name, stored);
  return token;
}

/** A token for `team`: the team is created, or, when it exists (a rerun of a demo), its token is replaced: tokens are shown once. */
export async function addOrRotateTeam(db: ResultsStore, team: { name: string; tracks: string[]; webhook: string | null }): Promise<string> {
  try {
    return await addTeam(db, team);
  } catch (error) {
    if (!(error instanceof TeamExistsError)) throw error;
    return rotateTeamToken(db, team.name);
  }
}
