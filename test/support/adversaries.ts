/** Builds adversarial submission directories from test/fixtures/adversarial, one per misbehaviour. */
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../../infra/paths.js';

export const ADVERSARY_MODES = ['hang', 'garbage', 'huge', 'wrong-types', 'crash-midway', 'oom-serve', 'fork-bomb', 'escape'] as const;
export type AdversaryMode = (typeof ADVERSARY_MODES)[number];

export function adversarySubmission(mode: AdversaryMode, probePort = 0): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `adversary-${mode}-`));
  const template = path.join(PROJECT_ROOT, 'test', 'fixtures', 'adversarial');
  for (const file of ['server.py', 'train.py', 'Dockerfile', 'Dockerfile.train']) {
    cpSync(path.join(template, file), path.join(dir, file));
  }
  for (const file of ['Dockerfile', 'Dockerfile.train']) {
    const text = readFileSync(path.join(dir, file), 'utf8').replaceAll('__MODE__', mode).replaceAll('__PROBE_PORT__', String(probePort));
    writeFileSync(path.join(dir, file), text);
  }
  writeFileSync(
    path.join(dir, 'submission.json'),
    JSON.stringify({ schemaVersion: 1, team: 'adversary', submission: mode, track: 'cpu', baseModel: `none (misbehaves: ${mode})`, trainingData: [] }, null, 2),
  );
  return dir;
}
