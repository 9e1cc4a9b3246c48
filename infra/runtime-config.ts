/**
 * Runtime configuration of a process (CLI, workers, web, demo): where Temporal, the stores and the cluster are,
 * and this host's own overrides of the track's rules. Read from the environment through infra/environment.ts
 * (the one table of variables) and checked here as a whole (TLS, the artifact store). Node-side only: the
 * competition's rules (tracks, limits, queues, policies) are in temporal.config.ts, which workflows import.
 */
import { z } from 'zod';
import { diskLimitsFor, type DiskLimits, type DiskOverrides, type TrackId } from '../temporal.config.js';
import { readEnvironment, type EnvSource, type EnvironmentOf } from './environment.js';

/**
 * How to reach the Temporal cluster. Plain TCP to the embedded dev server by default; TLS (server
 * verification with an optional private CA), mTLS (client certificate and key) for a self-hosted
 * cluster, or an API key for Temporal Cloud. Variable names follow the Temporal CLI's.
 */
const TemporalConnectionSchema = z
  .object({
    address: z.string().regex(/^[^\s:]+:\d+$/, 'write host:port, e.g. 127.0.0.1:7233 or my-ns.a1b2c.tmprl.cloud:7233'),
    namespace: z.string().min(1),
    tls: z
      .object({
        /** PEM file of the CA that signed the server's certificate (a private CA); system roots otherwise. */
        serverRootCACertPath: z.string().min(1).optional(),
        /** Overrides the name checked against the server's certificate. */
        serverName: z.string().min(1).optional(),
        /** mTLS: the client certificate chain and its private key, PEM files. */
        clientCertPath: z.string().min(1).optional(),
        clientKeyPath: z.string().min(1).optional(),
      })
      .nullable(),
    apiKey: z.string().min(1).nullable(),
  })
  .superRefine((c, ctx) => {
    if (c.tls && Boolean(c.tls.clientCertPath) !== Boolean(c.tls.clientKeyPath)) {
      ctx.addIssue({ code: 'custom', path: ['tls'], message: 'mTLS needs both TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY (PEM files); set both or neither' });
    }
    if (c.apiKey && !c.tls) ctx.addIssue({ code: 'custom', path: ['apiKey'], message: 'an API key is only sent over TLS: unset TEMPORAL_TLS=false' });
  });
export type TemporalConnectionConfig = z.infer<typeof TemporalConnectionSchema>;

/** Where what must outlive a GPU host is kept: checkpoints, training output, logs, answer exports, reports. */
const ArtifactStoreSchema = z.discriminatedUnion('kind', [
  /** A directory every host mounts (NFS, CephFS, ...); on one machine, a folder of the data directory. */
  z.object({ kind: z.literal('fs'), root: z.string().min(1) }),
  /** An S3-compatible object store (AWS S3, MinIO, Ceph RGW, ...); credentials from the AWS SDK's usual sources. */
  z.object({
    kind: z.literal('s3'),
    bucket: z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name: 3-63 lowercase letters, digits, dots and dashes'),
    prefix: z.string(),
    endpoint: z.url().nullable(),
    region: z.string().min(1),
    forcePathStyle: z.boolean(),
  }),
]);
export type ArtifactStoreConfig = z.infer<typeof ArtifactStoreSchema>;

const RuntimeConfigSchema = z.object({
  /** The cluster: address, namespace, TLS and API key (one copy, read by every connection and message). */
  temporal: TemporalConnectionSchema,
  uiUrl: z.url(),
  /** Where this host keeps its working files (local artifacts, logs, the SQLite results database). */
  dataDir: z.string().min(1),
  /** SQLite results database (the default, on the orchestrator host). */
  databasePath: z.string().min(1),
  /** PostgreSQL results database when set (DATABASE_URL); every process of the deployment uses it. */
  databaseUrl: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'DATABASE_URL must be a PostgreSQL URL: postgresql://user:password@host:5432/database')
    .nullable(),
  artifactStore: ArtifactStoreSchema,
  hostId: z.string(),
  /** Number of GPU slots of this host for its track (for the cpu track: parallel container slots). */
  gpuSlots: z.number().int(),
  baseImage: z.string().min(1),
  evalNetwork: z.string().min(1),
  /**
   * Private or link-local destinations a build may still reach (CHALLENGE_BUILD_EGRESS_ALLOW), e.g. an egress
   * proxy or a package mirror in 10/8: everything else in 10/8, 172.16/12, 192.168/16, 100.64/10 and 169.254/16
   * is refused to builds (infra/firewall.ts). The host's own DNS resolvers (port 53) are always allowed.
   */
  buildEgressAllow: z.array(
    z.object({
      address: z.string().regex(/^\d{1,3}(\.\d{1,3}){3}(\/\d{1,2})?$/, 'an IPv4 address or CIDR, e.g. 10.1.2.3 or 10.1.0.0/16'),
      port: z.number().int().min(1).max(65535),
      protocol: z.enum(['tcp', 'udp']),
    }),
  ),
  /** Folder of the build-time secrets the operator holds per team (CHALLENGE_BUILD_SECRETS): `<team>/<NAME>` files. */
  buildSecretsDir: z.string().min(1).nullable(),
});
export type RuntimeConfig = z.infer<typeof RuntimeConfigSchema>;

type RuntimeEnvironment = EnvironmentOf<'runtime'>;

/** s3://bucket/prefix → bucket and prefix (the prefix without leading or trailing slashes). */
function artifactStoreFrom(env: RuntimeEnvironment, dataDir: string): unknown {
  const url = env.CHALLENGE_ARTIFACT_STORE;
  if (!url) return { kind: 'fs', root: `${dataDir}/store` };
  const s3 = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  if (s3) {
    return {
      kind: 's3',
      bucket: s3[1],
      prefix: s3[2]!.replace(/^\/+|\/+$/g, ''),
      endpoint: env.CHALLENGE_S3_ENDPOINT ?? null,
      region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
      // MinIO and most self-hosted stores want path-style addressing; AWS takes either.
      forcePathStyle: env.CHALLENGE_S3_FORCE_PATH_STYLE ?? env.CHALLENGE_S3_ENDPOINT !== undefined,
    };
  }
  if (url.startsWith('file://')) return { kind: 'fs', root: url.slice('file://'.length) };
  if (url.startsWith('/')) return { kind: 'fs', root: url };
  return { kind: 'invalid', url };
}

/** `10.0.0.5:3128,10.8.0.0/16:443/tcp,10.0.0.2:53/udp` → entries; a malformed entry stays malformed for the schema to name. */
function egressAllowFrom(value: string | undefined): unknown[] {
  if (!value || value.trim() === '') return [];
  return value
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
    .map((entry) => {
      const m = /^([^:\s]+):(\d+)(?:\/(tcp|udp))?$/.exec(entry);
      return m
        ? { address: m[1], port: Number(m[2]), protocol: m[3] ?? 'tcp' }
        : { address: `${entry} (write address:port[/tcp|udp])`, port: 0, protocol: 'tcp' };
    });
}

/** The settings of this process; `env` defaults to its environment (tests pass their own). */
export function loadRuntimeConfig(source?: EnvSource, cwd = process.cwd()): RuntimeConfig {
  const env = readEnvironment('runtime', source);
  const dataDir = env.CHALLENGE_DATA_DIR ?? `${cwd}/.data`;
  const port = env.CHALLENGE_TEMPORAL_PORT;
  const uiPort = env.CHALLENGE_TEMPORAL_UI_PORT ?? port + 1000;
  const apiKey = env.TEMPORAL_API_KEY ?? null;
  // TLS is on when asked for, when any TLS file is given, or with an API key (Temporal Cloud); TEMPORAL_TLS=false turns it off.
  const tlsFiles = {
    ...(env.TEMPORAL_TLS_CA ? { serverRootCACertPath: env.TEMPORAL_TLS_CA } : {}),
    ...(env.TEMPORAL_TLS_SERVER_NAME ? { serverName: env.TEMPORAL_TLS_SERVER_NAME } : {}),
    ...(env.TEMPORAL_TLS_CERT ? { clientCertPath: env.TEMPORAL_TLS_CERT } : {}),
    ...(env.TEMPORAL_TLS_KEY ? { clientKeyPath: env.TEMPORAL_TLS_KEY } : {}),
  };
  const tlsOn = env.TEMPORAL_TLS ?? (Object.keys(tlsFiles).length > 0 || apiKey !== null);
  const parsed = RuntimeConfigSchema.safeParse({
    temporal: { address: env.TEMPORAL_ADDRESS ?? `127.0.0.1:${port}`, namespace: env.TEMPORAL_NAMESPACE, tls: tlsOn ? tlsFiles : null, apiKey },
    uiUrl: env.CHALLENGE_TEMPORAL_UI_URL ?? `http://127.0.0.1:${uiPort}`,
    dataDir,
    databasePath: env.CHALLENGE_DATABASE ?? `${dataDir}/results.sqlite`,
    databaseUrl: env.DATABASE_URL ?? null,
    artifactStore: artifactStoreFrom(env, dataDir),
    hostId: env.CHALLENGE_HOST_ID,
    gpuSlots: env.CHALLENGE_GPU_SLOTS,
    baseImage: env.CHALLENGE_BASE_IMAGE,
    evalNetwork: env.CHALLENGE_EVAL_NETWORK,
    buildEgressAllow: egressAllowFrom(env.CHALLENGE_BUILD_EGRESS_ALLOW),
    buildSecretsDir: env.CHALLENGE_BUILD_SECRETS ?? null,
  });
  if (!parsed.success) {
    const lines = parsed.error.issues.map(
      (issue) =>
        `  ${issue.path.join('.')}: ${issue.message}${issue.path[0] === 'artifactStore' ? ' (CHALLENGE_ARTIFACT_STORE is s3://bucket/prefix, file:///path or /path)' : ''}`,
    );
    throw new Error(`invalid runtime configuration (environment variables CHALLENGE_*, TEMPORAL_*, DATABASE_URL):\n${lines.join('\n')}`);
  }
  return parsed.data;
}

/** A GPU host's own settings beside the runtime configuration (CHALLENGE_SHUTDOWN_GRACE_MS and the disk overrides). */
export interface HostSettings {
  /** On SIGTERM a stage gets this long to finish; after that it is handed back and resumes elsewhere. */
  shutdownGraceMs: number;
  /** This host's overrides of the track's disk limits (CHALLENGE_TRAINING_OUTPUT_CAP, CHALLENGE_MIN_FREE_DISK). */
  disk: DiskOverrides;
}

export function loadHostSettings(source?: EnvSource): HostSettings {
  const env = readEnvironment('host', source);
  return {
    shutdownGraceMs: env.CHALLENGE_SHUTDOWN_GRACE_MS,
    disk: {
      ...(env.CHALLENGE_TRAINING_OUTPUT_CAP !== undefined ? { trainingOutputBytes: env.CHALLENGE_TRAINING_OUTPUT_CAP } : {}),
      ...(env.CHALLENGE_MIN_FREE_DISK !== undefined ? { minFreeBytes: env.CHALLENGE_MIN_FREE_DISK } : {}),
    },
  };
}

/** The track's disk limits with this host's overrides from the environment. */
export const hostDiskLimits = (track: TrackId, source?: EnvSource): DiskLimits => diskLimitsFor(track, loadHostSettings(source).disk);

// ---------------------------------------------------------------------------------------------
// A self-hosted Temporal cluster (infra/temporal-cluster.ts, scripts/temporal-cluster.ts, docker/compose.yaml)
// ---------------------------------------------------------------------------------------------
export const TEMPORAL_CLUSTER = {
  /** go.temporal.io/server version: built with `go install` for the cluster test; the compose images carry the same tag. */
  serverVersion: 'v1.31.0',
  /**
   * History shards of a new cluster. Fixed for the life of its database (changing it means a new cluster), so
   * production picks it once (README: "Running on your own Temporal cluster"); the test cluster keeps 4.
   */
  numHistoryShards: 4,
  /** How long closed pipelines stay in Temporal's history (the results database keeps them for good). */
  namespaceRetention: '30d',
} as const;
