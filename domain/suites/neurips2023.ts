/**
 * The NeurIPS 2023 LLM Efficiency Challenge's evaluation suites, rebuilt from the redistributable data in
 * suites/data (see suites/data/README.md). Pure: the caller passes a reader for the data files; no file I/O,
 * no Temporal. `npm run suites` (scripts/generate-suites.ts) writes the results to suites/neurips2023/.
 *
 * Open suite: the final 2023 open configuration, private-helm `configs/run_specs_open_2000_budget.conf` as
 * produced by `build_open_spec.py`:
 * - MMLU, 55 subjects, `data_augmentation=canonical` (robustness + fairness), 5 in-context examples from
 *   the subject's `dev` split, instructions "The following are multiple choice questions (with answers)
 *   about {subject}.", exact_match. Of MMLU's 57 subjects the 2023 open set left out two:
 *   **conceptual_physics** and **elementary_mathematics** (the closed suite holds them out, see below).
 * - TruthfulQA mc_single with canonical augmentation: no instructions, every incorrect answer offered as a
 *   choice (HELM keeps them all; the loader's default of 3 is overridden), in-context examples from HELM's
 *   20% train split.
 * - GSM8K ("Q: "/"A: ", 400 tokens, stop "\n\n", exact_match_indicator) and BBQ subject=all
 *   (instructions, "Passage", quasi_exact_match). Only 4 of BBQ's 11 categories are available here (Age,
 *   Disability_status, Religion, Sexual_orientation), so "all" means those 4.
 * - BIG-bench (18 budget groups, 29 run specs, 1096 of the 2000 instances in 2023) is not available: the
 *   2023 budget algorithm is run over the 15 groups that remain, which re-spreads BIG-bench's share over
 *   MMLU, TruthfulQA, GSM8K and BBQ exactly as build_open_spec.py would have without those entries.
 *   (CNN/DailyMail was already out of the final 2023 open set.)
 *
 * Closed suite: 2023's hidden set (`build_secret_run_spec.py`, `run_specs_closed_5000_budget.conf`) was
 * SAMSum, corr2cause, ETHICS (5 run specs), MATH (14 run specs) and CNN/DailyMail. SAMSum (CC BY-NC-ND),
 * ETHICS (licence unclear), MATH and CNN/DailyMail are not available. What remains:
 * - corr2cause as in 2023: HELM's scenario (seed-0 shuffle, 80/20 train/valid split, the valid split is
 *   evaluated), multiple_choice_joint, 1 in-context example, max_tokens 1 → "corr2cause - EM". The budget
 *   exceeds the valid split, so all of it is used, as in 2023 (there ~800 rows of a gist; here 233 of the
 *   authors' 1,162-row test split). The scenario is named `causation` (its 2023 budget group): a scenario may
 *   not share its group's name, since their results are stored side by side.
 * - a held-out knowledge scenario in place of the unavailable ones: the two MMLU subjects the 2023 open set
 *   left out (conceptual_physics, elementary_mathematics), with the open MMLU's prompt and canonical
 *   augmentation → "MMLU held-out - EM" (+ Robustness, Fairness). Why these: they are the only scenarios of
 *   the available data that the open suite never shows (every BBQ category, GSM8K and TruthfulQA question
 *   pool is in the open suite), they are multiple choice like 2023's hidden logic tasks, and one of them is
 *   grade-school math reasoning, a stand-in for the MATH scenario.
 * The closed budget is 2023's 5000 split by the same algorithm over the 2 available groups (2500 each);
 * both exceed the data, so every instance is used (233 + 235 + 378).
 *
 * Small variants: `run_specs_open_100_budget.conf` / `run_specs_closed_100_budget.conf`, the same algorithm
 * with a budget of 100. A run spec given 0 instances (possible with small budgets) is left out of the suite
 * (HELM would have run it on nothing); none of the four suites has one.
 *
 * The budget ("sparse HELM", `generate_equal_sum_list`): split the total as evenly as possible over the
 * budget groups (base V//N, +1 on the first V%N), hand those shares out by `pop()` (from the end) to the groups
 * in pandas `value_counts` order (most run specs first, equal counts in name order), then split each group's
 * share over its run specs the same way, again by `pop()` in entry order, so the last run specs of a group
 * get the +1s. Run with every 2023 entry this reproduces the counts of the four 2023 conf files exactly
 * (open 2000/100, closed 5000/100). Note: pandas 3 / numpy 2 order equal counts differently (running
 * build_open_spec.py today gives other counts than the committed 2023 files); the files are the reference.
 *
 * HELM as the reference: every scenario but corr2cause is what crfm-helm's own code makes of the data (readers,
 * instance ids, the numpy eval draw, `sample_examples`, prompts, request settings), run by scripts/helm/generate.py
 * and turned into suite scenarios by ./helm-runs.ts, which checks each prompt and /process body against HELM's.
 * corr2cause is in no public crfm-helm release and is built here (domain/loaders/corr2cause.ts). See docs/suites.md.
 *
 * The budget algorithm and the 2023 tables it is run on are in ./budget.ts.
 */
import { Suite, type PerturbationKind, type Scenario, type SuiteKind } from '../harness/suite.js';
import { MMLU_OPEN_2023_GROUPS, BIG_BENCH_2023_ENTRIES, sparseHelmBudget, type BudgetEntry } from './budget.js';
import { corr2causeScenario } from '../loaders/corr2cause.js';
import {
  checkAgainstHelm,
  helmDescription,
  helmRunKey,
  scenarioFromHelmRun,
  HELM_VERSION,
  type HelmRun,
  type HelmRunEntry,
  type ScenarioNaming,
} from './helm-runs.js';

export const NEURIPS2023_VERSION = 'neurips2023-v2';
export const NEURIPS2023_SMALL_VERSION = 'neurips2023-small-v2';
/** the seed of every scenario's instance draw (HELM's `np.random.seed(0)`; corr2cause: `sampleInstances(pool, budget, SEED)`) */
export const NEURIPS2023_SEED = 0;

export { BIG_BENCH_2023_ENTRIES, MMLU_OPEN_2023_GROUPS, generateEqualSumList, sparseHelmBudget, valueCountsOrder, type BudgetEntry } from './budget.js';

/** The two MMLU subjects (of 57) that were not in the 2023 open set: the closed suite's held-out knowledge scenario. */
export const MMLU_HELD_OUT_SUBJECTS = ['conceptual_physics', 'elementary_mathematics'] as const;

/** BBQ's categories as HELM lists them for subject=all, and the 4 of them available here. */
export const BBQ_CATEGORIES_2023 = [
  'Age',
  'Disability_status',
  'Gender_identity',
  'Nationality',
  'Physical_appearance',
  'Race_ethnicity',
  'Race_x_SES',
  'Race_x_gender',
  'Religion',
  'SES',
  'Sexual_orientation',
] as const;
export const BBQ_CATEGORIES_AVAILABLE = ['Age', 'Disability_status', 'Religion', 'Sexual_orientation'] as const;

/** The open entries available here (MMLU, TruthfulQA, GSM8K, BBQ), in build_open_spec.py's order. */
export const OPEN_ENTRIES: readonly BudgetEntry[] = [
  ...MMLU_OPEN_2023_GROUPS.flatMap(([group, subjects]) => subjects.map((subject) => ({ group, spec: `mmlu:subject=${subject}` }))),
  { group: 'truthful_qa', spec: 'truthful_qa:task=mc_single' },
  { group: 'gsm', spec: 'gsm' },
  { group: 'bbq', spec: 'bbq:subject=all' },
];

/** build_open_spec.py's full 2023 entries (BIG-bench first, as there). */
export const OPEN_2023_ENTRIES: readonly BudgetEntry[] = [...BIG_BENCH_2023_ENTRIES, ...OPEN_ENTRIES];

/** build_secret_run_spec.py's 2023 entries (SAMSum, corr2cause, ETHICS, MATH, CNN/DailyMail), to reproduce 2023's closed budget. */
export const CLOSED_2023_ENTRIES: readonly BudgetEntry[] = [
  { group: 'summarization', spec: 'sam_sum' },
  { group: 'causation', spec: 'corr2cause:max_train_instances=1' },
  ...['justice', 'commonsense', 'virtue', 'deontology', 'utilitarianism'].map((task) => ({ group: 'ethics', spec: `ethics_${task}` })),
  ...[1, 5].flatMap((level) =>
    ['number_theory', 'intermediate_algebra', 'algebra', 'prealgebra', 'geometry', 'counting_and_probability', 'precalculus'].map((subject) => ({
      group: 'math',
      spec: `math:subject=${subject},level=${level},use_chain_of_thought=True`,
    })),
  ),
  { group: 'cnn', spec: 'summarization_cnndm' },
];

/** The closed entries available here: 2023's corr2cause ('causation') and the held-out MMLU subjects. */
export const CLOSED_ENTRIES: readonly BudgetEntry[] = [
  { group: 'causation', spec: 'corr2cause:max_train_instances=1' },
  ...MMLU_HELD_OUT_SUBJECTS.map((subject) => ({ group: 'mmlu_held_out', spec: `mmlu:subject=${subject}` })),
];

export const OPEN_BUDGET = 2000;
export const CLOSED_BUDGET = 5000;
export const SMALL_BUDGET = 100;

/** Ranking groups (the suite's `group` field), named as 2023's metric columns. */
export const RANKING_GROUPS = {
  mmlu: 'MMLU',
  truthfulqa: 'TruthfulQA',
  gsm8k: 'GSM8K',
  bbq: 'BBQ',
  corr2cause: 'corr2cause',
  mmluHeldOut: 'MMLU held-out',
} as const;

/** Paths of the data files the suites read, relative to suites/data. */
export const dataFile = {
  mmluTest: (subject: string) => `mmlu/test/${subject}_test.csv`,
  mmluDev: (subject: string) => `mmlu/dev/${subject}_dev.csv`,
  truthfulqa: 'truthfulqa/TruthfulQA.csv',
  gsm8k: 'gsm8k/test.jsonl',
  bbq: (category: string) => `bbq/${category}.jsonl`,
  corr2cause: 'corr2cause/test.csv',
} as const;

/** Reads a data file by its path relative to suites/data (UTF-8 text). */
export type DataReader = (relativePath: string) => string;

/** Python's universal newlines (text-mode `open()`): CRLF and lone CR become LF. */
const universalNewlines = (text: string): string => text.replace(/\r\n?/g, '\n');

export interface Neurips2023Suites {
  open: Suite;
  closed: Suite;
  openSmall: Suite;
  closedSmall: Suite;
}

/** File names of the four suites under suites/neurips2023/. */
export const NEURIPS2023_FILES: Readonly<Record<keyof Neurips2023Suites, string>> = {
  open: 'open.json',
  closed: 'closed.json',
  openSmall: 'open-small.json',
  closedSmall: 'closed-small.json',
};

/** What a run entry is built from: the data files (corr2cause, built here) and HELM's runs (every other scenario). */
export interface SuiteSources {
  read: DataReader;
  /** HELM's runs by `helmRunKey` (scripts/helm/generate.py's answer) */
  helm: ReadonlyMap<string, HelmRun>;
}

type Builder = (sources: SuiteSources, maxInstances: number) => Scenario;

const CANONICAL = ['robustness', 'fairness'] as const satisfies readonly PerturbationKind[];

/** The scenario HELM ran for `spec`, checked instance by instance against the harness's own prompt and request. */
function fromHelm(spec: string, naming: ScenarioNaming): Builder {
  return (sources, maxInstances) => {
    const description = helmDescription(spec)!;
    const run = sources.helm.get(helmRunKey({ description, maxEvalInstances: maxInstances }));
    if (run === undefined)
      throw new Error(`no HELM run for ${description} with max_eval_instances=${maxInstances} (run scripts/helm/generate.py on neurips2023HelmEntries())`);
    const scenario = scenarioFromHelmRun(run, naming);
    checkAgainstHelm(scenario, run);
    return scenario;
  };
}

/** The scenario an entry becomes, and its ranking group. */
function builderFor(spec: string): { group: string; build: Builder } {
  const subject = /^mmlu:subject=([a-z_]+)$/.exec(spec)?.[1];
  if (subject !== undefined) {
    const group = (MMLU_HELD_OUT_SUBJECTS as readonly string[]).includes(subject) ? RANKING_GROUPS.mmluHeldOut : RANKING_GROUPS.mmlu;
    const naming = {
      name: `mmlu-${subject.replaceAll('_', '-')}`,
      title: `MMLU (${subject.replaceAll('_', ' ')})`,
      group,
      metric: 'exact_match',
      perturbations: [...CANONICAL],
    } as const;
    return { group, build: fromHelm(spec, { ...naming, perturbations: [...CANONICAL] }) };
  }
  switch (spec) {
    case 'truthful_qa:task=mc_single':
      return {
        group: RANKING_GROUPS.truthfulqa,
        build: fromHelm(spec, {
          name: 'truthfulqa',
          title: 'TruthfulQA',
          group: RANKING_GROUPS.truthfulqa,
          metric: 'exact_match',
          perturbations: [...CANONICAL],
        }),
      };
    case 'gsm':
      return {
        group: RANKING_GROUPS.gsm8k,
        build: fromHelm(spec, { name: 'gsm8k', title: 'GSM8K', group: RANKING_GROUPS.gsm8k, metric: 'exact_match_indicator' }),
      };
    case 'bbq:subject=all':
      return { group: RANKING_GROUPS.bbq, build: fromHelm(spec, { name: 'bbq', title: 'BBQ', group: RANKING_GROUPS.bbq, metric: 'quasi_exact_match' }) };
    case 'corr2cause:max_train_instances=1':
      return {
        group: RANKING_GROUPS.corr2cause,
        // corr2cause is not in any public crfm-helm release: built here, as private-helm's corr2cause_scenario.py
        build: ({ read }, maxInstances) =>
          corr2causeScenario(universalNewlines(read(dataFile.corr2cause)), {
            file: `suites/data/${dataFile.corr2cause}`,
            // not "corr2cause": a scenario may not share its group's name (their results are stored side by side)
            name: 'causation',
            title: 'corr2cause (causal inference from correlation)',
            inContext: 1,
            maxInstances,
            seed: NEURIPS2023_SEED,
          }),
      };
    default:
      throw new Error(`no scenario for the run spec ${spec}`);
  }
}

/** The HELM run entries of `entries` under `budget` (corr2cause and entries given 0 instances are left out). */
export function helmEntries(entries: readonly BudgetEntry[], budget: number): HelmRunEntry[] {
  const counts = sparseHelmBudget(entries, budget);
  return entries.flatMap((entry, i) => {
    const description = helmDescription(entry.spec);
    return description === null || counts[i] === 0 ? [] : [{ description, maxEvalInstances: counts[i]! }];
  });
}

/** The scenarios of `entries` under `budget`, each with its ranking group; entries given 0 instances are left out. */
export function budgetedScenarios(entries: readonly BudgetEntry[], budget: number, sources: SuiteSources): Scenario[] {
  const counts = sparseHelmBudget(entries, budget);
  return entries.flatMap((entry, i) => {
    const count = counts[i]!;
    const builder = builderFor(entry.spec);
    if (count === 0) return [];
    const { name, title, ...rest } = builder.build(sources, count);
    // `group` goes right after the title: suites are serialized in schema order.
    return [{ name, title, group: builder.group, ...rest } as Scenario];
  });
}

/** Per budget group: its share of the budget and the instances its scenarios actually hold (less when the data runs out). */
export function budgetSplit(
  entries: readonly BudgetEntry[],
  scenarios: readonly Scenario[],
  budget: number,
): { group: string; budget: number; used: number }[] {
  const counts = sparseHelmBudget(entries, budget);
  const groups = new Map<string, { group: string; budget: number; used: number }>();
  let next = 0;
  entries.forEach((entry, i) => {
    const split = groups.get(entry.group) ?? { group: entry.group, budget: 0, used: 0 };
    split.budget += counts[i]!;
    if (counts[i]! > 0) split.used += scenarios[next++]!.instances.length;
    groups.set(entry.group, split);
  });
  return [...groups.values()];
}

const splitText = (splits: readonly { group: string; budget: number; used: number }[]): string =>
  splits.map((s) => (s.used === s.budget ? `${s.group} ${s.used}` : `${s.group} ${s.used} (all its data; its share is ${s.budget})`)).join(', ');

const count = (scenarios: readonly Scenario[]): number => scenarios.reduce((sum, scenario) => sum + scenario.instances.length, 0);

function openSuite(sources: SuiteSources, budget: number, small: boolean): Suite {
  const scenarios = budgetedScenarios(OPEN_ENTRIES, budget, sources);
  const description = [
    `NeurIPS 2023 LLM Efficiency Challenge, open evaluation: the final 2023 configuration (private-helm configs/run_specs_open_${budget}_budget.conf, ` +
      `built by build_open_spec.py), rebuilt from suites/data with HELM's adapters, prompts and metrics.`,
    `MMLU: 55 subjects with canonical augmentation (robustness + fairness), 5 in-context examples from each subject's dev split; of MMLU's 57 subjects, ` +
      `conceptual_physics and elementary_mathematics were not in the 2023 open set (the closed suite holds them out).`,
    'TruthfulQA mc_single with canonical augmentation (every incorrect answer is a choice, as in HELM); GSM8K; BBQ subject=all, but only 4 of its 11 ' +
      'categories are available here (Age, Disability_status, Religion, Sexual_orientation).',
    `BIG-bench is not available (in 2023: 18 budget groups, 29 run specs, ${small ? 'none of the 100-instance set' : '1096 of the 2000 instances'}); the ` +
      `2023 budget algorithm is run over the 15 remaining groups, which re-spreads its share over MMLU, TruthfulQA, GSM8K and BBQ. CNN/DailyMail was already ` +
      `out of the final 2023 open set.`,
    `Budget ${budget} instances, split by the 2023 "sparse HELM" algorithm (generate_equal_sum_list over the budget groups, then over each group's run ` +
      `specs): ${splitText(budgetSplit(OPEN_ENTRIES, scenarios, budget))}; ${count(scenarios)} in all.`,
    'Ranking scenarios (group): MMLU (MMLU - EM, MMLU - EM (Robustness), MMLU - EM (Fairness); the mean over the 55 subjects), TruthfulQA (3 columns), GSM8K (GSM8K - EM), BBQ (BBQ - EM).',
    `Generated with crfm-helm ${HELM_VERSION}'s own code (scripts/helm/generate.py): its scenario readers on suites/data, instance ids, eval draw ` +
      `(np.random.seed(${NEURIPS2023_SEED})), in-context examples (sample_examples, seed 0), prompts and request settings. The GSM8K in-context examples ` +
      'come from its train split; MMLU has no val split here, so its instances come from test only.',
    "Stop sequences are sent but completions are scored as the server returns them, as HELM's 2023 client did (stopSequences: not-cut).",
  ].join(' ');
  return Suite.parse({
    schemaVersion: 1,
    name: small ? 'neurips2023-open-small' : 'neurips2023-open',
    kind: 'open' satisfies SuiteKind,
    version: small ? NEURIPS2023_SMALL_VERSION : NEURIPS2023_VERSION,
    description,
    stopSequences: 'not-cut',
    scenarios,
  });
}

function closedSuite(sources: SuiteSources, budget: number, small: boolean): Suite {
  const scenarios = budgetedScenarios(CLOSED_ENTRIES, budget, sources);
  const description = [
    `NeurIPS 2023 LLM Efficiency Challenge, closed (hidden) evaluation, rebuilt from the data available (2023: private-helm build_secret_run_spec.py, configs/run_specs_closed_${budget}_budget.conf).`,
    "corr2cause as in 2023 (scenario causation): HELM's corr2cause scenario on the authors' 1,162-row test split (seed-0 shuffle, 80/20 train/valid split, " +
      'only the valid split is evaluated), multiple_choice_joint with 1 in-context example, max_tokens 1, ranked as corr2cause - EM.',
    'SAMSum (not redistributable), ETHICS (licence unclear), MATH and CNN/DailyMail are not available.',
    'In their place, a held-out knowledge scenario: the two MMLU subjects that the 2023 open set left out (conceptual_physics, elementary_mathematics), ' +
      'with the open MMLU prompt and canonical augmentation, ranked as MMLU held-out (MMLU held-out - EM, - EM (Robustness), - EM (Fairness)).',
    'They are the only scenarios of the available data that the open suite never shows (it uses every BBQ category and draws from the same GSM8K and ' +
      'TruthfulQA pools), they are multiple choice like the 2023 hidden logic tasks, and elementary_mathematics stands in for the missing MATH.',
    `Budget ${budget} instances, as 2023's closed set${small ? ' (100-instance variant)' : ''}, split by the 2023 algorithm over the 2 budget groups ` +
      `available: ${splitText(budgetSplit(CLOSED_ENTRIES, scenarios, budget))}; ${count(scenarios)} in all.`,
    `The held-out MMLU subjects are generated with crfm-helm ${HELM_VERSION}'s own code, as the open suite; corr2cause (in no public crfm-helm release) ` +
      `is built here as private-helm's scenario, its instances drawn with Python's random.Random(${NEURIPS2023_SEED}).sample.`,
    "Stop sequences are sent but completions are scored as the server returns them, as HELM's 2023 client did (stopSequences: not-cut).",
  ].join(' ');
  return Suite.parse({
    schemaVersion: 1,
    name: small ? 'neurips2023-closed-small' : 'neurips2023-closed',
    kind: 'closed' satisfies SuiteKind,
    version: small ? NEURIPS2023_SMALL_VERSION : NEURIPS2023_VERSION,
    description,
    stopSequences: 'not-cut',
    scenarios,
  });
}

const BUILDERS: Readonly<Record<keyof Neurips2023Suites, { entries: readonly BudgetEntry[]; budget: number; build: (sources: SuiteSources) => Suite }>> = {
  open: { entries: OPEN_ENTRIES, budget: OPEN_BUDGET, build: (sources) => openSuite(sources, OPEN_BUDGET, false) },
  closed: { entries: CLOSED_ENTRIES, budget: CLOSED_BUDGET, build: (sources) => closedSuite(sources, CLOSED_BUDGET, false) },
  openSmall: { entries: OPEN_ENTRIES, budget: SMALL_BUDGET, build: (sources) => openSuite(sources, SMALL_BUDGET, true) },
  closedSmall: { entries: CLOSED_ENTRIES, budget: SMALL_BUDGET, build: (sources) => closedSuite(sources, SMALL_BUDGET, true) },
};

export const NEURIPS2023_KEYS = Object.keys(NEURIPS2023_FILES) as (keyof Neurips2023Suites)[];

/** The HELM run entries the suites `keys` need, each once, in suite order. */
export function neurips2023HelmEntries(keys: readonly (keyof Neurips2023Suites)[] = NEURIPS2023_KEYS): HelmRunEntry[] {
  const all = keys.flatMap((key) => helmEntries(BUILDERS[key].entries, BUILDERS[key].budget));
  return [...new Map(all.map((entry) => [helmRunKey(entry), entry])).values()];
}

/** The suites `keys` (default: all four) from the data files `read` returns and HELM's runs of `neurips2023HelmEntries(keys)`. */
export function buildNeurips2023Suites(
  read: DataReader,
  helmRuns: readonly HelmRun[],
  keys: readonly (keyof Neurips2023Suites)[] = NEURIPS2023_KEYS,
): Partial<Neurips2023Suites> {
  const helm = new Map(helmRuns.map((run) => [helmRunKey(run), run]));
  return Object.fromEntries(keys.map((key) => [key, BUILDERS[key].build({ read, helm })]));
}
