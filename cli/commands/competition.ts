/**
 * `challenge competition validate|start|status|extend`: the competition file (cli/competition.ts) and its clock
 * (cli/competition-clock.ts); validate needs no server.
 */
import type { Command } from 'commander';
import { z } from 'zod';
import { validateCompetitionCommand } from '../competition.js';
import { COMPETITION_CLOCK_USAGE, competitionClockCommand } from '../competition-clock.js';
import { action, checkedOptions, runtimeConfig } from '../command-kit.js';

const ClockOptions = z.object({
  competition: z.string().optional(),
  json: z.boolean().optional(),
  until: z.string().optional(),
  reason: z.string().optional(),
  by: z.string().optional(),
});

const COMPETITION_FILE = ['--competition <file>', 'the competition file (default $CHALLENGE_COMPETITION, else competitions/demo.json)'] as const;

export function registerCompetitionCommands(program: Command): void {
  const competition = program
    .command('competition')
    .description('the competition file and its clock: validate <file>, start, status, extend <phase>')
    .addHelpText(
      'after',
      `
challenge competition validate <file>
  Checks a competition file (competitions/neurips2023.json, competitions/demo.json): every error names its field and
  the fix (exit 2); a valid file prints its phases, quotas and reproduction rule.
${COMPETITION_CLOCK_USAGE}`,
    );
  competition
    .command('validate')
    .description('check a competition file; every error names its field and the fix (exit 2)')
    .argument('<file>', 'the competition file, e.g. competitions/neurips2023.json')
    .action(action((file: string) => validateCompetitionCommand(file)));
  competition
    .command('start')
    .description("start the competition's clock (workflow competition-<id>)")
    .option(...COMPETITION_FILE)
    .action(action((options: unknown) => competitionClockCommand(runtimeConfig(), 'start', [], checkedOptions(ClockOptions, options))));
  competition
    .command('status')
    .description('the phase open now and its time left, the final and reproduction runs, the verdicts, what the clock does next')
    .option(...COMPETITION_FILE)
    .option('--json', "print the clock's state as JSON")
    .action(action((options: unknown) => competitionClockCommand(runtimeConfig(), 'status', [], checkedOptions(ClockOptions, options))));
  competition
    .command('extend')
    .description("move a phase's close (recorded in the clock's history with who asked and why)")
    .argument('<phase>', 'the phase id')
    .option('--until <instant>', 'the new close, ISO-8601 with an offset, e.g. 2023-10-27T23:59:00Z')
    .option('--reason <text>', 'why (recorded)')
    .option('--by <name>', 'who asks (default: the OS user)')
    .option(...COMPETITION_FILE)
    .action(action((phase: string, options: unknown) => competitionClockCommand(runtimeConfig(), 'extend', [phase], checkedOptions(ClockOptions, options))));
}
