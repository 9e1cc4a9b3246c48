/**
 * The deployment files checked without pulling an image: `docker compose config` (or docker-compose 1.29)
 * renders docker/compose.yaml with docker/.env.example, and the resolved services are compared with what
 * the code expects (every worker's environment goes through loadRuntimeConfig). The worker Dockerfile's
 * COPY sources must exist in the build context and survive .dockerignore.
 * Needs a Compose command: scripts/ensure-compose.sh installs one.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { SEARCH_ATTRIBUTES } from '../../contract/search-attributes.js';
import { TrackId } from '../../temporal.config.js';
import { loadRuntimeConfig } from '../../infra/runtime-config.js';
import { PROJECT_ROOT } from '../../infra/paths.js';

const DOCKER_DIR = path.join(PROJECT_ROOT, 'docker');
const COMPOSE_FILE = path.join(DOCKER_DIR, 'compose.yaml');
const ENV_EXAMPLE = path.join(DOCKER_DIR, '.env.example');

// Only what the assertions read; the rest of each service passes through untouched.
const Service = z
  .object({
    image: z.string().optional(),
    command: z.union([z.array(z.string()), z.string()]).nullish(),
    entrypoint: z.union([z.array(z.string()), z.string()]).nullish(),
    environment: z.record(z.string(), z.union([z.string(), z.null()])).nullish(),
    network_mode: z.string().optional(),
    volumes: z.array(z.union([z.string(), z.object({ source: z.string().optional(), target: z.string() })])).nullish(),
    deploy: z
      .object({
        resources: z
          .object({
            reservations: z.object({ devices: z.array(z.object({ driver: z.string().optional(), capabilities: z.array(z.string()) })).optional() }).optional(),
          })
          .optional(),
      })
      .nullish(),
  })
  .loose();
type Service = z.infer<typeof Service>;
const Resolved = z.object({ services: z.record(z.string(), Service) }).loose();

/** `docker compose` (plugin) when the CLI has it, else docker-compose 1.29; null when neither is there. */
function composeCommand(): string[] | null {
  if (spawnSync('docker', ['compose', 'version'], { stdio: 'ignore' }).status === 0) return ['docker', 'compose'];
  if (spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0) return ['docker-compose'];
  return null;
}

/**
 * Renders the compose file with only the given env file: a clean process environment, since Compose lets
 * the caller's variables (AWS_REGION, TEMPORAL_ADDRESS...) override the file's.
 */
function composeConfig(command: string[], envFile: string): { ok: true; json: string } | { ok: false; stderr: string } {
  const [bin, ...pre] = command;
  const plugin = command.length > 1;
  const args = [...pre, '--env-file', envFile, '-f', COMPOSE_FILE, 'config', ...(plugin ? ['--format', 'json'] : [])];
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root' };
  const result = spawnSync(bin!, args, { cwd: DOCKER_DIR, env, encoding: 'utf8' });
  if (result.status !== 0) return { ok: false, stderr: `${result.stderr}${result.stdout}` };
  if (plugin) return { ok: true, json: result.stdout };
  // docker-compose 1.29 only prints YAML; it runs on PyYAML, so python3 has it wherever that command works.
  const json = execFileSync('python3', ['-c', 'import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)'], {
    input: result.stdout,
    encoding: 'utf8',
  });
  return { ok: true, json };
}

const argv = (value: string[] | string | null | undefined): string[] => (Array.isArray(value) ? value : value ? value.split(/\s+/) : []);
const environment = (service: Service): Record<string, string> =>
  Object.fromEntries(Object.entries(service.environment ?? {}).map(([key, value]) => [key, value ?? '']));
const mounts = (service: Service): { source: string; target: string }[] =>
  (service.volumes ?? []).map((volume) => {
    if (typeof volume !== 'string') return { source: volume.source ?? '', target: volume.target };
    const [source = '', target = ''] = volume.split(':');
    return { source, target };
  });

describe('docker/compose.yaml', () => {
  let compose: string[];
  let services: Record<string, Service>;
  /** Services that run this project's image: the orchestrator, the web page and the GPU hosts. */
  let challenge: [string, Service][];

  beforeAll(() => {
    const command = composeCommand();
    if (!command) throw new Error('neither `docker compose` nor `docker-compose` is installed: run scripts/ensure-compose.sh');
    compose = command;
    const rendered = composeConfig(command, ENV_EXAMPLE);
    if (!rendered.ok) throw new Error(`${command.join(' ')} config rejected ${COMPOSE_FILE} with ${ENV_EXAMPLE}:\n${rendered.stderr}`);
    services = Resolved.parse(JSON.parse(rendered.json)).services;
    challenge = Object.entries(services).filter(([, service]) => service.image?.startsWith('challenge/worker'));
  }, 60_000);

  it('has the production layout', () => {
    expect(Object.keys(services).sort()).toEqual(
      ['gpu-host-a100', 'minio', 'minio-setup', 'orchestrator', 'postgresql', 'temporal', 'temporal-schema', 'temporal-setup', 'temporal-ui', 'web'].sort(),
    );
    expect(challenge.map(([name]) => name).sort()).toEqual(['gpu-host-a100', 'orchestrator', 'web']);
    expect(environment(services.temporal!)).toMatchObject({ DB: 'postgres12', POSTGRES_SEEDS: 'postgresql' });
    expect(environment(services['temporal-ui']!).TEMPORAL_ADDRESS).toBe('temporal:7233');
  });

  it('starts each process from a compiled entry point that exists', () => {
    const entry = (name: string) => argv(services[name]!.command)[0]!;
    expect(entry('orchestrator')).toBe('dist/workers/orchestrator.js');
    expect(argv(services.web!.command).slice(0, 2)).toEqual(['dist/cli/challenge.js', 'serve']);
    for (const [name] of challenge) expect({ name, exists: existsSync(path.join(PROJECT_ROOT, entry(name))) }).toEqual({ name, exists: true });
    const gpu = argv(services['gpu-host-a100']!.command);
    expect(gpu[0]).toBe('dist/workers/gpu-host.js');
    expect(TrackId.parse(gpu[gpu.indexOf('--track') + 1])).toBe('a100-40gb');
  });

  it('reserves the GPUs for the GPU host and gives it the host engine and network', () => {
    const gpu = services['gpu-host-a100']!;
    const devices = gpu.deploy?.resources?.reservations?.devices ?? [];
    expect(devices).toEqual([expect.objectContaining({ driver: 'nvidia', capabilities: ['gpu'] })]);
    expect(mounts(gpu)).toEqual(expect.arrayContaining([{ source: '/var/run/docker.sock', target: '/var/run/docker.sock' }]));
    // Paths handed to `docker run -v` are resolved by the host's engine: the data folder has one path on both sides.
    const data = mounts(gpu).find((mount) => mount.target === environment(gpu).CHALLENGE_DATA_DIR);
    expect(data?.source).toBe(data?.target);
    expect(gpu.network_mode).toBe('host');
  });

  it('gives every challenge process the database, the cluster and a distinct host id', () => {
    for (const [name, service] of challenge) {
      const env = environment(service);
      expect({ name, DATABASE_URL: env.DATABASE_URL, TEMPORAL_ADDRESS: env.TEMPORAL_ADDRESS }).toEqual({
        name,
        DATABASE_URL: expect.stringMatching(/^postgresql:\/\//),
        TEMPORAL_ADDRESS: expect.stringMatching(/:7233$/),
      });
    }
    const hostIds = challenge.map(([, service]) => environment(service).CHALLENGE_HOST_ID);
    expect(hostIds.every(Boolean)).toBe(true);
    expect(new Set(hostIds).size).toBe(hostIds.length);
  });

  it('sets only environments that loadRuntimeConfig accepts', () => {
    for (const [name, service] of challenge) {
      const env = environment(service);
      let config;
      try {
        config = loadRuntimeConfig(env, '/app');
      } catch (error) {
        throw new Error(`service ${name}: ${(error as Error).message}`);
      }
      expect(config.hostId).toBe(env.CHALLENGE_HOST_ID);
      expect(config.temporal.tls).toBeNull();
      expect(config.databaseUrl).toBe(env.DATABASE_URL);
      expect(config.artifactStore).toMatchObject({ kind: 's3', bucket: 'challenge-artifacts', forcePathStyle: true });
      expect(config.dataDir).toBe('/var/lib/challenge');
    }
  });

  it('registers exactly the search attributes the workflows set', () => {
    const script = argv(services['temporal-setup']!.command).join(' ');
    const names = /for name in ([^;]+);/.exec(script)?.[1]?.trim().split(/\s+/) ?? [];
    expect(names.sort()).toEqual(Object.keys(SEARCH_ATTRIBUTES).sort());
    expect(new Set(Object.values(SEARCH_ATTRIBUTES))).toEqual(new Set(['Keyword']));
    expect(script).toContain('--type Keyword');
  });

  it('refuses to render without the secrets, naming the missing variable', () => {
    const empty = path.join(mkdtempSync(path.join(os.tmpdir(), 'compose-env-')), 'empty.env');
    writeFileSync(empty, '');
    const rendered = composeConfig(compose, empty);
    expect(rendered.ok).toBe(false);
    if (!rendered.ok) expect(rendered.stderr).toMatch(/set (TEMPORAL_DB_PASSWORD|CHALLENGE_DB_PASSWORD|ARTIFACT_STORE_\w+) in docker\/\.env/);
  }, 30_000);

  it('ships placeholders only in .env.example', () => {
    const secrets = readFileSync(ENV_EXAMPLE, 'utf8')
      .split('\n')
      .filter((line) => /^\w*(PASSWORD|SECRET\w*)=/.test(line));
    expect(secrets.length).toBeGreaterThan(0);
    for (const line of secrets) expect(line).toMatch(/=change-me/);
    expect(readFileSync(ENV_EXAMPLE, 'utf8')).toMatch(/^TEMPORAL_API_KEY=$/m);
  });
});

describe('docker/worker/Dockerfile', () => {
  const dockerfile = readFileSync(path.join(DOCKER_DIR, 'worker', 'Dockerfile'), 'utf8');
  // Instructions with their continuation lines joined, comments dropped.
  const instructions = dockerfile
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const [keyword = '', ...rest] = line.split(/\s+/);
      return { keyword: keyword.toUpperCase(), args: rest };
    });
  const ignored = readFileSync(path.join(PROJECT_ROOT, '.dockerignore'), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));

  it('copies only files that exist in the build context (the repository root) and are not ignored', () => {
    const copies = instructions.filter((i) => i.keyword === 'COPY' && !i.args.some((arg) => arg.startsWith('--from=')));
    expect(copies.length).toBeGreaterThan(0);
    for (const copy of copies) {
      const sources = copy.args.filter((arg) => !arg.startsWith('--')).slice(0, -1);
      for (const source of sources) {
        expect({ source, exists: existsSync(path.join(PROJECT_ROOT, source)) }).toEqual({ source, exists: true });
        expect({ source, ignored: ignored.includes(source.replace(/^\.\//, '').replace(/\/$/, '')) }).toEqual({ source, ignored: false });
      }
    }
  });

  it('copies every folder tsconfig.json compiles and the lock file npm ci needs, before the RUN that uses them', () => {
    const tsconfig = z.object({ include: z.array(z.string()) }).parse(JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'tsconfig.json'), 'utf8')));
    const copied: string[] = [];
    let compiled = false;
    for (const instruction of instructions) {
      if (instruction.keyword === 'FROM') copied.length = 0;
      if (instruction.keyword === 'COPY' && !instruction.args.some((arg) => arg.startsWith('--from='))) copied.push(...instruction.args.slice(0, -1));
      if (instruction.keyword !== 'RUN') continue;
      const run = instruction.args.join(' ');
      if (/\bnpm ci\b/.test(run)) expect(copied).toEqual(expect.arrayContaining(['package.json', 'package-lock.json']));
      if (/\btsc -p tsconfig\.json\b/.test(run)) {
        compiled = true;
        expect(copied).toEqual(expect.arrayContaining(['tsconfig.json', ...tsconfig.include]));
      }
    }
    expect(compiled).toBe(true);
  });

  it('runs node with the orchestrator by default, from the compiled output', () => {
    const entrypoint = instructions.filter((i) => i.keyword === 'ENTRYPOINT').at(-1);
    const cmd = instructions.filter((i) => i.keyword === 'CMD').at(-1);
    expect(
      z
        .array(z.string())
        .parse(JSON.parse(entrypoint?.args.join(' ') ?? 'null'))
        .at(-1),
    ).toBe('node');
    const command = z.array(z.string()).parse(JSON.parse(cmd?.args.join(' ') ?? 'null'));
    expect(command).toEqual(['dist/workers/orchestrator.js']);
    expect(existsSync(path.join(PROJECT_ROOT, command[0]!))).toBe(true);
    expect(instructions.filter((i) => i.keyword === 'FROM').map((i) => i.args[0])).toEqual(expect.arrayContaining(['node:20-bookworm-slim']));
  });
});
