/**
 * ROUGE as HELM computed it: google-research `rouge_score` (`RougeScorer([type], use_stemmer=True)`,
 * `score(target=gold, prediction=pred)[type].fmeasure`), SCORING_AND_METRICS.md §2.4.
 *
 * Tokenizer: lower(); `[^a-z0-9]+` → " "; split on whitespace; Porter-stem (NLTK_EXTENSIONS) tokens longer
 * than 3 characters; keep tokens matching `^[a-z0-9]+$`. Non-ASCII letters are therefore deleted
 * ("Café" → "caf"). Verified against rouge-score 0.1.2 in test/fixtures/metrics/rouge-vectors.json.
 */
import { porterStem } from './porter.js';
import { pyStrip } from './python.js';

export interface RougeScore {
  precision: number;
  recall: number;
  fmeasure: number;
}

export function rougeTokenize(text: string, stem = true): string[] {
  const replaced = text.toLowerCase().replace(/[^a-z0-9]+/g, ' ');
  const tokens = replaced.split(/\s+/);
  return tokens.map((token) => (stem && token.length > 3 ? porterStem(token) : token)).filter((token) => /^[a-z0-9]+$/.test(token));
}

/** `scoring.fmeasure`: 2PR/(P+R), or 0 when P+R = 0. */
export function fmeasure(precision: number, recall: number): number {
  return precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
}

function ngramCounts(tokens: readonly string[], n: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i + n <= tokens.length; i++) {
    const key = tokens.slice(i, i + n).join('\u0000');
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/** ROUGE-N precision/recall/F of `pred` against `gold` (target). */
export function rougeNScore(gold: string, pred: string, n: number): RougeScore {
  if (!Number.isInteger(n) || n < 1) throw new Error(`rougeN: n must be a positive integer, got ${n}`);
  const target = ngramCounts(rougeTokenize(gold), n);
  const prediction = ngramCounts(rougeTokenize(pred), n);
  let overlap = 0;
  for (const [ngram, count] of target) overlap += Math.min(count, prediction.get(ngram) ?? 0);
  const sum = (counts: Map<string, number>): number => [...counts.values()].reduce((a, b) => a + b, 0);
  const precision = overlap / Math.max(sum(prediction), 1);
  const recall = overlap / Math.max(sum(target), 1);
  return { precision, recall, fmeasure: fmeasure(precision, recall) };
}

function lcsLength(a: readonly string[], b: readonly string[]): number {
  let previous = new Array<number>(b.length + 1).fill(0);
  for (let i = 1; i <= a.length; i++) {
    const current = new Array<number>(b.length + 1).fill(0);
    for (let j = 1; j <= b.length; j++) {
      current[j] = a[i - 1] === b[j - 1] ? (previous[j - 1] ?? 0) + 1 : Math.max(previous[j] ?? 0, current[j - 1] ?? 0);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** ROUGE-L (sentence-level LCS); empty target or prediction gives 0/0/0. */
export function rougeLScore(gold: string, pred: string): RougeScore {
  const target = rougeTokenize(gold);
  const prediction = rougeTokenize(pred);
  if (target.length === 0 || prediction.length === 0) return { precision: 0, recall: 0, fmeasure: 0 };
  const lcs = lcsLength(target, prediction);
  const precision = lcs / prediction.length;
  const recall = lcs / target.length;
  return { precision, recall, fmeasure: fmeasure(precision, recall) };
}

export const rougeN = (gold: string, pred: string, n: number): number => rougeNScore(gold, pred, n).fmeasure;
export const rouge2 = (gold: string, pred: string): number => rougeN(gold, pred, 2);
export const rougeL = (gold: string, pred: string): number => rougeLScore(gold, pred).fmeasure;

/** HELM `SummarizationMetric._remove_braces`: one leading "{" and one trailing "}". */
export function removeBraces(text: string): string {
  let out = text;
  if (out.startsWith('{')) out = out.slice(1);
  if (out.endsWith('}')) out = out.slice(0, -1);
  return out;
}

/**
 * HELM `SummarizationMetric` rouge_2 (sam_sum, CNN/DM): pred = remove_braces(completion.strip()),
 * references brace-stripped, max over references (`np.max`).
 */
export function summarizationRouge2(references: readonly string[], pred: string | null): number {
  if (references.length === 0) throw new Error('summarizationRouge2: at least one reference is required');
  const cleaned = removeBraces(pyStrip(pred ?? ''));
  return Math.max(...references.map((reference) => rouge2(removeBraces(reference), cleaned)));
}
