/**
 * A track's generalization report from its leaderboard. Shared by `challenge report` and the web page.
 * Each stage is measured by the mean of its scenario metrics (accuracy, not win rates): a win rate
 * depends on the field, so in a small track an overfitter's open-closed gap would hide in ties.
 * Only evaluated submissions count; failed ones would sit at (0, 0) and dilute the correlations.
 */
import type { Leaderboard } from '../standings-table.js';
import type { SuiteKind } from '../harness/suite.js';
import { generalizationReport, type GeneralizationReport } from './generalization.js';

const PERTURBED_COLUMN = /\((Robustness|Fairness)\)$/;

export function stageMeanMetric(board: Leaderboard, row: Leaderboard['rows'][number], suite: SuiteKind): number {
  const values = board.columns.filter((c) => c.suite === suite && !PERTURBED_COLUMN.test(c.column)).map((c) => row.metrics[c.column] ?? 0);
  return values.length === 0 ? 0 : values.reduce((sum, v) => sum + v, 0) / values.length;
}

export function generalizationOfBoard(board: Leaderboard): GeneralizationReport {
  const evaluated = board.rows.filter((row) => row.outcome === 'completed');
  return generalizationReport(
    board.track,
    evaluated.map((row) => ({ submissionId: row.submissionId, open: stageMeanMetric(board, row, 'open'), closed: stageMeanMetric(board, row, 'closed') })),
  );
}
