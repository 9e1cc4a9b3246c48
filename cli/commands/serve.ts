/** `challenge serve`: the leaderboard web page, its operator pages and the participants' door (web/server.ts), until Ctrl-C. */
import type { Command } from 'commander';
import path from 'node:path';
import { z } from 'zod';
import { CompetitionFileError, loadCompetition, type CompetitionFile } from '../../domain/competition/index.js';
import { readEnvironment } from '../../infra/environment.js';
import { openResultsStore } from '../../infra/open-results-store.js';
import { openArtifactStore } from '../../infra/open-artifact-store.js';
import { COMPETITION_VARIABLE, competitionFilePath } from '../../infra/paths.js';
import { connectClient, uiLocationOf } from '../../infra/temporal.js';
import { lazyClient, temporalStarter } from '../../operations/intake.js';
import { liveStagesOf } from '../../operations/pipelines.js';
import { placementsOf } from '../../operations/placement.js';
import { OPERATOR_TOKEN_VARIABLE, WebServerSetupError, checkOperatorSetup, startWebServer } from '../../web/server.js';
import { PLACEMENT_SHARED_MS, sharedFor } from '../../web/placement-data.js';
import { EXIT, UsageError, action, checkedOptions, runtimeConfig, wholeNumber } from '../command-kit.js';

const ServeFlags = z.object({
  port: wholeNumber(0, 65535),
  host: z.string(),
  competition: z.string().optional(),
});

function competitionOf(file: string | undefined): CompetitionFile {
  try {
    return loadCompetition(competitionFilePath(file));
  } catch (error) {
    throw error instanceof CompetitionFileError ? new UsageError(`--competition: ${error.message}`) : error;
  }
}

async function serveCommand(options: unknown): Promise<number> {
  const flags = checkedOptions(ServeFlags, options);
  const config = runtimeConfig();
  const competition = competitionOf(flags.competition);
  const operatorToken = readEnvironment('operator').CHALLENGE_OPERATOR_TOKEN ?? null;
  // Before anything is opened: no operator pages open to a public address, no weak token (exit code 2).
  try {
    checkOperatorSetup(flags.host, operatorToken);
  } catch (error) {
    throw error instanceof WebServerSetupError ? new UsageError(error.message) : error;
  }
  const db = await openResultsStore(config);
  // Temporal is connected on the first accepted upload (and again after a failed try), not before the page serves.
  const temporal = lazyClient(() => connectClient(config));
  let server;
  try {
    const artifacts = await openArtifactStore(config.artifactStore);
    const teams = { competition, starter: temporalStarter(temporal.get, config), stagingDir: path.join(config.dataDir, 'intake'), artifacts };
    // A running stage's progress comes from its workflow; when Temporal cannot be reached the pages show what is recorded.
    const live = async (submissionId: string) => {
      try {
        return await liveStagesOf(await temporal.get())(submissionId);
      } catch {
        return null;
      }
    };
    // The operator's GPU placement page (and each team's own GPU time and queue places on /team) asks every track's placement, as `challenge placement` does.
    const placement = sharedFor(PLACEMENT_SHARED_MS, async () => placementsOf(await temporal.get()));
    server = await startWebServer({ db, artifacts, dataDir: config.dataDir, host: flags.host, port: flags.port, temporalUi: uiLocationOf(config), operatorToken, teams, live, placement });
  } catch (error) {
    await db.close();
    if (error instanceof WebServerSetupError) throw new UsageError(error.message);
    throw error;
  }
  console.log(`leaderboard web page: ${server.url}  (Ctrl-C stops it)`);
  console.log(
    operatorToken
      ? `operator pages: ${server.url}/operator  (Authorization: Bearer $${OPERATOR_TOKEN_VARIABLE})`
      : `operator pages: ${server.url}/operator  (loopback only: ${OPERATOR_TOKEN_VARIABLE} is not set)`,
  );
  console.log(`participants' door: ${server.url}/team and POST ${server.url}/api/team/submissions  (competition ${competition.id})`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
  await temporal.close();
  await db.close();
  return EXIT.ok;
}

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('the leaderboard web page, public and operator views (loopback by default)')
    .option('--port <port>', 'the port to listen on, 0 to 65535', '8080')
    .option('--host <address>', 'the address to listen on', '127.0.0.1')
    .option('--competition <file>', `the competition file of the participants' door (default $${COMPETITION_VARIABLE}, else competitions/demo.json)`)
    .addHelpText(
      'after',
      `
Serves the leaderboard per track, open-vs-closed scatter, failure chart and a page per submission.
Public pages (/, /tracks/<track>, /submissions/<id>, /api/leaderboard[.csv]?track=, /api/submissions/<id>)
show scores, stage outcomes, failure categories and reasons, and nothing derived from the closed suite:
the closed evaluation's reason is rebuilt from its category and counts, and only build logs are shown.
Operator pages (/operator/..., /api/operator/...) show every log, full reasons and the answers, and
/operator/placement each track's GPU slots, waiting submissions and each team's GPU time; they need
"Authorization: Bearer <${OPERATOR_TOKEN_VARIABLE}>" (or HTTP Basic with it as the password).
Without ${OPERATOR_TOKEN_VARIABLE} they answer on loopback only, and serve refuses any other --host.
The participants' door: teams upload an archive with their token (POST /api/team/submissions, Bearer
cht_…), within the quotas of the competition file, and see only their own submissions (/api/team/..., /team).
Uploads are unpacked under <data dir>/intake and kept in the artifact store; Temporal is reached when the first
upload is accepted, so the pages work while it is down (an upload then gets 503 and is not counted).
Listens on loopback unless --host says otherwise. Ctrl-C stops it.`,
    )
    .action(action(serveCommand));
}
