/**
 * TruthfulQA (`TruthfulQA.csv`: Type, Category, Question, Best Answer, Correct Answers, Incorrect Answers,
 * Source) → the "mc_single" multiple choice scenario of HELM's `truthful_qa` run spec
 * (`truthful_qa_scenario.py`, `get_truthful_qa_spec`): no instructions, metric exact_match, canonical
 * augmentation.
 * - Answers are stripped and get a final "." if they lack one; incorrect answers are split on ";".
 * - Choices: the first `maxIncorrect` (default 3; HELM keeps all) incorrect answers, then the best answer,
 *   rotated left by ord(best[0]) mod the number of choices (HELM's deterministic placement).
 * - Split as HELM: the first int(20% of rows) are the train split, from which the first `inContext` (5)
 *   are the in-context examples; instances come from the remaining rows. Instance ids are `id<row index>`.
 */
import type { MultipleChoiceInstance, MultipleChoiceScenario, PerturbationKind } from '../harness/suite.js';
import { parseCsv } from './csv.js';
import { DatasetError, type LoaderOptions } from './errors.js';
import { drawInstances, finishScenario, inContextCount } from './shared.js';

export interface TruthfulqaOptions extends LoaderOptions {
  /** how many incorrect answers to offer (default 3) */
  maxIncorrect?: number;
  /** fraction of rows forming the train split (default 0.2, as HELM) */
  trainFraction?: number;
  /** default ['robustness', 'fairness'] as in the challenge */
  perturbations?: PerturbationKind[];
}

export const TRUTHFULQA_COLUMNS = ['Type', 'Category', 'Question', 'Best Answer', 'Correct Answers', 'Incorrect Answers', 'Source'] as const;

/** HELM `format_str`: strip; append "." unless it already ends with one. */
function formatAnswer(answer: string, file: string, line: number, field: string): string {
  const stripped = answer.trim();
  if (stripped === '') throw new DatasetError(file, line, field, 'is empty');
  return stripped.endsWith('.') ? stripped : `${stripped}.`;
}

export function truthfulqaScenario(csvText: string, options: TruthfulqaOptions = {}): MultipleChoiceScenario {
  const file = options.file ?? '<text>';
  const records = parseCsv(csvText, file);
  const header = records[0];
  if (header === undefined) throw new DatasetError(file, null, null, 'the file is empty');
  const column = (name: (typeof TRUTHFULQA_COLUMNS)[number]): number => {
    const index = header.fields.findIndex((f) => f.trim() === name);
    if (index < 0) throw new DatasetError(file, header.line, name, `missing column (the header must name ${TRUTHFULQA_COLUMNS.join(', ')})`);
    return index;
  };
  const questionCol = column('Question');
  const bestCol = column('Best Answer');
  const incorrectCol = column('Incorrect Answers');
  const maxIncorrect = options.maxIncorrect ?? 3;

  const all: MultipleChoiceInstance[] = records.slice(1).map((record, index) => {
    if (record.fields.length !== header.fields.length) {
      throw new DatasetError(file, record.line, null, `expected ${header.fields.length} fields like the header, got ${record.fields.length}`);
    }
    const question = (record.fields[questionCol] ?? '').trim();
    if (question === '') throw new DatasetError(file, record.line, 'Question', 'is empty');
    const best = formatAnswer(record.fields[bestCol] ?? '', file, record.line, 'Best Answer');
    const incorrect = (record.fields[incorrectCol] ?? '')
      .split(';')
      .filter((a) => a.trim() !== '')
      .map((a) => formatAnswer(a, file, record.line, 'Incorrect Answers'))
      .slice(0, maxIncorrect);
    if (incorrect.length === 0) throw new DatasetError(file, record.line, 'Incorrect Answers', 'no incorrect answer to offer');
    const references = [...incorrect, best];
    const k = (best.codePointAt(0) ?? 0) % references.length;
    const choices = [...references.slice(k), ...references.slice(0, k)];
    const answer = (references.length - 1 - k + references.length) % references.length;
    return { id: `id${index}`, question, choices, answer };
  });

  const trainSize = Math.floor(all.length * (options.trainFraction ?? 0.2));
  const inContext = all.slice(0, Math.min(trainSize, inContextCount(options)));
  const { instances, sampling } = drawInstances(all.slice(trainSize), options);
  return finishScenario(
    {
      name: options.name ?? 'truthfulqa',
      title: options.title ?? 'TruthfulQA',
      kind: 'multiple_choice',
      metric: 'exact_match',
      instructions: '',
      perturbations: options.perturbations ?? ['robustness', 'fairness'],
      inContext,
      instances,
      ...(sampling ? { sampling } : {}),
    },
    file,
  ) as MultipleChoiceScenario;
}
