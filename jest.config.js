// Tests run on the compiled ESM output in dist/ (`npm run build` first): execa 9 is ESM-only and
// Temporal bundles workflows from plain JS, so one module format serves the app, the bundler and jest.
// The word-model samples most tests run are scored on the toy suites (suites/open.json, closed.json); the
// product's default is the real 2023 scenarios (infra/paths.ts SUITE_SETS). Tests of the real LLM sample
// and of the real suites name their suite files explicitly.
process.env.CHALLENGE_SUITES ??= 'toy';

export default {
  testEnvironment: 'node',
  // Integration tests drive real processes and containers on 2 cores: a step that takes 1 s alone can take
  // 10 under load. (A global option in jest 29; unit tests finish far below it.)
  testTimeout: 60_000,
  transform: {},
  projects: [
    { displayName: 'unit', testEnvironment: 'node', transform: {}, testMatch: ['<rootDir>/dist/test/unit/**/*.test.js'] },
    {
      displayName: 'integration',
      testEnvironment: 'node',
      transform: {},
      testMatch: ['<rootDir>/dist/test/integration/**/*.test.js'],
    },
  ],
};
