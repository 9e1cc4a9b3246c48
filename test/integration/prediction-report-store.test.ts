/**
 * The prediction-error report read through both results stores (issue 26): stage records whose details carry the
 * probe's prediction and the answered/total come back from SQLite (a temporary file) and PostgreSQL (a fresh
 * database on the local server) as they were written, and `challenge report`'s reader (cli/report.ts
 * trackPredictionErrors) turns them into the same report, for the track asked only.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { StagePrediction } from '../../domain/harness/throughput.js';
import { renderPredictionErrors } from '../../domain/reports/prediction-errors.js';
import { ResultsDb } from '../../infra/results-db.js';
import { PostgresResultsDb } from '../../infra/results-db-postgres.js';
import type { ResultsStore, StageRecord, SubmissionRecord } from '../../infra/results-store.js';
import { trackPredictionErrors } from '../../cli/report.js';
import { startPostgres } from '../support/postgres.js';

const SETUP_MS = 300_000; // the first run may install PostgreSQL with apt-get
const MIN = 60_000;
const T0 = Date.parse('2026-03-01T10:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

const tempDirs: string[] = [];
afterAll(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

const STORES: [string, () => Promise<ResultsStore>][] = [
  [
    'sqlite',
    async () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'prediction-report-'));
      tempDirs.push(dir);
      return new ResultsDb(path.join(dir, 'results.sqlite'));
    },
  ],
  ['postgres', async () => PostgresResultsDb.connect(await (await startPostgres()).freshDatabase('prediction_report'))],
];

const submission = (submissionId: string, track: string): SubmissionRecord => ({
  submissionId,
  team: submissionId.split('.')[0]!,
  name: submissionId.split('.')[1]!,
  track,
  directory: `/submissions/${submissionId}`,
  workflowId: `submission-${submissionId}`,
  runId: 'run-1',
  submittedAt: iso(T0),
});

const prediction = (estimateMin: number, lowMin: number, highMin: number, limitMin: number): StagePrediction => ({
  total: 200,
  estimateMs: estimateMin * MIN,
  lowMs: lowMin * MIN,
  highMs: highMin * MIN,
  limitMs: limitMin * MIN,
  fits: highMin <= limitMin,
  answeredShareAtLimit: Math.min(1, limitMin / estimateMin),
  sample: 40,
  concurrency: 8,
});

const stage = (submissionId: string, name: string, wallMin: number, extra: Partial<StageRecord>): StageRecord => ({
  submissionId,
  stage: name,
  outcome: 'succeeded',
  failureCategory: null,
  reason: null,
  startedAt: iso(T0),
  endedAt: iso(T0 + wallMin * MIN),
  limitMs: 60 * MIN,
  details: null,
  ...extra,
});

describe.each(STORES)('the prediction-error report on %s', (_kind, open) => {
  let db: ResultsStore;
  const cutPrediction = prediction(80, 70, 90, 40); // predicted to answer 50% by the 40-min limit
  beforeAll(async () => {
    db = await open();
    for (const [id, track] of [['a.one', 'cpu'], ['b.one', 'cpu'], ['c.one', 'a100-40gb']] as const) await db.registerRun(submission(id, track));
    await db.recordStage(stage('a.one', 'build', 3, {}));
    await db.recordStage(stage('a.one', 'open-eval', 24, { details: { prediction: prediction(20, 18, 22, 60), progress: { answered: 200, total: 200 }, answered: 200, total: 200 } }));
    await db.recordStage(
      stage('b.one', 'closed-eval', 40, { outcome: 'partial', failureCategory: 'TimeLimit', limitMs: 40 * MIN, details: { prediction: cutPrediction, progress: { answered: 90, total: 200 } } }),
    );
    await db.recordStage(stage('c.one', 'open-eval', 10, { details: { prediction: prediction(10, 9, 11, 60), progress: { answered: 200, total: 200 } } }));
  }, SETUP_MS);
  afterAll(async () => {
    await db?.close();
  });

  it('gives the stage records back with their prediction and progress as written', async () => {
    const [record] = (await db.stages('b.one')).filter((s) => s.stage === 'closed-eval');
    expect(record!.details).toEqual({ prediction: cutPrediction, progress: { answered: 90, total: 200 } });
    expect(record!.failureCategory).toBe('TimeLimit');
  });

  it("feeds the report of the track's submissions only: predicted ÷ actual per stage and the summary", async () => {
    const report = await trackPredictionErrors(db, 'cpu');
    expect(report.runs.map((r) => [r.submissionId, r.stage, r.kind, r.withinInterval])).toEqual([
      ['a.one', 'open-eval', 'wall-time', false], // 20 min predicted (18–22), 24 taken
      ['b.one', 'closed-eval', 'answered-share', true], // 50% predicted (44–57%), 45% answered
    ]);
    expect(report.runs[0]!.ratio).toBeCloseTo(20 / 24, 10);
    expect(report.runs[1]!.ratio).toBeCloseTo(0.5 / 0.45, 10);
    expect(report.summary.count).toBe(2);
    expect(report.summary.medianAbsoluteError).toBeCloseTo((1 - 20 / 24 + (0.5 / 0.45 - 1)) / 2, 10);
    expect(report.summary.withinIntervalShare).toBe(0.5);
    expect(renderPredictionErrors(report).split('\n')[0]).toBe('prediction error over 2 stages: median |predicted ÷ actual − 1| 14%, 50% inside the predicted interval');
    const other = await trackPredictionErrors(db, 'a100-40gb');
    expect(other.runs.map((r) => [r.submissionId, r.ratio])).toEqual([['c.one', 1]]);
  });
});
