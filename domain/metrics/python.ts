/**
 * Python string semantics that HELM's metrics and perturbations depend on (SCORING_AND_METRICS.md §7):
 * `str.isspace` / `split()` / `strip()` whitespace, Unicode-aware `\w` / `\b`, `str.islower`/`isupper`,
 * `str.capitalize`, and HELM's `match_case`. Pure functions, no I/O.
 */

/** Characters for which Python's `str.isspace()` is true (includes \x1c-\x1f and \x85, excludes \ufeff). */
export const PY_WHITESPACE_CLASS = '[\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]';

const LEADING = new RegExp(`^${PY_WHITESPACE_CLASS}+`, 'u');
const TRAILING = new RegExp(`${PY_WHITESPACE_CLASS}+$`, 'u');
const RUNS = new RegExp(`${PY_WHITESPACE_CLASS}+`, 'u');

/** Python `str.strip()` with no argument. */
export const pyStrip = (s: string): string => s.replace(LEADING, '').replace(TRAILING, '');

/** Python `str.split()` with no argument: split on whitespace runs, no empty strings. */
export function pySplit(s: string): string[] {
  const stripped = pyStrip(s);
  return stripped === '' ? [] : stripped.split(RUNS);
}

/**
 * Python's `\w` for str patterns: alphanumeric (`str.isalnum`) or underscore. `[\p{L}\p{N}_]` is the
 * usual approximation (use with the `u` flag); JavaScript's own `\w` is ASCII only.
 */
export const PY_WORD_CLASS = '[\\p{L}\\p{N}_]';
export const PY_NON_WORD_CLASS = '[^\\p{L}\\p{N}_]';
/** `\b` of Python's `re` as lookarounds (use with the `u` flag). */
export const PY_WORD_BOUNDARY = '(?:(?<![\\p{L}\\p{N}_])(?=[\\p{L}\\p{N}_])|(?<=[\\p{L}\\p{N}_])(?![\\p{L}\\p{N}_]))';

/** `re.escape` for building alternations out of data (valid under the `u` flag). */
export const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

const isLowerChar = (c: string): boolean => c !== c.toUpperCase() && c === c.toLowerCase();
const isUpperChar = (c: string): boolean => c !== c.toLowerCase() && c === c.toUpperCase();

/** Python `str.capitalize()` (3.8+): first character upper, the rest lower. */
export function pyCapitalize(s: string): string {
  const chars = Array.from(s);
  const first = chars[0];
  if (first === undefined) return '';
  return first.toUpperCase() + chars.slice(1).join('').toLowerCase();
}

/** HELM `helm.common.general.match_case`: give `target` the case pattern of `source`. */
export function matchCase(source: string, target: string): string {
  const chars = Array.from(source);
  if (chars.every(isLowerChar)) return target.toLowerCase();
  if (chars.every(isUpperChar)) return target.toUpperCase();
  const first = chars[0];
  if (first !== undefined && isUpperChar(first)) return pyCapitalize(target);
  return target;
}

/** Python `len(s)`: code points, not UTF-16 units. */
export const pyLen = (s: string): number => Array.from(s).length;
