/**
 * The work list of an evaluation as a cursor: each instance, then its perturbed variants where the
 * scenario asks for them, produced one at a time in suite order, so no array of every item is held.
 * An order option puts chosen items first (the throughput probe's sample, domain/harness/throughput.ts),
 * then every other item in suite order; each item still comes exactly once.
 */
import { perturbedVariants, type PerturbationKind, type Scenario, type Suite, type SuiteInstance } from './suite.js';
import { answerKey, variantAnswerId, variantBase } from './answers.js';

export interface WorkItem {
  scenario: Scenario;
  /** the instance as asked: the original, or one of its perturbed variants */
  instance: SuiteInstance;
  /** the id its answer is stored under: the instance id, or `<id>~<perturbation>` for a variant */
  answerId: string;
  /** the original instance id, and the kind of perturbation (null for the original) */
  instanceId: string;
  kind: PerturbationKind | null;
}

export interface WorkOrder {
  /** answerKey(scenario, answerId) of the items to produce first, in suite order; the rest follow */
  first?: ReadonlySet<string>;
}

/** Everything a suite asks, one item at a time (see the module comment). */
export function* eachWorkItem(suite: Suite, order: WorkOrder = {}): Generator<WorkItem, void, undefined> {
  const first = order.first;
  if (!first || first.size === 0) return yield* suiteOrder(suite);
  const isFirst = (item: WorkItem) => first.has(answerKey(item.scenario.name, item.answerId));
  // The first pass makes variants only of the instances it needs (perturbing is most of a pass's cost).
  const bases = new Set([...first].map((key) => `${key.slice(0, key.indexOf('/'))}/${variantBase(key.slice(key.indexOf('/') + 1)).base}`));
  for (const scenario of suite.scenarios)
    for (const instance of scenario.instances) {
      if (!bases.has(answerKey(scenario.name, instance.id))) continue;
      for (const item of instanceItems(scenario, instance)) if (isFirst(item)) yield item;
    }
  for (const item of suiteOrder(suite)) if (!isFirst(item)) yield item;
}

function* suiteOrder(suite: Suite): Generator<WorkItem, void, undefined> {
  for (const scenario of suite.scenarios) for (const instance of scenario.instances) yield* instanceItems(scenario, instance);
}

/** One instance's items: the original, then its perturbed variants where the scenario asks for them. */
function* instanceItems(scenario: Scenario, instance: SuiteInstance): Generator<WorkItem, void, undefined> {
  yield { scenario, instance, answerId: instance.id, instanceId: instance.id, kind: null };
  if ((scenario.perturbations ?? []).length === 0) return;
  for (const variant of perturbedVariants(scenario, instance)) {
    yield {
      scenario,
      instance: variant.instance,
      answerId: variantAnswerId(instance.id, variant.perturbation),
      instanceId: instance.id,
      kind: variant.category,
    };
  }
}

/** Everything a suite asks, as an array (tests and small suites; evaluations use eachWorkItem). */
export const workItems = (suite: Suite): WorkItem[] => [...eachWorkItem(suite)];

/** How many items a suite asks, without keeping them. */
export function countWorkItems(suite: Suite): number {
  let count = 0;
  for (const scenario of suite.scenarios) {
    if ((scenario.perturbations ?? []).length === 0) count += scenario.instances.length;
    else for (const instance of scenario.instances) count += 1 + perturbedVariants(scenario, instance).length;
  }
  return count;
}
