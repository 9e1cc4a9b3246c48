/**
 * What each page shows, read from the results database and the log files (no HTTP, no markup).
 * The renderers in render.ts turn these views into HTML; the JSON API returns them as they are.
 *
 * Two audiences. The public view (anyone who can open the page) shows scores, stage outcomes, failure
 * categories and reasons, but nothing derived from closed-suite inputs: the reasons of the closed
 * evaluation and later stages are rebuilt from structured fields by domain/redaction.ts, stage details keep
 * only numbers there, and the only log shown is the build's. The operator view shows everything: every
 * stage log, full reasons and details, and the persisted answers (completions and per-instance errors).
 *
 * An evaluation stage's progress (answered/total, rate, projected end against the limit, the probe's prediction:
 * domain/reports/prediction-progress.ts) is numbers only, so both audiences see it: from the stage's record once
 * it ended, and, for the stage running now, from the pipeline's progress query when the server was given a
 * `live` source (operations/pipelines.ts liveStagesOf); without one a running stage shows as not recorded yet.
 */
import { FAILURE_CATEGORIES, type FailureCategory } from '../domain/failures.js';
import { stageLogFile } from '../infra/log-files.js';
import { stageLogTail } from '../operations/stage-logs.js';
import { workflowUrl, type TemporalUiLocation } from '../infra/temporal.js';
import { pipelineWorkflowId, type StageState } from '../contract/pipeline.js';
import { liveProgressView, recordedProgressView, type StageProgressView } from '../domain/reports/prediction-progress.js';
import { leaderboardCsv, type Leaderboard } from '../domain/standings-table.js';
import { publicFailureReason, publicPipelineReason, publicStageDetails, publicStageReason, type StageFacts } from '../domain/redaction.js';
import type { InstanceAnswer } from '../domain/harness/evaluate.js';
import type { SuiteKind } from '../domain/harness/suite.js';
import { pearson, type GeneralizationReport } from '../domain/reports/generalization.js';
import { generalizationOfBoard } from '../domain/reports/track.js';
import type { EfficiencyFigures } from '../domain/reports/efficiency.js';
import { submissionEfficiency } from '../infra/efficiency.js';
import { STAGES, TRACKS, stageLimitMs, type TrackId } from '../temporal.config.js';
import { finalLeaderboard, finalSuiteFiles, leaderboard, submissionOutcome } from '../operations/standings.js';
import { nextPhase, phaseAt, type CompetitionFile } from '../domain/competition/index.js';
import { isFinalPhase } from '../domain/competition/clock.js';
import type { BoardPhase, FinalBoard } from '../domain/competition/final-board.js';
import type { ArtifactStore } from '../infra/artifact-store.js';
import type { PipelineRecord, ResultsStore, ScoreRow, StageRecord, SubmissionRecord } from '../infra/results-store.js';

export type SuiteFiles = Record<'open' | 'closed', string>;

export const LOG_TAIL_LINES = 40;

/** Who a view is for: anyone ('public') or an authenticated operator ('operator'). */
export type Audience = 'public' | 'operator';

/** The only stages whose logs the public view shows: the build runs before any suite is sent anywhere. */
export const PUBLIC_LOG_STAGES: readonly string[] = ['build'];

// ---------------------------------------------------------------------------------------------
// Overview
// ---------------------------------------------------------------------------------------------
export interface SubmissionSummary {
  submissionId: string;
  team: string;
  name: string;
  track: string;
  submittedAt: string;
  /** The pipeline's outcome, or 'unknown' while no pipeline end is recorded. */
  outcome: string;
  failureCategory: FailureCategory | null;
}

export interface OverviewTrack {
  track: string;
  title: string;
  submissions: SubmissionSummary[];
  byOutcome: Record<string, number>;
}

export interface OverviewView {
  /** 'public' when absent */
  audience?: Audience;
  tracks: OverviewTrack[];
  totals: Record<string, number>;
  submissionCount: number;
}

export const trackTitle = (track: string): string => (Object.hasOwn(TRACKS, track) ? TRACKS[track as TrackId].title : track);

async function summaryOf(db: ResultsStore, s: SubmissionRecord): Promise<SubmissionSummary> {
  const { outcome, failureCategory } = await submissionOutcome(db, s.submissionId);
  return { submissionId: s.submissionId, team: s.team, name: s.name, track: s.track, submittedAt: s.submittedAt, outcome, failureCategory };
}

const count = (keys: string[]): Record<string, number> => {
  const out: Record<string, number> = {};
  for (const key of keys) out[key] = (out[key] ?? 0) + 1;
  return out;
};

export async function overviewView(db: ResultsStore, audience: Audience = 'public'): Promise<OverviewView> {
  const all: SubmissionSummary[] = [];
  for (const s of await db.submissions()) all.push(await summaryOf(db, s));
  const trackIds = [...new Set(all.map((s) => s.track))].sort((a, b) => {
    const order = (t: string) => {
      const i = Object.keys(TRACKS).indexOf(t);
      return i < 0 ? Number.MAX_SAFE_INTEGER : i;
    };
    return order(a) - order(b) || a.localeCompare(b);
  });
  return {
    audience,
    tracks: trackIds.map((track) => {
      const submissions = all.filter((s) => s.track === track);
      return { track, title: trackTitle(track), submissions, byOutcome: count(submissions.map((s) => s.outcome)) };
    }),
    totals: count(all.map((s) => s.outcome)),
    submissionCount: all.length,
  };
}

// ---------------------------------------------------------------------------------------------
// Track
// ---------------------------------------------------------------------------------------------
export interface TrackView {
  /** 'public' when absent */
  audience?: Audience;
  track: string;
  title: string;
  board: Leaderboard;
  /** Pearson's r of the open and closed stage scores over the track's submissions; null below 3 or undefined. */
  correlation: number | null;
  /** Failure categories of the track's submissions (submissions without one are not counted). */
  failures: Partial<Record<FailureCategory, number>>;
  /** Open vs closed correlations with intervals, rank shifts and overfit flags (evaluated submissions). */
  generalization: GeneralizationReport;
  /** Which board this is: 'development' when absent. */
  phase?: BoardPhase;
  /** The final board (its rows carry the reproduction column); null or absent on the development board. */
  final?: FinalBoard | null;
  /** Where the competition stands, from the competition file; null or absent when the server has none. */
  banner?: PhaseBanner | null;
}

/** The phase banner of the track page: the phase open now and its close, else the next to open. */
export interface PhaseBanner {
  competition: string;
  open: { id: string; title: string | null; closesAt: string; final: boolean } | null;
  next: { id: string; title: string | null; opensAt: string } | null;
  /** The close of the last development phase (one teams submit in) that has closed: its board is frozen since. */
  developmentClosedAt: string | null;
  onFailure: CompetitionFile['reproduction']['onFailure'];
}

/** The banner at `now`, from the competition file's instants (an operator's extension is the clock's: `challenge competition status`). */
export function phaseBannerOf(competition: CompetitionFile, now: number): PhaseBanner {
  const open = phaseAt(competition, now);
  const next = nextPhase(competition, now);
  const closedDevelopment = competition.phases.filter((p) => p.quota !== undefined && Date.parse(p.closesAt) <= now).at(-1);
  return {
    competition: competition.id,
    open: open ? { id: open.id, title: open.title ?? null, closesAt: open.closesAt, final: isFinalPhase(open) } : null,
    next: next ? { id: next.id, title: next.title ?? null, opensAt: next.opensAt } : null,
    developmentClosedAt: closedDevelopment?.closesAt ?? null,
    onFailure: competition.reproduction.onFailure,
  };
}

export interface TrackViewOptions {
  /** 'development' (default) or 'final'. */
  phase?: BoardPhase;
  /** The competition file (the participants' door's): the final board's suites and onFailure, and the banner. */
  competition?: CompetitionFile;
  /** The instant the banner is drawn for (default: now). */
  now?: number;
}

/** Tracks that exist: the configured ones and any that has submissions. */
export async function knownTrack(db: ResultsStore, track: string): Promise<boolean> {
  return Object.hasOwn(TRACKS, track) || (await db.submissions(track)).length > 0;
}

export function trackViewOf(board: Leaderboard, audience: Audience = 'public'): TrackView {
  const opens = board.rows.map((r) => r.open);
  const closeds = board.rows.map((r) => r.closed);
  const failures: Partial<Record<FailureCategory, number>> = {};
  for (const row of board.rows) if (row.failureCategory) failures[row.failureCategory] = (failures[row.failureCategory] ?? 0) + 1;
  return {
    audience,
    track: board.track,
    title: trackTitle(board.track),
    board,
    correlation: board.rows.length >= 3 ? pearson(opens, closeds) : null,
    failures,
    generalization: generalizationOfBoard(board),
  };
}

/**
 * The track page's view. The development board is scored on `suites`; the final board on the final phase's
 * suites of the competition file (else `suites`), a NotReproduced team marked or dropped as it says (no file: marked).
 */
export async function trackView(db: ResultsStore, track: string, suites?: SuiteFiles, audience: Audience = 'public', options: TrackViewOptions = {}): Promise<TrackView> {
  const { competition } = options;
  const banner = competition ? phaseBannerOf(competition, options.now ?? Date.now()) : null;
  if (options.phase !== 'final') {
    const board = await leaderboard(db, track, suites);
    return { ...trackViewOf(audience === 'operator' ? board : await publicBoard(db, board), audience), phase: 'development', final: null, banner };
  }
  const finalSuites = competition ? finalSuiteFiles(competition, track) : suites;
  const final = await finalLeaderboard(db, track, { onFailure: competition?.reproduction.onFailure ?? 'mark', ...(finalSuites ? { suites: finalSuites } : {}) });
  const shown = audience === 'operator' ? final : await publicFinalBoard(db, final);
  return { ...trackViewOf(shown, audience), phase: 'final', final: shown, banner };
}

/** The final board with the public's failure reasons (the reproduction verdicts are built from scores and the training stage: public). */
async function publicFinalBoard(db: ResultsStore, board: FinalBoard): Promise<FinalBoard> {
  const redacted = await publicBoard(db, board);
  const reasons = new Map(redacted.rows.map((r) => [r.submissionId, r.failureReason]));
  return { ...board, rows: board.rows.map((row) => ({ ...row, failureReason: reasons.get(row.submissionId) ?? null })), unranked: redacted.unranked };
}

/** A stage record as domain/redaction.ts reads it. */
export const factsOf = (record: StageRecord): StageFacts => ({
  stage: record.stage,
  outcome: record.outcome,
  category: record.failureCategory,
  reason: record.reason,
  limitMs: record.limitMs,
  details: record.details,
});

/** The leaderboard with every failure reason as the public may read it (the closed stage's rebuilt). */
export async function publicBoard(db: ResultsStore, board: Leaderboard): Promise<Leaderboard> {
  const reasons = new Map<string, string | null>();
  for (const id of [...board.rows.map((r) => r.submissionId), ...board.unranked.map((u) => u.submissionId)]) {
    const records = await db.stages(id);
    const pipeline = (await db.pipeline(id)) ?? null;
    reasons.set(id, publicFailureReason(records.map(factsOf), pipeline && { outcome: pipeline.outcome, category: pipeline.failureCategory, reason: pipeline.reason }));
  }
  return {
    ...board,
    rows: board.rows.map((row) => ({ ...row, failureReason: row.failureReason === null ? null : (reasons.get(row.submissionId) ?? null) })),
    unranked: board.unranked.map((u) => ({ ...u, reason: u.reason === null ? null : (reasons.get(u.submissionId) ?? null) })),
  };
}

/** The public leaderboard as CSV: the ranks, scores and failure categories, with the public reason. */
export const publicLeaderboardCsv = (board: Leaderboard): string => leaderboardCsv(board, { reasons: true });

// ---------------------------------------------------------------------------------------------
// Submission
// ---------------------------------------------------------------------------------------------
export interface StageView {
  stage: string;
  /** 'pending' when the database has no record of the stage yet. */
  outcome: StageRecord['outcome'] | 'pending';
  failureCategory: FailureCategory | null;
  reason: string | null;
  startedAt: string | null;
  endedAt: string | null;
  limitMs: number | null;
  /** endedAt − startedAt, else details.durationMs; null when the stage did not run. */
  elapsedMs: number | null;
  details: Record<string, unknown> | null;
  /** An evaluation stage's progress and the probe's prediction (recorded, or live while it runs); absent or null: none. */
  progress?: StageProgressView | null;
}

/** The live stages of a submission's running pipeline (its progress query), null when none answers. */
export type LiveStages = (submissionId: string) => Promise<readonly StageState[] | null>;

/** Who may give the views a running pipeline's live stages (the server, with a Temporal client). */
export interface LiveSource {
  live?: LiveStages;
}

export interface LogView {
  stage: string;
  /** 'details': the excerpt the stage recorded; 'file': the last lines of the stage's log file. */
  source: 'details' | 'file';
  text: string;
}

export interface Standing {
  rank: number;
  of: number;
  open: number;
  closed: number;
  final: number;
}

/** The answers persisted for one suite (operator view only): completions and per-instance errors. */
export interface AnswersView {
  suite: SuiteKind;
  count: number;
  /** answers without a valid completion after every attempt */
  failed: number;
  answers: InstanceAnswer[];
}

export interface SubmissionView {
  /** 'public' when absent */
  audience?: Audience;
  submission: SubmissionRecord;
  pipeline: PipelineRecord | null;
  stages: StageView[];
  scores: ScoreRow[];
  logs: LogView[];
  standing: Standing | null;
  workflowUrl: string | null;
  efficiency: EfficiencyFigures;
  /** Operator view only (null on the public one): every persisted answer, per suite. */
  answers?: AnswersView[] | null;
}

function elapsedOf(record: StageRecord): number | null {
  if (record.startedAt && record.endedAt) {
    const ms = Date.parse(record.endedAt) - Date.parse(record.startedAt);
    if (Number.isFinite(ms) && ms >= 0) return ms;
  }
  const duration = record.details?.durationMs;
  return typeof duration === 'number' && Number.isFinite(duration) && duration >= 0 ? duration : null;
}

/** Stages in pipeline order (the database orders by start time, which puts skipped stages first). */
export function stageViews(records: StageRecord[], track: string): StageView[] {
  const byStage = new Map(records.map((r) => [r.stage, r]));
  const names = [...STAGES, ...records.map((r) => r.stage).filter((s) => !(STAGES as readonly string[]).includes(s))];
  return names.map((stage): StageView => {
    const record = byStage.get(stage);
    if (!record) {
      const limitMs = Object.hasOwn(TRACKS, track) ? stageLimitMs(TRACKS[track as TrackId].limits, stage) : null;
      return { stage, outcome: 'pending', failureCategory: null, reason: null, startedAt: null, endedAt: null, limitMs, elapsedMs: null, details: null };
    }
    return {
      stage,
      outcome: record.outcome,
      failureCategory: record.failureCategory,
      reason: record.reason,
      startedAt: record.startedAt,
      endedAt: record.endedAt,
      limitMs: record.limitMs,
      elapsedMs: record.outcome === 'skipped' ? null : elapsedOf(record),
      details: record.details,
      progress: recordedProgressView(record),
    };
  });
}

/**
 * The stages with what the running pipeline says of the stage it is in (a stage the database has no record of
 * yet): its start and its live progress. Recorded stages are left as they are.
 */
export function withLiveStages<T extends StageView>(views: readonly T[], live: readonly StageState[] | null): T[] {
  if (!live) return [...views];
  return views.map((view) => {
    const state = live.find((s) => s.stage === view.stage);
    if (!state || state.outcome !== 'running' || view.outcome !== 'pending') return view;
    return { ...view, startedAt: state.startedAt === null ? view.startedAt : new Date(state.startedAt).toISOString(), limitMs: state.limitMs ?? view.limitMs, progress: liveProgressView(state) };
  });
}

/** The live stages of a submission whose pipeline has not recorded its end, or null (no source, ended, no answer). */
export async function liveStagesFor(source: LiveSource, submissionId: string, pipeline: PipelineRecord | null): Promise<readonly StageState[] | null> {
  if (!source.live || (pipeline !== null && pipeline.outcome !== 'running')) return null;
  return source.live(submissionId);
}


/** `<dataDir>/logs/<submissionId>/<stage>.log`, or null if that would leave the logs folder (infra/log-files.ts's layout). */
export function logFileOf(dataDir: string, submissionId: string, stage: string): string | null {
  return stageLogFile(dataDir, submissionId, stage);
}

/**
 * A log excerpt per stage: the one the failure recorded, else the tail of the stage's log file on this
 * host, else the tail of the copy in the artifact store (the stage ran on another GPU host).
 */
export async function stageLogs(dataDir: string, submissionId: string, stages: StageView[], artifacts?: ArtifactStore): Promise<LogView[]> {
  const out: LogView[] = [];
  for (const stage of stages) {
    const excerpt = stage.details?.logExcerpt;
    if (typeof excerpt === 'string' && excerpt.trim() !== '') {
      out.push({ stage: stage.stage, source: 'details', text: excerpt });
      continue;
    }
    // The one reader of stage logs (operations/stage-logs.ts); an unreachable store must not take the page down.
    const log = await stageLogTail(dataDir, submissionId, stage.stage, LOG_TAIL_LINES, artifacts).catch(() => null);
    if (log !== null && log.text.trim() !== '') out.push({ stage: stage.stage, source: 'file', text: log.text });
  }
  return out;
}

export interface SubmissionViewOptions {
  dataDir: string;
  /** Where the GPU hosts copy their logs (read when a log is not on this host). */
  artifacts?: ArtifactStore;
  suites?: SuiteFiles;
  /** The Temporal Web UI and namespace, for the link to each pipeline. */
  temporalUi?: TemporalUiLocation;
  /** 'public' (default): redacted as the module comment says; 'operator': everything, answers included. */
  audience?: Audience;
  /** The running pipeline's live stages (operations/pipelines.ts liveStagesOf); absent: the database's stages only. */
  live?: LiveStages;
}

/** A stage as the public may see it: the closed evaluation's reason rebuilt, details without logs or text. */
export function publicStageView(view: StageView): StageView {
  const facts: StageFacts = { stage: view.stage, outcome: view.outcome, category: view.failureCategory, reason: view.reason, limitMs: view.limitMs, elapsedMs: view.elapsedMs, details: view.details };
  return { ...view, reason: publicStageReason(facts), details: publicStageDetails(view.stage, view.details) };
}

async function answersOf(db: ResultsStore, submissionId: string): Promise<AnswersView[]> {
  const out: AnswersView[] = [];
  for (const suite of ['open', 'closed'] as const) {
    const answers = (await db.answerStore(submissionId, suite).all()).sort((a, b) => a.scenario.localeCompare(b.scenario) || a.instanceId.localeCompare(b.instanceId, undefined, { numeric: true }));
    out.push({ suite, count: answers.length, failed: answers.filter((a) => a.completion === null).length, answers });
  }
  return out;
}

export async function submissionView(db: ResultsStore, submissionId: string, options: SubmissionViewOptions): Promise<SubmissionView | null> {
  const submission = await db.submission(submissionId);
  if (!submission) return null;
  const audience: Audience = options.audience ?? 'public';
  const records = await db.stages(submissionId);
  const pipeline = (await db.pipeline(submissionId)) ?? null;
  const stages = withLiveStages(stageViews(records, submission.track), await liveStagesFor(options, submissionId, pipeline));
  let standing: Standing | null = null;
  let columns: string[] = [];
  try {
    const board = await leaderboard(db, submission.track, options.suites);
    columns = board.columns.map((c) => `${c.suite}/${c.column}`);
    const row = board.rows.find((r) => r.submissionId === submissionId);
    if (row) standing = { rank: row.rank, of: board.rows.length, open: row.open, closed: row.closed, final: row.final };
  } catch {
    standing = null; // the suites could not be read: the page still shows the stages
  }
  // Scores in suite order (open first), scenarios in the order of the suite files.
  const position = (s: ScoreRow): number => {
    const i = columns.indexOf(`${s.suite}/${s.column}`);
    return i >= 0 ? i : columns.length + (s.suite === 'open' ? 0 : 1000);
  };
  const operator = audience === 'operator';
  return {
    audience,
    submission,
    pipeline:
      pipeline && !operator
        ? { ...pipeline, reason: publicPipelineReason({ outcome: pipeline.outcome, category: pipeline.failureCategory, reason: pipeline.reason }, records.map(factsOf)) }
        : pipeline,
    stages: operator ? stages : stages.map(publicStageView),
    scores: (await db.scenarioScores(submissionId)).sort((a, b) => position(a) - position(b) || a.scenario.localeCompare(b.scenario)),
    // The public view reads the logs of the build stage only, never of a stage that ran the server.
    logs: await stageLogs(options.dataDir, submissionId, operator ? stages : stages.filter((s) => PUBLIC_LOG_STAGES.includes(s.stage)), options.artifacts),
    standing,
    workflowUrl: options.temporalUi ? workflowUrl(options.temporalUi, submission.workflowId || pipelineWorkflowId(submissionId)) : null,
    efficiency: await submissionEfficiency(db, submissionId, submission.track),
    answers: operator ? await answersOf(db, submissionId) : null,
  };
}

export const categoryMeaning = (category: FailureCategory): string => FAILURE_CATEGORIES[category].meaning;
