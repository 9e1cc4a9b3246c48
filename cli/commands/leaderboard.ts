/** `challenge leaderboard`: the development board of a track, or (--phase final) the final board with the reproduction column. */
import { Option, type Command } from 'commander';
import { z } from 'zod';
import { leaderboardCsv, leaderboardTable } from '../../domain/standings-table.js';
import { COMPETITION_VARIABLE } from '../../infra/paths.js';
import { leaderboard } from '../../operations/standings.js';
import { finalLeaderboardCommand } from '../reproduce.js';
import { EXIT, TrackValue, action, checkedOptions, runtimeConfig, withResultsStore } from '../command-kit.js';

const LeaderboardFlags = z.object({
  track: TrackValue,
  phase: z.enum(['development', 'final']),
  competition: z.string().optional(),
  json: z.boolean().default(false),
  csv: z.boolean().default(false),
});

async function leaderboardCommand(options: unknown): Promise<number> {
  const flags = checkedOptions(LeaderboardFlags, options);
  const config = runtimeConfig();
  if (flags.phase === 'final') {
    return finalLeaderboardCommand(config, flags.track, { json: flags.json, csv: flags.csv, ...(flags.competition ? { competition: flags.competition } : {}) });
  }
  return withResultsStore(config, async (db) => {
    const board = await leaderboard(db, flags.track);
    if (flags.csv) process.stdout.write(leaderboardCsv(board));
    else console.log(flags.json ? JSON.stringify(board, null, 2) : leaderboardTable(board));
    return EXIT.ok;
  });
}

export function registerLeaderboardCommand(program: Command): void {
  program
    .command('leaderboard')
    .description('rank the submissions of a track (development board, or --phase final)')
    .option('--track <id>', 'the track (a100-40gb, 4090-24gb, cpu)', 'cpu')
    .addOption(new Option('--phase <board>', 'which board').choices(['development', 'final']).default('development'))
    .option('--competition <file>', `the competition file of the final board (default $${COMPETITION_VARIABLE}, else competitions/demo.json)`)
    .option('--json', 'print the board as JSON')
    .option('--csv', 'print the board as CSV')
    .addHelpText(
      'after',
      `
Ranks a track by the 2023 final-round rules (1/3 open + 2/3 closed). --phase development (default): the
development submissions. --phase final: the final runs (<id>.final) on the final phase's suites, each under its
team and development submission, with the reproduction column (Reproduced, NotReproduced and why, pending, — not
among the top N); a team that did not reproduce is marked or dropped (and the board scored again without it) as
the competition file's reproduction.onFailure says.`,
    )
    .action(action(leaderboardCommand));
}
