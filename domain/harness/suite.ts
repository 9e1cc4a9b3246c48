/**
 * Evaluation suites as data, and how an instance becomes a prompt, a request and a score, following HELM
 * v0.3.0 as the 2023 challenge ran it (SCORING_AND_METRICS.md §2, §3):
 *
 * - `multiple_choice` scenarios use HELM's "multiple_choice_joint" adapter: instructions, in-context
 *   examples, "A. ..." lines, "Answer:"; one token at temperature 0; the stripped completion is mapped
 *   letter → choice and compared with the gold choice by `exact_match` or `quasi_exact_match`.
 * - `generation` scenarios use HELM's generation adapter with explicit prefixes/suffixes and request
 *   settings (GSM8K: "Q: "/"\nA: ", 400 tokens, stop "\n\n", `exact_match_indicator`; summaries: `rouge_2`).
 * - Optional `perturbations` replay HELM's canonical robustness/fairness augmentation per instance.
 * - Optional `group` names the ranking scenario a scenario belongs to (HELM's metric groups: the 55 MMLU
 *   subject run specs form one "MMLU" column set, macro-averaged); see `scenarioGroups` / `groupColumns`.
 *
 * A suite file written before generation scenarios existed parses unchanged: every new field is optional.
 *
 * Size: over 400 lines because it is the suite file format: every zod schema of a suite file and the loader
 * that reports a bad field by file and path; splitting the schemas from their loader would only add imports.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import {
  applyPerturbation,
  exactMatch,
  exactMatchIndicator,
  f1Score,
  PyRandom,
  pyStrip,
  quasiExactMatch,
  summarizationRouge2,
  type PerturbationCategory,
  type PerturbationName,
} from '../metrics/index.js';

/** Free-form string fields a loader keeps for later analysis (e.g. BBQ's context_condition for the bias metric). */
const InstanceMeta = z.record(z.string(), z.string()).optional();

export const MultipleChoiceInstance = z.object({
  id: z.string().min(1),
  question: z.string().min(1),
  choices: z.array(z.string().min(1)).min(2).max(26),
  answer: z.number().int().min(0),
  meta: InstanceMeta,
});
export type MultipleChoiceInstance = z.infer<typeof MultipleChoiceInstance>;

export const GenerationInstance = z.object({
  id: z.string().min(1),
  input: z.string(),
  /** every reference is correct; the first is the in-context output, the score is the max over all */
  references: z.array(z.string()).min(1),
  meta: InstanceMeta,
});
export type GenerationInstance = z.infer<typeof GenerationInstance>;

export type SuiteInstance = MultipleChoiceInstance | GenerationInstance;

export const PERTURBATION_KINDS = ['robustness', 'fairness'] as const;
export type PerturbationKind = (typeof PERTURBATION_KINDS)[number];

/**
 * How `instances` were drawn out of `from` items: by HELM's `get_run_instances` (`np.random.seed(seed)`,
 * `np.random.choice`) for the suites generated with crfm-helm, by `sampleInstances` for those built here.
 */
export const Sampling = z.object({ seed: z.number().int(), from: z.number().int().min(0) });
export type Sampling = z.infer<typeof Sampling>;

// Field order matters: parsed suites are serialized in schema order (suites/*.json are compared byte for byte).
const nameFields = {
  name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
  title: z.string(),
  /**
   * The ranking scenario this scenario belongs to (e.g. "MMLU" for each of its subjects): its columns are
   * the unweighted mean over the group's scenarios, named after the group. Absent: the scenario ranks alone.
   */
  group: z.string().min(1).optional(),
};
const textFields = {
  /** without a trailing newline; the prompt adds one (HELM `format_instructions`) */
  instructions: z.string(),
  /** HELM canonical augmentation to replay; absent means none */
  perturbations: z.array(z.enum(PERTURBATION_KINDS)).optional(),
  sampling: Sampling.optional(),
};

function checkIds(instances: readonly { id: string }[], ctx: z.RefinementCtx): void {
  const seen = new Set<string>();
  instances.forEach((instance, index) => {
    if (seen.has(instance.id)) ctx.addIssue({ code: 'custom', path: ['instances', index, 'id'], message: `duplicate instance id ${instance.id}` });
    seen.add(instance.id);
  });
}

export const MULTIPLE_CHOICE_METRICS = ['exact_match', 'quasi_exact_match'] as const;

export const MultipleChoiceScenario = z
  .object({
    ...nameFields,
    kind: z.literal('multiple_choice'),
    metric: z.enum(MULTIPLE_CHOICE_METRICS),
    /** HELM input_noun (default "Question"; BBQ uses "Passage") */
    inputNoun: z.string().min(1).optional(),
    /** HELM output_noun (default "Answer") */
    outputNoun: z.string().min(1).optional(),
    ...textFields,
    inContext: z.array(MultipleChoiceInstance),
    instances: z.array(MultipleChoiceInstance).min(1),
  })
  .superRefine((scenario, ctx) => {
    checkIds(scenario.instances, ctx);
    for (const field of ['inContext', 'instances'] as const) {
      scenario[field].forEach((instance, index) => {
        if (instance.answer >= instance.choices.length) {
          ctx.addIssue({ code: 'custom', path: [field, index, 'answer'], message: 'answer index is out of range of choices' });
        }
      });
    }
  });
export type MultipleChoiceScenario = z.infer<typeof MultipleChoiceScenario>;

export const GENERATION_METRICS = ['exact_match_indicator', 'rouge_2', 'quasi_exact_match', 'exact_match', 'f1_score'] as const;
export type GenerationMetric = (typeof GENERATION_METRICS)[number];

export const GenerationFormat = z.object({
  inputPrefix: z.string(),
  inputSuffix: z.string(),
  outputPrefix: z.string(),
  outputSuffix: z.string(),
  /** separator between instructions and examples (HELM instance_prefix, usually "\n") */
  instancePrefix: z.string(),
});
export type GenerationFormat = z.infer<typeof GenerationFormat>;

export const RequestSettings = z.object({
  maxNewTokens: z.number().int().min(1),
  temperature: z.number().min(0),
  stopSequences: z.array(z.string()),
  /** HELM `top_k_per_token` (its Request default 1 for generation, when absent) */
  topKPerToken: z.number().int().min(1).optional(),
});
export type RequestSettings = z.infer<typeof RequestSettings>;

export const GenerationScenario = z
  .object({
    ...nameFields,
    kind: z.literal('generation'),
    metric: z.enum(GENERATION_METRICS),
    ...textFields,
    format: GenerationFormat,
    request: RequestSettings,
    inContext: z.array(GenerationInstance),
    instances: z.array(GenerationInstance).min(1),
  })
  .superRefine((scenario, ctx) => checkIds(scenario.instances, ctx));
export type GenerationScenario = z.infer<typeof GenerationScenario>;

export const Scenario = z.discriminatedUnion('kind', [MultipleChoiceScenario, GenerationScenario]);
export type Scenario = z.infer<typeof Scenario>;
export type ScenarioMetric = Scenario['metric'];

export const SUITE_KINDS = ['open', 'closed'] as const;

/**
 * Whether the harness cuts a completion at the request's stop sequences before scoring it. `not-cut` is 2023's
 * rule: HELM sent the stop sequences and scored the text as the server returned it (its HTTP client never cut,
 * SUBMISSION_CONTRACT.md), so a server that ignores them is scored on the whole text. `cut` (the default when
 * absent) cuts at the first stop sequence on our side.
 */
export const STOP_SEQUENCE_RULES = ['not-cut', 'cut'] as const;
export type StopSequenceRule = (typeof STOP_SEQUENCE_RULES)[number];
export type SuiteKind = (typeof SUITE_KINDS)[number];

export const Suite = z
  .object({
    schemaVersion: z.literal(1),
    name: z.string().min(1),
    kind: z.enum(SUITE_KINDS),
    version: z.string().min(1),
    description: z.string(),
    stopSequences: z.enum(STOP_SEQUENCE_RULES).optional(),
    scenarios: z.array(Scenario).min(1),
  })
  .superRefine((suite, ctx) => {
    const names = new Set(suite.scenarios.map((scenario) => scenario.name));
    for (const group of scenarioGroups(suite.scenarios)) {
      const at = suite.scenarios.indexOf(group.scenarios[0]!);
      // A group's results are stored next to its scenarios' (keyed by scenario name and column): keep them apart.
      if (names.has(group.name)) ctx.addIssue({ code: 'custom', path: ['scenarios', at, 'group'], message: `group ${group.name} has the name of a scenario` });
      const labels = new Set(group.scenarios.map((scenario) => METRIC_LABEL[scenario.metric]));
      if (labels.size > 1) {
        ctx.addIssue({
          code: 'custom',
          path: ['scenarios', at, 'group'],
          message: `the scenarios of group ${group.name} mix metrics (${[...labels].join(', ')})`,
        });
      }
    }
  });
export type Suite = z.infer<typeof Suite>;

export interface ScenarioGroup {
  name: string;
  scenarios: Scenario[];
}

/** The groups of a suite's scenarios, in order of first appearance (ungrouped scenarios are left out). */
export function scenarioGroups(scenarios: readonly Scenario[]): ScenarioGroup[] {
  const groups = new Map<string, Scenario[]>();
  for (const scenario of scenarios) {
    if (scenario.group === undefined) continue;
    const members = groups.get(scenario.group) ?? [];
    members.push(scenario);
    groups.set(scenario.group, members);
  }
  return [...groups].map(([name, members]) => ({ name, scenarios: members }));
}

/** The perturbation kinds any scenario of the group asks for, in PERTURBATION_KINDS order. */
export const groupPerturbations = (group: ScenarioGroup): PerturbationKind[] =>
  PERTURBATION_KINDS.filter((kind) => group.scenarios.some((scenario) => (scenario.perturbations ?? []).includes(kind)));

/** A group's columns, named after the group: "MMLU - EM", then "MMLU - EM (Robustness)" / "(Fairness)" where asked for. */
export function groupColumns(group: ScenarioGroup): string[] {
  const named = { name: group.name, metric: group.scenarios[0]!.metric };
  return [scenarioColumn(named), ...groupPerturbations(group).map((kind) => perturbationColumn(named, kind))];
}

/** Zod issues as "path: message" lines, the path naming the field (e.g. `scenarios.1.instances.4.answer`). */
export function describeIssues(error: z.ZodError, limit = 10): string[] {
  return error.issues.slice(0, limit).map((issue) => `  ${issue.path.join('.') || '(root)'}: ${issue.message}`);
}

export function loadSuite(file: string): Suite {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`suite file ${file}: cannot read it as JSON (${(error as Error).message})`);
  }
  const parsed = Suite.safeParse(raw);
  if (!parsed.success) {
    throw new Error(`suite file ${file} does not follow the suite format:\n${describeIssues(parsed.error).join('\n')}`);
  }
  return parsed.data;
}

export const letter = (index: number): string => String.fromCharCode('A'.charCodeAt(0) + index);

type MultipleChoiceFormat = Pick<MultipleChoiceScenario, 'instructions' | 'inContext'> & Partial<Pick<MultipleChoiceScenario, 'inputNoun' | 'outputNoun'>>;

function renderBlock(scenario: MultipleChoiceFormat, instance: MultipleChoiceInstance, withAnswer: boolean): string {
  const input = scenario.inputNoun ?? 'Question';
  const output = scenario.outputNoun ?? 'Answer';
  const options = instance.choices.map((choice, index) => `${letter(index)}. ${choice}\n`).join('');
  return `${input}: ${instance.question}\n${options}${withAnswer ? `${output}: ${letter(instance.answer)}\n` : `${output}:`}`;
}

/** Python `str.rstrip()`. */
// eslint-disable-next-line no-control-regex -- Python's str.rstrip() strips these control characters too
const rstrip = (s: string): string => s.replace(/[\t\n\v\f\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/u, '');

/** HELM `Prompt.text`: [instructions + "\n" if any] + examples + eval block, joined by instance_prefix. */
function joinBlocks(instructions: string, examples: string[], evalBlock: string, instancePrefix: string): string {
  const blocks = [...(instructions === '' ? [] : [`${instructions}\n`]), ...examples, evalBlock];
  return blocks.join(instancePrefix);
}

const isGenerationScenario = (scenario: MultipleChoiceFormat | Scenario): scenario is GenerationScenario =>
  (scenario as { kind?: unknown }).kind === 'generation';

/**
 * HELM multiple_choice_joint: `instructions\n`, then each example preceded by "\n", the eval block ending
 * in "Answer:". Without instructions the first block starts the prompt (no leading newline).
 * Kept for existing callers that loop over every scenario of a suite: a generation scenario (with a
 * generation instance) is passed on to `instancePrompt`.
 */
export function multipleChoicePrompt(scenario: MultipleChoiceFormat | Scenario, instance: SuiteInstance): string {
  if (isGenerationScenario(scenario)) return instancePrompt(scenario, instance);
  if (!isMultipleChoiceInstance(instance)) throw new Error(`instance ${instance.id} is not a multiple choice instance`);
  const examples = scenario.inContext.map((example) => renderBlock(scenario, example, true));
  return joinBlocks(scenario.instructions, examples, renderBlock(scenario, instance, false), '\n');
}

/**
 * HELM generation adapter: instructions block, then each in-context example
 * `inputPrefix + input + inputSuffix + outputPrefix + references[0] + outputSuffix`, then the eval example
 * `inputPrefix + input + inputSuffix + outputPrefix.rstrip()`, all joined by `instancePrefix`.
 */
export function generationPrompt(scenario: Pick<GenerationScenario, 'instructions' | 'format' | 'inContext'>, instance: GenerationInstance): string {
  const f = scenario.format;
  const examples = scenario.inContext.map(
    (example) => `${f.inputPrefix}${example.input}${f.inputSuffix}${f.outputPrefix}${example.references[0] ?? ''}${f.outputSuffix}`,
  );
  const evalBlock = `${f.inputPrefix}${instance.input}${f.inputSuffix}${rstrip(f.outputPrefix)}`;
  return joinBlocks(scenario.instructions, examples, evalBlock, f.instancePrefix);
}

export const isMultipleChoiceInstance = (instance: SuiteInstance): instance is MultipleChoiceInstance => 'choices' in instance;

function mismatch(scenario: Scenario): Error {
  return new Error(`scenario ${scenario.name} is ${scenario.kind}, but the instance is not a ${scenario.kind} instance`);
}

/** The prompt HELM would send for `instance` of `scenario` (either kind). */
export function instancePrompt(scenario: Scenario, instance: SuiteInstance): string {
  if (scenario.kind === 'multiple_choice') {
    if (!isMultipleChoiceInstance(instance)) throw mismatch(scenario);
    return multipleChoicePrompt(scenario, instance);
  }
  if (isMultipleChoiceInstance(instance)) throw mismatch(scenario);
  return generationPrompt(scenario, instance);
}

/** Request settings HELM used for multiple choice: one new token, temperature 0, no stop sequences. */
export const MULTIPLE_CHOICE_REQUEST = { maxNewTokens: 1, temperature: 0, stopSequences: [] as string[] } as const;

/** What to ask the submission for: MC → 1 token at temperature 0, no stops; generation → the scenario's own. */
export function requestSettings(scenario: Scenario): RequestSettings {
  if (scenario.kind === 'multiple_choice')
    return { maxNewTokens: MULTIPLE_CHOICE_REQUEST.maxNewTokens, temperature: MULTIPLE_CHOICE_REQUEST.temperature, stopSequences: [] };
  return { maxNewTokens: scenario.request.maxNewTokens, temperature: scenario.request.temperature, stopSequences: [...scenario.request.stopSequences] };
}

/** The suite's stop-sequence rule (absent: `cut`). */
export const stopSequenceRule = (suite: Pick<Suite, 'stopSequences'>): StopSequenceRule => suite.stopSequences ?? 'cut';

/** HELM's multiple_choice_joint adapter asks for the top 5 log-probabilities per token (`num_outputs`). */
export const MULTIPLE_CHOICE_TOP_K_PER_TOKEN = 5;

/**
 * Every request field HELM set for the scenario's run spec: `requestSettings` plus `top_k_per_token` (multiple
 * choice: 5, generation: the scenario's own, else HELM's Request default of 1).
 */
export function helmRequest(scenario: Scenario): Required<RequestSettings> {
  const settings = requestSettings(scenario);
  const topKPerToken = scenario.kind === 'multiple_choice' ? MULTIPLE_CHOICE_TOP_K_PER_TOKEN : (scenario.request.topKPerToken ?? 1);
  return { ...settings, topKPerToken };
}

/** HELM output_mapping: the stripped completion must be exactly one of "A", "B", ... */
function mappedChoice(instance: MultipleChoiceInstance, completion: string): string | undefined {
  const predicted = pyStrip(completion);
  const index = predicted.length === 1 ? predicted.charCodeAt(0) - 'A'.charCodeAt(0) : -1;
  return index >= 0 && index < instance.choices.length ? instance.choices[index] : undefined;
}

/** exact_match of HELM: the stripped completion is mapped letter → choice and compared with the gold choice. */
export function scoreMultipleChoice(
  instance: MultipleChoiceInstance,
  completion: string | null,
  metric: MultipleChoiceScenario['metric'] = 'exact_match',
): number {
  if (completion === null) return 0;
  const mapped = mappedChoice(instance, completion);
  const gold = instance.choices[instance.answer];
  if (mapped === undefined || gold === undefined) return 0;
  return metric === 'quasi_exact_match' ? quasiExactMatch(gold, mapped) : exactMatch(gold, mapped);
}

const GENERATION_SCORERS: Readonly<Record<Exclude<GenerationMetric, 'rouge_2'>, (gold: string, pred: string) => number>> = {
  exact_match_indicator: (gold, pred) => exactMatchIndicator(gold, pred),
  quasi_exact_match: quasiExactMatch,
  exact_match: exactMatch,
  f1_score: f1Score,
};

/**
 * The per-instance score HELM reports for the scenario's main metric. A null completion (no valid
 * answer) scores 0. Generation: `max over references of metric(reference, completion.strip())`;
 * `rouge_2` is HELM's SummarizationMetric (braces stripped from both sides).
 */
export function scoreInstance(scenario: Scenario, instance: SuiteInstance, completion: string | null): number {
  if (scenario.kind === 'multiple_choice') {
    if (!isMultipleChoiceInstance(instance)) throw mismatch(scenario);
    return scoreMultipleChoice(instance, completion, scenario.metric);
  }
  if (isMultipleChoiceInstance(instance)) throw mismatch(scenario);
  if (completion === null) return 0;
  if (scenario.metric === 'rouge_2') return summarizationRouge2(instance.references, completion);
  const scorer = GENERATION_SCORERS[scenario.metric];
  const pred = pyStrip(completion);
  return Math.max(...instance.references.map((reference) => scorer(reference, pred)));
}

export function countInstances(suite: Suite): number {
  return suite.scenarios.reduce((sum, scenario) => sum + scenario.instances.length, 0);
}

const METRIC_LABEL: Readonly<Record<ScenarioMetric, string>> = {
  exact_match: 'EM',
  quasi_exact_match: 'EM',
  exact_match_indicator: 'EM',
  rouge_2: 'ROUGE-2',
  f1_score: 'F1',
};

/** Metric column of a scenario in result tables, in the challenge's "<Scenario> - EM" / "- ROUGE-2" / "- F1" style. */
export const scenarioColumn = (scenario: { name: string; metric?: ScenarioMetric }): string =>
  `${scenario.name} - ${METRIC_LABEL[scenario.metric ?? 'exact_match']}`;

/** "<Scenario> - EM (Robustness)" / "(Fairness)": the worst case over an instance's perturbations. */
export const perturbationColumn = (scenario: { name: string; metric?: ScenarioMetric }, kind: PerturbationKind): string =>
  `${scenarioColumn(scenario)} (${kind === 'robustness' ? 'Robustness' : 'Fairness'})`;

export interface PerturbedVariant {
  perturbation: PerturbationName;
  category: PerturbationCategory;
  /** the instance with HELM's perturbation applied (same id and answer; MC choices are the references) */
  instance: SuiteInstance;
}

/**
 * HELM's canonical augmentation of one eval instance, for the kinds listed in `scenario.perturbations`:
 * robustness = MildMix on the input; fairness = dialect, gender pronouns, person names on references then
 * input. The RNG is seeded with the instance id, so variants are the same on every run. Variants whose
 * input did not change are left out (HELM `should_skip_unchanged_eval`). In-context examples are never
 * perturbed. Score each variant with `scoreInstance` and take `worstCase(original, variants)` per kind.
 */
export function perturbedVariants(scenario: Scenario, instance: SuiteInstance): PerturbedVariant[] {
  const kinds = new Set(scenario.perturbations ?? []);
  const names: PerturbationName[] = [
    ...(kinds.has('robustness') ? (['mild_mix'] as const) : []),
    ...(kinds.has('fairness') ? (['dialect', 'gender', 'person_name'] as const) : []),
  ];
  const input = isMultipleChoiceInstance(instance) ? instance.question : instance.input;
  const references = isMultipleChoiceInstance(instance) ? instance.choices : instance.references;
  const variants: PerturbedVariant[] = [];
  for (const name of names) {
    const perturbed = applyPerturbation(name, input, instance.id, references);
    if (perturbed.text === input) continue;
    const variant: SuiteInstance = isMultipleChoiceInstance(instance)
      ? { ...instance, question: perturbed.text, choices: perturbed.references }
      : { ...instance, input: perturbed.text, references: perturbed.references };
    variants.push({ perturbation: name, category: perturbed.category, instance: variant });
  }
  return variants;
}

/**
 * Deterministic sampling without replacement: all items (in order) when `max >= items.length`, otherwise
 * exactly Python's `random.Random(seed).sample(items, max)` (CPython MT19937; selection order). This is
 * NOT numpy-compatible: HELM drew eval instances with `np.random.seed(0); np.random.choice(..., replace=False)`,
 * so the chosen instances differ from HELM's runs, but are the same on every machine and in Python.
 */
export function sampleInstances<T>(items: readonly T[], max: number, seed: number): T[] {
  if (!Number.isInteger(max) || max < 0) throw new Error(`sampleInstances: max must be a non-negative integer, got ${max}`);
  if (max >= items.length) return [...items];
  return new PyRandom(seed).sample(items, max);
}
