/**
 * Prints the table of environment variables for docs/operating.md from infra/environment.ts (the one list):
 *   node dist/scripts/environment-table.js
 */
import { ENVIRONMENT_TABLE_HEADER, environmentTableRows } from '../infra/environment.js';

for (const line of [...ENVIRONMENT_TABLE_HEADER, ...environmentTableRows()]) console.log(line);
