/**
 * The commands that read the results store open and close it through cli/command-kit.ts withResultsStore: the store
 * is closed however the body ends (in process), and the compiled CLI's hosts, leaderboard (both boards), reproduce
 * status, evaluate (an unknown id: exit 2 naming the store) and report answer from a seeded SQLite file without
 * Temporal, and leave the file writable behind them.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../../infra/paths.js';
import { ResultsDb } from '../../infra/results-db.js';
import type { ResultsStore } from '../../infra/results-store.js';
import { withResultsStore } from '../../cli/command-kit.js';

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'cli-store-'));
const databasePath = path.join(dataDir, 'results.sqlite');
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const cli = (args: string[]) =>
  execa('node', [path.join(PROJECT_ROOT, 'dist', 'cli', 'challenge.js'), ...args], {
    reject: false,
    env: { CHALLENGE_DATA_DIR: dataDir, CHALLENGE_COMPETITION: '', DATABASE_URL: '' },
  });

describe('withResultsStore', () => {
  it('hands the body the configured store and closes it after the body returns or throws', async () => {
    let seen: ResultsStore | null = null;
    const count = await withResultsStore({ databasePath, databaseUrl: null }, async (db) => {
      seen = db;
      return (await db.hosts()).length;
    });
    expect(count).toBe(0);
    expect(seen!.location).toBe(databasePath);
    expect(() => seen!.hosts()).toThrow(/not open/);
    let thrownFrom: ResultsStore | null = null;
    await expect(
      withResultsStore({ databasePath, databaseUrl: null }, (db) => {
        thrownFrom = db;
        throw new Error('the body failed');
      }),
    ).rejects.toThrow('the body failed');
    expect(() => thrownFrom!.hosts()).toThrow(/not open/);
  });
});

describe('the CLI commands on the results store', () => {
  it('hosts lists the recorded host', async () => {
    const seeded = new ResultsDb(databasePath);
    seeded.recordHostSeen({ hostId: 'gpu-7', track: 'cpu', slots: 2, at: new Date().toISOString() });
    seeded.close();
    const listed = await cli(['hosts', '--json']);
    expect(listed.exitCode).toBe(0);
    expect((JSON.parse(listed.stdout) as { hostId: string; slots: number; alive: boolean }[]).map((h) => [h.hostId, h.slots, h.alive])).toEqual([['gpu-7', 2, true]]);
    const table = await cli(['hosts']);
    expect(table.stdout).toMatch(/gpu-7\s+cpu\s+2\s+\S+\s+alive/);
  }, 60_000);

  it('leaderboard (development and final), reproduce status and report answer from the store', async () => {
    const board = await cli(['leaderboard', '--track', 'cpu', '--json']);
    expect(board.exitCode).toBe(0);
    expect(JSON.parse(board.stdout)).toMatchObject({ track: 'cpu', rows: [] });
    const final = await cli(['leaderboard', '--track', 'cpu', '--phase', 'final', '--json']);
    expect(final.exitCode).toBe(0);
    expect(JSON.parse(final.stdout)).toMatchObject({ track: 'cpu' });
    const reproductions = await cli(['reproduce', 'status', '--json']);
    expect([reproductions.exitCode, JSON.parse(reproductions.stdout)]).toEqual([0, []]);
    const report = await cli(['report', '--track', 'cpu', '--json']);
    expect(report.exitCode).toBe(0);
    expect(JSON.parse(report.stdout)).toMatchObject({ track: 'cpu', generalization: { n: 0 } });
  }, 120_000);

  it('evaluate of an unknown submission exits 2 naming the store, and the store stays writable', async () => {
    const result = await cli(['evaluate', 'nobody.nothing', '--suite', `closed=${path.join(PROJECT_ROOT, 'suites', 'closed.json')}`]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(`no submission "nobody.nothing" in ${databasePath}; list them with: challenge status`);
    const after = new ResultsDb(databasePath);
    try {
      after.recordHostSeen({ hostId: 'gpu-8', track: 'cpu', slots: 1, at: new Date().toISOString() });
      expect(after.hosts().map((h) => h.hostId).sort()).toEqual(['gpu-7', 'gpu-8']);
    } finally {
      after.close();
    }
  }, 60_000);
});
