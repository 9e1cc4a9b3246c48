/**
 * What a host worker (workers/gpu-host.ts) refuses before it takes any work, against a stand-in engine: a
 * `docker` script first on PATH that answers the questions under test and hands every other command to the real
 * docker CLI. No Temporal server is needed: the refusals come before the worker connects.
 *  - a GPU-track host whose `docker run --gpus device=0` fails does not start (exit 3), quoting the engine;
 *  - a host whose engine cannot give builds a process limit (here: cgroup v2 with the systemd driver on a machine
 *    whose systemd does not answer) does not start (exit 4), naming CHALLENGE_BUILD_NO_PROCESS_LIMIT; with that
 *    variable set it starts and says its builds run without one.
 */
import { describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../../infra/paths.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'host-start-'));
const calls = path.join(dir, 'calls.log');
const GPU_ERROR = 'docker: Error response from daemon: could not select device driver "" with capabilities: [[gpu]].';
const realDocker = (await execa('sh', ['-c', 'command -v docker'])).stdout.trim();
writeFileSync(
  path.join(dir, 'docker'),
  [
    '#!/bin/sh',
    `echo "$*" >> '${calls}'`,
    'case "$*" in',
    `  "run --rm --gpus device=0 "*) echo '${GPU_ERROR}' >&2; exit 125 ;;`,
    '  "info --format {{.CgroupVersion}} {{.CgroupDriver}}") if [ -n "$STANDIN_CGROUPS" ]; then echo "$STANDIN_CGROUPS"; exit 0; fi ;;',
    'esac',
    `exec '${realDocker}' "$@"`,
    '',
  ].join('\n'),
);
chmodSync(path.join(dir, 'docker'), 0o755);

/** Starts a host worker on the stand-in engine; resolves when it exits or prints `until` (then it is stopped). */
async function startHost(track: string, env: Record<string, string>, until?: RegExp) {
  const child = execa(process.execPath, [path.join(PROJECT_ROOT, 'dist/workers/gpu-host.js'), '--track', track], {
    reject: false,
    all: true,
    env: {
      PATH: `${dir}:${process.env.PATH ?? ''}`,
      CHALLENGE_DATA_DIR: path.join(dir, `data-${track}`),
      CHALLENGE_HOST_ID: `start-${track}`,
      TEMPORAL_ADDRESS: '127.0.0.1:9', // nothing listens: a host that got this far would fail to connect
      ...env,
    },
    timeout: 60_000,
  });
  if (until) {
    child.all?.on('data', (chunk: Buffer) => {
      if (until.test(chunk.toString())) child.kill('SIGKILL');
    });
  }
  const result = await child;
  return { exitCode: result.exitCode ?? null, output: String(result.all ?? ''), calls: readFileSync(calls, 'utf8').split('\n').filter(Boolean) };
}

describe('a host worker refuses to start without what its work needs', () => {
  it('a GPU-track host whose `docker run --gpus device=0` fails exits 3, quoting the engine, before any other work', async () => {
    writeFileSync(calls, '');
    const host = await startHost('a100-40gb', {});
    expect(host.exitCode).toBe(3);
    expect(host.output).toContain('track a100-40gb needs GPUs in containers, but `docker run --gpus device=0` failed');
    expect(host.output).toContain(GPU_ERROR);
    expect(host.output).toContain('scripts/ensure-gpu.sh');
    expect(host.calls).toHaveLength(1); // the probe was the only thing asked of the engine
    expect(host.calls[0]).toMatch(/^run --rm --gpus device=0 \S+ true$/);
    expect(host.output).not.toMatch(/ on 127\.0\.0\.1:9/); // never got as far as Temporal
  });

  it('a host whose engine cannot bound the processes of builds exits 4, naming the variable that opts out', async () => {
    writeFileSync(calls, '');
    const host = await startHost('cpu', { STANDIN_CGROUPS: '2 systemd', DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${path.join(dir, 'no-bus')}` });
    expect(host.exitCode).toBe(4);
    expect(host.output).toMatch(/builds cannot be given a process limit on this engine \(cgroup v2, systemd driver: TasksMax of the transient slice challenge_build_probe_\d+\.slice\)/);
    expect(host.output).toContain('set CHALLENGE_BUILD_NO_PROCESS_LIMIT=1 to run builds without a process limit');
    expect(host.calls.some((c) => c.startsWith('network') || c.startsWith('ps'))).toBe(false); // refused before reaping or taking work
  });

  it('with CHALLENGE_BUILD_NO_PROCESS_LIMIT=1 the same host starts, and says its builds run without a process limit', async () => {
    writeFileSync(calls, '');
    const host = await startHost(
      'cpu',
      { STANDIN_CGROUPS: '2 systemd', DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${path.join(dir, 'no-bus')}`, CHALLENGE_BUILD_NO_PROCESS_LIMIT: '1' },
      /build process limit: /,
    );
    expect(host.exitCode).not.toBe(4);
    expect(host.output).toMatch(/CHALLENGE_BUILD_NO_PROCESS_LIMIT=1: builds run without a process limit \(cannot start the systemd slice/);
    expect(host.output).toContain('build process limit: cgroup v2, systemd driver: TasksMax of the transient slice');
  });

  it(`on this machine's engine the process limit is real, and the host says which hierarchy gives it`, async () => {
    const engine = (await execa('docker', ['info', '--format', '{{.CgroupVersion}} {{.CgroupDriver}}'])).stdout.trim();
    writeFileSync(calls, '');
    const host = await startHost('cpu', {}, /build process limit: /);
    const [version, driver] = engine.split(' ');
    expect(host.output).toContain(`build process limit: cgroup v${version}, ${driver} driver: `);
    console.log(`host-start: this machine's Docker engine uses cgroup v${version} with the ${driver} driver only; the other hierarchies are covered by the stand-in engine above`);
  });
});
