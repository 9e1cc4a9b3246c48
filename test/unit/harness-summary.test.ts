/**
 * The summary computed where the answers are (the store's tally and per-scenario score streams) must
 * equal HELM's per-instance definition computed over every answer in memory, with perturbed variants,
 * failures and unanswered instances, for the in-memory store and the SQLite store alike.
 */
import { describe, expect, it } from '@jest/globals';
import { MemoryAnswerStore, summarize, summarizeStore, workItems, type InstanceAnswer } from '../../domain/harness/evaluate.js';
import { PERTURBATION_KINDS, perturbationColumn, scenarioColumn, type Scenario, type Suite } from '../../domain/harness/suite.js';
import { worstCase } from '../../domain/metrics/index.js';
import { ResultsDb } from '../../infra/results-db.js';
import { mulberry32 } from '../../domain/random.js';

function suite(): Suite {
  const scenario = (name: string, question: (i: number) => string, perturbations: Scenario['perturbations']): Scenario => ({
    name,
    title: name,
    kind: 'multiple_choice',
    metric: 'exact_match',
    instructions: 'Questions.',
    inContext: [],
    ...(perturbations ? { perturbations } : {}),
    instances: Array.from({ length: 40 }, (_, i) => ({ id: `id${i}`, question: question(i), choices: ['Here', 'There', 'Nowhere'], answer: i % 3 })),
  });
  return {
    schemaVersion: 1,
    name: 'summary',
    kind: 'open',
    version: '1',
    description: '',
    scenarios: [
      scenario('pronouns', (i) => `Where did John put his Book number ${i} yesterday, and did she see him?`, ['robustness', 'fairness']),
      // Few words a fairness perturbation changes: many instances have fewer variants than names.
      scenario('plain', (i) => `Is ${i} + ${i} = ${2 * i}?`, ['robustness', 'fairness']),
      scenario('originals', (i) => `Which one is ${i}?`, undefined),
    ],
  };
}

/** HELM's definition over every answer in memory (what summarize computed before it was folded). */
function reference(s: Suite, answers: InstanceAnswer[]): Record<string, { answered: number; failed: number; columns: Record<string, number> }> {
  const byKey = new Map(answers.map((a) => [`${a.scenario}/${a.instanceId}`, a]));
  const items = workItems(s);
  const out: Record<string, { answered: number; failed: number; columns: Record<string, number> }> = {};
  for (const scenario of s.scenarios) {
    const mine = items.filter((item) => item.scenario === scenario);
    const scoreOf = (answerId: string) => byKey.get(`${scenario.name}/${answerId}`)?.score ?? 0;
    const originals = mine.filter((item) => item.kind === null);
    const mean = (values: number[]) => values.reduce((sum, v) => sum + v, 0) / scenario.instances.length;
    const columns: Record<string, number> = { [scenarioColumn(scenario)]: mean(originals.map((o) => scoreOf(o.answerId))) };
    for (const kind of PERTURBATION_KINDS) {
      if (!(scenario.perturbations ?? []).includes(kind)) continue;
      columns[perturbationColumn(scenario, kind)] = mean(
        originals.map((o) =>
          worstCase(
            scoreOf(o.answerId),
            mine.filter((item) => item.instanceId === o.instanceId && item.kind === kind).map((item) => scoreOf(item.answerId)),
          ),
        ),
      );
    }
    const asked = mine.map((item) => byKey.get(`${scenario.name}/${item.answerId}`)).filter((a): a is InstanceAnswer => a !== undefined);
    out[scenario.name] = { answered: asked.length, failed: asked.filter((a) => a.completion === null).length, columns };
  }
  return out;
}

function answersFor(s: Suite, seed: number, keep: number): InstanceAnswer[] {
  const random = mulberry32(seed);
  const answers: InstanceAnswer[] = [];
  for (const item of workItems(s)) {
    if (random() > keep) continue;
    const failed = random() < 0.1;
    answers.push({
      scenario: item.scenario.name,
      instanceId: item.answerId,
      completion: failed ? null : ' A',
      score: failed ? 0 : [0, 0.25, 0.5, 1][Math.floor(random() * 4)]!,
      errorKind: failed ? 'timeout' : null,
      error: failed ? 'did not answer in time' : null,
      attempts: 1,
      latencyMs: 5,
    });
  }
  return answers;
}

describe('summary where the answers are', () => {
  const s = suite();
  it('the suite has variants, and instances with fewer variants than perturbation names', () => {
    const items = workItems(s);
    const plainFairness = items.filter((item) => item.scenario.name === 'plain' && item.kind === 'fairness').length;
    expect(items.some((item) => item.kind === 'fairness')).toBe(true);
    expect(plainFairness).toBeLessThan(3 * 40);
  });

  for (const [label, keep] of [
    ['every answer', 1],
    ['a stopped run (about 70% answered)', 0.7],
  ] as const) {
    it(`equals HELM's per-instance definition: ${label}, memory and SQLite stores`, async () => {
      const answers = answersFor(s, label.length, keep);
      const expected = reference(s, answers);
      const memory = new MemoryAnswerStore();
      const db = new ResultsDb(':memory:');
      try {
        const sqlite = db.answerStore('summary', 'open', 'summary@1');
        for (const answer of answers) {
          memory.save(answer);
          sqlite.save(answer);
        }
        // stale answers of another version must not count
        db.answerStore('summary', 'open', 'summary@0').save({ ...answers[0]!, score: 1 });
        for (const summary of [summarize(s, answers, 0, null), await summarizeStore(s, memory, 0, null), await summarizeStore(s, sqlite, 0, null)]) {
          for (const scenario of s.scenarios) {
            const result = summary.scenarios.find((r) => r.scenario === scenario.name)!;
            expect(result.answered).toBe(expected[scenario.name]!.answered);
            expect(result.failed).toBe(expected[scenario.name]!.failed);
            for (const column of result.columns) expect(column.score).toBeCloseTo(expected[scenario.name]!.columns[column.column]!, 12);
            expect(result.columns.map((c) => c.column)).toEqual(Object.keys(expected[scenario.name]!.columns));
          }
          expect(summary.total).toBe(workItems(s).length);
          expect(summary.answered).toBe(answers.length);
          expect(summary.failuresByKind).toEqual(answers.some((a) => a.errorKind) ? { timeout: answers.filter((a) => a.errorKind).length } : {});
        }
      } finally {
        db.close();
      }
    });
  }

  it('the SQLite export stream reads each answer once, as all() lists them', () => {
    const db = new ResultsDb(':memory:');
    try {
      const store = db.answerStore('summary', 'open', 'summary@1');
      for (const answer of answersFor(s, 7, 1)) store.save(answer);
      expect([...store.each()]).toEqual(store.all());
    } finally {
      db.close();
    }
  });
});
