/**
 * Evaluation suites as data, and how an instance becomes a prompt and a score. Multiple choice follows
 * HELM's "multiple_choice_joint" adapter: instructions, in-context examples, "A. ..." lines, "Answer:".
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';

export const MultipleChoiceInstance = z.object({
  id: z.string().min(1),
  question: z.string().min(1),
  choices: z.array(z.string().min(1)).min(2).max(26),
  answer: z.number().int().min(0),
});
export type MultipleChoiceInstance = z.infer<typeof MultipleChoiceInstance>;

export const Scenario = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/),
    title: z.string(),
    kind: z.literal('multiple_choice'),
    metric: z.literal('exact_match'),
    instructions: z.string(),
    inContext: z.array(MultipleChoiceInstance),
    instances: z.array(MultipleChoiceInstance).min(1),
  })
  .superRefine((scenario, ctx) => {
    const seen = new Set<string>();
    scenario.instances.forEach((instance, index) => {
      if (seen.has(instance.id)) ctx.addIssue({ code: 'custom', path: ['instances', index, 'id'], message: `duplicate instance id ${instance.id}` });
      seen.add(instance.id);
      if (instance.answer >= instance.choices.length) {
        ctx.addIssue({ code: 'custom', path: ['instances', index, 'answer'], message: 'answer index is out of range of choices' });
      }
    });
  });
export type Scenario = z.infer<typeof Scenario>;

export const SUITE_KINDS = ['open', 'closed'] as const;
export type SuiteKind = (typeof SUITE_KINDS)[number];

export const Suite = z.object({
  schemaVersion: z.literal(1),
  name: z.string().min(1),
  kind: z.enum(SUITE_KINDS),
  version: z.string().min(1),
  description: z.string(),
  scenarios: z.array(Scenario).min(1),
});
export type Suite = z.infer<typeof Suite>;

export function loadSuite(file: string): Suite {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`suite file ${file}: cannot read it as JSON (${(error as Error).message})`);
  }
  const parsed = Suite.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 10).map((issue) => `  ${issue.path.join('.')}: ${issue.message}`);
    throw new Error(`suite file ${file} does not follow the suite format:\n${issues.join('\n')}`);
  }
  return parsed.data;
}

export const letter = (index: number): string => String.fromCharCode('A'.charCodeAt(0) + index);

function renderBlock(instance: MultipleChoiceInstance, withAnswer: boolean): string {
  const options = instance.choices.map((choice, index) => `${letter(index)}. ${choice}\n`).join('');
  return `Question: ${instance.question}\n${options}${withAnswer ? `Answer: ${letter(instance.answer)}\n` : 'Answer:'}`;
}

/** HELM multiple_choice_joint: `instructions\n`, then each example preceded by "\n", the eval block ending in "Answer:". */
export function multipleChoicePrompt(scenario: Pick<Scenario, 'instructions' | 'inContext'>, instance: MultipleChoiceInstance): string {
  const head = scenario.instructions === '' ? '' : `${scenario.instructions}\n`;
  const examples = scenario.inContext.map((example) => `\n${renderBlock(example, true)}`).join('');
  return `${head}${examples}\n${renderBlock(instance, false)}`;
}

/** Request settings HELM used for multiple choice: one new token, temperature 0, no stop sequences. */
export const MULTIPLE_CHOICE_REQUEST = { maxNewTokens: 1, temperature: 0, stopSequences: [] as string[] } as const;

/** exact_match of HELM: the stripped completion is mapped letter → choice and compared with the gold choice. */
export function scoreMultipleChoice(instance: MultipleChoiceInstance, completion: string | null): number {
  if (completion === null) return 0;
  const predicted = completion.trim();
  if (predicted === '') return 0;
  const index = predicted.length === 1 ? predicted.charCodeAt(0) - 'A'.charCodeAt(0) : -1;
  const mapped = index >= 0 && index < instance.choices.length ? instance.choices[index] : undefined;
  const gold = instance.choices[instance.answer];
  return mapped !== undefined && gold !== undefined && mapped.trim() === gold.trim() ? 1 : 0;
}

export function countInstances(suite: Suite): number {
  return suite.scenarios.reduce((sum, scenario) => sum + scenario.instances.length, 0);
}

/** Metric column name of a scenario in result tables, in the challenge's "<Scenario> - EM" style. */
export const scenarioColumn = (scenario: Pick<Scenario, 'name'>): string => `${scenario.name} - EM`;
