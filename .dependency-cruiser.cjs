/**
 * Layer rules (issue 14): the rooms only point down. Checked in `npm test` by test/unit/architecture.test.ts
 * (and by `npx depcruise --config .dependency-cruiser.cjs .` by hand).
 *
 *   cli, web, workers, bench, scripts      entry points: may use everything below
 *   operations                             what the CLI, the web page and the demo share (submit, status, leaderboard)
 *   workflows                              orchestration: domain (pure) + temporal.config + contract
 *   contract                               the names and boundary types workflows, activities and clients share
 *   activities                             adapters: domain + infra; never values from workflows
 *   infra                                  Docker, files, databases, Temporal connection; never activities/workflows
 *   domain                                 plain TypeScript: no Temporal, no infra, nothing above it
 */
const ENTRY_POINTS = '^(cli|web|workers|bench|scripts|test)/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'Import cycles make load order matter and hide layering mistakes.', from: {}, to: { circular: true } },
    { name: 'web-not-cli', severity: 'error', comment: 'The web layer and the CLI share views through a module below both, never through each other.', from: { path: '^web/' }, to: { path: '^cli/' } },
    { name: 'cli-not-web-internals', severity: 'error', comment: 'The CLI may start the web server, but not reach into its rendering.', from: { path: '^cli/' }, to: { path: '^web/(render|data)' } },
    {
      name: 'activities-no-workflow-values',
      severity: 'error',
      comment: 'Activities run in the worker process; workflow modules are bundled for the sandbox. Shared names live in contract/.',
      from: { path: '^activities/' },
      to: { path: '^workflows/', dependencyTypesNot: ['type-only'] },
    },
    { name: 'domain-is-pure', severity: 'error', comment: 'The domain is plain TypeScript: no Temporal, reusable and unit-testable.', from: { path: '^domain/' }, to: { path: '@temporalio|^(infra|activities|workflows|contract|workers|cli|web|bench|scripts|operations)/' } },
    { name: 'infra-below-activities', severity: 'error', comment: 'Infra adapters know nothing of activities, workflows, operations or entry points.', from: { path: '^infra/' }, to: { path: '^(activities|workflows|operations|workers|cli|web|bench)/' } },
    {
      name: 'workflows-only-orchestrate',
      severity: 'error',
      comment: 'Workflow code is bundled into the deterministic sandbox: no infra and no activity implementations; shared names come from contract/.',
      from: { path: '^workflows/' },
      to: { path: '^(infra|workers|cli|web|bench|scripts|operations|activities)/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'contract-is-shared-ground',
      severity: 'error',
      comment: "contract/ is imported by workflows (bundled into the sandbox), activities and clients alike: it may use only domain types, temporal.config and the SDK's workflow-safe packages.",
      from: { path: '^contract/' },
      to: { path: '^(infra|activities|workflows|operations|workers|cli|web|bench|scripts)/|@temporalio/(client|worker|activity)', dependencyTypesNot: ['type-only'] },
    },
    { name: 'contract-no-node-builtins', severity: 'error', comment: 'contract/ is bundled into workflow code: no Node built-ins.', from: { path: '^contract/' }, to: { dependencyTypes: ['core'] } },
    { name: 'workflows-no-node-builtins', severity: 'error', comment: 'Node built-ins break determinism (and the bundler) in workflow code.', from: { path: '^workflows/' }, to: { dependencyTypes: ['core'] } },
    {
      name: 'store-interface-not-implementations',
      severity: 'error',
      comment: 'A store interface does not know its implementations; the factory that picks one lives in its own module.',
      from: { path: '^infra/(artifact-store|results-store)\\.ts$' },
      to: { path: '^infra/(artifact-store-(fs|s3|mirror)|results-db(-postgres)?)\\.ts$' },
    },
    { name: 'nothing-imports-entry-points', severity: 'error', comment: 'Entry points are leaves.', from: { pathNot: ENTRY_POINTS }, to: { path: ENTRY_POINTS } },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules|examples|test-artifacts)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
