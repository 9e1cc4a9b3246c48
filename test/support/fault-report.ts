/**
 * Collects what each fault-injection test did and writes test-artifacts/fault-report.{md,json}.
 *
 * Several test files add to one report: each is a `source` (faults.test.ts is "faults"). Writing replaces
 * the rows of its own source and keeps the others' (from their latest run), so the files append cleanly
 * whichever tests ran. The "lost" column is a measurement: `lostColumn` writes counts taken before the
 * fault and after recovery, and what was lost between them.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../infra/paths.js';

export interface FaultRow {
  fault: string;
  injected: string;
  systemDid: string;
  lost: string;
  measured: string;
}

/** A row as stored: which test file wrote it, and when. */
interface StoredRow extends FaultRow {
  source?: string;
  at?: string;
}

/** One count taken before a fault and after the system recovered (steps, checkpoints, answers, ...). */
export interface Count {
  what: string;
  before: number;
  after: number;
}

/** What was lost, as measured: the sum of the drops, then each count before and after ("0 lost: steps 7 → 7; ..."). */
export function lostColumn(counts: Count[], note = ''): string {
  const lost = counts.reduce((sum, c) => sum + Math.max(0, c.before - c.after), 0);
  const figures = counts.map((c) => `${c.what} ${c.before} → ${c.after}`).join('; ');
  return `${lost} lost (${figures})${note ? `; ${note}` : ''}`;
}

/** For rows where nothing may get out rather than nothing be lost: each count of what got through ("0 leaked: ..."). */
export function leakedColumn(counts: { what: string; count: number }[]): string {
  const leaked = counts.reduce((sum, c) => sum + c.count, 0);
  return `${leaked} leaked (${counts.map((c) => `${c.what} ${c.count}`).join('; ')})`;
}

export class FaultReport {
  readonly rows: FaultRow[] = [];

  constructor(readonly source = 'faults') {}

  add(row: FaultRow): void {
    this.rows.push(row);
  }

  write(name = 'fault-report'): string {
    const dir = path.join(PROJECT_ROOT, 'test-artifacts');
    mkdirSync(dir, { recursive: true });
    const jsonFile = path.join(dir, `${name}.json`);
    let previous: StoredRow[] = [];
    try {
      const parsed: unknown = JSON.parse(readFileSync(jsonFile, 'utf8'));
      if (Array.isArray(parsed)) previous = parsed as StoredRow[];
    } catch {
      /* no earlier report */
    }
    const at = new Date().toISOString();
    const rows: StoredRow[] = [...previous.filter((r) => (r.source ?? 'faults') !== this.source), ...this.rows.map((r) => ({ ...r, source: this.source, at }))];
    const sources = [...new Set(rows.map((r) => r.source ?? 'faults'))].sort((a, b) => (a === 'faults' ? -1 : b === 'faults' ? 1 : a.localeCompare(b)));
    const escape = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
    const markdown = [`# Fault injection report (${at})`, ''];
    for (const source of sources) {
      const own = rows.filter((r) => (r.source ?? 'faults') === source);
      markdown.push(
        `## ${source}${own[0]?.at ? ` (run ${own[0].at})` : ''}`,
        '',
        '| fault | injected | what the system did | lost | measured |',
        '|---|---|---|---|---|',
        ...own.map((r) => `| ${[r.fault, r.injected, r.systemDid, r.lost, r.measured].map(escape).join(' | ')} |`),
        '',
      );
    }
    const file = path.join(dir, `${name}.md`);
    writeFileSync(file, markdown.join('\n'));
    writeFileSync(jsonFile, JSON.stringify(rows, null, 2));
    return file;
  }
}
