/**
 * The throughput probe of `challenge check --serve` (cli/check.ts probeServer, renderPredictions) against a real
 * submission server (the good sample's Python server, trained for real, run here without Docker: the sandboxed
 * build and serve are check-serve-sandbox.test.ts's) on the toy suites: the probe asks each suite's sample, and
 * the lines say the predicted stage against the CPU track's limits.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execa, type ResultPromise } from 'execa';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TRACKS } from '../../temporal.config.js';
import { PROJECT_ROOT } from '../../infra/paths.js';
import { probeServer, renderPredictions } from '../../cli/check.js';
import { freePort } from '../support/stack.js';

let server: ResultPromise | null = null;
let url = '';
beforeAll(async () => {
  const artifacts = mkdtempSync(path.join(os.tmpdir(), 'probe-artifacts-'));
  await execa('python3', [path.join(PROJECT_ROOT, 'examples/good-cooccurrence/train.py')], { env: { ARTIFACTS_DIR: artifacts } });
  const port = await freePort();
  server = execa('python3', [path.join(PROJECT_ROOT, 'examples/good-cooccurrence/server.py')], { env: { PORT: String(port), ARTIFACTS_DIR: artifacts }, reject: false });
  url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      await fetch(`${url}/health`);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}, 120_000);
afterAll(() => {
  server?.kill();
});

describe('challenge check --serve: the throughput probe', () => {
  it('predicts the open and the closed stage against the track limits, and says when the closed suite is not there', async () => {
    const suites = { open: path.join(PROJECT_ROOT, 'suites', 'open.json'), closed: path.join(PROJECT_ROOT, 'suites', 'closed.json') };
    const started = Date.now();
    const predictions = await probeServer(url, 'cpu', suites);
    expect(predictions.open).toMatchObject({ total: 60, sample: 60, limitMs: TRACKS.cpu.limits.openEval, fits: true, answeredShareAtLimit: 1 });
    expect(predictions.closed).toMatchObject({ total: 44, sample: 44, limitMs: TRACKS.cpu.limits.closedEval, fits: true });
    expect(predictions.open.estimateMs).toBeGreaterThan(0);
    expect(predictions.open.lowMs).toBeLessThanOrEqual(predictions.open.estimateMs);
    expect(predictions.open.highMs).toBeLessThan(60_000);
    const text = renderPredictions(predictions);
    const line = (label: string, items: number) => `${label}: ${items} items in ≈ [\\d.]+ s \\([\\d.]+–[\\d.]+\\), limit 10m: fits`;
    const header = 'throughput probe \\(60 items of the open suite at concurrency 8; 90% interval\\):';
    expect(text).toMatch(new RegExp(`^${header}\\n {2}${line('open suite', 60)}\\n {2}${line('closed suite', 44)}$`));
    const teams = await probeServer(url, 'cpu', { ...suites, closed: path.join(PROJECT_ROOT, 'suites', 'no-such-closed.json') });
    expect(teams.closed).toBeNull();
    expect(renderPredictions(teams)).toContain('closed suite: not on this machine (the operator runs it)');
    console.log(`check --serve probe in ${((Date.now() - started) / 1000).toFixed(1)} s:\n${text}`);
  }, 60_000);
});
