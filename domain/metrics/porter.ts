/**
 * NLTK's PorterStemmer in its default NLTK_EXTENSIONS mode (`nltk/stem/porter.py`), as used by
 * google-research `rouge_score` with `use_stemmer=True`. It is not the original 1980 algorithm and differs
 * from most JavaScript ports ("generously" → "gener", "quickly" → "quickli", "dying" → "die").
 *
 * A rule-for-rule port: the irregular-forms pool, the NLTK variants of steps 1a/1b/1c/2 ("ies"/"ied" on
 * four-letter words, y → i only after a consonant that is not the whole stem, "alli" recursion, "fulli",
 * "logi"), and the two-letter *o condition. Words are handled as arrays of code points, as Python does.
 * Verified against nltk on the vectors in test/fixtures/metrics/porter-vectors.json.
 */

type Word = readonly string[];
type Condition = ((stem: Word) => boolean) | null;
type Rule = readonly [suffix: string, replacement: string, condition: Condition];

const VOWELS = new Set(['a', 'e', 'i', 'o', 'u']);

const IRREGULAR_FORMS: Record<string, string[]> = {
  sky: ['sky', 'skies'],
  die: ['dying'],
  lie: ['lying'],
  tie: ['tying'],
  news: ['news'],
  inning: ['innings', 'inning'],
  outing: ['outings', 'outing'],
  canning: ['cannings', 'canning'],
  howe: ['howe'],
  proceed: ['proceed'],
  exceed: ['exceed'],
  succeed: ['succeed'],
};
const POOL = new Map<string, string>(Object.entries(IRREGULAR_FORMS).flatMap(([key, forms]) => forms.map((form) => [form, key] as [string, string])));

const chars = (s: string): string[] => Array.from(s);
const text = (w: Word): string => w.join('');

function isConsonant(word: Word, index: number): boolean {
  let i = index;
  if (VOWELS.has(word[i] ?? '')) return false;
  if (word[i] === 'y') {
    let negate = false;
    while (i > 0 && word[i] === 'y') {
      negate = !negate;
      i -= 1;
    }
    return !VOWELS.has(word[i] ?? '') !== negate;
  }
  return true;
}

function consonantFlags(word: Word): boolean[] {
  const flags: boolean[] = [];
  word.forEach((ch, i) => {
    if (VOWELS.has(ch)) flags.push(false);
    else if (ch === 'y') flags.push(i === 0 ? true : !flags[i - 1]);
    else flags.push(true);
  });
  return flags;
}

/** m in [C](VC){m}[V]: the number of vowel→consonant transitions. */
function measure(stem: Word): number {
  const flags = consonantFlags(stem);
  let count = 0;
  for (let i = 1; i < flags.length; i++) if (!flags[i - 1] && flags[i]) count++;
  return count;
}

const hasPositiveMeasure = (stem: Word): boolean => measure(stem) > 0;
const containsVowel = (stem: Word): boolean => !consonantFlags(stem).every(Boolean);

/** *d: ends with a double consonant. */
const endsDoubleConsonant = (word: Word): boolean =>
  word.length >= 2 && word[word.length - 1] === word[word.length - 2] && isConsonant(word, word.length - 1);

/** *o: ends consonant-vowel-consonant, the last not w, x or y; NLTK also accepts a two-letter vowel-consonant word. */
function endsCvc(word: Word): boolean {
  const n = word.length;
  return (
    (n >= 3 && isConsonant(word, n - 3) && !isConsonant(word, n - 2) && isConsonant(word, n - 1) && !['w', 'x', 'y'].includes(word[n - 1] ?? '')) ||
    (n === 2 && !isConsonant(word, 0) && isConsonant(word, 1))
  );
}

function endsWith(word: Word, suffix: string): boolean {
  const s = chars(suffix);
  if (s.length > word.length) return false;
  for (let i = 0; i < s.length; i++) if (word[word.length - s.length + i] !== s[i]) return false;
  return true;
}

/** `word[:-len(suffix)] + replacement`; an empty suffix appends. */
function replaceSuffix(word: Word, suffix: string, replacement: string): string[] {
  const keep = word.length - chars(suffix).length;
  return [...word.slice(0, keep), ...chars(replacement)];
}

function applyRuleList(word: Word, rules: readonly Rule[]): string[] {
  for (const [suffix, replacement, condition] of rules) {
    if (suffix === '*d' && endsDoubleConsonant(word)) {
      const stem = word.slice(0, -2);
      return condition === null || condition(stem) ? [...stem, ...chars(replacement)] : [...word];
    }
    if (endsWith(word, suffix)) {
      const stem = replaceSuffix(word, suffix, '');
      return condition === null || condition(stem) ? [...stem, ...chars(replacement)] : [...word];
    }
  }
  return [...word];
}

function step1a(word: Word): string[] {
  if (endsWith(word, 'ies') && word.length === 4) return replaceSuffix(word, 'ies', 'ie');
  return applyRuleList(word, [
    ['sses', 'ss', null],
    ['ies', 'i', null],
    ['ss', 'ss', null],
    ['s', '', null],
  ]);
}

function step1b(word: Word): string[] {
  if (endsWith(word, 'ied')) return replaceSuffix(word, 'ied', word.length === 4 ? 'ie' : 'i');
  if (endsWith(word, 'eed')) {
    const stem = replaceSuffix(word, 'eed', '');
    return measure(stem) > 0 ? [...stem, 'e', 'e'] : [...word];
  }
  let intermediate: string[] | null = null;
  for (const suffix of ['ed', 'ing']) {
    if (endsWith(word, suffix)) {
      const candidate = replaceSuffix(word, suffix, '');
      if (containsVowel(candidate)) {
        intermediate = candidate;
        break;
      }
    }
  }
  if (intermediate === null) return [...word];
  const last = intermediate[intermediate.length - 1] ?? '';
  return applyRuleList(intermediate, [
    ['at', 'ate', null],
    ['bl', 'ble', null],
    ['iz', 'ize', null],
    ['*d', last, () => !['l', 's', 'z'].includes(last)],
    ['', 'e', (stem) => measure(stem) === 1 && endsCvc(stem)],
  ]);
}

/** NLTK: y → i only when preceded by a consonant that is not the whole stem ("spy" stays, "happy" → "happi"). */
function step1c(word: Word): string[] {
  return applyRuleList(word, [['y', 'i', (stem) => stem.length > 1 && isConsonant(stem, stem.length - 1)]]);
}

function step2(word: Word): string[] {
  if (endsWith(word, 'alli') && hasPositiveMeasure(replaceSuffix(word, 'alli', ''))) return step2(replaceSuffix(word, 'alli', 'al'));
  const rules: Rule[] = [
    ['ational', 'ate', hasPositiveMeasure],
    ['tional', 'tion', hasPositiveMeasure],
    ['enci', 'ence', hasPositiveMeasure],
    ['anci', 'ance', hasPositiveMeasure],
    ['izer', 'ize', hasPositiveMeasure],
    ['bli', 'ble', hasPositiveMeasure],
    ['alli', 'al', hasPositiveMeasure],
    ['entli', 'ent', hasPositiveMeasure],
    ['eli', 'e', hasPositiveMeasure],
    ['ousli', 'ous', hasPositiveMeasure],
    ['ization', 'ize', hasPositiveMeasure],
    ['ation', 'ate', hasPositiveMeasure],
    ['ator', 'ate', hasPositiveMeasure],
    ['alism', 'al', hasPositiveMeasure],
    ['iveness', 'ive', hasPositiveMeasure],
    ['fulness', 'ful', hasPositiveMeasure],
    ['ousness', 'ous', hasPositiveMeasure],
    ['aliti', 'al', hasPositiveMeasure],
    ['iviti', 'ive', hasPositiveMeasure],
    ['biliti', 'ble', hasPositiveMeasure],
    ['fulli', 'ful', hasPositiveMeasure],
    // NLTK tests the measure of the word minus "ogi" (i.e. the stem keeps its "l").
    ['logi', 'log', () => hasPositiveMeasure(word.slice(0, -3))],
  ];
  return applyRuleList(word, rules);
}

function step3(word: Word): string[] {
  return applyRuleList(word, [
    ['icate', 'ic', hasPositiveMeasure],
    ['ative', '', hasPositiveMeasure],
    ['alize', 'al', hasPositiveMeasure],
    ['iciti', 'ic', hasPositiveMeasure],
    ['ical', 'ic', hasPositiveMeasure],
    ['ful', '', hasPositiveMeasure],
    ['ness', '', hasPositiveMeasure],
  ]);
}

function step4(word: Word): string[] {
  const gt1 = (stem: Word): boolean => measure(stem) > 1;
  return applyRuleList(word, [
    ['al', '', gt1],
    ['ance', '', gt1],
    ['ence', '', gt1],
    ['er', '', gt1],
    ['ic', '', gt1],
    ['able', '', gt1],
    ['ible', '', gt1],
    ['ant', '', gt1],
    ['ement', '', gt1],
    ['ment', '', gt1],
    ['ent', '', gt1],
    ['ion', '', (stem) => measure(stem) > 1 && ['s', 't'].includes(stem[stem.length - 1] ?? '')],
    ['ou', '', gt1],
    ['ism', '', gt1],
    ['ate', '', gt1],
    ['iti', '', gt1],
    ['ous', '', gt1],
    ['ive', '', gt1],
    ['ize', '', gt1],
  ]);
}

function step5a(word: Word): string[] {
  if (endsWith(word, 'e')) {
    const stem = replaceSuffix(word, 'e', '');
    if (measure(stem) > 1) return stem;
    if (measure(stem) === 1 && !endsCvc(stem)) return stem;
  }
  return [...word];
}

function step5b(word: Word): string[] {
  return applyRuleList(word, [['ll', 'l', () => measure(word.slice(0, -1)) > 1]]);
}

/**
 * NLTK `PorterStemmer().stem(word)` (NLTK_EXTENSIONS, to_lowercase=True). The irregular-forms pool is
 * looked up with the word as given, as nltk 3.8.1 (the challenge's HELM) does; nltk >= 3.9 looks up the
 * lowercased word, which differs only for capitalised forms such as "Dying" (ROUGE lowercases first).
 */
export function porterStem(word: string): string {
  const lowered = word.toLowerCase();
  const irregular = POOL.get(word);
  if (irregular !== undefined) return irregular;
  if (chars(word).length <= 2) return lowered;
  let stem = chars(lowered);
  for (const step of [step1a, step1b, step1c, step2, step3, step4, step5a, step5b]) stem = step(stem);
  return text(stem);
}
