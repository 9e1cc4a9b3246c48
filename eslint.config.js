// ESLint (flat config), run by `npm test` through test/unit/lint.test.ts and by hand with `npx eslint .`.
// The workflow rules follow temporalio/samples-typescript: workflow code runs in a deterministic sandbox, so it
// may not import Node built-ins or the activity/worker/client packages, and no promise may float anywhere
// (a floating promise in a worker hides a failure; in a workflow it can reorder commands).
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const NODE_BUILTINS = [...builtinModules, ...builtinModules.map((name) => `node:${name}`)];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'examples/**', 'test-artifacts/**', '.data/**', '**/*.js', '**/*.cjs', '**/*.mjs', 'test/lint-fixtures/**'] },
  {
    files: ['**/*.ts'],
    languageOptions: {
      parser: tseslint.parser,
      // The lint fixtures (files that break each rule on purpose) are outside tsconfig.json, so they are neither
      // compiled nor linted by `eslint .`; test/unit/lint.test.ts lints them on its own.
      parserOptions: { projectService: { allowDefaultProject: ['test/lint-fixtures/*.ts', 'test/lint-fixtures/workflows/*.ts'] }, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-deprecated': 'error',
      'no-control-regex': 'error',
      // Long lines hide code in review; prettier wraps code at 160, this catches what it cannot wrap (strings).
      'max-len': ['error', { code: 200, tabWidth: 2 }],
    },
  },
  {
    files: ['workflows/**/*.ts', 'test/lint-fixtures/workflows/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: NODE_BUILTINS.map((name) => ({ name, message: 'Workflow code is deterministic: no Node built-ins (use an activity).' })),
          patterns: [
            { group: ['@temporalio/activity', '@temporalio/worker', '@temporalio/client', '@temporalio/testing'], message: 'Workflow code may only import @temporalio/workflow and @temporalio/common.' },
            { group: ['**/infra/**', '**/activities/**'], allowTypeImports: true, message: 'Workflows call activities through proxies; they never import adapters (types only).' },
          ],
        },
      ],
      'no-restricted-globals': ['error', { name: 'process', message: 'Workflow code does not read the environment: pass it in the input.' }, { name: 'setInterval', message: 'Use sleep() or condition().' }],
    },
  },
);
