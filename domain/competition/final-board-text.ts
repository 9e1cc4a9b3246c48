/**
 * The final board and the reproduction status as text (the CLI) and CSV (the exports): one writer each, so the
 * command line and the web page's export say the same thing about every finalist.
 */
import { textTable, toCsv } from '../text-table.js';
import { formatBoardScore } from '../standings-table.js';
import type { FinalBoard, ReproductionCell, ReproductionRecord } from './final-board.js';

/** How the reproduction column reads: Reproduced, NotReproduced: <reason>, pending, — (not among the top N). */
export function reproductionLabel(cell: ReproductionCell): string {
  switch (cell.state) {
    case 'Reproduced':
      return 'Reproduced';
    case 'NotReproduced':
      return `NotReproduced${cell.reason ? `: ${cell.reason}` : ''}`;
    case 'pending':
      return 'pending';
    case 'not-selected':
      return '—';
  }
}

export function finalBoardTable(board: FinalBoard): string {
  const header = ['#', 'team', 'submission', 'status', ...board.columns.map((c) => c.column), 'open', 'closed', 'final', 'reproduction'];
  const rows = board.rows.map((row) => [
    String(row.rank),
    row.team,
    row.submission,
    row.failureCategory ?? row.outcome,
    ...board.columns.map((c) => formatBoardScore(row.metrics[c.column] ?? null)),
    formatBoardScore(row.open),
    formatBoardScore(row.closed),
    formatBoardScore(row.final),
    reproductionLabel(row.reproduction),
  ]);
  const rule =
    board.onFailure === 'drop'
      ? 'a team whose training does not reproduce is dropped and the board scored again without it'
      : 'a team whose training does not reproduce stays, marked NotReproduced';
  return [
    `Final leaderboard — track ${board.track} (rules: ${board.rulesVersion}; ${rule})`,
    ...(board.rows.length === 0 ? ['no final runs on this track yet: they start when the development phase closes'] : textTable(header, rows)),
    ...board.dropped.map((d) => `dropped (NotReproduced): ${d.team} ${d.of} — ${d.reason ?? 'no reason recorded'}`),
    ...board.unranked.map((u) => `not ranked (not charged, awaiting a re-run): ${u.submissionId} — ${u.failureCategory}: ${u.reason ?? ''}`),
  ].join('\n');
}

export function finalBoardCsv(board: FinalBoard): string {
  const header = ['rank', 'team', 'submission', 'final_run', 'outcome', 'failure_category', ...board.columns.map((c) => c.column), 'open', 'closed', 'final', 'reproduction', 'reproduction_reason'];
  const rows = board.rows.map((row) => [
    String(row.rank),
    row.team,
    row.of,
    row.submissionId,
    row.outcome,
    row.failureCategory ?? '',
    ...board.columns.map((c) => String(row.metrics[c.column] ?? '')),
    String(row.open),
    String(row.closed),
    String(row.final),
    row.reproduction.state,
    row.reproduction.reason ?? '',
  ]);
  const dropped = board.dropped.map((d) => ['dropped', d.team, d.of, d.submissionId, '', 'NotReproduced', ...board.columns.map(() => ''), '', '', '', 'NotReproduced', d.reason ?? '']);
  return toCsv(header, [...rows, ...dropped]);
}

/** One finalist's reproduction as `challenge reproduce status` lists it. */
export interface ReproductionStatusEntry extends ReproductionRecord {
  track: string;
  team: string;
  /** The reproduction run (`<id>.reproduction`). */
  runId: string;
}

const outsideText = (entry: ReproductionStatusEntry): string => {
  if (entry.verdict === null) return '';
  if (entry.columnsOutside.length === 0) return entry.columnsCompared === 0 ? 'no columns compared' : `none of ${entry.columnsCompared}`;
  const shown = entry.columnsOutside.map((c) => `${c.suite} ${c.column} ${formatBoardScore(c.reproduced)} vs ${formatBoardScore(c.submitted)}`);
  return `${entry.columnsOutside.length} of ${entry.columnsCompared}: ${shown.join('; ')}`;
};

export function reproductionStatusTable(entries: readonly ReproductionStatusEntry[]): string {
  if (entries.length === 0) return 'no reproduction has started: the competition clock reproduces the top N of each track once the final runs have ended';
  const header = ['track', 'team', 'submission', 'verdict', 'final submitted', 'final reproduced', 'columns outside tolerance', 'reason'];
  const rows = entries.map((e) => [
    e.track,
    e.team,
    e.of,
    e.verdict ?? 'pending',
    formatBoardScore(e.finalSubmitted),
    formatBoardScore(e.finalReproduced),
    outsideText(e),
    e.reason ?? '',
  ]);
  return textTable(header, rows).join('\n');
}
