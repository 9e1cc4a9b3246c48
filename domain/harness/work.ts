/**
 * The work list of an evaluation as a cursor: each instance, then its perturbed variants where the
 * scenario asks for them, produced one at a time in suite order, so no array of every item is held.
 */
import { perturbedVariants, type PerturbationKind, type Scenario, type Suite, type SuiteInstance } from './suite.js';
import { variantAnswerId } from './answers.js';

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

/** Everything a suite asks, one item at a time (see the module comment). */
export function* eachWorkItem(suite: Suite): Generator<WorkItem, void, undefined> {
  for (const scenario of suite.scenarios) {
    const perturbed = (scenario.perturbations ?? []).length > 0;
    for (const instance of scenario.instances) {
      yield { scenario, instance, answerId: instance.id, instanceId: instance.id, kind: null };
      if (!perturbed) continue;
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
