/**
 * The container runtime: the docker CLI driven through execa. Containers get deterministic names and
 * labels (workflow, stage, attempt) so an attempt can find and remove what an earlier one left behind.
 */
import { execa } from 'execa';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { logExcerpt } from '../domain/failures.js';
import { BoundedOutput, classifyBuildFailure, cleanBuildLog, outputCapLine, type BuildFailureClassification, type OutputCap } from '../domain/build-failures.js';
import { refusalsBetween, refusedDestinations, type RefusalCounters } from '../domain/build-refusals.js';
import { ACTIVITY_POLICY } from '../temporal.config.js';
import { createBuildCgroup, describePlan, engineCgroups, removeBuildCgroup } from './build-cgroup.js';
import { buildRefusalCounters, closeHostPortToBuild, openHostPortToBuild, sandboxBuildNetwork, unsandboxBuildNetwork, type EgressAllow } from './firewall.js';

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
  /** What the build printed, bounded (BoundedOutput: head and tail), with the platform's own notes appended. */
  log: string;
  /** The Dockerfile step that failed, e.g. `Step 3/4 : RUN pip install transformers` */
  failedStep?: string;
  /** True when the failure lies with the platform (engine, host, network to a package index), not the Dockerfile. */
  infrastructure: boolean;
  /** Why a failed build failed (domain/build-failures.ts); absent when it succeeded or was cancelled. */
  classification?: BuildFailureClassification;
  cancelled: boolean;
  /** The build printed more than its output cap and was stopped. */
  outputCapped: boolean;
  /** Bytes the build printed in all (also those the log left out). */
  outputBytes: number;
  /** The engine reported an out-of-memory kill of the failing step's container. */
  memoryKilled: boolean;
  /** What the build sandbox refused this build (domain/build-refusals.ts refusedDestinations); empty outside a sandbox. */
  sandboxRefused: string[];
}

/** Where and how the RUN steps of a build run (see openBuildSandbox). */
export interface BuildSandbox {
  /** `docker build --network`: a user-defined bridge sandboxed by infra/firewall.ts sandboxBuildNetwork. */
  network: string;
  /** `--memory` of every step; `--memory-swap` is the same (no swap). */
  memory: string;
  /** `--cpu-period`/`--cpu-quota` of every step. */
  cpus: number;
  /**
   * `--cgroup-parent`: the build's own cgroup (cgroupfs) or slice (systemd), whose pids limit bounds the processes
   * of every step (infra/build-cgroup.ts); null only where the operator opted out (CHALLENGE_BUILD_NO_PROCESS_LIMIT).
   */
  cgroupParent: string | null;
}

export interface BuildOptions {
  context: string;
  dockerfile: string;
  tag: string;
  labels: Labels;
  signal?: AbortSignal;
  sandbox?: BuildSandbox;
  /** The output cap; default ACTIVITY_POLICY.buildOutput. */
  output?: OutputCap;
  /** `--build-arg`s (e.g. CHALLENGE_BUILD_SECRETS_URL). */
  buildArgs?: Record<string, string>;
  /** Texts replaced by "****" in the returned log (the build's secrets, should a step print one). */
  mask?: string[];
}

/** The arguments of `docker build` (legacy builder) for a build in `sandbox`. */
export function buildArgs(options: Pick<BuildOptions, 'context' | 'dockerfile' | 'tag' | 'labels' | 'sandbox' | 'buildArgs'>): string[] {
  const args = ['build', '--force-rm'];
  const sandbox = options.sandbox;
  if (sandbox) {
    args.push('--network', sandbox.network, '--memory', sandbox.memory, '--memory-swap', sandbox.memory);
    args.push('--cpu-period', '100000', '--cpu-quota', String(Math.max(1000, Math.round(sandbox.cpus * 100_000))));
    if (sandbox.cgroupParent) args.push('--cgroup-parent', sandbox.cgroupParent);
  }
  for (const [key, value] of Object.entries(options.buildArgs ?? {})) args.push('--build-arg', `${key}=${value}`);
  args.push('-f', options.dockerfile, '-t', options.tag, ...labelArgs(options.labels), options.context);
  return args;
}

/** The container of the failing step: the last ` ---> Running in <id>` after the last `Step N/M` header. */
export function failingStepContainer(log: string): string | null {
  const lines = cleanBuildLog(log).split('\n');
  let id: string | null = null;
  for (const line of lines) {
    if (/^Step \d+\/\d+ : /.test(line)) id = null;
    const m = /^ ---> Running in ([0-9a-f]{12,64})\s*$/.exec(line);
    if (m) id = m[1]!;
  }
  return id;
}

/** Whether the engine reported an out-of-memory kill of container `id` (a prefix) between two moments (Unix seconds). */
async function oomReported(id: string, sinceS: number, untilS: number): Promise<boolean> {
  const events = await docker(['events', '--since', String(sinceS), '--until', String(untilS), '--filter', 'event=oom', '--format', '{{.Actor.ID}}']);
  return (events.stdout ?? '').split('\n').some((line) => line.trim() !== '' && line.trim().startsWith(id));
}

/** The sandbox's refusal counters of a build network (infra/firewall.ts buildRefusalCounters) and its gateway. */
async function sandboxRefusals(network: string): Promise<{ counters: RefusalCounters; gateway: string | null }> {
  const bridge = await bridgeInterface(network);
  return { counters: bridge ? await buildRefusalCounters(bridge) : {}, gateway: await networkGateway(network) };
}

/**
 * `docker build` with the legacy builder, in `sandbox` when given. Its output is read as it comes and bounded
 * (`output`, default ACTIVITY_POLICY.buildOutput): past the cap the build is stopped (the docker client is
 * terminated; the engine then kills and removes the running step's container) and outputCapLine closes the
 * log. A failing step's out-of-memory kill is read from the engine's events, and what the sandbox refused the
 * build from its rules' counters, read before and after it.
 */
export async function buildImage(options: BuildOptions): Promise<BuildResult> {
  const cap = options.output ?? ACTIVITY_POLICY.buildOutput;
  const output = new BoundedOutput(cap);
  const startedS = Math.floor(Date.now() / 1000) - 1;
  const refusalsBefore = options.sandbox ? (await sandboxRefusals(options.sandbox.network)).counters : {};
  const child = execa('docker', buildArgs(options), {
    reject: false,
    buffer: false,
    all: true,
    env: { DOCKER_BUILDKIT: '0' },
    ...(options.signal ? { cancelSignal: options.signal, forceKillAfterDelay: 2000 } : {}),
  });
  let outputCapped = false;
  child.all?.on('data', (chunk: Buffer) => {
    if (output.push(chunk) && !outputCapped) {
      outputCapped = true;
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 5000).unref(); // a client that ignores SIGTERM
    }
  });
  const result = await child;
  const masked = (text: string) => (options.mask ?? []).filter((m) => m.length >= 4).reduce((t, secret) => t.split(secret).join('****'), text);
  let log = masked(output.text());
  const base = { outputBytes: output.total, memoryKilled: false, sandboxRefused: [] as string[] };
  if (outputCapped) {
    log = `${log.replace(/\n?$/, '\n')}${outputCapLine(cap)}\n`;
    const classification = classifyBuildFailure(log, { outputCapped: true });
    return { ok: false, log, ...(classification.step ? { failedStep: classification.step } : {}), infrastructure: false, classification, cancelled: false, outputCapped: true, ...base };
  }
  if (result.exitCode === 0) return { ok: true, log, infrastructure: false, cancelled: false, outputCapped: false, ...base };
  if (result.isCanceled === true) return { ok: false, log, infrastructure: false, cancelled: true, outputCapped: false, ...base };
  const stepContainer = failingStepContainer(log);
  const memoryKilled = stepContainer !== null && (await oomReported(stepContainer, startedS, Math.ceil(Date.now() / 1000) + 1));
  let sandboxRefused: string[] = [];
  if (options.sandbox) {
    const after = await sandboxRefusals(options.sandbox.network);
    sandboxRefused = refusedDestinations(log, refusalsBetween(refusalsBefore, after.counters), after.gateway);
  }
  const classification = classifyBuildFailure(log, {
    memoryKilled,
    sandboxRefused,
    ...(options.sandbox ? { memoryLimit: `${options.sandbox.memory} per build step` } : {}),
  });
  return {
    ok: false,
    log,
    ...(classification.step ? { failedStep: classification.step } : {}),
    infrastructure: classification.category === 'infrastructure',
    classification,
    cancelled: false,
    outputCapped: false,
    ...base,
    memoryKilled,
    sandboxRefused,
  };
}

// ---------------------------------------------------------------------------------------------------
// The build sandbox: a network of its own behind the firewall, step limits, a cgroup parent for pids, and the
// team's build secrets served on the network's gateway for the build's duration.

/** The build argument that carries the secrets endpoint into a Dockerfile (`ARG CHALLENGE_BUILD_SECRETS_URL`). */
export const BUILD_SECRETS_ARG = 'CHALLENGE_BUILD_SECRETS_URL';

/** The gateway address of a docker network (the host's address on its bridge); null when unknown. */
export async function networkGateway(network: string): Promise<string | null> {
  const result = await docker(['network', 'inspect', '--format', '{{range .IPAM.Config}}{{.Gateway}} {{end}}', network]);
  const gateway = (result.stdout ?? '').trim().split(/\s+/).find((g) => /^\d+\.\d+\.\d+\.\d+$/.test(g));
  return result.exitCode === 0 && gateway ? gateway : null;
}

/** The build secrets the operator holds for a team: `<dir>/<team>/<NAME>` files (NAME: letters, digits, `_.-`). */
export function readBuildSecrets(dir: string | null, team: string): Record<string, string> {
  if (!dir) return {};
  const teamDir = path.join(dir, team);
  if (!existsSync(teamDir)) return {};
  const secrets: Record<string, string> = {};
  for (const name of readdirSync(teamDir)) {
    if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(name)) continue;
    const file = path.join(teamDir, name);
    if (statSync(file).isFile()) secrets[name] = readFileSync(file, 'utf8');
  }
  return secrets;
}

/**
 * Serves `secrets` over HTTP on `address` (the build network's gateway) at `/<token>/<NAME>` while a build runs.
 * The token is random per build: the URL a Dockerfile receives is worthless once the build ended.
 */
export async function serveBuildSecrets(address: string, secrets: Record<string, string>): Promise<{ url: string; port: number; requested: string[]; close: () => Promise<void> }> {
  const token = randomBytes(16).toString('hex');
  const requested: string[] = [];
  const server = createServer((request, response) => {
    const m = /^\/([0-9a-f]{32})\/([A-Za-z0-9_.-]+)$/.exec(request.url ?? '');
    const value = m && m[1] === token && request.method === 'GET' && Object.hasOwn(secrets, m[2]!) ? secrets[m[2]!]! : null;
    if (m && m[1] === token) requested.push(m[2]!);
    if (value === null) {
      response.writeHead(404, { 'content-type': 'text/plain' }).end(`no such build secret; this build has: ${Object.keys(secrets).join(', ') || 'none'}\n`);
      return;
    }
    response.writeHead(200, { 'content-type': 'application/octet-stream', 'cache-control': 'no-store' }).end(value);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, address, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://${address}:${port}/${token}`,
    port,
    requested,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Every build sandbox's name starts so: its network, its cgroup (or slice) and, through its bridge, its firewall chain. */
export const BUILD_SANDBOX_PREFIX = 'challenge-build-';

/**
 * The sandbox prefix of one host: its id and its data folder, hashed (test stacks and demos on one engine reuse
 * host ids; one host must not reap another's builds). `challenge-build-<12 hex>-`.
 */
export function hostBuildPrefix(hostId: string, dataDir: string): string {
  return `${BUILD_SANDBOX_PREFIX}${createHash('sha256').update(`${hostId}|${path.resolve(dataDir)}`).digest('hex').slice(0, 12)}-`;
}

export interface OpenBuildSandbox {
  spec: BuildSandbox;
  /** Build arguments every build of this sandbox gets (the secrets endpoint, when the team has secrets). */
  buildArgs: Record<string, string>;
  /** The secret values (masked in the build log). */
  secretValues: string[];
  /** What the platform says about the sandbox at the top of the build log. */
  notes: string[];
  close: () => Promise<void>;
}

/**
 * Sets up the sandbox of one build (network `name`, firewall, cgroup parent, secrets endpoint) and returns
 * how to build in it; `close` takes every piece down again. Throws, having taken down what it made, when a
 * piece cannot be put in place: no build runs outside its sandbox.
 */
export async function openBuildSandbox(options: {
  name: string;
  limits: { memory: string; cpus: number; pids: number };
  egressAllow: readonly EgressAllow[];
  secrets: Record<string, string>;
}): Promise<OpenBuildSandbox> {
  const undo: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const step of undo.reverse()) await step().catch(() => undefined);
    undo.length = 0;
  };
  try {
    await ensureNetwork(options.name, false, { 'build-sandbox': 'true' });
    undo.push(() => removeNetwork(options.name));
    const bridge = await bridgeInterface(options.name);
    if (!bridge) throw new Error(`the build network ${options.name} has no bridge interface`);
    undo.push(() => unsandboxBuildNetwork(bridge));
    await sandboxBuildNetwork(bridge, options.egressAllow);
    const cgroup = await createBuildCgroup(options.name, options.limits.pids);
    undo.push(() => removeBuildCgroup(options.name));
    const notes = [
      `[challenge] build sandbox: network ${options.name} (internet only: no host, private ranges or link-local), ` +
        `${options.limits.memory} memory and ${options.limits.cpus} CPUs per step, ` +
        `${cgroup.parent ? `${options.limits.pids} processes (${describePlan(cgroup.plan, await engineCgroups())})` : 'no process limit'}`,
      ...(cgroup.note ? [`[challenge] ${cgroup.note}`] : []),
    ];
    const buildArgs: Record<string, string> = {};
    const names = Object.keys(options.secrets);
    if (names.length > 0) {
      const gateway = await networkGateway(options.name);
      if (!gateway) throw new Error(`the build network ${options.name} has no gateway address`);
      const served = await serveBuildSecrets(gateway, options.secrets);
      undo.push(served.close);
      undo.push(() => closeHostPortToBuild(bridge, gateway, served.port));
      await openHostPortToBuild(bridge, gateway, served.port);
      buildArgs[BUILD_SECRETS_ARG] = served.url;
      notes.push(`[challenge] build secrets of this team, at $${BUILD_SECRETS_ARG}/<NAME> during the build: ${names.join(', ')}`);
    }
    return {
      spec: { network: options.name, memory: options.limits.memory, cpus: options.limits.cpus, cgroupParent: cgroup.parent },
      buildArgs,
      secretValues: Object.values(options.secrets).flatMap((v) => [v, v.trim()]).filter((v) => v.length >= 4),
      notes,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
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
  /** Size of the tmpfs at /tmp and over each of `imageVolumes` (the track's DiskLimits.tmpfsSize); 256m by default. */
  tmpfsSize?: string;
  /** --shm-size (the track's DiskLimits.shmSize); 64m by default. */
  shmSize?: string;
  /** Docker's log of the container, json-file rotated at maxSize, at most maxFiles files; 10m × 3 by default. */
  log?: { maxSize: string; maxFiles: number };
  /**
   * The VOLUMEs the image declares. Docker would back each with an anonymous volume on the host's disk, writable
   * and unbounded even with a read-only root; each gets a bounded tmpfs instead. runDetached reads them from the
   * image when absent.
   */
  imageVolumes?: string[];
}

/** What a container gets when its RunSpec names no disk limits (the cpu track's values). */
export const DEFAULT_CONTAINER_DISK = { tmpfsSize: '256m', shmSize: '64m', log: { maxSize: '10m', maxFiles: 3 } } as const;

/**
 * The sandbox every submission container runs in. Every place it can write is bounded: the root file system is
 * read-only; /tmp, /dev/shm and the image's VOLUMEs are sized tmpfs mounts (memory, inside the memory limit);
 * Docker's own log of its output is rotated at a fixed size; the only bind mount that reaches the host's disk is
 * the training output, which the host measures against the track's cap while training runs.
 */
export function runArgs(spec: RunSpec): string[] {
  const tmpfsSize = spec.tmpfsSize ?? DEFAULT_CONTAINER_DISK.tmpfsSize;
  const log = spec.log ?? DEFAULT_CONTAINER_DISK.log;
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
    `/tmp:rw,size=${tmpfsSize}`,
    '--shm-size',
    spec.shmSize ?? DEFAULT_CONTAINER_DISK.shmSize,
    '--log-driver',
    'json-file',
    '--log-opt',
    `max-size=${log.maxSize}`,
    '--log-opt',
    `max-file=${log.maxFiles}`,
  ];
  if (spec.readOnlyRoot) args.push('--read-only');
  for (const mount of spec.mounts) args.push('-v', `${mount.host}:${mount.container}:${mount.readOnly ? 'ro' : 'rw'}`);
  const taken = new Set(['/tmp', ...spec.mounts.map((mount) => mount.container.replace(/\/+$/, ''))]);
  for (const volume of spec.imageVolumes ?? []) {
    const target = volume.replace(/\/+$/, '') || '/';
    if (taken.has(target) || target === '/') continue;
    taken.add(target);
    args.push('--tmpfs', `${target}:rw,size=${tmpfsSize}`);
  }
  for (const [key, value] of Object.entries(spec.env ?? {})) args.push('-e', `${key}=${value}`);
  if (spec.gpu !== null) args.push('--gpus', `device=${spec.gpu}`);
  args.push(spec.image);
  return args;
}

export async function runDetached(spec: RunSpec): Promise<string> {
  const imageVolumes = spec.imageVolumes ?? (await declaredVolumes(spec.image));
  const result = await docker(runArgs({ ...spec, imageVolumes }));
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

/** The VOLUME paths an image declares (empty when none, or when the image is not on this engine). */
export async function declaredVolumes(image: string): Promise<string[]> {
  const inspected = await docker(['image', 'inspect', '--format', '{{json .Config.Volumes}}', image]);
  if (inspected.exitCode !== 0) return [];
  try {
    const volumes = JSON.parse((inspected.stdout ?? '').trim() || 'null') as Record<string, unknown> | null;
    return Object.keys(volumes ?? {}).sort();
  } catch {
    return [];
  }
}

/** Docker's root folder (images, containers, their logs) as the engine reports it; null when it does not answer. */
export async function dockerRootDir(): Promise<string | null> {
  const result = await docker(['info', '--format', '{{.DockerRootDir}}']);
  const dir = (result.stdout ?? '').trim();
  return result.exitCode === 0 && dir.startsWith('/') ? dir : null;
}

/** The file Docker writes a container's output to (json-file driver), rotated files beside it; null when none. */
export async function containerLogPath(name: string): Promise<string | null> {
  const result = await docker(['inspect', '--format', '{{.LogPath}}', name]);
  const file = (result.stdout ?? '').trim();
  return result.exitCode === 0 && file.startsWith('/') ? file : null;
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

export async function ensureNetwork(name: string, internal: boolean, labels: Labels = {}): Promise<void> {
  if ((await docker(['network', 'inspect', name])).exitCode === 0) return;
  const created = await docker(['network', 'create', ...(internal ? ['--internal'] : []), ...labelArgs({ managed: 'true', ...labels }), name]);
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

/** One label of a container or a local image; null when there is no such object, or it lacks the label. */
async function labelOf(kind: 'container' | 'image', name: string, key: string): Promise<string | null> {
  const inspected = await docker([kind, 'inspect', '--format', `{{ index .Config.Labels "${LABEL_PREFIX}.${key}" }}`, name]);
  const value = (inspected.stdout ?? '').trim();
  return inspected.exitCode === 0 && value !== '' && value !== '<no value>' ? value : null;
}

export const containerLabel = (name: string, key: string): Promise<string | null> => labelOf('container', name, key);
export const imageLabel = (image: string, key: string): Promise<string | null> => labelOf('image', image, key);

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
