/**
 * `challenge check --serve` builds in the pipeline's build sandbox (cli/check.ts): a Dockerfile whose RUN step
 * reaches for the cloud metadata service fails the check with the pipeline's own reason (the sandbox refused
 * 169.254.169.254:80, named from its counters), the sandbox's notes say the step limits and the process limit,
 * and nothing of the sandbox is left afterwards. Outside the sandbox the same step would only time out.
 */
import { describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TRACKS } from '../../temporal.config.js';
import { loadRuntimeConfig } from '../../infra/runtime-config.js';
import { PROJECT_ROOT } from '../../infra/paths.js';
import { checkDirectory } from '../../cli/check.js';

describe('challenge check --serve', () => {
  it("builds in the pipeline's sandbox: a refused connection fails the check naming the destination, and the sandbox is gone afterwards", async () => {
    const dir = path.join(mkdtempSync(path.join(os.tmpdir(), 'check-serve-')), 'metadata-probe');
    cpSync(path.join(PROJECT_ROOT, 'test', 'fixtures', 'build-sandbox-refused'), dir, { recursive: true });
    writeFileSync(
      path.join(dir, 'Dockerfile'),
      'FROM challenge/base:bookworm-python3\nRUN python3 -c "import socket; socket.create_connection((\'169.254.169.254\', 80), timeout=3)"\nCMD ["python3", "-m", "http.server", "80"]\n',
    );
    const config = loadRuntimeConfig({ ...process.env, CHALLENGE_DATA_DIR: path.dirname(dir) });
    const started = Date.now();
    const result = await checkDirectory(config, dir, { serve: true });
    expect(result.ok).toBe(false);
    const violation = result.conformance?.violations[0] ?? '';
    expect(violation).toMatch(/^Dockerfile did not build at "Step 2\/\d+ : RUN python3 -c .*": a build step connected to a destination the build sandbox refuses/);
    expect(violation).toContain('169.254.169.254:80 (link-local, where the cloud instance metadata service (169.254.169.254) answers)');
    const build = TRACKS.cpu.build;
    expect(violation).toContain(`${build.memory} memory and ${build.cpus} CPUs per step, ${build.pids} processes (cgroup v`);
    const networks = (await execa('docker', ['network', 'ls', '--format', '{{.Name}}'])).stdout.split('\n');
    expect(networks).not.toContain(`challenge-build-check-${process.pid}`);
    console.log(`check --serve: refused in ${((Date.now() - started) / 1000).toFixed(1)} s: ${violation}`);
  }, 120_000);
});
