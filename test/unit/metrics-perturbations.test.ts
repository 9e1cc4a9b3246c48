import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../infra/paths.js';
import {
  PyRandom,
  applyPerturbation,
  contractionPerturbation,
  dialectPerturbation,
  fairnessPerturbations,
  genderPronounPerturbation,
  lowercasePerturbation,
  matchCase,
  misspellingPerturbation,
  robustnessPerturbation,
  spacePerturbation,
  worstCase,
  type PerturbationName,
} from '../../domain/metrics/index.js';
import { CORRECT_TO_MISSPELLING } from '../../domain/metrics/data/misspellings.js';
import { SAE_TO_AAVE } from '../../domain/metrics/data/dialect.js';
import { FIRST_NAMES } from '../../domain/metrics/data/first-names.js';
import { perturbedVariants, scoreInstance, type MultipleChoiceScenario } from '../../domain/harness/suite.js';

interface PerturbationCase {
  id: string;
  text: string;
  references: string[];
  mild_mix: { text: string; references: string[] };
  dialect: { text: string; references: string[] };
  gender: { text: string; references: string[] };
  person_name: { text: string; references: string[] };
}
const { cases } = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'test', 'fixtures', 'metrics', 'perturbation-vectors.json'), 'utf8')) as {
  cases: PerturbationCase[];
};

describe('shipped word lists', () => {
  it('are large enough and well formed', () => {
    // HELM's correct_to_misspelling.json (crfm-helm 0.2.4): 6,523 words, both cases listed ("About a" and "about a")
    expect(Object.keys(CORRECT_TO_MISSPELLING).length).toBe(6523);
    expect(CORRECT_TO_MISSPELLING['about']).toBeDefined();
    expect(CORRECT_TO_MISSPELLING['About a']).toBeDefined();
    expect(Object.keys(SAE_TO_AAVE).length).toBeGreaterThanOrEqual(60);
    for (const word of Object.keys(SAE_TO_AAVE)) expect(word).toBe(word.toLowerCase());
    for (const [word, options] of [...Object.entries(CORRECT_TO_MISSPELLING), ...Object.entries(SAE_TO_AAVE)]) {
      expect(options.length).toBeGreaterThan(0);
      expect(options).not.toContain(word);
    }
    for (const race of ['white_american', 'black_american'] as const) {
      for (const gender of ['female', 'male'] as const) {
        expect(FIRST_NAMES.filter((n) => n.race === race && n.gender === gender).length).toBeGreaterThanOrEqual(20);
      }
    }
  });
});

describe('HELM published perturbation vectors (test_perturbation.py, instance id0)', () => {
  const rng = (): PyRandom => new PyRandom('id0');
  it('lowercase', () => {
    expect(lowercasePerturbation('Hello World!\nQuite a day, huh?')).toBe('hello world!\nquite a day, huh?');
  });
  it('contraction (an expansion followed by a space)', () => {
    expect(contractionPerturbation('She is a doctor, and I am a student')).toBe("She's a doctor, and I'm a student");
    expect(contractionPerturbation('he is a teacher')).toBe("he's a teacher");
    // only before a space: a sentence-final expansion stays
    expect(contractionPerturbation('I know he is')).toBe('I know he is');
    // the reverse map keeps the last contraction of an expansion ("is not" → "isn't", not "ain't")
    expect(contractionPerturbation('It is not here')).toBe("It's not here");
    expect(contractionPerturbation('this is not it')).toBe("this isn't it");
  });
  it('space(3) replays CPython randint draws of Random("id0")', () => {
    expect(spacePerturbation('Hello World!\nQuite a day, huh?', rng(), 3)).toBe('Hello   World!\nQuite a  day,   huh?');
  });
  it('misspelling(1.0) with the entries of HELM correct_to_misspelling.json that the sentence uses', () => {
    const helmEntries = {
      already: ['aready', 'alreayd', 'allready'],
      Already: ['Aready', 'Alreayd', 'Allready'],
      the: ['tjhe', 'tghe', 'hten', 'teh', 'ther', 'thge', 'tje'],
      not: ['onot', 'nto'],
      available: ['availabe', 'avalable', 'availaible', 'availiable', 'availible', 'avaliable', 'availble', 'avilable'],
    };
    expect(misspellingPerturbation('Already, the new product is not available.', rng(), 1.0, helmEntries)).toBe('Alreayd, hten new product is nto avaliable.');
  });
  it('dialect(1.0, SAE→AAVE): reference first, then input, on one RNG', () => {
    const result = applyPerturbation('dialect', 'I will remember this day to be the best day of my life.', 'id0', ['Is this love?']);
    expect(result.text).toBe('I gon remember dis day to b the best day of mah life.');
    expect(result.references).toEqual(['Is dis love?']);
  });
  it('person names (white → black American first names, gender preserving, persistent)', () => {
    const result = applyPerturbation('person_name', 'I learned that Jack, Peter, and Lauren are siblings! Do you know who is the oldest?', 'id0', [
      'Peter and peter were friends.',
    ]);
    expect(result.text).toBe('I learned that Lamar, Tyree, and Sharise are siblings! Do you know who is the oldest?');
    expect(result.references).toEqual(['Tyree and tyree were friends.']);
  });
  it('gender pronouns (male → female)', () => {
    const result = applyPerturbation('gender', 'Did she mention that he was coming with his parents and their friends?', 'id0', [
      "She didn't, perhaps he didn't tell her!",
    ]);
    expect(result.text).toBe('Did she mention that she was coming with her parents and their friends?');
    expect(result.references).toEqual(["She didn't, perhaps she didn't tell her!"]);
  });
  it("gender pronouns keep HELM's [^\\w](word)[^\\w] quirk: no match at the text edges or in adjacent matches", () => {
    expect(genderPronounPerturbation('he is here', rng())).toBe('he is here');
    // the second "his" is missed by the his→her pass (its leading space was consumed), then caught by his→hers
    expect(genderPronounPerturbation('x his his x', rng())).toBe('x her hers x');
    expect(genderPronounPerturbation('Is it HIS? "He" said.', rng())).toBe('Is it HER? "She" said.');
  });
  it('dialect leaves words glued by "-" alone and matches case', () => {
    expect(dialectPerturbation(' This and well-this ', rng())).toBe(' Dis and well-this ');
    expect(dialectPerturbation(' THIS ', rng())).toBe(' DIS ');
  });
});

describe('perturbations vs HELM v0.3.0 perturbation classes on our word lists (fixture)', () => {
  const names: PerturbationName[] = ['mild_mix', 'dialect', 'gender', 'person_name'];
  it.each(cases.map((c, i) => [`${i}:${c.id}`, c] as const))('%s', (_label, c) => {
    for (const name of names) {
      const got = applyPerturbation(name, c.text, c.id, c.references);
      expect({ name, text: got.text, references: got.references }).toEqual({ name, ...c[name] });
    }
  });
});

describe('instance-level API', () => {
  const text = 'Because of the weather, they decided to go together with their friends to the library.';
  it('is deterministic per instance id and differs across ids', () => {
    expect(robustnessPerturbation(text, 'id2')).toEqual(robustnessPerturbation(text, 'id2'));
    expect(fairnessPerturbations(text, 'id2')).toEqual(fairnessPerturbations(text, 'id2'));
    const outputs = new Set(['id1', 'id2', 'id3', 'id4', 'id5'].map((id) => robustnessPerturbation(text, id)[0]?.text));
    expect(outputs.size).toBeGreaterThan(1);
  });
  it('keeps only perturbations that changed the input, in HELM order, with categories', () => {
    const robust = robustnessPerturbation(text, 'id2', ['A', 'B']);
    expect(robust.map((p) => [p.name, p.category])).toEqual([['mild_mix', 'robustness']]);
    expect(robust[0]?.references).toEqual(['A', 'B']); // MildMix never perturbs references
    const fair = fairnessPerturbations(text, 'id2');
    expect(fair.map((p) => p.name)).toEqual(['dialect']); // no pronoun or first name to change
    expect(fairnessPerturbations('nothing to see', 'id0')).toEqual([]);
    expect(robustnessPerturbation('', 'id0')).toEqual([]);
  });
  it('matchCase follows HELM match_case', () => {
    expect(matchCase('Jack', 'lamar')).toBe('Lamar');
    expect(matchCase('JACK', 'lamar')).toBe('LAMAR');
    expect(matchCase('jack', 'Lamar')).toBe('lamar');
    expect(matchCase('i would', "i'd")).toBe("i'd"); // the space is neither lower nor upper
    expect(matchCase('IT IS', "it's")).toBe("It's");
  });
});

describe('robustness and fairness scores: worst case per instance (HELM compute_worst_case_metrics)', () => {
  const scenario: MultipleChoiceScenario = {
    name: 'demo',
    title: 'Demo',
    kind: 'multiple_choice',
    metric: 'exact_match',
    instructions: 'The following are multiple choice questions (with answers) about demo.',
    perturbations: ['robustness', 'fairness'],
    inContext: [],
    instances: [
      {
        id: 'id4',
        question: 'HE IS NOT HERE. He told him that his brother and himself will be there before the end.',
        choices: ['his', 'him', 'he', 'himself'],
        answer: 0,
      },
    ],
  };
  const instance = scenario.instances[0]!;

  it('perturbs the question (and, for fairness, the choices) of an MC instance, seeded by its id', () => {
    const variants = perturbedVariants(scenario, instance);
    expect(variants.map((v) => v.perturbation)).toEqual(['mild_mix', 'dialect', 'gender']);
    const gender = variants.find((v) => v.perturbation === 'gender')!.instance;
    expect(gender).toMatchObject({ id: 'id4', answer: 0, choices: ['his', 'him', 'he', 'himself'] }); // choices at the text edges: HELM's quirk
    expect('question' in gender && gender.question).toBe(cases.find((c) => c.id === 'id4')!.gender.text);
    expect(perturbedVariants({ ...scenario, perturbations: [] }, instance)).toEqual([]);
    expect(perturbedVariants({ ...scenario, perturbations: undefined }, instance)).toEqual([]);
  });

  it('robustness = min(original, perturbed); fairness likewise over the fairness variants', () => {
    const answers = new Map([
      ['original', ' A'],
      ['mild_mix', 'B'],
      ['dialect', 'A'],
      ['gender', 'A'],
    ]);
    const original = scoreInstance(scenario, instance, answers.get('original')!);
    const byCategory = { robustness: [] as number[], fairness: [] as number[] };
    for (const variant of perturbedVariants(scenario, instance))
      byCategory[variant.category].push(scoreInstance(scenario, variant.instance, answers.get(variant.perturbation) ?? null));
    expect(original).toBe(1);
    expect(worstCase(original, byCategory.robustness)).toBe(0);
    expect(worstCase(original, byCategory.fairness)).toBe(1);
  });
});
