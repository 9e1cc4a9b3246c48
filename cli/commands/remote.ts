/**
 * `challenge remote ...`: the participants' client of a competition server. cli/remote.ts parses its own actions
 * (submit, status, logs, final) and names its exit codes; this file only hands it the arguments.
 */
import type { Command } from 'commander';
import { REMOTE_HELP, remoteCommand } from '../remote.js';
import { action, passesArgumentsOn } from '../command-kit.js';

export function registerRemoteCommand(program: Command): void {
  const remote = program.command('remote').description("a team's client of a competition server: submit <dir>, status [id], logs <id>, final <id>");
  passesArgumentsOn(remote, 'submit <dir> | status [id] | logs <id> | final <id>, and their options', REMOTE_HELP).action(
    action((args: string[]) => remoteCommand(args)),
  );
}
