/**
 * The probe's predictions as people read them and as the report judges them (issue 26): predictionErrors and its
 * text (domain/reports/prediction-errors.ts) on stage records whose right answers are known, and the progress view
 * and lines of a running or ended evaluation stage (domain/reports/prediction-progress.ts, operations/pipelines.ts).
 */
import { describe, expect, it } from '@jest/globals';
import { describeEta, describePrediction, projectEta, type StageEta, type StagePrediction } from '../../domain/harness/throughput.js';
import { median, predictionErrors, renderPredictionErrors, type PredictedStageRecord } from '../../domain/reports/prediction-errors.js';
import { liveProgressView, recordedProgressView } from '../../domain/reports/prediction-progress.js';
import { stageProgressLines } from '../../operations/pipelines.js';
import type { StageState } from '../../contract/pipeline.js';

const MIN = 60_000;
const T0 = Date.parse('2026-03-01T10:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

const prediction = (overrides: Partial<StagePrediction> = {}): StagePrediction => ({
  total: 100,
  estimateMs: 10 * MIN,
  lowMs: 9 * MIN,
  highMs: 11 * MIN,
  limitMs: 30 * MIN,
  fits: true,
  answeredShareAtLimit: 1,
  sample: 20,
  concurrency: 4,
  ...overrides,
});

const record = (submissionId: string, wallMs: number | null, overrides: Partial<PredictedStageRecord> = {}): PredictedStageRecord => ({
  submissionId,
  stage: 'open-eval',
  outcome: 'succeeded',
  failureCategory: null,
  startedAt: wallMs === null ? null : iso(T0),
  endedAt: wallMs === null ? null : iso(T0 + wallMs),
  limitMs: 30 * MIN,
  details: null,
  ...overrides,
});

// a: predicted 10 min, took 12 (outside 9–11); b: predicted 5.5 min, took 5 (inside 4.5–6.5);
// c: cut at its 20-min limit, predicted to answer 50% (interval 40–60%), answered 80 of 200 = 40%.
const a = record('a.one', 12 * MIN, { details: { prediction: prediction(), progress: { answered: 100, total: 100 } } });
const b = record('b.one', 5 * MIN, { details: { prediction: prediction({ estimateMs: 5.5 * MIN, lowMs: 4.5 * MIN, highMs: 6.5 * MIN }) } });
const c = record('c.one', 20 * MIN, {
  stage: 'closed-eval',
  outcome: 'partial',
  failureCategory: 'TimeLimit',
  limitMs: 20 * MIN,
  details: {
    prediction: prediction({ total: 200, estimateMs: 40 * MIN, lowMs: (20 * MIN) / 0.6, highMs: 50 * MIN, limitMs: 20 * MIN, fits: false, answeredShareAtLimit: 0.5 }),
    progress: { answered: 80, total: 200 },
  },
});
const crashed = record('d.one', 3 * MIN, { outcome: 'failed', failureCategory: 'ServerCrashed', details: { prediction: prediction() } });
const unreadable = record('e.one', 3 * MIN, { details: { prediction: { total: 'many' } } });
const noPrediction = record('f.one', 3 * MIN, { details: { answered: 10, total: 10 } });
const build = record('a.one', 2 * MIN, { stage: 'build', details: null });

describe('predictionErrors', () => {
  const report = predictionErrors([build, a, b, c, crashed, unreadable, noPrediction]);

  it('compares a finished stage by wall time and a cut one by answered share, predicted ÷ actual', () => {
    expect(report.runs.map((r) => [r.submissionId, r.stage, r.kind, r.withinInterval])).toEqual([
      ['a.one', 'open-eval', 'wall-time', false],
      ['b.one', 'open-eval', 'wall-time', true],
      ['c.one', 'closed-eval', 'answered-share', true],
    ]);
    const [ra, rb, rc] = report.runs;
    expect(ra!.predicted).toBe(10 * MIN);
    expect(ra!.actual).toBe(12 * MIN);
    expect(ra!.ratio).toBeCloseTo(10 / 12, 10);
    expect(ra!.error).toBeCloseTo(10 / 12 - 1, 10);
    expect(rb!.ratio).toBeCloseTo(1.1, 10);
    expect(rc!.predicted).toBe(0.5);
    expect(rc!.actual).toBe(0.4);
    expect(rc!.ratio).toBeCloseTo(1.25, 10);
  });

  it('sets apart what cannot be compared, with why, and ignores records without a prediction', () => {
    expect(report.notComparable).toEqual([
      { submissionId: 'd.one', stage: 'open-eval', why: 'ended failed (ServerCrashed), neither finished nor cut by its limit' },
      { submissionId: 'e.one', stage: 'open-eval', why: 'details.prediction is not a prediction this report can read' },
    ]);
  });

  it('summarises: count, median absolute error, share inside the interval', () => {
    expect(report.summary.count).toBe(3);
    expect(report.summary.medianAbsoluteError).toBeCloseTo(1 - 10 / 12, 10); // |−16.7%|, 10%, 25% → 16.7%
    expect(report.summary.withinIntervalShare).toBeCloseTo(2 / 3, 10);
    expect(median([0.4, 0.1, 0.3, 0.2])).toBeCloseTo(0.25, 10);
    expect(predictionErrors([]).summary).toEqual({ count: 0, medianAbsoluteError: null, withinIntervalShare: null });
  });

  it('judges a cut stage outside its interval, and one cut with nothing answered as not comparable', () => {
    const cut = (answered: number) => ({ ...c, details: { ...c.details, progress: { answered, total: 200 } } });
    expect(predictionErrors([cut(60)]).runs[0]!.withinInterval).toBe(false); // 30% < 40%
    expect(predictionErrors([cut(120)]).runs[0]!.withinInterval).toBe(true); // 60%, the interval's top
    expect(predictionErrors([cut(0)]).notComparable[0]!.why).toMatch(/nothing answered/);
  });

  it('prints the summary, a row per stage and the stages not compared', () => {
    const text = renderPredictionErrors(report);
    expect(text.split('\n')[0]).toBe('prediction error over 3 stages: median |predicted ÷ actual − 1| 17%, 67% inside the predicted interval');
    expect(text).toMatch(/a\.one\s+open-eval\s+finished\s+10m\s+12m\s+0\.83\s+−16\.7%\s+no/);
    expect(text).toMatch(/c\.one\s+closed-eval\s+cut by limit\s+50% answered\s+40% answered\s+1\.25\s+\+25\.0%\s+yes/);
    expect(text).toContain('not compared: d.one open-eval: ended failed (ServerCrashed)');
    expect(renderPredictionErrors(predictionErrors([noPrediction]))).toBe('prediction error: no recorded stage carries a probe prediction yet');
  });
});

describe('stage progress as people read it', () => {
  const limitMs = 30 * MIN;
  const state = (eta: StageEta | null, pred: StagePrediction | null, outcome: StageState['outcome'] = 'running'): StageState => ({
    stage: 'open-eval',
    outcome,
    failureCategory: null,
    reason: null,
    startedAt: T0,
    endedAt: outcome === 'running' ? null : T0 + 20 * MIN,
    limitMs,
    prediction: pred,
    eta,
  });

  it('shows a running stage within its limit: the projection and the probe line, no warning', () => {
    const eta: StageEta = { answered: 50, total: 100, perMinute: 5, projectedEndAt: T0 + 20 * MIN, limitAt: T0 + limitMs, pastLimit: false };
    const lines = stageProgressLines(state(eta, prediction()));
    expect(lines).toEqual([describeEta(eta), `probe: ${describePrediction('open suite', prediction())}`]);
    expect(lines[0]).toContain('50/100 answered');
    const view = liveProgressView(state(eta, prediction()))!;
    expect(view).toMatchObject({ running: true, answered: 50, total: 100, perMinute: 5, pastLimit: false, answeredShareAtLimit: null });
    expect(view.projectedEndAt).toBe(iso(T0 + 20 * MIN));
    expect(view.limitAt).toBe(iso(T0 + limitMs));
  });

  it('warns when the projection passes the limit, with how far and the share answered by then', () => {
    // 40 of 200 in 20 min: 2/min, the end at 100 min against a 30-min limit: 30% answered by then
    const eta: StageEta = { answered: 40, total: 200, perMinute: 2, projectedEndAt: T0 + 100 * MIN, limitAt: T0 + limitMs, pastLimit: true };
    const view = liveProgressView(state(eta, null))!;
    expect(view.pastLimit).toBe(true);
    expect(view.answeredShareAtLimit).toBeCloseTo(0.3, 10);
    expect(view.lines).toHaveLength(2);
    expect(view.lines[1]).toBe('warning: at 2.0/min the stage would end 1h 10m after its limit; it is stopped at the limit and what is not answered by then scores zero');
  });

  it("gives a resumed stage the share answered by the limit from what it has and its execution's rate", () => {
    // 150 answered before a crash; the retried execution begins asking at 25 min and has 160 at 27 min: 5/min,
    // the 40 left end at 35 min against the 30-min limit; by then 160 + 5/min × 3 min = 175 of 200.
    const eta = projectEta({ answered: 160, total: 200 }, T0, T0 + 27 * MIN, limitMs, { execution: { startedAt: T0 + 25 * MIN, answeredAtStart: 150 } });
    expect(eta).toMatchObject({ perMinute: 5, projectedEndAt: T0 + 35 * MIN, pastLimit: true });
    const view = liveProgressView(state(eta, null))!;
    expect(view.answeredShareAtLimit).toBeCloseTo(0.875, 10); // not 30 ÷ 35 of a rate steady since the stage's start
    expect(view.lines[0]).toMatch(/about 87% would be answered$/);
    expect(view.lines[1]).toBe('warning: at 5.0/min the stage would end 5m after its limit; it is stopped at the limit and what is not answered by then scores zero');
  });

  it('shows an ended stage: what it answered in its time at its rate, and what the probe had said', () => {
    const eta: StageEta = { answered: 100, total: 100, perMinute: 5, projectedEndAt: T0 + 20 * MIN, limitAt: T0 + limitMs, pastLimit: false };
    expect(stageProgressLines(state(eta, prediction(), 'succeeded'))).toEqual(['answered 100/100 in 20m (5.0/min)', `probe: ${describePrediction('open suite', prediction())}`]);
    expect(stageProgressLines({ ...state(null, null), stage: 'build' })).toEqual([]);
  });

  it('reads an ended stage from its record, and nothing from a record without a prediction or progress', () => {
    const view = recordedProgressView({ stage: 'closed-eval', startedAt: c.startedAt, endedAt: c.endedAt, details: c.details })!;
    expect(view.lines).toEqual(['answered 80/200 in 20m (4.0/min)', `probe: ${describePrediction('closed suite', view.prediction!)}`]);
    expect(view).toMatchObject({ running: false, answered: 80, total: 200, perMinute: 4, pastLimit: false });
    expect(recordedProgressView({ stage: 'fine-tune', startedAt: null, endedAt: null, details: { progress: { step: 3, totalSteps: 9 } } })).toBeNull();
  });
});
