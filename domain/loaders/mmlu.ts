/**
 * MMLU (Hendrycks et al.; one headerless CSV per subject and split: question, A, B, C, D, answer letter) →
 * a multiple choice scenario as HELM's `mmlu` run spec built it (`mmlu_scenario.py`, `get_mmlu_spec`):
 * instructions "The following are multiple choice questions (with answers) about {subject with spaces}.",
 * metric exact_match, and the challenge's `data_augmentation=canonical` (robustness + fairness).
 * In-context examples: the first `inContext` (5) rows of `devCsvText` when given (HELM uses the dev split),
 * otherwise the first rows of the file itself, which are then not evaluated. Instance ids are `id<row index>`.
 */
import type { MultipleChoiceInstance, MultipleChoiceScenario, PerturbationKind } from '../harness/suite.js';
import { parseCsv, type CsvRecord } from './csv.js';
import { DatasetError, type LoaderOptions } from './errors.js';
import { drawInstances, finishScenario, inContextCount, splitInContext } from './shared.js';

export interface MmluOptions extends LoaderOptions {
  /** the subject's dev split, for in-context examples */
  devCsvText?: string;
  devFile?: string;
  /** default ['robustness', 'fairness'] as in the challenge */
  perturbations?: PerturbationKind[];
}

const LETTERS = ['A', 'B', 'C', 'D', 'E'];
const COLUMNS = ['question', 'A', 'B', 'C', 'D', 'answer'];

function mmluRows(csvText: string, file: string): MultipleChoiceInstance[] {
  const records = parseCsv(csvText, file);
  const first = records[0];
  // MMLU files have no header; accept one if present.
  const isHeader = (r: CsvRecord): boolean => r.fields.length === COLUMNS.length && r.fields.every((f, i) => f.trim().toLowerCase() === COLUMNS[i]?.toLowerCase());
  const rows = first !== undefined && isHeader(first) ? records.slice(1) : records;
  return rows.map((record, index) => {
    if (record.fields.length < 4) throw new DatasetError(file, record.line, null, `expected question, choices and answer letter, got ${record.fields.length} fields`);
    const question = record.fields[0] ?? '';
    const choices = record.fields.slice(1, -1);
    const answerLetter = (record.fields.at(-1) ?? '').trim();
    if (question.trim() === '') throw new DatasetError(file, record.line, 'question', 'is empty');
    choices.forEach((choice, i) => {
      if (choice === '') throw new DatasetError(file, record.line, LETTERS[i] ?? `choice ${i}`, 'is empty');
    });
    const answer = LETTERS.slice(0, choices.length).indexOf(answerLetter);
    if (answer < 0) throw new DatasetError(file, record.line, 'answer', `expected one of ${LETTERS.slice(0, choices.length).join(', ')}, got ${JSON.stringify(answerLetter)}`);
    return { id: `id${index}`, question, choices, answer };
  });
}

export function mmluScenario(csvText: string, subject: string, options: MmluOptions = {}): MultipleChoiceScenario {
  const file = options.file ?? '<text>';
  const count = inContextCount(options);
  const rows = mmluRows(csvText, file);
  const split =
    options.devCsvText === undefined
      ? splitInContext(rows, count)
      : { inContext: mmluRows(options.devCsvText, options.devFile ?? '<dev text>').slice(0, count).map((r, i) => ({ ...r, id: `train${i}` })), rest: rows };
  const { instances, sampling } = drawInstances(split.rest, options);
  return finishScenario(
    {
      name: options.name ?? `mmlu-${subject.toLowerCase().replaceAll('_', '-')}`,
      title: options.title ?? `MMLU (${subject.replaceAll('_', ' ')})`,
      kind: 'multiple_choice',
      metric: 'exact_match',
      instructions: `The following are multiple choice questions (with answers) about ${subject.replaceAll('_', ' ')}.`,
      perturbations: options.perturbations ?? ['robustness', 'fairness'],
      inContext: split.inContext,
      instances,
      ...(sampling ? { sampling } : {}),
    },
    file,
  ) as MultipleChoiceScenario;
}
