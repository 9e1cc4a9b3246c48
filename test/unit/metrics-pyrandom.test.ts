import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../../infra/paths.js';
import { PyRandom } from '../../domain/metrics/index.js';

interface Case {
  seed: string;
  seed_type: 'str' | 'int';
  uint32: number[];
  random: string[];
  getrandbits: [number, string][];
  randint_1_3: number[];
  randint_big: number[];
  choice7: string[];
  uniform01: string[];
  shuffle10: number[];
  sample_100_10: number[];
  sample_30_12: number[];
  sample_1319_61: number[];
  sample_8_8: number[];
}
const vectors = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'test', 'fixtures', 'metrics', 'pyrandom-vectors.json'), 'utf8')) as { cases: Case[]; sha512: Record<string, string> };
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

describe('PyRandom vs CPython random.Random', () => {
  it.each(vectors.cases.map((c) => [`${c.seed_type} ${JSON.stringify(c.seed)}`, c] as const))('seed %s: the same draws in the same order', (_label, c) => {
    const rng = new PyRandom(c.seed_type === 'str' ? c.seed : BigInt(c.seed));
    expect(range(5).map(() => Number(rng.getrandbits(32)))).toEqual(c.uint32);
    expect(range(5).map(() => rng.random())).toEqual(c.random.map(Number));
    expect([1, 7, 31, 32, 33, 53, 64, 100].map((k) => [k, rng.getrandbits(k).toString()])).toEqual(c.getrandbits);
    expect(range(12).map(() => rng.randint(1, 3))).toEqual(c.randint_1_3);
    expect(range(3).map(() => rng.randint(0, 2 ** 40))).toEqual(c.randint_big);
    expect(range(12).map(() => rng.choice([...'abcdefg']))).toEqual(c.choice7);
    expect(range(3).map(() => rng.uniform(0, 1))).toEqual(c.uniform01.map(Number));
    const shuffled = range(10);
    rng.shuffle(shuffled);
    expect(shuffled).toEqual(c.shuffle10);
    expect(rng.sample(range(100), 10)).toEqual(c.sample_100_10);
    expect(rng.sample(range(30), 12)).toEqual(c.sample_30_12);
    expect(rng.sample(range(1319), 61)).toEqual(c.sample_1319_61);
    expect(rng.sample(range(8), 8)).toEqual(c.sample_8_8);
  });

  it('covers HELM-style string seeds, ints of several words, negative ints and the empty string', () => {
    const seeds = vectors.cases.map((c) => c.seed);
    expect(seeds).toEqual(expect.arrayContaining(['id0', 'id17', '', '-7', '0']));
  });

  it('accepts number seeds like int seeds', () => {
    expect(new PyRandom(42).random()).toBe(new PyRandom(42n).random());
    expect(new PyRandom(-42).random()).toBe(new PyRandom(42).random()); // abs(n), as CPython
  });

  it('rejects what CPython rejects', () => {
    const rng = new PyRandom('x');
    expect(() => rng.choice([])).toThrow(/empty/);
    expect(() => rng.randint(3, 1)).toThrow(/empty range/);
    expect(() => rng.sample([1, 2], 3)).toThrow(/larger than population/);
    expect(() => rng.randbelow(0)).toThrow();
    expect(() => new PyRandom(0.5)).toThrow();
  });
});
