/**
 * Every environment variable a process of the project reads, in one table: its name, the zod schema of its value,
 * its default, what it means and which processes read it. Code reads them through `readEnvironment(group)`, which
 * checks the variables of one group (an invalid variable another process reads does not stop this one) and names
 * each bad variable with what to write instead. The table in docs/operating.md lists the same names
 * (test/unit/environment.test.ts compares them; `node dist/scripts/environment-table.js` prints the rows).
 *
 * Node-side only: workflows never read the environment, and temporal.config.ts (the competition's rules) neither.
 * Variables the platform sets inside submission containers (CHALLENGE_TRACK, CHALLENGE_RESUME_FROM, ...) are
 * the containers' interface, not this process's settings, and are not here.
 */
import { z } from 'zod';
import { parseBytes } from '../domain/units.js';

/** A process's environment, or a test's stand-in for it. */
export type EnvSource = Readonly<Record<string, string | undefined>>;

/** The processes that read variables (the table's last column). */
export type ProcessName = 'cli' | 'orchestrator' | 'gpu-host' | 'web' | 'scripts' | 'tests';
const EVERY_PROCESS = ['cli', 'orchestrator', 'gpu-host', 'web', 'scripts', 'tests'] as const satisfies readonly ProcessName[];

/**
 * What reads a group of variables: `runtime` (infra/runtime-config.ts loadRuntimeConfig, every process), `host`
 * (a GPU host's own overrides), `paths` (which suites and competition file), `tools` (where the Temporal binaries
 * are), `operator` (the web's operator token), `remote` (the participants' `challenge remote`), `build` (the
 * build sandbox), `cluster` (scripts/temporal-cluster.ts), `shell` (what the user's shell or CI provides).
 */
export type VariableGroup = 'runtime' | 'host' | 'paths' | 'tools' | 'operator' | 'remote' | 'build' | 'cluster' | 'shell';

interface VariableSpec {
  group: VariableGroup;
  /** Checks and converts a set value (an empty value counts as unset). */
  schema: z.ZodType;
  /** The value used when the variable is unset, as it would be written in the environment. */
  fallback?: string;
  /** When the default is worked out from other settings: how (documentation only; the value is then undefined). */
  derived?: string;
  meaning: string;
  usedBy: readonly ProcessName[];
}

const text = z.string().min(1);
const port = z.coerce.number().int().min(1).max(65535);
/** 1, true, yes, on (anything but 0, false, no, off) is true. */
const flag = z.string().transform((value) => !/^(0|false|no|off)$/i.test(value));
const bytes = z.string().transform((value, ctx) => {
  try {
    return parseBytes(value);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: `${(error as Error).message} (write a size such as 200MB, 5GiB or 1TB)` });
    return z.NEVER;
  }
});
const postgresUrl = z.string().regex(/^postgres(ql)?:\/\//, 'a PostgreSQL URL: postgresql://user:password@host:5432/database');

export const ENVIRONMENT = {
  // -- runtime: where the cluster, the stores and this host are (infra/runtime-config.ts) -------------------
  CHALLENGE_DATA_DIR: {
    group: 'runtime',
    schema: text,
    derived: '<working directory>/.data',
    meaning: "this host's working files: local artifacts, logs, the SQLite results database",
    usedBy: EVERY_PROCESS,
  },
  CHALLENGE_TEMPORAL_PORT: {
    group: 'runtime',
    schema: port,
    fallback: '7233',
    meaning: "the embedded dev server's gRPC port (the address is 127.0.0.1:<port> unless TEMPORAL_ADDRESS is set)",
    usedBy: EVERY_PROCESS,
  },
  CHALLENGE_TEMPORAL_UI_PORT: { group: 'runtime', schema: port, derived: 'CHALLENGE_TEMPORAL_PORT + 1000', meaning: "the dev server's Web UI port", usedBy: EVERY_PROCESS },
  CHALLENGE_TEMPORAL_UI_URL: {
    group: 'runtime',
    schema: z.url(),
    derived: 'http://127.0.0.1:<CHALLENGE_TEMPORAL_UI_PORT>',
    meaning: 'the Temporal Web UI links point to',
    usedBy: ['cli', 'web'],
  },
  TEMPORAL_ADDRESS: {
    group: 'runtime',
    // host:port is checked with the rest of the connection (infra/runtime-config.ts).
    schema: text,
    derived: '127.0.0.1:<CHALLENGE_TEMPORAL_PORT>',
    meaning: 'the Temporal frontend (host:port)',
    usedBy: EVERY_PROCESS,
  },
  TEMPORAL_NAMESPACE: { group: 'runtime', schema: text, fallback: 'default', meaning: 'the Temporal namespace', usedBy: EVERY_PROCESS },
  TEMPORAL_API_KEY: { group: 'runtime', schema: text, meaning: 'an API key (Temporal Cloud); turns TLS on', usedBy: EVERY_PROCESS },
  TEMPORAL_TLS: {
    group: 'runtime',
    schema: flag,
    derived: 'on when a TLS file or an API key is set',
    meaning: 'TLS to the cluster: 1/true or 0/false',
    usedBy: EVERY_PROCESS,
  },
  TEMPORAL_TLS_CA: { group: 'runtime', schema: text, meaning: "PEM file of the CA that signed the server's certificate (system roots otherwise)", usedBy: EVERY_PROCESS },
  TEMPORAL_TLS_SERVER_NAME: { group: 'runtime', schema: text, meaning: "the name checked against the server's certificate", usedBy: EVERY_PROCESS },
  TEMPORAL_TLS_CERT: { group: 'runtime', schema: text, meaning: 'mTLS: the client certificate chain (PEM file; with TEMPORAL_TLS_KEY)', usedBy: EVERY_PROCESS },
  TEMPORAL_TLS_KEY: { group: 'runtime', schema: text, meaning: "mTLS: the client certificate's private key (PEM file; with TEMPORAL_TLS_CERT)", usedBy: EVERY_PROCESS },
  CHALLENGE_DATABASE: { group: 'runtime', schema: text, derived: '<CHALLENGE_DATA_DIR>/results.sqlite', meaning: 'the SQLite results database', usedBy: EVERY_PROCESS },
  DATABASE_URL: { group: 'runtime', schema: text, meaning: 'the PostgreSQL results database (instead of SQLite); every process of a deployment sets it', usedBy: EVERY_PROCESS },
  CHALLENGE_ARTIFACT_STORE: {
    group: 'runtime',
    schema: text,
    derived: '<CHALLENGE_DATA_DIR>/store',
    meaning: 'where what outlives a host is kept: s3://bucket/prefix, file:///path or /path',
    usedBy: EVERY_PROCESS,
  },
  CHALLENGE_S3_ENDPOINT: { group: 'runtime', schema: z.url(), meaning: 'an S3-compatible endpoint (MinIO, Ceph RGW); AWS otherwise', usedBy: EVERY_PROCESS },
  CHALLENGE_S3_FORCE_PATH_STYLE: {
    group: 'runtime',
    schema: flag,
    derived: 'on when CHALLENGE_S3_ENDPOINT is set',
    meaning: 'path-style S3 addressing: 1/true or 0/false',
    usedBy: EVERY_PROCESS,
  },
  AWS_REGION: { group: 'runtime', schema: text, derived: 'AWS_DEFAULT_REGION, else us-east-1', meaning: "the S3 store's region", usedBy: EVERY_PROCESS },
  AWS_DEFAULT_REGION: { group: 'runtime', schema: text, meaning: "the S3 store's region when AWS_REGION is unset", usedBy: EVERY_PROCESS },
  CHALLENGE_HOST_ID: {
    group: 'runtime',
    schema: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'host ids are lowercase letters, digits and dashes'),
    fallback: 'host-1',
    meaning: "this host's id (unique in a deployment)",
    usedBy: ['gpu-host', 'tests'],
  },
  CHALLENGE_GPU_SLOTS: {
    group: 'runtime',
    schema: z.coerce.number().int().min(1).max(64),
    fallback: '2',
    meaning: "GPU slots of this host (the cpu track: parallel container slots), 1 to 64",
    usedBy: ['gpu-host', 'tests'],
  },
  CHALLENGE_BASE_IMAGE: { group: 'runtime', schema: text, fallback: 'challenge/base:bookworm-python3', meaning: 'the base image of the sample submissions', usedBy: ['cli', 'gpu-host', 'scripts'] },
  CHALLENGE_EVAL_NETWORK: { group: 'runtime', schema: text, fallback: 'challenge-eval', meaning: 'the Docker network inference servers run on', usedBy: ['gpu-host'] },
  CHALLENGE_BUILD_EGRESS_ALLOW: {
    group: 'runtime',
    schema: text,
    meaning: 'private destinations builds may reach, comma-separated address[/bits]:port[/tcp|udp] (an egress proxy, a package mirror)',
    usedBy: ['gpu-host'],
  },
  CHALLENGE_BUILD_SECRETS: { group: 'runtime', schema: text, meaning: "folder of the teams' build-time secrets, <team>/<NAME> files", usedBy: ['gpu-host'] },

  // -- host: a GPU host's own overrides of the track's rules ------------------------------------------------
  CHALLENGE_SHUTDOWN_GRACE_MS: {
    group: 'host',
    schema: z.coerce.number().int().min(0),
    fallback: '20000',
    meaning: 'on SIGTERM, how long a stage may finish before it is handed back (ms)',
    usedBy: ['gpu-host'],
  },
  CHALLENGE_TRAINING_OUTPUT_CAP: { group: 'host', schema: bytes, derived: "the track's disk.trainingOutputBytes", meaning: "cap on a fine-tune's training output (a size)", usedBy: ['gpu-host'] },
  CHALLENGE_MIN_FREE_DISK: { group: 'host', schema: bytes, derived: "the track's disk.minFreeBytes", meaning: 'free disk a stage needs to start (a size)', usedBy: ['gpu-host'] },

  // -- paths: which suites and which competition file --------------------------------------------------------
  CHALLENGE_SUITES: {
    group: 'paths',
    schema: text,
    derived: 'neurips2023 (infra/paths.ts DEFAULT_SUITE_SET)',
    meaning: 'the suite set (infra/paths.ts SUITE_SETS) or a folder holding open.json and closed.json',
    usedBy: ['cli', 'orchestrator', 'scripts'],
  },
  CHALLENGE_COMPETITION: { group: 'paths', schema: text, derived: 'competitions/demo.json', meaning: 'the competition file (phases, quotas)', usedBy: ['cli', 'orchestrator', 'web'] },

  // -- tools: where the Temporal binaries are ---------------------------------------------------------------
  CHALLENGE_TEMPORAL_BIN: {
    group: 'tools',
    schema: text,
    derived: '<XDG_CACHE_HOME>/challenge/bin/temporal',
    meaning: 'the temporal CLI (the embedded dev server)',
    usedBy: ['cli', 'scripts', 'tests'],
  },
  CHALLENGE_TEMPORAL_SERVER_BIN: {
    group: 'tools',
    schema: text,
    derived: '<XDG_CACHE_HOME>/challenge/temporal/<version>/bin/temporal-server',
    meaning: 'temporal-server of a self-hosted cluster',
    usedBy: ['scripts', 'tests'],
  },
  CHALLENGE_TEMPORAL_SQL_TOOL_BIN: {
    group: 'tools',
    schema: text,
    derived: '<XDG_CACHE_HOME>/challenge/temporal/<version>/bin/temporal-sql-tool',
    meaning: "temporal-sql-tool (the cluster's schemas)",
    usedBy: ['scripts', 'tests'],
  },
  XDG_CACHE_HOME: { group: 'tools', schema: text, derived: '~/.cache', meaning: 'where built tools are cached', usedBy: ['cli', 'scripts', 'tests'] },
  GOFLAGS: { group: 'tools', schema: text, meaning: 'passed on to go install (-buildvcs=false is added)', usedBy: ['scripts', 'tests'] },

  // -- operator, remote, build, cluster, shell -----------------------------------------------------------------
  CHALLENGE_OPERATOR_TOKEN: {
    group: 'operator',
    schema: text,
    meaning: "the web's operator secret (Bearer token or Basic password), at least 16 characters; required off 127.0.0.1",
    usedBy: ['cli', 'web'],
  },
  CHALLENGE_URL: { group: 'remote', schema: text, meaning: "the competition's web address, for `challenge remote`", usedBy: ['cli', 'scripts'] },
  CHALLENGE_TEAM_TOKEN: { group: 'remote', schema: text, meaning: "a team's token, for `challenge remote`", usedBy: ['cli', 'scripts'] },
  CHALLENGE_BUILD_NO_PROCESS_LIMIT: {
    group: 'build',
    schema: z.enum(['0', '1', 'false', 'true'], { error: 'use 1 (builds run without a process limit) or 0' }),
    fallback: '0',
    meaning: 'run builds without their process limit, where the engine cannot set one: 1 or 0',
    usedBy: ['gpu-host'],
  },
  CHALLENGE_TEMPORAL_DB_URL: {
    group: 'cluster',
    schema: postgresUrl,
    fallback: 'postgresql://challenge@127.0.0.1:55432/challenge',
    meaning: "the PostgreSQL a self-hosted cluster's schemas go to",
    usedBy: ['scripts', 'tests'],
  },
  CHALLENGE_CLUSTER_DIR: { group: 'cluster', schema: text, derived: '<CHALLENGE_DATA_DIR>/temporal-cluster', meaning: "a self-hosted cluster's config, logs and pids", usedBy: ['scripts'] },
  CHALLENGE_CLUSTER_TLS_SERVER_CERT: { group: 'cluster', schema: text, meaning: "the cluster frontends' certificate (PEM file)", usedBy: ['scripts'] },
  CHALLENGE_CLUSTER_TLS_SERVER_KEY: { group: 'cluster', schema: text, meaning: "the cluster frontends' private key (PEM file)", usedBy: ['scripts'] },
  USER: { group: 'shell', schema: text, derived: "the OS user's name", meaning: 'who grants a quota (`challenge team quota` without --by)', usedBy: ['cli'] },
  CI: { group: 'shell', schema: flag, fallback: 'false', meaning: 'the test summary writes CI annotations when true', usedBy: ['tests'] },
} as const satisfies Record<string, VariableSpec>;

type Table = typeof ENVIRONMENT;
export type VariableName = keyof Table;
type NamesOf<G extends VariableGroup> = { [K in VariableName]: Table[K]['group'] extends G ? K : never }[VariableName];
type ValueOf<K extends VariableName> = Table[K] extends { fallback: string } ? z.output<Table[K]['schema']> : z.output<Table[K]['schema']> | undefined;
/** The checked values of a group's variables: those with a default are always set. */
export type EnvironmentOf<G extends VariableGroup> = { -readonly [K in NamesOf<G>]: ValueOf<K> };

export class EnvironmentError extends Error {}

/** The variables of `group`, checked: one error naming every bad variable, its value, the rule and the default. */
export function readEnvironment<G extends VariableGroup>(group: G, env: EnvSource = process.env): EnvironmentOf<G> {
  const values: Record<string, unknown> = {};
  const problems: string[] = [];
  for (const [name, spec] of Object.entries(ENVIRONMENT) as [VariableName, VariableSpec][]) {
    if (spec.group !== group) continue;
    const raw = env[name];
    const given = raw !== undefined && raw !== '';
    if (!given && spec.fallback === undefined) {
      values[name] = undefined;
      continue;
    }
    const parsed = spec.schema.safeParse(given ? raw : spec.fallback);
    if (parsed.success) values[name] = parsed.data;
    else {
      const why = parsed.error.issues.map((issue) => issue.message).join('; ');
      problems.push(`  ${name}=${JSON.stringify(raw)}: ${why} (${spec.meaning}; unset, it is ${defaultOf(spec)})`);
    }
  }
  if (problems.length > 0) throw new EnvironmentError(`invalid environment variables (docs/operating.md lists them all):\n${problems.join('\n')}`);
  return values as EnvironmentOf<G>;
}

/** This process's environment plus `extra`, for a child process (the Go toolchain, a benchmark's worker). */
export function childEnvironment(extra: EnvSource = {}): Record<string, string | undefined> {
  return { ...process.env, ...extra };
}

function defaultOf(spec: VariableSpec): string {
  return spec.fallback ?? spec.derived ?? 'not set';
}

export const ENVIRONMENT_TABLE_HEADER = ['| Variable | Default | Meaning | Read by |', '| --- | --- | --- | --- |'] as const;

/** The rows of docs/operating.md's table of variables (Markdown), in the table's order. */
export function environmentTableRows(): string[] {
  const cell = (value: string) => value.replaceAll('|', '\\|').replaceAll('<', '\\<');
  return (Object.entries(ENVIRONMENT) as [VariableName, VariableSpec][]).map(([name, spec]) => {
    const fallback = spec.fallback === undefined ? cell(defaultOf(spec)) : `\`${spec.fallback}\``;
    const readers = spec.usedBy === EVERY_PROCESS ? 'every process' : spec.usedBy.join(', ');
    return `| \`${name}\` | ${fallback} | ${cell(spec.meaning)} | ${readers} |`;
  });
}
