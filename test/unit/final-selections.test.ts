/**
 * finalSelections (activities/competition.ts) on a real SQLite results database: per team and track, the submission
 * the team chose (POST /api/team/final, TeamStore.chooseFinal) when it completed, else the latest completed one.
 * The whole clock runs it in test/integration/competition-clock-time-skipping.test.ts; this one weighs the choice.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createCompetitionActivities } from '../../activities/competition.js';
import { newToken } from '../../domain/teams/tokens.js';
import { ResultsDb } from '../../infra/results-db.js';
import { competitionWith } from '../support/team-door.js';

const HOUR = 3_600_000;
const T0 = Date.parse('2027-03-01T12:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();
const competition = competitionWith();
const CLOSED_AT = '2027-12-01T00:00:00.000Z';

const dirs: string[] = [];
const opened: ResultsDb[] = [];
afterEach(() => {
  for (const db of opened.splice(0)) db.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function store(): ResultsDb {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'final-selections-'));
  dirs.push(dir);
  const db = new ResultsDb(path.join(dir, 'results.sqlite'));
  opened.push(db);
  return db;
}

/** An upload of the team (its intake, in development) whose development run ended `outcome`. */
async function run(db: ResultsDb, submissionId: string, at: number, outcome: 'completed' | 'failed'): Promise<void> {
  const [team, name] = submissionId.split('.') as [string, string];
  const reserved = db.reserveIntake({
    intakeId: `intake-${submissionId}`,
    team,
    track: 'cpu',
    phase: 'development',
    submissionId,
    archiveKey: `sources/${submissionId}.tar.gz`,
    archiveSha256: 'ef'.repeat(32),
    at: iso(at),
    rule: { perWindow: 10, window: 24 * HOUR },
  });
  expect(reserved.kind).toBe('accepted');
  db.registerRun({ submissionId, team, name, track: 'cpu', directory: `/sources/${submissionId}`, workflowId: `submission-${submissionId}`, runId: 'r', submittedAt: iso(at) });
  db.recordPipeline({ submissionId, outcome, failureCategory: outcome === 'failed' ? 'ServerCrashed' : null, reason: null, updatedAt: iso(at + 1) });
}

async function selected(db: ResultsDb): Promise<string[]> {
  const selections = await createCompetitionActivities(db).finalSelections({ competition, finalPhase: 'finals', closedAt: CLOSED_AT });
  return selections.map((s) => s.submissionId);
}

describe('finalSelections', () => {
  it("takes the team's chosen older submission over its later one, and the latest completed when none was chosen", async () => {
    const db = store();
    for (const team of ['acme', 'zeta']) db.createTeam({ name: team, tracks: ['cpu'], webhook: null, at: iso(T0) }, (await newToken()).stored);
    await run(db, 'acme.old', T0, 'completed');
    await run(db, 'acme.new', T0 + HOUR, 'completed');
    await run(db, 'zeta.one', T0, 'completed');
    await run(db, 'zeta.two', T0 + HOUR, 'completed');
    expect(await selected(db)).toEqual(['acme.new', 'zeta.two']);

    db.chooseFinal({ team: 'acme', track: 'cpu', phase: 'development', submissionId: 'acme.old', at: iso(T0 + 2 * HOUR) });
    expect(await selected(db)).toEqual(['acme.old', 'zeta.two']);
    const [acme] = await createCompetitionActivities(db).finalSelections({ competition, finalPhase: 'finals', closedAt: CLOSED_AT });
    expect(acme).toMatchObject({ team: 'acme', submission: 'old', track: 'cpu', directory: '/sources/acme.old', source: { archiveKey: 'sources/acme.old.tar.gz' } });
  });

  it('falls back to the latest completed when the chosen one did not complete', async () => {
    const db = store();
    db.createTeam({ name: 'acme', tracks: ['cpu'], webhook: null, at: iso(T0) }, (await newToken()).stored);
    await run(db, 'acme.good', T0, 'completed');
    await run(db, 'acme.broken', T0 + HOUR, 'failed');
    await run(db, 'acme.latest', T0 + 2 * HOUR, 'completed');
    db.chooseFinal({ team: 'acme', track: 'cpu', phase: 'development', submissionId: 'acme.broken', at: iso(T0 + 3 * HOUR) });
    expect(await selected(db)).toEqual(['acme.latest']);
    db.chooseFinal({ team: 'acme', track: 'cpu', phase: 'development', submissionId: 'acme.good', at: iso(T0 + 4 * HOUR) });
    expect(await selected(db)).toEqual(['acme.good']);
  });
});
