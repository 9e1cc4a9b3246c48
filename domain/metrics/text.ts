/**
 * HELM v0.3.0 string metrics (`src/helm/benchmark/metrics/basic_metrics.py`), SCORING_AND_METRICS.md §2.2–2.3.
 * Every function takes (gold, pred) in HELM's argument order. Callers pass the prediction as HELM does:
 * the completion already `strip()`ped (see `scoreInstance` in domain/harness/suite.ts).
 */
import { pySplit, pyStrip } from './python.js';

/** Python `string.punctuation`: ASCII only, so curly quotes and other Unicode punctuation survive. */
export const PY_PUNCTUATION = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';
const PUNCTUATION = new Set(PY_PUNCTUATION);
const ARTICLES = /(?<![\p{L}\p{N}_])(?:a|an|the)(?![\p{L}\p{N}_])/gu;

/**
 * HELM `normalize_text` (QuAC/SQuAD style): lower(); drop `string.punctuation`; `\b(a|an|the)\b` → " ";
 * `" ".join(text.split())` with Python's Unicode whitespace set and Unicode-aware `\b`.
 */
export function normalizeText(text: string): string {
  const lowered = text.toLowerCase();
  let withoutPunctuation = '';
  for (const ch of lowered) if (!PUNCTUATION.has(ch)) withoutPunctuation += ch;
  return pySplit(withoutPunctuation.replace(ARTICLES, ' ')).join(' ');
}

/** Python truthiness of a str: `if not pred` is true only for the empty string. */
const isEmpty = (pred: string | null | undefined): pred is '' | null | undefined => pred === undefined || pred === null || pred === '';

export function exactMatch(gold: string, pred: string | null): 0 | 1 {
  if (isEmpty(pred)) return 0;
  return pyStrip(gold) === pyStrip(pred) ? 1 : 0;
}

/** Both sides may normalize to "" and still match ("the the the" vs "a an" scores 1). */
export function quasiExactMatch(gold: string, pred: string | null): 0 | 1 {
  if (isEmpty(pred)) return 0;
  return normalizeText(gold) === normalizeText(pred) ? 1 : 0;
}

export function prefixExactMatch(gold: string, pred: string | null): 0 | 1 {
  if (isEmpty(pred)) return 0;
  return pyStrip(pred).startsWith(pyStrip(gold)) ? 1 : 0;
}

export function quasiPrefixExactMatch(gold: string, pred: string | null): 0 | 1 {
  if (isEmpty(pred)) return 0;
  return normalizeText(pred).startsWith(normalizeText(gold)) ? 1 : 0;
}

/**
 * NLTK `f_measure(reference, test, alpha=0.5)` on sets: None (→ HELM 0.0) when either set is empty,
 * 0 when precision or recall is 0, else 1 / (alpha/P + (1-alpha)/R).
 */
export function setFMeasure(reference: ReadonlySet<string>, test: ReadonlySet<string>, alpha = 0.5): number | null {
  if (reference.size === 0 || test.size === 0) return null;
  let common = 0;
  for (const token of test) if (reference.has(token)) common++;
  const precision = common / test.size;
  const recall = common / reference.size;
  if (precision === 0 || recall === 0) return 0;
  return 1 / (alpha / precision + (1 - alpha) / recall);
}

/** HELM `f1_score`: set-based (not SQuAD's bag of tokens) F1 over normalized whitespace tokens. */
export function f1Score(gold: string, pred: string | null): number {
  const result = setFMeasure(new Set(pySplit(normalizeText(gold))), new Set(pySplit(normalizeText(pred ?? ''))));
  return result ?? 0;
}

/**
 * HELM `exact_match_indicator`: keep what follows the last `indicator` in both strings, strip, then
 * exact_match. GSM8K golds end "The answer is 72." so the prediction must end in exactly "72.".
 */
export function exactMatchIndicator(gold: string, pred: string | null, indicator = ' '): 0 | 1 {
  if (pred === null) return 0;
  if (indicator === '') throw new Error('exactMatchIndicator: empty indicator (Python raises ValueError: empty separator)');
  const lastPart = (s: string): string => pyStrip(s.split(indicator).at(-1) ?? '');
  return exactMatch(lastPart(gold), lastPart(pred));
}

/** Robustness/fairness per instance (HELM `compute_worst_case_metrics`): min of the original and every perturbed score. */
export function worstCase(original: number, perturbed: readonly number[]): number {
  return perturbed.reduce((min, value) => Math.min(min, value), original);
}
