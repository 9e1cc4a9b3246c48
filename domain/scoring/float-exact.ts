/**
 * Exact floating-point primitives: exact decomposition of doubles, correctly rounded rational -> double
 * conversion (CPython int/int true division, float(Fraction)), and correctly rounded `pyLog`/`pyExp`.
 *
 * CPython's math.log/math.exp call the C library; glibc's are correctly rounded for all but a tiny fraction of
 * inputs, whereas V8's Math.log/Math.exp (fdlibm ports) differ from glibc on several percent of inputs. A
 * correctly rounded implementation is therefore the closest portable match to the reference environment.
 * Pure and deterministic.
 */

// ---------------------------------------------------------------------------------------------
// Bit-level helpers
// ---------------------------------------------------------------------------------------------

const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);

/** Exact decomposition of a finite, non-zero double: |x| = mantissa * 2^exponent (mantissa < 2^53). */
export function decomposeDouble(x: number): { negative: boolean; mantissa: bigint; exponent: number } {
  if (!Number.isFinite(x) || x === 0) {
    throw new RangeError(`decomposeDouble needs a finite non-zero number, got ${String(x)}`);
  }
  f64[0] = x;
  const bits = u64[0] ?? 0n;
  const negative = bits >> 63n === 1n;
  const biased = Number((bits >> 52n) & 0x7ffn);
  const fraction = bits & 0xfffffffffffffn;
  if (biased === 0) {
    return { negative, mantissa: fraction, exponent: -1074 };
  }
  return { negative, mantissa: fraction | 0x10000000000000n, exponent: biased - 1075 };
}

/** 2^e as an exact double for -1074 <= e <= 1023. */
function pow2(e: number): number {
  if (e < -1074 || e > 1023 || !Number.isInteger(e)) throw new RangeError(`pow2 out of range: ${e}`);
  if (e >= -1022) {
    u64[0] = BigInt(e + 1023) << 52n;
  } else {
    u64[0] = 1n << BigInt(e + 1074);
  }
  return f64[0] ?? 0;
}

/** m * 2^e where the exact result is known to be representable (m is an integer < 2^54). */
function scaleExact(m: number, e: number): number {
  if (e > 1023) return m * pow2(1023) * pow2(e - 1023);
  if (e >= -1022) return m * pow2(e);
  // Keep the intermediate normal, then do the single (exact) scaling into the subnormal range.
  return m * pow2(-1000) * pow2(e + 1000);
}

export function bitLength(n: bigint): number {
  if (n < 0n) n = -n;
  if (n === 0n) return 0;
  return n.toString(2).length;
}

/**
 * Correctly rounded (round-half-even) conversion of the rational num/den to a double, like CPython's
 * int/int true division and `float(Fraction)`. Handles subnormals and overflow (returns +-Infinity).
 */
export function ratioToDouble(num: bigint, den: bigint): number {
  if (den === 0n) throw new RangeError('ratioToDouble: zero denominator');
  if (den < 0n) {
    num = -num;
    den = -den;
  }
  if (num === 0n) return 0;
  const negative = num < 0n;
  const a = negative ? -num : num;
  const e = bitLength(a) - bitLength(den); // a/den in [2^(e-1), 2^(e+1))
  const s = 55 - e; // scale so that the quotient has 55 or 56 bits
  let q: bigint;
  let r: bigint;
  if (s >= 0) {
    const n = a << BigInt(s);
    q = n / den;
    r = n % den;
  } else {
    const d = den << BigInt(-s);
    q = a / d;
    r = a % d;
  }
  // value = (q + r/den') * 2^-s
  const k = bitLength(q);
  let ulpExp = k - 53 - s;
  if (ulpExp < -1074) ulpExp = -1074;
  const drop = BigInt(ulpExp + s); // >= 2
  let m = q >> drop;
  const rem = q - (m << drop);
  const half = 1n << (drop - 1n);
  if (rem > half || (rem === half && (r !== 0n || (m & 1n) === 1n))) m += 1n;
  let result: number;
  if (m === 0n) result = 0;
  else if (ulpExp + bitLength(m) > 1024) result = Infinity;
  else result = scaleExact(Number(m), ulpExp);
  return negative ? -result : result;
}

// ---------------------------------------------------------------------------------------------
// Correctly rounded log and exp (BigInt fixed point with a Ziv rounding test)
// ---------------------------------------------------------------------------------------------

const ln2Cache = new Map<number, bigint>();

/** atanh(num/den) * 2^w, |num/den| <= 1/3, truncation error below (terms + 1) units. */
function atanhFixed(num: bigint, den: bigint, w: number): bigint {
  const num2 = num * num;
  const den2 = den * den;
  let term = (num << BigInt(w)) / den; // t^(2k+1) scaled
  let sum = 0n;
  for (let k = 0n; term !== 0n; k++) {
    sum += term / (2n * k + 1n);
    term = (term * num2) / den2;
  }
  return sum;
}

function ln2Fixed(w: number): bigint {
  const cached = ln2Cache.get(w);
  if (cached !== undefined) return cached;
  const v = 2n * atanhFixed(1n, 3n, w);
  ln2Cache.set(w, v);
  return v;
}

/** Round a fixed-point approximation v*2^-w (+-err units, times 2^scaleExp) if both ends agree. */
function roundIfUnambiguous(v: bigint, err: bigint, w: number, scaleExp: number): number | undefined {
  const toDouble = (x: bigint): number =>
    scaleExp >= 0 ? ratioToDouble(x << BigInt(scaleExp), 1n << BigInt(w)) : ratioToDouble(x, 1n << BigInt(w - scaleExp));
  const a = toDouble(v - err);
  const b = toDouble(v + err);
  return Object.is(a, b) ? a : undefined;
}

// Generous bound on the accumulated truncation error (in units of 2^-w): series truncations, the error of
// ln2 times |k| <= 1100, and its propagation through exp. The real bound is below 2^26 for w <= 8192.
const ERR_UNITS = 1n << 32n;

/** Natural logarithm, correctly rounded. Throws for x <= 0 like Python's math.log ("math domain error"). */
export function pyLog(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x <= 0) throw new RangeError('math domain error');
  if (x === Infinity) return Infinity;
  if (x === 1) return 0;
  const { mantissa, exponent } = decomposeDouble(x);
  // x = f * 2^E with f = mantissa / 2^k in [0.75, 1.5)
  let k = bitLength(mantissa);
  if (mantissa * 4n < 3n << BigInt(k)) k -= 1;
  const E = exponent + k;
  const pk = 1n << BigInt(k);
  const tNum = mantissa - pk;
  const tDen = mantissa + pk;
  for (let w = 160; w <= 8192; w *= 2) {
    const v = BigInt(E) * ln2Fixed(w) + 2n * atanhFixed(tNum, tDen, w);
    const r = roundIfUnambiguous(v, ERR_UNITS, w, 0);
    if (r !== undefined) return r;
  }
  return Math.log(x); // unreachable in practice
}

/** e^y, correctly rounded. Throws on overflow like Python's math.exp ("math range error"). */
export function pyExp(y: number): number {
  if (Number.isNaN(y)) return NaN;
  if (y === Infinity) return Infinity;
  if (y === -Infinity) return 0;
  if (y === 0) return 1;
  if (y > 710) throw new RangeError('math range error');
  if (y < -746) return 0;
  const { negative, mantissa, exponent } = decomposeDouble(y);
  for (let w = 160; w <= 8192; w *= 2) {
    const shift = exponent + w;
    let yw = shift >= 0 ? mantissa << BigInt(shift) : mantissa >> BigInt(-shift);
    if (negative) yw = -yw;
    const ln2 = ln2Fixed(w);
    // k = round(y / ln2)
    const kBig = (2n * yw + (yw >= 0n ? ln2 : -ln2)) / (2n * ln2);
    const r = yw - kBig * ln2;
    const one = 1n << BigInt(w);
    let sum = one;
    let term = one;
    for (let i = 1n; term !== 0n; i++) {
      term = (term * r) / (one * i);
      sum += term;
    }
    const k = Number(kBig);
    const res = roundIfUnambiguous(sum, ERR_UNITS, w, k);
    if (res !== undefined) {
      if (!Number.isFinite(res)) throw new RangeError('math range error');
      return res;
    }
  }
  return Math.exp(y); // unreachable in practice
}

