/**
 * `challenge report`: what the 2023 challenge never reported, for every submission of a track —
 * generalization (open vs closed correlation, rank shifts, overfit flags), contamination of the
 * declared training data against every suite, and efficiency figures.
 */
import path from 'node:path';
import { existsSync } from 'node:fs';
import { loadSubmission } from '../domain/submission.js';
import { loadSuite, type SuiteKind } from '../domain/harness/suite.js';
import { generalizationReport, renderGeneralizationReport, type GeneralizationReport } from '../domain/reports/generalization.js';
import { renderContaminationReport, scanContamination, type ContaminationReport } from '../domain/reports/contamination.js';
import { efficiencyFigures, renderEfficiency, type EfficiencyFigures } from '../domain/reports/efficiency.js';
import { TRACKS, type TrackId } from '../temporal.config.js';
import type { ResultsDb } from '../infra/results-db.js';
import { defaultSuiteFiles } from '../infra/paths.js';
import { leaderboard } from './operations.js';

export interface SubmissionReport {
  submissionId: string;
  contamination: ContaminationReport | null;
  efficiency: EfficiencyFigures;
}

export interface TrackReport {
  track: string;
  generalization: GeneralizationReport;
  submissions: SubmissionReport[];
}

const numberOf = (value: unknown): number | null => (typeof value === 'number' && Number.isFinite(value) ? value : null);

/** Efficiency of one submission from what its stages recorded and its answers' latencies. */
export function submissionEfficiency(db: ResultsDb, submissionId: string, track: string): EfficiencyFigures {
  const stages = new Map(db.stages(submissionId).map((s) => [s.stage, s]));
  const fineTune = stages.get('fine-tune')?.details ?? null;
  const evals = ['open-eval', 'closed-eval'].map((s) => stages.get(s)?.details ?? null).filter((d): d is Record<string, unknown> => d !== null);
  const evalMs = evals.reduce((sum, d) => sum + (numberOf(d.durationMs) ?? 0), 0);
  const answered = evals.reduce((sum, d) => sum + (numberOf(d.answered) ?? 0), 0);
  const peaks = [numberOf(fineTune?.peakMemoryBytes), ...evals.map((d) => numberOf(d.peakMemoryBytes))].filter((v): v is number => v !== null);
  const latencies = (['open', 'closed'] as SuiteKind[]).flatMap((suite) => db.answerStore(submissionId, suite).all().filter((a) => a.completion !== null).map((a) => a.latencyMs));
  const trainingMs = numberOf(fineTune?.durationMs);
  return efficiencyFigures({
    training: trainingMs === null ? null : { wallTimeMs: trainingMs, gpus: TRACKS[track as TrackId]?.gpu ? 1 : 0 },
    evaluation: evals.length === 0 ? null : { wallTimeMs: evalMs, instances: answered },
    latenciesMs: latencies,
    peakMemoryBytes: peaks.length === 0 ? null : Math.max(...peaks),
  });
}

export async function trackReport(db: ResultsDb, track: string, options: { suites?: Record<SuiteKind, string>; n?: number; revealClosedExamples?: boolean } = {}): Promise<TrackReport> {
  const suiteFiles = options.suites ?? defaultSuiteFiles();
  const suites = [loadSuite(suiteFiles.open), loadSuite(suiteFiles.closed)];
  const board = leaderboard(db, track, suiteFiles);
  // Only submissions that were evaluated say anything about generalization; failed ones would sit at (0, 0).
  // Each stage is measured by the mean of its scenario metrics (accuracy, not win rates): a win rate
  // depends on the field, so in a small track an overfitter's open-closed gap would hide in ties.
  const evaluated = board.rows.filter((row) => row.outcome === 'completed');
  const meanOf = (row: (typeof evaluated)[number], suite: SuiteKind) => {
    const values = board.columns.filter((c) => c.suite === suite && !/\((Robustness|Fairness)\)$/.test(c.column)).map((c) => row.metrics[c.column] ?? 0);
    return values.length === 0 ? 0 : values.reduce((sum, v) => sum + v, 0) / values.length;
  };
  const generalization = generalizationReport(track, evaluated.map((row) => ({ submissionId: row.submissionId, open: meanOf(row, 'open'), closed: meanOf(row, 'closed') })));
  const submissions: SubmissionReport[] = [];
  for (const submission of db.submissions(track)) {
    let contamination: ContaminationReport | null = null;
    if (existsSync(submission.directory)) {
      const { manifest, directory } = loadSubmission(submission.directory);
      const files = manifest.trainingData.map((d) => path.resolve(directory, d.path));
      if (files.length > 0) contamination = await scanContamination({ files, suites, ...(options.n ? { n: options.n } : {}), revealClosedExamples: options.revealClosedExamples ?? false });
    }
    submissions.push({ submissionId: submission.submissionId, contamination, efficiency: submissionEfficiency(db, submission.submissionId, track) });
  }
  return { track, generalization, submissions };
}

export function renderTrackReport(report: TrackReport): string {
  const parts = [renderGeneralizationReport(report.generalization), ''];
  for (const submission of report.submissions) {
    parts.push(`== ${submission.submissionId}`);
    parts.push(submission.contamination ? renderContaminationReport(submission.contamination) : 'contamination: no declared training data to scan');
    parts.push(renderEfficiency(submission.efficiency), '');
  }
  return parts.join('\n');
}
