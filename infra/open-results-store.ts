/**
 * Picks the results store the configuration names. Kept apart from results-store.ts so that the interface
 * does not import its implementations (and the implementations, which import the interface, form no cycle).
 */
import type { RuntimeConfig } from './runtime-config.js';
import type { ResultsStore } from './results-store.js';

/** The results database the configuration names: PostgreSQL when DATABASE_URL is set, else the SQLite file. */
export async function openResultsStore(config: Pick<RuntimeConfig, 'databaseUrl' | 'databasePath'>): Promise<ResultsStore> {
  if (config.databaseUrl) {
    const { PostgresResultsDb } = await import('./results-db-postgres.js');
    return PostgresResultsDb.connect(config.databaseUrl);
  }
  const { ResultsDb } = await import('./results-db.js');
  return new ResultsDb(config.databasePath);
}
