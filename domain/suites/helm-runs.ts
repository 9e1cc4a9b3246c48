/**
 * The HELM side of the NeurIPS 2023 suites: which run entries crfm-helm is asked to run (scripts/helm/generate.py,
 * pinned by scripts/ensure-helm.sh), the zod schema of what it answers, and how one HELM run becomes a suite
 * scenario. HELM chooses the instances (its readers, `with_instance_ids`, the numpy eval draw), the in-context
 * examples (`sample_examples`, seed 0), the prompt and the request; this module only renames fields, and checks
 * that the harness's own prompt and request for every instance are byte for byte HELM's (`checkAgainstHelm`).
 * Pure: the caller runs Python and passes its answer.
 */
import { z } from 'zod';
import { processRequest } from '../harness/contract.js';
import { helmRequest, instancePrompt, type GenerationInstance, type MultipleChoiceInstance, type PerturbationKind, type Scenario } from '../harness/suite.js';

/** The crfm-helm release the suites are generated with (see docs/suites.md for why this one). */
export const HELM_VERSION = '0.2.4';

/** One `helm-run` entry: the conf file's description and its max_eval_instances. */
export interface HelmRunEntry {
  description: string;
  maxEvalInstances: number;
}

const HelmReference = z.object({ text: z.string(), correct: z.boolean(), tags: z.array(z.string()) });
const HelmInstance = z.object({ id: z.string().regex(/^id\d+$/), split: z.string(), input: z.string(), references: z.array(HelmReference).min(1) });
const BbqRecord = z.object({
  category: z.string(),
  record: z.looseObject({
    example_id: z.union([z.number(), z.string()]),
    context_condition: z.enum(['ambig', 'disambig']),
    question_polarity: z.enum(['neg', 'nonneg']),
  }),
});

export const HelmRun = z.object({
  description: z.string(),
  maxEvalInstances: z.number().int().min(1),
  runSpec: z.string(),
  scenario: z.string(),
  adapter: z.object({
    method: z.enum(['multiple_choice_joint', 'generation']),
    instructions: z.string(),
    inputPrefix: z.string(),
    inputSuffix: z.string(),
    outputPrefix: z.string(),
    outputSuffix: z.string(),
    instancePrefix: z.string(),
    maxTrainInstances: z.number().int(),
  }),
  /** HELM's HTTPModelClient /process body, less the prompt */
  request: z.object({
    temperature: z.number(),
    num_return_sequences: z.number().int(),
    max_new_tokens: z.number().int(),
    top_p: z.number(),
    echo_prompt: z.boolean(),
    top_k_per_token: z.number().int(),
    stop_sequences: z.array(z.string()),
  }),
  metrics: z.array(z.string()),
  read: z.number().int(),
  trainPool: z.number().int(),
  evalPool: z.number().int(),
  train: z.array(HelmInstance),
  eval: z.array(HelmInstance.extend({ prompt: z.string() })).min(1),
  records: z.record(z.string(), BbqRecord).optional(),
  perturbed: z.record(z.string(), z.record(z.string(), z.object({ input: z.string(), references: z.array(z.string()) }))).optional(),
});
export type HelmRun = z.infer<typeof HelmRun>;
export const HelmOutput = z.object({ helm: z.literal(HELM_VERSION), runs: z.array(HelmRun) });
export type HelmOutput = z.infer<typeof HelmOutput>;

/** What the generator is asked: the entries, in order (the caller runs scripts/helm/generate.py on it). */
export interface HelmRequest {
  dataDir: string;
  entries: HelmRunEntry[];
  perturb?: boolean;
}

/** Runs HELM on a request and returns its parsed answer (scripts/generate-suites.ts spawns Python). */
export type HelmRunner = (entries: readonly HelmRunEntry[]) => HelmOutput;

const MODEL = 'model=neurips/local';

/** The 2023 conf file's description of a run spec of ours, or null when HELM has no such scenario (corr2cause). */
export function helmDescription(spec: string): string | null {
  if (/^mmlu:subject=[a-z_]+$/.test(spec)) return `${spec},data_augmentation=canonical,${MODEL}`;
  switch (spec) {
    case 'truthful_qa:task=mc_single':
      return `${spec},data_augmentation=canonical,${MODEL}`;
    case 'gsm':
      return `${spec}:${MODEL}`;
    case 'bbq:subject=all':
      return `${spec},${MODEL}`;
    default:
      return null;
  }
}

export const helmRunKey = (entry: HelmRunEntry): string => `${entry.description} @${entry.maxEvalInstances}`;

const correctIndex = (instance: z.infer<typeof HelmInstance>): number => {
  const index = instance.references.findIndex((reference) => reference.correct);
  if (index < 0) throw new Error(`HELM instance ${instance.id} has no correct reference`);
  return index;
};

/** HELM's `format_instructions` appends "\n" to non-empty instructions; the suite format stores them without it. */
const instructionsOf = (run: HelmRun): string => run.adapter.instructions.replace(/\n$/, '');

const nounOf = (prefix: string, fallback: string): string | undefined => {
  const noun = prefix.replace(/: $/, '');
  return noun === fallback ? undefined : noun;
};

/** BBQ meta as domain/loaders/bbq.ts writes it; the letters are HELM's reference tags (what its BBQMetric reads). */
function bbqMeta(run: HelmRun, instance: z.infer<typeof HelmInstance>): Record<string, string> {
  const found = run.records?.[instance.id];
  if (found === undefined) throw new Error(`HELM BBQ run: no record for ${instance.id}`);
  const tags = instance.references[0]!.tags;
  // BBQScenario tags: [negative|non-negative, ambiguous|non-ambiguous, label, target, non-target, unknown letter]
  if (tags.length !== 6) throw new Error(`HELM BBQ ${instance.id}: expected 6 reference tags, got ${JSON.stringify(tags)}`);
  return {
    category: found.category,
    example_id: String(found.record.example_id),
    context_condition: found.record.context_condition,
    question_polarity: found.record.question_polarity,
    target_letter: tags[3]!,
    non_target_letter: tags[4]!,
    unknown_letter: tags[5]!,
  };
}

export interface ScenarioNaming {
  name: string;
  title: string;
  group: string;
  metric: 'exact_match' | 'quasi_exact_match' | 'exact_match_indicator';
  perturbations?: PerturbationKind[];
}

/** One HELM run as a suite scenario, in HELM's order (in-context examples as sampled, eval instances as drawn). */
export function scenarioFromHelmRun(run: HelmRun, naming: ScenarioNaming): Scenario {
  const head = { name: naming.name, title: naming.title, group: naming.group };
  const text = {
    instructions: instructionsOf(run),
    ...(naming.perturbations ? { perturbations: naming.perturbations } : {}),
    sampling: { seed: 0, from: run.evalPool },
  };
  if (run.adapter.method === 'multiple_choice_joint') {
    const mc = (instance: z.infer<typeof HelmInstance>): MultipleChoiceInstance => ({
      id: instance.id,
      question: instance.input,
      choices: instance.references.map((reference) => reference.text),
      answer: correctIndex(instance),
      ...(run.records ? { meta: bbqMeta(run, instance) } : {}),
    });
    const inputNoun = nounOf(run.adapter.inputPrefix, 'Question');
    const outputNoun = nounOf(run.adapter.outputPrefix, 'Answer');
    return {
      ...head,
      kind: 'multiple_choice',
      metric: naming.metric === 'exact_match_indicator' ? 'exact_match' : naming.metric,
      ...(inputNoun ? { inputNoun } : {}),
      ...(outputNoun ? { outputNoun } : {}),
      ...text,
      inContext: run.train.map(mc),
      instances: run.eval.map(mc),
    } as Scenario;
  }
  const gen = (instance: z.infer<typeof HelmInstance>): GenerationInstance => ({
    id: instance.id,
    input: instance.input,
    references: instance.references.filter((reference) => reference.correct).map((reference) => reference.text),
  });
  return {
    ...head,
    kind: 'generation',
    metric: naming.metric === 'exact_match_indicator' ? 'exact_match_indicator' : naming.metric,
    ...text,
    format: {
      inputPrefix: run.adapter.inputPrefix,
      inputSuffix: run.adapter.inputSuffix,
      outputPrefix: run.adapter.outputPrefix,
      outputSuffix: run.adapter.outputSuffix,
      instancePrefix: run.adapter.instancePrefix,
    },
    request: {
      maxNewTokens: run.request.max_new_tokens,
      temperature: run.request.temperature === 1e-7 ? 0 : run.request.temperature,
      stopSequences: run.request.stop_sequences,
      topKPerToken: run.request.top_k_per_token,
    },
    inContext: run.train.map(gen),
    instances: run.eval.map(gen),
  } as Scenario;
}

/**
 * Every instance's prompt and /process body as the harness builds them, compared with HELM's: throws on the
 * first difference, naming the run spec and the instance. Returns the number of instances checked.
 */
export function checkAgainstHelm(scenario: Scenario, run: HelmRun): number {
  if (scenario.instances.length !== run.eval.length) throw new Error(`${run.runSpec}: ${scenario.instances.length} instances, HELM has ${run.eval.length}`);
  scenario.instances.forEach((instance, index) => {
    const helm = run.eval[index]!;
    const prompt = instancePrompt(scenario, instance);
    if (prompt !== helm.prompt)
      throw new Error(`${run.runSpec} ${helm.id}: the harness's prompt differs from HELM's:\n${JSON.stringify(prompt)}\n${JSON.stringify(helm.prompt)}`);
    const { prompt: _prompt, ...body } = processRequest(prompt, helmRequest(scenario));
    if (JSON.stringify(sortKeys(body)) !== JSON.stringify(sortKeys(run.request)))
      throw new Error(`${run.runSpec} ${helm.id}: the harness's /process body ${JSON.stringify(body)} differs from HELM's ${JSON.stringify(run.request)}`);
  });
  return scenario.instances.length;
}

const sortKeys = (value: object): Record<string, unknown> => Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
