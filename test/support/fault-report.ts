/** Collects what each fault-injection test did and writes test-artifacts/fault-report.{md,json}. */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../infra/paths.js';

export interface FaultRow {
  fault: string;
  injected: string;
  systemDid: string;
  lost: string;
  measured: string;
}

export class FaultReport {
  readonly rows: FaultRow[] = [];

  add(row: FaultRow): void {
    this.rows.push(row);
  }

  write(name = 'fault-report'): string {
    const dir = path.join(PROJECT_ROOT, 'test-artifacts');
    mkdirSync(dir, { recursive: true });
    const escape = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
    const markdown = [
      `# Fault injection report (${new Date().toISOString()})`,
      '',
      '| fault | injected | what the system did | lost | measured |',
      '|---|---|---|---|---|',
      ...this.rows.map((r) => `| ${[r.fault, r.injected, r.systemDid, r.lost, r.measured].map(escape).join(' | ')} |`),
      '',
    ].join('\n');
    const file = path.join(dir, `${name}.md`);
    writeFileSync(file, markdown);
    writeFileSync(path.join(dir, `${name}.json`), JSON.stringify(this.rows, null, 2));
    return file;
  }
}
