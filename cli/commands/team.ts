/** `challenge team add|list|rotate-token|disable|enable|quota`: the teams of the participants' door (cli/team.ts checks and acts). */
import type { Command } from 'commander';
import { z } from 'zod';
import { COMPETITION_VARIABLE } from '../../infra/paths.js';
import { TEAM_HELP, teamCommand, type TeamAction } from '../team.js';
import { action, checkedOptions, runtimeConfig } from '../command-kit.js';

const TeamOptions = z.object({
  competition: z.string().optional(),
  tracks: z.string().optional(),
  webhook: z.string().optional(),
  json: z.boolean().optional(),
  reason: z.string().optional(),
  phase: z.string().optional(),
  by: z.string().optional(),
});

const run = (name: TeamAction, positionals: string[], options: unknown) => teamCommand(runtimeConfig(), name, positionals, checkedOptions(TeamOptions, options));

export function registerTeamCommands(program: Command): void {
  const team = program
    .command('team')
    .description("teams of the participants' door: add, list, rotate-token, disable, enable, quota")
    .addHelpText('after', `\n${TEAM_HELP}`);
  const withCompetition = (command: Command) =>
    command.option('--competition <file>', `the competition file (default $${COMPETITION_VARIABLE}, else competitions/demo.json)`);
  withCompetition(team.command('add').description("add a team and print its token once (only its hash is kept)").argument('<name>', 'the team name, as "team" in submission.json'))
    .option('--tracks <list>', 'the tracks it may submit to, comma-separated (default: every track of the competition file)')
    .option('--webhook <url>', 'an http(s) URL notified when its submissions end')
    .action(action((name: string, options: unknown) => run('add', [name], options)));
  withCompetition(team.command('list').description("every team: tracks, state, submissions used and left in the open phase"))
    .option('--json', 'print the teams as JSON')
    .action(action((options: unknown) => run('list', [], options)));
  for (const [name, description] of [
    ['rotate-token', 'replace the token of a team (the old one and its browser sessions stop working)'],
    ['disable', "refuse a team's token and sessions until enabled"],
    ['enable', "accept a disabled team's token again"],
  ] as const) {
    withCompetition(team.command(name).description(description).argument('<name>', 'the team name')).action(action((team: string, options: unknown) => run(name, [team], options)));
  }
  withCompetition(team.command('quota').description('grant a team N more submissions in a phase, recorded with who and why'))
    .argument('<name>', 'the team name')
    .argument('<amount>', 'how many more submissions, e.g. +1')
    .option('--reason <text>', 'why (required: every grant is recorded with who gave it and why)')
    .option('--phase <id>', 'the phase (default: the one open now)')
    .option('--by <who>', 'who grants it (default $USER)')
    .action(action((name: string, amount: string, options: unknown) => run('quota', [name, amount], options)));
}
