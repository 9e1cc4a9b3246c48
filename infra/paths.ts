/** Locations inside the project, resolved from the compiled file (dist/infra/paths.js → project root). */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SuiteKind } from '../domain/harness/suite.js';

export const PROJECT_ROOT = path.resolve(fileURLToPath(new URL('../../', import.meta.url)));

export const defaultSuiteFiles = (): Record<SuiteKind, string> => ({
  open: path.join(PROJECT_ROOT, 'suites', 'open.json'),
  closed: path.join(PROJECT_ROOT, 'suites', 'closed.json'),
});
