/**
 * An evaluation's scores from its stored answers, without holding them: counts and the originals' scores
 * come from the store's tally (SQL aggregates in the databases), and the robustness / fairness columns
 * fold over one scenario's scores at a time, an original and its variants next to each other, so what is
 * held is one instance's scores, not the suite's.
 */
import type { RequestFailureKind } from './contract.js';
import { VARIANT_SUFFIXES, scoresOf, tallyOf, variantBase, type AnswerStore, type AnswerTally, type InstanceAnswer, type StoredScore } from './answers.js';
import {
  PERTURBATION_KINDS,
  groupColumns,
  groupPerturbations,
  perturbationColumn,
  perturbedVariants,
  scenarioColumn,
  scenarioGroups,
  type PerturbationKind,
  type Scenario,
  type Suite,
} from './suite.js';
import { countWorkItems } from './work.js';

export type StopReason = 'deadline' | 'cancelled' | 'server-crashed';

export interface ScenarioResult {
  scenario: string;
  column: string;
  instances: number;
  answered: number;
  failed: number;
  /** the scenario's metric averaged over all instances; unanswered and failed instances count 0 */
  score: number;
  /** every column of the scenario: the metric, then "(Robustness)" / "(Fairness)" worst cases when asked for */
  columns: { column: string; score: number }[];
  /**
   * Set on a group's result only (`scenario` is then the group's name): the scenarios it averages. Its
   * counts are sums over those scenarios, already counted in their own results: never add them again.
   */
  members?: string[];
}

export interface EvaluationSummary {
  total: number;
  answered: number;
  failed: number;
  unanswered: number;
  /** requests sent in this run (resumed instances are not asked again) */
  requestsSent: number;
  stopReason: StopReason | null;
  /** failed instances by why their last request failed (schema, timeout, ...) */
  failuresByKind: Partial<Record<RequestFailureKind, number>>;
  /** one result per scenario of the suite, in suite order, then one per scenario group (with `members`) */
  scenarios: ScenarioResult[];
}

/** How many variant names each kind has: a group with that many of a kind is complete without asking the suite. */
const NAMES_OF_KIND = new Map<PerturbationKind, number>(PERTURBATION_KINDS.map((kind) => [kind, VARIANT_SUFFIXES.filter((s) => s.category === kind).length]));

/**
 * Σ over a scenario's original instances of HELM's per-instance worst case (the minimum over the original
 * and its variants of one kind), fed one stored score at a time, grouped by original. An instance whose
 * original or any variant of the kind is unanswered counts 0, as an unanswered instance does.
 */
class WorstCaseSums {
  readonly sums = new Map<PerturbationKind, number>();
  private base: string | null = null;
  private original: number | undefined;
  private readonly seen = new Map<PerturbationKind, { count: number; min: number }>();
  /** the scenario's instance indexes sorted by id, built on first need (binary search by id) */
  private byId: Int32Array | null = null;

  constructor(
    private readonly scenario: Scenario,
    private readonly kinds: readonly PerturbationKind[],
  ) {
    for (const kind of kinds) this.sums.set(kind, 0);
  }

  add(stored: StoredScore): void {
    const { base, category } = variantBase(stored.instanceId);
    if (base !== this.base) {
      this.close();
      this.base = base;
    }
    if (category === null) {
      this.original = stored.score;
      return;
    }
    const seen = this.seen.get(category) ?? { count: 0, min: Infinity };
    seen.count++;
    seen.min = Math.min(seen.min, stored.score);
    this.seen.set(category, seen);
  }

  finish(): Map<PerturbationKind, number> {
    this.close();
    return this.sums;
  }

  private close(): void {
    const base = this.base;
    const original = this.original;
    this.base = null;
    this.original = undefined;
    const seen = new Map(this.seen);
    this.seen.clear();
    if (base === null || original === undefined) return; // no original answer: every column counts 0
    const instance = this.instance(base);
    if (instance === undefined) return; // not an instance of this suite version
    let expected: Map<PerturbationKind, number> | null = null;
    for (const kind of this.kinds) {
      const got = seen.get(kind) ?? { count: 0, min: Infinity };
      if (got.count < (NAMES_OF_KIND.get(kind) ?? 0)) {
        // Fewer variants than names: either some are unanswered, or the perturbation left the text as it was.
        expected ??= countByKind(this.scenario, instance);
        if (got.count < (expected.get(kind) ?? 0)) continue;
      }
      this.sums.set(kind, (this.sums.get(kind) ?? 0) + Math.min(original, got.min));
    }
  }

  private instance(id: string): Scenario['instances'][number] | undefined {
    const instances = this.scenario.instances;
    if (!this.byId) {
      const order = Int32Array.from(instances.keys());
      order.sort((a, b) => compare(instances[a]!.id, instances[b]!.id));
      this.byId = order;
    }
    let lo = 0;
    let hi = this.byId.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const candidate = instances[this.byId[mid]!]!;
      const order = compare(candidate.id, id);
      if (order === 0) return candidate;
      if (order < 0) lo = mid + 1;
      else hi = mid - 1;
    }
    return undefined;
  }
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function countByKind(scenario: Scenario, instance: Scenario['instances'][number]): Map<PerturbationKind, number> {
  const counts = new Map<PerturbationKind, number>();
  for (const variant of perturbedVariants(scenario, instance)) counts.set(variant.category, (counts.get(variant.category) ?? 0) + 1);
  return counts;
}

const kindsOf = (scenario: Scenario): PerturbationKind[] => PERTURBATION_KINDS.filter((kind) => (scenario.perturbations ?? []).includes(kind));

/** The summary of answers held in memory (tests, reports of small runs). */
export function summarize(suite: Suite, answers: readonly InstanceAnswer[], requestsSent: number, stopReason: StopReason | null): EvaluationSummary {
  const worst = new Map<string, Map<PerturbationKind, number>>();
  for (const scenario of suite.scenarios) {
    const kinds = kindsOf(scenario);
    if (kinds.length === 0) continue;
    const fold = new WorstCaseSums(scenario, kinds);
    for (const stored of scoresOf(answers, scenario.name)) fold.add(stored);
    worst.set(scenario.name, fold.finish());
  }
  return build(suite, tallyOf(answers), worst, requestsSent, stopReason);
}

/** The summary of a store's answers: its tally, and one scenario's scores at a time for the perturbation columns. */
export async function summarizeStore(suite: Suite, store: AnswerStore, requestsSent: number, stopReason: StopReason | null): Promise<EvaluationSummary> {
  const worst = new Map<string, Map<PerturbationKind, number>>();
  for (const scenario of suite.scenarios) {
    const kinds = kindsOf(scenario);
    if (kinds.length === 0) continue;
    const fold = new WorstCaseSums(scenario, kinds);
    for await (const stored of store.scores(scenario.name)) fold.add(stored);
    worst.set(scenario.name, fold.finish());
  }
  return build(suite, await store.tally(), worst, requestsSent, stopReason);
}

function build(
  suite: Suite,
  tally: AnswerTally,
  worst: Map<string, Map<PerturbationKind, number>>,
  requestsSent: number,
  stopReason: StopReason | null,
): EvaluationSummary {
  const scenarios = suite.scenarios.map((scenario): ScenarioResult => {
    const counted = tally.scenarios.get(scenario.name) ?? { answered: 0, failed: 0, originalScoreSum: 0 };
    const instances = scenario.instances.length;
    const columns = [{ column: scenarioColumn(scenario), score: counted.originalScoreSum / instances }];
    for (const kind of kindsOf(scenario))
      columns.push({ column: perturbationColumn(scenario, kind), score: (worst.get(scenario.name)?.get(kind) ?? 0) / instances });
    return {
      scenario: scenario.name,
      column: columns[0]!.column,
      instances,
      answered: counted.answered,
      failed: counted.failed,
      score: columns[0]!.score,
      columns,
    };
  });
  const total = countWorkItems(suite);
  const answered = scenarios.reduce((s, r) => s + r.answered, 0);
  return {
    total,
    answered,
    failed: scenarios.reduce((s, r) => s + r.failed, 0),
    unanswered: total - answered,
    requestsSent,
    stopReason,
    failuresByKind: tally.failuresByKind,
    scenarios: [...scenarios, ...groupResults(suite, scenarios)],
  };
}

/**
 * One result per scenario group: each column is the unweighted mean over the group's scenarios of that
 * column (HELM's macro-average over run specs); a perturbation column averages the scenarios that ask for it.
 */
function groupResults(suite: Suite, results: readonly ScenarioResult[]): ScenarioResult[] {
  return scenarioGroups(suite.scenarios).map((group): ScenarioResult => {
    const mine = group.scenarios.map((scenario) => ({ scenario, result: results[suite.scenarios.indexOf(scenario)]! }));
    const average = (pick: (entry: (typeof mine)[number]) => number | undefined): number => {
      const values = mine.map(pick).filter((v): v is number => v !== undefined);
      return values.reduce((sum, v) => sum + v, 0) / values.length;
    };
    const named = groupColumns(group);
    const columns = [
      { column: named[0]!, score: average((entry) => entry.result.score) },
      ...groupPerturbations(group).map((kind, i) => ({
        column: named[i + 1]!,
        score: average((entry) => entry.result.columns.find((c) => c.column === perturbationColumn(entry.scenario, kind))?.score),
      })),
    ];
    return {
      scenario: group.name,
      column: columns[0]!.column,
      instances: mine.reduce((sum, entry) => sum + entry.result.instances, 0),
      answered: mine.reduce((sum, entry) => sum + entry.result.answered, 0),
      failed: mine.reduce((sum, entry) => sum + entry.result.failed, 0),
      score: columns[0]!.score,
      columns,
      members: group.scenarios.map((scenario) => scenario.name),
    };
  });
}
