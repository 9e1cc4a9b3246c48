/**
 * An approximation of NLTK `word_tokenize` (punkt sentence splitting, then `NLTKWordTokenizer`), which
 * HELM's BiasMetric applies to lowercased completions.
 *
 * - Word level: the regular expressions of nltk 3.8's `NLTKWordTokenizer.tokenize` (starting quotes,
 *   punctuation, brackets, double dashes, ending quotes and clitics, MacIntyre contractions), in order,
 *   with Python's Unicode `\w`, `\d` and whitespace.
 * - Sentence level: APPROXIMATED. Punkt is a trained model; here a sentence ends at ".", "!" or "?"
 *   (plus closing quotes/brackets) followed by whitespace, unless the word before the period is a single
 *   letter or a common abbreviation. Only the treatment of periods inside a text depends on this
 *   ("he left. she stayed" → "left" "." like punkt); rare texts where punkt decides otherwise can tokenize
 *   differently and change bias scores slightly.
 */
import { pySplit } from './python.js';

const W = '[\\p{L}\\p{N}_]';
type Sub = readonly [RegExp, string];

const STARTING_QUOTES: readonly Sub[] = [
  [/([«“‘„]|[`]+)/gu, ' $1 '],
  [/^"/u, '``'],
  [/(``)/gu, ' $1 '],
  [/([ ([{<])("|'{2})/gu, '$1 `` '],
  [new RegExp(`(')(?!re|ve|ll|m|t|s|d|n)(${W})(?!${W})`, 'giu'), '$1 $2'],
];

const PUNCTUATION: readonly Sub[] = [
  [/([^.])(\.)([\])}>"'»”’ ]*)\s*$/u, '$1 $2 $3 '],
  [/([:,])([^\p{Nd}])/gu, ' $1 $2'],
  [/([:,])$/u, ' $1 '],
  [/\.{2,}/gu, ' $& '],
  [/[;@#$%&]/gu, ' $& '],
  [/([^.])(\.)([\])}>"']*)\s*$/u, '$1 $2$3 '],
  [/[?!]/gu, ' $& '],
  [/([^'])' /gu, "$1 ' "],
  [/[*]/gu, ' $& '],
];

const PARENS_BRACKETS: Sub = [/[\][(){}<>]/gu, ' $& '];
const DOUBLE_DASHES: Sub = [/--/gu, ' -- '];

const ENDING_QUOTES: readonly Sub[] = [
  [/([»”’])/gu, ' $1 '],
  [/''/gu, " '' "],
  [/"/gu, " '' "],
  [/([^' ])('[sS]|'[mM]|'[dD]|') /gu, '$1 $2 '],
  [/([^' ])('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) /gu, '$1 $2 '],
];

const B_START = `(?<!${W})`;
const B_END = `(?!${W})`;
const CONTRACTIONS: readonly RegExp[] = [
  new RegExp(`${B_START}(can)(not)${B_END}`, 'giu'),
  new RegExp(`${B_START}(d)('ye)${B_END}`, 'giu'),
  new RegExp(`${B_START}(gim)(me)${B_END}`, 'giu'),
  new RegExp(`${B_START}(gon)(na)${B_END}`, 'giu'),
  new RegExp(`${B_START}(got)(ta)${B_END}`, 'giu'),
  new RegExp(`${B_START}(lem)(me)${B_END}`, 'giu'),
  new RegExp(`${B_START}(more)('n)${B_END}`, 'giu'),
  new RegExp(`${B_START}(wan)(na)(?=\\s)`, 'giu'),
  new RegExp(` ('t)(is)${B_END}`, 'giu'),
  new RegExp(` ('t)(was)${B_END}`, 'giu'),
];

/** nltk `NLTKWordTokenizer().tokenize(sentence)`. */
export function treebankWordTokenize(sentence: string): string[] {
  let text = sentence;
  for (const [pattern, replacement] of STARTING_QUOTES) text = text.replace(pattern, replacement);
  for (const [pattern, replacement] of PUNCTUATION) text = text.replace(pattern, replacement);
  text = text.replace(PARENS_BRACKETS[0], PARENS_BRACKETS[1]);
  text = text.replace(DOUBLE_DASHES[0], DOUBLE_DASHES[1]);
  text = ` ${text} `;
  for (const [pattern, replacement] of ENDING_QUOTES) text = text.replace(pattern, replacement);
  for (const pattern of CONTRACTIONS) text = text.replace(pattern, ' $1 $2 ');
  return pySplit(text);
}

const ABBREVIATIONS = new Set(['mr', 'mrs', 'ms', 'dr', 'prof', 'sr', 'jr', 'st', 'vs', 'etc', 'e.g', 'i.e', 'inc', 'ltd', 'co', 'no', 'fig', 'u.s', 'a.m', 'p.m']);

/** Approximate punkt: split after sentence-final punctuation followed by whitespace. */
export function approximateSentences(text: string): string[] {
  const sentences: string[] = [];
  const boundary = /[.!?]+["'”’)\]]*(?=\s+\S)/gu;
  let start = 0;
  for (const match of text.matchAll(boundary)) {
    const end = (match.index ?? 0) + match[0].length;
    if (match[0].startsWith('.') && !match[0].startsWith('..')) {
      const word = /([\p{L}\p{N}_.]+)$/u.exec(text.slice(start, match.index ?? 0))?.[1]?.toLowerCase() ?? '';
      if (Array.from(word).length === 1 || ABBREVIATIONS.has(word)) continue;
    }
    sentences.push(text.slice(start, end));
    start = end;
  }
  sentences.push(text.slice(start));
  return sentences.map((s) => s.trim()).filter((s) => s !== '');
}

/** Approximation of NLTK `word_tokenize(text)`; see the module comment. */
export function wordTokenize(text: string): string[] {
  return approximateSentences(text).flatMap(treebankWordTokenize);
}
