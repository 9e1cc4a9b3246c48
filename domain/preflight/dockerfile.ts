/**
 * The Dockerfile preflight's public surface: a lint that runs before any build (cli/check.ts, the build
 * activity). The pieces:
 *   rules.ts           the rule table: id → family, severity, message, fix
 *   rules/*.ts         one module per family: base images, pins (pip, npm, apt, conda, git), secrets,
 *                      downloads, BuildKit-only syntax
 *   parse.ts           Dockerfile → instructions (dockerfile-ast, plus the joined shell text)
 *   shell.ts           the shell lexer; package-specs.ts what counts as pinned; build-context.ts COPY tracing
 *   lint.ts            one walk over the instructions, every rule module on each
 *   preflight.ts       both Dockerfiles as one result, and its text; submission.ts the only file I/O
 */
export { lintDockerfile, type LintOptions } from './lint.js';
export { lineAtOffset, parseDockerfile, type Instruction, type ParsedDockerfile } from './parse.js';
export { normalizePackageName, pipRequirementVerdict, requirementLines } from './package-specs.js';
export { PREFLIGHT_DOCKERFILES, preflightTexts, renderPreflight, type PreflightResult } from './preflight.js';
export { PREFLIGHT_RULES, PREFLIGHT_RULE_IDS, type Finding, type PreflightRule, type Severity } from './rules.js';
export { lintRequirements } from './rules/pip.js';
export { maskSecret } from './rules/secrets.js';
export { shellCommands, type Word } from './shell.js';
export { preflightSubmission } from './submission.js';
export type { DockerfileRole } from './family.js';
