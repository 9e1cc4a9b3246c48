#!/usr/bin/env node
/**
 * `challenge`: the operators' command line.
 *   challenge submit <dir> [--track T] [--fine-tune-limit 30s] [--open-eval-limit 5m] [--closed-eval-limit 10m] [--json]
 *   challenge status [workflow-id|submission-id] [--watch] [--json]
 *   challenge leaderboard [--track T] [--phase development|final] [--json|--csv]
 * Exit codes: 0 ok, 1 failed operation, 2 bad input, 3 already submitted and finished.
 */
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ACTIVITY_POLICY, Duration, TrackId, formatDuration, type TrackId as TrackIdType } from '../temporal.config.js';
import { loadRuntimeConfig, type RuntimeConfig } from '../infra/runtime-config.js';
import { SubmissionError, loadSubmission } from '../domain/submission.js';
import { leaderboardCsv, leaderboardTable } from '../domain/leaderboard.js';
import { toCsv } from '../domain/text-table.js';
import { hostLiveness } from '../infra/results-store.js';
import { openResultsStore } from '../infra/open-results-store.js';
import { artifactKeys } from '../infra/artifact-store.js';
import { openArtifactStore } from '../infra/open-artifact-store.js';
import { OPERATOR_TOKEN_VARIABLE, WebServerSetupError, checkOperatorSetup, startWebServer } from '../web/server.js';
import { readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { CHALLENGE_2023_FINAL_RULES, parseFixture, parseScoringRules, scoreCompetition } from '../domain/scoring/index.js';
import { checkDirectory, checkUrl } from './check.js';
import { cancelPipeline, createSchedule, listSchedules, reevaluate, retryPipeline, scheduleAction, stageLogs } from './cockpit.js';
import { renderTrackReport, trackReport } from './report.js';
import { REMOTE_HELP, remoteCommand } from './remote.js';
import { TEAM_HELP, teamCommand } from './team.js';
import { REPRODUCE_HELP, finalLeaderboardCommand, reproduceCommand } from './reproduce.js';
import { connectClient, uiLocationOf, uiPageUrl } from '../infra/temporal.js';
import { CompetitionFileError, loadCompetition, type CompetitionFile } from '../domain/competition/index.js';
import { COMPETITION_VARIABLE, competitionFilePath } from '../infra/paths.js';
import { lazyClient, temporalStarter } from '../operations/intake.js';
import { pipelineWorkflowId } from '../contract/pipeline.js';
import { validateCompetitionCommand } from './competition.js';
import { COMPETITION_CLOCK_USAGE, competitionClockCommand } from './competition-clock.js';
import { listPipelines, pipelineStatus, submit, type PipelineStatus } from '../operations/pipelines.js';
import { leaderboard } from '../operations/leaderboard.js';

export class UsageError extends Error {}

const HELP: Record<string, string> = {
  '': `challenge — run an LLM fine-tuning competition on Temporal

Commands:
  submit <dir>          start the pipeline of a submission directory
  status [id]           all pipelines, or one (stage, elapsed against limit, progress)
  logs <id>             container logs of a submission's stages (capped)
  cancel <id>           cancel a running pipeline (what it produced so far is kept)
  retry <id>            re-run from the first stage that did not succeed, keeping the ones that did
  evaluate <id>         re-evaluate an existing fine-tuned submission against a suite
  schedule ...          scheduled batch re-evaluations (create, list, describe, pause, unpause, trigger, delete)
  leaderboard           rank the submissions of a track (development board, or --phase final)
  hosts                 the GPU hosts, their slots, and whether each is alive
  serve                 the leaderboard web page, public and operator views (loopback by default)
  check <dir|url>       preflight a submission before it costs GPU time (format, Dockerfile, contamination, contract)
  report                generalization, contamination and efficiency report of a track
  score                 score a metrics table (2023 fixture format) by the challenge rules
  remote ...            a team's client of a competition server: submit <dir>, status [id], logs <id>
  team ...              teams of the participants' door: add, list, rotate-token, disable, enable, quota
  competition ...       the competition file and its clock: validate <file>, start, status, extend <phase>
  reproduce status      the finalists' reproductions: verdict, final score submitted vs reproduced, columns outside tolerance

Run "challenge <command> --help" for the options of a command.
Environment: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_TLS_*, TEMPORAL_API_KEY, DATABASE_URL,
CHALLENGE_ARTIFACT_STORE, CHALLENGE_DATA_DIR, CHALLENGE_TEMPORAL_UI_URL (see docs/production.md).`,
  hosts: `challenge hosts [--track <id>] [--gone-after 90s] [--json]
Every GPU host that has run a worker: its track, GPU slots, when it last recorded itself alive, and
whether it counts as alive. A host silent for --gone-after (default ACTIVITY_POLICY.hostGoneAfterMs,
what pipelines use) loses its submissions to another host.`,
  submit: `challenge submit <dir> [options]
  --track <id>                 override the track of submission.json (a100-40gb, 4090-24gb, cpu)
  --fine-tune-limit <dur>      override the stage limit, e.g. 30s, 20m, 24h (also --build-limit,
  --open-eval-limit <dur>      --closed-eval-limit, --startup-limit)
  --json                       print the result as JSON
A second submit of a running or finished submission reports it instead of starting it again.`,
  status: `challenge status [workflow-id | team.submission] [--watch] [--json]
Without an id: one line per pipeline. With one: each stage with its elapsed time against its limit.
  --watch   redraw every 2 s until the pipeline ends`,
  leaderboard: `challenge leaderboard [--track <id>] [--phase development|final] [--json | --csv] [--competition <file>]
Ranks a track by the 2023 final-round rules (1/3 open + 2/3 closed). --phase development (default): the
development submissions. --phase final: the final runs (<id>.final) on the final phase's suites, each under its
team and development submission, with the reproduction column (Reproduced, NotReproduced and why, pending, — not
among the top N); a team that did not reproduce is marked or dropped (and the board scored again without it) as
the competition file's reproduction.onFailure says (--competition, default $${COMPETITION_VARIABLE} or competitions/demo.json).`,
  logs: `challenge logs <team.submission> [--stage build|fine-tune|open-eval|closed-eval] [--lines 100]
Prints the last lines of each stage's container log (earlier attempts included), from the data folder.`,
  cancel: `challenge cancel <team.submission>
Cancels the pipeline: the running stage stops its container, keeps what it produced, and the pipeline
ends as "cancelled" (not charged to the participant).`,
  retry: `challenge retry <team.submission> [--open-eval-limit 5m ...]
Re-runs from the first stage that did not succeed: evaluations only when training finished (its
artifact is reused), fine-tune onwards when the build succeeded (its images are reused), else all.`,
  evaluate: `challenge evaluate <team.submission> --suite closed=<file.json> [--suite open=<file.json>] [--closed-eval-limit 10m]
Re-evaluates the submission's existing fine-tuned artifact against the given suite(s); the new
scores replace the old ones for that suite kind, the earlier answers are kept as history.`,
  schedule: `challenge schedule create <id> --cron "0 2 * * *" --suite closed=<file.json> [--track <id>] [--concurrency 4] [--overlap skip|buffer-one]
challenge schedule list | describe <id> | pause <id> | unpause <id> | trigger <id> | delete <id>
A Temporal Schedule whose action is a batch workflow that re-evaluates every completed submission
(of the track) with at most --concurrency at once. Overlap: skip (default) never stacks batches;
catch-up window 1 h, so an outage replays at most the last missed batch.`,
  check: `challenge check <dir | url> [--serve] [--artifacts <dir>] [--json]
A directory: the submission format, the Dockerfile preflight (unpinned installs, secrets, untagged base
images, run-time downloads) and the contamination of its declared training data against the suites;
with --serve also builds and serves its inference image (sandboxed) and checks its contract.
A URL: checks the server there against the contract (every endpoint, field types, logprob sums).
Exit code 0 when nothing blocks the submission, 1 otherwise.`,
  report: `challenge report [--track <id>] [--ngram 13] [--json]
A copy is kept in the artifact store under reports/<track>/ (dated, and latest.json / latest.txt).
Open vs closed correlation (Pearson, Spearman, Kendall with bootstrap intervals), rank shifts and
overfit flags; n-gram contamination of each submission's declared training data; efficiency figures.`,
  remote: REMOTE_HELP,
  team: TEAM_HELP,
  reproduce: REPRODUCE_HELP,
  competition: `challenge competition validate <file>
  Checks a competition file (competitions/neurips2023.json, competitions/demo.json): every error names its field and
  the fix (exit 2); a valid file prints its phases, quotas and reproduction rule.
${COMPETITION_CLOCK_USAGE}`,
  score: `challenge score --metrics <file.json> [--rules <file.json>] [--json | --csv]
Reads a table like ../shared/fixtures/neurips2023/*_final_round.json (a list of [submissionId, {column: value}])
and scores it by the rules (default: the 2023 final round), printing per-scenario mean win rates and
Score_open, Score_hidden, Score_full. The rules version is printed with the result.`,
  serve: `challenge serve [--port 8080] [--host 127.0.0.1] [--competition <file>]
Serves the leaderboard per track, open-vs-closed scatter, failure chart and a page per submission.
Public pages (/, /tracks/<track>, /submissions/<id>, /api/leaderboard[.csv]?track=, /api/submissions/<id>)
show scores, stage outcomes, failure categories and reasons, and nothing derived from the closed suite:
the closed evaluation's reason is rebuilt from its category and counts, and only build logs are shown.
Operator pages (/operator/..., /api/operator/...) show every log, full reasons and the answers; they need
"Authorization: Bearer <${OPERATOR_TOKEN_VARIABLE}>" (or HTTP Basic with it as the password).
Without ${OPERATOR_TOKEN_VARIABLE} they answer on loopback only, and serve refuses any other --host.
The participants' door: teams upload an archive with their token (POST /api/team/submissions, Bearer
cht_…), within the quotas of the competition file (--competition, default $${COMPETITION_VARIABLE} or
competitions/demo.json), and see only their own submissions (/api/team/..., /team). Uploads are unpacked
under <data dir>/intake and kept in the artifact store; Temporal is reached when the first upload is
accepted, so the pages work while it is down (an upload then gets 503 and is not counted).
Listens on loopback unless --host says otherwise. Ctrl-C stops it.`,
};

const LIMIT_FLAGS = {
  'build-limit': 'build',
  'fine-tune-limit': 'fineTune',
  'open-eval-limit': 'openEval',
  'closed-eval-limit': 'closedEval',
  'startup-limit': 'startup',
} as const;

async function main(argv: string[]): Promise<number> {
  const [command = '', ...rest] = argv;
  if (command === '' || command === '--help' || command === '-h' || command === 'help') {
    console.log(HELP['']);
    return 0;
  }
  if (!(command in HELP)) throw new UsageError(`unknown command "${command}"; run "challenge --help" for the list`);
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(HELP[command]);
    return 0;
  }
  const config = loadRuntimeConfig();
  switch (command) {
    case 'submit':
      return submitCommand(config, rest);
    case 'status':
      return statusCommand(config, rest);
    case 'leaderboard':
      return leaderboardCommand(config, rest);
    case 'hosts':
      return hostsCommand(config, rest);
    case 'serve':
      return serveCommand(config, rest);
    case 'check':
      return checkCommand(config, rest);
    case 'logs':
      return logsCommand(config, rest);
    case 'cancel':
    case 'retry':
    case 'evaluate':
      return cockpitCommand(command, config, rest);
    case 'schedule':
      return scheduleCommand(config, rest);
    case 'report':
      return reportCommand(config, rest);
    case 'score':
      return scoreCommand(rest);
    case 'remote':
      return remoteCommand(rest);
    case 'team':
      return teamCommand(config, rest);
    case 'competition':
      return competitionCommand(config, rest);
    case 'reproduce':
      return reproduceCommand(config, rest);
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

/** `competition validate <file>` needs no server; start, status and extend talk to the clock (cli/competition-clock.ts). */
async function competitionCommand(config: RuntimeConfig, args: string[]): Promise<number> {
  const [subcommand, ...rest] = args;
  if (subcommand === 'validate') {
    if (rest.length !== 1) throw new UsageError('competition validate takes one file: challenge competition validate competitions/neurips2023.json');
    return validateCompetitionCommand(rest[0]!);
  }
  return competitionClockCommand(config, subcommand, rest);
}

/** Runs node's parseArgs, turning its errors into usage errors (exit code 2). */
function guard<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

async function submitCommand(config: RuntimeConfig, args: string[]): Promise<number> {
  const { values, positionals } = guard(() =>
    parseArgs({
      args,
      allowPositionals: true,
      options: { track: { type: 'string' }, json: { type: 'boolean', default: false }, ...LIMIT_OPTIONS },
    }),
  );
  if (positionals.length !== 1) throw new UsageError('submit takes exactly one submission directory: challenge submit <dir>');
  const limits = limitOptions(values);
  if (values.track !== undefined && !TrackId.safeParse(values.track).success) {
    throw new UsageError(`--track: "${String(values.track)}" is not a track; use one of ${TrackId.options.join(', ')}`);
  }
  loadSubmission(positionals[0]!, values.track); // bad input fails here, before any connection
  const client = await connectClient(config);
  try {
    const result = await submit(client, config, positionals[0]!, {
      ...(typeof values.track === 'string' ? { track: values.track } : {}),
      ...(Object.keys(limits).length > 0 ? { limits } : {}),
    });
    if (values.json) console.log(JSON.stringify(result, null, 2));
    else if (result.status === 'started')
      console.log(`started ${result.workflowId}\n  Web UI: ${result.url}\n  follow: challenge status ${result.submissionId} --watch`);
    else
      console.log(
        `${result.submissionId} was submitted before and is ${result.status === 'already-running' ? 'still running' : 'finished'}: ${result.workflowId}\n  Web UI: ${result.url}`,
      );
    return result.status === 'already-completed' ? 3 : 0;
  } finally {
    await client.connection.close();
  }
}

const ms = (value: number) =>
  value < 1000
    ? `${value}ms`
    : value < 120_000
      ? `${(value / 1000).toFixed(1)}s`
      : value < 7_200_000
        ? `${(value / 60_000).toFixed(1)}m`
        : `${(value / 3_600_000).toFixed(1)}h`;

function bar(fraction: number, width = 20): string {
  const filled = Math.max(0, Math.min(width, Math.round(fraction * width)));
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

export function renderStatus(status: PipelineStatus, now = Date.now()): string {
  const lines = [`${status.workflowId}  ${status.status}${status.state ? `  host ${status.state.host ?? '—'}` : ''}`];
  if (!status.state) return `${lines[0]}\n  (no progress available: is the orchestrator worker running?)`;
  for (const stage of status.state.stages) {
    const elapsed = stage.startedAt === null ? null : (stage.endedAt ?? now) - stage.startedAt;
    const limit = stage.limitMs;
    const timing = elapsed === null ? '' : limit ? `${ms(elapsed)} of ${ms(limit)} ${bar(elapsed / limit, 10)}` : ms(elapsed);
    const failure = stage.failureCategory ? `  ${stage.failureCategory}: ${stage.reason ?? ''}` : '';
    lines.push(`  ${stage.stage.padEnd(12)} ${stage.outcome.padEnd(9)} ${timing}${failure}`);
  }
  const details = status.activity?.details as { answered?: number; total?: number; progress?: { step?: number; totalSteps?: number } } | null | undefined;
  if (details?.total) lines.push(`  progress     ${bar((details.answered ?? 0) / details.total)} ${details.answered ?? 0}/${details.total} instances`);
  else if (details?.progress?.totalSteps)
    lines.push(
      `  progress     ${bar((details.progress.step ?? 0) / details.progress.totalSteps)} step ${details.progress.step}/${details.progress.totalSteps}`,
    );
  if (status.activity && status.activity.attempt > 1) lines.push(`  attempt      ${status.activity.attempt} of ${status.activity.type}`);
  return lines.join('\n');
}

async function statusCommand(config: RuntimeConfig, args: string[]): Promise<number> {
  const { values, positionals } = guard(() =>
    parseArgs({ args, allowPositionals: true, options: { watch: { type: 'boolean', default: false }, json: { type: 'boolean', default: false } } }),
  );
  const client = await connectClient(config);
  try {
    if (positionals.length === 0) {
      const pipelines = await listPipelines(client);
      if (values.json) console.log(JSON.stringify(pipelines, null, 2));
      else if (pipelines.length === 0) console.log('no pipelines yet: challenge submit <dir>');
      else
        for (const p of pipelines)
          console.log(
            `${p.workflowId.padEnd(48)} ${p.status.padEnd(10)} ${(p.track ?? '').padEnd(10)} stage=${p.stage ?? '—'} outcome=${p.outcome ?? '—'}${p.failure ? ` failure=${p.failure}` : ''}`,
          );
      return 0;
    }
    const id = positionals[0]!;
    const workflowId = id.startsWith('submission-') ? id : pipelineWorkflowId(id);
    for (;;) {
      const status = await pipelineStatus(client, workflowId);
      if (values.json) console.log(JSON.stringify(status, null, 2));
      else console.log(`${values.watch && process.stdout.isTTY ? '\x1b[2J\x1b[H' : ''}${renderStatus(status)}`);
      if (!values.watch || status.status !== 'RUNNING') return status.state?.outcome === 'failed' ? 1 : 0;
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  } finally {
    await client.connection.close();
  }
}

async function leaderboardCommand(config: RuntimeConfig, args: string[]): Promise<number> {
  const { values } = guard(() =>
    parseArgs({
      args,
      options: {
        track: { type: 'string', default: 'cpu' },
        phase: { type: 'string', default: 'development' },
        competition: { type: 'string' },
        json: { type: 'boolean', default: false },
        csv: { type: 'boolean', default: false },
      },
    }),
  );
  const track = z.enum(TrackId.options).safeParse(values.track);
  if (!track.success) throw new UsageError(`--track: "${String(values.track)}" is not a track; use one of ${TrackId.options.join(', ')}`);
  if (values.phase !== 'development' && values.phase !== 'final') throw new UsageError(`--phase: "${values.phase}" is not a board; use development or final`);
  if (values.phase === 'final') return finalLeaderboardCommand(config, track.data, { json: values.json, csv: values.csv, ...(values.competition ? { competition: values.competition } : {}) });
  const db = await openResultsStore(config);
  try {
    const board = await leaderboard(db, track.data);
    if (values.csv) process.stdout.write(leaderboardCsv(board));
    else console.log(values.json ? JSON.stringify(board, null, 2) : leaderboardTable(board));
    return 0;
  } finally {
    await db.close();
  }
}

async function hostsCommand(config: RuntimeConfig, args: string[]): Promise<number> {
  const { values } = guard(() =>
    parseArgs({
      args,
      options: {
        track: { type: 'string' },
        'gone-after': { type: 'string', default: formatDuration(ACTIVITY_POLICY.hostGoneAfterMs) },
        json: { type: 'boolean', default: false },
      },
    }),
  );
  if (values.track !== undefined && !TrackId.safeParse(values.track).success) {
    throw new UsageError(`--track: "${values.track}" is not a track; use one of ${TrackId.options.join(', ')}`);
  }
  const goneAfter = Duration.safeParse(values['gone-after']);
  if (!goneAfter.success) throw new UsageError(`--gone-after: "${values['gone-after']}" is not a duration; write e.g. 90s or 5m`);
  const db = await openResultsStore(config);
  try {
    const now = Date.now();
    const hosts = (await db.hosts(values.track)).map((host) => ({ ...host, ...hostLiveness(host, now, goneAfter.data) }));
    if (values.json) {
      console.log(JSON.stringify(hosts, null, 2));
      return 0;
    }
    if (hosts.length === 0) {
      console.log(
        `no GPU host has recorded itself in ${db.location}${values.track ? ` for track ${values.track}` : ''}; start one with: node dist/workers/gpu-host.js --track <id>`,
      );
      return 0;
    }
    console.log(`${'host'.padEnd(24)} ${'track'.padEnd(10)} slots  ${'last seen'.padEnd(24)} state`);
    for (const h of hosts) {
      const state = h.alive ? 'alive' : `gone (silent ${formatDuration(Math.round(h.silentForMs / 1000) * 1000 || 1000)})`;
      console.log(`${h.hostId.padEnd(24)} ${h.track.padEnd(10)} ${String(h.slots).padStart(5)}  ${h.lastSeen.padEnd(24)} ${state}`);
    }
    return 0;
  } finally {
    await db.close();
  }
}

async function serveCommand(config: RuntimeConfig, args: string[]): Promise<number> {
  const { values } = guard(() =>
    parseArgs({ args, options: { port: { type: 'string', default: '8080' }, host: { type: 'string', default: '127.0.0.1' }, competition: { type: 'string' } } }),
  );
  const port = z.coerce.number().int().min(0).max(65535).safeParse(values.port);
  if (!port.success) throw new UsageError(`--port: "${values.port}" is not a port number (0-65535)`);
  let competition: CompetitionFile;
  try {
    competition = loadCompetition(competitionFilePath(values.competition));
  } catch (error) {
    throw error instanceof CompetitionFileError ? new UsageError(`--competition: ${error.message}`) : error;
  }
  const operatorToken = process.env[OPERATOR_TOKEN_VARIABLE] || null;
  // Before anything is opened: no operator pages open to a public address, no weak token (exit code 2).
  try {
    checkOperatorSetup(values.host, operatorToken);
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
    server = await startWebServer({ db, artifacts, dataDir: config.dataDir, host: values.host, port: port.data, temporalUi: uiLocationOf(config), operatorToken, teams });
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
  return 0;
}

function limitOptions(values: Record<string, unknown>): Record<string, number> {
  const limits: Record<string, number> = {};
  for (const [flag, key] of Object.entries(LIMIT_FLAGS)) {
    const raw = values[flag];
    if (typeof raw !== 'string') continue;
    const parsed = Duration.safeParse(raw);
    if (!parsed.success) throw new UsageError(`--${flag}: ${parsed.error.issues[0]?.message}`);
    limits[key] = parsed.data;
  }
  return limits;
}

const LIMIT_OPTIONS = {
  'build-limit': { type: 'string' },
  'fine-tune-limit': { type: 'string' },
  'open-eval-limit': { type: 'string' },
  'closed-eval-limit': { type: 'string' },
  'startup-limit': { type: 'string' },
} as const;

/** `--suite closed=path` (repeatable) → { closed: absolute path } */
function suiteOptions(raw: string[] | undefined): Partial<Record<'open' | 'closed', string>> {
  const suites: Partial<Record<'open' | 'closed', string>> = {};
  for (const entry of raw ?? []) {
    const match = /^(open|closed)=(.+)$/.exec(entry);
    if (!match) throw new UsageError(`--suite "${entry}": write open=<file.json> or closed=<file.json>`);
    suites[match[1] as 'open' | 'closed'] = path.resolve(match[2]!);
  }
  if (Object.keys(suites).length === 0) throw new UsageError('give at least one --suite open=<file.json> or closed=<file.json>');
  return suites;
}

async function logsCommand(config: RuntimeConfig, args: string[]): Promise<number> {
  const { values, positionals } = guard(() =>
    parseArgs({ args, allowPositionals: true, options: { stage: { type: 'string' }, lines: { type: 'string', default: '100' } } }),
  );
  if (positionals.length !== 1) throw new UsageError('logs takes one submission id: challenge logs <team.submission>');
  const lines = z.coerce.number().int().min(1).max(10_000).safeParse(values.lines);
  if (!lines.success) throw new UsageError(`--lines: "${values.lines}" must be a whole number from 1 to 10000`);
  const logs = await stageLogs(config, positionals[0]!, values.stage, lines.data);
  if (logs.length === 0) {
    console.error(`no logs for ${positionals[0]}${values.stage ? ` stage ${values.stage}` : ''} in ${config.dataDir}/logs nor in the artifact store`);
    return 1;
  }
  for (const log of logs) console.log(`===== ${log.file}\n${log.text}`);
  return 0;
}

async function cockpitCommand(command: 'cancel' | 'retry' | 'evaluate', config: RuntimeConfig, args: string[]): Promise<number> {
  const { values, positionals } = guard(() =>
    parseArgs({
      args,
      allowPositionals: true,
      options: { suite: { type: 'string', multiple: true }, json: { type: 'boolean', default: false }, ...LIMIT_OPTIONS },
    }),
  );
  if (positionals.length !== 1) throw new UsageError(`${command} takes one submission id: challenge ${command} <team.submission>`);
  const submissionId = positionals[0]!;
  const limits = limitOptions(values);
  const client = await connectClient(config);
  const db = await openResultsStore(config);
  try {
    if (command === 'cancel') {
      console.log(`cancel requested for ${await cancelPipeline(client, submissionId)}`);
      return 0;
    }
    if (command === 'retry') {
      const plan = await retryPipeline(client, config, db, submissionId, Object.keys(limits).length > 0 ? { limits } : {});
      if (values.json) console.log(JSON.stringify(plan, null, 2));
      else if (plan.kind === 'nothing-to-retry') console.log(`${submissionId}: nothing to retry (${plan.reason})`);
      else if (plan.kind === 'reevaluate')
        console.log(`${submissionId}: re-evaluating ${plan.suites.join(' and ')} with the existing artifact: ${plan.workflowId}\n  Web UI: ${plan.url}`);
      else
        console.log(
          `${submissionId}: pipeline ${plan.result.status}${plan.reuseBuild ? ' (images reused)' : ''}: ${plan.result.workflowId}\n  Web UI: ${plan.result.url}`,
        );
      return plan.kind === 'nothing-to-retry' ? 3 : 0;
    }
    const submission = await db.submission(submissionId);
    if (!submission) throw new UsageError(`no submission "${submissionId}"; list them with: challenge status`);
    const started = await reevaluate(
      client,
      config,
      {
        submissionId,
        track: submission.track as TrackIdType,
        suites: suiteOptions(values.suite),
        reason: 'operator',
        ...(Object.keys(limits).length > 0 ? { limits } : {}),
      },
      'operator',
    );
    console.log(values.json ? JSON.stringify(started) : `re-evaluating ${submissionId}: ${started.workflowId}\n  Web UI: ${started.url}`);
    return 0;
  } finally {
    await db.close();
    await client.connection.close();
  }
}

async function scheduleCommand(config: RuntimeConfig, args: string[]): Promise<number> {
  const [action = '', ...rest] = args;
  const { values, positionals } = guard(() =>
    parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        cron: { type: 'string' },
        suite: { type: 'string', multiple: true },
        track: { type: 'string' },
        concurrency: { type: 'string', default: '4' },
        overlap: { type: 'string', default: 'skip' },
        json: { type: 'boolean', default: false },
        ...LIMIT_OPTIONS,
      },
    }),
  );
  const client = await connectClient(config);
  try {
    if (action === 'list') {
      const schedules = await listSchedules(client);
      if (values.json) console.log(JSON.stringify(schedules, null, 2));
      else if (schedules.length === 0) console.log('no schedules yet: challenge schedule create <id> --cron ... --suite closed=<file>');
      else
        for (const s of schedules)
          console.log(`${s.scheduleId.padEnd(24)} ${s.paused ? 'paused ' : 'active '} next ${s.nextRun?.toISOString() ?? '—'}  ${s.note ?? ''}`);
      return 0;
    }
    if (positionals.length !== 1) throw new UsageError(`schedule ${action || '<action>'} takes one schedule id; run "challenge schedule --help"`);
    const scheduleId = positionals[0]!;
    if (action === 'create') {
      if (!values.cron) throw new UsageError('schedule create needs --cron, e.g. --cron "0 2 * * *" (02:00 UTC every day)');
      const track = values.track === undefined ? undefined : TrackId.safeParse(values.track);
      if (track && !track.success) throw new UsageError(`--track: "${values.track}" is not a track; use one of ${TrackId.options.join(', ')}`);
      const concurrency = z.coerce.number().int().min(1).max(1000).safeParse(values.concurrency);
      if (!concurrency.success) throw new UsageError(`--concurrency: "${values.concurrency}" must be a whole number from 1 to 1000`);
      if (values.overlap !== 'skip' && values.overlap !== 'buffer-one') throw new UsageError(`--overlap: "${values.overlap}" must be skip or buffer-one`);
      const limits = limitOptions(values);
      await createSchedule(client, {
        scheduleId,
        cron: values.cron,
        suites: suiteOptions(values.suite),
        ...(track?.success ? { track: track.data } : {}),
        concurrency: concurrency.data,
        overlap: values.overlap,
        ...(Object.keys(limits).length > 0 ? { limits } : {}),
      });
      console.log(`schedule ${scheduleId} created; see ${uiPageUrl(config, 'schedules', scheduleId)}`);
      return 0;
    }
    if (!['describe', 'pause', 'unpause', 'trigger', 'delete'].includes(action))
      throw new UsageError(`unknown schedule action "${action}"; run "challenge schedule --help"`);
    const result = await scheduleAction(client, scheduleId, action as 'describe' | 'pause' | 'unpause' | 'trigger' | 'delete');
    console.log(action === 'describe' ? JSON.stringify(result, null, 2) : `schedule ${scheduleId}: ${action} done`);
    return 0;
  } finally {
    await client.connection.close();
  }
}

async function checkCommand(config: RuntimeConfig, args: string[]): Promise<number> {
  const { values, positionals } = guard(() =>
    parseArgs({
      args,
      allowPositionals: true,
      options: { serve: { type: 'boolean', default: false }, artifacts: { type: 'string' }, json: { type: 'boolean', default: false } },
    }),
  );
  if (positionals.length !== 1) throw new UsageError('check takes one submission directory or server URL: challenge check <dir|url>');
  const target = positionals[0]!;
  const result = /^https?:\/\//.test(target)
    ? await checkUrl(target)
    : await checkDirectory(config, target, { serve: values.serve, ...(values.artifacts ? { artifacts: path.resolve(values.artifacts) } : {}) });
  console.log(values.json ? JSON.stringify(result, null, 2) : result.text);
  return result.ok ? 0 : 1;
}

async function reportCommand(config: RuntimeConfig, args: string[]): Promise<number> {
  const { values } = guard(() =>
    parseArgs({
      args,
      options: { track: { type: 'string', default: 'cpu' }, ngram: { type: 'string', default: '13' }, json: { type: 'boolean', default: false } },
    }),
  );
  const track = TrackId.safeParse(values.track);
  if (!track.success) throw new UsageError(`--track: "${String(values.track)}" is not a track; use one of ${TrackId.options.join(', ')}`);
  const n = z.coerce.number().int().min(1).max(64).safeParse(values.ngram);
  if (!n.success) throw new UsageError(`--ngram: "${values.ngram}" must be a whole number from 1 to 64`);
  const db = await openResultsStore(config);
  try {
    const report = await trackReport(db, track.data, { n: n.data });
    const json = JSON.stringify(report, null, 2);
    const text = renderTrackReport(report);
    console.log(values.json ? json : text);
    // Kept in the artifact store (dated, and as latest), so a report outlives the machine that made it.
    const store = await openArtifactStore(config.artifactStore);
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    for (const name of [stamp, 'latest']) {
      await store.putText(artifactKeys.report(track.data, `${name}.json`), `${json}\n`);
      await store.putText(artifactKeys.report(track.data, `${name}.txt`), `${text}\n`);
    }
    console.error(`report kept in ${store.location}/${artifactKeys.report(track.data, `${stamp}.json`)} (and .txt, and latest.*)`);
    return 0;
  } finally {
    await db.close();
  }
}

async function scoreCommand(args: string[]): Promise<number> {
  const { values } = guard(() =>
    parseArgs({
      args,
      options: { metrics: { type: 'string' }, rules: { type: 'string' }, json: { type: 'boolean', default: false }, csv: { type: 'boolean', default: false } },
    }),
  );
  if (!values.metrics) throw new UsageError('score needs --metrics <file.json> (a list of [submissionId, {column: value}])');
  const readJson = (file: string, what: string): unknown => {
    try {
      return JSON.parse(readFileSync(file, 'utf8'));
    } catch (error) {
      throw new UsageError(`${what} ${file}: ${(error as Error).message}`);
    }
  };
  const rules = values.rules ? parseScoringRules(readJson(values.rules, '--rules')) : CHALLENGE_2023_FINAL_RULES;
  let fixture;
  try {
    fixture = parseFixture(readJson(values.metrics, '--metrics'), rules);
  } catch (error) {
    throw new UsageError(`--metrics ${values.metrics}: ${(error as Error).message}`);
  }
  const result = scoreCompetition({ rules, stages: fixture.stages });
  const stageNames = rules.stages.map((s) => s.name);
  if (values.json) {
    console.log(JSON.stringify(result, null, 2));
  } else {
    const scenarioColumns = rules.stages.flatMap((stage) => stage.scenarios.map((scenario) => ({ stage: stage.name, scenario: scenario.name })));
    const header = [
      'rank',
      'submission',
      ...scenarioColumns.map((c) => `${c.scenario} Mean Win Rate`),
      ...stageNames.map((s) => `Score_${s === 'closed' ? 'hidden' : s}`),
      'Score_full',
    ];
    const rows = result.submissions.map((entry) => [
      String(entry.rank),
      entry.submissionId,
      ...scenarioColumns.map((c) => String(entry.scenarioMeanWinRates[c.stage]?.[c.scenario] ?? '')),
      ...stageNames.map((s) => String(entry.stageScores[s] ?? '')),
      String(entry.final),
    ]);
    const comment = `# rules ${result.rulesVersion}, N = ${result.submissionCount}`;
    // CSV through the one writer (submission ids with a comma stay one cell); tab-separated for reading by eye.
    if (values.csv) process.stdout.write(`${comment}\n${toCsv(header, rows)}`);
    else console.log([comment, header.join('\t'), ...rows.map((r) => r.join('\t'))].join('\n'));
  }
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === realpathSync(process.argv[1])) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      if (error instanceof UsageError || error instanceof SubmissionError) {
        console.error(`challenge: ${error.message}`);
        process.exit(2);
      }
      console.error(`challenge: ${(error as Error).message ?? String(error)}`);
      process.exit(1);
    },
  );
}
