/**
 * The TeamStore contract (infra/team-store.ts), run against both results stores: SQLite (a temporary file)
 * and PostgreSQL (a fresh database on the local server). Teams and tokens, sessions, grants, quotas,
 * settling and refunds through recordPipeline, conflicts, the reservation race (many connections at once)
 * and the migration of a store written before the teams' tables existed.
 */
import { FAILURE_CATEGORIES } from '../../domain/failures.js';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import Database from 'better-sqlite3';
import { execa } from 'execa';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import type { FailureCategory } from '../../domain/failures.js';
import type { QuotaRule } from '../../domain/teams/quota.js';
import { newToken, type StoredToken } from '../../domain/teams/tokens.js';
import { PROJECT_ROOT } from '../../infra/paths.js';
import { ResultsDb } from '../../infra/results-db.js';
import { PostgresResultsDb } from '../../infra/results-db-postgres.js';
import type { ResultsStore, SubmissionRecord } from '../../infra/results-store.js';
import { TeamExistsError, type ReserveRequest, type ReserveResult } from '../../infra/team-store.js';
import { startPostgres, type TestPostgres } from '../support/postgres.js';

const SETUP_MS = 300_000; // the first run may install PostgreSQL with apt-get
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const T0 = Date.parse('2026-03-01T00:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();
const RULE: QuotaRule = { perWindow: 3, window: DAY };
const TEAM_TABLES = ['teams', 'team_sessions', 'quota_grants', 'intakes', 'final_choices'];

let postgres: TestPostgres | undefined;
const postgresServer = async (): Promise<TestPostgres> => (postgres ??= await startPostgres());

const tempDirs: string[] = [];
const tempDir = (prefix: string) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

/** Runs the reservations at once, each on a connection of its own; gives their result kinds and how many connections served them. */
type Race = (db: ResultsStore, requests: ReserveRequest[]) => Promise<{ kinds: string[]; connections: number }>;

/**
 * SQLite: one child process per reservation, each with its own connection to the file. Once all have opened it, the
 * test takes the file's write lock, lets them go and holds it a moment, so every child is inside its reservation
 * (waiting for the lock, or past its reads if it took none first) when the lock frees.
 */
const sqliteRace: Race = async (db, requests) => {
  const file = (db as ResultsDb).file;
  const barrier = tempDir('team-race-');
  const script = `
    import { existsSync, writeFileSync } from 'node:fs';
    const { ResultsDb } = await import(process.env.RESULTS_DB_MODULE);
    const db = new ResultsDb(process.env.RESULTS_FILE);
    writeFileSync(process.env.BARRIER + '/ready-' + process.env.INDEX, '');
    while (!existsSync(process.env.BARRIER + '/go')) await new Promise((resolve) => setTimeout(resolve, 2));
    const result = db.reserveIntake(JSON.parse(process.env.REQUEST));
    db.close();
    process.stdout.write(result.kind);`;
  const module = pathToFileURL(path.join(PROJECT_ROOT, 'dist', 'infra', 'results-db.js')).href;
  const children = requests.map((request, index) =>
    execa('node', ['--input-type=module', '-e', script], {
      reject: false,
      env: { RESULTS_DB_MODULE: module, RESULTS_FILE: file, BARRIER: barrier, INDEX: String(index), REQUEST: JSON.stringify(request) },
    }),
  );
  const deadline = Date.now() + 30_000;
  while (readdirSync(barrier).filter((name) => name.startsWith('ready-')).length < requests.length && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  const gate = new Database(file);
  gate.exec('BEGIN IMMEDIATE');
  writeFileSync(path.join(barrier, 'go'), '');
  await new Promise((resolve) => setTimeout(resolve, 1500));
  gate.exec('ROLLBACK');
  gate.close();
  const results = await Promise.all(children);
  for (const child of results) if (child.exitCode !== 0) throw new Error(`a reserving child failed (exit ${child.exitCode}):\n${child.stderr}`);
  return { kinds: results.map((child) => child.stdout), connections: results.length };
};

/**
 * PostgreSQL: concurrent promises on the store's one pool, its connections opened beforehand (10 queries at once), so
 * the reservations overlap instead of waiting for connections one by one; the connections are counted on the server.
 */
const postgresRace =
  (url: string): Race =>
  async (db, requests) => {
    await Promise.all(Array.from({ length: 10 }, () => db.quotaStatus('racers', 'cpu', 'development', RULE, iso(T0))));
    const results: ReserveResult[] = await Promise.all(requests.map((request) => db.reserveIntake(request)));
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      const { rows } = await admin.query('SELECT COUNT(*)::integer AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()');
      return { kinds: results.map((r) => r.kind), connections: (rows[0] as { n: number }).n };
    } finally {
      await admin.end();
    }
  };

const STORES: [string, () => Promise<{ db: ResultsStore; race: Race }>][] = [
  ['sqlite', async () => ({ db: new ResultsDb(path.join(tempDir('team-store-'), 'results.sqlite')), race: sqliteRace })],
  [
    'postgres',
    async () => {
      const url = await (await postgresServer()).freshDatabase('team_store_contract');
      return { db: await PostgresResultsDb.connect(url), race: postgresRace(url) };
    },
  ],
];

let intakeCount = 0;
const request = (team: string, submissionId: string, at: number, overrides: Partial<ReserveRequest> = {}): ReserveRequest => ({
  intakeId: `intake-${++intakeCount}`,
  team,
  track: 'cpu',
  phase: 'development',
  submissionId,
  archiveKey: `intake/${team}/${intakeCount}.tar.gz`,
  archiveSha256: 'ab'.repeat(32),
  at: iso(at),
  rule: RULE,
  ...overrides,
});

const submission = (submissionId: string, team: string): SubmissionRecord => ({
  submissionId,
  team,
  name: submissionId.split('.')[1] ?? submissionId,
  track: 'cpu',
  directory: `/submissions/${submissionId}`,
  workflowId: `pipeline-${submissionId}`,
  runId: 'run-1',
  submittedAt: iso(T0),
});

const accepted = (result: ReserveResult) => {
  if (result.kind !== 'accepted') throw new Error(`expected the reservation to be accepted, it was ${result.kind}: ${JSON.stringify(result)}`);
  return result;
};

describe.each(STORES)('TeamStore on %s', (_kind, open) => {
  let db: ResultsStore;
  let race: Race;
  beforeAll(async () => {
    ({ db, race } = await open());
  }, SETUP_MS);
  afterAll(async () => {
    await db?.close();
  });

  const addTeam = async (name: string, tracks = ['cpu', 'a100-40gb']): Promise<StoredToken> => {
    const { stored } = await newToken();
    await db.createTeam({ name, tracks, webhook: null, at: iso(T0) }, stored);
    return stored;
  };

  it('creates, lists, disables, enables and rotates the token of a team', async () => {
    const token = await addTeam('alpha');
    await db.createTeam({ name: 'beta', tracks: ['cpu'], webhook: 'https://example.org/hook', at: iso(T0 + 1) }, (await newToken()).stored);
    expect(await db.team('alpha')).toEqual({ name: 'alpha', tracks: ['cpu', 'a100-40gb'], disabled: false, createdAt: iso(T0), webhook: null });
    expect((await db.teams()).filter((t) => ['alpha', 'beta'].includes(t.name)).map((t) => [t.name, t.webhook])).toEqual([
      ['alpha', null],
      ['beta', 'https://example.org/hook'],
    ]);
    expect(await db.team('nobody')).toBeUndefined();

    const { stored: other } = await newToken();
    const again = Promise.resolve().then(() => db.createTeam({ name: 'alpha', tracks: ['cpu'], webhook: null, at: iso(T0) }, other));
    await expect(again).rejects.toThrow(TeamExistsError);
    await expect(again).rejects.toThrow(/rotate-token alpha/);
    expect(await db.tokenById(other.tokenId)).toBeUndefined();

    await db.setTeamDisabled('alpha', true);
    expect((await db.team('alpha'))?.disabled).toBe(true);
    await db.setTeamDisabled('alpha', false);
    expect((await db.team('alpha'))?.disabled).toBe(false);

    expect(await db.tokenById(token.tokenId)).toEqual({ team: 'alpha', token });
    const { stored: next } = await newToken();
    await db.replaceToken('alpha', next);
    expect(await db.tokenById(token.tokenId)).toBeUndefined();
    expect(await db.tokenById(next.tokenId)).toEqual({ team: 'alpha', token: next });

    await expect(Promise.resolve().then(() => db.replaceToken('nobody', next))).rejects.toThrow(/no team "nobody".*challenge team list/);
    await expect(Promise.resolve().then(() => db.setTeamDisabled('nobody', true))).rejects.toThrow(/no team "nobody"/);
  });

  it('keeps a session until it expires or ends, and drops it when the token is replaced or the team disabled', async () => {
    const token = await addTeam('sessions');
    const session = (idHash: string, tokenId = token.tokenId) => ({ idHash, team: 'sessions', tokenId, createdAt: iso(T0), expiresAt: iso(T0 + HOUR) });
    await db.createSession(session('s1'));
    await db.createSession(session('s2'));
    expect(await db.sessionTeam('s1', iso(T0 + HOUR - 1))).toBe('sessions');
    expect(await db.sessionTeam('s1', iso(T0 + HOUR))).toBeUndefined();
    expect(await db.sessionTeam('unknown', iso(T0))).toBeUndefined();

    await db.endSession('s1');
    expect(await db.sessionTeam('s1', iso(T0))).toBeUndefined();
    expect(await db.sessionTeam('s2', iso(T0))).toBe('sessions');

    await db.setTeamDisabled('sessions', true);
    expect(await db.sessionTeam('s2', iso(T0))).toBeUndefined();
    await db.setTeamDisabled('sessions', false);
    expect(await db.sessionTeam('s2', iso(T0))).toBe('sessions');

    const { stored: next } = await newToken();
    await db.replaceToken('sessions', next);
    expect(await db.sessionTeam('s2', iso(T0))).toBeUndefined();
    await db.createSession(session('s3', next.tokenId));
    expect(await db.sessionTeam('s3', iso(T0))).toBe('sessions');
  });

  it('records grants with who gave them and why, per phase', async () => {
    await addTeam('granted');
    await db.grantQuota({ team: 'granted', phase: 'development', amount: 2, grantedBy: 'ops-a', reason: 'node died twice', at: iso(T0 + 2) });
    await db.grantQuota({ team: 'granted', phase: 'final', amount: 1, grantedBy: 'ops-b', reason: 'late registration', at: iso(T0 + 1) });
    expect(await db.grants('granted')).toEqual([
      { team: 'granted', phase: 'final', amount: 1, grantedBy: 'ops-b', reason: 'late registration', at: iso(T0 + 1) },
      { team: 'granted', phase: 'development', amount: 2, grantedBy: 'ops-a', reason: 'node died twice', at: iso(T0 + 2) },
    ]);
    expect((await db.grants('granted', 'development')).map((g) => g.amount)).toEqual([2]);
    expect(await db.grants('nobody')).toEqual([]);
  });

  it('accepts 3 per track in 24 h, then refuses until the oldest leaves the window', async () => {
    await addTeam('window');
    const times = [T0 + HOUR, T0, T0 + 2 * HOUR];
    for (const [i, at] of times.entries()) {
      const result = accepted(await db.reserveIntake(request('window', `window.s${i}`, at)));
      expect(result.intake).toMatchObject({ team: 'window', usesGrant: false, refunded: false, outcome: null, settledAt: null, acceptedAt: iso(at) });
      expect(result.decision.left).toBe(3 - i);
    }
    const now = T0 + 3 * HOUR;
    const refused = await db.reserveIntake(request('window', 'window.s3', now));
    expect(refused.kind).toBe('refused');
    expect(refused.kind === 'refused' && refused.decision).toMatchObject({ allowed: false, nextSlotAt: iso(T0 + DAY), retryAfterMs: T0 + DAY - now, usedInWindow: 3 });
    expect(await db.quotaStatus('window', 'cpu', 'development', RULE, iso(now))).toMatchObject({ allowed: false, left: 0 });
    // Another track and another phase have their own quota.
    expect(await db.quotaStatus('window', 'a100-40gb', 'development', RULE, iso(now))).toMatchObject({ allowed: true, left: 3 });
    expect(await db.quotaStatus('window', 'cpu', 'final', RULE, iso(now))).toMatchObject({ allowed: true, left: 3 });

    expect(await db.quotaStatus('window', 'cpu', 'development', RULE, iso(T0 + DAY - 1))).toMatchObject({ allowed: false, retryAfterMs: 1 });
    accepted(await db.reserveIntake(request('window', 'window.s3', T0 + DAY)));
    expect((await db.intakes('window')).map((i) => i.submissionId)).toEqual(['window.s1', 'window.s0', 'window.s2', 'window.s3']);
  });

  it('refuses past the phase total with no retry time', async () => {
    await addTeam('phase-total');
    const rule: QuotaRule = { perWindow: 3, window: HOUR, perPhase: 2 };
    accepted(await db.reserveIntake(request('phase-total', 'phase-total.a', T0, { rule })));
    accepted(await db.reserveIntake(request('phase-total', 'phase-total.b', T0 + 2 * HOUR, { rule })));
    const refused = await db.reserveIntake(request('phase-total', 'phase-total.c', T0 + 10 * DAY, { rule }));
    expect(refused.kind === 'refused' && refused.decision).toMatchObject({ allowed: false, usedInPhase: 2, perPhase: 2, retryAfterMs: null });
  });

  it('lets one more through on a grant, and no more', async () => {
    await addTeam('grant-use');
    for (const i of [0, 1, 2]) accepted(await db.reserveIntake(request('grant-use', `grant-use.s${i}`, T0 + i)));
    expect((await db.reserveIntake(request('grant-use', 'grant-use.s3', T0 + 10))).kind).toBe('refused');
    await db.grantQuota({ team: 'grant-use', phase: 'development', amount: 1, grantedBy: 'ops', reason: 'our disk filled', at: iso(T0 + 11) });
    const onGrant = accepted(await db.reserveIntake(request('grant-use', 'grant-use.s3', T0 + 12)));
    expect(onGrant.intake.usesGrant).toBe(true);
    expect((await db.intake(onGrant.intake.intakeId))?.usesGrant).toBe(true);
    // The grant is the phase's: used on one track, it is gone on the others too.
    expect(await db.quotaStatus('grant-use', 'a100-40gb', 'development', RULE, iso(T0 + 13))).toMatchObject({ grantsLeft: 0, left: 3 });
    expect((await db.reserveIntake(request('grant-use', 'grant-use.s4', T0 + 13))).kind).toBe('refused');
  });

  it.each<[FailureCategory, 'failed' | 'cancelled']>([
    ['Infrastructure', 'failed'],
    ['BuildInfrastructure', 'failed'],
    ['Cancelled', 'cancelled'],
  ])('refunds a submission whose pipeline ends in %s, when recordPipeline records it', async (category, outcome) => {
    const team = `refund-${category.toLowerCase()}`;
    await addTeam(team);
    const id = `${team}.s1`;
    const { intake } = accepted(await db.reserveIntake(request(team, id, T0)));
    await db.registerRun(submission(id, team)); // records "running": nothing settles
    expect((await db.intake(intake.intakeId))?.settledAt).toBeNull();
    const reason = `the engine went away ${'x'.repeat(300)}`;
    await db.recordPipeline({ submissionId: id, outcome, failureCategory: category, reason, updatedAt: iso(T0 + HOUR) });
    const settled = await db.intake(intake.intakeId);
    expect(settled).toMatchObject({ outcome, failureCategory: category, refunded: true, settledAt: iso(T0 + HOUR) });
    // The category's meaning, never the pipeline's own text (which may quote what a closed-suite stage saw).
    expect(settled?.refundReason).toBe(`refunded: ${category} — ${FAILURE_CATEGORIES[category].meaning}`);
    expect(settled?.refundReason).not.toContain('engine went away');
    expect((await db.pipeline(id))?.outcome).toBe(outcome);
    expect(await db.quotaStatus(team, 'cpu', 'development', RULE, iso(T0 + HOUR))).toMatchObject({ left: 3, usedInWindow: 0 });
  });

  it.each<['completed' | 'failed', FailureCategory | null]>([
    ['failed', 'BuildFailed'],
    ['completed', null],
  ])('keeps counting a submission that ended %s (%s)', async (outcome, category) => {
    const team = `charged-${outcome}`;
    await addTeam(team);
    const id = `${team}.s1`;
    const { intake } = accepted(await db.reserveIntake(request(team, id, T0)));
    await db.recordPipeline({ submissionId: id, outcome, failureCategory: category, reason: outcome === 'failed' ? 'step 3 failed' : null, updatedAt: iso(T0 + 1) });
    expect(await db.intake(intake.intakeId)).toMatchObject({ outcome, failureCategory: category, refunded: false, refundReason: null, settledAt: iso(T0 + 1) });
    expect(await db.quotaStatus(team, 'cpu', 'development', RULE, iso(T0 + 2))).toMatchObject({ left: 2, usedInWindow: 1 });
  });

  it('releases an intake whose pipeline never started', async () => {
    await addTeam('release');
    const { intake } = accepted(await db.reserveIntake(request('release', 'release.s1', T0)));
    await db.releaseIntake(intake.intakeId, 'the pipeline could not be started: Temporal unreachable', iso(T0 + 5));
    expect(await db.intake(intake.intakeId)).toMatchObject({
      refunded: true,
      refundReason: 'the pipeline could not be started: Temporal unreachable',
      settledAt: iso(T0 + 5),
      outcome: null,
    });
    expect(await db.quotaStatus('release', 'cpu', 'development', RULE, iso(T0 + 6))).toMatchObject({ left: 3 });
    // Released, it no longer blocks the submission id.
    accepted(await db.reserveIntake(request('release', 'release.s1', T0 + 7)));
    await expect(Promise.resolve().then(() => db.releaseIntake('no-such-intake', 'x', iso(T0)))).rejects.toThrow(/no intake "no-such-intake"/);
  });

  it('answers a conflict for a submission id that runs or completed, and accepts one that failed', async () => {
    await addTeam('conflict');
    const running = accepted(await db.reserveIntake(request('conflict', 'conflict.run', T0)));
    const again = await db.reserveIntake(request('conflict', 'conflict.run', T0 + 1));
    expect(again.kind === 'conflict' && again.existing.intakeId).toBe(running.intake.intakeId);

    await db.recordPipeline({ submissionId: 'conflict.run', outcome: 'completed', failureCategory: null, reason: null, updatedAt: iso(T0 + 2) });
    const completed = await db.reserveIntake(request('conflict', 'conflict.run', T0 + 3));
    expect(completed.kind === 'conflict' && completed.existing).toMatchObject({ intakeId: running.intake.intakeId, outcome: 'completed' });

    accepted(await db.reserveIntake(request('conflict', 'conflict.fail', T0 + 4)));
    await db.recordPipeline({ submissionId: 'conflict.fail', outcome: 'failed', failureCategory: 'BuildFailed', reason: 'bad step', updatedAt: iso(T0 + 5) });
    const retried = accepted(await db.reserveIntake(request('conflict', 'conflict.fail', T0 + 6)));
    expect(retried.decision.usedInWindow).toBe(2); // the run, the failed one; the conflicts were never counted
    expect((await db.intakes('conflict')).length).toBe(3);
  });

  it("records a team's final choice per track and phase, the latest winning, and refuses another team's, track's or phase's submission", async () => {
    await addTeam('chooser');
    await addTeam('bystander');
    accepted(await db.reserveIntake(request('chooser', 'chooser.a', T0)));
    accepted(await db.reserveIntake(request('chooser', 'chooser.b', T0 + 1)));
    accepted(await db.reserveIntake(request('chooser', 'chooser.gpu', T0 + 2, { track: 'a100-40gb' })));
    accepted(await db.reserveIntake(request('chooser', 'chooser.late', T0 + 3, { phase: 'final' })));
    accepted(await db.reserveIntake(request('bystander', 'bystander.a', T0 + 4)));
    const choose = (submissionId: string, track = 'cpu', phase = 'development', team = 'chooser', at = T0 + 10) =>
      Promise.resolve().then(() => db.chooseFinal({ team, track, phase, submissionId, at: iso(at) }));

    expect(await db.finalChoice('chooser', 'cpu', 'development')).toBeUndefined();
    expect(await choose('chooser.a')).toEqual({ team: 'chooser', track: 'cpu', phase: 'development', submissionId: 'chooser.a', at: iso(T0 + 10) });
    await choose('chooser.b', 'cpu', 'development', 'chooser', T0 + 11);
    await choose('chooser.gpu', 'a100-40gb');
    await choose('bystander.a', 'cpu', 'development', 'bystander');
    expect(await db.finalChoice('chooser', 'cpu', 'development')).toEqual({ team: 'chooser', track: 'cpu', phase: 'development', submissionId: 'chooser.b', at: iso(T0 + 11) });
    expect((await db.finalChoices('development')).map((c) => [c.team, c.track, c.submissionId])).toEqual([
      ['bystander', 'cpu', 'bystander.a'],
      ['chooser', 'a100-40gb', 'chooser.gpu'],
      ['chooser', 'cpu', 'chooser.b'],
    ]);

    await expect(choose('bystander.a')).rejects.toThrow(/team "chooser" has no submission "bystander.a"; choose one of the team's cpu uploads of phase development/);
    await expect(choose('chooser.nothing')).rejects.toThrow(/team "chooser" has no submission "chooser.nothing"/);
    await expect(choose('chooser.gpu')).rejects.toThrow(/"chooser.gpu" of team "chooser" is of track a100-40gb, not cpu/);
    await expect(choose('chooser.late')).rejects.toThrow(/"chooser.late" of team "chooser" was not uploaded in phase development/);
    // A refused choice leaves the recorded one as it was; the other phase has none.
    expect((await db.finalChoice('chooser', 'cpu', 'development'))?.submissionId).toBe('chooser.b');
    expect(await db.finalChoices('final')).toEqual([]);
  });

  it('refuses a reservation for a team that does not exist', async () => {
    await expect(Promise.resolve().then(() => db.reserveIntake(request('ghost', 'ghost.s1', T0)))).rejects.toThrow(/no team "ghost"/);
  });

  it('accepts exactly one of 20 simultaneous reservations when one submission is left', async () => {
    await addTeam('racers');
    accepted(await db.reserveIntake(request('racers', 'racers.first', T0)));
    accepted(await db.reserveIntake(request('racers', 'racers.second', T0 + 1)));
    const requests = Array.from({ length: 20 }, (_, i) => request('racers', `racers.r${i}`, T0 + 10));
    const { kinds, connections } = await race(db, requests);
    expect(connections).toBeGreaterThan(1);
    expect(kinds.filter((k) => k === 'accepted')).toHaveLength(1);
    expect(kinds.filter((k) => k === 'refused')).toHaveLength(19);
    expect((await db.intakes('racers')).filter((i) => !i.refunded)).toHaveLength(3);
  }, 120_000);
});

describe('stores written before the teams existed', () => {
  it('SQLite: a file without the team tables keeps its rows and gains them', () => {
    const file = path.join(tempDir('team-migrate-'), 'results.sqlite');
    const before = new ResultsDb(file);
    before.registerRun(submission('old.model', 'old'));
    before.close();
    const raw = new Database(file);
    for (const table of TEAM_TABLES) raw.exec(`DROP TABLE ${table}`);
    const left = (raw.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map((t) => t.name);
    expect(left.filter((name) => TEAM_TABLES.includes(name))).toEqual([]);
    raw.close();
    expect(existsSync(file)).toBe(true);

    const after = new ResultsDb(file);
    try {
      expect(after.submission('old.model')).toEqual(submission('old.model', 'old'));
      expect(after.pipeline('old.model')?.outcome).toBe('running');
      after.createTeam({ name: 'old', tracks: ['cpu'], webhook: null, at: iso(T0) }, { tokenId: 'abcdefabcdef', salt: '00', hash: '11' });
      const { kind } = after.reserveIntake(request('old', 'old.next', T0));
      expect(kind).toBe('accepted');
    } finally {
      after.close();
    }
  });

  it(
    'PostgreSQL: a database without the team tables keeps its rows and gains them',
    async () => {
      const url = await (await postgresServer()).freshDatabase('team_store_migrate');
      const before = await PostgresResultsDb.connect(url);
      await before.registerRun(submission('old.model', 'old'));
      await before.close();
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      await admin.query(`DROP TABLE ${TEAM_TABLES.join(', ')}`);
      await admin.end();

      const after = await PostgresResultsDb.connect(url);
      try {
        expect(await after.submission('old.model')).toEqual(submission('old.model', 'old'));
        await after.createTeam({ name: 'old', tracks: ['cpu'], webhook: null, at: iso(T0) }, { tokenId: 'abcdefabcdef', salt: '00', hash: '11' });
        expect((await after.reserveIntake(request('old', 'old.next', T0))).kind).toBe('accepted');
      } finally {
        await after.close();
      }
    },
    SETUP_MS,
  );
});
