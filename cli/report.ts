/**
 * `challenge report`: what the 2023 challenge never reported, for every submission of a track —
 * generalization (open vs closed correlation, rank shifts, overfit flags), contamination of the
 * declared training data against every suite, efficiency figures, and how far the throughput probe's predictions
 * of the evaluation stages' wall time were off (domain/reports/prediction-errors.ts, from the stage records).
 */
import path from 'node:path';
import { existsSync } from 'node:fs';
import { loadSubmission } from '../domain/submission.js';
import { loadSuite, type SuiteKind } from '../domain/harness/suite.js';
import { renderGeneralizationReport, type GeneralizationReport } from '../domain/reports/generalization.js';
import { generalizationOfBoard } from '../domain/reports/track.js';
import { renderContaminationReport, scanContamination, type ContaminationReport } from '../domain/reports/contamination.js';
import { renderEfficiency, type EfficiencyFigures } from '../domain/reports/efficiency.js';
import { predictionErrors, renderPredictionErrors, type PredictionErrorReport } from '../domain/reports/prediction-errors.js';
import { submissionEfficiency } from '../infra/efficiency.js';
import type { ResultsStore } from '../infra/results-store.js';
import { defaultSuiteFiles } from '../infra/paths.js';
import { leaderboard } from '../operations/standings.js';

export interface SubmissionReport {
  submissionId: string;
  contamination: ContaminationReport | null;
  efficiency: EfficiencyFigures;
}

export interface TrackReport {
  track: string;
  generalization: GeneralizationReport;
  submissions: SubmissionReport[];
  /** The probe's predictions against the recorded stage outcomes, over every submission of the track. */
  predictionErrors: PredictionErrorReport;
}

/** The prediction-error report of a track's submissions, from their stage records (either store). */
export async function trackPredictionErrors(db: ResultsStore, track: string): Promise<PredictionErrorReport> {
  const records = [];
  for (const submission of await db.submissions(track)) records.push(...(await db.stages(submission.submissionId)));
  return predictionErrors(records);
}

export async function trackReport(db: ResultsStore, track: string, options: { suites?: Record<SuiteKind, string>; n?: number; revealClosedExamples?: boolean } = {}): Promise<TrackReport> {
  const suiteFiles = options.suites ?? defaultSuiteFiles(track);
  const suites = [loadSuite(suiteFiles.open), loadSuite(suiteFiles.closed)];
  const generalization = generalizationOfBoard(await leaderboard(db, track, suiteFiles));
  const submissions: SubmissionReport[] = [];
  for (const submission of await db.submissions(track)) {
    let contamination: ContaminationReport | null = null;
    if (existsSync(submission.directory)) {
      const { manifest, directory } = loadSubmission(submission.directory);
      const files = manifest.trainingData.map((d) => path.resolve(directory, d.path));
      if (files.length > 0) contamination = await scanContamination({ files, suites, ...(options.n ? { n: options.n } : {}), revealClosedExamples: options.revealClosedExamples ?? false });
    }
    submissions.push({ submissionId: submission.submissionId, contamination, efficiency: await submissionEfficiency(db, submission.submissionId, track) });
  }
  return { track, generalization, submissions, predictionErrors: await trackPredictionErrors(db, track) };
}

export function renderTrackReport(report: TrackReport): string {
  const parts = [renderGeneralizationReport(report.generalization), '', renderPredictionErrors(report.predictionErrors), ''];
  for (const submission of report.submissions) {
    parts.push(`== ${submission.submissionId}`);
    parts.push(submission.contamination ? renderContaminationReport(submission.contamination) : 'contamination: no declared training data to scan');
    parts.push(renderEfficiency(submission.efficiency), '');
  }
  return parts.join('\n');
}
