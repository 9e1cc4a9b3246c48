import { describe, expect, it } from '@jest/globals';
import path from 'node:path';
import { buildLeaderboard, leaderboardCsv, leaderboardTable, rulesForSuites, type LeaderboardSubmission } from '../../domain/standings-table.js';
import { loadSuite } from '../../domain/harness/suite.js';
import { runArgs, containerName } from '../../infra/docker.js';
import { PROJECT_ROOT } from '../../infra/paths.js';

const suites = { open: loadSuite(path.join(PROJECT_ROOT, 'suites/open.json')), closed: loadSuite(path.join(PROJECT_ROOT, 'suites/closed.json')) };

describe('leaderboard of the shipped suites', () => {
  const rules = rulesForSuites(suites);
  const submission = (id: string, failureCategory: 'BuildFailed' | null = null): LeaderboardSubmission => ({
    submissionId: id,
    team: id,
    track: 'cpu',
    outcome: failureCategory ? 'failed' : 'completed',
    failureCategory,
    failureReason: null,
  });
  const all = (id: string, value: number) =>
    ['opposites', 'capitals', 'animal-sounds', 'colors'].map((scenario) => ({
      submissionId: id,
      suite: (scenario === 'opposites' || scenario === 'capitals' ? 'open' : 'closed') as 'open' | 'closed',
      column: `${scenario} - EM`,
      score: value,
    }));

  it('ranks by the challenge rules: divisor N, missing as worst, 1/3 open + 2/3 closed', () => {
    const board = buildLeaderboard(
      'cpu',
      rules,
      [submission('a'), submission('b'), submission('c', 'BuildFailed'), { ...submission('z'), track: 'a100-40gb' }],
      [...all('a', 0.9), ...all('b', 0.5)],
    );
    expect(board.rows.map((r) => r.submissionId)).toEqual(['a', 'b', 'c']);
    // N = 3: a beats two in every column → 2/3; b beats one → 1/3; c (missing = 0) beats none → 0 → eps.
    expect(board.rows[0]!.open).toBeCloseTo(2 / 3, 15);
    expect(board.rows[1]!.final).toBeCloseTo(1 / 3, 15);
    expect(board.rows[2]!.final).toBe(Number.MIN_VALUE);
    expect(board.rows[2]!.metrics['opposites - EM']).toBeNull();
    expect(board.rulesVersion).toMatch(/neurips2023-final/);
    expect(leaderboardTable(board)).toMatch(/BuildFailed/);
    expect(leaderboardCsv(board).split('\n')).toEqual([expect.stringMatching(/^rank,submission,team,outcome,failure_category,/), expect.any(String), expect.any(String), expect.any(String), '']);
  });

  it('does not rank (and so charge) a submission that only our infrastructure stopped', () => {
    const infra = { ...submission('d'), outcome: 'failed', failureCategory: 'Infrastructure' as const, failureReason: 'docker engine gone' };
    const board = buildLeaderboard('cpu', rules, [submission('a'), submission('b'), infra], [...all('a', 0.9), ...all('b', 0.5)]);
    expect(board.rows.map((r) => r.submissionId)).toEqual(['a', 'b']);
    expect(board.rows[0]!.open).toBeCloseTo(0.5, 15); // N = 2, not 3
    expect(board.unranked).toEqual([{ submissionId: 'd', team: 'd', failureCategory: 'Infrastructure', reason: 'docker engine gone' }]);
    expect(leaderboardTable(board)).toMatch(/not ranked .* d — Infrastructure: docker engine gone/);
  });

  it("states the suites' stop-sequence rule: 2023's not-cut, or cut", () => {
    const notCut = buildLeaderboard('cpu', rules, [submission('a')], all('a', 0.5), 'not-cut');
    expect(notCut.stopSequences).toBe('not-cut');
    expect(leaderboardTable(notCut).split('\n')[0]).toBe('Leaderboard — track cpu (rules: ' + notCut.rulesVersion + '; Stop sequences: not cut (2023 rule))');
    const cut = buildLeaderboard('cpu', rules, [submission('a')], all('a', 0.5), 'cut');
    expect(leaderboardTable(cut).split('\n')[0]).toContain('Stop sequences: cut at the stop sequences');
  });

  it('gives tied submissions equal scores', () => {
    const board = buildLeaderboard('cpu', rules, [submission('a'), submission('b')], [...all('a', 0.5), ...all('b', 0.5)]);
    expect(board.rows[0]!.final).toBe(board.rows[1]!.final);
    expect(board.rows[0]!.open).toBeCloseTo(0.25, 15); // a tie of c = 2 is worth 1/c over N = 2
  });
});

describe('container sandbox arguments', () => {
  const base = {
    name: 'ch-x',
    image: 'img',
    labels: { workflow: 'w', stage: 'fine-tune', attempt: '1' },
    memory: '1g',
    cpus: 1,
    pids: 256,
    network: 'none',
    mounts: [{ host: '/a', container: '/artifacts', readOnly: true }],
    gpu: null,
    readOnlyRoot: true,
  };

  it('drops every capability, forbids new privileges, limits pids, memory and CPU, and mounts artifacts read-only', () => {
    const args = runArgs(base);
    for (const expected of [
      ['--cap-drop', 'ALL'],
      ['--security-opt', 'no-new-privileges'],
      ['--pids-limit', '256'],
      ['--memory', '1g'],
      ['--memory-swap', '1g'],
      ['--cpus', '1'],
      ['--network', 'none'],
      ['-v', '/a:/artifacts:ro'],
    ]) {
      expect(args.some((a, i) => a === expected[0] && args[i + 1] === expected[1])).toBe(true);
    }
    expect(args).toContain('--read-only');
    expect(args).not.toContain('--gpus');
    expect(args.slice(-1)).toEqual(['img']);
  });

  it('passes the GPU index held by the activity on a GPU track', () => {
    const args = runArgs({ ...base, gpu: 3 });
    expect(args.some((a, i) => a === '--gpus' && args[i + 1] === 'device=3')).toBe(true);
  });

  it('maps workflow ids onto valid container names', () => {
    expect(containerName('ch', 'submission-team.sub/x', 'open-eval', 'a2')).toBe('ch-submission-team.sub_x-open-eval-a2');
  });
});
