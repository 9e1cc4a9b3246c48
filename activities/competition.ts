/**
 * The competition clock's activities (workflows/competition-clock.ts), on the orchestrator: they read the results
 * database the pipelines write, so the clock itself stays deterministic.
 *  - recordClockEvent: a phase opened or closed, an extension was decided, runs started (the worker's log; the
 *    clock's query and its history keep the same events);
 *  - finalSelections: per team and track, the submission that goes to the finals (the one the team chose, when it
 *    completed; else its latest completed development submission) with its stored source and the final phase's suites;
 *  - finalists: the top N of a track's final leaderboard, ranked over that track's `.final` runs only;
 *  - judgeReproductions: each reproduction against its final run (domain/competition/reproduction.ts), recorded
 *    as the reproduction run's `reproduction` stage (NotReproduced is charged, with the reason naming what differed).
 */
import { log } from '@temporalio/activity';
import type { ResultsStore, SubmissionRecord } from '../infra/results-store.js';
import { defaultSuiteFiles } from '../infra/paths.js';
import { loadSuite, stopSequenceRule, type SuiteKind } from '../domain/harness/suite.js';
import { buildLeaderboard, rulesForSuites, type Leaderboard } from '../domain/standings-table.js';
import { submissionOutcome } from '../operations/standings.js';
import { parseRunSubmissionId, runSubmissionId } from '../domain/competition/runs.js';
import { judgeReproduction, type ColumnScore, type TrainingOutcome } from '../domain/competition/reproduction.js';
import type { ClockEvent, ClockVerdict } from '../domain/competition/clock.js';
import type { CompetitionFile, Reproduction } from '../domain/competition/schema.js';
import type { SubmissionSource } from '../contract/types.js';
import type { TrackId } from '../temporal.config.js';

/** One team's submission for one track's finals, as the final and the reproduction runs are started from it. */
export interface FinalSelection {
  /** The development submission. */
  submissionId: string;
  team: string;
  submission: string;
  track: TrackId;
  directory: string;
  source?: SubmissionSource;
  /** The final phase's suite files for the track (infra/paths.ts defaultSuiteFiles). */
  suites: Record<SuiteKind, string>;
}

export interface Finalist {
  /** The development submission, and its final run. */
  of: string;
  finalRun: string;
  rank: number;
  final: number;
}

export interface JudgeInput {
  track: TrackId;
  suites: Record<SuiteKind, string>;
  tolerance: Pick<Reproduction, 'finalTolerance' | 'scenarioTolerance'>;
  /** Every final run of the track (the field the reproduced score is ranked in). */
  finalRuns: string[];
  /** The development submissions whose reproduction ran. */
  reproduced: string[];
}

/** The leaderboard of `runIds` only, on `suites` (the final-round rules of domain/standings-table.ts). */
async function boardOf(db: ResultsStore, track: string, runIds: readonly string[], suites: Record<SuiteKind, string>): Promise<Leaderboard> {
  const open = loadSuite(suites.open);
  const rules = rulesForSuites({ open, closed: loadSuite(suites.closed) });
  const submissions = [];
  const scores = [];
  for (const runId of runIds) {
    const record = await db.submission(runId);
    if (!record) continue;
    submissions.push({ submissionId: runId, team: record.team, track: record.track, ...(await submissionOutcome(db, runId)) });
    for (const s of await db.scenarioScores(runId)) scores.push({ submissionId: s.submissionId, suite: s.suite, column: s.column, score: s.score });
  }
  return buildLeaderboard(track, rules, submissions, scores, stopSequenceRule(open));
}

const columnsOf = async (db: ResultsStore, runId: string): Promise<ColumnScore[]> =>
  (await db.scenarioScores(runId)).map((s) => ({ suite: s.suite, column: s.column, score: s.score }));

async function trainingOf(db: ResultsStore, runId: string): Promise<TrainingOutcome> {
  const stage = (await db.stages(runId)).find((s) => s.stage === 'fine-tune');
  if (!stage) return { outcome: 'skipped', failureCategory: null, reason: `no fine-tune stage recorded for ${runId}` };
  return { outcome: stage.outcome, failureCategory: stage.failureCategory, reason: stage.reason };
}

/** The stored archive of an upload and the source digest its development build recorded (the reproduction builds the same). */
async function sourceOf(db: ResultsStore, record: SubmissionRecord): Promise<SubmissionSource | undefined> {
  const intake = (await db.intakes(record.team)).find((i) => i.submissionId === record.submissionId);
  if (!intake) return undefined;
  const build = (await db.stages(record.submissionId)).find((s) => s.stage === 'build');
  const digest = build?.details?.sourceDigest;
  return { archiveKey: intake.archiveKey, archiveSha256: intake.archiveSha256, ...(typeof digest === 'string' ? { sourceDigest: digest } : {}) };
}

export function createCompetitionActivities(db: ResultsStore) {
  return {
    async recordClockEvent(input: { competition: string; event: ClockEvent }): Promise<void> {
      log.info(`competition ${input.competition}: ${input.event.kind} ${input.event.phase} — ${input.event.detail}`, { competition: input.competition, ...input.event });
    },

    /** Per team and track: the chosen, else the latest, completed development submission registered in the phase before the close. */
    async finalSelections(input: { competition: CompetitionFile; finalPhase: string; closedAt: string }): Promise<FinalSelection[]> {
      const phase = input.competition.phases.find((p) => p.id === input.finalPhase);
      if (!phase) throw new Error(`competition ${input.competition.id} has no phase "${input.finalPhase}"`);
      // Only what was submitted while the phase before the finals was open: a results store that also holds earlier
      // competitions' (or demos') runs does not send those to these finals.
      const previous = input.competition.phases[input.competition.phases.indexOf(phase) - 1];
      const since = previous ? new Date(Date.parse(previous.opensAt)).toISOString() : '';
      // The team's choice (POST /api/team/final) among its uploads of that phase, when it completed; else its latest completed.
      const chosen = new Map((previous ? await db.finalChoices(previous.id) : []).map((c) => [`${c.team}\u0000${c.track}`, c.submissionId]));
      const latest = new Map<string, SubmissionRecord>();
      for (const track of input.competition.tracks) {
        for (const record of await db.submissions(track)) {
          if (parseRunSubmissionId(record.submissionId).purpose !== 'development' || record.submittedAt > input.closedAt || record.submittedAt < since) continue;
          if ((await db.pipeline(record.submissionId))?.outcome !== 'completed') continue;
          const key = `${record.team}\u0000${track}`;
          const held = latest.get(key);
          if (held && chosen.get(key) === held.submissionId) continue;
          const later = !held || record.submittedAt > held.submittedAt || (record.submittedAt === held.submittedAt && record.submissionId > held.submissionId);
          if (later || chosen.get(key) === record.submissionId) latest.set(key, record);
        }
      }
      const selections: FinalSelection[] = [];
      for (const record of [...latest.values()].sort((a, b) => a.submissionId.localeCompare(b.submissionId))) {
        const track = record.track as TrackId;
        const source = await sourceOf(db, record);
        selections.push({
          submissionId: record.submissionId,
          team: record.team,
          submission: record.name,
          track,
          directory: record.directory,
          ...(source ? { source } : {}),
          suites: defaultSuiteFiles(track, phase.suites[track]),
        });
      }
      return selections;
    },

    /** The top `topN` completed final runs of a track, by the track's final leaderboard over its final runs only. */
    async finalists(input: { track: TrackId; suites: Record<SuiteKind, string>; finalRuns: string[]; topN: number }): Promise<Finalist[]> {
      const board = await boardOf(db, input.track, input.finalRuns, input.suites);
      return board.rows
        .filter((row) => row.outcome === 'completed')
        .slice(0, input.topN)
        .map((row) => ({ of: parseRunSubmissionId(row.submissionId).submissionId, finalRun: row.submissionId, rank: row.rank, final: row.final }));
    },

    /**
     * Each reproduction against its final run: the final score is the run's on the track's final board, the reproduced
     * one what the reproduction would score in its place (same field, same rules); the columns are the raw scores.
     */
    async judgeReproductions(input: JudgeInput): Promise<ClockVerdict[]> {
      const submittedBoard = await boardOf(db, input.track, input.finalRuns, input.suites);
      const verdicts: ClockVerdict[] = [];
      for (const of of input.reproduced) {
        const finalRun = runSubmissionId(of, 'final');
        const reproductionRun = runSubmissionId(of, 'reproduction');
        const reproducedBoard = await boardOf(db, input.track, [...input.finalRuns.filter((r) => r !== finalRun), reproductionRun], input.suites);
        const judged = judgeReproduction({
          submissionId: of,
          training: await trainingOf(db, reproductionRun),
          submitted: { columns: await columnsOf(db, finalRun), final: submittedBoard.rows.find((r) => r.submissionId === finalRun)?.final ?? null },
          reproduced: { columns: await columnsOf(db, reproductionRun), final: reproducedBoard.rows.find((r) => r.submissionId === reproductionRun)?.final ?? null },
          tolerance: input.tolerance,
        });
        const team = (await db.submission(of))?.team ?? of.split('.')[0]!;
        const reproduced = judged.verdict === 'Reproduced';
        await db.recordStage({
          submissionId: reproductionRun,
          stage: 'reproduction',
          outcome: reproduced ? 'succeeded' : 'failed',
          failureCategory: reproduced ? null : 'NotReproduced',
          reason: judged.reason,
          startedAt: null,
          endedAt: new Date().toISOString(),
          limitMs: null,
          details: { of, finalRun, verdict: judged.verdict, final: judged.final, columns: judged.columns },
        });
        verdicts.push({ of, team, track: input.track, verdict: judged.verdict, reason: judged.reason, finalSubmitted: judged.final.submitted, finalReproduced: judged.final.reproduced });
      }
      return verdicts;
    },
  };
}

export type CompetitionActivities = ReturnType<typeof createCompetitionActivities>;
