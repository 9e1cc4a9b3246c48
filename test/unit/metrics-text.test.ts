import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../infra/paths.js';
import {
  exactMatch,
  exactMatchIndicator,
  f1Score,
  normalizeText,
  prefixExactMatch,
  pySplit,
  pyStrip,
  quasiExactMatch,
  quasiPrefixExactMatch,
  worstCase,
} from '../../domain/metrics/index.js';

const fixture = (name: string): unknown => JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'test', 'fixtures', 'metrics', name), 'utf8'));

describe('Python string semantics', () => {
  it('strip/split use Python whitespace: \\x1c-\\x1f and \\x85 count, \\ufeff does not', () => {
    expect(pyStrip('\x1c\x85 a b \u3000\x1f')).toBe('a b');
    expect(pyStrip('\ufeffa')).toBe('\ufeffa');
    expect(pySplit('  a\u00a0b\u2003c\n')).toEqual(['a', 'b', 'c']);
    expect(pySplit(' \t ')).toEqual([]);
  });
});

describe('normalizeText (HELM normalize_text)', () => {
  it('lowers, drops ASCII punctuation, removes articles, collapses whitespace', () => {
    expect(normalizeText('The  Cat!')).toBe('cat');
    expect(normalizeText('An apple, a day.')).toBe('apple day');
    expect(normalizeText('the the the')).toBe('');
    expect(normalizeText("rock 'n' roll")).toBe('rock n roll');
    expect(normalizeText('U.S.A.')).toBe('usa');
  });
  it('keeps Unicode punctuation and uses Unicode word boundaries for articles', () => {
    expect(normalizeText('It’s “quoted”')).toBe('it’s “quoted”');
    // Python's \b sees no boundary between "ï" and "a", so "a" is not an article there
    expect(normalizeText('ïa b')).toBe('ïa b');
    expect(normalizeText('café the')).toBe('café');
    // underscore is punctuation, removed before the article rule
    expect(normalizeText('the_cat')).toBe('thecat');
  });
});

describe('string metrics vs the spec (SCORING_AND_METRICS.md §8.1/§8.3)', () => {
  // gold | pred → EM, QEM, PEM, QPEM, F1
  const rows: [string, string, number, number, number, number, number][] = [
    ['The Cat!', 'the cat', 0, 1, 0, 1, 1.0],
    ['the cat', 'A cat.', 0, 1, 0, 1, 1.0],
    ['Paris', ' Paris ', 1, 1, 1, 1, 1.0],
    ['Paris', 'paris', 0, 1, 0, 1, 1.0],
    ['Paris', '', 0, 0, 0, 0, 0.0],
    ['Paris', 'Paris, France', 0, 0, 1, 1, 0.6666666666666666],
    ['an apple a day', 'apple day', 0, 1, 0, 1, 1.0],
    ['New York City', 'new york', 0, 0, 0, 0, 0.8],
    ['the the the', 'a an', 0, 1, 0, 1, 0.0],
    ['U.S.A.', 'usa', 0, 1, 0, 1, 1.0],
    ["rock 'n' roll", 'rock n roll', 0, 1, 0, 1, 1.0],
    ['Yes', 'Yes, Elmendorf', 0, 0, 1, 1, 0.6666666666666666],
    ['42', 'The answer is 42.', 0, 0, 0, 0, 0.5],
    ['1,000', '1000', 0, 1, 0, 1, 1.0],
    ['cat cat dog', 'cat dog dog', 0, 0, 0, 0, 1.0],
    ['Théâtre', 'theatre', 0, 0, 0, 0, 0],
    ['B', 'b', 0, 1, 0, 1, 1.0],
    ['', 'x', 0, 0, 1, 1, 0.0],
  ];
  it.each(rows)('%j | %j', (gold, pred, em, qem, pem, qpem, f1) => {
    expect(exactMatch(gold, pred)).toBe(em);
    expect(quasiExactMatch(gold, pred)).toBe(qem);
    expect(prefixExactMatch(gold, pred)).toBe(pem);
    expect(quasiPrefixExactMatch(gold, pred)).toBe(qpem);
    expect(f1Score(gold, pred)).toBe(f1);
  });

  it('exact_match and exact_match_indicator of HELM test_evaluate_reference_metrics.py', () => {
    expect(exactMatch('33', '33')).toBe(1);
    expect(exactMatch('33', '33 ')).toBe(1);
    expect(exactMatch('33', '34')).toBe(0);
    expect(exactMatchIndicator('33', '33')).toBe(1);
    expect(exactMatchIndicator('33', 'stuff 33')).toBe(1);
    expect(exactMatchIndicator('stuff 33', '33')).toBe(1);
    expect(exactMatchIndicator('33', '33 stuff')).toBe(0);
  });

  it('an empty (or null) prediction scores 0 everywhere, before normalization', () => {
    for (const metric of [exactMatch, quasiExactMatch, prefixExactMatch, quasiPrefixExactMatch, exactMatchIndicator]) {
      expect(metric('', '')).toBe(0);
      expect(metric('x', null)).toBe(0);
    }
    expect(f1Score('x', null)).toBe(0);
    // a whitespace-only pred is not empty for `if not pred`: quasi match of "" vs "" is 1
    expect(quasiExactMatch('', ' ')).toBe(1);
    expect(exactMatch(' ', ' ')).toBe(1);
  });

  it('f1 is set-based NLTK f_measure', () => {
    expect(f1Score('w x y z', 'x y')).toBeCloseTo(2 / 3, 15); // P = 1, R = 1/2
    expect(f1Score('a b c d', 'b c')).toBeCloseTo(0.8, 15); // "a" is an article: gold is {b, c, d}
    expect(f1Score('cat cat dog', 'cat dog dog')).toBe(1);
    expect(f1Score('the', 'cat')).toBe(0); // gold normalizes to the empty set → None → 0.0
  });
});

describe('GSM8K exact_match_indicator (spec §8.4)', () => {
  const gold = 'Natalia sold 48/2 = <<48/2=24>>24 clips in May. Natalia sold 48+24 = <<48+24=72>>72 clips altogether in April and May. The answer is 72.';
  const cases: [string, number][] = [
    ['She sold 72 in total. The answer is 72.', 1],
    ['The answer is 72', 0],
    ['The answer is 72.\n', 1],
    ['The answer is $72.', 0],
    ['72.', 1],
    ['The answer is 72 clips.', 0],
  ];
  it.each(cases)('%j → %d (after HELM strips the completion)', (pred, expected) => {
    expect(exactMatchIndicator(gold, pyStrip(pred))).toBe(expected);
  });
});

interface TextVectors {
  pairs: Record<string, string | number>[];
  gsm8k: { gold: string; completion: string; helm_pred: string; exact_match_indicator: number }[];
}

describe('string metrics vs HELM v0.3.0 basic_metrics.py run on CPython (fixture)', () => {
  const vectors = fixture('text-metric-vectors.json') as TextVectors;
  const metrics = {
    exact_match: exactMatch,
    quasi_exact_match: quasiExactMatch,
    prefix_exact_match: prefixExactMatch,
    quasi_prefix_exact_match: quasiPrefixExactMatch,
    f1_score: f1Score,
    exact_match_indicator: exactMatchIndicator,
  };
  it('covers every pair and metric', () => {
    expect(vectors.pairs.length).toBeGreaterThanOrEqual(30);
    for (const pair of vectors.pairs) {
      const gold = String(pair['gold']);
      const pred = String(pair['pred']);
      for (const [name, metric] of Object.entries(metrics))
        expect({ gold, pred, name, value: metric(gold, pred) }).toEqual({ gold, pred, name, value: pair[name] });
      expect(normalizeText(gold)).toBe(pair['normalized_gold']);
      expect(normalizeText(pred)).toBe(pair['normalized_pred']);
    }
  });
  it('GSM8K completions, stripped as BasicMetric does', () => {
    for (const v of vectors.gsm8k) expect([v.completion, exactMatchIndicator(v.gold, pyStrip(v.completion))]).toEqual([v.completion, v.exact_match_indicator]);
  });
});

describe('worstCase', () => {
  it('is the minimum of the original and every perturbed score', () => {
    expect(worstCase(1, [])).toBe(1);
    expect(worstCase(1, [1, 0, 1])).toBe(0);
    expect(worstCase(0, [1, 1])).toBe(0);
    expect(worstCase(0.5, [0.75, 0.25])).toBe(0.25);
  });
});
