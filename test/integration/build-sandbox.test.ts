/**
 * The build sandbox, with real builds (Docker's legacy builder) as an attacker and as an ordinary participant
 * would write them. Each case records what was injected, what the system did and what was lost in
 * test-artifacts/fault-report.md, in a section of its own (test/support/fault-report.ts).
 *
 *  - the sandbox's pieces (infra/docker.ts openBuildSandbox): a build network behind the firewall, the track's
 *    memory and CPU limits on every step, a pids limit on the whole build, a connection to the metadata service
 *    refused by the sandbox's own rule (its counter moves), and nothing left behind once it is closed;
 *  - through the real pipeline (Temporal dev server, orchestrator and host worker): a RUN step that tries a
 *    listener on the host, a pinned `pip install` from PyPI, a build secret used the recommended way, a step
 *    past the track's build memory (OutOfMemory naming the step), and a step printing past the output cap (its
 *    own reason, a bounded stored log).
 *
 * Only loopback, PyPI (through the machine's egress) and the gateway of the build networks the tests make are
 * contacted; 169.254.169.254 only as one bounded attempt that the sandbox refuses.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execa } from 'execa';
import { createHash, randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ACTIVITY_POLICY, TRACKS } from '../../temporal.config.js';
import { PROJECT_ROOT, llmBaseImage } from '../../infra/paths.js';
import * as dockerRuntime from '../../infra/docker.js';
import { buildChainCounters, buildChainName } from '../../infra/firewall.js';
import { buildCgroupDirs, describePlan, engineCgroups, planBuildCgroup } from '../../infra/build-cgroup.js';
import { ResultsDb, type StageRecord } from '../../infra/results-db.js';
import { submit } from '../../operations/pipelines.js';
import type { PipelineState } from '../../contract/pipeline.js';
import { startStack, type Stack } from '../support/stack.js';
import { FaultReport, leakedColumn } from '../support/fault-report.js';

const report = new FaultReport('build-sandbox');
const fixture = (name: string) => path.join(PROJECT_ROOT, 'test', 'fixtures', name);
const LLM_BASE = llmBaseImage();
const BUILD = TRACKS.cpu.build;
const CAP = ACTIVITY_POLICY.buildOutput;
const MiB = 1024 * 1024;
const scratch = mkdtempSync(path.join(os.tmpdir(), 'build-sandbox-'));

const iptablesRules = async () => (await execa('iptables', ['-w', '-S'], { reject: false })).stdout;
const networkExists = async (name: string) => (await execa('docker', ['network', 'inspect', name], { reject: false })).exitCode === 0;
const containerExists = async (id: string) => (await execa('docker', ['container', 'inspect', id], { reject: false })).exitCode === 0;

/** The process limit of build `name` as the engine's hierarchy holds it: pids.max (cgroupfs) or the slice's TasksMax (systemd). */
async function processLimitOf(name: string): Promise<{ limit: string; where: string }> {
  const cgroups = await engineCgroups();
  const plan = planBuildCgroup(name, cgroups);
  const where = describePlan(plan, cgroups);
  if (plan.kind === 'systemd-slice') return { limit: (await execa('systemctl', ['show', '-p', 'TasksMax', '--value', plan.unit])).stdout.trim(), where };
  if (plan.kind === 'none') return { limit: 'none', where };
  return { limit: readFileSync(path.join(plan.dir, 'pids.max'), 'utf8').trim(), where };
}

afterAll(() => {
  const file = report.write();
  console.log(`fault report: ${file}\n${readFileSync(file, 'utf8')}`);
  rmSync(scratch, { recursive: true, force: true });
});

describe('the sandbox of one build', () => {
  const name = `challenge-build-test-${process.pid}`;
  const tag = `challenge-test/build-sandbox-pieces:${process.pid}`;
  let sandbox: dockerRuntime.OpenBuildSandbox | null = null;

  afterAll(async () => {
    await sandbox?.close();
    await execa('docker', ['rmi', '-f', tag], { reject: false });
  });

  it('limits every step (memory, CPU), bounds the processes of the build, refuses the metadata service, and leaves nothing behind', async () => {
    sandbox = await dockerRuntime.openBuildSandbox({ name, limits: BUILD, egressAllow: [], secrets: {} });
    const bridge = (await dockerRuntime.bridgeInterface(name))!;
    const chain = buildChainName(bridge);
    const rules = await iptablesRules();
    expect(rules).toContain(`-A DOCKER-USER -i ${bridge} -m conntrack --ctstate NEW -j ${chain}`);
    expect(rules).toContain(`-A INPUT -i ${bridge} -m conntrack --ctstate NEW -j DROP`);
    for (const range of ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '169.254.0.0/16']) {
      expect(rules).toContain(`-A ${chain} -d ${range} -j REJECT --reject-with icmp-admin-prohibited`);
    }
    const cgroups = await engineCgroups();
    const plan = planBuildCgroup(name, cgroups);
    expect(plan.kind).not.toBe('none');
    expect(sandbox.spec).toMatchObject({ network: name, memory: BUILD.memory, cpus: BUILD.cpus, cgroupParent: plan.kind === 'none' ? null : plan.parent });
    const processLimit = await processLimitOf(name);
    expect(processLimit.limit).toBe(String(BUILD.pids));
    // The test reads whichever hierarchy the engine uses; a machine has one, so the others are not exercised here.
    console.log(`build-sandbox: this machine's Docker engine has one hierarchy, ${processLimit.where}; the step limits are read from it`);

    const context = path.join(scratch, 'pieces');
    mkdirSync(context, { recursive: true });
    writeFileSync(
      path.join(context, 'probe.py'),
      [
        'import socket, subprocess, time',
        'import os',
        'def read(*files):',
        '    return " ".join(open(f).read().strip() for f in files)',
        'v2 = os.path.exists("/sys/fs/cgroup/cgroup.controllers")  # the step sees its own cgroup: v2 unified, or v1 controllers',
        'print("PROBE memory", read("/sys/fs/cgroup/memory.max") if v2 else read("/sys/fs/cgroup/memory/memory.limit_in_bytes"), flush=True)',
        'print("PROBE cpu", read("/sys/fs/cgroup/cpu.max") if v2 else read("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "/sys/fs/cgroup/cpu/cpu.cfs_period_us"), flush=True)',
        'started = time.monotonic()',
        'try:',
        '    socket.create_connection(("169.254.169.254", 80), timeout=3).close()',
        '    print("PROBE metadata REACHED", flush=True)',
        'except OSError as error:',
        '    print(f"PROBE metadata refused after {time.monotonic() - started:.2f} s: {error!r}", flush=True)',
        'children = []',
        'try:',
        '    for _ in range(1000):',
        '        children.append(subprocess.Popen(["sleep", "30"]))',
        'except OSError as error:',
        '    print(f"PROBE pids stopped at {len(children)} processes: {error!r}", flush=True)',
        'for child in children:',
        '    child.kill()',
        'print(f"PROBE pids started {len(children)}", flush=True)',
        '',
      ].join('\n'),
    );
    writeFileSync(path.join(context, 'Dockerfile'), 'FROM challenge/base:bookworm-python3\nCOPY probe.py /probe.py\nRUN python3 /probe.py\n');
    const started = Date.now();
    const result = await dockerRuntime.buildImage({
      context,
      dockerfile: path.join(context, 'Dockerfile'),
      tag,
      labels: { stage: 'test' },
      sandbox: sandbox.spec,
    });
    const tookMs = Date.now() - started;
    expect(result.log).toMatch(/PROBE pids started \d+/);
    expect(result.ok).toBe(true);
    const bytes = (value: string) => Number(value.replace(/g$/, '')) * 1024 ** 3;
    expect(result.log).toContain(`PROBE memory ${bytes(BUILD.memory)}`);
    expect(result.log).toContain(`PROBE cpu ${BUILD.cpus * 100_000} 100000`);
    const metadata = /PROBE metadata refused after ([\d.]+) s: (.*)/.exec(result.log);
    expect(metadata).not.toBeNull();
    expect(Number(metadata![1])).toBeLessThan(1); // refused at once, not left to time out
    expect(metadata![2]).toMatch(/No route to host|Errno 113/);
    const counters = await buildChainCounters(bridge);
    expect(counters['169.254.0.0/16']).toBeGreaterThanOrEqual(1); // refused by the sandbox's own rule
    const pids = Number(/PROBE pids started (\d+)/.exec(result.log)![1]);
    expect(pids).toBeLessThan(BUILD.pids);
    expect(result.log).toMatch(/PROBE pids stopped at \d+ processes: .*(Resource temporarily unavailable|Errno 11)/);

    await sandbox.close();
    sandbox = null;
    expect(await networkExists(name)).toBe(false);
    const after = await iptablesRules();
    expect(after).not.toContain(bridge);
    expect(after).not.toContain(chain);
    expect(buildCgroupDirs(name)).toEqual([]);
    if (plan.kind === 'systemd-slice') expect((await execa('systemctl', ['is-active', plan.unit], { reject: false })).stdout.trim()).not.toBe('active');
    const leftNetworks = (await networkExists(name)) ? 1 : 0;
    const leftRules = after.split('\n').filter((line) => line.includes(bridge) || line.includes(chain)).length;
    report.add({
      fault: 'build sandbox: limits and the metadata service',
      injected: `a RUN step reading its cgroup limits, connecting once to 169.254.169.254:80, starting 1000 processes`,
      systemDid:
        `step memory ${BUILD.memory} and ${BUILD.cpus} CPUs; metadata refused by the sandbox's REJECT rule (${counters['169.254.0.0/16']} packet) in ` +
        `${metadata![1]} s; processes stopped at ${pids} (${processLimit.where}: ${BUILD.pids})`,
      lost: leakedColumn([
        { what: 'build networks left after close', count: leftNetworks },
        { what: 'iptables rules or chains of its bridge left', count: leftRules },
        { what: 'cgroup directories left', count: buildCgroupDirs(name).length },
      ]),
      measured: `build ${(tookMs / 1000).toFixed(1)} s`,
    });
  }, 180_000);
});

describe('builds through the pipeline', () => {
  const SECRET = `hf_${randomBytes(20).toString('hex')}`;
  const secretsDir = path.join(scratch, 'secrets');
  let stack: Stack;
  let db: ResultsDb;
  let listener: net.Server;
  let listenerPort = 0;
  const connections: string[] = [];
  const results: Record<string, PipelineState> = {};
  const stages: Record<string, StageRecord[]> = {};
  const ids: Record<string, string> = {};
  const workflowIds: Record<string, string> = {};
  const tookMs: Record<string, number> = {};
  const stage = (name: string, stageName: string) => stages[name]!.find((s) => s.stage === stageName)!;
  const buildLog = (name: string) => path.join(stack.config.dataDir, 'logs', ids[name]!, 'build.log');
  const CASES = ['build-sandbox-probe', 'build-sandbox-pip', 'build-sandbox-secret', 'build-sandbox-oom', 'build-sandbox-flood'];

  beforeAll(async () => {
    // A listener on every address of the host: a build step must not reach it through its gateway.
    listener = net.createServer((socket) => {
      connections.push(`${socket.remoteAddress}:${socket.remotePort}`);
      socket.destroy();
    });
    await new Promise<void>((resolve) => listener.listen(0, '0.0.0.0', resolve));
    listenerPort = (listener.address() as net.AddressInfo).port;
    const probe = path.join(scratch, 'build-sandbox-probe');
    cpSync(fixture('build-sandbox-probe'), probe, { recursive: true });
    writeFileSync(path.join(probe, 'Dockerfile.train'), readFileSync(path.join(probe, 'Dockerfile.train'), 'utf8').replaceAll('@PORT@', String(listenerPort)));
    mkdirSync(path.join(secretsDir, 'sandbox-secret'), { recursive: true });
    writeFileSync(path.join(secretsDir, 'sandbox-secret', 'hf_token'), SECRET);

    // Images an interrupted earlier run left would let the steps come from Docker's layer cache: every step must run.
    for (const name of CASES) {
      const manifest = JSON.parse(readFileSync(path.join(fixture(name), 'submission.json'), 'utf8')) as { team: string; submission: string };
      for (const kind of ['train', 'inference'])
        await execa('docker', ['rmi', '-f', `challenge-submissions/${manifest.team}.${manifest.submission}:${kind}`], { reject: false });
    }
    stack = await startStack({ env: { CHALLENGE_BUILD_SECRETS: secretsDir } });
    const directories: Record<string, string> = Object.fromEntries(CASES.map((name) => [name, name === 'build-sandbox-probe' ? probe : fixture(name)]));
    await Promise.all(
      CASES.map(async (name) => {
        const started = Date.now();
        const submitted = await submit(stack.client, stack.config, directories[name]!, {
          heartbeatTimeoutMs: 10_000,
          limits: { build: 300_000, fineTune: 60_000, openEval: 60_000, closedEval: 60_000 },
          buildRetry: { initialIntervalMs: 500, maximumIntervalMs: 1000, maximumAttempts: 2 },
        });
        ids[name] = submitted.submissionId;
        workflowIds[name] = submitted.workflowId;
        results[name] = (await stack.client.workflow.getHandle(submitted.workflowId).result()) as PipelineState;
        tookMs[name] = Date.now() - started;
      }),
    );
    db = new ResultsDb(stack.config.databasePath);
    for (const name of CASES) stages[name] = db.stages(ids[name]!);
  }, 600_000);

  afterAll(async () => {
    db?.close();
    await stack?.stop();
    listener?.close();
    for (const id of Object.values(ids)) {
      for (const kind of ['train', 'inference']) await execa('docker', ['rmi', '-f', `challenge-submissions/${id}:${kind}`], { reject: false });
    }
  });

  it('a RUN step does not reach a listener on the host, and DNS still works', () => {
    const build = stage('build-sandbox-probe', 'build');
    expect(build.outcome).toBe('succeeded'); // probe.py exits 0 only when the connection failed
    const log = readFileSync(buildLog('build-sandbox-probe'), 'utf8');
    const probe = /PROBE host (\S+):(\d+) blocked after ([\d.]+) s: (.*)/.exec(log);
    expect(probe).not.toBeNull();
    expect(Number(probe![2])).toBe(listenerPort);
    expect(log).toMatch(/PROBE dns pypi\.org resolves to \d+\.\d+\.\d+\.\d+/);
    expect(connections).toEqual([]);
    report.add({
      fault: 'build step probes the host',
      injected: `RUN connects to the build network's gateway ${probe![1]}:${listenerPort}, where the test listens on 0.0.0.0`,
      systemDid: `connection dropped by the build network's INPUT rule (${probe![4]}); the listener saw ${connections.length} connections; the build went on`,
      lost: leakedColumn([{ what: 'connections the host listener saw', count: connections.length }]),
      measured: `gave up after ${probe![3]} s (the step's own timeout)`,
    });
  });

  it('a pinned pip install from PyPI still works on the sandboxed build network', () => {
    const build = stage('build-sandbox-pip', 'build');
    expect(build.outcome).toBe('succeeded');
    expect(readFileSync(buildLog('build-sandbox-pip'), 'utf8')).toMatch(/Successfully installed six-1\.16\.0[\s\S]*PROBE six 1\.16\.0/);
    report.add({
      fault: 'ordinary build on the sandboxed network',
      injected: `FROM ${LLM_BASE}; RUN pip install six==1.16.0 from PyPI`,
      systemDid: 'built: PyPI (through the host resolvers and the machine egress) is reachable from the build network',
      lost: leakedColumn([{ what: 'stages of the pipeline that failed', count: stages['build-sandbox-pip']!.filter((s) => s.outcome === 'failed').length }]),
      measured: `pipeline to its end ${(tookMs['build-sandbox-pip']! / 1000).toFixed(1)} s`,
    });
  });

  it('a build secret fetched the recommended way builds, and neither the image, its history nor the stored log holds it', async () => {
    const build = stage('build-sandbox-secret', 'build');
    expect(build.outcome).toBe('succeeded');
    expect(build.details?.preflightWarnings ?? []).toEqual([]); // ARG CHALLENGE_BUILD_SECRETS_URL is the advised way
    const image = `challenge-submissions/${ids['build-sandbox-secret']}:train`;
    const sha = (await execa('docker', ['run', '--rm', '--network', 'none', image, 'cat', '/opt/secret.sha256'])).stdout.trim();
    expect(sha).toBe(createHash('sha256').update(SECRET).digest('hex')); // the secret did arrive in the step
    const history = (await execa('docker', ['history', '--no-trunc', image])).stdout;
    expect(history).toContain('CHALLENGE_BUILD_SECRETS_URL=http://'); // the endpoint (worthless after the build), not the secret
    const saved = await execa('docker', ['save', image], { encoding: 'buffer', maxBuffer: 2 * 1024 ** 3 });
    const savedBytes = Buffer.from(saved.stdout as unknown as Uint8Array);
    const occurrences = (text: string) => text.split(SECRET).length - 1;
    const leaks = [
      { what: 'docker history', count: occurrences(history) },
      { what: 'image config', count: occurrences((await execa('docker', ['image', 'inspect', image])).stdout) },
      { what: 'docker save (every layer)', count: savedBytes.includes(Buffer.from(SECRET)) ? 1 : 0 },
      { what: 'stored build log', count: occurrences(readFileSync(buildLog('build-sandbox-secret'), 'utf8')) },
    ];
    expect(leaks.filter((l) => l.count > 0)).toEqual([]);
    report.add({
      fault: 'build secret',
      injected: 'CHALLENGE_BUILD_SECRETS/<team>/hf_token; the Dockerfile declares ARG CHALLENGE_BUILD_SECRETS_URL and fetches it inside one RUN',
      systemDid: `served it on the build network's gateway for the build only; the step used it (its sha256 matches); ${(savedBytes.length / MiB).toFixed(0)} MiB of image searched`,
      lost: leakedColumn(leaks),
      measured: `pipeline to its end ${(tookMs['build-sandbox-secret']! / 1000).toFixed(1)} s`,
    });
  }, 120_000);

  it(`a step past the track's build memory (${BUILD.memory}) ends as OutOfMemory, naming the step`, () => {
    expect(results['build-sandbox-oom']).toMatchObject({ outcome: 'failed', failureCategory: 'OutOfMemory' });
    const build = stage('build-sandbox-oom', 'build');
    expect(build).toMatchObject({ outcome: 'failed', failureCategory: 'OutOfMemory' });
    expect(build.reason).toMatch(
      new RegExp(
        `^Dockerfile\\.train ran out of memory at "Step 2/\\d+ : RUN python3 -c "data = b'x' \\* \\(3 \\* 1024 \\*\\* 3\\); print\\(len\\(data\\)\\)"": a ` +
          `build step was killed for exceeding the build's memory limit \\(${BUILD.memory} per build step\\): `,
      ),
    );
    expect(build.reason).toMatch(/returned a non-zero code: 137$/);
    expect(build.details?.step).toMatch(/^Step 2\/\d+ : RUN python3 -c "data = b'x'/);
    for (const later of ['fine-tune', 'open-eval', 'closed-eval']) expect(stage('build-sandbox-oom', later).outcome).toBe('skipped');
    report.add({
      fault: 'build step exhausts memory',
      injected: `RUN allocating 3 GiB (the cpu track's builds get ${BUILD.memory} per step, no swap)`,
      systemDid: `the kernel killed the step (exit 137, the engine's oom event); build stage OutOfMemory, charged, not retried: ${build.reason}`,
      lost: leakedColumn([
        { what: 'later stages that ran after the killed step', count: ['fine-tune', 'open-eval', 'closed-eval'].filter((s) => stage('build-sandbox-oom', s).outcome !== 'skipped').length },
      ]),
      measured: `pipeline to its end ${(tookMs['build-sandbox-oom']! / 1000).toFixed(1)} s`,
    });
  });

  it(`a step printing past the output cap (${CAP.capBytes / MiB} MiB) is stopped with its own reason, and its stored log is bounded`, async () => {
    expect(results['build-sandbox-flood']).toMatchObject({ outcome: 'failed', failureCategory: 'BuildFailed' });
    const build = stage('build-sandbox-flood', 'build');
    expect(build.failureCategory).toBe('BuildFailed');
    expect(build.reason).toMatch(
      /^Dockerfile\.train was stopped at "Step 2\/\d+ : RUN python3 -c .*": \[challenge\] the build printed more than 20 MiB; output is capped at 20 MiB per Dockerfile, so the build was stopped/,
    );
    expect(build.details?.attempts).toBeUndefined(); // charged, not retried
    const logFile = buildLog('build-sandbox-flood');
    const size = statSync(logFile).size;
    expect(size).toBeLessThan(CAP.headBytes + CAP.tailBytes + 64 * 1024);
    const log = readFileSync(logFile, 'utf8');
    expect(log).toMatch(/\[challenge\] … .* of build output left out …/); // between the first and the last 10 MiB
    // the stopped step's container is gone (the engine kills and removes it when the client goes away)
    const step = dockerRuntime.failingStepContainer(log);
    expect(step).not.toBeNull();
    const deadline = Date.now() + 15_000;
    while ((await containerExists(step!)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
    expect(await containerExists(step!)).toBe(false);
    report.add({
      fault: 'build step floods its output',
      injected: 'RUN printing 100 MiB',
      systemDid:
        `stopped at the ${CAP.capBytes / MiB} MiB cap (docker client terminated, the step container killed and removed by the engine); BuildFailed, charged: ` +
        `${(build.reason ?? '').slice(0, 160)}…`,
      lost: `the middle of the output: stored log ${(size / MiB).toFixed(1)} MiB (first ${CAP.headBytes / MiB} MiB and last ${CAP.tailBytes / MiB} MiB)`,
      measured: `pipeline to its end ${(tookMs['build-sandbox-flood']! / 1000).toFixed(1)} s`,
    });
  }, 60_000);

  it('leaves no build network, iptables chain or rule, or cgroup of its builds behind', async () => {
    const networks = (await execa('docker', ['network', 'ls', '--format', '{{.Name}}'])).stdout.split('\n');
    for (const workflowId of Object.values(workflowIds)) {
      // activities/host/build.ts names a build's sandbox with the host's prefix, after the workflow and the host's data folder
      const name = `${dockerRuntime.hostBuildPrefix(stack.config.hostId, stack.config.dataDir)}${createHash('sha256')
        .update(`${workflowId}|${path.resolve(stack.config.dataDir)}`)
        .digest('hex')
        .slice(0, 12)}`;
      expect(networks).not.toContain(name);
      expect(buildCgroupDirs(name)).toEqual([]);
    }
    // every build chain left belongs to a bridge that still exists (another stack's build running now)
    const rules = await iptablesRules();
    for (const match of new Set([...rules.matchAll(/CHALLENGE-(br-[0-9a-f]{12})/g)].map((m) => m[1]!))) {
      expect((await execa('ip', ['link', 'show', match], { reject: false })).exitCode).toBe(0);
    }
  });
});
