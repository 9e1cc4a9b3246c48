/**
 * Answers as the harness keeps them, and what it asks of the store that holds them. The store answers
 * with aggregates and one-row-at-a-time streams, never with every answer at once, so an evaluation's
 * memory does not grow with the size of its suite (bench/harness-memory.ts).
 */
import { PERTURBATION_CATEGORY, type PerturbationCategory, type PerturbationName } from '../metrics/index.js';
import type { RequestFailureKind } from './contract.js';

export interface InstanceAnswer {
  scenario: string;
  instanceId: string;
  /** null when no valid answer came back after every attempt */
  completion: string | null;
  score: number;
  errorKind: RequestFailureKind | null;
  error: string | null;
  attempts: number;
  latencyMs: number;
  /** the completion's log-probability (sum over its tokens) as the server reported it; null without an answer */
  logprob?: number | null;
  /** tokens the server generated for the completion (before our stop-sequence cut) */
  completionTokens?: number | null;
  /** the server's own `request_time`, in ms: the model's share of latencyMs */
  serverMs?: number | null;
}

/** The stored answers of one evaluation, counted where they are stored (SQL aggregates in the databases). */
export interface AnswerTally {
  /** per scenario: answers stored (originals and perturbed variants), how many of them failed, Σ score of the originals */
  scenarios: Map<string, { answered: number; failed: number; originalScoreSum: number }>;
  failuresByKind: Partial<Record<RequestFailureKind, number>>;
}

/** One stored score, as the perturbation columns read it. */
export interface StoredScore {
  instanceId: string;
  score: number;
}

type Awaitable<T> = T | Promise<T>;

/**
 * Where answers live between attempts of an evaluation (the results database in production: SQLite
 * answers at once, PostgreSQL with a promise). An answer counts as kept once `save` has resolved.
 */
export interface AnswerStore {
  /** keys `${scenario}/${instanceId}` of instances already answered (successfully or not) */
  answeredKeys(): Awaitable<Set<string>>;
  save(answer: InstanceAnswer): Awaitable<void>;
  /** every answer at once: for small reads (web pages, tests); evaluations use tally / scores / each */
  all(): Awaitable<InstanceAnswer[]>;
  tally(): Awaitable<AnswerTally>;
  /** one scenario's scores, an original instance and its variants next to each other (see variantBase) */
  scores(scenario: string): Iterable<StoredScore> | AsyncIterable<StoredScore>;
  /** every answer, one at a time (the export) */
  each(): Iterable<InstanceAnswer> | AsyncIterable<InstanceAnswer>;
}

export const answerKey = (scenario: string, instanceId: string): string => `${scenario}/${instanceId}`;

/** How a perturbed variant's answer is stored: `<instance id>~<perturbation name>`. */
export const VARIANT_SEPARATOR = '~';
export const variantAnswerId = (instanceId: string, perturbation: PerturbationName): string => `${instanceId}${VARIANT_SEPARATOR}${perturbation}`;

/** Every perturbation name a variant id may end with, and the suffix it adds. */
export const VARIANT_SUFFIXES: readonly { perturbation: PerturbationName; category: PerturbationCategory; suffix: string }[] = (
  Object.keys(PERTURBATION_CATEGORY) as PerturbationName[]
).map((perturbation) => ({ perturbation, category: PERTURBATION_CATEGORY[perturbation], suffix: `${VARIANT_SEPARATOR}${perturbation}` }));

/** The original instance id of a stored answer id, and the variant's category (null for an original). */
export function variantBase(answerId: string): { base: string; category: PerturbationCategory | null } {
  for (const { suffix, category } of VARIANT_SUFFIXES) {
    if (answerId.length > suffix.length && answerId.endsWith(suffix)) return { base: answerId.slice(0, -suffix.length), category };
  }
  return { base: answerId, category: null };
}

/** The tally of answers held in memory (the in-memory store; summarize over an array). */
export function tallyOf(answers: Iterable<InstanceAnswer>): AnswerTally {
  const tally: AnswerTally = { scenarios: new Map(), failuresByKind: {} };
  for (const answer of answers) {
    const entry = tally.scenarios.get(answer.scenario) ?? { answered: 0, failed: 0, originalScoreSum: 0 };
    entry.answered++;
    if (answer.completion === null) entry.failed++;
    if (variantBase(answer.instanceId).category === null) entry.originalScoreSum += answer.score;
    tally.scenarios.set(answer.scenario, entry);
    if (answer.errorKind) tally.failuresByKind[answer.errorKind] = (tally.failuresByKind[answer.errorKind] ?? 0) + 1;
  }
  return tally;
}

/** One scenario's scores from answers in memory, grouped by original instance. */
export function scoresOf(answers: Iterable<InstanceAnswer>, scenario: string): StoredScore[] {
  const mine: (StoredScore & { base: string })[] = [];
  for (const answer of answers) {
    if (answer.scenario === scenario) mine.push({ instanceId: answer.instanceId, score: answer.score, base: variantBase(answer.instanceId).base });
  }
  mine.sort((a, b) => (a.base < b.base ? -1 : a.base > b.base ? 1 : 0));
  return mine.map(({ instanceId, score }) => ({ instanceId, score }));
}

export class MemoryAnswerStore implements AnswerStore {
  private readonly answers = new Map<string, InstanceAnswer>();
  answeredKeys(): Set<string> {
    return new Set(this.answers.keys());
  }
  save(answer: InstanceAnswer): void {
    this.answers.set(answerKey(answer.scenario, answer.instanceId), answer);
  }
  all(): InstanceAnswer[] {
    return [...this.answers.values()];
  }
  tally(): AnswerTally {
    return tallyOf(this.answers.values());
  }
  scores(scenario: string): StoredScore[] {
    return scoresOf(this.answers.values(), scenario);
  }
  each(): Iterable<InstanceAnswer> {
    return this.answers.values();
  }
}
