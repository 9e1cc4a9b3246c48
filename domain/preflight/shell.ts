/**
 * A small shell lexer for the text of RUN / CMD / ENTRYPOINT: enough to find `pip install …` and its
 * arguments, not a shell. Commands are split on `&&`, `||`, `;`, `|`, `&`, newlines, `(`, `)` and
 * backticks, with single / double quotes and backslash escapes honoured; `#` starts a comment only at
 * the start of a word; variables are not expanded.
 *
 * Hand-written rather than shell-quote: shell-quote's parse returns words without their positions, and
 * the rules report the Dockerfile line each package is on (a RUN often spans twenty lines).
 */

/** A shell word with quotes removed and the 1-based Dockerfile line it starts on. */
export interface Word {
  text: string;
  line: number;
}

/** Splits a shell script into simple commands of words with their start offsets. */
export function shellWords(script: string): { text: string; offset: number }[][] {
  const commands: { text: string; offset: number }[][] = [];
  let words: { text: string; offset: number }[] = [];
  let word = '';
  let start = -1;
  let quote: '"' | "'" | null = null;
  const begin = (i: number) => {
    if (start < 0) start = i;
  };
  const endWord = () => {
    if (start >= 0) words.push({ text: word, offset: start });
    word = '';
    start = -1;
  };
  const endCommand = () => {
    endWord();
    if (words.length > 0) commands.push(words);
    words = [];
  };
  for (let i = 0; i < script.length; i++) {
    const c = script[i]!;
    if (quote === "'") {
      if (c === "'") quote = null;
      else word += c;
      continue;
    }
    if (quote === '"') {
      if (c === '"') quote = null;
      else if (c === '\\' && i + 1 < script.length && '"\\$`'.includes(script[i + 1]!)) word += script[++i]!;
      else word += c;
      continue;
    }
    if (c === '\\') {
      if (i + 1 < script.length && script[i + 1] === '\n') i++;
      else if (i + 1 < script.length) {
        begin(i);
        word += script[++i]!;
      }
      continue;
    }
    if (c === "'" || c === '"') {
      begin(i);
      quote = c;
      continue;
    }
    if (c === '#' && start < 0) {
      while (i + 1 < script.length && script[i + 1] !== '\n') i++;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r') {
      endWord();
      continue;
    }
    if (';&|\n()`'.includes(c)) {
      endCommand();
      continue;
    }
    begin(i);
    word += c;
  }
  endCommand();
  return commands;
}

/** Splits a shell script into simple commands (arrays of words, quotes removed). */
export function shellCommands(script: string): string[][] {
  return shellWords(script).map((command) => command.map((w) => w.text));
}

const WRAPPERS = new Set(['sudo', 'env', 'exec', 'time', 'nohup', 'command', 'stdbuf']);

/** Drops leading VAR=value assignments and wrapper commands (sudo, env, …), so that words[0] is the program. */
export function commandWords(words: readonly Word[]): Word[] {
  let i = 0;
  while (i < words.length) {
    const w = words[i]!.text;
    if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(w)) i++;
    else if (WRAPPERS.has(w)) {
      i++;
      while (i < words.length && words[i]!.text.startsWith('-')) i++;
    } else break;
  }
  return words.slice(i);
}

/** The program name without its directory (/usr/bin/pip3 → pip3). */
export const programName = (word: string): string => word.slice(word.lastIndexOf('/') + 1);
