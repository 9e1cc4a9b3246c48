/**
 * HELM v0.3.0's canonical data augmentation (`data_augmentation=canonical`, SCORING_AND_METRICS.md §3):
 *
 * - robustness: `MildMixPerturbation` = lowercase → contractions → misspellings (p = 0.1) → each run of
 *   spaces becomes 1..3 spaces. References are not perturbed.
 * - fairness, each with prob 1.0 and references perturbed too (before the input, sharing one RNG):
 *   dialect SAE → AAVE, gender pronouns male → female, person first names white → black American
 *   (gender preserving, one name map shared by references and input).
 *
 * Algorithms, regular expressions (with Python's Unicode `\w`/`\b`), their order and every random draw
 * follow HELM: one CPython-compatible `Random(instance.id)` per perturbation and instance, `random()` /
 * `uniform(0, 1)` per candidate match, `choice` / `randint` as HELM calls them. Verified against HELM
 * v0.3.0's own perturbation classes run on this project's word lists
 * (test/fixtures/metrics/perturbation-vectors.json).
 *
 * NOT bit-compatible with HELM's published perturbed texts in general: HELM downloads its data files
 * (`correct_to_misspelling.json` with ~6500 words, the Ziems et al. SAE→AAVE mapping, `person_names.txt`),
 * and this project ships its own shorter lists in ./data/. Texts whose words are in both lists with the same
 * options (e.g. HELM's published dialect, name and pronoun examples) come out identical.
 */
import { PyRandom } from './pyrandom.js';
import { PY_NON_WORD_CLASS, PY_WORD_BOUNDARY, escapeRegExp, matchCase } from './python.js';
import { CORRECT_TO_MISSPELLING } from './data/misspellings.js';
import { SAE_TO_AAVE } from './data/dialect.js';
import { FIRST_NAMES, type NameGender, type NameRace } from './data/first-names.js';

export type PerturbationCategory = 'robustness' | 'fairness';
export type PerturbationName = 'mild_mix' | 'dialect' | 'gender' | 'person_name';

export const PERTURBATION_CATEGORY: Readonly<Record<PerturbationName, PerturbationCategory>> = {
  mild_mix: 'robustness',
  dialect: 'fairness',
  gender: 'fairness',
  person_name: 'fairness',
};

export interface PerturbedText {
  name: PerturbationName;
  category: PerturbationCategory;
  /** the perturbed input */
  text: string;
  /** the references after the perturbation (unchanged for robustness) */
  references: string[];
}

// ---------------------------------------------------------------------------------------------------
// Robustness building blocks

export const lowercasePerturbation = (text: string): string => text.toLowerCase();

/** HELM `CONTRACTION_MAP` (contraction → expansion), in HELM's order. */
const CONTRACTION_MAP: readonly (readonly [string, string])[] = [
  ["ain't", 'is not'], ["aren't", 'are not'], ["can't", 'cannot'], ["can't've", 'cannot have'], ["could've", 'could have'],
  ["couldn't", 'could not'], ["didn't", 'did not'], ["doesn't", 'does not'], ["don't", 'do not'], ["hadn't", 'had not'],
  ["hasn't", 'has not'], ["haven't", 'have not'], ["he'd", 'he would'], ["he'd've", 'he would have'], ["he'll", 'he will'],
  ["he's", 'he is'], ["how'd", 'how did'], ["how'd'y", 'how do you'], ["how'll", 'how will'], ["how's", 'how is'],
  ["I'd", 'I would'], ["I'll", 'I will'], ["I'm", 'I am'], ["I've", 'I have'], ["i'd", 'i would'], ["i'll", 'i will'],
  ["i'm", 'i am'], ["i've", 'i have'], ["isn't", 'is not'], ["it'd", 'it would'], ["it'll", 'it will'], ["it's", 'it is'],
  ["ma'am", 'madam'], ["might've", 'might have'], ["mightn't", 'might not'], ["must've", 'must have'], ["mustn't", 'must not'],
  ["needn't", 'need not'], ["oughtn't", 'ought not'], ["shan't", 'shall not'], ["she'd", 'she would'], ["she'll", 'she will'],
  ["she's", 'she is'], ["should've", 'should have'], ["shouldn't", 'should not'], ["that'd", 'that would'], ["that's", 'that is'],
  ["there'd", 'there would'], ["there's", 'there is'], ["they'd", 'they would'], ["they'll", 'they will'], ["they're", 'they are'],
  ["they've", 'they have'], ["wasn't", 'was not'], ["we'd", 'we would'], ["we'll", 'we will'], ["we're", 'we are'],
  ["we've", 'we have'], ["weren't", 'were not'], ["what're", 'what are'], ["what's", 'what is'], ["when's", 'when is'],
  ["where'd", 'where did'], ["where's", 'where is'], ["where've", 'where have'], ["who'll", 'who will'], ["who's", 'who is'],
  ["who've", 'who have'], ["why's", 'why is'], ["won't", 'will not'], ["would've", 'would have'], ["wouldn't", 'would not'],
  ["you'd", 'you would'], ["you'd've", 'you would have'], ["you'll", 'you will'], ["you're", 'you are'], ["you've", 'you have'],
];

/**
 * `{value: key for key, value in CONTRACTION_MAP.items()}`: a Python dict keeps the position of an
 * expansion's first occurrence and the contraction of its last ("is not" → "isn't", not "ain't").
 */
const REVERSE_CONTRACTION_MAP: ReadonlyMap<string, string> = (() => {
  const map = new Map<string, string>();
  for (const [contraction, expansion] of CONTRACTION_MAP) map.set(expansion, contraction);
  return map;
})();

const CONTRACTION_PATTERN = new RegExp(`${PY_WORD_BOUNDARY}(${[...REVERSE_CONTRACTION_MAP.keys()].map(escapeRegExp).join('|')})${PY_WORD_BOUNDARY} `, 'giu');

/** HELM `ContractionPerturbation`: an expansion followed by a space becomes its contraction, case matched. */
export function contractionPerturbation(text: string): string {
  return text.replace(CONTRACTION_PATTERN, (_whole, match: string) => {
    const contraction = REVERSE_CONTRACTION_MAP.get(match) ?? REVERSE_CONTRACTION_MAP.get(match.toLowerCase()) ?? match;
    return `${matchCase(match, contraction)} `;
  });
}

const patternCache = new WeakMap<object, RegExp>();
function alternation(keys: Iterable<string>, build: (alternatives: string) => RegExp, cacheKey: object): RegExp {
  const cached = patternCache.get(cacheKey);
  if (cached) return cached;
  const pattern = build([...keys].map(escapeRegExp).join('|'));
  patternCache.set(cacheKey, pattern);
  return pattern;
}

/**
 * HELM `MisspellingPerturbation`: `\b(word1|word2|…)\b` (case-sensitive); each match is replaced, when
 * `rng.random() < prob`, by `rng.choice(misspellings)` with its case matched.
 */
export function misspellingPerturbation(
  text: string,
  rng: PyRandom,
  prob = 0.1,
  correctToMisspelling: Readonly<Record<string, readonly string[]>> = CORRECT_TO_MISSPELLING,
): string {
  const keys = Object.keys(correctToMisspelling);
  if (keys.length === 0) return text;
  const pattern = alternation(keys, (alts) => new RegExp(`${PY_WORD_BOUNDARY}(${alts})${PY_WORD_BOUNDARY}`, 'gu'), correctToMisspelling);
  pattern.lastIndex = 0;
  return text.replace(pattern, (_whole, word: string) => {
    if (rng.random() < prob) {
      const options = correctToMisspelling[word];
      if (options === undefined || options.length === 0) return word;
      return matchCase(word, rng.choice(options));
    }
    return word;
  });
}

/** HELM `SpacePerturbation(max_spaces)`: every run of spaces becomes `rng.randint(1, max_spaces)` spaces. */
export function spacePerturbation(text: string, rng: PyRandom, maxSpaces = 3): string {
  return text.replace(/ +/g, () => ' '.repeat(rng.randint(1, maxSpaces)));
}

/** HELM `MildMixPerturbation.perturb`. */
export function mildMixPerturbation(text: string, rng: PyRandom): string {
  return spacePerturbation(misspellingPerturbation(contractionPerturbation(lowercasePerturbation(text)), rng, 0.1), rng, 3);
}

// ---------------------------------------------------------------------------------------------------
// Fairness building blocks

/**
 * HELM `DialectPerturbation`: `[^\w-](word1|…)[^\w-]`, IGNORECASE; each match, when `rng.uniform(0, 1) <
 * prob`, gets `rng.choice(mapping[word.lower()])` with the case of the matched word. The surrounding
 * characters are consumed, so adjacent words separated by one character are skipped, as in HELM.
 */
export function dialectPerturbation(
  text: string,
  rng: PyRandom,
  prob = 1.0,
  mapping: Readonly<Record<string, readonly string[]>> = SAE_TO_AAVE,
): string {
  const keys = Object.keys(mapping);
  if (keys.length === 0) return text;
  const pattern = alternation(keys, (alts) => new RegExp(`[^\\p{L}\\p{N}_-](${alts})[^\\p{L}\\p{N}_-]`, 'giu'), mapping);
  pattern.lastIndex = 0;
  return text.replace(pattern, (whole: string, word: string) => {
    if (rng.uniform(0, 1) < prob) {
      const options = mapping[word.toLowerCase()];
      if (options === undefined || options.length === 0) return whole;
      const synonym = matchCase(word, rng.choice(options));
      return whole.split(word).join(synonym);
    }
    return whole;
  });
}

/** HELM `GENDER_PRONOUN_MAPPINGS` (neutral, female, male). */
const GENDER_PRONOUN_MAPPINGS: readonly (readonly [string, string, string])[] = [
  ['they', 'she', 'he'],
  ['them', 'her', 'him'],
  ['their', 'her', 'his'],
  ['theirs', 'hers', 'his'],
  ['themselves', 'herself', 'himself'],
];
const GENDER_INDEX = { neutral: 0, female: 1, male: 2 } as const;

/**
 * HELM `GenderPerturbation(mode="pronouns")`: the (source, target) pairs are applied one after another,
 * each with `[^\w](word)[^\w]`, IGNORECASE, and `rng.uniform(0, 1) < prob` per match. A word at the very
 * start or end of the text, or right after another replaced word with one character between, is not
 * replaced (HELM's quirk, TODO #1958 upstream).
 */
export function genderPronounPerturbation(
  text: string,
  rng: PyRandom,
  prob = 1.0,
  source: keyof typeof GENDER_INDEX = 'male',
  target: keyof typeof GENDER_INDEX = 'female',
): string {
  let out = text;
  for (const row of GENDER_PRONOUN_MAPPINGS) {
    const word = row[GENDER_INDEX[source]];
    const synonym = row[GENDER_INDEX[target]];
    const pattern = new RegExp(`${PY_NON_WORD_CLASS}(${word})${PY_NON_WORD_CLASS}`, 'giu');
    out = out.replace(pattern, (whole: string, matchWord: string) => {
      if (rng.uniform(0, 1) < prob) return whole.split(matchWord).join(matchCase(matchWord, synonym));
      return whole;
    });
  }
  return out;
}

/** State shared by the references and the input of one instance (HELM `perturb_with_persistency`). */
export interface PersonNameState {
  substitutions: Map<string, string>;
  skipped: Set<string>;
}

const namesOf = (race: NameRace): string[] => FIRST_NAMES.filter((n) => n.race === race).map((n) => n.name);

function nameGender(name: string): NameGender | null {
  for (const gender of ['female', 'male'] as const) if (FIRST_NAMES.some((n) => n.gender === gender && n.name === name)) return gender;
  return null;
}

/**
 * HELM `PersonNamePerturbation.perturb_with_persistency` (first names, white_american → black_american,
 * preserve_gender): tokens split on `([^\w])`; a source name not yet seen draws `rng.uniform(0, 1)` and,
 * under `prob`, `rng.choice` among target names of the same gender; the substitution is remembered and
 * case matched everywhere after.
 */
export function personNamePerturbation(text: string, rng: PyRandom, state: PersonNameState, prob = 1.0): string {
  const sourceNames = namesOf('white_american');
  const targetNames = namesOf('black_american');
  const tokens = text.split(new RegExp(`(${PY_NON_WORD_CLASS})`, 'u'));
  return tokens
    .map((token) => {
      const lowered = token.toLowerCase();
      const skip = state.substitutions.has(lowered) || state.skipped.has(lowered);
      if (!skip && sourceNames.includes(lowered)) {
        if (rng.uniform(0, 1) < prob) {
          const gender = nameGender(lowered);
          // HELM: target names listed (on any line of the name file) with the source name's gender.
          const options = gender === null ? targetNames : targetNames.filter((n) => FIRST_NAMES.some((x) => x.name === n && x.gender === gender));
          if (options.length > 0) state.substitutions.set(lowered, rng.choice(options));
        } else {
          state.skipped.add(lowered);
        }
      }
      const substitution = state.substitutions.get(lowered);
      return substitution === undefined ? token : matchCase(token, substitution);
    })
    .join('');
}

// ---------------------------------------------------------------------------------------------------
// Instance-level API

/** HELM `Perturbation.get_rng`: `Random(instance.id)` (no extra seed: seeds_per_instance = 1). */
export const perturbationRng = (seedId: string): PyRandom => new PyRandom(seedId);

/**
 * Applies one perturbation to an instance the way HELM's `apply` does: a fresh `Random(seedId)`; when the
 * perturbation perturbs references, every reference first (in order), then the input, on the same RNG.
 */
export function applyPerturbation(name: PerturbationName, text: string, seedId: string, references: readonly string[] = []): PerturbedText {
  const rng = perturbationRng(seedId);
  const category = PERTURBATION_CATEGORY[name];
  switch (name) {
    case 'mild_mix':
      return { name, category, text: mildMixPerturbation(text, rng), references: [...references] };
    case 'dialect': {
      const refs = references.map((r) => dialectPerturbation(r, rng));
      return { name, category, text: dialectPerturbation(text, rng), references: refs };
    }
    case 'gender': {
      const refs = references.map((r) => genderPronounPerturbation(r, rng));
      return { name, category, text: genderPronounPerturbation(text, rng), references: refs };
    }
    case 'person_name': {
      const state: PersonNameState = { substitutions: new Map(), skipped: new Set() };
      const refs = references.map((r) => personNamePerturbation(r, rng, state));
      return { name, category, text: personNamePerturbation(text, rng, state), references: refs };
    }
  }
}

/** HELM keeps a perturbed instance only when its input changed (`should_skip_unchanged_eval`). */
const changed = (original: string) => (p: PerturbedText): boolean => p.text !== original;

/** The robustness perturbation (MildMix) of an instance input, or [] when it leaves the input unchanged. */
export function robustnessPerturbation(text: string, seedId: string, references: readonly string[] = []): PerturbedText[] {
  return [applyPerturbation('mild_mix', text, seedId, references)].filter(changed(text));
}

/** The fairness perturbations (dialect, gender, person_name, in HELM's order) that changed the input. */
export function fairnessPerturbations(text: string, seedId: string, references: readonly string[] = []): PerturbedText[] {
  return (['dialect', 'gender', 'person_name'] as const).map((name) => applyPerturbation(name, text, seedId, references)).filter(changed(text));
}
