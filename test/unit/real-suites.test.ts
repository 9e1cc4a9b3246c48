/**
 * The NeurIPS 2023 suites (suites/neurips2023/*.json): reproducible from suites/data, budgeted with the 2023
 * "sparse HELM" algorithm, HELM's exact prompts, and scored per ranking group as in 2023 ("MMLU - EM" is the
 * mean over the MMLU subject scenarios). Everything here reads the project's own files; only the last block
 * reads ../shared and skips, saying so, where it is absent.
 */
import { describe, expect, it } from '@jest/globals';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { summarize, workItems, type InstanceAnswer } from '../../domain/harness/evaluate.js';
import { Suite, countInstances, instancePrompt, loadSuite, type MultipleChoiceScenario, type Scenario } from '../../domain/harness/suite.js';
import { rulesForSuites } from '../../domain/standings-table.js';
import { corr2causeScenario, helmSampleExamples } from '../../domain/loaders/index.js';
import {
  BIG_BENCH_2023_ENTRIES,
  CLOSED_2023_ENTRIES,
  CLOSED_BUDGET,
  CLOSED_ENTRIES,
  MMLU_HELD_OUT_SUBJECTS,
  MMLU_OPEN_2023_GROUPS,
  NEURIPS2023_FILES,
  OPEN_2023_ENTRIES,
  OPEN_BUDGET,
  OPEN_ENTRIES,
  SMALL_BUDGET,
  budgetSplit,
  generateEqualSumList,
  sparseHelmBudget,
  valueCountsOrder,
  type Neurips2023Suites,
} from '../../domain/suites/neurips2023.js';
import { PROJECT_ROOT } from '../../infra/paths.js';
import { generateNeurips2023Suites, serializeSuite } from '../../scripts/generate-suites.js';

const DATA = path.join(PROJECT_ROOT, 'suites', 'data');
const suiteFile = (key: keyof Neurips2023Suites) => path.join(PROJECT_ROOT, 'suites', 'neurips2023', NEURIPS2023_FILES[key]);
const KEYS = Object.keys(NEURIPS2023_FILES) as (keyof Neurips2023Suites)[];
const committed = Object.fromEntries(KEYS.map((key) => [key, loadSuite(suiteFile(key))])) as unknown as Neurips2023Suites;

/** instances per ranking group (the scenarios' `group` field) */
const perRankingGroup = (suite: Suite): Record<string, number> => {
  const counts: Record<string, number> = {};
  for (const scenario of suite.scenarios) counts[scenario.group ?? scenario.name] = (counts[scenario.group ?? scenario.name] ?? 0) + scenario.instances.length;
  return counts;
};
const perBudgetGroup = (entries: Parameters<typeof budgetSplit>[0], suite: Suite, budget: number): Record<string, [number, number]> =>
  Object.fromEntries(budgetSplit(entries, suite.scenarios, budget).map((s) => [s.group, [s.budget, s.used]]));

describe('the NeurIPS 2023 suites are generated, not edited', () => {
  it('regenerating the small suites with crfm-helm (scripts/ensure-helm.sh, cached) gives the committed files byte for byte', () => {
    // The full suites are compared by `npm run suites -- --check`. No HELM here is a failure, not a skip.
    const generated = generateNeurips2023Suites(DATA, ['openSmall', 'closedSmall']);
    for (const key of ['openSmall', 'closedSmall'] as const) expect(serializeSuite(generated[key]!)).toBe(readFileSync(suiteFile(key), 'utf8'));
  }, 120_000);

  it('each file parses and serializes back to itself (schema field order, `group` after `title`)', () => {
    for (const key of KEYS) {
      const text = readFileSync(suiteFile(key), 'utf8');
      expect(serializeSuite(Suite.parse(JSON.parse(text)))).toBe(text);
      expect(Object.keys(committed[key].scenarios[0]!).slice(0, 4)).toEqual(['name', 'title', 'group', 'kind']);
    }
  });

  it('are versioned, and every scenario records its seeded draw', () => {
    expect([committed.open.version, committed.closed.version]).toEqual(['neurips2023-v2', 'neurips2023-v2']);
    expect([committed.openSmall.version, committed.closedSmall.version]).toEqual(['neurips2023-small-v2', 'neurips2023-small-v2']);
    for (const key of KEYS) expect(committed[key].stopSequences).toBe('not-cut');
    expect([committed.open.kind, committed.closed.kind, committed.openSmall.kind, committed.closedSmall.kind]).toEqual(['open', 'closed', 'open', 'closed']);
    for (const key of KEYS) {
      for (const scenario of committed[key].scenarios) {
        expect(scenario.sampling?.seed).toBe(0);
        expect(scenario.sampling!.from).toBeGreaterThanOrEqual(scenario.instances.length);
      }
    }
  });
});

describe('the 2023 "sparse HELM" budget', () => {
  it('generateEqualSumList equals Python generate_equal_sum_list (vectors from python3)', () => {
    expect(generateEqualSumList(2000, 15)).toEqual([134, 134, 134, 134, 134, 133, 133, 133, 133, 133, 133, 133, 133, 133, 133]);
    expect(generateEqualSumList(100, 15)).toEqual([7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 6, 6, 6, 6, 6]);
    expect(generateEqualSumList(100, 33)).toEqual([4, ...Array<number>(32).fill(3)]);
    expect(generateEqualSumList(2000, 33)).toEqual([...Array<number>(20).fill(61), ...Array<number>(13).fill(60)]);
    expect(generateEqualSumList(133, 6)).toEqual([23, 22, 22, 22, 22, 22]);
    expect(generateEqualSumList(134, 3)).toEqual([45, 45, 44]);
    expect(generateEqualSumList(61, 3)).toEqual([21, 20, 20]);
    expect(generateEqualSumList(7, 4)).toEqual([2, 2, 2, 1]);
    expect(generateEqualSumList(6, 5)).toEqual([2, 1, 1, 1, 1]);
    expect(generateEqualSumList(5000, 2)).toEqual([2500, 2500]);
    expect(generateEqualSumList(0, 3)).toEqual([0, 0, 0]);
  });

  it('groups come in pandas value_counts order: most run specs first, equal counts by name', () => {
    expect(valueCountsOrder(OPEN_ENTRIES).map((g) => `${g.group}:${g.count}`)).toEqual([
      'business:6',
      'health:6',
      'computer_science:5',
      'formal_reasoning:5',
      'history:5',
      'physics_chemistry:5',
      'social_studies:5',
      'human_behavior:4',
      'math:4',
      'medicine_biology:4',
      'economics:3',
      'law:3',
      'bbq:1',
      'gsm:1',
      'truthful_qa:1',
    ]);
  });

  it("reproduces the four 2023 conf files' max_eval_instances, entry by entry", () => {
    expect(OPEN_2023_ENTRIES).toHaveLength(29 + 55 + 3);
    expect(BIG_BENCH_2023_ENTRIES).toHaveLength(29);
    // private-helm configs/run_specs_open_2000_budget.conf, in file order
    expect(sparseHelmBudget(OPEN_2023_ENTRIES, 2000).join(',')).toBe(
      '61,61,12,12,12,12,12,61,61,61,61,61,20,20,21,61,61,61,61,30,31,61,12,12,12,12,12,61,61,15,15,15,15,12,12,12,12,12,15,15,15,15,12,12,' +
        '12,12,12,12,12,12,12,12,20,20,21,12,12,12,12,12,10,10,10,10,10,10,10,10,10,10,10,10,12,12,12,12,12,15,15,15,15,20,20,20,61,61,61',
    );
    // configs/run_specs_open_100_budget.conf
    expect(sparseHelmBudget(OPEN_2023_ENTRIES, 100).join(',')).toBe(
      '3,3,0,0,1,1,1,3,3,3,3,3,1,1,1,3,3,3,3,1,2,3,0,0,1,1,1,3,4,0,1,1,1,0,0,1,1,1,0,1,1,1,0,0,1,1,1,0,0,1,1,1,1,1,1,0,0,1,1,1,0,0,0,1,1,1,0,0,0,1,1,1,0,0,1,1,1,0,1,1,1,1,1,1,3,3,3',
    );
    // configs/run_specs_closed_5000_budget.conf and run_specs_closed_100_budget.conf
    expect(sparseHelmBudget(CLOSED_2023_ENTRIES, 5000).join(',')).toBe('1000,1000,200,200,200,200,200,71,71,71,71,71,71,71,71,72,72,72,72,72,72,1000');
    expect(sparseHelmBudget(CLOSED_2023_ENTRIES, 100).join(',')).toBe('20,20,4,4,4,4,4,1,1,1,1,1,1,1,1,2,2,2,2,2,2,20');
  });

  it('open: BIG-bench absent, 2000 over the 15 remaining groups (hand-computed)', () => {
    // generate_equal_sum_list(2000, 15) = [134]*5 + [133]*10, handed out by pop() in value_counts order: the first 10
    // groups (business … medicine_biology) get 133, the last 5 (economics, law, bbq, gsm, truthful_qa) 134.
    const g = (n: number): [number, number] => [n, n];
    expect(perBudgetGroup(OPEN_ENTRIES, committed.open, OPEN_BUDGET)).toEqual({
      medicine_biology: g(133),
      computer_science: g(133),
      math: g(133),
      physics_chemistry: g(133),
      formal_reasoning: g(133),
      law: g(134),
      history: g(133),
      business: g(133),
      health: g(133),
      social_studies: g(133),
      human_behavior: g(133),
      economics: g(134),
      truthful_qa: g(134),
      gsm: g(134),
      bbq: g(134),
    });
    expect(countInstances(committed.open)).toBe(2000);
    expect(perRankingGroup(committed.open)).toEqual({ MMLU: 10 * 133 + 2 * 134, TruthfulQA: 134, GSM8K: 134, BBQ: 134 });
    // within a group the last run specs get the +1s: business 133 = [23, 22×5] popped → professional_accounting 23;
    // law 134 = [45, 45, 44] popped → professional_law 44, international_law 45, jurisprudence 45
    const n = (name: string) => committed.open.scenarios.find((s) => s.name === name)!.instances.length;
    expect(
      ['business-ethics', 'professional-accounting', 'professional-law', 'international-law', 'jurisprudence', 'sociology'].map((s) => n(`mmlu-${s}`)),
    ).toEqual([22, 23, 44, 45, 45, 34]);
    expect(committed.open.scenarios).toHaveLength(55 + 3);
  });

  it('open-small: 100 over the 15 groups (hand-computed)', () => {
    // [7]*10 + [6]*5: the first 5 in value_counts order (business, health, computer_science, formal_reasoning, history) get 6
    const six = ['business', 'health', 'computer_science', 'formal_reasoning', 'history'];
    expect(perBudgetGroup(OPEN_ENTRIES, committed.openSmall, SMALL_BUDGET)).toEqual(
      Object.fromEntries([...new Set(OPEN_ENTRIES.map((e) => e.group))].map((group) => [group, six.includes(group) ? [6, 6] : [7, 7]])),
    );
    expect(countInstances(committed.openSmall)).toBe(100);
    expect(perRankingGroup(committed.openSmall)).toEqual({ MMLU: 5 * 6 + 7 * 7, TruthfulQA: 7, GSM8K: 7, BBQ: 7 });
    // no run spec got 0, so all 55 subjects are there; economics 7 = [3, 2, 2] popped → high_school_macroeconomics 3
    expect(committed.openSmall.scenarios).toHaveLength(58);
    expect(committed.openSmall.scenarios.find((s) => s.name === 'mmlu-high-school-macroeconomics')!.instances).toHaveLength(3);
  });

  it('closed: 5000 and 100 over the 2 available groups; a share larger than the data takes all of it', () => {
    expect(CLOSED_ENTRIES.map((e) => e.group)).toEqual(['causation', 'mmlu_held_out', 'mmlu_held_out']);
    // [2500, 2500]; corr2cause has 233 valid rows (1162 − int(0.8 × 1162)), the subjects 235 and 378 test rows
    expect(perBudgetGroup(CLOSED_ENTRIES, committed.closed, CLOSED_BUDGET)).toEqual({ causation: [2500, 233], mmlu_held_out: [2500, 613] });
    expect(perRankingGroup(committed.closed)).toEqual({ corr2cause: 233, 'MMLU held-out': 235 + 378 });
    expect(countInstances(committed.closed)).toBe(846);
    // [50, 50]; the held-out group's 50 = [25, 25]
    expect(perBudgetGroup(CLOSED_ENTRIES, committed.closedSmall, SMALL_BUDGET)).toEqual({ causation: [50, 50], mmlu_held_out: [50, 50] });
    expect(committed.closedSmall.scenarios.map((s) => [s.name, s.instances.length])).toEqual([
      ['causation', 50],
      ['mmlu-conceptual-physics', 25],
      ['mmlu-elementary-mathematics', 25],
    ]);
  });
});

describe('which scenarios are open and which held out', () => {
  it('open: the 55 MMLU subjects of 2023, not conceptual_physics or elementary_mathematics; closed: those two and corr2cause', () => {
    const subjects = readdirSync(path.join(DATA, 'mmlu', 'test')).map((f) => f.replace(/_test\.csv$/, ''));
    expect(subjects).toHaveLength(57);
    const open = MMLU_OPEN_2023_GROUPS.flatMap(([, s]) => s);
    expect(open).toHaveLength(55);
    expect(subjects.filter((s) => !open.includes(s))).toEqual([...MMLU_HELD_OUT_SUBJECTS]);
    const openNames = new Set(committed.open.scenarios.map((s) => s.name));
    expect(committed.closed.scenarios.some((s) => openNames.has(s.name))).toBe(false);
    expect(committed.closed.description).toMatch(/SAMSum .*ETHICS .*MATH and CNN\/DailyMail are not available/);
    expect(committed.open.description).toMatch(/BIG-bench is not available/);
    expect(committed.open.description).toMatch(/only 4 of its 11 categories/);
    expect(committed.open.description).toMatch(/conceptual_physics and elementary_mathematics were not in the 2023 open set/);
  });
});

describe("prompts are exactly HELM v0.3.0's", () => {
  const prompt = (suite: Suite, scenario: string, id: string): string => {
    const s = suite.scenarios.find((x) => x.name === scenario)!;
    return instancePrompt(
      s,
      s.instances.find((i) => i.id === id)!,
    );
  };

  // In-context examples as crfm-helm 0.2.4's sample_examples(seed=0) picks them and the first instance of its numpy
  // eval draw, read off scripts/helm/generate.py's own output (the ids are HELM's "id{i}" over every split).
  const helmPicks: [string, string[], string][] = [
    ['mmlu-anatomy', ['id0', 'id1', 'id4', 'id2', 'id3'], 'id125'],
    ['truthfulqa', ['id111', 'id116', 'id123', 'id109', 'id26'], 'id698'],
    ['gsm8k', ['id162', 'id5795', 'id5430', 'id5542', 'id94'], 'id8131'],
    ['bbq', ['id5167', 'id3134', 'id3788', 'id5695', 'id511'], 'id7293'],
  ];

  it.each(helmPicks)("%s: HELM's in-context examples, in HELM's order, and HELM's first drawn instance", (name, inContext, first) => {
    const scenario = committed.openSmall.scenarios.find((s) => s.name === name)!;
    expect(scenario.inContext.map((example) => example.id)).toEqual(inContext);
    expect(scenario.instances[0]!.id).toBe(first);
  });

  it('MMLU: instructions, the 5 dev examples in sample_examples order, "Question:" / "A." / "Answer:"', () => {
    const text = prompt(committed.openSmall, 'mmlu-anatomy', 'id125');
    expect(
      text.startsWith(
        'The following are multiple choice questions (with answers) about anatomy.\n\nQuestion: What is the embryological origin of the hyoid bone?\n',
      ),
    ).toBe(true);
    expect(
      text.endsWith(
        'Question: Which of the following structures is part of the small intestine?\nA. Ascending colon\nB. Cecum\nC. Ileum\nD. Sigmoid colon\nAnswer:',
      ),
    ).toBe(true);
    expect(text.split('\n\n')).toHaveLength(7);
  });

  it('GSM8K: in-context examples from the train split (ids below 7,473), "Q: "/"A: ", gold answers with "The answer is", ending "A:"', () => {
    const gsm = committed.open.scenarios.find((s) => s.name === 'gsm8k')!;
    for (const example of gsm.inContext) expect(Number(example.id.slice(2))).toBeLessThan(7473);
    for (const instance of gsm.instances) expect(Number(instance.id.slice(2))).toBeGreaterThanOrEqual(7473);
    const text = instancePrompt(gsm, gsm.instances[0]!);
    expect(text.startsWith('Q: ')).toBe(true);
    expect(text.endsWith('\nA:')).toBe(true);
    expect(text.match(/ The answer is -?[\d,.]+\.\n\nQ: /g)).toHaveLength(5);
  });

  it('BBQ: instructions, "Passage:" with the question inside, three choices, the record\'s meta', () => {
    const bbq = committed.openSmall.scenarios.find((s) => s.name === 'bbq') as MultipleChoiceScenario;
    const text = instancePrompt(bbq, bbq.instances[0]!);
    expect(text.startsWith('The following are multiple choice questions (with answers).\n\nPassage: ')).toBe(true);
    expect(text.endsWith('\nC. ' + bbq.instances[0]!.choices[2] + '\nAnswer:')).toBe(true);
    for (const instance of [...bbq.inContext, ...bbq.instances]) {
      expect(instance.meta).toMatchObject({
        context_condition: expect.stringMatching(/^(ambig|disambig)$/),
        question_polarity: expect.stringMatching(/^(neg|nonneg)$/),
      });
      expect(['Age', 'Disability_status', 'Religion', 'Sexual_orientation']).toContain(instance.meta!['category']);
    }
  });

  it('corr2cause: HELM\'s "\\n"-wrapped instructions, the input noun "Scenario\\n", 1 in-context example', () => {
    expect(prompt(committed.closedSmall, 'causation', 'id1032')).toBe(
      '\n' +
        'Given a scenario with a premise and a hypothesis, determine if the hypothesis can be inferred from the premise.\n' +
        '\n' +
        '\n' +
        'Scenario\n' +
        (': Premise: Suppose there is a closed system of 4 variables, A, B, C and D. All the statistical relations among these 4 variables are as follows: A ' +
          'correlates with B. A correlates with C. B correlates with C. However, A is independent of D. A and D are independent given B. A and D are independent ' +
          'given B and C. A and D are independent given C. B is independent of D. B and D are independent given A. B and D are independent given A and C. B and ' +
          'D are independent given C. C is independent of D. C and D are independent given A. C and D are independent given A and B. C and D are independent ' +
          'given B.\n') +
        'Hypothesis: B causes something else which causes C.\n' +
        'A. No\n' +
        'B. Yes\n' +
        'Answer: A\n' +
        '\n' +
        'Scenario\n' +
        (': Premise: Suppose there is a closed system of 3 variables, A, B and C. All the statistical relations among these 3 variables are as follows: A ' +
          'correlates with B. A correlates with C. B correlates with C. However, B and C are independent given A.\n') +
        'Hypothesis: C directly causes A.\n' +
        'A. No\n' +
        'B. Yes\n' +
        'Answer:',
    );
  });

  it('request settings and metrics as in run_specs.py', () => {
    const byName = (suite: Suite, name: string) => suite.scenarios.find((s) => s.name === name)!;
    const gsm = byName(committed.open, 'gsm8k');
    if (gsm.kind !== 'generation') throw new Error('gsm8k is not generation');
    expect([gsm.metric, gsm.request]).toEqual(['exact_match_indicator', { maxNewTokens: 400, temperature: 0, stopSequences: ['\n\n'], topKPerToken: 1 }]);
    expect(gsm.inContext).toHaveLength(5);
    expect(['mmlu-anatomy', 'truthfulqa', 'bbq'].map((n) => [byName(committed.open, n).metric, byName(committed.open, n).perturbations ?? null])).toEqual([
      ['exact_match', ['robustness', 'fairness']],
      ['exact_match', ['robustness', 'fairness']],
      ['quasi_exact_match', null],
    ]);
    const c2c = byName(committed.closed, 'causation') as MultipleChoiceScenario;
    expect([c2c.metric, c2c.inContext.length, c2c.inputNoun, c2c.outputNoun, c2c.perturbations]).toEqual(['exact_match', 1, 'Scenario\n', 'Answer', undefined]);
    expect(byName(committed.closed, 'mmlu-elementary-mathematics').perturbations).toEqual(['robustness', 'fairness']);
  });
});

describe('corr2cause loader (HELM corr2cause_scenario.py)', () => {
  const text = readFileSync(path.join(DATA, 'corr2cause', 'test.csv'), 'utf8');

  it('shuffles with Python random.seed(0), evaluates the 20% valid split, and picks the example as sample_examples (checked with python3)', () => {
    const scenario = corr2causeScenario(text, { maxInstances: 50 });
    // python3: random.seed(0); random.shuffle(rows); int(0.8 * 1162) = 929 train rows; valid ids id929..id1161
    expect(scenario.sampling).toEqual({ seed: 0, from: 233 });
    expect(scenario.instances.slice(0, 5).map((i) => i.id)).toEqual(['id1145', 'id1027', 'id1123', 'id1156', 'id1036']);
    // sample_examples(train, seed=0): "No" is the commoner label; train.pop(randrange(#No)) is id473
    expect(scenario.inContext.map((i) => [i.id, i.choices[i.answer]])).toEqual([['id473', 'No']]);
    const all = corr2causeScenario(text);
    expect(all.instances.map((i) => i.id)).toEqual(Array.from({ length: 233 }, (_, k) => `id${929 + k}`));
    expect(all.instances[0]!.choices).toEqual(['No', 'Yes']);
    expect(all.instances[0]!.meta).toEqual({ num_variables: '5', template: 'has_collider' });
  });

  it('sample_examples: the docstring example of HELM, and ties shuffled (python3 random.seed(0))', () => {
    const inst = (id: string, label: string) => ({
      id,
      question: id,
      choices: ['no', 'yes', label === 'a' || label === 'b' ? label : 'x'],
      answer: label === 'no' ? 0 : label === 'yes' ? 1 : 2,
    });
    // labels yes ×2, no ×1 → yes first: pop(randrange(2) = 1), then no: pop(randrange(1) = 0)
    expect(helmSampleExamples([inst('say no', 'no'), inst('say yes 1', 'yes'), inst('say yes 2', 'yes')], 2).map((i) => i.id)).toEqual(['say yes 2', 'say no']);
    // a ×2, b ×2 → shuffle(['a', 'b']) keeps ['a', 'b']; then randrange(2) = 1, randrange(2) = 0, randrange(1) = 0
    expect(helmSampleExamples([inst('a0', 'a'), inst('a1', 'a'), inst('b0', 'b'), inst('b1', 'b')], 3).map((i) => i.id)).toEqual(['a1', 'b0', 'a0']);
  });

  it('names the file, line and field of a bad row', () => {
    expect(() => corr2causeScenario('input,label\n"x",2\n', { file: 'c.csv' })).toThrow('c.csv:2 (field label): expected 0 or 1, got "2"');
    expect(() => corr2causeScenario('text,label\n"x",1\n', { file: 'c.csv' })).toThrow(/c\.csv:1 \(field input\): missing column/);
  });
});

describe('scenario groups: one ranking scenario per group, macro-averaged as HELM', () => {
  const mc = (name: string, group: string | undefined, answers: number[], perturbations?: ('robustness' | 'fairness')[]): Scenario => ({
    name,
    title: name,
    ...(group === undefined ? {} : { group }),
    kind: 'multiple_choice',
    metric: 'exact_match',
    instructions: '',
    ...(perturbations ? { perturbations } : {}),
    inContext: [],
    instances: answers.map((answer, i) => ({
      id: `id${i}`,
      question: `Which letter is number ${answer + 1} of ${name} in the alphabet, said Mary?`,
      choices: ['A', 'B', 'C'],
      answer,
    })),
  });
  const suite = Suite.parse({
    schemaVersion: 1,
    name: 'grouped',
    kind: 'open',
    version: '1',
    description: '',
    scenarios: [mc('big', 'Toy', [0, 0, 0, 0], ['robustness', 'fairness']), mc('small', 'Toy', [1], ['robustness']), mc('alone', undefined, [2])],
  });
  // big: 1 of 4 right; small: 1 of 1 right; alone: unanswered. Every perturbed variant is answered wrongly.
  const answers: InstanceAnswer[] = workItems(suite)
    .filter((item) => item.scenario.name !== 'alone')
    .map((item) => {
      const right = item.kind === null && (item.scenario.name === 'small' || item.instanceId === 'id0');
      return {
        scenario: item.scenario.name,
        instanceId: item.answerId,
        completion: right ? 'ok' : 'no',
        score: right ? 1 : 0,
        errorKind: null,
        error: null,
        attempts: 1,
        latencyMs: 1,
      };
    });
  const summary = summarize(suite, answers, answers.length, null);

  it('adds one result per group: each column the unweighted mean over its scenarios (not over instances)', () => {
    expect(summary.scenarios.map((s) => s.scenario)).toEqual(['big', 'small', 'alone', 'Toy']);
    const [big, small, , toy] = summary.scenarios;
    expect([big!.score, small!.score]).toEqual([0.25, 1]);
    expect(toy!.columns.map((c) => c.column)).toEqual(['Toy - EM', 'Toy - EM (Robustness)', 'Toy - EM (Fairness)']);
    expect(toy!.score).toBe(0.625); // (0.25 + 1) / 2, where the mean over the 5 instances would be 0.4
    const col = (r: typeof big, name: string) => r!.columns.find((c) => c.column === name)!.score;
    expect(col(toy, 'Toy - EM (Robustness)')).toBe((col(big, 'big - EM (Robustness)') + col(small, 'small - EM (Robustness)')) / 2);
    // only "big" asks for fairness: the group's fairness column is its alone
    expect(col(toy, 'Toy - EM (Fairness)')).toBe(col(big, 'big - EM (Fairness)'));
    expect(toy!.members).toEqual(['big', 'small']);
    expect([toy!.instances, toy!.answered, toy!.failed]).toEqual([5, big!.answered + small!.answered, 0]);
  });

  it("does not count a group's instances twice in the totals", () => {
    expect(summary.total).toBe(workItems(suite).length);
    expect(summary.answered).toBe(answers.length);
    expect(summary.unanswered).toBe(1);
    expect(summary.failed).toBe(0);
  });

  it('rulesForSuites: a grouped scenario ranks through its group', () => {
    const rules = rulesForSuites({ open: suite, closed: suite });
    expect(rules.stages[0]!.scenarios.map((s) => [s.name, s.columns.map((c) => c.name)])).toEqual([
      ['Toy', ['Toy - EM', 'Toy - EM (Robustness)', 'Toy - EM (Fairness)']],
      ['alone', ['alone - EM']],
    ]);
  });

  it("a group may not take a scenario's name, nor mix metrics", () => {
    const withGroup = (group: string) => ({ ...suite, scenarios: [mc('big', group, [0]), mc('alone', undefined, [0])] });
    expect(Suite.safeParse(withGroup('alone')).success).toBe(false);
    expect(Suite.safeParse(withGroup('Alone')).success).toBe(true);
    const rouge = {
      ...mc('sum', 'Toy', [0]),
      kind: 'generation',
      metric: 'rouge_2',
      format: { inputPrefix: '', inputSuffix: '', outputPrefix: '', outputSuffix: '', instancePrefix: '\n' },
      request: { maxNewTokens: 9, temperature: 0, stopSequences: [] },
      instances: [{ id: 'g', input: 'x', references: ['y'] }],
    };
    const mixed = Suite.safeParse({ ...suite, scenarios: [mc('big', 'Toy', [0]), rouge] });
    expect(mixed.success).toBe(false);
    expect(mixed.error?.issues[0]?.message).toMatch(/group Toy mix metrics/);
  });

  it('the real suites rank as 2023 did: MMLU, TruthfulQA (3 columns each), GSM8K, BBQ; corr2cause and the held-out MMLU', () => {
    const rules = rulesForSuites({ open: committed.open, closed: committed.closed });
    const stage = (name: string) => rules.stages.find((s) => s.name === name)!.scenarios.map((s) => [s.name, s.columns.map((c) => c.name)]);
    expect(stage('open')).toEqual([
      ['MMLU', ['MMLU - EM', 'MMLU - EM (Robustness)', 'MMLU - EM (Fairness)']],
      ['TruthfulQA', ['TruthfulQA - EM', 'TruthfulQA - EM (Robustness)', 'TruthfulQA - EM (Fairness)']],
      ['GSM8K', ['GSM8K - EM']],
      ['BBQ', ['BBQ - EM']],
    ]);
    expect(stage('closed')).toEqual([
      ['corr2cause', ['corr2cause - EM']],
      ['MMLU held-out', ['MMLU held-out - EM', 'MMLU held-out - EM (Robustness)', 'MMLU held-out - EM (Fairness)']],
    ]);
    expect(rules.stages.flatMap((s) => s.scenarios.flatMap((c) => c.columns)).every((c) => !c.lowerIsBetter)).toBe(true);
  });

  it('summarize over the real open suite gives the 4 group results after the 58 scenario results', () => {
    const s = summarize(committed.openSmall, [], 0, null);
    expect(s.scenarios).toHaveLength(58 + 4);
    expect(s.scenarios.slice(58).map((r) => [r.scenario, r.instances, r.members?.length])).toEqual([
      ['MMLU', 79, 55],
      ['TruthfulQA', 7, 1],
      ['GSM8K', 7, 1],
      ['BBQ', 7, 1],
    ]);
    expect(s.unanswered).toBe(s.total);
  });
});

describe('suites/data', () => {
  it('keeps a LICENSE in every folder and the row counts of its README', () => {
    for (const folder of ['mmlu', 'truthfulqa', 'gsm8k', 'bbq', 'corr2cause']) expect(existsSync(path.join(DATA, folder, 'LICENSE'))).toBe(true);
    const lines = (file: string) =>
      readFileSync(path.join(DATA, file), 'utf8')
        .split('\n')
        .filter((l) => l.trim() !== '').length;
    expect(lines('gsm8k/test.jsonl')).toBe(1319);
    expect(['Age', 'Disability_status', 'Religion', 'Sexual_orientation'].map((c) => lines(`bbq/${c}.jsonl`))).toEqual([3680, 1556, 1200, 864]);
    expect(readdirSync(path.join(DATA, 'mmlu', 'dev'))).toHaveLength(57);
  });
});

const SHARED = path.join(PROJECT_ROOT, '..', 'shared', 'datasets');
const describeShared = existsSync(SHARED) ? describe : describe.skip;
describeShared(`suites/data is an unchanged copy of ../shared/datasets${existsSync(SHARED) ? '' : ' (skipped: ../shared/datasets is absent)'}`, () => {
  it('byte for byte, file by file', () => {
    const files = (root: string): string[] =>
      readdirSync(root, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(path.join(root, e.name)).map((f) => `${e.name}/${f}`) : [e.name]));
    const ours = files(DATA).filter((f) => f !== 'README.md');
    expect(ours.length).toBeGreaterThan(100);
    for (const file of ours) expect(readFileSync(path.join(DATA, file)).equals(readFileSync(path.join(SHARED, file)))).toBe(true);
  });
});
