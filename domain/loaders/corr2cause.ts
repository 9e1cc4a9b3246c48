/**
 * corr2cause (Jin et al. 2023, "Can Large Language Models Infer Causation from Correlation?"; CSV with a
 * header naming `input` (or `question`) and `label`) → the multiple choice scenario of the 2023 closed
 * evaluation, as private-helm built it (`corr2cause_scenario.py`, `run_specs.get_corr2cause_spec`, conf entry
 * `corr2cause:model=neurips/local,max_train_instances=1`):
 * - each row becomes input = the stripped `input`, choices "No", "Yes", gold "Yes" when label is 1;
 * - `random.seed(0); random.shuffle(rows)`, then the first int(0.8 × rows) form the train split (ids
 *   `id<i>`) and the rest the valid split (ids `id<i + train size>`); only the valid split is evaluated;
 * - HELM's multiple_choice_joint adapter with instructions "\nGiven a scenario with a premise and a
 *   hypothesis, determine if the hypothesis can be inferred from the premise.\n" (HELM's
 *   `format_instructions` appends one more "\n", the suite's prompt does the same), input noun "Scenario\n"
 *   (so HELM's input prefix reads "Scenario\n: "), output noun "Answer", max_tokens 1, metric exact_match
 *   ("corr2cause - EM");
 * - one in-context example (`max_train_instances=1`) drawn from the train split exactly as HELM's
 *   `InContextLearningAdapter.sample_examples(train, seed=0)` does: labels ordered by how many train
 *   instances carry them (ties shuffled), then one instance per label in turn, `random.randrange` each.
 * `num_variables` and `template`, when present, are kept in `meta`.
 */
import type { MultipleChoiceInstance, MultipleChoiceScenario } from '../harness/suite.js';
import { PyRandom, pyStrip } from '../metrics/index.js';
import { parseCsv } from './csv.js';
import { DatasetError, type LoaderOptions } from './errors.js';
import { drawInstances, finishScenario, inContextCount } from './shared.js';

export interface Corr2causeOptions extends LoaderOptions {
  /** fraction of (shuffled) rows forming the train split (default 0.8, as HELM) */
  trainFraction?: number;
  /** seed of HELM's `random.seed(...)` before the shuffle (default 0, as HELM) */
  shuffleSeed?: number;
}

export const CORR2CAUSE_INSTRUCTIONS = '\nGiven a scenario with a premise and a hypothesis, determine if the hypothesis can be inferred from the premise.\n';
export const CORR2CAUSE_CHOICES = ['No', 'Yes'] as const;

/**
 * HELM's `sample_examples(all_train_instances, seed)` with `sample_train=True` for labelled multiple choice
 * instances (the label is the text of the correct choice): Python's `random.seed(seed)`, labels sorted, grouped
 * by count, counts in decreasing order with equal counts shuffled, then one `pop(randrange(n))` per label in
 * turn until `count` examples are taken.
 */
export function helmSampleExamples(train: readonly MultipleChoiceInstance[], count: number, seed = 0): MultipleChoiceInstance[] {
  const random = new PyRandom(seed);
  let remaining = Math.min(train.length, count);
  const byLabel = new Map<string, MultipleChoiceInstance[]>();
  for (const instance of train) {
    const label = instance.choices[instance.answer] as string;
    const list = byLabel.get(label) ?? [];
    list.push(instance);
    byLabel.set(label, list);
  }
  const countsToLabels = new Map<number, string[]>();
  for (const label of [...byLabel.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))) {
    const n = byLabel.get(label)!.length;
    countsToLabels.set(n, [...(countsToLabels.get(n) ?? []), label]);
  }
  const sortedLabels: string[] = [];
  for (const n of [...countsToLabels.keys()].sort((a, b) => b - a)) {
    const labels = countsToLabels.get(n)!;
    random.shuffle(labels);
    sortedLabels.push(...labels);
  }
  const examples: MultipleChoiceInstance[] = [];
  for (let i = 0; remaining > 0 && sortedLabels.length > 0; i = (i + 1) % sortedLabels.length) {
    const pool = byLabel.get(sortedLabels[i]!)!;
    if (pool.length === 0) continue;
    examples.push(pool.splice(random.randbelow(pool.length), 1)[0]!);
    remaining--;
  }
  return examples;
}

export function corr2causeScenario(csvText: string, options: Corr2causeOptions = {}): MultipleChoiceScenario {
  const file = options.file ?? '<text>';
  const records = parseCsv(csvText, file);
  const header = records[0];
  if (header === undefined) throw new DatasetError(file, null, null, 'the file is empty');
  const column = (names: readonly string[], required: boolean): number => {
    const index = header.fields.findIndex((f) => names.includes(f.trim()));
    if (index < 0 && required) throw new DatasetError(file, header.line, names[0]!, `missing column (the header must name ${names.join(' or ')} and label)`);
    return index;
  };
  const inputCol = column(['input', 'question'], true);
  const labelCol = column(['label'], true);
  const extraCols = (['num_variables', 'template'] as const).map((name) => [name, column([name], false)] as const).filter(([, index]) => index >= 0);

  const rows = records.slice(1).map((record) => {
    if (record.fields.length !== header.fields.length) {
      throw new DatasetError(file, record.line, null, `expected ${header.fields.length} fields like the header, got ${record.fields.length}`);
    }
    const input = pyStrip(record.fields[inputCol] ?? '');
    if (input === '') throw new DatasetError(file, record.line, 'input', 'is empty');
    const label = (record.fields[labelCol] ?? '').trim();
    if (label !== '0' && label !== '1') throw new DatasetError(file, record.line, 'label', `expected 0 or 1, got ${JSON.stringify(label)}`);
    const meta = Object.fromEntries(extraCols.map(([name, index]) => [name, record.fields[index] ?? '']));
    return { input, answer: Number(label), meta };
  });

  new PyRandom(options.shuffleSeed ?? 0).shuffle(rows);
  const trainSize = Math.floor(rows.length * (options.trainFraction ?? 0.8));
  const all: MultipleChoiceInstance[] = rows.map((row, index) => ({
    id: `id${index}`,
    question: row.input,
    choices: [...CORR2CAUSE_CHOICES],
    answer: row.answer,
    ...(extraCols.length > 0 ? { meta: row.meta } : {}),
  }));
  const inContext = helmSampleExamples(all.slice(0, trainSize), inContextCount({ inContext: options.inContext ?? 1 }), 0);
  const { instances, sampling } = drawInstances(all.slice(trainSize), options);
  return finishScenario(
    {
      name: options.name ?? 'corr2cause',
      title: options.title ?? 'corr2cause',
      kind: 'multiple_choice',
      metric: 'exact_match',
      inputNoun: 'Scenario\n',
      outputNoun: 'Answer',
      instructions: CORR2CAUSE_INSTRUCTIONS,
      inContext,
      instances,
      ...(sampling ? { sampling } : {}),
    },
    file,
  ) as MultipleChoiceScenario;
}
