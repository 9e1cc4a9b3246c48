/**
 * `challenge team`: the operators' commands for the participants' door. Teams (add, list, enable, disable),
 * their tokens (shown once, stored as a hash; rotate-token replaces one and ends its sessions) and quota
 * grants (who gave how many more, and why). Works on the results store the configuration names.
 * Commander parses the command line (cli/commands/team.ts); this module checks the values and acts.
 * Exit codes: 0 done, 2 bad input (printed here, as `challenge team <action>: …`), 1 any other failure.
 */
import os from 'node:os';
import { z } from 'zod';
import { CompetitionFileError, loadCompetition, openQuota, phaseAt, type CompetitionFile } from '../domain/competition/index.js';
import { SubmissionManifest } from '../domain/submission.js';
import { textTable } from '../domain/text-table.js';
import { addTeam as addTeamToStore, rotateTeamToken } from '../operations/teams.js';
import type { QuotaDecision } from '../domain/teams/quota.js';
import { COMPETITION_VARIABLE, competitionFilePath } from '../infra/paths.js';
import { readEnvironment } from '../infra/environment.js';
import { withResultsStore } from './command-kit.js';
import type { ResultsStore } from '../infra/results-store.js';
import { TeamExistsError, type TeamRecord } from '../infra/team-store.js';
import type { RuntimeConfig } from '../infra/runtime-config.js';

export const TEAM_HELP = `challenge team add <name> [--tracks a100-40gb,cpu] [--webhook URL]
challenge team list [--json]
challenge team rotate-token <name> | disable <name> | enable <name>
challenge team quota <name> +N --reason "..." [--phase <id>] [--by <who>]
add prints the team's token once (cht_…): only its hash is kept, so a lost token is replaced with
rotate-token, which also ends every browser session signed in with the old one. Tracks default to every
track of the competition file. list shows each team's submissions used and left now, per track, in the
open phase. quota grants N more submissions in a phase (default: the one open now), recorded with who
gave them (--by, default $USER) and why (--reason, required).
  --competition <file>   the competition file (default $${COMPETITION_VARIABLE}, else competitions/demo.json)`;

/** Bad input: printed with the action and answered with exit code 2. */
class TeamUsageError extends Error {}

const TeamName = SubmissionManifest.shape.team;
const Webhook = z.url({ protocol: /^https?$/, error: 'a webhook is an http(s) URL, e.g. https://example.org/hook' });

/** The options of every team action, as commander parsed them (each action reads its own). */
export interface TeamFlags {
  competition?: string;
  tracks?: string;
  webhook?: string;
  json?: boolean;
  reason?: string;
  phase?: string;
  by?: string;
}

function teamName(positionals: string[], action: string): string {
  if (positionals.length !== 1) throw new TeamUsageError(`${action} takes one team name: challenge team ${action} <name>`);
  const name = TeamName.safeParse(positionals[0]);
  if (!name.success) throw new TeamUsageError(`team name "${positionals[0]}": ${name.error.issues[0]?.message ?? 'not a team name'} (as "team" in submission.json)`);
  return name.data;
}

function competitionOf(choice: string | undefined): CompetitionFile {
  try {
    return loadCompetition(competitionFilePath(choice));
  } catch (error) {
    throw error instanceof CompetitionFileError ? new TeamUsageError(`--competition: ${error.message}`) : error;
  }
}

async function existingTeam(db: ResultsStore, name: string): Promise<TeamRecord> {
  const team = await db.team(name);
  if (!team) throw new TeamUsageError(`no team "${name}" in ${db.location}; list the teams with: challenge team list`);
  return team;
}

const printToken = (name: string, token: string) =>
  console.log(
    `token of ${name}: ${token}\nThis token is shown only now: give it to the team (it is stored only as a hash). A lost one is replaced with: challenge team rotate-token ${name}`,
  );

async function addTeam(db: ResultsStore, positionals: string[], values: TeamFlags): Promise<number> {
  const name = teamName(positionals, 'add');
  const competition = competitionOf(values.competition);
  const tracks: string[] = values.tracks === undefined ? [...competition.tracks] : values.tracks.split(',').map((t) => t.trim());
  const unknown = tracks.filter((track) => !(competition.tracks as string[]).includes(track));
  if (tracks.length === 0 || unknown.length > 0) {
    throw new TeamUsageError(`--tracks: "${unknown.join(',') || values.tracks}" is not among the competition's tracks (${competition.tracks.join(', ')})`);
  }
  let webhook: string | null = null;
  if (values.webhook !== undefined) {
    const parsed = Webhook.safeParse(values.webhook);
    if (!parsed.success) throw new TeamUsageError(`--webhook "${values.webhook}": ${parsed.error.issues[0]?.message}`);
    webhook = parsed.data;
  }
  let token: string;
  try {
    token = await addTeamToStore(db, { name, tracks, webhook });
  } catch (error) {
    throw error instanceof TeamExistsError ? new TeamUsageError(error.message) : error;
  }
  console.log(`added team ${name} (tracks ${[...new Set(tracks)].join(', ')}${webhook ? `, webhook ${webhook}` : ''}) in ${db.location}`);
  printToken(name, token);
  return 0;
}

async function listTeams(db: ResultsStore, values: TeamFlags): Promise<number> {
  const competition = competitionOf(values.competition);
  const now = new Date();
  const open = openQuota(competition, now.getTime());
  const teams = await db.teams();
  const listed = await Promise.all(
    teams.map(async (team) => {
      const quota: Record<string, QuotaDecision> = {};
      if (open) for (const track of team.tracks) quota[track] = await db.quotaStatus(team.name, track, open.phase.id, open.quota, now.toISOString());
      return { ...team, phase: open?.phase.id ?? null, quota };
    }),
  );
  if (values.json) {
    console.log(JSON.stringify(listed, null, 2));
    return 0;
  }
  if (listed.length === 0) {
    console.log(`no teams in ${db.location}; add one with: challenge team add <name>`);
    return 0;
  }
  const usage = (entry: (typeof listed)[number]) =>
    open ? entry.tracks.map((track) => `${track} ${entry.quota[track]!.usedInWindow} used/${entry.quota[track]!.left} left`).join(', ') : '(no phase takes submissions now)';
  const rows = listed.map((entry) => [entry.name, entry.tracks.join(','), entry.disabled ? 'disabled' : 'enabled', entry.createdAt, usage(entry)]);
  console.log(textTable(['team', 'tracks', 'state', 'created', open ? `submissions now (phase ${open.phase.id})` : 'submissions now'], rows).join('\n'));
  return 0;
}

async function rotateToken(db: ResultsStore, positionals: string[]): Promise<number> {
  const name = teamName(positionals, 'rotate-token');
  await existingTeam(db, name);
  const token = await rotateTeamToken(db, name);
  console.log(`replaced the token of ${name}: the old one no longer works, and its browser sessions are ended`);
  printToken(name, token);
  return 0;
}

async function setDisabled(db: ResultsStore, positionals: string[], disabled: boolean): Promise<number> {
  const action = disabled ? 'disable' : 'enable';
  const name = teamName(positionals, action);
  await existingTeam(db, name);
  await db.setTeamDisabled(name, disabled);
  console.log(disabled ? `disabled ${name}: its token and sessions are refused until: challenge team enable ${name}` : `enabled ${name}`);
  return 0;
}

async function grantQuota(db: ResultsStore, positionals: string[], values: TeamFlags): Promise<number> {
  const usage = 'challenge team quota <name> +N --reason "..." [--phase <id>] [--by <who>]';
  if (positionals.length !== 2) throw new TeamUsageError(`quota takes a team name and a number of submissions: ${usage}`);
  const name = teamName(positionals.slice(0, 1), 'quota');
  const amount = /^\+?([1-9]\d{0,5})$/.exec(positionals[1]!);
  if (!amount) throw new TeamUsageError(`"${positionals[1]}" is not a number of extra submissions; write e.g. +1: ${usage}`);
  const reason = values.reason?.trim();
  if (!reason) throw new TeamUsageError(`say why with --reason "...": every grant is recorded with who gave it and why (${usage})`);
  const competition = competitionOf(values.competition);
  const phase = values.phase ?? phaseAt(competition, Date.now())?.id;
  if (!phase) throw new TeamUsageError(`no phase of ${competition.id} is open now; name one with --phase (${competition.phases.map((p) => p.id).join(', ')})`);
  if (!competition.phases.some((p) => p.id === phase)) {
    throw new TeamUsageError(`--phase "${phase}" is not a phase of ${competition.id}; use one of ${competition.phases.map((p) => p.id).join(', ')}`);
  }
  await existingTeam(db, name);
  const by = values.by?.trim() || readEnvironment('shell').USER || os.userInfo().username;
  await db.grantQuota({ team: name, phase, amount: Number(amount[1]), grantedBy: by, reason, at: new Date().toISOString() });
  const total = (await db.grants(name, phase)).reduce((sum, grant) => sum + grant.amount, 0);
  console.log(`granted ${name} ${amount[1]} more submission(s) in phase ${phase} (by ${by}: ${reason}); ${total} granted in the phase in all`);
  return 0;
}

export const TEAM_ACTIONS = ['add', 'list', 'rotate-token', 'disable', 'enable', 'quota'] as const;
export type TeamAction = (typeof TEAM_ACTIONS)[number];

/** Runs one team action on the configured results store; bad input is printed with the action and answered with 2. */
export async function teamCommand(
  config: Pick<RuntimeConfig, 'databaseUrl' | 'databasePath'>,
  action: TeamAction,
  positionals: string[],
  values: TeamFlags,
): Promise<number> {
  try {
    return await withResultsStore(config, async (db) => {
      if (action === 'add') return addTeam(db, positionals, values);
      if (action === 'list') return listTeams(db, values);
      if (action === 'rotate-token') return rotateToken(db, positionals);
      if (action === 'quota') return grantQuota(db, positionals, values);
      return setDisabled(db, positionals, action === 'disable');
    });
  } catch (error) {
    if (!(error instanceof TeamUsageError)) throw error;
    console.error(`challenge team ${action}: ${error.message}`);
    return 2;
  }
}
