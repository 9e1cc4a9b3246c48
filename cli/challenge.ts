#!/usr/bin/env node
/**
 * `challenge`: the operators' command line, on commander. Each command lives in cli/commands/<name>.ts and
 * registers itself; `challenge --help` and `challenge <command> --help` come from commander.
 *   challenge submit <dir> [--track T] [--fine-tune-limit 30s] [--open-eval-limit 5m] [--closed-eval-limit 10m] [--json]
 *   challenge status [workflow-id|submission-id] [--watch] [--json]
 *   challenge leaderboard [--track T] [--phase development|final] [--json|--csv]
 * Exit codes: 0 ok, 1 failed operation, 2 bad input, 3 already submitted and finished.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError } from 'commander';
import { SubmissionError } from '../domain/submission.js';
import { EXIT, UsageError, takeExitCode } from './command-kit.js';
import { registerCancelCommand } from './commands/cancel.js';
import { registerCheckCommand } from './commands/check.js';
import { registerCompetitionCommands } from './commands/competition.js';
import { registerEvaluateCommand } from './commands/evaluate.js';
import { registerHostsCommand } from './commands/hosts.js';
import { registerLeaderboardCommand } from './commands/leaderboard.js';
import { registerLogsCommand } from './commands/logs.js';
import { registerPlacementCommands } from './commands/placement.js';
import { registerRemoteCommand } from './commands/remote.js';
import { registerReportCommand } from './commands/report.js';
import { registerReproduceCommands } from './commands/reproduce.js';
import { registerRetryCommand } from './commands/retry.js';
import { registerScheduleCommands } from './commands/schedule.js';
import { registerScoreCommand } from './commands/score.js';
import { registerServeCommand } from './commands/serve.js';
import { registerStatusCommand } from './commands/status.js';
import { registerSubmitCommand } from './commands/submit.js';
import { registerTeamCommands } from './commands/team.js';

const ENVIRONMENT_HELP = `
Run "challenge <command> --help" for the options of a command.
Exit codes: 0 ok, 1 failed operation, 2 bad input, 3 already submitted and finished.
Environment: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_TLS_*, TEMPORAL_API_KEY, DATABASE_URL,
CHALLENGE_ARTIFACT_STORE, CHALLENGE_DATA_DIR, CHALLENGE_TEMPORAL_UI_URL (see docs/production.md).`;

/** Every command, with its options and help; errors throw (exitOverride) instead of exiting, so runChallenge picks the code. */
export function challengeProgram(): Command {
  const program = new Command('challenge')
    .description('run an LLM fine-tuning competition on Temporal')
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({ outputError: (message, write) => write(message.replace(/^error: /, 'challenge: ')) })
    .addHelpText('after', ENVIRONMENT_HELP);
  for (const register of [
    registerSubmitCommand,
    registerStatusCommand,
    registerLogsCommand,
    registerCancelCommand,
    registerRetryCommand,
    registerEvaluateCommand,
    registerScheduleCommands,
    registerLeaderboardCommand,
    registerHostsCommand,
    registerPlacementCommands,
    registerServeCommand,
    registerCheckCommand,
    registerReportCommand,
    registerScoreCommand,
    registerRemoteCommand,
    registerTeamCommands,
    registerCompetitionCommands,
    registerReproduceCommands,
  ]) {
    register(program);
  }
  // After a commander error (unknown command or option, missing argument), say where the usage is.
  const hint = (command: Command, name: string): void => {
    command.showHelpAfterError(`(run "${name} --help" for its usage)`);
    for (const sub of command.commands) hint(sub, `${name} ${sub.name()}`);
  };
  hint(program, 'challenge');
  return program;
}

/** Runs one command line (without `node challenge.js`) and answers its exit code; messages go to stdout/stderr. */
export async function runChallenge(argv: readonly string[]): Promise<number> {
  const program = challengeProgram();
  if (argv.length === 0) {
    program.outputHelp();
    return EXIT.ok;
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return takeExitCode();
  } catch (error) {
    takeExitCode();
    if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT.ok : EXIT.badInput; // commander printed it
    if (error instanceof UsageError || error instanceof SubmissionError) {
      console.error(`challenge: ${error.message}`);
      return EXIT.badInput;
    }
    console.error(`challenge: ${error instanceof Error ? error.message : String(error)}`);
    return EXIT.failed;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === realpathSync(process.argv[1])) {
  void runChallenge(process.argv.slice(2)).then((code) => process.exit(code));
}
