/**
 * A real PostgreSQL for tests: scripts/ensure-postgres.sh starts (or reuses) a throwaway local server,
 * and each test file takes a fresh, empty database of its own so files never see each other's rows.
 */
import { execa } from 'execa';
import path from 'node:path';
import pg from 'pg';
import { PROJECT_ROOT } from '../../infra/paths.js';

export interface TestPostgres {
  /** The server's `challenge` database (postgresql://challenge@127.0.0.1:<port>/challenge). */
  url: string;
  /** Drops the database `name` if it exists (closing its connections), creates it empty, and returns its URL. */
  freshDatabase(name: string): Promise<string>;
}

export async function startPostgres(): Promise<TestPostgres> {
  const script = path.join(PROJECT_ROOT, 'scripts', 'ensure-postgres.sh');
  const result = await execa('bash', [script], { cwd: PROJECT_ROOT, reject: false, all: true, timeout: 300_000 });
  const url = result.stdout.trim().split('\n').at(-1) ?? '';
  if (result.exitCode !== 0 || !/^postgres(ql)?:\/\//.test(url)) {
    throw new Error(`scripts/ensure-postgres.sh did not start PostgreSQL (exit ${result.exitCode ?? result.signal}); its output:\n${result.all ?? ''}`);
  }

  const freshDatabase = async (name: string): Promise<string> => {
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name))
      throw new Error(`database name '${name}': use lowercase letters, digits and _ (at most 63, not starting with a digit)`);
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      // FORCE: a previous run of the test file that died may still hold connections to it.
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.query(`CREATE DATABASE ${name}`);
    } finally {
      await admin.end();
    }
    const fresh = new URL(url);
    fresh.pathname = `/${name}`;
    return fresh.toString();
  };

  return { url, freshDatabase };
}
