/**
 * The closing lines of npm test (scripts/test-summary.ts): skipped tests listed by name, a skip of a test that
 * needs a real component failing the run under CI=true with its reason, set-up failures named, and no closing
 * line from a results file this run did not write.
 */
import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../../infra/paths.js';
import { SKIP_MARK, summarize, type JestResults } from '../../scripts/test-summary.js';
import { skipMark } from '../support/needs.js';

const CLUSTER_SKIP = `a real Temporal cluster › every node joined ${skipMark('temporal-cluster', 'go install failed: no network [exit 1]')}`;

function results(overrides: Partial<JestResults> = {}): JestResults {
  return {
    numPassedTests: 7,
    numFailedTests: 0,
    numPendingTests: 2,
    numTodoTests: 0,
    numRuntimeErrorTestSuites: 0,
    testResults: [
      { name: '/repo/dist/test/integration/temporal-cluster.test.js', assertionResults: [{ fullName: CLUSTER_SKIP, status: 'pending' }] },
      {
        name: '/repo/dist/test/unit/real-suites.test.js',
        assertionResults: [
          { fullName: 'suites/data is an unchanged copy (skipped: ../shared/datasets is absent)', status: 'pending' },
          { fullName: 'the suites load', status: 'passed' },
        ],
      },
    ],
    ...overrides,
  };
}

describe('the closing lines of npm test', () => {
  it('the mark of a skipped real-component test reads back its component and reason', () => {
    const m = SKIP_MARK.exec(CLUSTER_SKIP);
    expect(m?.slice(1)).toEqual(['temporal-cluster', 'go install failed: no network (exit 1)']);
  });

  it('lists every skipped test by name, and outside CI a missing component is said but does not fail the run', () => {
    const summary = summarize(results(), { ci: false, setupFailures: [], root: '/repo' });
    expect(summary.lines).toEqual([
      'skipped (2):',
      `  dist/test/integration/temporal-cluster.test.js › ${CLUSTER_SKIP}`,
      '  dist/test/unit/real-suites.test.js › suites/data is an unchanged copy (skipped: ../shared/datasets is absent)',
      '1 skipped test(s) need a real component that is missing (temporal-cluster); under CI=true they fail the run',
    ]);
    expect(summary.closing).toBe('7 passed, 0 failed, 2 skipped');
    expect(summary.failed).toBe(false);
  });

  it('under CI a skipped real-component test and a set-up failure each fail the run, named with why; a skip of data does not', () => {
    const setupFailures = ['temporal-cluster: temporal-server could not be built (its output above)'];
    const summary = summarize(results(), { ci: true, setupFailures, root: '/repo' });
    expect(summary.lines.filter((l) => l.startsWith('CI: FAILED'))).toEqual([
      `CI: FAILED: dist/test/integration/temporal-cluster.test.js › ${CLUSTER_SKIP} was skipped: it needs temporal-cluster, which is missing (go install failed: no network (exit 1))`,
      `CI: FAILED: the set-up did not complete: ${setupFailures[0]}`,
    ]);
    expect(summary.lines).toContain(`set-up failure: ${setupFailures[0]}`);
    expect(summary.closing).toBe('7 passed, 2 failed, 2 skipped');
    expect(summary.failed).toBe(true);
  });

  it('counts failed tests and suites that did not run, and says nothing of skips when there are none', () => {
    const summary = summarize(results({ numFailedTests: 3, numRuntimeErrorTestSuites: 1, numPendingTests: 0, testResults: [] }), { ci: true, setupFailures: [], root: '/repo' });
    expect(summary).toEqual({ lines: [], closing: '7 passed, 4 failed', failed: true });
  });

  describe('the script', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'test-summary-'));
    const script = path.join(PROJECT_ROOT, 'dist', 'scripts', 'test-summary.js');
    const run = (args: string[], ci: string) => spawnSync(process.execPath, [script, ...args], { encoding: 'utf8', env: { ...process.env, CI: ci } });

    it('without a results file from this run it ends in "0 passed, 1 failed", saying so, and exits 1', () => {
      const ran = run([path.join(dir, 'absent.json')], 'false');
      const lines = ran.stdout.trim().split('\n');
      expect(lines[lines.length - 1]).toBe('0 passed, 1 failed');
      expect(ran.stdout).toContain('jest wrote no results file');
      expect(ran.status).toBe(1);
    });

    it('reads the results and the set-up failures files, and exits 1 under CI for a real component skipped', () => {
      const file = path.join(dir, 'results.json');
      writeFileSync(file, JSON.stringify(results()));
      const failures = path.join(dir, 'setup-failures.txt');
      writeFileSync(failures, 's3: scripts/ensure-s3.sh failed (its output above)\n');
      const plain = run([file, path.join(dir, 'none.txt')], 'false');
      expect(plain.stdout.trim().split('\n').pop()).toBe('7 passed, 0 failed, 2 skipped');
      expect(plain.status).toBe(0);
      const ci = run([file, failures], 'true');
      expect(ci.stdout).toContain('CI: FAILED: the set-up did not complete: s3: scripts/ensure-s3.sh failed (its output above)');
      expect(ci.stdout.trim().split('\n').pop()).toBe('7 passed, 2 failed, 2 skipped');
      expect(ci.status).toBe(1);
    });
  });
});
