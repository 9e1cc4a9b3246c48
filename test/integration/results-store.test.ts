/**
 * The ResultsStore contract, run against both stores: SQLite (a temporary file) and PostgreSQL (a fresh
 * database on the local server scripts/ensure-postgres.sh starts). Whatever a caller can observe through
 * the interface must be the same on both. Tests share one store per kind and keep apart by ids and tracks.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { InstanceAnswer } from '../../domain/harness/evaluate.js';
import { freePort } from '../../infra/dev-server.js';
import { ResultsDb } from '../../infra/results-db.js';
import { PostgresResultsDb } from '../../infra/results-db-postgres.js';
import type { ResultsStore, StageRecord, SubmissionRecord } from '../../infra/results-store.js';
import { startPostgres, type TestPostgres } from '../support/postgres.js';

const SETUP_MS = 300_000; // the first run may install PostgreSQL with apt-get

let postgres: TestPostgres | undefined;
const postgresServer = async (): Promise<TestPostgres> => (postgres ??= await startPostgres());

const tempDirs: string[] = [];
const STORES: [string, () => Promise<ResultsStore>][] = [
  [
    'sqlite',
    async () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'results-store-'));
      tempDirs.push(dir);
      return new ResultsDb(path.join(dir, 'results.sqlite'));
    },
  ],
  ['postgres', async () => PostgresResultsDb.connect(await (await postgresServer()).freshDatabase('results_store_contract'))],
];

afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

const submission = (submissionId: string, runId: string, overrides: Partial<SubmissionRecord> = {}): SubmissionRecord => ({
  submissionId,
  team: 'team-a',
  name: 'model-a',
  track: 'a100-40gb',
  directory: `/submissions/${submissionId}`,
  workflowId: `pipeline-${submissionId}`,
  runId,
  submittedAt: '2026-01-01T00:00:00.000Z',
  ...overrides,
});

const stage = (submissionId: string, name: string, overrides: Partial<StageRecord> = {}): StageRecord => ({
  submissionId,
  stage: name,
  outcome: 'succeeded',
  failureCategory: null,
  reason: null,
  startedAt: '2026-01-01T01:00:00.000Z',
  endedAt: '2026-01-01T01:05:00.000Z',
  limitMs: 7_200_000,
  details: null,
  ...overrides,
});

const answer = (scenario: string, instanceId: string, overrides: Partial<InstanceAnswer> = {}): InstanceAnswer => ({
  scenario,
  instanceId,
  completion: ' B',
  score: 1,
  errorKind: null,
  error: null,
  attempts: 1,
  latencyMs: 42,
  ...overrides,
});

const byKey = (a: InstanceAnswer, b: InstanceAnswer) => `${a.scenario}/${a.instanceId}`.localeCompare(`${b.scenario}/${b.instanceId}`);

describe.each(STORES)('ResultsStore on %s', (_kind, open) => {
  let db: ResultsStore;
  beforeAll(async () => {
    db = await open();
  }, SETUP_MS);
  afterAll(async () => {
    await db?.close();
  });

  it('upserts submissions, lists them by id and by track, and answers undefined for an unknown id', async () => {
    await db.upsertSubmission(submission('sub-b', 'run-1', { track: 'track-subs' }));
    await db.upsertSubmission(submission('sub-a', 'run-1', { track: 'track-subs' }));
    await db.upsertSubmission(submission('sub-c', 'run-1', { track: 'track-other' }));
    await db.upsertSubmission(submission('sub-a', 'run-2', { track: 'track-subs', team: 'team-z', submittedAt: '2026-02-02T00:00:00.000Z' }));

    expect(await db.submission('sub-a')).toEqual(
      submission('sub-a', 'run-2', { track: 'track-subs', team: 'team-z', submittedAt: '2026-02-02T00:00:00.000Z' }),
    );
    expect(await db.submission('no-such-submission')).toBeUndefined();
    expect((await db.submissions('track-subs')).map((s) => s.submissionId)).toEqual(['sub-a', 'sub-b']);
    const all = (await db.submissions()).map((s) => s.submissionId);
    expect(all).toEqual(expect.arrayContaining(['sub-a', 'sub-b', 'sub-c']));
    expect(all).toEqual([...all].sort());
  });

  it('registerRun: the same run again changes nothing; a new run starts from a clean slate and runs', async () => {
    const id = 'reg-1';
    await db.registerRun(submission(id, 'run-1'));
    expect(await db.pipeline(id)).toEqual({ submissionId: id, outcome: 'running', failureCategory: null, reason: null, updatedAt: '2026-01-01T00:00:00.000Z' });

    await db.recordStage(stage(id, 'build'));
    await db.answerStore(id, 'open', 'open@1').save(answer('mmlu', 'q1'));
    await db.saveScenarioScores(id, 'open', [{ scenario: 'mmlu', column: 'MMLU - EM', score: 0.5, instances: 2, answered: 2, failed: 0 }]);
    await db.recordPipeline({ submissionId: id, outcome: 'completed', failureCategory: null, reason: null, updatedAt: '2026-01-01T02:00:00.000Z' });
    // A neighbour's rows must survive the new run of `id`.
    const other = 'reg-other';
    await db.registerRun(submission(other, 'run-1'));
    await db.recordStage(stage(other, 'build'));
    await db.answerStore(other, 'open').save(answer('mmlu', 'q1'));

    // A retried registration of the same run (even with other fields) is a no-op.
    await db.registerRun(submission(id, 'run-1', { directory: '/elsewhere', submittedAt: '2026-01-01T03:00:00.000Z' }));
    expect(await db.submission(id)).toEqual(submission(id, 'run-1'));
    expect(await db.stages(id)).toHaveLength(1);
    expect(await db.answerCount(id, 'open')).toBe(1);
    expect(await db.scenarioScores(id)).toHaveLength(1);
    expect((await db.pipeline(id))?.outcome).toBe('completed');

    await db.registerRun(submission(id, 'run-2', { submittedAt: '2026-01-02T00:00:00.000Z' }));
    expect(await db.submission(id)).toEqual(submission(id, 'run-2', { submittedAt: '2026-01-02T00:00:00.000Z' }));
    expect(await db.stages(id)).toEqual([]);
    expect(await db.answerCount(id, 'open')).toBe(0);
    expect(await db.answerStore(id, 'open', 'open@1').all()).toEqual([]);
    expect(await db.scenarioScores(id)).toEqual([]);
    expect(await db.pipeline(id)).toEqual({ submissionId: id, outcome: 'running', failureCategory: null, reason: null, updatedAt: '2026-01-02T00:00:00.000Z' });

    expect(await db.stages(other)).toHaveLength(1);
    expect(await db.answerCount(other, 'open')).toBe(1);
  });

  it('recordStage upserts by stage, keeps the first started_at when a later record has none, and round-trips details', async () => {
    const id = 'stage-upsert';
    const details = { exitCode: 137, log: ['a', 'b'], nested: { gpu: 0, ratio: 0.25 }, flag: true, none: null };
    await db.recordStage(stage(id, 'build', { outcome: 'partial', startedAt: '2026-01-01T00:00:00.000Z', endedAt: null, details }));
    await db.recordStage(
      stage(id, 'build', {
        outcome: 'failed',
        failureCategory: 'BuildFailed',
        reason: 'step 3',
        startedAt: null,
        endedAt: '2026-01-01T00:02:00.000Z',
        limitMs: 1000,
        details: null,
      }),
    );
    expect(await db.stages(id)).toEqual([
      stage(id, 'build', {
        outcome: 'failed',
        failureCategory: 'BuildFailed',
        reason: 'step 3',
        startedAt: '2026-01-01T00:00:00.000Z',
        endedAt: '2026-01-01T00:02:00.000Z',
        limitMs: 1000,
        details: null,
      }),
    ]);

    // A later record that knows its start replaces it; details come back as an object (not text), numbers as numbers.
    await db.recordStage(stage(id, 'build', { startedAt: '2026-01-01T00:10:00.000Z', limitMs: 86_400_000, details }));
    const [again] = await db.stages(id);
    expect(again).toEqual(stage(id, 'build', { startedAt: '2026-01-01T00:10:00.000Z', limitMs: 86_400_000, details }));
    expect(typeof again?.limitMs).toBe('number');

    await db.recordStage(stage(id, 'no-limit', { limitMs: null, startedAt: null, endedAt: null }));
    expect((await db.stages(id)).find((s) => s.stage === 'no-limit')).toEqual(stage(id, 'no-limit', { limitMs: null, startedAt: null, endedAt: null }));
  });

  it('lists stages by start time (not yet started first), then by name', async () => {
    const id = 'stage-order';
    await db.recordStage(stage(id, 'open-eval', { startedAt: '2026-01-01T03:00:00.000Z' }));
    await db.recordStage(stage(id, 'build', { startedAt: '2026-01-01T01:00:00.000Z' }));
    await db.recordStage(stage(id, 'fine-tune', { startedAt: '2026-01-01T02:00:00.000Z' }));
    await db.recordStage(stage(id, 'scoring', { startedAt: null }));
    await db.recordStage(stage(id, 'closed-eval', { startedAt: null }));
    await db.recordStage(stage(id, 'Zeta', { startedAt: '2026-01-01T02:00:00.000Z' }));
    expect((await db.stages(id)).map((s) => s.stage)).toEqual(['closed-eval', 'scoring', 'build', 'Zeta', 'fine-tune', 'open-eval']);
    expect(await db.stages('no-such-submission')).toEqual([]);
  });

  it('keeps answers per suite version: the first save wins, versions are apart, an unversioned read sees them all', async () => {
    const id = 'answers-1';
    const v1 = db.answerStore(id, 'open', 'open@1');
    const first = answer('mmlu', 'q1', { completion: ' A', score: 0.75, latencyMs: 1234 });
    await v1.save(first);
    await v1.save({ ...first, completion: ' C', score: 0 }); // a retried activity saving again keeps the first
    await v1.save(answer('mmlu', 'q2', { completion: null, score: 0, errorKind: 'timeout', error: 'no answer within 30s', attempts: 3 }));
    await v1.save(answer('gsm', 'q1'));

    const v1Answers = await v1.all();
    expect([...v1Answers].sort(byKey)).toEqual([
      answer('gsm', 'q1'),
      first,
      answer('mmlu', 'q2', { completion: null, score: 0, errorKind: 'timeout', error: 'no answer within 30s', attempts: 3 }),
    ]);
    for (const a of v1Answers) expect([typeof a.score, typeof a.attempts, typeof a.latencyMs]).toEqual(['number', 'number', 'number']);
    expect(await v1.answeredKeys()).toEqual(new Set(['mmlu/q1', 'mmlu/q2', 'gsm/q1']));

    // Another version of the suite starts empty and its answers stay out of version 1.
    const v2 = db.answerStore(id, 'open', 'open@2');
    expect(await v2.all()).toEqual([]);
    expect(await v2.answeredKeys()).toEqual(new Set());
    await v2.save(answer('mmlu', 'q1', { completion: ' D', score: 0 }));
    expect(await v2.all()).toEqual([answer('mmlu', 'q1', { completion: ' D', score: 0 })]);
    expect(await v1.answeredKeys()).toEqual(new Set(['mmlu/q1', 'mmlu/q2', 'gsm/q1']));

    // Unversioned: reads see every version; writes go to the unversioned set, invisible to a versioned read.
    const unversioned = db.answerStore(id, 'open');
    expect(await unversioned.all()).toHaveLength(4);
    expect(await unversioned.answeredKeys()).toEqual(new Set(['mmlu/q1', 'mmlu/q2', 'gsm/q1']));
    await unversioned.save(answer('truthful', 'q9'));
    expect(await unversioned.answeredKeys()).toEqual(new Set(['mmlu/q1', 'mmlu/q2', 'gsm/q1', 'truthful/q9']));
    expect(await v1.answeredKeys()).not.toContain('truthful/q9');
    expect(await v2.answeredKeys()).not.toContain('truthful/q9');

    // Another suite and another submission are apart too.
    expect(await db.answerStore(id, 'closed').all()).toEqual([]);
    expect(await db.answerStore('answers-other', 'open').all()).toEqual([]);
  });

  it("aggregates answers where they are: the tally, one scenario's scores grouped by original, every answer once", async () => {
    const id = 'answers-tally';
    const store = db.answerStore(id, 'open', 'open@1');
    const saved = [
      answer('mmlu', 'q1', { score: 0.5 }),
      answer('mmlu', 'q1~mild_mix', { score: 0.25 }),
      answer('mmlu', 'q10', { score: 1 }),
      answer('mmlu', 'q1~dialect', { score: 1 }),
      answer('mmlu', 'q10~gender', { completion: null, score: 0, errorKind: 'timeout', error: 'late' }),
      answer('mmlu', 'a~b', { score: 0.125 }), // a "~" that ends in no perturbation name is an original's id
      answer('gsm', 'q1', { completion: null, score: 0, errorKind: 'schema', error: 'bad' }),
    ];
    for (const a of saved) await store.save(a);
    await db.answerStore(id, 'open', 'open@0').save(answer('mmlu', 'q1', { score: 1 })); // another version: not counted

    const tally = await store.tally();
    expect(Object.fromEntries(tally.scenarios)).toEqual({
      mmlu: { answered: 6, failed: 1, originalScoreSum: 1.625 },
      gsm: { answered: 1, failed: 1, originalScoreSum: 0 },
    });
    expect(tally.failuresByKind).toEqual({ timeout: 1, schema: 1 });

    const scores: { instanceId: string; score: number }[] = [];
    for await (const stored of store.scores('mmlu')) scores.push(stored);
    expect(scores.map((s) => s.instanceId).sort()).toEqual(['a~b', 'q1', 'q10', 'q10~gender', 'q1~dialect', 'q1~mild_mix']);
    // an original and its variants are next to each other
    const base = (instanceId: string) => instanceId.replace(/~(mild_mix|dialect|gender|person_name)$/, '');
    const runs = scores.map((s) => base(s.instanceId)).filter((b, i, all) => i === 0 || all[i - 1] !== b);
    expect(new Set(runs).size).toBe(runs.length);
    expect(scores.find((s) => s.instanceId === 'q1~mild_mix')?.score).toBe(0.25);

    const each: InstanceAnswer[] = [];
    for await (const a of store.each()) each.push(a);
    expect(each).toEqual(await store.all());
    expect(each).toHaveLength(saved.length);
  });

  it('answerCount counts the persisted answers of a suite over every version', async () => {
    const id = 'answers-count';
    expect(await db.answerCount(id, 'open')).toBe(0);
    await db.answerStore(id, 'open', 'open@1').save(answer('mmlu', 'q1'));
    await db.answerStore(id, 'open', 'open@1').save(answer('mmlu', 'q1'));
    await db.answerStore(id, 'open', 'open@2').save(answer('mmlu', 'q1'));
    await db.answerStore(id, 'open').save(answer('mmlu', 'q2'));
    await db.answerStore(id, 'closed', 'closed@1').save(answer('secret', 'q1'));
    const count = await db.answerCount(id, 'open');
    expect(count).toBe(3);
    expect(typeof count).toBe('number');
    expect(await db.answerCount(id, 'closed')).toBe(1);
  });

  it("saveScenarioScores expands columns and replaces a suite's rows; scenarioScores filters by submission", async () => {
    const id = 'scores-1';
    const sortRows = <T extends { suite: string; scenario: string; column: string }>(rows: T[]) =>
      [...rows].sort((a, b) => `${a.suite}|${a.scenario}|${a.column}`.localeCompare(`${b.suite}|${b.scenario}|${b.column}`));
    await db.saveScenarioScores(id, 'open', [
      { scenario: 'mmlu', column: 'MMLU - EM', score: 0.123456789012345, instances: 10, answered: 9, failed: 1 },
      {
        scenario: 'truthfulqa',
        column: 'TruthfulQA - EM',
        score: 0.5,
        instances: 4,
        answered: 4,
        failed: 0,
        columns: [
          { column: 'TruthfulQA - EM', score: 0.5 },
          { column: 'TruthfulQA - EM (Robustness)', score: 0.25 },
          { column: 'TruthfulQA - EM (Fairness)', score: 0.375 },
        ],
      },
    ]);
    await db.saveScenarioScores(id, 'closed', [{ scenario: 'secret', column: 'Secret - EM', score: 1, instances: 1, answered: 1, failed: 0 }]);
    await db.saveScenarioScores('scores-other', 'open', [{ scenario: 'mmlu', column: 'MMLU - EM', score: 0.9, instances: 10, answered: 10, failed: 0 }]);

    const row = (suite: 'open' | 'closed', scenario: string, column: string, score: number, instances: number, answered: number, failed: number) => ({
      submissionId: id,
      suite,
      scenario,
      column,
      score,
      instances,
      answered,
      failed,
    });
    expect(sortRows(await db.scenarioScores(id))).toEqual(
      sortRows([
        row('open', 'mmlu', 'MMLU - EM', 0.123456789012345, 10, 9, 1),
        row('open', 'truthfulqa', 'TruthfulQA - EM', 0.5, 4, 4, 0),
        row('open', 'truthfulqa', 'TruthfulQA - EM (Robustness)', 0.25, 4, 4, 0),
        row('open', 'truthfulqa', 'TruthfulQA - EM (Fairness)', 0.375, 4, 4, 0),
        row('closed', 'secret', 'Secret - EM', 1, 1, 1, 0),
      ]),
    );

    // A new evaluation of the open suite (another version, other scenarios) replaces only the open rows.
    await db.saveScenarioScores(id, 'open', [{ scenario: 'bbq', column: 'BBQ - EM', score: 0.625, instances: 8, answered: 8, failed: 0 }]);
    expect(sortRows(await db.scenarioScores(id))).toEqual(
      sortRows([row('open', 'bbq', 'BBQ - EM', 0.625, 8, 8, 0), row('closed', 'secret', 'Secret - EM', 1, 1, 1, 0)]),
    );
    await db.saveScenarioScores(id, 'closed', []);
    expect(await db.scenarioScores(id)).toEqual([row('open', 'bbq', 'BBQ - EM', 0.625, 8, 8, 0)]);

    const everyone = await db.scenarioScores();
    expect(everyone).toEqual(
      expect.arrayContaining([
        row('open', 'bbq', 'BBQ - EM', 0.625, 8, 8, 0),
        { ...row('open', 'mmlu', 'MMLU - EM', 0.9, 10, 10, 0), submissionId: 'scores-other' },
      ]),
    );
    expect(everyone.filter((r) => r.submissionId === id || r.submissionId === 'scores-other')).toHaveLength(2);
    expect(await db.scenarioScores('no-such-submission')).toEqual([]);
  });

  it('recordPipeline upserts the outcome; pipeline answers undefined for an unknown id', async () => {
    const id = 'pipeline-1';
    expect(await db.pipeline(id)).toBeUndefined();
    await db.recordPipeline({ submissionId: id, outcome: 'running', failureCategory: null, reason: null, updatedAt: '2026-01-01T00:00:00.000Z' });
    await db.recordPipeline({
      submissionId: id,
      outcome: 'failed',
      failureCategory: 'OutOfMemory',
      reason: 'CUDA out of memory',
      updatedAt: '2026-01-01T01:00:00.000Z',
    });
    expect(await db.pipeline(id)).toEqual({
      submissionId: id,
      outcome: 'failed',
      failureCategory: 'OutOfMemory',
      reason: 'CUDA out of memory',
      updatedAt: '2026-01-01T01:00:00.000Z',
    });
    await db.recordPipeline({ submissionId: id, outcome: 'cancelled', failureCategory: null, reason: null, updatedAt: '2026-01-01T02:00:00.000Z' });
    expect(await db.pipeline(id)).toEqual({
      submissionId: id,
      outcome: 'cancelled',
      failureCategory: null,
      reason: null,
      updatedAt: '2026-01-01T02:00:00.000Z',
    });
  });

  it('recordHostSeen keeps when a host started and moves lastSeen; hosts filters by track, ordered by id', async () => {
    await db.recordHostSeen({ hostId: 'rack1-02', track: 'track-hosts', slots: 2, at: '2026-01-01T00:00:00.000Z' });
    await db.recordHostSeen({ hostId: 'rack1-01', track: 'track-hosts', slots: 4, at: '2026-01-01T00:00:01.000Z' });
    await db.recordHostSeen({ hostId: 'rack9-01', track: 'track-hosts-other', slots: 1, at: '2026-01-01T00:00:02.000Z' });
    await db.recordHostSeen({ hostId: 'rack1-02', track: 'track-hosts', slots: 3, at: '2026-01-01T00:00:05.000Z' });

    expect(await db.hosts('track-hosts')).toEqual([
      { hostId: 'rack1-01', track: 'track-hosts', slots: 4, startedAt: '2026-01-01T00:00:01.000Z', lastSeen: '2026-01-01T00:00:01.000Z' },
      { hostId: 'rack1-02', track: 'track-hosts', slots: 3, startedAt: '2026-01-01T00:00:00.000Z', lastSeen: '2026-01-01T00:00:05.000Z' },
    ]);
    const all = await db.hosts();
    expect(all.map((h) => h.hostId)).toEqual(expect.arrayContaining(['rack1-01', 'rack1-02', 'rack9-01']));
    expect(all.map((h) => h.hostId)).toEqual(all.map((h) => h.hostId).sort());
    expect(await db.hosts('no-such-track')).toEqual([]);
  });

  it('names where its data lives', () => {
    expect(db.location).toMatch(_kind === 'sqlite' ? /results\.sqlite$/ : /^postgresql:\/\/challenge@127\.0\.0\.1:\d+\/results_store_contract$/);
  });
});

describe('PostgresResultsDb only', () => {
  let server: TestPostgres;
  beforeAll(async () => {
    server = await postgresServer();
  }, SETUP_MS);

  it('lets several processes create the schema and save the same answers at once: no error, no duplicate', async () => {
    const url = await server.freshDatabase('results_store_race');
    const stores = await Promise.all(Array.from({ length: 4 }, () => PostgresResultsDb.connect(url)));
    try {
      const answers = Array.from({ length: 50 }, (_, i) => answer(`scenario-${i % 5}`, `q${i}`, { score: i / 50 }));
      await Promise.all(stores.flatMap((store) => answers.map((a) => store.answerStore('race', 'open', 'open@1').save(a))));
      expect(await stores[0]!.answerCount('race', 'open')).toBe(answers.length);
      expect([...(await stores[1]!.answerStore('race', 'open', 'open@1').all())].sort(byKey)).toEqual([...answers].sort(byKey));

      // Concurrent registrations of one run: one wins, the rest are no-ops.
      await Promise.all(stores.map((store) => store.registerRun(submission('race', 'run-1'))));
      expect(await stores[2]!.submissions()).toEqual([submission('race', 'run-1')]);
      expect(await stores[3]!.answerCount('race', 'open')).toBe(answers.length);
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
  });

  it('keeps an answer whose completion holds a NUL character (PostgreSQL text cannot)', async () => {
    const db = await PostgresResultsDb.connect(await server.freshDatabase('results_store_nul'));
    try {
      await db.answerStore('nul', 'open', 'v').save(answer('mmlu', 'q1', { completion: 'A\u0000B', error: 'bad\u0000byte' }));
      expect(await db.answerStore('nul', 'open', 'v').all()).toEqual([answer('mmlu', 'q1', { completion: 'A\uFFFDB', error: 'bad\uFFFDbyte' })]);
    } finally {
      await db.close();
    }
  });

  it('fails to connect with the URL named, its password redacted, and what to check', async () => {
    const port = await freePort(); // nothing listens there
    const url = `postgresql://challenge:s3cret-pw@127.0.0.1:${port}/challenge`;
    const failure = await PostgresResultsDb.connect(url).then(
      () => new Error('connected to a port where nothing listens'),
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(Error);
    const message = (failure as Error).message;
    expect(message).toContain(`postgresql://challenge:***@127.0.0.1:${port}/challenge`);
    expect(message).toContain('DATABASE_URL');
    expect(message).not.toContain('s3cret-pw');
  });
});
