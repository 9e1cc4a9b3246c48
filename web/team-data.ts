/**
 * What the participants' door shows a team about its own submissions (no HTTP, no markup): the team's
 * intakes joined with their submission records and pipeline outcomes, each with its stage timeline against
 * the limits, its open-suite scores, and whether it was refunded and why; the quota of the open phase per
 * track (used, left, when the next slot frees) and the operators' grants. One submission in detail adds the
 * open suite's per-instance answers and the logs of the stages before the closed evaluation.
 *
 * A team's own server may echo closed-suite prompts, so a team sees no more of the closed evaluation than
 * the public does: stages go through web/data.ts publicStageView (domain/redaction.ts), the pipeline reason
 * through publicPipelineReason, and nothing of the closed suite's answers, completions or logs is read.
 * The web pages (web/team-pages.ts) and the JSON API (web/team-api.ts) both serve these views; they are
 * plain JSON-serialisable objects. An evaluation stage carries its progress and the probe's prediction
 * (`stages[].progress`, web/data.ts): recorded once it ended, live for the running stage when the context has a
 * `live` source (the server's Temporal client, operations/pipelines.ts liveStagesOf).
 */
import { openQuota } from '../domain/competition/index.js';
import { FAILURE_CATEGORIES, type FailureCategory } from '../domain/failures.js';
import { PUBLIC_TEXT_STAGES, closedSuiteStarted, publicFailureReason } from '../domain/redaction.js';
import type { IntakeRecord, QuotaGrant } from '../infra/team-store.js';
import type { StageRecord } from '../infra/results-store.js';
import { factsOf, liveStagesFor, publicStageView, stageLogs, stageViews, withLiveStages, type LiveSource, type LogView, type StageView } from './data.js';
import type { StageState } from '../contract/pipeline.js';
import { nowOf } from './team-auth.js';
import { reproductionOf } from '../operations/standings.js';
import type { ReproductionState } from '../domain/competition/final-board.js';
import type { TeamContext } from './team-context.js';

/** One open-suite scenario column's score (the closed suite's are never in a team's view). */
export interface OpenScore {
  scenario: string;
  column: string;
  score: number;
  instances: number;
  answered: number;
  failed: number;
}

/** A stage as the team sees it: the public view, plus 'running' for the stage the pipeline is in now. */
export type TeamStageView = Omit<StageView, 'outcome'> & { outcome: StageView['outcome'] | 'running' };

export interface TeamSubmissionSummary {
  submissionId: string;
  intakeId: string;
  track: string;
  phase: string;
  acceptedAt: string;
  /** The submission's name within the team (null until the pipeline registered it). */
  name: string | null;
  /** 'running' until the pipeline ended, then completed | failed | cancelled; 'not-started' when the upload was given back before its pipeline ran. */
  outcome: string;
  failureCategory: FailureCategory | null;
  /** The failure's reason as the public may read it (the failed stage's, else the pipeline's; rebuilt once the closed evaluation ran). */
  reason: string | null;
  /** Whether the pipeline is still going (the page refreshes itself while one is). */
  running: boolean;
  usesGrant: boolean;
  refunded: boolean;
  refundReason: string | null;
  settledAt: string | null;
  stages: TeamStageView[];
  openScores: OpenScore[];
  /** Its finalist's reproduction (the platform re-ran its training), null when it was not reproduced. */
  reproduction: TeamReproduction | null;
  /** The team chose it for the finals of its track (POST /api/team/final, or the form on /team). */
  chosenFinal: boolean;
  /** It may be chosen now: an upload of the phase that takes uploads now (web/team-final.ts has the rule). */
  finalChoosable: boolean;
}

/** The team's own reproduction outcome: the verdict and its reason (built from scores and the training stage), the final scores. */
export interface TeamReproduction {
  state: Exclude<ReproductionState, 'not-selected'>;
  reason: string | null;
  finalSubmitted: number | null;
  finalReproduced: number | null;
}

/** The quota of one track in the open phase, as the store would decide the next upload now. */
export interface TeamQuota {
  track: string;
  phase: string;
  /** Counted submissions in the rolling window, of perWindow. */
  used: number;
  perWindow: number;
  windowMs: number;
  usedInPhase: number;
  perPhase: number | null;
  /** Uploads the team may make now (window and phase quota plus grants left). */
  left: number;
  grantsLeft: number;
  /** When the oldest counted submission leaves the window (ISO); null when none is in it. */
  nextSlotAt: string | null;
}

export interface TeamOverview {
  team: string;
  /** The phase teams submit in now; null between phases (no quota then). */
  phase: { id: string; title: string | null; closesAt: string } | null;
  quotas: TeamQuota[];
  grants: QuotaGrant[];
  submissions: TeamSubmissionSummary[];
  /** Whether any shown submission is still running. */
  running: boolean;
}

/** One open-suite answer, without its prompt. */
export interface TeamAnswer {
  scenario: string;
  instanceId: string;
  /** null when no valid answer came back */
  completion: string | null;
  score: number;
}

export type TeamSubmissionDetail = TeamSubmissionSummary & {
  team: string;
  submittedAt: string | null;
  /** Every answer of the open suite, by scenario then instance. */
  openAnswers: TeamAnswer[];
  /** Excerpts of the build and open-eval logs (TEAM_LOG_STAGES). */
  logs: LogView[];
};


const ENDED = new Set(['completed', 'failed', 'cancelled']);

/** A team's context, with the running pipelines' live stages when the server has them (web/data.ts LiveSource). */
export type TeamDataContext = TeamContext & LiveSource;

/**
 * Stages in pipeline order, redacted, with the stage the pipeline is in marked 'running' while it runs (the live
 * state's running stage, else the first stage not yet recorded) and carrying its live progress.
 */
function teamStages(records: StageRecord[], track: string, running: boolean, live: readonly StageState[] | null): TeamStageView[] {
  const views: TeamStageView[] = withLiveStages(stageViews(records, track), live).map(publicStageView);
  if (running) {
    const liveStage = live?.find((s) => s.outcome === 'running')?.stage;
    const byLive = liveStage === undefined ? -1 : views.findIndex((s) => s.stage === liveStage && s.outcome === 'pending');
    const current = byLive >= 0 ? byLive : views.findIndex((s) => s.outcome === 'pending');
    if (current >= 0) views[current] = { ...views[current]!, outcome: 'running' };
  }
  return views;
}

/**
 * The refund's reason as the team may read it. The store writes the pipeline's own reason into it; once the
 * closed evaluation ran that reason may quote the server, so it is rebuilt from the category and the public reason.
 */
function refundReasonOf(intake: IntakeRecord, category: FailureCategory | null, publicReason: string | null, closedStarted: boolean): string | null {
  if (!intake.refunded || intake.refundReason === null || !closedStarted) return intake.refundReason;
  return category ? `refunded: ${category} — ${publicReason ?? FAILURE_CATEGORIES[category].meaning}` : 'refunded';
}

async function summaryOf(context: TeamDataContext, intake: IntakeRecord): Promise<TeamSubmissionSummary> {
  const { db } = context;
  const id = intake.submissionId;
  const record = await db.submission(id);
  const pipeline = (await db.pipeline(id)) ?? null;
  const records = record ? await db.stages(id) : [];
  const pipelineEnded = pipeline !== null && ENDED.has(pipeline.outcome);
  const outcome = intake.outcome ?? (pipelineEnded ? pipeline.outcome : intake.settledAt !== null ? 'not-started' : 'running');
  const running = outcome === 'running';
  const scores = record ? await db.scenarioScores(id) : [];
  const facts = records.map(factsOf);
  const reason = publicFailureReason(facts, pipeline && { outcome: pipeline.outcome, category: pipeline.failureCategory, reason: pipeline.reason });
  const failureCategory = intake.failureCategory ?? pipeline?.failureCategory ?? null;
  const reproduced = await reproductionOf(db, id);
  const chosenFinal = intake.phase !== '' && (await db.finalChoice(intake.team, intake.track, intake.phase))?.submissionId === id;
  const finalChoosable = intake.intakeId !== '' && openQuota(context.door.competition, nowOf(context))?.phase.id === intake.phase;
  return {
    submissionId: id,
    intakeId: intake.intakeId,
    track: intake.track,
    phase: intake.phase,
    acceptedAt: intake.acceptedAt,
    name: record?.name ?? null,
    outcome,
    failureCategory,
    reason,
    running,
    usesGrant: intake.usesGrant,
    refunded: intake.refunded,
    refundReason: refundReasonOf(intake, failureCategory, reason, closedSuiteStarted(facts)),
    settledAt: intake.settledAt,
    stages: teamStages(records, intake.track, running, running && record ? await liveStagesFor(context, id, pipeline) : null),
    openScores: scores
      .filter((s) => s.suite === 'open')
      .sort((a, b) => a.scenario.localeCompare(b.scenario) || a.column.localeCompare(b.column))
      .map((s) => ({ scenario: s.scenario, column: s.column, score: s.score, instances: s.instances, answered: s.answered, failed: s.failed })),
    reproduction: reproduced && {
      state: reproduced.verdict ?? 'pending',
      reason: reproduced.reason,
      finalSubmitted: reproduced.finalSubmitted,
      finalReproduced: reproduced.finalReproduced,
    },
    chosenFinal,
    finalChoosable,
  };
}

/** The latest intake of each submission id (a refunded submission may be uploaded again under the same id). */
function latestPerSubmission(intakes: IntakeRecord[]): IntakeRecord[] {
  const latest = new Map<string, IntakeRecord>();
  for (const intake of intakes) {
    const seen = latest.get(intake.submissionId);
    if (!seen || seen.acceptedAt <= intake.acceptedAt) latest.set(intake.submissionId, intake);
  }
  return [...latest.values()];
}

async function quotasOf(context: TeamContext, team: string, now: number): Promise<{ phase: TeamOverview['phase']; quotas: TeamQuota[] }> {
  const open = openQuota(context.door.competition, now);
  if (!open) return { phase: null, quotas: [] };
  const record = await context.db.team(team);
  const tracks = (record?.tracks ?? context.door.competition.tracks).filter((t) => (context.door.competition.tracks as readonly string[]).includes(t));
  const rule = { perWindow: open.quota.perWindow, window: open.quota.window, ...(open.quota.perPhase === undefined ? {} : { perPhase: open.quota.perPhase }) };
  const quotas: TeamQuota[] = [];
  for (const track of tracks) {
    const d = await context.db.quotaStatus(team, track, open.phase.id, rule, new Date(now).toISOString());
    quotas.push({
      track,
      phase: open.phase.id,
      used: d.usedInWindow,
      perWindow: d.perWindow,
      windowMs: open.quota.window,
      usedInPhase: d.usedInPhase,
      perPhase: d.perPhase,
      left: d.left,
      grantsLeft: d.grantsLeft,
      nextSlotAt: d.nextSlotAt,
    });
  }
  return { phase: { id: open.phase.id, title: open.phase.title ?? null, closesAt: open.phase.closesAt }, quotas };
}

/** Everything the team's own page lists: its submissions (newest first), the quota per track now, its grants. */
export async function teamOverview(context: TeamDataContext, team: string): Promise<TeamOverview> {
  const intakes = latestPerSubmission(await context.db.intakes(team)).sort((a, b) => b.acceptedAt.localeCompare(a.acceptedAt) || a.submissionId.localeCompare(b.submissionId));
  const submissions: TeamSubmissionSummary[] = [];
  for (const intake of intakes) submissions.push(await summaryOf(context, intake));
  const { phase, quotas } = await quotasOf(context, team, nowOf(context));
  const grants = [...(await context.db.grants(team))].sort((a, b) => b.at.localeCompare(a.at));
  return { team, phase, quotas, grants, submissions, running: submissions.some((s) => s.running) };
}

/**
 * The stages whose logs a team may read: the build and its own open evaluation (both before any closed-suite
 * prompt is sent, domain/redaction.ts PUBLIC_TEXT_STAGES); web/team-api.ts's log route serves the same two.
 */
export const TEAM_LOG_STAGES: readonly string[] = ['build', 'open-eval'].filter((stage) => PUBLIC_TEXT_STAGES.includes(stage));

/**
 * One of the team's submissions in detail; null when it is unknown or not the team's (the caller answers
 * 404 exactly as for an unknown id, so another team's ids cannot be told from made-up ones).
 */
export async function teamSubmissionDetail(context: TeamDataContext, team: string, submissionId: string): Promise<TeamSubmissionDetail | null> {
  const { db } = context;
  const record = await db.submission(submissionId);
  if (record && record.team !== team) return null;
  const intakes = (await db.intakes(team)).filter((i) => i.submissionId === submissionId);
  const intake = latestPerSubmission(intakes)[0];
  if (!intake && !record) return null;
  const summary = intake
    ? await summaryOf(context, intake)
    : await summaryOf(context, {
        // submitted by an operator on the team's behalf (challenge submit): no upload, nothing counted
        intakeId: '',
        team,
        track: record!.track,
        phase: '',
        submissionId,
        archiveKey: '',
        archiveSha256: '',
        acceptedAt: record!.submittedAt,
        usesGrant: false,
        outcome: null,
        failureCategory: null,
        refunded: false,
        refundReason: null,
        settledAt: null,
      });
  const answers = record ? await db.answerStore(submissionId, 'open').all() : [];
  const openAnswers = answers
    .map((a) => ({ scenario: a.scenario, instanceId: a.instanceId, completion: a.completion, score: a.score }))
    .sort((a, b) => a.scenario.localeCompare(b.scenario) || a.instanceId.localeCompare(b.instanceId, undefined, { numeric: true }));
  // Logs are read from the recorded stages (before redaction dropped their excerpts), of TEAM_LOG_STAGES only.
  const logStages = record ? stageViews(await db.stages(submissionId), record.track).filter((s) => TEAM_LOG_STAGES.includes(s.stage)) : [];
  return {
    ...summary,
    team,
    submittedAt: record?.submittedAt ?? null,
    openAnswers,
    logs: await stageLogs(context.dataDir, submissionId, logStages, context.artifacts),
  };
}
