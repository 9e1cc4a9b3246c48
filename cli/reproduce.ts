/**
 * The finals on the command line: `challenge reproduce status` (each finalist whose training the platform re-ran:
 * its verdict, the submitted vs reproduced final score, the scenario columns outside tolerance) and the final
 * board behind `challenge leaderboard --phase final` (the `.final` runs with the reproduction column, a team
 * that did not reproduce marked or dropped as the competition file says).
 * Exit codes: 0 done, 2 bad input (printed here), 1 any other failure.
 */
import { CompetitionFileError, loadCompetition, type CompetitionFile } from '../domain/competition/index.js';
import { finalBoardCsv, finalBoardTable, reproductionStatusTable } from '../domain/competition/final-board-text.js';
import { finalLeaderboard, finalSuiteFiles, reproductionStatus } from '../operations/standings.js';
import { COMPETITION_VARIABLE, competitionFilePath } from '../infra/paths.js';
import { withResultsStore } from './command-kit.js';
import { TrackId } from '../temporal.config.js';
import { type RuntimeConfig } from '../infra/runtime-config.js';

export const REPRODUCE_HELP = `challenge reproduce status [--track <id>] [--json] [--competition <file>]
Every finalist whose training the competition clock re-ran from its Dockerfile.train: the verdict (Reproduced,
NotReproduced, or pending while the reproduction runs), the final score submitted vs reproduced, and the
scenario columns outside the competition file's tolerance. The final board with this column:
challenge leaderboard --track <id> --phase final.
  --competition <file>   the competition file (default $${COMPETITION_VARIABLE}, else competitions/demo.json)`;

/** Bad input: printed with the command and answered with exit code 2. */
class ReproduceUsageError extends Error {}

function competitionOf(file: string | undefined): CompetitionFile {
  try {
    return loadCompetition(competitionFilePath(file));
  } catch (error) {
    if (error instanceof CompetitionFileError) throw new ReproduceUsageError(`--competition: ${error.message}`);
    throw error;
  }
}

function trackOf(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const track = TrackId.safeParse(value);
  if (!track.success) throw new ReproduceUsageError(`--track: "${value}" is not a track; use one of ${TrackId.options.join(', ')}`);
  return track.data;
}

async function statusCommand(config: RuntimeConfig, flags: { track?: string; json?: boolean }): Promise<number> {
  const track = trackOf(flags.track);
  return withResultsStore(config, async (db) => {
    const entries = await reproductionStatus(db, track);
    console.log(flags.json ? JSON.stringify(entries, null, 2) : reproductionStatusTable(entries));
    return 0;
  });
}

/** `challenge leaderboard --phase final`: the final board of a track, scored on the final phase's suites. */
export async function finalLeaderboardCommand(config: RuntimeConfig, track: string, options: { json: boolean; csv: boolean; competition?: string }): Promise<number> {
  let competition: CompetitionFile;
  try {
    competition = competitionOf(options.competition);
  } catch (error) {
    if (!(error instanceof ReproduceUsageError)) throw error;
    console.error(`challenge leaderboard: ${error.message}`);
    return 2;
  }
  return withResultsStore(config, async (db) => {
    const board = await finalLeaderboard(db, track, { onFailure: competition.reproduction.onFailure, suites: finalSuiteFiles(competition, track) });
    if (options.csv) process.stdout.write(finalBoardCsv(board));
    else console.log(options.json ? JSON.stringify(board, null, 2) : finalBoardTable(board));
    return 0;
  });
}

/** `challenge reproduce status` (cli/commands/reproduce.ts parses the command line); bad input is printed here with exit code 2. */
export async function reproduceStatusCommand(config: RuntimeConfig, flags: { track?: string; json?: boolean }): Promise<number> {
  try {
    return await statusCommand(config, flags);
  } catch (error) {
    if (!(error instanceof ReproduceUsageError)) throw error;
    console.error(`challenge reproduce: ${error.message}`);
    return 2;
  }
}
