import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../../infra/paths.js';
import {
  MULTIPLE_CHOICE_REQUEST,
  Suite,
  instancePrompt,
  loadSuite,
  multipleChoicePrompt,
  perturbationColumn,
  requestSettings,
  sampleInstances,
  scenarioColumn,
  scoreInstance,
  scoreMultipleChoice,
  type GenerationScenario,
  type MultipleChoiceScenario,
} from '../../domain/harness/suite.js';

const gsmScenario: GenerationScenario = {
  name: 'gsm8k',
  title: 'GSM8K',
  kind: 'generation',
  metric: 'exact_match_indicator',
  instructions: '',
  format: { inputPrefix: 'Q: ', inputSuffix: '\n', outputPrefix: 'A: ', outputSuffix: '\n', instancePrefix: '\n' },
  request: { maxNewTokens: 400, temperature: 0, stopSequences: ['\n\n'] },
  inContext: [
    {
      id: 'id0',
      input: 'Tom has 2 apples and buys 3 more. How many apples does he have?',
      references: ['Tom has 2 + 3 = <<2+3=5>>5 apples. The answer is 5.'],
    },
    { id: 'id1', input: 'A pen costs $2. How much do 4 pens cost?', references: ['4 pens cost 4 * 2 = <<4*2=8>>8 dollars. The answer is 8.'] },
  ],
  instances: [
    {
      id: 'id7',
      input:
        'Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. How many clips did Natalia sell altogether in April and May?',
      references: ['Natalia sold 48/2 = <<48/2=24>>24 clips in May. Natalia sold 48+24 = <<48+24=72>>72 clips altogether in April and May. The answer is 72.'],
    },
  ],
};

const mcScenario: MultipleChoiceScenario = {
  name: 'opposites',
  title: 'Opposites',
  kind: 'multiple_choice',
  metric: 'exact_match',
  instructions: 'The following are multiple choice questions (with answers) about opposites.',
  inContext: [{ id: 'train0', question: 'What is the opposite of tall?', choices: ['short', 'green'], answer: 0 }],
  instances: [{ id: 'id0', question: 'What is the opposite of hot?', choices: ['wet', 'cold', 'fast'], answer: 1 }],
};

const suiteWith = (scenarios: unknown[]): unknown => ({ schemaVersion: 1, name: 't', kind: 'open', version: '1', description: '', scenarios });

describe('instancePrompt: exact HELM strings', () => {
  it('multiple choice (multiple_choice_joint)', () => {
    expect(instancePrompt(mcScenario, mcScenario.instances[0]!)).toBe(
      'The following are multiple choice questions (with answers) about opposites.\n' +
        '\nQuestion: What is the opposite of tall?\nA. short\nB. green\nAnswer: A\n' +
        '\nQuestion: What is the opposite of hot?\nA. wet\nB. cold\nC. fast\nAnswer:',
    );
  });

  it('multiple choice: HELM test_multiple_choice_joint_adapter vector (no instructions, "Input"/"Output" nouns)', () => {
    const choices = ['First', 'Second', 'Third'];
    const scenario: MultipleChoiceScenario = {
      name: 'adapter',
      title: 'adapter',
      kind: 'multiple_choice',
      metric: 'exact_match',
      inputNoun: 'Input',
      outputNoun: 'Output',
      instructions: '',
      inContext: [
        { id: 'a', question: 'Second reference is correct', choices, answer: 1 },
        { id: 'b', question: 'First and second references are correct', choices, answer: 0 },
      ],
      instances: [{ id: 'c', question: 'First reference is correct', choices, answer: 0 }],
    };
    expect(instancePrompt(scenario, scenario.instances[0]!)).toBe(
      'Input: Second reference is correct\nA. First\nB. Second\nC. Third\nOutput: B\n\nInput: First and second references are correct\nA. First\nB. ' +
        'Second\nC. Third\nOutput: A\n\nInput: First reference is correct\nA. First\nB. Second\nC. Third\nOutput:',
    );
  });

  it('GSM8K-style generation', () => {
    expect(instancePrompt(gsmScenario, gsmScenario.instances[0]!)).toBe(
      'Q: Tom has 2 apples and buys 3 more. How many apples does he have?\nA: Tom has 2 + 3 = <<2+3=5>>5 apples. The answer is 5.\n' +
        '\nQ: A pen costs $2. How much do 4 pens cost?\nA: 4 pens cost 4 * 2 = <<4*2=8>>8 dollars. The answer is 8.\n' +
        '\nQ: Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. How many clips did Natalia sell altogether in April and May?\nA:',
    );
  });

  it('generation with instructions and a summarization format (output prefix right-stripped at the end)', () => {
    const scenario: GenerationScenario = {
      ...gsmScenario,
      name: 'sum',
      metric: 'rouge_2',
      instructions: 'Summarize.',
      format: {
        inputPrefix: '###\nArticle: ',
        inputSuffix: '\n\n',
        outputPrefix: 'Summarize the above article in 1 sentence.\n',
        outputSuffix: '\n',
        instancePrefix: '\n',
      },
      inContext: [{ id: 'x', input: 'Long text.', references: ['Short.', 'Other.'] }],
      instances: [{ id: 'y', input: 'Another text.', references: ['Ref.'] }],
    };
    expect(instancePrompt(scenario, scenario.instances[0]!)).toBe(
      'Summarize.\n\n###\nArticle: Long text.\n\nSummarize the above article in 1 sentence.\nShort.\n\n###\nArticle: Another text.\n\nSummarize the above article in 1 sentence.',
    );
  });

  it('refuses an instance of the other kind', () => {
    expect(() => instancePrompt(gsmScenario, mcScenario.instances[0]!)).toThrow(/gsm8k is generation/);
    expect(() => instancePrompt(mcScenario, gsmScenario.instances[0]!)).toThrow(/opposites is multiple_choice/);
  });

  it('multipleChoicePrompt keeps working for callers that loop over any scenario', () => {
    expect(multipleChoicePrompt(mcScenario, mcScenario.instances[0]!)).toBe(instancePrompt(mcScenario, mcScenario.instances[0]!));
    expect(multipleChoicePrompt(gsmScenario, gsmScenario.instances[0]!)).toBe(instancePrompt(gsmScenario, gsmScenario.instances[0]!));
  });
});

describe('requestSettings', () => {
  it('MC: one token, temperature 0, no stops; generation: the scenario request', () => {
    expect(requestSettings(mcScenario)).toEqual({ maxNewTokens: 1, temperature: 0, stopSequences: [] });
    expect(requestSettings(mcScenario)).toEqual({ ...MULTIPLE_CHOICE_REQUEST, stopSequences: [] });
    expect(requestSettings(gsmScenario)).toEqual({ maxNewTokens: 400, temperature: 0, stopSequences: ['\n\n'] });
    requestSettings(gsmScenario).stopSequences.push('x');
    expect(gsmScenario.request.stopSequences).toEqual(['\n\n']); // a copy
  });
});

describe('scoreInstance', () => {
  it('MC exact_match maps the stripped letter to its choice', () => {
    const instance = mcScenario.instances[0]!;
    expect(scoreInstance(mcScenario, instance, ' B\n')).toBe(1);
    expect(scoreInstance(mcScenario, instance, 'B.')).toBe(0);
    expect(scoreInstance(mcScenario, instance, 'b')).toBe(0);
    expect(scoreInstance(mcScenario, instance, 'D')).toBe(0);
    expect(scoreInstance(mcScenario, instance, null)).toBe(0);
  });
  it('MC quasi_exact_match compares normalized texts (duplicate choices both count)', () => {
    const scenario: MultipleChoiceScenario = {
      ...mcScenario,
      metric: 'quasi_exact_match',
      instances: [{ id: 'q', question: 'Who?', choices: ['The teacher', 'teacher!', 'Unknown'], answer: 0 }],
    };
    const instance = scenario.instances[0]!;
    expect(scoreInstance(scenario, instance, 'A')).toBe(1);
    expect(scoreInstance(scenario, instance, 'B')).toBe(1);
    expect(scoreInstance({ ...scenario, metric: 'exact_match' }, instance, 'B')).toBe(0);
    expect(scoreMultipleChoice(instance, 'B', 'quasi_exact_match')).toBe(1);
    expect(scoreMultipleChoice(instance, 'B')).toBe(0);
  });
  it('generation: metric of the stripped completion, max over references', () => {
    const instance = gsmScenario.instances[0]!;
    expect(scoreInstance(gsmScenario, instance, ' She sold 72 in total. The answer is 72.\n')).toBe(1);
    expect(scoreInstance(gsmScenario, instance, 'The answer is 72')).toBe(0);
    expect(scoreInstance(gsmScenario, instance, null)).toBe(0);
    const multi: GenerationScenario = {
      ...gsmScenario,
      metric: 'quasi_exact_match',
      instances: [{ id: 'm', input: 'Capital?', references: ['Paris', 'The city of Paris'] }],
    };
    expect(scoreInstance(multi, multi.instances[0]!, ' the city of paris. ')).toBe(1);
    expect(scoreInstance({ ...multi, metric: 'exact_match' }, multi.instances[0]!, ' Paris ')).toBe(1);
    expect(scoreInstance({ ...multi, metric: 'f1_score' }, multi.instances[0]!, 'Paris, France')).toBeCloseTo(2 / 3, 15);
    expect(scoreInstance({ ...multi, metric: 'rouge_2' }, multi.instances[0]!, '{The city of Paris}')).toBe(1);
    expect(() => scoreInstance(gsmScenario, mcScenario.instances[0]!, 'A')).toThrow(/not a generation instance/);
  });
});

describe('column names', () => {
  it('EM for exact/quasi/indicator, ROUGE-2, F1; robustness and fairness suffixes', () => {
    expect(scenarioColumn(mcScenario)).toBe('opposites - EM');
    expect(scenarioColumn({ name: 'bbq', metric: 'quasi_exact_match' })).toBe('bbq - EM');
    expect(scenarioColumn(gsmScenario)).toBe('gsm8k - EM');
    expect(scenarioColumn({ name: 'sam-sum', metric: 'rouge_2' })).toBe('sam-sum - ROUGE-2');
    expect(scenarioColumn({ name: 'quac', metric: 'f1_score' })).toBe('quac - F1');
    expect(scenarioColumn({ name: 'legacy' })).toBe('legacy - EM');
    expect(perturbationColumn({ name: 'mmlu', metric: 'exact_match' }, 'robustness')).toBe('mmlu - EM (Robustness)');
    expect(perturbationColumn({ name: 'mmlu', metric: 'exact_match' }, 'fairness')).toBe('mmlu - EM (Fairness)');
  });
});

describe('suite schema', () => {
  it('parses both kinds, with optional perturbations, sampling and meta', () => {
    const parsed = Suite.parse(
      suiteWith([
        {
          ...mcScenario,
          perturbations: ['robustness', 'fairness'],
          sampling: { seed: 0, from: 100 },
          instances: [{ ...mcScenario.instances[0], meta: { category: 'x' } }],
        },
        gsmScenario,
      ]),
    );
    expect(parsed.scenarios.map((s) => s.kind)).toEqual(['multiple_choice', 'generation']);
    expect(parsed.scenarios[0]?.perturbations).toEqual(['robustness', 'fairness']);
    // absent optional fields stay absent (files written before them round-trip unchanged)
    expect('perturbations' in (parsed.scenarios[1] ?? {})).toBe(false);
  });

  it('still parses the shipped suites unchanged, byte for byte after a round trip', () => {
    for (const kind of ['open', 'closed'] as const) {
      const file = path.join(PROJECT_ROOT, 'suites', `${kind}.json`);
      expect(`${JSON.stringify(loadSuite(file), null, 1)}\n`).toBe(readFileSync(file, 'utf8'));
    }
  });

  it('rejects bad files naming the file and the field', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'suite-'));
    const write = (name: string, content: unknown): string => {
      const file = path.join(dir, name);
      writeFileSync(file, JSON.stringify(content));
      return file;
    };
    const badKind = write('kind.json', suiteWith([{ ...mcScenario, kind: 'essay' }]));
    expect(() => loadSuite(badKind)).toThrow(/kind\.json does not follow the suite format:\n {2}scenarios\.0\.kind: /);
    const badMetric = write('metric.json', suiteWith([{ ...gsmScenario, metric: 'bleu_4' }]));
    expect(() => loadSuite(badMetric)).toThrow(/scenarios\.0\.metric: /);
    const noRefs = write('refs.json', suiteWith([{ ...gsmScenario, instances: [{ id: 'a', input: 'x', references: [] }] }]));
    expect(() => loadSuite(noRefs)).toThrow(/scenarios\.0\.instances\.0\.references: /);
    const badFormat = write('format.json', suiteWith([{ ...gsmScenario, format: { inputPrefix: 'Q: ' } }]));
    expect(() => loadSuite(badFormat)).toThrow(/scenarios\.0\.format\.inputSuffix: /);
    const badAnswer = write('answer.json', suiteWith([{ ...mcScenario, inContext: [{ ...mcScenario.inContext[0], answer: 5 }] }]));
    expect(() => loadSuite(badAnswer)).toThrow(/scenarios\.0\.inContext\.0\.answer: answer index is out of range of choices/);
    const dupe = write('dupe.json', suiteWith([{ ...gsmScenario, instances: [gsmScenario.instances[0], gsmScenario.instances[0]] }]));
    expect(() => loadSuite(dupe)).toThrow(/scenarios\.0\.instances\.1\.id: duplicate instance id id7/);
    const badPerturbation = write('pert.json', suiteWith([{ ...mcScenario, perturbations: ['typos'] }]));
    expect(() => loadSuite(badPerturbation)).toThrow(/scenarios\.0\.perturbations\.0: /);
  });
});

describe('sampleInstances', () => {
  const items = Array.from({ length: 100 }, (_, i) => `item${i}`);
  it('is deterministic, without replacement, and keeps everything when max >= length', () => {
    const a = sampleInstances(items, 10, 0);
    expect(a).toEqual(sampleInstances(items, 10, 0));
    expect(new Set(a).size).toBe(10);
    expect(sampleInstances(items, 10, 1)).not.toEqual(a);
    expect(sampleInstances(items, 100, 0)).toEqual(items);
    expect(sampleInstances(items, 500, 3)).toEqual(items);
    expect(sampleInstances(items, 0, 3)).toEqual([]);
    expect(() => sampleInstances(items, -1, 0)).toThrow();
  });
  it('equals Python random.Random(seed).sample(range(n), k) (CPython fixture)', () => {
    const fixture = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'test', 'fixtures', 'metrics', 'pyrandom-vectors.json'), 'utf8')) as {
      samples: { seed: number; n: number; k: number; result: number[] }[];
    };
    expect(fixture.samples.length).toBeGreaterThanOrEqual(5);
    for (const { seed, n, k, result } of fixture.samples) {
      expect([
        seed,
        n,
        k,
        sampleInstances(
          Array.from({ length: n }, (_, i) => i),
          k,
          seed,
        ),
      ]).toEqual([seed, n, k, result]);
    }
  });
});
