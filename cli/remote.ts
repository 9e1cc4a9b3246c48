/**
 * `challenge remote ...`: the participants' client of the competition server's team API (web/team-api.ts).
 *   challenge remote submit <dir> [--json]       local preflight, then upload the directory as a .tar.gz
 *   challenge remote status [id] [--watch] [--json]
 *   challenge remote logs <id> --stage build|fine-tune|open-eval
 *   challenge remote final <id>                  choose the submission that goes to the finals for its track
 * It reads CHALLENGE_URL (the server) and CHALLENGE_TEAM_TOKEN (the team's token, sent as a Bearer token), and
 * checks every answer with zod (cli/remote-answers.ts) before printing from it.
 * Exit codes: 0 accepted / done, 2 bad input or refused by the server, 1 any other failure.
 */
import { readEnvironment, type EnvSource } from '../infra/environment.js';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import type { z } from 'zod';
import { SubmissionError, loadSubmission } from '../domain/submission.js';
import { preflightSubmission } from '../domain/preflight/dockerfile.js';
import { textTable } from '../domain/text-table.js';
import { formatSpan } from '../domain/units.js';
import { packDirectory } from '../infra/archive.js';
import { liveBlock } from './live-block.js';
import { AcceptedAnswer, ErrorAnswer, FinalChoiceAnswer, LogsAnswer, OverviewAnswer, SubmissionAnswer, isRunning, stageOf, type UploadProblem } from './remote-answers.js';

export const REMOTE_HELP = `challenge remote submit <dir> [--json]
challenge remote status [submission-id] [--watch] [--json]
challenge remote logs <submission-id> --stage build|fine-tune|open-eval
challenge remote final <submission-id>
The participants' client of a competition server. submit runs the local preflight (submission format and
Dockerfiles; no Docker, no contamination scan), stops on its errors, then uploads the directory as a .tar.gz
(what .dockerignore excludes is left out) and prints the submission id, its status URL and the quota left.
status lists the team's submissions (id, track, phase, outcome, stage, refunded); with an id, each stage
beneath, an evaluation's answered/total, rate, projected end against its limit and the probe's prediction;
--watch redraws every 3 s until none of them runs. logs prints a stage's log excerpt (the closed
evaluation's are withheld). final chooses the submission that goes to the finals for its track (else the
latest completed one goes).
Environment: CHALLENGE_URL (e.g. https://challenge.example.org), CHALLENGE_TEAM_TOKEN (cht_...).
Exit codes: 0 accepted / done, 2 bad input or refused by the server, 1 any other failure.`;

const WATCH_INTERVAL_MS = 3000;
const UPLOAD_TIMEOUT_MS = 10 * 60_000;
const READ_TIMEOUT_MS = 30_000;
const LOG_STAGES = ['build', 'fine-tune', 'open-eval'] as const;

/** A refusal or bad input (exit 2), or any other failure (exit 1), with the message the user sees. */
class RemoteError extends Error {
  constructor(
    readonly exitCode: 1 | 2,
    message: string,
  ) {
    super(message);
    this.name = 'RemoteError';
  }
}

interface Server {
  base: URL;
  token: string;
}

/** The server and the token from the environment; a missing or malformed one is named. */
function serverOf(env: EnvSource): Server {
  const url = env.CHALLENGE_URL?.trim();
  if (!url) throw new RemoteError(2, 'CHALLENGE_URL is not set; set it to the competition server, e.g. CHALLENGE_URL=https://challenge.example.org');
  let base: URL;
  try {
    base = new URL(url.endsWith('/') ? url : `${url}/`);
  } catch {
    throw new RemoteError(2, `CHALLENGE_URL "${url}" is not a URL; write it as https://host[:port]`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new RemoteError(2, `CHALLENGE_URL "${url}" is not http(s); write it as https://host[:port]`);
  const token = env.CHALLENGE_TEAM_TOKEN?.trim();
  if (!token) throw new RemoteError(2, "CHALLENGE_TEAM_TOKEN is not set; set it to your team's token (cht_...), as the organizers gave it to you");
  return { base, token };
}

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  url: string;
}

async function call(server: Server, method: 'GET' | 'POST', path: string, options: { body?: Buffer; contentType?: string; timeoutMs: number }): Promise<Answer> {
  const url = new URL(path, server.base).toString();
  try {
    const response = await fetch(url, {
      method,
      headers: { authorization: `Bearer ${server.token}`, accept: 'application/json', ...(options.contentType ? { 'content-type': options.contentType } : {}) },
      ...(options.body ? { body: new Uint8Array(options.body) } : {}),
      signal: AbortSignal.timeout(options.timeoutMs),
    });
    return { status: response.status, headers: response.headers, text: await response.text(), url };
  } catch (error) {
    const cause = (error as { name?: unknown } | null)?.name === 'TimeoutError' ? `no answer within ${formatSpan(options.timeoutMs)}` : String((error as Error).cause ?? error);
    throw new RemoteError(1, `could not reach ${url}: ${cause}; check CHALLENGE_URL and that the server is up`);
  }
}

/** The answer's JSON checked against `schema`; anything else is the server's fault, named with the field. */
function parsed<T extends z.ZodType>(schema: T, answer: Answer): z.infer<T> {
  let json: unknown;
  try {
    json = JSON.parse(answer.text);
  } catch {
    throw new RemoteError(1, `${answer.url} answered ${answer.status} with something that is not JSON: ${answer.text.slice(0, 200)}`);
  }
  const result = schema.safeParse(json);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = issue.path.join('.') || '(top level)';
  throw new RemoteError(1, `${answer.url} answered ${answer.status} with JSON this client does not understand (field ${field}: ${issue.message}); update the client or tell the organizers`);
}

/** When the next slot frees: the answer's nextSlotAt, else its Retry-After header (seconds or a date). */
function nextSlotOf(answer: Answer, body: ErrorAnswer | null, now = Date.now()): number | null {
  if (body?.nextSlotAt && Number.isFinite(Date.parse(body.nextSlotAt))) return Date.parse(body.nextSlotAt);
  const retryAfter = answer.headers.get('retry-after');
  if (!retryAfter) return null;
  if (/^\d+$/.test(retryAfter.trim())) return now + Number(retryAfter) * 1000;
  const at = Date.parse(retryAfter);
  return Number.isFinite(at) ? at : null;
}

const problemLine = (p: UploadProblem): string => {
  const where = [p.file ? `${p.file}${p.line ? `:${p.line}` : ''}` : null, p.field ? `field ${p.field}` : null, p.rule ? `[${p.rule}]` : null].filter(Boolean).join(': ');
  return `  - ${where || '(the upload)'}: ${p.message}${p.fix ? `\n      fix: ${p.fix}` : ''}`;
};

/** A refusal's message, as the server worded it; exit 2 for a refusal, 1 for the server's own failure (5xx, 503 included). */
function refusal(answer: Answer, what = 'the upload'): RemoteError {
  let body: ErrorAnswer | null = null;
  try {
    const result = ErrorAnswer.safeParse(JSON.parse(answer.text));
    if (result.success) body = result.data;
  } catch {
    body = null;
  }
  const said = body?.error ?? (answer.text.trim().slice(0, 300) || '(no message)');
  if (answer.status === 400) return new RemoteError(2, [`the server refused ${what} (400): ${said}`, ...(body?.problems ?? []).map(problemLine)].join('\n'));
  if (answer.status === 429) {
    const at = nextSlotOf(answer, body);
    const when = at === null ? '' : `\n  next slot frees at ${new Date(at).toISOString()} (in ${formatSpan(Math.max(0, at - Date.now()))})`;
    return new RemoteError(2, `the server refused ${what} (429): ${body?.reason ?? said}${body?.reason && body.reason !== said ? ` (${said})` : ''}${when}`);
  }
  if ([401, 403, 404, 409, 413].includes(answer.status)) return new RemoteError(2, `the server refused (${answer.status}): ${said}`);
  return new RemoteError(1, `the server failed (${answer.status}): ${said}`);
}

function guardArgs<T>(parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new RemoteError(2, (error as Error).message);
  }
}

async function submitCommand(args: string[], env: EnvSource): Promise<number> {
  const { values, positionals } = guardArgs(() => parseArgs({ args, allowPositionals: true, options: { json: { type: 'boolean', default: false } } }));
  if (positionals.length !== 1) throw new RemoteError(2, 'submit takes exactly one submission directory: challenge remote submit <dir>');
  let loaded;
  try {
    loaded = loadSubmission(positionals[0]!);
  } catch (error) {
    if (!(error instanceof SubmissionError)) throw error;
    throw new RemoteError(2, [`${error.directory} is not a valid submission; nothing was uploaded:`, ...error.problems.map((p) => `  - ${p}`)].join('\n'));
  }
  const preflight = preflightSubmission(loaded.directory);
  const findingLine = (f: (typeof preflight.findings)[number]) => `  - ${f.file}${f.line > 0 ? `:${f.line}` : ''}: ${f.severity} [${f.rule}] ${f.message}\n      fix: ${f.fix}`;
  if (!preflight.ok) throw new RemoteError(2, [`the preflight of ${loaded.directory} found errors; nothing was uploaded:`, ...preflight.errors.map(findingLine)].join('\n'));
  if (preflight.warnings.length > 0) console.error([`preflight warnings (the upload goes ahead):`, ...preflight.warnings.map(findingLine)].join('\n'));
  const server = serverOf(env);
  let archive: Buffer;
  try {
    archive = await packDirectory(loaded.directory);
  } catch (error) {
    throw new RemoteError(1, `could not pack ${loaded.directory}: ${(error as Error).message}`);
  }
  const answer = await call(server, 'POST', 'api/team/submissions', { body: archive, contentType: 'application/gzip', timeoutMs: UPLOAD_TIMEOUT_MS });
  if (answer.status !== 202) throw refusal(answer);
  const accepted = parsed(AcceptedAnswer, answer);
  if (values.json) console.log(JSON.stringify(accepted, null, 2));
  else {
    const quota = accepted.quota
      ? `${accepted.quota.left} more upload${accepted.quota.left === 1 ? '' : 's'} now${accepted.quota.nextSlotAt ? `; next slot frees at ${accepted.quota.nextSlotAt}` : ''}`
      : 'not reported';
    console.log(
      [
        `accepted ${accepted.submissionId} (${archive.length} bytes uploaded)`,
        `  status: ${accepted.statusUrl}`,
        `  quota left: ${quota}`,
        `  follow: challenge remote status ${accepted.submissionId} --watch`,
      ].join('\n'),
    );
  }
  return 0;
}

/** The status table: one row per submission, and each stage beneath when only one is shown. */
export function renderRemoteStatus(submissions: SubmissionAnswer[], detail: boolean): string[] {
  if (submissions.length === 0) return ['no submissions yet: challenge remote submit <dir>'];
  const rows = submissions.map((s) => [
    s.submissionId,
    s.track,
    s.phase,
    `${s.outcome}${s.failureCategory ? ` (${s.failureCategory})` : ''}`,
    stageOf(s),
    s.refunded ? `yes${s.refundReason ? `: ${s.refundReason}` : ''}` : 'no',
  ]);
  const lines = textTable(['id', 'track', 'phase', 'outcome', 'stage', 'refunded'], rows);
  const only = submissions[0]!;
  if (!detail) return lines;
  return [
    ...lines,
    ...(only.reason ? [`reason: ${only.reason}`] : []),
    ...only.stages.flatMap((st) => [
      `  ${st.stage.padEnd(12)} ${st.outcome.padEnd(9)}${st.failureCategory ? ` ${st.failureCategory}: ${st.reason ?? ''}` : ''}`.trimEnd(),
      ...(st.progress?.lines ?? []).map((line) => `      ${line}`),
    ]),
  ];
}

async function statusCommand(args: string[], env: EnvSource): Promise<number> {
  const { values, positionals } = guardArgs(() =>
    parseArgs({ args, allowPositionals: true, options: { watch: { type: 'boolean', default: false }, json: { type: 'boolean', default: false } } }),
  );
  if (positionals.length > 1) throw new RemoteError(2, 'status takes at most one submission id: challenge remote status [id]');
  if (values.watch && values.json) throw new RemoteError(2, '--watch redraws a table; drop --json (or --watch to print the JSON once)');
  const server = serverOf(env);
  const id = positionals[0];
  const read = async (): Promise<SubmissionAnswer[]> => {
    const answer = await call(server, 'GET', id === undefined ? 'api/team/submissions' : `api/team/submissions/${encodeURIComponent(id)}`, { timeoutMs: READ_TIMEOUT_MS });
    if (answer.status !== 200) throw refusal(answer, 'the request');
    if (values.json) console.log(answer.text.trim());
    return id === undefined ? parsed(OverviewAnswer, answer).submissions : [parsed(SubmissionAnswer, answer)];
  };
  if (!values.watch) {
    const submissions = await read();
    if (!values.json) console.log(renderRemoteStatus(submissions, id !== undefined).join('\n'));
    return 0;
  }
  const block = liveBlock(process.stdout);
  for (;;) {
    const submissions = await read();
    block.update(`${new Date().toISOString().slice(11, 19)} ${server.base.host}`, renderRemoteStatus(submissions, id !== undefined));
    if (!submissions.some(isRunning)) return 0;
    await sleep(WATCH_INTERVAL_MS);
  }
}

async function logsCommand(args: string[], env: EnvSource): Promise<number> {
  const { values, positionals } = guardArgs(() => parseArgs({ args, allowPositionals: true, options: { stage: { type: 'string' } } }));
  if (positionals.length !== 1) throw new RemoteError(2, 'logs takes one submission id: challenge remote logs <id> --stage build|fine-tune|open-eval');
  const stage = values.stage;
  if (stage === 'closed-eval') throw new RemoteError(2, "--stage closed-eval: the closed evaluation's logs are withheld from every team; use build, fine-tune or open-eval");
  if (!stage || !(LOG_STAGES as readonly string[]).includes(stage)) throw new RemoteError(2, `--stage: say which stage's log, one of ${LOG_STAGES.join(', ')}`);
  const server = serverOf(env);
  const answer = await call(server, 'GET', `api/team/submissions/${encodeURIComponent(positionals[0]!)}/logs?stage=${encodeURIComponent(stage)}`, {
    timeoutMs: READ_TIMEOUT_MS,
  });
  if (answer.status !== 200) throw refusal(answer, 'the request');
  if (!(answer.headers.get('content-type') ?? '').includes('json')) {
    process.stdout.write(answer.text.endsWith('\n') || answer.text === '' ? answer.text : `${answer.text}\n`);
    return 0;
  }
  const log = parsed(LogsAnswer, answer);
  console.log(log.text === null ? (log.note ?? `no ${stage} log of ${positionals[0]} yet`) : log.text.trimEnd());
  return 0;
}

async function finalCommand(args: string[], env: EnvSource): Promise<number> {
  const { positionals } = guardArgs(() => parseArgs({ args, allowPositionals: true, options: {} }));
  if (positionals.length !== 1) throw new RemoteError(2, 'final takes one submission id: challenge remote final <id> (challenge remote status lists them)');
  const server = serverOf(env);
  const body = Buffer.from(JSON.stringify({ submissionId: positionals[0] }));
  const answer = await call(server, 'POST', 'api/team/final', { body, contentType: 'application/json', timeoutMs: READ_TIMEOUT_MS });
  if (answer.status !== 200) throw refusal(answer, 'the choice');
  const { choice, replaced } = parsed(FinalChoiceAnswer, answer);
  console.log(`${choice.submissionId} goes to the finals of track ${choice.track} (phase ${choice.phase}) if its pipeline completed${replaced ? `; it replaces ${replaced}` : ''}`);
  return 0;
}

/** Runs `challenge remote <args>`; prints what went wrong and returns the exit code. */
export async function remoteCommand(args: string[], env: EnvSource = readEnvironment('remote')): Promise<number> {
  const [action = '', ...rest] = args;
  try {
    if (action === 'submit') return await submitCommand(rest, env);
    if (action === 'status') return await statusCommand(rest, env);
    if (action === 'logs') return await logsCommand(rest, env);
    if (action === 'final') return await finalCommand(rest, env);
    throw new RemoteError(2, `unknown remote action "${action}"; use submit, status, logs or final (challenge remote --help)`);
  } catch (error) {
    if (!(error instanceof RemoteError)) throw error;
    console.error(`challenge remote ${action}: ${error.message}`);
    return error.exitCode;
  }
}
