// Tests run on the compiled ESM output in dist/ (`npm run build` first): execa 9 is ESM-only and
// Temporal bundles workflows from plain JS, so one module format serves the app, the bundler and jest.
export default {
  testEnvironment: 'node',
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
