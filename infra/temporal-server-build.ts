/**
 * What a self-hosted Temporal cluster needs before its first node starts: `temporal-server` and `temporal-sql-tool`
 * built from Go modules (go.temporal.io/server, cached per version), and the two schemas on PostgreSQL.
 * infra/temporal-cluster.ts starts the nodes.
 */
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { TEMPORAL_CLUSTER } from './runtime-config.js';
import { childEnvironment, readEnvironment, type EnvSource } from './environment.js';

// ---------------------------------------------------------------------------------------------
// The binaries: built once with `go install`, cached per version under ~/.cache/challenge/temporal.
// ---------------------------------------------------------------------------------------------
export interface TemporalServerBinaries {
  version: string;
  /** go.temporal.io/server/cmd/server, named as in upstream's server image. */
  server: string;
  /** go.temporal.io/server/cmd/tools/sql, named as in upstream's admin-tools image. */
  sqlTool: string;
  /** Where `go install` wrote its output (the reason when a build failed). */
  buildLog: string;
}

export function temporalServerBinaries(source?: EnvSource, version: string = TEMPORAL_CLUSTER.serverVersion): TemporalServerBinaries {
  const env = readEnvironment('tools', source);
  const cache = env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache');
  const dir = path.join(cache, 'challenge', 'temporal', version);
  return {
    version,
    server: env.CHALLENGE_TEMPORAL_SERVER_BIN ?? path.join(dir, 'bin', 'temporal-server'),
    sqlTool: env.CHALLENGE_TEMPORAL_SQL_TOOL_BIN ?? path.join(dir, 'bin', 'temporal-sql-tool'),
    buildLog: path.join(dir, 'build.log'),
  };
}

export const haveBinaries = (binaries: TemporalServerBinaries): boolean => existsSync(binaries.server) && existsSync(binaries.sqlTool);

/**
 * Builds both binaries unless they are cached. Under a file lock, so a script and a test started together
 * build once. A cold build takes tens of minutes on two cores; `go install` prints to `binaries.buildLog`.
 */
export async function ensureTemporalServerBinaries(
  options: { env?: Record<string, string | undefined>; say?: (line: string) => void; timeoutMs?: number } = {},
): Promise<TemporalServerBinaries> {
  const binaries = temporalServerBinaries(options.env);
  if (haveBinaries(binaries)) return binaries;
  const dir = path.dirname(binaries.buildLog);
  const gobin = path.join(dir, 'bin');
  mkdirSync(gobin, { recursive: true });
  options.say?.(`building temporal-server and temporal-sql-tool ${binaries.version} with go install (cached in ${gobin}; log ${binaries.buildLog})`);
  const go = await execa('go', ['version'], { reject: false });
  if (go.exitCode !== 0) {
    const why = String(go.stderr || go.message).split('\n')[0] ?? '';
    throw new Error(`no Go toolchain ("go version" failed: ${why}); temporal-server ${binaries.version} is built with go install`);
  }
  const started = Date.now();
  const packages = ['cmd/server', 'cmd/tools/sql'].map((p) => `go.temporal.io/server/${p}@${binaries.version}`);
  const result = await execa('flock', [path.join(dir, 'build.lock'), 'go', 'install', ...packages], {
    env: childEnvironment({ ...options.env, GOBIN: gobin, GOFLAGS: `${readEnvironment('tools').GOFLAGS ?? ''} -buildvcs=false`.trim() }),
    reject: false,
    all: true,
    timeout: options.timeoutMs ?? 60 * 60_000,
  });
  writeFileSync(binaries.buildLog, `${result.all ?? ''}\nexit ${result.exitCode ?? result.signal} after ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
  // go install names them after their folders: server and sql. Link the names upstream's images use.
  for (const [built, name] of [
    ['server', binaries.server],
    ['sql', binaries.sqlTool],
  ] as const) {
    if (existsSync(path.join(gobin, built)) && !existsSync(name)) symlinkSync(path.join(gobin, built), name);
  }
  if (!haveBinaries(binaries)) {
    const lines = (result.all ?? '').split('\n').filter((line) => line.trim() !== '');
    // The first line is the reason a skipped test shows; the log has the rest.
    throw new Error(
      `go install ${packages.join(' ')} failed (exit ${result.exitCode ?? result.signal}): ${lines.at(-1) ?? 'no output'}; see ${binaries.buildLog}\n${lines.slice(-15).join('\n')}`,
    );
  }
  options.say?.(`built in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return binaries;
}

// ---------------------------------------------------------------------------------------------
// Schemas: the default store (workflow state) and the visibility store, on PostgreSQL.
// ---------------------------------------------------------------------------------------------
export interface SqlStore {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}

/** postgresql://user[:password]@host:port/… plus a database name → a store. */
export function sqlStoreFrom(url: string, database: string): SqlStore {
  const parsed = new URL(url);
  return {
    host: parsed.hostname,
    port: Number(parsed.port || 5432),
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    database,
  };
}

/** The schema each store gets: the SQL tool's embedded, versioned schema directories for PostgreSQL 12+. */
const SCHEMA_NAMES = { default: 'postgresql/v12/temporal', visibility: 'postgresql/v12/visibility' } as const;

/** The argument lists of the schema steps, in order (README and docker/compose.yaml show the same commands). */
export function schemaCommands(store: SqlStore, kind: keyof typeof SCHEMA_NAMES, createDatabase: boolean): string[][] {
  const connection = ['--plugin', 'postgres12', '--endpoint', store.host, '--port', String(store.port), '--user', store.user, '--database', store.database];
  if (store.password) connection.push('--password', store.password);
  return [
    ...(createDatabase ? [[...connection, 'create-database']] : []),
    // Version 0.0 creates only the schema_version bookkeeping; update-schema then applies every versioned step.
    [...connection, 'setup-schema', '-v', '0.0'],
    [...connection, 'update-schema', '--schema-name', SCHEMA_NAMES[kind]],
  ];
}

/** Creates (when asked) and updates both schemas to the binary's version. Safe to run again on an existing store. */
export async function setupSchemas(
  sqlTool: string,
  stores: { default: SqlStore; visibility: SqlStore },
  options: { createDatabases: boolean },
): Promise<string> {
  let transcript = '';
  for (const kind of ['default', 'visibility'] as const) {
    for (const args of schemaCommands(stores[kind], kind, options.createDatabases)) {
      const result = await execa(sqlTool, args, { reject: false, all: true, timeout: 120_000 });
      transcript += `$ temporal-sql-tool ${args.join(' ').replace(/--password \S+/, '--password ***')}\n${result.all ?? ''}\n`;
      const exists = args.at(-1) === 'create-database' && /already exists/.test(result.all ?? '');
      if (result.exitCode !== 0 && !exists)
        throw new Error(`temporal-sql-tool ${args.at(-1)} on ${stores[kind].database} failed (exit ${result.exitCode}):\n${result.all ?? ''}`);
    }
  }
  return transcript;
}
