/** `challenge reproduce status`: the finalists' reproductions (cli/reproduce.ts): verdict, final score submitted vs reproduced. */
import type { Command } from 'commander';
import { z } from 'zod';
import { REPRODUCE_HELP, reproduceStatusCommand } from '../reproduce.js';
import { action, checkedOptions, runtimeConfig } from '../command-kit.js';

const StatusOptions = z.object({ track: z.string().optional(), json: z.boolean().optional(), competition: z.string().optional() });

export function registerReproduceCommands(program: Command): void {
  const reproduce = program
    .command('reproduce')
    .description("the finalists' reproductions: verdict, final score submitted vs reproduced, columns outside tolerance")
    .addHelpText('after', `\n${REPRODUCE_HELP}`);
  reproduce
    .command('status')
    .description('every finalist whose training the competition clock re-ran: verdict, final score submitted vs reproduced')
    .option('--track <id>', 'only the finalists of this track')
    .option('--json', 'print the reproductions as JSON')
    .option('--competition <file>', 'the competition file (default $CHALLENGE_COMPETITION, else competitions/demo.json)')
    .action(action((options: unknown) => reproduceStatusCommand(runtimeConfig(), checkedOptions(StatusOptions, options))));
}
