/**
 * Throughput probe and stage projections (issue 26): how long a suite will take on a submission's server, told
 * before the stage's limit is spent, and the projected end while it runs.
 *
 * STUB: signatures agreed between the probe (check --serve, the harness's probe-first order, the bench) and the
 * pipeline's progress reporting (activities, workflow, CLI, web). Bodies are written by the probe's author.
 */
import type { Suite } from './suite.js';
import type { WorkItem } from './work.js';

/** The items a probe asks first: every scenario, prompt lengths spread (answers count for the stage as usual). */
export interface ProbeSample {
  answerIds: ReadonlySet<string>;
  items: number;
}

/** What the harness measured once the probe's items were all answered (wall time at the production concurrency). */
export interface ProbeMeasurement {
  items: number;
  wallMs: number;
  concurrency: number;
  /** per answered probe item: its work item's prompt size in characters and the request's wall time */
  requests: { promptChars: number; wallMs: number; scenario: string }[];
}

/** A prediction of a stage's wall time, with an interval, against its limit. */
export interface StagePrediction {
  /** items of the whole stage (instances and their variants) */
  total: number;
  estimateMs: number;
  lowMs: number;
  highMs: number;
  limitMs: number;
  /** true when the high end of the interval is within the limit */
  fits: boolean;
  /** the share of the items expected to be answered within the limit (1 when it fits) */
  answeredShareAtLimit: number;
  /** probe size and the concurrency it ran at */
  sample: number;
  concurrency: number;
}

/** While a stage runs: answered of total, rate, and the projected end against the limit. */
export interface StageEta {
  answered: number;
  total: number;
  /** items per minute over the stage so far */
  perMinute: number;
  /** epoch ms; null until the rate is known */
  projectedEndAt: number | null;
  limitAt: number;
  /** the projection passes the limit */
  pastLimit: boolean;
}

export function probeSample(suite: Suite, options: { size?: number } = {}): ProbeSample {
  void suite;
  void options;
  throw new Error('probeSample: not written yet');
}

export function predictStage(measurement: ProbeMeasurement, suite: Suite, options: { limitMs: number }): StagePrediction {
  void measurement;
  void suite;
  void options;
  throw new Error('predictStage: not written yet');
}

export function projectEta(progress: { answered: number; total: number }, startedAt: number, now: number, limitMs: number): StageEta {
  void progress;
  void startedAt;
  void now;
  void limitMs;
  throw new Error('projectEta: not written yet');
}

/** "open suite: 2,000 items in ≈ 212 min (190–236), limit 300 min: fits" / "… about 81% would be answered". */
export function describePrediction(label: string, prediction: StagePrediction): string {
  void label;
  void prediction;
  throw new Error('describePrediction: not written yet');
}

/** "1,204/2,000 answered, 9.4/min, projected end 14:32 (limit 15:10)" with a warning when past the limit. */
export function describeEta(eta: StageEta): string {
  void eta;
  throw new Error('describeEta: not written yet');
}

export type { WorkItem };
