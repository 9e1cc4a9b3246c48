/**
 * The container runtime: the docker CLI driven through execa. Containers get deterministic names and
 * labels (workflow, stage, attempt) so an attempt can find and remove what an earlier one left behind.
 */
import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import { logExcerpt } from '../domain/failures.js';
import { classifyBuildFailure, type BuildFailureClassification } from '../domain/build-failures.js';

export const LABEL_PREFIX = 'challenge';

export type Labels = Record<string, string>;

function labelArgs(labels: Labels): string[] {
  return Object.entries(labels).flatMap(([key, value]) => ['--label', `${LABEL_PREFIX}.${key}=${value}`]);
}

/** Docker names allow [a-zA-Z0-9][a-zA-Z0-9_.-]; workflow ids are mapped onto that. */
export function containerName(...parts: string[]): string {
  return parts
    .join('-')
    .replace(/[^a-zA-Z0-9_.-]/g, '_')
    .replace(/^[^a-zA-Z0-9]+/, '')
    .slice(0, 200);
}

export async function docker(args: string[], options: { signal?: AbortSignal; input?: string } = {}) {
  return execa('docker', args, {
    reject: false,
    all: true,
    ...(options.signal ? { cancelSignal: options.signal, forceKillAfterDelay: 2000 } : {}),
    ...(options.input !== undefined ? { input: options.input } : {}),
    env: { DOCKER_BUILDKIT: '0' },
  });
}

export interface BuildResult {
  ok: boolean;
  log: string;
  /** The Dockerfile step that failed, e.g. `Step 3/4 : RUN pip install transformers` */
  failedStep?: string;
  /** True when the failure lies with the platform (engine, host, network to a package index), not the Dockerfile. */
  infrastructure: boolean;
  /** Why a failed build failed (domain/build-failures.ts); absent when it succeeded or was cancelled. */
  classification?: BuildFailureClassification;
  cancelled: boolean;
}

export async function buildImage(options: { context: string; dockerfile: string; tag: string; labels: Labels; signal?: AbortSignal }): Promise<BuildResult> {
  const result = await docker(
    ['build', '--force-rm', '-f', options.dockerfile, '-t', options.tag, ...labelArgs(options.labels), options.context],
    options.signal ? { signal: options.signal } : {},
  );
  const log = result.all ?? '';
  if (result.exitCode === 0) return { ok: true, log, infrastructure: false, cancelled: false };
  if (result.isCanceled === true) return { ok: false, log, infrastructure: false, cancelled: true };
  const classification = classifyBuildFailure(log);
  return {
    ok: false,
    log,
    ...(classification.step ? { failedStep: classification.step } : {}),
    infrastructure: classification.category === 'infrastructure',
    classification,
    cancelled: false,
  };
}

export interface RunSpec {
  name: string;
  image: string;
  labels: Labels;
  memory: string;
  cpus: number;
  pids: number;
  /** `none` for training; the internal evaluation network for inference servers. */
  network: string;
  mounts: { host: string; container: string; readOnly: boolean }[];
  env?: Record<string, string>;
  /** GPU index for `--gpus device=N`; null on the cpu track. */
  gpu: number | null;
  readOnlyRoot: boolean;
}

/** The sandbox every submission container runs in. */
export function runArgs(spec: RunSpec): string[] {
  const args = [
    'run',
    '-d',
    '--name',
    spec.name,
    ...labelArgs(spec.labels),
    '--memory',
    spec.memory,
    '--memory-swap',
    spec.memory,
    '--cpus',
    String(spec.cpus),
    '--pids-limit',
    String(spec.pids),
    '--cap-drop',
    'ALL',
    '--security-opt',
    'no-new-privileges',
    '--network',
    spec.network,
    '--tmpfs',
    '/tmp:rw,size=256m',
  ];
  if (spec.readOnlyRoot) args.push('--read-only');
  for (const mount of spec.mounts) args.push('-v', `${mount.host}:${mount.container}:${mount.readOnly ? 'ro' : 'rw'}`);
  for (const [key, value] of Object.entries(spec.env ?? {})) args.push('-e', `${key}=${value}`);
  if (spec.gpu !== null) args.push('--gpus', `device=${spec.gpu}`);
  args.push(spec.image);
  return args;
}

export async function runDetached(spec: RunSpec): Promise<string> {
  const result = await docker(runArgs(spec));
  if (result.exitCode !== 0) throw new Error(`docker run ${spec.name} failed: ${logExcerpt(result.all ?? '', 10)}`);
  return (result.stdout ?? '').trim();
}

export interface ContainerState {
  exists: boolean;
  running: boolean;
  exitCode: number | null;
  oomKilled: boolean;
  startedAt: string | null;
  finishedAt: string | null;
  ipAddresses: Record<string, string>;
}

export async function inspectContainer(name: string): Promise<ContainerState> {
  const result = await docker(['inspect', '--format', '{{json .State}}|{{json .NetworkSettings.Networks}}', name]);
  if (result.exitCode !== 0) {
    return { exists: false, running: false, exitCode: null, oomKilled: false, startedAt: null, finishedAt: null, ipAddresses: {} };
  }
  const [stateJson = '{}', networksJson = '{}'] = (result.stdout ?? '').split('|');
  const state = JSON.parse(stateJson) as { Running?: boolean; ExitCode?: number; OOMKilled?: boolean; StartedAt?: string; FinishedAt?: string };
  const networks = (JSON.parse(networksJson) ?? {}) as Record<string, { IPAddress?: string }>;
  const ipAddresses: Record<string, string> = {};
  for (const [network, settings] of Object.entries(networks)) if (settings.IPAddress) ipAddresses[network] = settings.IPAddress;
  return {
    exists: true,
    running: state.Running === true,
    exitCode: state.Running ? null : (state.ExitCode ?? null),
    oomKilled: state.OOMKilled === true,
    startedAt: state.StartedAt ?? null,
    finishedAt: state.Running ? null : (state.FinishedAt ?? null),
    ipAddresses,
  };
}

export async function containerLogs(name: string, tailLines = 200): Promise<string> {
  const result = await docker(['logs', '--tail', String(tailLines), name]);
  return result.all ?? '';
}

export async function killContainer(name: string): Promise<void> {
  await docker(['kill', name]);
}

export async function removeContainer(name: string): Promise<void> {
  await docker(['rm', '-f', '-v', name]);
}

export async function ensureNetwork(name: string, internal: boolean): Promise<void> {
  if ((await docker(['network', 'inspect', name])).exitCode === 0) return;
  const created = await docker(['network', 'create', ...(internal ? ['--internal'] : []), '--label', `${LABEL_PREFIX}.managed=true`, name]);
  if (created.exitCode !== 0 && !/already exists/.test(created.all ?? '')) {
    throw new Error(`cannot create docker network ${name}: ${logExcerpt(created.all ?? '', 5)}`);
  }
}

/** A CUDA or PyTorch out-of-memory message in a container's log. */
export const CUDA_OOM_PATTERN = /CUDA out of memory|torch\.(cuda\.)?OutOfMemoryError|CUBLAS_STATUS_ALLOC_FAILED/;

/** Names of containers carrying all of the given labels. */
export async function containersLabelled(labels: Labels): Promise<string[]> {
  const filters = Object.entries(labels).flatMap(([key, value]) => ['--filter', `label=${LABEL_PREFIX}.${key}=${value}`]);
  const listed = await docker(['ps', '-a', '--format', '{{.Names}}', ...filters]);
  return (listed.stdout ?? '')
    .split('\n')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** One label of a container; null when there is no such container or label. */
export async function containerLabel(name: string, key: string): Promise<string | null> {
  const inspected = await docker(['container', 'inspect', '--format', `{{ index .Config.Labels "${LABEL_PREFIX}.${key}" }}`, name]);
  const value = (inspected.stdout ?? '').trim();
  return inspected.exitCode === 0 && value !== '' && value !== '<no value>' ? value : null;
}

/** One label of a local image; null when the image is not on this engine (or lacks the label). */
export async function imageLabel(image: string, key: string): Promise<string | null> {
  const inspected = await docker(['image', 'inspect', '--format', `{{ index .Config.Labels "${LABEL_PREFIX}.${key}" }}`, image]);
  const value = (inspected.stdout ?? '').trim();
  return inspected.exitCode === 0 && value !== '' && value !== '<no value>' ? value : null;
}

export async function removeNetwork(name: string): Promise<void> {
  await docker(['network', 'rm', name]);
}

/** The Linux bridge behind a user-defined docker network (br-<first 12 hex of its id>). */
export async function bridgeInterface(network: string): Promise<string | null> {
  const result = await docker(['network', 'inspect', '--format', '{{.Id}}', network]);
  if (result.exitCode !== 0) return null;
  return `br-${(result.stdout ?? '').trim().slice(0, 12)}`;
}

/**
 * Peak memory of a running container, from its cgroup (v1: memory.max_usage_in_bytes, v2: memory.peak).
 * The cgroup disappears when the container exits, so this samples while it runs and keeps the maximum;
 * `stop()` returns it (null where the engine's cgroup layout is not a known one).
 */
export function watchPeakMemory(name: string, everyMs = 1000): { stop: () => Promise<number | null> } {
  let peak: number | null = null;
  let files: string[] | null = null;
  const sample = async () => {
    if (files === null) {
      const id = ((await docker(['inspect', '--format', '{{.Id}}', name])).stdout ?? '').trim();
      files = id
        ? [
            `/sys/fs/cgroup/memory/docker/${id}/memory.max_usage_in_bytes`,
            `/sys/fs/cgroup/system.slice/docker-${id}.scope/memory.peak`,
            `/sys/fs/cgroup/docker/${id}/memory.peak`,
          ]
        : [];
    }
    for (const file of files) {
      try {
        const value = Number(readFileSync(file, 'utf8').trim());
        if (Number.isFinite(value)) peak = Math.max(peak ?? 0, value);
        return;
      } catch {
        /* not this layout, or the container is gone */
      }
    }
  };
  let pending = sample();
  const timer = setInterval(() => {
    pending = pending.then(sample, sample);
  }, everyMs);
  return {
    stop: async () => {
      clearInterval(timer);
      await pending.catch(() => undefined);
      await sample().catch(() => undefined);
      return peak;
    },
  };
}
