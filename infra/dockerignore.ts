/**
 * `.dockerignore` as Docker reads it (moby/patternmatcher): one pattern a line, `#` comments, `*` and `?` within
 * a path segment, `**` across segments, `[...]` classes, `\` escapes, a leading `!` re-including what an earlier
 * pattern left out; the last pattern that matches a path (or one of its parent folders) decides. Used when packing
 * a submission, so the archive holds what `docker build` would see.
 */
import path from 'node:path';

export interface IgnoreRule {
  /** The cleaned pattern, without its `!`. */
  pattern: string;
  exception: boolean;
  regex: RegExp;
}

const REGEX_SPECIALS = new Set(['.', '+', '(', ')', '|', '{', '}', '$', '^']);

function patternRegex(pattern: string, line: number): RegExp {
  const characters = [...pattern];
  let source = '^';
  for (let index = 0; index < characters.length; index += 1) {
    const character = characters[index]!;
    if (character === '*' && characters[index + 1] === '*') {
      index += 1;
      if (characters[index + 1] === '/') index += 1;
      source += index + 1 >= characters.length ? '.*' : '(.*/)?';
    } else if (character === '*') {
      source += '[^/]*';
    } else if (character === '?') {
      source += '[^/]';
    } else if (character === '\\') {
      const next = characters[index + 1];
      if (next === undefined) source += '\\\\';
      else {
        index += 1;
        source += /[A-Za-z0-9]/.test(next) ? next : `\\${next}`;
      }
    } else if (character === '^' && characters[index - 1] === '[') {
      source += '^'; // negated class, as in Go's filepath.Match
    } else {
      source += REGEX_SPECIALS.has(character) ? `\\${character}` : character;
    }
  }
  try {
    return new RegExp(`${source}$`);
  } catch {
    throw new Error(`.dockerignore line ${line}: ${JSON.stringify(pattern)} is not a valid pattern (an unclosed "[" ?): fix or remove it`);
  }
}

/** The rules of a `.dockerignore` text, in order. */
export function parseDockerignore(text: string): IgnoreRule[] {
  const rules: IgnoreRule[] = [];
  text
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
    .forEach((raw, index) => {
      if (raw.startsWith('#')) return;
      let pattern = raw.trim();
      if (pattern === '') return;
      const exception = pattern.startsWith('!');
      if (exception) pattern = pattern.slice(1).trim();
      if (pattern === '') return;
      pattern = path.posix.normalize(pattern).replace(/\/+$/, '');
      if (pattern.length > 1 && pattern.startsWith('/')) pattern = pattern.slice(1);
      if (pattern === '' || pattern === '.') pattern = '.';
      rules.push({ pattern, exception, regex: patternRegex(pattern, index + 1) });
    });
  return rules;
}

/** Whether Docker would leave `relative` (a '/'-separated path inside the context) out of the build context. */
export function isIgnored(relative: string, rules: IgnoreRule[]): boolean {
  const parents = relative.split('/').slice(0, -1);
  let ignored = false;
  for (const rule of rules) {
    if (rule.exception !== ignored) continue; // an exclusion cannot change an excluded path, nor an exception an included one
    let matches = rule.regex.test(relative);
    for (let depth = 1; !matches && depth <= parents.length; depth += 1) matches = rule.regex.test(parents.slice(0, depth).join('/'));
    if (matches) ignored = !rule.exception;
  }
  return ignored;
}
