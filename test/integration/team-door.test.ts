/**
 * The participants' door through real parts: the operator creates two teams with the compiled CLI, a team submits
 * its repository with `challenge remote submit` to the real web server, the real pipeline (Temporal dev server,
 * orchestrator and host workers, Docker) builds it from the stored archive and evaluates it, and the team reads its
 * own results through the API. Another team's id answers 404, and an operator's cancel gives the quota back.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { loadCompetition } from '../../domain/competition/index.js';
import { openArtifactStore } from '../../infra/open-artifact-store.js';
import type { ArtifactStore } from '../../infra/artifact-store.js';
import { ResultsDb } from '../../infra/results-db.js';
import { PROJECT_ROOT, competitionFilePath } from '../../infra/paths.js';
import { temporalStarter } from '../../operations/intake.js';
import { startWebServer, type WebServer } from '../../web/server.js';
import { startStack, type Stack } from '../support/stack.js';
import { until } from '../support/until.js';

let stack: Stack;
let db: ResultsDb;
let web: WebServer;
let artifacts: ArtifactStore;
const tokens: Record<string, string> = {};

const cli = (args: string[], env: Record<string, string> = {}) =>
  execa('node', [path.join(PROJECT_ROOT, 'dist', 'cli', 'challenge.js'), ...args], { env: { ...stack.env, ...env }, reject: false, all: true });

const api = async (token: string, route: string): Promise<{ status: number; body: Record<string, unknown> }> => {
  const response = await fetch(`${web.url}${route}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
};

beforeAll(async () => {
  stack = await startStack();
  for (const team of ['ngram-lab', 'sleepy-inference']) {
    const added = await cli(['team', 'add', team, '--tracks', 'cpu']);
    expect(added.exitCode).toBe(0);
    tokens[team] = /cht_[0-9a-f]{12}_[A-Za-z0-9_-]{43}/.exec(added.all ?? '')![0];
  }
  db = new ResultsDb(stack.config.databasePath);
  artifacts = await openArtifactStore(stack.config.artifactStore);
  web = await startWebServer({
    db,
    dataDir: stack.config.dataDir,
    artifacts,
    teams: {
      competition: loadCompetition(competitionFilePath()),
      starter: temporalStarter(stack.client, stack.config),
      stagingDir: path.join(stack.config.dataDir, 'intake'),
      artifacts,
    },
  });
}, 240_000);

afterAll(async () => {
  await web?.close();
  db?.close();
  await stack?.stop();
});

describe('a team submits through the door and sees only its own results', () => {
  let submissionId = '';

  it('remote submit packs the repository, passes the local preflight and is accepted with the quota left', async () => {
    const result = await cli(['remote', 'submit', path.join(PROJECT_ROOT, 'examples', 'good-cooccurrence')], { CHALLENGE_URL: web.url, CHALLENGE_TEAM_TOKEN: tokens['ngram-lab']! });
    expect(result.all).toMatch(/ngram-lab\.cooccurrence-v1/);
    expect(result.exitCode).toBe(0);
    submissionId = 'ngram-lab.cooccurrence-v1';
    const quota = await api(tokens['ngram-lab']!, '/api/team/quota');
    expect(quota.status).toBe(200);
    expect(JSON.stringify(quota.body)).toMatch(/"left":\s*2/);
  });

  it('the pipeline builds from the stored archive and the team sees its open scores, never closed answers', async () => {
    const intake = (await db.intakes('ngram-lab'))[0]!;
    expect(intake.archiveKey).toBe(`sources/${intake.archiveSha256}.tar.gz`);
    expect((await artifacts.list('sources')).map((entry) => entry.key)).toContain(intake.archiveKey);
    const record = await db.submission(submissionId);
    expect(record?.directory).toBe(path.join(stack.config.dataDir, 'intake', 'sources', intake.archiveSha256));
    expect(existsSync(path.join(record!.directory, 'Dockerfile.train'))).toBe(true);

    await until('the pipeline to settle the intake', async () => (await db.intake(intake.intakeId))?.outcome != null, 300_000);
    expect(await db.intake(intake.intakeId)).toMatchObject({ outcome: 'completed', refunded: false });
    const detail = await api(tokens['ngram-lab']!, `/api/team/submissions/${submissionId}`);
    expect(detail.status).toBe(200);
    const text = JSON.stringify(detail.body);
    for (const scenario of ['opposites', 'capitals']) expect(text).toContain(scenario); // the toy open scenarios
    for (const closed of ['animal-sounds', 'colors']) expect(text).not.toContain(closed); // the toy closed scenarios
  }, 360_000);

  it("another team asking for this submission gets 404, the same answer as for an id that does not exist", async () => {
    const foreign = await api(tokens['sleepy-inference']!, `/api/team/submissions/${submissionId}`);
    const unknown = await api(tokens['sleepy-inference']!, '/api/team/submissions/sleepy-inference.nothing-here');
    expect(foreign.status).toBe(404);
    expect(unknown.status).toBe(404);
    // The answer only echoes the id asked for: with the ids taken out, the two answers are the same text.
    expect(String(foreign.body['error']).replace(submissionId, '<id>')).toBe(String(unknown.body['error']).replace('sleepy-inference.nothing-here', '<id>'));
    expect(Object.keys(foreign.body)).toEqual(['error']);
  });

  it("an operator's cancel of a running submission refunds the team's quota, and the team sees why", async () => {
    const token = tokens['sleepy-inference']!;
    const submitted = await cli(['remote', 'submit', path.join(PROJECT_ROOT, 'examples', 'slow-server')], { CHALLENGE_URL: web.url, CHALLENGE_TEAM_TOKEN: token });
    expect(submitted.exitCode).toBe(0);
    const before = await api(token, '/api/team/quota');
    expect(JSON.stringify(before.body)).toMatch(/"left":\s*2/);
    await until('the slow server to be built', async () => (await db.stages('sleepy-inference.one-at-a-time')).some((s) => s.stage === 'build' && s.outcome === 'succeeded'), 240_000);
    const cancelled = await cli(['cancel', 'sleepy-inference.one-at-a-time']);
    expect(cancelled.exitCode).toBe(0);
    await until('the cancel to settle the intake', async () => (await db.intakes('sleepy-inference'))[0]?.outcome != null, 120_000);
    const [intake] = await db.intakes('sleepy-inference');
    expect(intake).toMatchObject({ outcome: 'cancelled', failureCategory: 'Cancelled', refunded: true });
    expect(intake!.refundReason).toMatch(/Cancelled/);
    const after = await api(token, '/api/team/quota');
    expect(JSON.stringify(after.body)).toMatch(/"left":\s*3/);
  }, 420_000);
});
