/**
 * GSM8K (JSONL with "question" and "answer") → a generation scenario as HELM's `gsm` run spec built it
 * (`gsm_scenario.py`, `run_specs.get_gsm_spec`):
 * - gold = answer with every "####" replaced by "The answer is", every newline by a space, then "." appended;
 * - prompt "Q: {question}\nA: {gold}\n" per in-context example, blank line between examples, eval block
 *   ending "A:"; 400 new tokens, temperature 0, stop sequence "\n\n"; metric exact_match_indicator.
 * In-context examples: the first `inContext` (5) records of the file, excluded from the instances (HELM
 * draws them from the train split). Instance ids are `id<record index>`.
 */
import type { GenerationInstance, GenerationScenario } from '../harness/suite.js';
import type { LoaderOptions } from './errors.js';
import { drawInstances, finishScenario, inContextCount, parseJsonl, splitInContext, stringField } from './shared.js';

export const gsm8kGold = (answer: string): string => `${answer.replaceAll('####', 'The answer is').replaceAll('\n', ' ')}.`;

export function gsm8kScenario(jsonlText: string, options: LoaderOptions = {}): GenerationScenario {
  const file = options.file ?? '<text>';
  const all: GenerationInstance[] = parseJsonl(jsonlText, file).map((record, index) => ({
    id: `id${index}`,
    input: stringField(record, 'question', file, { nonEmpty: true }),
    references: [gsm8kGold(stringField(record, 'answer', file, { nonEmpty: true }))],
  }));
  const { inContext, rest } = splitInContext(all, inContextCount(options));
  const { instances, sampling } = drawInstances(rest, options);
  const scenario = finishScenario(
    {
      name: options.name ?? 'gsm8k',
      title: options.title ?? 'GSM8K',
      kind: 'generation',
      metric: 'exact_match_indicator',
      instructions: '',
      format: { inputPrefix: 'Q: ', inputSuffix: '\n', outputPrefix: 'A: ', outputSuffix: '\n', instancePrefix: '\n' },
      request: { maxNewTokens: 400, temperature: 0, stopSequences: ['\n\n'] },
      inContext,
      instances,
      ...(sampling ? { sampling } : {}),
    },
    file,
  );
  return scenario as GenerationScenario;
}
