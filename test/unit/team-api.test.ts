/**
 * The participants' JSON API through route() (no socket): a real SQLite results database, real team tokens,
 * real archives (infra/archive.ts packDirectory, or hand-built hostile ones), a folder artifact store and a
 * recording stand-in for the pipeline starter. What is asserted is each refusal's status, body and headers,
 * what reached the starter and the store, what was written to disk, and the quota before and after.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { packDirectory } from '../../infra/archive.js';
import { route } from '../../web/server.js';
import type { Reply } from '../../web/team-context.js';
import { GOOD_DOCKERFILE, competitionWith, doorFixture, rawTarGz, T0, writeSubmission, type DoorFixture } from '../support/team-door.js';

const fixtures: DoorFixture[] = [];
afterEach(() => {
  for (const fixture of fixtures.splice(0)) fixture.close();
});

function door(competition = competitionWith()): DoorFixture {
  const fixture = doorFixture(competition);
  fixtures.push(fixture);
  return fixture;
}

const auth = (token: string) => ({ authorization: `Bearer ${token}` });
const bodyOf = (reply: Reply): Record<string, unknown> => JSON.parse(reply.body) as Record<string, unknown>;
const HOUR = 3_600_000;

async function upload(fixture: DoorFixture, token: string | null, body: Buffer | null, extra: { bodyTooLarge?: boolean; remoteAddress?: string } = {}): Promise<Reply> {
  const headers = token === null ? {} : auth(token);
  return route(fixture.options, 'POST', '/api/team/submissions', headers, { body, remoteAddress: extra.remoteAddress ?? '10.0.0.1', bodyTooLarge: extra.bodyTooLarge ?? false });
}

async function archiveOf(fixture: DoorFixture, manifest: { team: string; submission: string; track?: string }, files: Record<string, string | null> = {}): Promise<Buffer> {
  return packDirectory(writeSubmission(fixture.root, manifest, files));
}

const left = async (fixture: DoorFixture, team: string, track = 'cpu') =>
  (await fixture.db.quotaStatus(team, track, 'development', fixture.competition.phases[0]!.quota!, new Date(fixture.clock.now).toISOString())).left;

/** Every file under a folder, relative. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => !entry.isDirectory())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)))
    .sort();
}

describe('POST /api/team/submissions', () => {
  it('accepts an archive: 202, the tree kept under sources/<sha256>, the archive in the store, the starter given the stored directory', async () => {
    const fixture = door();
    const token = await fixture.addTeam('acme');
    const archive = await archiveOf(fixture, { team: 'acme', submission: 'first' });
    const sha256 = createHash('sha256').update(archive).digest('hex');

    const reply = await upload(fixture, token, archive);
    expect(reply.status).toBe(202);
    const body = bodyOf(reply);
    expect(body).toMatchObject({
      submissionId: 'acme.first',
      phase: 'development',
      statusUrl: 'https://door.example.org/api/team/submissions/acme.first',
      pageUrl: '/team/submissions/acme.first',
      quota: { left: 2, perWindow: 3, usedInWindow: 1, nextSlotAt: new Date(T0 + 24 * HOUR).toISOString() },
      warnings: [],
    });
    expect(typeof body.intakeId).toBe('string');

    const directory = path.join(fixture.stagingDir, 'sources', sha256);
    expect(fixture.starter.calls).toEqual([
      {
        directory,
        archiveKey: `sources/${sha256}.tar.gz`,
        archiveSha256: sha256,
        team: 'acme',
        track: 'cpu',
        run: { phase: 'development', purpose: 'development', stages: ['build', 'fine-tune', 'open-eval', 'closed-eval'] },
      },
    ]);
    expect(JSON.parse(readFileSync(path.join(directory, 'submission.json'), 'utf8'))).toMatchObject({ team: 'acme', submission: 'first' });
    const stored = path.join(fixture.root, 'fetched.tar.gz');
    expect(await fixture.artifacts.getFile(`sources/${sha256}.tar.gz`, stored)).toBe(true);
    expect(createHash('sha256').update(readFileSync(stored)).digest('hex')).toBe(sha256);
    // The per-upload staging folder is gone; the accepted tree is the only thing kept.
    expect(filesUnder(path.join(fixture.stagingDir, 'staging'))).toEqual([]);
    const intakes = await fixture.db.intakes('acme');
    expect(intakes.map((i) => [i.submissionId, i.intakeId, i.refunded])).toEqual([['acme.first', body.intakeId, false]]);
  });

  it('refuses a submission without a Dockerfile with 400 and the problem, spending no quota', async () => {
    const fixture = door();
    const token = await fixture.addTeam('acme');
    const reply = await upload(fixture, token, await archiveOf(fixture, { team: 'acme', submission: 'nodocker' }, { Dockerfile: null }));
    expect(reply.status).toBe(400);
    const body = bodyOf(reply);
    expect(body.problems).toEqual([{ file: 'Dockerfile', message: 'missing', fix: 'add it at the top of the submission directory' }]);
    expect(reply.body).not.toContain(fixture.stagingDir);
    expect(await left(fixture, 'acme')).toBe(3);
    expect(fixture.starter.calls).toEqual([]);
    expect(filesUnder(fixture.stagingDir)).toEqual([]);
  });

  it('refuses a Dockerfile preflight error with 400 naming the file, line and rule', async () => {
    const fixture = door();
    const token = await fixture.addTeam('acme');
    const dockerfile = `${GOOD_DOCKERFILE}RUN pip install requests\n`;
    const reply = await upload(fixture, token, await archiveOf(fixture, { team: 'acme', submission: 'unpinned' }, { Dockerfile: dockerfile }));
    expect(reply.status).toBe(400);
    const problems = bodyOf(reply).problems as { file: string; line?: number; rule?: string; fix: string }[];
    expect(problems.length).toBeGreaterThan(0);
    expect(problems[0]).toMatchObject({ file: 'Dockerfile', line: 5 });
    expect(typeof problems[0]!.rule).toBe('string');
    expect(await left(fixture, 'acme')).toBe(3);
  });

  it('answers 401 with a Bearer challenge without a token or with a bad one, then 429 with Retry-After after too many', async () => {
    const fixture = door(competitionWith({ badTokensPerWindow: 3 }));
    const token = await fixture.addTeam('acme');
    const archive = await archiveOf(fixture, { team: 'acme', submission: 'first' });
    const none = await upload(fixture, null, archive);
    expect(none.status).toBe(401);
    expect(none.headers?.['www-authenticate']).toMatch(/^Bearer /);
    const forged = `${token.slice(0, -4)}AAAA`;
    const bad = await upload(fixture, forged, archive);
    expect(bad.status).toBe(401);
    expect(bodyOf(bad).error).toMatch(/not valid/);
    expect((await upload(fixture, 'cht_nonsense', archive)).status).toBe(401);
    expect((await upload(fixture, `${token.slice(0, -4)}BBBB`, archive)).status).toBe(401);
    // Three bad tokens from this address (a missing one is not counted): the next try, even with the right token, waits.
    const throttled = await upload(fixture, token, archive);
    expect(throttled.status).toBe(429);
    expect(Number(throttled.headers?.['retry-after'])).toBeGreaterThanOrEqual(59);
    // Another address is not slowed down.
    expect((await upload(fixture, token, archive, { remoteAddress: '10.0.0.2' })).status).toBe(202);
    expect(fixture.starter.calls).toHaveLength(1);
  });

  it('answers 403 to a disabled team, to another team\'s submission.json and to a track the team may not use', async () => {
    const fixture = door();
    const acme = await fixture.addTeam('acme', ['cpu']);
    const other = await archiveOf(fixture, { team: 'globex', submission: 'theirs' });
    const wrongTeam = await upload(fixture, acme, other);
    expect(wrongTeam.status).toBe(403);
    expect(bodyOf(wrongTeam).error).toMatch(/names team "globex", but this token is team "acme"/);

    const gpu = await upload(fixture, acme, await archiveOf(fixture, { team: 'acme', submission: 'gpu', track: 'a100-40gb' }));
    expect(gpu.status).toBe(403);
    expect(bodyOf(gpu).error).toMatch(/may not submit to track "a100-40gb".*one of: cpu/);

    await fixture.db.setTeamDisabled('acme', true);
    const disabled = await upload(fixture, acme, await archiveOf(fixture, { team: 'acme', submission: 'ok' }));
    expect(disabled.status).toBe(403);
    expect(bodyOf(disabled).error).toMatch(/team acme is disabled/);
    expect(fixture.starter.calls).toEqual([]);
    expect(await left(fixture, 'acme')).toBe(3);
  });

  it('answers 403 when no phase takes submissions, saying when the next one opens', async () => {
    const fixture = door(competitionWith({ opensAt: '2027-06-01T00:00:00Z' }));
    const token = await fixture.addTeam('acme');
    const reply = await upload(fixture, token, await archiveOf(fixture, { team: 'acme', submission: 'early' }));
    expect(reply.status).toBe(403);
    expect(bodyOf(reply)).toMatchObject({ nextPhase: { id: 'development', opensAt: '2027-06-01T00:00:00Z' } });
    expect(bodyOf(reply).error).toMatch(/no phase of the competition is open now; submissions open again at 2027-06-01T00:00:00Z/);
    fixture.clock.now = Date.parse('2028-01-10T00:00:00Z'); // the finals: run by the organizers
    const finals = await upload(fixture, token, await archiveOf(fixture, { team: 'acme', submission: 'late' }));
    expect(finals.status).toBe(403);
    expect(bodyOf(finals).error).toMatch(/phase finals takes no submissions from teams/);
  });

  it('answers 409 while the same submission is running', async () => {
    const fixture = door();
    const token = await fixture.addTeam('acme');
    const archive = await archiveOf(fixture, { team: 'acme', submission: 'first' });
    expect((await upload(fixture, token, archive)).status).toBe(202);
    const again = await upload(fixture, token, await archiveOf(fixture, { team: 'acme', submission: 'first' }, { 'server.py': 'print(2)\n' }));
    expect(again.status).toBe(409);
    expect(bodyOf(again).error).toMatch(/acme\.first is still being evaluated/);
    expect(fixture.starter.calls).toHaveLength(1);
    expect(await left(fixture, 'acme')).toBe(2);
  });

  it('answers 413 with the limit and closes the connection when the body was too large', async () => {
    const fixture = door(competitionWith({ maxArchiveBytes: 2048 }));
    const token = await fixture.addTeam('acme');
    const reply = await upload(fixture, token, null, { bodyTooLarge: true });
    expect(reply.status).toBe(413);
    expect(reply.closeConnection).toBe(true);
    expect(bodyOf(reply)).toMatchObject({ limitBytes: 2048 });
  });

  it('answers 429 at the quota with Retry-After and nextSlotAt, and accepts again after a refund', async () => {
    const fixture = door(competitionWith({ perWindow: 2 }));
    const token = await fixture.addTeam('acme');
    expect((await upload(fixture, token, await archiveOf(fixture, { team: 'acme', submission: 'one' }))).status).toBe(202);
    fixture.clock.now = T0 + HOUR;
    expect((await upload(fixture, token, await archiveOf(fixture, { team: 'acme', submission: 'two' }))).status).toBe(202);
    fixture.clock.now = T0 + 2 * HOUR;
    const refused = await upload(fixture, token, await archiveOf(fixture, { team: 'acme', submission: 'three' }));
    expect(refused.status).toBe(429);
    expect(refused.headers?.['retry-after']).toBe(String(22 * 3600));
    expect(bodyOf(refused)).toMatchObject({ nextSlotAt: new Date(T0 + 24 * HOUR).toISOString(), quota: { left: 0, perWindow: 2, usedInWindow: 2 } });
    expect(typeof bodyOf(refused).reason).toBe('string');
    expect(filesUnder(path.join(fixture.stagingDir, 'staging'))).toEqual([]);

    // The first pipeline failed for our reasons: refunded, so a slot is free again.
    const updatedAt = new Date(fixture.clock.now).toISOString();
    await fixture.db.recordPipeline({ submissionId: 'acme.one', outcome: 'failed', failureCategory: 'Infrastructure', reason: 'the host was lost', updatedAt });
    expect(await left(fixture, 'acme')).toBe(1);
    expect((await fixture.db.intakes('acme')).find((i) => i.submissionId === 'acme.one')).toMatchObject({ refunded: true, outcome: 'failed' });
    expect((await upload(fixture, token, await archiveOf(fixture, { team: 'acme', submission: 'three' }))).status).toBe(202);
  });

  it('refuses a hostile archive with 4xx, writing nothing outside staging and spending no quota', async () => {
    const fixture = door();
    const token = await fixture.addTeam('acme');
    const manifest = JSON.stringify({ schemaVersion: 1, team: 'acme', submission: 'evil', track: 'cpu', baseModel: 'none' });
    const hostile = [
      rawTarGz([{ name: 'submission.json', text: manifest }, { name: '../../escaped.txt', text: 'out' }]),
      rawTarGz([{ name: 'submission.json', text: manifest }, { name: 'link', text: '', type: '2', link: '/etc/passwd' }]),
      rawTarGz([{ name: '/abs.txt', text: 'x' }]),
      Buffer.from('not an archive at all'),
    ];
    for (const archive of hostile) {
      const reply = await upload(fixture, token, archive);
      expect(reply.status).toBeGreaterThanOrEqual(400);
      expect(reply.status).toBeLessThan(500);
      expect(typeof bodyOf(reply).error).toBe('string');
    }
    expect(filesUnder(fixture.root).filter((f) => f.includes('escaped') || f.includes('abs.txt'))).toEqual([]);
    expect(filesUnder(fixture.stagingDir)).toEqual([]);
    expect(await left(fixture, 'acme')).toBe(3);
    expect(fixture.starter.calls).toEqual([]);
  });

  it('answers 503 and refunds the intake when the pipeline cannot be started', async () => {
    const fixture = door();
    const token = await fixture.addTeam('acme');
    fixture.starter.failWith = new Error('connection refused: 127.0.0.1:7233');
    const reply = await upload(fixture, token, await archiveOf(fixture, { team: 'acme', submission: 'first' }));
    expect(reply.status).toBe(503);
    expect(reply.body).not.toContain('7233');
    expect(await left(fixture, 'acme')).toBe(3);
    const [intake] = await fixture.db.intakes('acme');
    expect(intake).toMatchObject({ submissionId: 'acme.first', refunded: true });
    expect(intake!.refundReason).toMatch(/the pipeline could not be started: connection refused/);
    // Once the starter works again, the same archive goes through.
    fixture.starter.failWith = null;
    expect((await upload(fixture, token, await archiveOf(fixture, { team: 'acme', submission: 'first' }))).status).toBe(202);
  });

  it('answers 400 to an empty body', async () => {
    const fixture = door();
    const token = await fixture.addTeam('acme');
    const reply = await upload(fixture, token, Buffer.alloc(0));
    expect(reply.status).toBe(400);
    expect(bodyOf(reply).error).toMatch(/send the submission archive/);
  });
});

describe('GET /api/team/...', () => {
  const register = (fixture: DoorFixture, team: string, name: string) =>
    fixture.db.registerRun({ submissionId: `${team}.${name}`, team, name, track: 'cpu', directory: '/nowhere', workflowId: `wf-${name}`, runId: 'r1', submittedAt: new Date(T0).toISOString() });

  it('lists the team\'s own submissions and shows one; another team\'s id is 404 exactly like an unknown id', async () => {
    const fixture = door();
    const token = await fixture.addTeam('acme');
    await fixture.addTeam('globex');
    expect((await upload(fixture, token, await archiveOf(fixture, { team: 'acme', submission: 'first' }))).status).toBe(202);
    await register(fixture, 'acme', 'first');
    await register(fixture, 'globex', 'secret');

    const list = await route(fixture.options, 'GET', '/api/team/submissions', auth(token));
    expect(list.status).toBe(200);
    expect((bodyOf(list).submissions as { submissionId: string }[]).map((s) => s.submissionId)).toEqual(['acme.first']);
    const own = await route(fixture.options, 'GET', '/api/team/submissions/acme.first', auth(token));
    expect(own.status).toBe(200);
    expect(bodyOf(own)).toMatchObject({ submissionId: 'acme.first' });

    const theirs = await route(fixture.options, 'GET', '/api/team/submissions/globex.secret', auth(token));
    const unknown = await route(fixture.options, 'GET', '/api/team/submissions/globex.nothing', auth(token));
    expect(theirs.status).toBe(404);
    expect(unknown.status).toBe(404);
    expect(theirs.body.replace('globex.secret', 'ID')).toBe(unknown.body.replace('globex.nothing', 'ID'));
    expect((await route(fixture.options, 'GET', '/api/team/submissions', {})).status).toBe(401);
  });

  it('shows the build and open-eval logs of the team\'s submissions and no closed-stage log', async () => {
    const fixture = door();
    const token = await fixture.addTeam('acme');
    await fixture.addTeam('globex');
    await register(fixture, 'acme', 'first');
    await register(fixture, 'globex', 'secret');
    for (const id of ['acme.first', 'globex.secret']) {
      mkdirSync(path.join(fixture.dataDir, 'logs', id), { recursive: true });
      writeFileSync(path.join(fixture.dataDir, 'logs', id, 'build.log'), `Step 1/4 : FROM base of ${id}\n`);
      writeFileSync(path.join(fixture.dataDir, 'logs', id, 'closed-eval.log'), 'closed answers\n');
    }
    const build = await route(fixture.options, 'GET', '/api/team/submissions/acme.first/logs?stage=build', auth(token));
    expect(build.status).toBe(200);
    expect(bodyOf(build)).toMatchObject({ submissionId: 'acme.first', stage: 'build', source: 'file', text: 'Step 1/4 : FROM base of acme.first' });
    const open = await route(fixture.options, 'GET', '/api/team/submissions/acme.first/logs?stage=open-eval', auth(token));
    expect(bodyOf(open)).toMatchObject({ stage: 'open-eval', text: null });
    const closed = await route(fixture.options, 'GET', '/api/team/submissions/acme.first/logs?stage=closed-eval', auth(token));
    expect(closed.status).toBe(403);
    expect(bodyOf(closed).error).toMatch(/closed-stage logs/);
    expect(closed.body).not.toContain('closed answers');
    expect((await route(fixture.options, 'GET', '/api/team/submissions/acme.first/logs?stage=fine-tune', auth(token))).status).toBe(403);
    expect((await route(fixture.options, 'GET', '/api/team/submissions/acme.first/logs', auth(token))).status).toBe(400);
    const theirs = await route(fixture.options, 'GET', '/api/team/submissions/globex.secret/logs?stage=build', auth(token));
    expect(theirs.status).toBe(404);
    expect(theirs.body).not.toContain('FROM base');
    // Accepted, but its pipeline has not recorded anything yet: the team's own, with no log so far.
    expect((await upload(fixture, token, await archiveOf(fixture, { team: 'acme', submission: 'fresh' }))).status).toBe(202);
    const fresh = await route(fixture.options, 'GET', '/api/team/submissions/acme.fresh/logs?stage=build', auth(token));
    expect(fresh.status).toBe(200);
    expect(bodyOf(fresh)).toMatchObject({ submissionId: 'acme.fresh', text: null });
  });

  it('shows the quota per track of the open phase', async () => {
    const fixture = door();
    const token = await fixture.addTeam('acme', ['cpu', 'a100-40gb']);
    expect((await upload(fixture, token, await archiveOf(fixture, { team: 'acme', submission: 'first' }))).status).toBe(202);
    const reply = await route(fixture.options, 'GET', '/api/team/quota', auth(token));
    expect(reply.status).toBe(200);
    expect(bodyOf(reply)).toMatchObject({
      team: 'acme',
      phase: { id: 'development', takesSubmissions: true },
      window: 24 * HOUR,
      tracks: { cpu: { left: 2, usedInWindow: 1, perWindow: 3 }, 'a100-40gb': { left: 3, usedInWindow: 0 } },
      nextPhase: null,
    });
  });

  it('answers 404 to unknown paths and 405 to other methods', async () => {
    const fixture = door();
    const token = await fixture.addTeam('acme');
    expect((await route(fixture.options, 'GET', '/api/team/nothing', auth(token))).status).toBe(404);
    expect((await route(fixture.options, 'GET', '/api/team/submissions/a/b/c', auth(token))).status).toBe(404);
    const wrong = await route(fixture.options, 'DELETE', '/api/team/submissions', auth(token));
    expect(wrong.status).toBe(405);
    expect(wrong.headers?.allow).toBe('GET, HEAD, POST');
    expect((await route(fixture.options, 'POST', '/api/team/quota', auth(token))).status).toBe(405);
  });
});

describe('/api/team/final', () => {
  const post = (fixture: DoorFixture, token: string, body: string) =>
    route(fixture.options, 'POST', '/api/team/final', { ...auth(token), 'content-type': 'application/json' }, { body: Buffer.from(body), remoteAddress: '10.0.0.1', bodyTooLarge: false });
  const intakeOf = async (fixture: DoorFixture, team: string, submissionId: string, at: number, track = 'cpu') => {
    const result = await fixture.db.reserveIntake({
      intakeId: `intake-${submissionId}`,
      team,
      track,
      phase: 'development',
      submissionId,
      archiveKey: `sources/${submissionId}.tar.gz`,
      archiveSha256: 'cd'.repeat(32),
      at: new Date(at).toISOString(),
      rule: { perWindow: 10, window: 24 * HOUR },
    });
    expect(result.kind).toBe('accepted');
  };

  it('records the choice (the latest wins), lists it per track and marks it in the overview', async () => {
    const fixture = door();
    const token = await fixture.addTeam('acme', ['cpu', 'a100-40gb']);
    await intakeOf(fixture, 'acme', 'acme.old', T0 - 2 * HOUR);
    await intakeOf(fixture, 'acme', 'acme.new', T0 - HOUR);
    await intakeOf(fixture, 'acme', 'acme.gpu', T0 - HOUR, 'a100-40gb');

    const first = await post(fixture, token, JSON.stringify({ submissionId: 'acme.new' }));
    expect(first.status).toBe(200);
    expect(bodyOf(first)).toEqual({
      choice: { team: 'acme', track: 'cpu', phase: 'development', submissionId: 'acme.new', at: new Date(T0).toISOString() },
      replaced: null,
    });
    fixture.clock.now = T0 + 1000;
    const second = await post(fixture, token, JSON.stringify({ submissionId: 'acme.old' }));
    expect(second.status).toBe(200);
    expect(bodyOf(second)).toMatchObject({ choice: { submissionId: 'acme.old', at: new Date(T0 + 1000).toISOString() }, replaced: 'acme.new' });
    expect((await post(fixture, token, JSON.stringify({ submissionId: 'acme.gpu' }))).status).toBe(200);

    const listed = await route(fixture.options, 'GET', '/api/team/final', auth(token));
    expect(listed.status).toBe(200);
    expect(bodyOf(listed)).toMatchObject({ team: 'acme', phase: 'development' });
    expect((bodyOf(listed).choices as { track: string; submissionId: string }[]).map((c) => [c.track, c.submissionId])).toEqual([
      ['cpu', 'acme.old'],
      ['a100-40gb', 'acme.gpu'],
    ]);
    const overview = bodyOf(await route(fixture.options, 'GET', '/api/team/submissions', auth(token)));
    expect((overview.submissions as { submissionId: string; chosenFinal: boolean }[]).map((s) => [s.submissionId, s.chosenFinal]).sort()).toEqual([
      ['acme.gpu', true],
      ['acme.new', false],
      ['acme.old', true],
    ]);
  });

  it('answers 400 to a bad body, 404 to another team\'s submission as to an unknown one, 403 once no phase takes uploads', async () => {
    const fixture = door();
    const token = await fixture.addTeam('acme');
    await fixture.addTeam('rival');
    await intakeOf(fixture, 'acme', 'acme.mine', T0 - HOUR);
    await intakeOf(fixture, 'rival', 'rival.theirs', T0 - HOUR);

    const notJson = await post(fixture, token, 'acme.mine');
    expect(notJson.status).toBe(400);
    expect(bodyOf(notJson).error).toMatch(/not JSON; send \{"submissionId"/);
    const extra = await post(fixture, token, JSON.stringify({ submissionId: 'acme.mine', track: 'cpu' }));
    expect(extra.status).toBe(400);
    expect(bodyOf(extra).error).toMatch(/nothing else/);
    expect((await post(fixture, token, JSON.stringify({ submissionId: '' }))).status).toBe(400);
    expect((await post(fixture, token, JSON.stringify({ id: 'acme.mine' }))).status).toBe(400);

    const theirs = await post(fixture, token, JSON.stringify({ submissionId: 'rival.theirs' }));
    const unknown = await post(fixture, token, JSON.stringify({ submissionId: 'rival.nothing' }));
    expect(theirs.status).toBe(404);
    expect(unknown.status).toBe(404);
    expect(bodyOf(theirs).error).toBe('your team has no submission "rival.theirs"; GET /api/team/submissions lists them');
    expect(bodyOf(unknown).error).toBe('your team has no submission "rival.nothing"; GET /api/team/submissions lists them');
    expect(await fixture.db.finalChoices('development')).toEqual([]);

    const noToken = await route(fixture.options, 'POST', '/api/team/final', {}, { body: Buffer.from('{}'), remoteAddress: '10.0.0.2', bodyTooLarge: false });
    expect(noToken.status).toBe(401);

    fixture.clock.now = Date.parse('2027-12-15T00:00:00Z'); // development closed, finals not yet open
    const closed = await post(fixture, token, JSON.stringify({ submissionId: 'acme.mine' }));
    expect(closed.status).toBe(403);
    expect(bodyOf(closed).error).toMatch(/no phase takes uploads now/);
    expect(await fixture.db.finalChoices('development')).toEqual([]);
    expect(bodyOf(await route(fixture.options, 'GET', '/api/team/final', auth(token)))).toMatchObject({ phase: null, choices: [] });
    expect((await route(fixture.options, 'DELETE', '/api/team/final', auth(token))).headers?.allow).toBe('GET, HEAD, POST');
  });
});
