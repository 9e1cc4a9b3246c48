/**
 * A port of CPython's `random.Random` (Mersenne Twister MT19937, `Modules/_randommodule.c` and
 * `Lib/random.py`), enough to replay HELM's perturbations bit for bit: HELM seeds `Random(instance.id)`
 * with strings such as "id17" (SCORING_AND_METRICS.md §3.2).
 *
 * - Seeding (version 2): a str seed becomes `int.from_bytes(s.encode() + sha512(s.encode()).digest(), "big")`;
 *   an int seed is used as `abs(n)`. The integer is split into 32-bit little-endian words and fed to
 *   MT19937 `init_by_array` (a zero seed is the one-word key [0]).
 * - `random()` = (a·2^26 + b) / 2^53 with a = word >> 5, b = word >> 6.
 * - `getrandbits(k)`: k ≤ 32 takes `word >> (32 − k)`; larger k fills 32-bit words least significant first.
 * - `_randbelow(n)`: k = n.bit_length(), draw `getrandbits(k)` until it is < n. `randint`, `choice`,
 *   `shuffle` and `sample` are built on it exactly as in Lib/random.py (3.8–3.12); `uniform(a, b)` = a + (b − a)·random().
 *
 * Verified against CPython 3.11 output in test/fixtures/metrics/pyrandom-vectors.json.
 */
import { createHash } from 'node:crypto';

const N = 624;
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;

export type PySeed = string | number | bigint;

export class PyRandom {
  private readonly mt = new Uint32Array(N);
  private mti = N + 1;

  constructor(seed: PySeed) {
    this.seed(seed);
  }

  seed(seed: PySeed): void {
    let n: bigint;
    if (typeof seed === 'string') {
      const bytes = new TextEncoder().encode(seed);
      const all = new Uint8Array(bytes.length + 64);
      all.set(bytes);
      all.set(createHash('sha512').update(bytes).digest(), bytes.length);
      n = 0n;
      for (const byte of all) n = (n << 8n) | BigInt(byte);
    } else {
      if (typeof seed === 'number' && !Number.isSafeInteger(seed)) throw new Error(`PyRandom: seed ${seed} is not a safe integer`);
      n = BigInt(seed);
      if (n < 0n) n = -n;
    }
    const key: number[] = [];
    while (n > 0n) {
      key.push(Number(n & 0xffffffffn));
      n >>= 32n;
    }
    if (key.length === 0) key.push(0);
    this.initByArray(key);
  }

  private initGenrand(s: number): void {
    const mt = this.mt;
    mt[0] = s >>> 0;
    for (let i = 1; i < N; i++) {
      const prev = mt[i - 1] ?? 0;
      mt[i] = (Math.imul(1812433253, (prev ^ (prev >>> 30)) >>> 0) + i) >>> 0;
    }
    this.mti = N;
  }

  private initByArray(key: readonly number[]): void {
    const mt = this.mt;
    this.initGenrand(19650218);
    let i = 1;
    let j = 0;
    for (let k = Math.max(N, key.length); k > 0; k--) {
      const prev = mt[i - 1] ?? 0;
      mt[i] = (((mt[i] ?? 0) ^ Math.imul((prev ^ (prev >>> 30)) >>> 0, 1664525)) + (key[j] ?? 0) + j) >>> 0;
      i++;
      j++;
      if (i >= N) {
        mt[0] = mt[N - 1] ?? 0;
        i = 1;
      }
      if (j >= key.length) j = 0;
    }
    for (let k = N - 1; k > 0; k--) {
      const prev = mt[i - 1] ?? 0;
      mt[i] = (((mt[i] ?? 0) ^ Math.imul((prev ^ (prev >>> 30)) >>> 0, 1566083941)) - i) >>> 0;
      i++;
      if (i >= N) {
        mt[0] = mt[N - 1] ?? 0;
        i = 1;
      }
    }
    mt[0] = 0x80000000;
  }

  /** MT19937 `genrand_uint32`. */
  nextUint32(): number {
    const mt = this.mt;
    if (this.mti >= N) {
      let kk = 0;
      const twist = (a: number, b: number, c: number): number => {
        const y = ((mt[a] ?? 0) & UPPER_MASK) | ((mt[b] ?? 0) & LOWER_MASK);
        return ((mt[c] ?? 0) ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0)) >>> 0;
      };
      for (; kk < N - M; kk++) mt[kk] = twist(kk, kk + 1, kk + M);
      for (; kk < N - 1; kk++) mt[kk] = twist(kk, kk + 1, kk + (M - N));
      mt[N - 1] = twist(N - 1, 0, M - 1);
      this.mti = 0;
    }
    let y = mt[this.mti++] ?? 0;
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** `random()`: a float in [0, 1) with 53 random bits. */
  random(): number {
    const a = this.nextUint32() >>> 5;
    const b = this.nextUint32() >>> 6;
    return (a * 67108864 + b) * (1 / 9007199254740992);
  }

  /** `getrandbits(k)` as a bigint (any k ≥ 0). */
  getrandbits(k: number): bigint {
    if (!Number.isInteger(k) || k < 0) throw new Error('getrandbits: number of bits must be a non-negative integer');
    if (k === 0) return 0n;
    if (k <= 32) return BigInt(this.nextUint32() >>> (32 - k));
    let result = 0n;
    let remaining = k;
    for (let word = 0; remaining > 0; word++, remaining -= 32) {
      let r = this.nextUint32();
      if (remaining < 32) r >>>= 32 - remaining;
      result |= BigInt(r) << BigInt(32 * word);
    }
    return result;
  }

  /** `_randbelow_with_getrandbits(n)`: uniform integer in [0, n), n ≥ 1. */
  randbelow(n: number): number {
    if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`randbelow: n must be a positive safe integer, got ${n}`);
    const k = n.toString(2).length;
    if (k <= 32) {
      let r = this.nextUint32() >>> (32 - k);
      while (r >= n) r = this.nextUint32() >>> (32 - k);
      return r;
    }
    const big = BigInt(n);
    let r = this.getrandbits(k);
    while (r >= big) r = this.getrandbits(k);
    return Number(r);
  }

  /** `randint(a, b)` = `randrange(a, b + 1)`: a + _randbelow(b − a + 1). */
  randint(a: number, b: number): number {
    const width = b + 1 - a;
    if (!Number.isSafeInteger(a) || !Number.isSafeInteger(b) || width <= 0) throw new Error(`randint: empty range (${a}, ${b})`);
    return a + this.randbelow(width);
  }

  /** `choice(seq)`: seq[_randbelow(len(seq))]. */
  choice<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('choice: cannot choose from an empty sequence');
    return items[this.randbelow(items.length)] as T;
  }

  /** `uniform(a, b)` = a + (b − a)·random(). */
  uniform(a: number, b: number): number {
    return a + (b - a) * this.random();
  }

  /** `shuffle(x)` in place (Fisher–Yates from the end, `_randbelow(i + 1)`). */
  shuffle<T>(items: T[]): void {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.randbelow(i + 1);
      const tmp = items[i] as T;
      items[i] = items[j] as T;
      items[j] = tmp;
    }
  }

  /** `sample(population, k)`: k distinct items in selection order (pool or set method, as CPython picks). */
  sample<T>(population: readonly T[], k: number): T[] {
    const n = population.length;
    if (!Number.isInteger(k) || k < 0 || k > n) throw new Error('sample: sample larger than population or is negative');
    let setsize = 21;
    if (k > 5) {
      // 4 ** ceil(log(3k, 4)); 3k is never a power of 4, so the exact integer form agrees with CPython's float form.
      let power = 1;
      while (power < 3 * k) power *= 4;
      setsize += power;
    }
    const result: T[] = [];
    if (n <= setsize) {
      const pool = [...population];
      for (let i = 0; i < k; i++) {
        const j = this.randbelow(n - i);
        result.push(pool[j] as T);
        pool[j] = pool[n - i - 1] as T;
      }
    } else {
      const selected = new Set<number>();
      for (let i = 0; i < k; i++) {
        let j = this.randbelow(n);
        while (selected.has(j)) j = this.randbelow(n);
        selected.add(j);
        result.push(population[j] as T);
      }
    }
    return result;
  }
}
