/**
 * ESLint runs in `npm test`: the project is clean, and the rules fire on a file that breaks them on purpose
 * (test/lint-fixtures/workflows/breaks-rules.ts), so a config change that silently disables one fails here.
 */
import { describe, expect, it } from '@jest/globals';
import { ESLint } from 'eslint';
import { PROJECT_ROOT } from '../../infra/paths.js';

// Type-aware lint of the whole project takes about a minute on 2 cores.
const LINT_TIMEOUT_MS = 300_000;

describe('lint (eslint.config.js)', () => {
  it(
    'the project has no lint error',
    async () => {
      const eslint = new ESLint({ cwd: PROJECT_ROOT });
      const results = await eslint.lintFiles(['.']);
      const problems = results.flatMap((r) => r.messages.map((m) => `${r.filePath.slice(PROJECT_ROOT.length + 1)}:${m.line} ${m.ruleId ?? ''} ${m.message}`));
      expect(problems).toEqual([]);
      expect(results.length).toBeGreaterThan(100); // the sources were found and linted
    },
    LINT_TIMEOUT_MS,
  );

  it(
    'workflow rules, floating promises, any and line length fire on a file that breaks them',
    async () => {
      const eslint = new ESLint({ cwd: PROJECT_ROOT, ignore: false });
      const [result] = await eslint.lintFiles(['test/lint-fixtures/workflows/breaks-rules.ts']);
      const rules = new Set(result!.messages.map((m) => m.ruleId));
      expect([...rules].sort()).toEqual(['@typescript-eslint/no-explicit-any', '@typescript-eslint/no-floating-promises', 'max-len', 'no-restricted-globals', 'no-restricted-imports'].sort());
      const restricted = result!.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
      expect(restricted).toEqual([expect.stringMatching(/'node:fs'.*no Node built-ins/), expect.stringMatching(/@temporalio\/activity.*only import @temporalio\/workflow/)]);
    },
    LINT_TIMEOUT_MS,
  );
});
