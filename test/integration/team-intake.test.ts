/**
 * The participants' door over real HTTP: startWebServer on a free loopback port with a real SQLite results
 * database and a recording stand-in for the pipeline starter, uploads sent with fetch. The quota holds under
 * a burst (twenty parallel uploads from a team with one submission left: exactly one is accepted), and an
 * upload over the archive limit is refused before its body is read, with the connection closed.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { packDirectory } from '../../infra/archive.js';
import { startWebServer, type WebServer } from '../../web/server.js';
import { competitionWith, doorFixture, writeSubmission, type DoorFixture } from '../support/team-door.js';

let fixture: DoorFixture;
let server: WebServer;

beforeAll(async () => {
  fixture = doorFixture(competitionWith({ perWindow: 3, maxArchiveBytes: 64 * 1024 }));
  server = await startWebServer({ ...fixture.options, port: 0 });
});

afterAll(async () => {
  await server.close();
  fixture.close();
});

const post = (token: string, body: Buffer) =>
  fetch(`${server.url}/api/team/submissions`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/gzip' }, body });

describe('the participants\' door over HTTP', () => {
  it('accepts exactly one of twenty parallel uploads from a team with one submission left', async () => {
    const token = await fixture.addTeam('burst');
    // Two of the three are used already.
    for (const name of ['used-1', 'used-2']) expect((await post(token, await packDirectory(writeSubmission(fixture.root, { team: 'burst', submission: name })))).status).toBe(202);
    const archives = await Promise.all(Array.from({ length: 20 }, (_, i) => packDirectory(writeSubmission(fixture.root, { team: 'burst', submission: `parallel-${i}` }))));

    const replies = await Promise.all(archives.map(async (archive) => {
      const response = await post(token, archive);
      return { status: response.status, retryAfter: response.headers.get('retry-after'), body: (await response.json()) as Record<string, unknown> };
    }));

    const statuses = replies.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 202)).toHaveLength(1);
    expect(statuses.filter((s) => s === 429)).toHaveLength(19);
    for (const refused of replies.filter((r) => r.status === 429)) {
      expect(Number(refused.retryAfter)).toBeGreaterThan(0);
      expect(refused.body).toMatchObject({ quota: { left: 0, perWindow: 3, usedInWindow: 3 } });
    }
    const accepted = replies.find((r) => r.status === 202)!;
    expect(accepted.body).toMatchObject({ quota: { left: 0, usedInWindow: 3 } });
    expect(fixture.starter.calls.filter((c) => c.team === 'burst')).toHaveLength(3);
    const intakes = await fixture.db.intakes('burst');
    expect(intakes.filter((i) => !i.refunded)).toHaveLength(3);
    expect(intakes.map((i) => i.submissionId).sort()).toContain(accepted.body.submissionId);
  });

  it('refuses an archive over the limit with 413 before reading it, and closes the connection', async () => {
    const token = await fixture.addTeam('large');
    const response = await post(token, Buffer.alloc(200 * 1024, 1));
    expect(response.status).toBe(413);
    expect(response.headers.get('connection')).toBe('close');
    expect(((await response.json()) as { error: string }).error).toMatch(/larger than this competition's limit of 65536 bytes/);
    expect(await fixture.db.intakes('large')).toEqual([]);
  });

  it('answers 401 with a Bearer challenge over HTTP', async () => {
    const response = await fetch(`${server.url}/api/team/submissions`);
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer realm=/);
  });
});
