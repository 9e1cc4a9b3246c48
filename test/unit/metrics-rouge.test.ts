import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../infra/paths.js';
import { porterStem, removeBraces, rouge2, rougeL, rougeLScore, rougeN, rougeNScore, rougeTokenize, summarizationRouge2 } from '../../domain/metrics/index.js';

const fixture = (name: string): unknown => JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'test', 'fixtures', 'metrics', name), 'utf8'));

describe('porterStem (NLTK PorterStemmer, NLTK_EXTENSIONS)', () => {
  const { stems } = fixture('porter-vectors.json') as { stems: Record<string, string> };
  it('matches nltk on every reference word', () => {
    expect(Object.keys(stems).length).toBeGreaterThanOrEqual(60);
    const got = Object.fromEntries(Object.keys(stems).map((word) => [word, porterStem(word)]));
    expect(got).toEqual(stems);
  });
  it('has the NLTK-specific behaviours the spec names', () => {
    expect(porterStem('generously')).toBe('gener');
    expect(porterStem('quickly')).toBe('quickli');
    expect(porterStem('dying')).toBe('die'); // irregular-forms pool
    expect(porterStem('skies')).toBe('sky');
    expect(porterStem('flies')).toBe('fli');
    expect(porterStem('dies')).toBe('die'); // "ies" on a four-letter word
    expect(porterStem('spied')).toBe('spi');
    expect(porterStem('is')).toBe('is'); // two letters are left alone
  });
});

describe('ROUGE (rouge_score with use_stemmer=True)', () => {
  it('tokenizes like rouge_score: lowercase, [^a-z0-9]+ → space, stem tokens longer than 3', () => {
    expect(rougeTokenize('The cats are running quickly to the house.')).toEqual(['the', 'cat', 'are', 'run', 'quickli', 'to', 'the', 'hous']);
    expect(rougeTokenize("It's 3:30 p.m. now")).toEqual(['it', 's', '3', '30', 'p', 'm', 'now']);
    expect(rougeTokenize('Café au lait')).toEqual(['caf', 'au', 'lait']);
    expect(rougeTokenize('')).toEqual([]);
  });

  it('reproduces the spec vectors (§8.5, §8.1)', () => {
    const s = rougeNScore('The cats are running quickly to the house.', 'the cat is running quick to the houses', 2);
    expect([s.precision, s.recall, s.fmeasure]).toEqual([3 / 7, 3 / 7, 3 / 7]);
    expect(rouge2('Amanda baked cookies and will bring Jerry some tomorrow.', 'Amanda will bring Jerry cookies tomorrow.')).toBe(0.3076923076923077);
    expect(rouge2('Police killed the gunman.', 'The gunman was shot down by police.')).toBe(0.2222222222222222);
    expect(rouge2("It's 3:30 p.m. now", 'its 3 30 pm now')).toBe(0.2);
    expect(rouge2('Café au lait', 'cafe au lait')).toBe(0.5);
    expect(rougeN('testing one two', 'testing', 1)).toBe(0.5);
    expect(rouge2('testing one two', 'testing one')).toBeCloseTo(2 / 3, 15);
    expect(rougeL('testing one two', 'testing two')).toBeCloseTo(0.8, 15);
  });

  it('an empty prediction scores 0 for every type', () => {
    expect(rougeNScore('testing one two', '', 1)).toEqual({ precision: 0, recall: 0, fmeasure: 0 });
    expect(rouge2('testing one two', '')).toBe(0);
    expect(rougeLScore('testing one two', '')).toEqual({ precision: 0, recall: 0, fmeasure: 0 });
  });

  it('matches rouge-score 0.1.2 on every fixture pair (precision, recall, F)', () => {
    const { vectors } = fixture('rouge-vectors.json') as { vectors: { target: string; prediction: string; rouge1: number[]; rouge2: number[]; rougeL: number[] }[] };
    for (const v of vectors) {
      const triple = (s: { precision: number; recall: number; fmeasure: number }): number[] => [s.precision, s.recall, s.fmeasure];
      expect({ v: v.target, r1: triple(rougeNScore(v.target, v.prediction, 1)) }).toEqual({ v: v.target, r1: v.rouge1 });
      expect({ v: v.target, r2: triple(rougeNScore(v.target, v.prediction, 2)) }).toEqual({ v: v.target, r2: v.rouge2 });
      expect({ v: v.target, rl: triple(rougeLScore(v.target, v.prediction)) }).toEqual({ v: v.target, rl: v.rougeL });
    }
  });
});

describe('summarizationRouge2 (HELM SummarizationMetric)', () => {
  it('removes one leading "{" and one trailing "}" from prediction and references', () => {
    expect(removeBraces('{{a}}')).toBe('{a}');
    expect(removeBraces('a')).toBe('a');
    expect(summarizationRouge2(['{Hannah will meet Betty.}'], '  {Hannah will meet Betty.}\n')).toBe(1);
  });
  it('takes the max over references and strips the completion first', () => {
    const refs = ['Police killed the gunman.', 'The gunman was shot down by police.'];
    expect(summarizationRouge2(refs, ' The gunman was shot down by police. ')).toBe(1);
    expect(summarizationRouge2(refs, 'Police killed the gunman yesterday.')).toBe(rouge2('Police killed the gunman.', 'Police killed the gunman yesterday.'));
    expect(summarizationRouge2(refs, null)).toBe(0);
    expect(() => summarizationRouge2([], 'x')).toThrow(/at least one reference/);
  });
});
