/**
 * The intake of the participants' door: one uploaded archive (`POST /api/team/submissions`, web/team-api.ts)
 * checked step by step, each refusal its own HTTP status with a JSON body `{ error, problems? }` a team can
 * act on, and, once accepted, kept and handed to the pipeline. In order:
 *   400  no body; an archive that is malformed or hostile (infra/archive.ts; 413 when it unpacks too large);
 *        a submission that does not follow the format (every problem), or a Dockerfile preflight error;
 *   403  submission.json names another team; a track the team may not submit to; no phase takes submissions
 *        now (the body says when the next one opens, `nextPhase`, or that none will);
 *   409  the submission id has an intake still running or completed (rename the submission);
 *   429  the quota is used (`Retry-After` when a slot frees in this phase; `nextSlotAt`, `reason`, figures);
 *   503  the pipeline could not be started: the intake is released, no quota is spent;
 *   202  accepted: `{ submissionId, intakeId, phase, statusUrl, pageUrl, quota, warnings }`.
 * Nothing is written outside `<stagingDir>/staging` (one fresh folder per upload, removed whatever happens)
 * until the quota is reserved; then the tree goes to `<stagingDir>/sources/<sha256>` and the archive bytes
 * to the artifact store at `sources/<sha256>.<tar.gz|zip>`, which build hosts without the tree build from.
 * No contamination scan here: it runs with the pipeline's other checks.
 */
import type { Client } from '@temporalio/client';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { RuntimeConfig } from '../infra/runtime-config.js';
import type { TrackId } from '../temporal.config.js';
import { nextPhase, openQuota, phaseAt, type CompetitionFile } from '../domain/competition/index.js';
import { trainsIn, type PhaseRun } from '../domain/competition/runs.js';
import { preflightSubmission } from '../domain/preflight/dockerfile.js';
import type { Finding } from '../domain/preflight/rules.js';
import { SubmissionError, loadSubmission } from '../domain/submission.js';
import type { QuotaDecision } from '../domain/teams/quota.js';
import { ArchiveRejected, extractArchive, type ExtractedArchive } from '../infra/archive.js';
import type { ArtifactStore } from '../infra/artifact-store.js';
import { sourceDigest } from '../infra/source-digest.js';
import { defaultSuiteFiles } from '../infra/paths.js';
import type { TeamRecord, TeamStore } from '../infra/team-store.js';
import { submit } from './pipelines.js';

/** One problem of an upload: the file, the field (or line) when there is one, what is wrong and what to do. */
export interface UploadProblem {
  file: string;
  field?: string;
  line?: number;
  rule?: string;
  message: string;
  fix: string;
}

export interface PipelineStartInput {
  directory: string;
  archiveKey: string;
  archiveSha256: string;
  team: string;
  track: TrackId;
  /** The phase the upload was accepted in, and the stages that phase runs. */
  run: PhaseRun;
  /** The phase's suite set for the track (infra/paths.ts SUITE_SETS or a folder); absent: the default set. */
  suiteSet?: string;
}

/** Starts the pipeline of an accepted upload (the same shape as web/team-context.ts PipelineStarter). */
export interface UploadStarter {
  start(input: PipelineStartInput): Promise<{ workflowId: string; runId: string | null; url: string }>;
}

/** A start that Temporal refused because the submission's pipeline exists already (answered 409, not 503). */
export class PipelineExistsError extends Error {
  constructor(
    readonly submissionId: string,
    readonly state: 'already-running' | 'already-completed',
  ) {
    super(
      state === 'already-running'
        ? `the pipeline of ${submissionId} is already running; wait for it to end (GET /api/team/submissions/${submissionId})`
        : `${submissionId} was already evaluated; give the submission a new name in submission.json ("submission") to submit a change`,
    );
    this.name = 'PipelineExistsError';
  }
}

export interface IntakeContext {
  db: Pick<TeamStore, 'reserveIntake' | 'releaseIntake' | 'quotaStatus'>;
  competition: CompetitionFile;
  starter: UploadStarter;
  stagingDir: string;
  artifacts: Pick<ArtifactStore, 'putFile'>;
  now?: () => number;
}

export interface UploadRequest {
  team: TeamRecord;
  body: Buffer | null;
  remoteAddress: string;
  /** Where the team reaches this server (e.g. https://challenge.example.org), for `statusUrl`. */
  baseUrl: string;
}

export interface QuotaFigures {
  left: number;
  perWindow: number;
  usedInWindow: number;
  nextSlotAt: string | null;
}

export interface IntakeAnswer {
  status: 202 | 400 | 403 | 409 | 413 | 429 | 503;
  body: { error?: string; problems?: UploadProblem[] } & Record<string, unknown>;
  headers?: Record<string, string>;
}

const refusal = (status: IntakeAnswer['status'], error: string, extra: Record<string, unknown> = {}): IntakeAnswer => ({ status, body: { error, ...extra } });

export const quotaFigures = (decision: QuotaDecision): QuotaFigures => ({
  left: decision.left,
  perWindow: decision.perWindow,
  usedInWindow: decision.usedInWindow,
  nextSlotAt: decision.nextSlotAt,
});

/** `Dockerfile: missing; add it …` / `submission.json: field team: …` as a problem (SubmissionError's lines). */
export function problemOf(line: string, directory: string): UploadProblem {
  const text = line.split(directory).join('(archive)'); // never the server's paths
  const match = /^([^:\s][^:]*?): (?:field ([^:]+): )?(.*)$/s.exec(text);
  const [file, field, rest] = match ? [match[1]!, match[2], match[3]!] : ['(archive)', undefined, text];
  const split = rest.indexOf('; ');
  const message = split < 0 ? rest : rest.slice(0, split);
  const fix = split < 0 ? 'correct it and upload again (challenge check <dir> shows the same problems before you upload)' : rest.slice(split + 2);
  return { file, ...(field ? { field } : {}), message, fix };
}

export const findingProblem = (f: Finding): UploadProblem => ({ file: f.file, ...(f.line > 0 ? { line: f.line } : {}), rule: f.rule, message: f.message, fix: f.fix });

/** Accepts or refuses one upload (see the module comment). */
export async function acceptUpload(context: IntakeContext, request: UploadRequest): Promise<IntakeAnswer> {
  const { team, body } = request;
  if (!body || body.length === 0)
    return refusal(400, 'send the submission archive (.tar.gz or .zip) as the request body, e.g. curl --data-binary @submission.tar.gz -H "Authorization: Bearer $TOKEN" …');
  const stagingRoot = path.join(context.stagingDir, 'staging');
  mkdirSync(stagingRoot, { recursive: true });
  const upload = mkdtempSync(path.join(stagingRoot, 'upload-'));
  try {
    let extracted: ExtractedArchive;
    try {
      extracted = await extractArchive(body, upload, context.competition.intake);
    } catch (error) {
      if (!(error instanceof ArchiveRejected)) throw error;
      return refusal(error.status, error.message, { code: error.code });
    }
    const now = (context.now ?? Date.now)();
    const open = openQuota(context.competition, now);
    if (!open) return closedRefusal(context.competition, now);
    // A phase without fine-tuning (inference only) needs no Dockerfile.train.
    const checked = checkTree(extracted.directory, { inferenceOnly: !trainsIn(open.phase.stages) });
    if ('refusal' in checked) return checked.refusal;
    const { manifest, submissionId } = checked.loaded;

    if (manifest.team !== team.name)
      return refusal(403, `submission.json names team "${manifest.team}", but this token is team "${team.name}"'s; set "team": "${team.name}" in submission.json, or upload with that team's token`);
    if (!context.competition.tracks.includes(manifest.track) || !team.tracks.includes(manifest.track)) {
      const allowed = team.tracks.filter((t) => context.competition.tracks.includes(t as (typeof context.competition.tracks)[number]));
      return refusal(403, `team ${team.name} may not submit to track "${manifest.track}"; set "track" in submission.json to one of: ${allowed.join(', ') || '(none: ask the organizers)'}`);
    }
    const archiveKey = `sources/${extracted.sha256}.${extracted.format}`;
    const intakeId = randomUUID();
    const at = new Date(now).toISOString();
    const reserved = await context.db.reserveIntake({
      intakeId,
      team: team.name,
      track: manifest.track,
      phase: open.phase.id,
      submissionId,
      archiveKey,
      archiveSha256: extracted.sha256,
      at,
      rule: open.quota,
    });
    if (reserved.kind === 'conflict') {
      const { existing } = reserved;
      const running = existing.outcome === null;
      return refusal(
        409,
        running
          ? `${submissionId} is still being evaluated (accepted ${existing.acceptedAt}); wait for it to end, or give this one a new name in submission.json ("submission")`
          : `${submissionId} was already evaluated (accepted ${existing.acceptedAt}); give the submission a new name in submission.json ("submission") to submit a change`,
        { submissionId, existing: { intakeId: existing.intakeId, acceptedAt: existing.acceptedAt, outcome: existing.outcome ?? 'running' } },
      );
    }
    if (reserved.kind === 'refused') {
      const { decision } = reserved;
      const retry: Record<string, string> = decision.retryAfterMs === null ? {} : { 'retry-after': String(Math.max(1, Math.ceil(decision.retryAfterMs / 1000))) };
      return {
        status: 429,
        body: { error: `quota used: ${decision.reason ?? 'no submissions left'}`, reason: decision.reason, nextSlotAt: decision.nextSlotAt, phase: open.phase.id, quota: quotaFigures(decision) },
        headers: retry,
      };
    }

    // Accepted: keep the tree and the archive, then start the pipeline; a failure in any of these gives the quota back.
    let started;
    let directory: string;
    try {
      directory = keepTree(context.stagingDir, extracted);
      const archiveFile = path.join(upload, `archive.${extracted.format}`);
      writeFileSync(archiveFile, body);
      await context.artifacts.putFile(archiveKey, archiveFile);
      const suiteSet = open.phase.suites[manifest.track];
      started = await context.starter.start({
        directory,
        archiveKey,
        archiveSha256: extracted.sha256,
        team: team.name,
        track: manifest.track,
        run: { phase: open.phase.id, purpose: 'development', stages: open.phase.stages },
        ...(suiteSet ? { suiteSet } : {}),
      });
    } catch (error) {
      const message = (error as Error).message;
      await context.db.releaseIntake(intakeId, `the pipeline could not be started: ${message}`, new Date((context.now ?? Date.now)()).toISOString());
      if (error instanceof PipelineExistsError) return refusal(409, error.message, { submissionId });
      console.error(`challenge serve: the upload ${intakeId} of team ${team.name} (${submissionId}) could not be started: ${message}`);
      return refusal(503, 'the pipeline could not be started right now (the organizers are told); no submission was counted, upload again in a few minutes', { submissionId });
    }
    console.log(`challenge serve: accepted ${submissionId} (${archiveKey}) from team ${team.name} at ${request.remoteAddress || '(unknown address)'}: ${started.workflowId}`);
    const quota = await context.db.quotaStatus(team.name, manifest.track, open.phase.id, open.quota, at);
    const base = request.baseUrl.replace(/\/+$/, '');
    return {
      status: 202,
      body: {
        submissionId,
        intakeId,
        phase: open.phase.id,
        track: manifest.track,
        archiveSha256: extracted.sha256,
        statusUrl: `${base}/api/team/submissions/${encodeURIComponent(submissionId)}`,
        pageUrl: `/team/submissions/${encodeURIComponent(submissionId)}`,
        quota: quotaFigures(quota),
        warnings: checked.warnings,
      },
    };
  } finally {
    rmSync(upload, { recursive: true, force: true });
  }
}

type TreeCheck = { refusal: IntakeAnswer } | { loaded: ReturnType<typeof loadSubmission>; warnings: UploadProblem[] };

/** The submission format and the Dockerfile preflight of the unpacked tree. */
function checkTree(directory: string, options: { inferenceOnly: boolean }): TreeCheck {
  let loaded;
  try {
    loaded = loadSubmission(directory, undefined, options);
  } catch (error) {
    if (!(error instanceof SubmissionError)) throw error;
    const problems = error.problems.map((p) => problemOf(p, directory));
    return { refusal: refusal(400, `the submission does not follow the format (${problems.length} problem${problems.length === 1 ? '' : 's'}); fix them and upload again`, { problems }) };
  }
  const preflight = preflightSubmission(loaded.directory, options);
  const warnings = preflight.warnings.map(findingProblem);
  if (!preflight.ok) {
    const problems = preflight.errors.map(findingProblem);
    return { refusal: refusal(400, `the Dockerfile preflight found ${problems.length} error${problems.length === 1 ? '' : 's'}; fix them and upload again`, { problems, warnings }) };
  }
  return { loaded, warnings };
}

/** No phase takes submissions now: when the next one opens, or that none will. */
function closedRefusal(competition: CompetitionFile, now: number): IntakeAnswer {
  const current = phaseAt(competition, now);
  const next = competition.phases.find((p) => Date.parse(p.opensAt) > now && p.quota) ?? null;
  const nextInfo = next ? { id: next.id, opensAt: next.opensAt } : null;
  const when = next ? `submissions open again at ${next.opensAt} (phase ${next.id})` : nextPhase(competition, now) ? 'no later phase takes submissions from teams' : 'the competition is over';
  const why = current ? `phase ${current.id} takes no submissions from teams (the organizers run it)` : 'no phase of the competition is open now';
  return refusal(403, `${why}; ${when}`, { phase: current?.id ?? null, nextPhase: nextInfo });
}

/** Moves the unpacked tree to `<stagingDir>/sources/<sha256>`; one already there came from the same bytes and is kept. */
function keepTree(stagingDir: string, extracted: ExtractedArchive): string {
  const target = path.join(path.resolve(stagingDir), 'sources', extracted.sha256);
  if (existsSync(target)) return target;
  mkdirSync(path.dirname(target), { recursive: true });
  try {
    renameSync(extracted.directory, target);
  } catch (error) {
    if (!existsSync(target)) throw error; // a parallel upload of the same bytes moved its copy first
  }
  return target;
}

/** A memoized connection that is tried again after a failure (the web page works while Temporal is down). */
export function lazyClient(connect: () => Promise<Client>): { get: () => Promise<Client>; close: () => Promise<void> } {
  let pending: Promise<Client> | null = null;
  return {
    get: () => {
      pending ??= connect().catch((error: unknown) => {
        pending = null;
        throw error;
      });
      return pending;
    },
    close: async () => {
      const client = await pending?.catch(() => null);
      await client?.connection.close();
    },
  };
}

/** The real starter: operations/pipelines.ts submit on the stored tree, with its archive for hosts that lack it. */
export function temporalStarter(client: Client | (() => Promise<Client>), config: RuntimeConfig): UploadStarter {
  return {
    async start(input) {
      const connected = typeof client === 'function' ? await client() : client;
      const result = await submit(connected, config, input.directory, {
        source: { archiveKey: input.archiveKey, archiveSha256: input.archiveSha256, sourceDigest: await sourceDigest(input.directory) },
        run: input.run,
        suites: defaultSuiteFiles(input.track, input.suiteSet),
      });
      if (result.status !== 'started') throw new PipelineExistsError(result.submissionId, result.status);
      return { workflowId: result.workflowId, runId: result.runId, url: result.url };
    },
  };
}
