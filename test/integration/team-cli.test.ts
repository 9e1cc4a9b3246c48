/**
 * `challenge team` as an operator runs it: the compiled CLI on a fresh SQLite results file (CHALLENGE_DATA_DIR in
 * a temporary folder), adding a team (its token shown once), listing it, refusing a second add and a grant
 * without a reason, and a grant that the store then counts.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tokenIdOf } from '../../domain/teams/tokens.js';
import { PROJECT_ROOT } from '../../infra/paths.js';
import { ResultsDb } from '../../infra/results-db.js';

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'team-cli-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const cli = (args: string[]) =>
  execa('node', [path.join(PROJECT_ROOT, 'dist', 'cli', 'challenge.js'), 'team', ...args], {
    reject: false,
    env: { CHALLENGE_DATA_DIR: dataDir, CHALLENGE_COMPETITION: '', DATABASE_URL: '', USER: 'operator-jo' },
  });

describe('challenge team', () => {
  let token = '';

  it('adds a team and prints its token once, saying so', async () => {
    const result = await cli(['add', 'red-team', '--tracks', 'cpu']);
    expect(result.exitCode).toBe(0);
    const match = /^token of red-team: (\S+)$/m.exec(result.stdout);
    expect(match?.[1]).toMatch(/^cht_[0-9a-f]{12}_/);
    token = match![1]!;
    expect(result.stdout).toMatch(/shown only now/);
    const db = new ResultsDb(path.join(dataDir, 'results.sqlite'));
    try {
      expect(db.tokenById(tokenIdOf(token)!)?.team).toBe('red-team');
      expect(db.team('red-team')?.tracks).toEqual(['cpu']);
    } finally {
      db.close();
    }
  });

  it('lists the team with its tracks, state and submissions left, and every track of demo.json by default', async () => {
    expect((await cli(['add', 'blue'])).exitCode).toBe(0);
    const list = await cli(['list']);
    expect(list.exitCode).toBe(0);
    expect(list.stdout).toMatch(/^red-team\s+cpu\s+enabled\s+\S+\s+cpu 0 used\/3 left$/m);
    expect(list.stdout).toMatch(/^blue\s+a100-40gb,4090-24gb,cpu\s+enabled/m);
    expect(list.stdout).not.toContain(token);
    const json = JSON.parse((await cli(['list', '--json'])).stdout) as { name: string; disabled: boolean; quota: Record<string, { left: number }> }[];
    expect(json.map((t) => t.name)).toEqual(['blue', 'red-team']);
    expect(json[1]!.quota.cpu!.left).toBe(3);
  });

  it('refuses a second add of the name, pointing at rotate-token (exit 2)', async () => {
    const again = await cli(['add', 'red-team']);
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toMatch(/already exists.*challenge team rotate-token red-team/);
    expect(again.stdout).not.toMatch(/cht_/);
  });

  it('refuses bad names and tracks (exit 2)', async () => {
    expect((await cli(['add', 'Red_Team'])).exitCode).toBe(2);
    const track = await cli(['add', 'green', '--tracks', 'gpu']);
    expect(track.exitCode).toBe(2);
    expect(track.stderr).toMatch(/--tracks: "gpu".*a100-40gb, 4090-24gb, cpu/);
  });

  it('refuses a grant without --reason (exit 2), and records one with who and why', async () => {
    const without = await cli(['quota', 'red-team', '+2']);
    expect(without.exitCode).toBe(2);
    expect(without.stderr).toMatch(/--reason/);
    const granted = await cli(['quota', 'red-team', '+2', '--reason', 'our GPU host died twice']);
    expect(granted.exitCode).toBe(0);
    const db = new ResultsDb(path.join(dataDir, 'results.sqlite'));
    try {
      expect(db.grants('red-team').map((g) => [g.phase, g.amount, g.grantedBy, g.reason])).toEqual([['development', 2, 'operator-jo', 'our GPU host died twice']]);
    } finally {
      db.close();
    }
    expect((await cli(['list'])).stdout).toMatch(/^red-team\s+.*cpu 0 used\/5 left$/m);
  });

  it('disables, enables and rotates a token: the old one is gone', async () => {
    expect((await cli(['disable', 'red-team'])).exitCode).toBe(0);
    expect((await cli(['list'])).stdout).toMatch(/^red-team\s+cpu\s+disabled/m);
    expect((await cli(['enable', 'red-team'])).exitCode).toBe(0);
    const rotated = await cli(['rotate-token', 'red-team']);
    expect(rotated.exitCode).toBe(0);
    const next = /^token of red-team: (\S+)$/m.exec(rotated.stdout)?.[1];
    expect(next).toMatch(/^cht_/);
    expect(next).not.toBe(token);
    const db = new ResultsDb(path.join(dataDir, 'results.sqlite'));
    try {
      expect(db.tokenById(tokenIdOf(token)!)).toBeUndefined();
      expect(db.tokenById(tokenIdOf(next!)!)?.team).toBe('red-team');
    } finally {
      db.close();
    }
    expect((await cli(['rotate-token', 'nobody'])).exitCode).toBe(2);
  });
});
