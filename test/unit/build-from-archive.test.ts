/**
 * Builds of uploads from the stored archive (activities/host/build-source.ts): a host that has the accepted
 * tree builds it as it is; one that lacks it, or finds it changed, fetches the archive from a folder artifact
 * store, checks its sha256 and unpacks it under <dataDir>/sources/<sha256>; a missing or altered archive is the
 * platform's failure (BuildInfrastructure). The last test runs the build activity itself against a fake
 * container runtime that records which folder each image was built from.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadRuntimeConfig } from '../../infra/runtime-config.js';
import { createHostActivities } from '../../activities/host.js';
import { resolveBuildContext, sourcesDirOf } from '../../activities/host/build-source.js';
import type { BuildInput, SubmissionSource } from '../../contract/types.js';
import type { FailureDetails } from '../../domain/failures.js';
import { packDirectory } from '../../infra/archive.js';
import { FsArtifactStore } from '../../infra/artifact-store-fs.js';
import type { BuildOptions, BuildResult, OpenBuildSandbox } from '../../infra/docker.js';
import { GpuPool } from '../../infra/gpu-pool.js';
import { sourceDigest } from '../../infra/source-digest.js';
import { FakeContainerRuntime } from '../support/fake-container-runtime.js';
import { writeSubmission } from '../support/team-door.js';

const temporary: string[] = [];
afterAll(() => {
  for (const dir of temporary) rmSync(dir, { recursive: true, force: true });
});

/** An accepted upload: the tree on the accepting host, its archive in the store, and a build host's data folder. */
async function upload() {
  const root = mkdtempSync(path.join(os.tmpdir(), 'build-from-archive-'));
  temporary.push(root);
  const tree = writeSubmission(root, { team: 'acme', submission: 'first' });
  const archive = await packDirectory(tree);
  const sha256 = createHash('sha256').update(archive).digest('hex');
  const artifacts = new FsArtifactStore(path.join(root, 'store'));
  const archiveFile = path.join(root, 'upload.tar.gz');
  writeFileSync(archiveFile, archive);
  const source: SubmissionSource = { archiveKey: `sources/${sha256}.tar.gz`, archiveSha256: sha256, sourceDigest: await sourceDigest(tree) };
  await artifacts.putFile(source.archiveKey, archiveFile);
  const dataDir = path.join(root, 'host-data');
  const input = (directory: string): BuildInput => ({ submissionId: 'acme.first', workflowId: 'wf-1', directory, source });
  return { root, tree, archive, sha256, artifacts, source, dataDir, input };
}

async function failureOf(promise: Promise<unknown>): Promise<FailureDetails & { type: string | undefined | null }> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ApplicationFailure);
    const failure = error as ApplicationFailure;
    return { ...(failure.details?.[0] as FailureDetails), type: failure.type };
  }
  throw new Error('expected a failure');
}

describe('the build context of an upload', () => {
  it('builds a directory without a source as it is', async () => {
    const { tree, dataDir, artifacts } = await upload();
    expect(await resolveBuildContext({ dataDir, artifacts }, { submissionId: 'acme.first', workflowId: 'wf', directory: tree })).toEqual({ directory: tree, digest: null, note: null });
  });

  it('builds the accepted tree where it exists and is unchanged, without touching the store', async () => {
    const { tree, dataDir, artifacts, input, source } = await upload();
    await artifacts.deletePrefix('sources');
    const context = await resolveBuildContext({ dataDir, artifacts }, input(tree));
    expect(context).toEqual({ directory: tree, digest: source.sourceDigest, note: null });
  });

  it('unpacks the stored archive on a host that lacks the tree, and reuses that copy afterwards', async () => {
    const { root, dataDir, artifacts, input, source, sha256 } = await upload();
    const missing = path.join(root, 'elsewhere', 'sources', sha256);
    const context = await resolveBuildContext({ dataDir, artifacts }, input(missing));
    expect(context.directory).toBe(sourcesDirOf(dataDir, sha256));
    expect(context.digest).toBe(source.sourceDigest);
    expect(context.note).toContain(`${missing} is not on this host: building from ${source.archiveKey}`);
    expect(JSON.parse(readFileSync(path.join(context.directory, 'submission.json'), 'utf8'))).toMatchObject({ team: 'acme', submission: 'first' });
    // A retry on this host: the unpacked copy is used, the store is not asked again.
    await artifacts.deletePrefix('sources');
    const again = await resolveBuildContext({ dataDir, artifacts }, input(missing));
    expect(again.directory).toBe(context.directory);
    expect(again.note).toContain('unpacked earlier');
  });

  it('builds from the archive when the accepted tree changed since it was accepted', async () => {
    const { tree, dataDir, artifacts, input, sha256 } = await upload();
    writeFileSync(path.join(tree, 'server.py'), 'print("planted")\n');
    const context = await resolveBuildContext({ dataDir, artifacts }, input(tree));
    expect(context.directory).toBe(sourcesDirOf(dataDir, sha256));
    expect(context.note).toMatch(/changed since the upload was accepted/);
    expect(readFileSync(path.join(context.directory, 'server.py'), 'utf8')).toBe('print("hello")\n');
  });

  it('fails as BuildInfrastructure when the archive is missing from the store or altered', async () => {
    const { root, dataDir, artifacts, input, source } = await upload();
    const missing = path.join(root, 'nowhere');
    const altered = path.join(root, 'altered.tar.gz');
    writeFileSync(altered, await packDirectory(writeSubmission(root, { team: 'acme', submission: 'other' })));
    await artifacts.putFile(source.archiveKey, altered);
    const wrong = await failureOf(resolveBuildContext({ dataDir, artifacts }, input(missing)));
    expect(wrong).toMatchObject({ type: 'BuildInfrastructure', category: 'BuildInfrastructure' });
    expect(wrong.reason).toMatch(new RegExp(`has sha256 [0-9a-f]{64}, not the uploaded ${source.archiveSha256}`));

    await artifacts.deletePrefix('sources');
    const gone = await failureOf(resolveBuildContext({ dataDir, artifacts }, input(missing)));
    expect(gone.category).toBe('BuildInfrastructure');
    expect(gone.reason).toMatch(/is not in the artifact store/);
  });
});

/** Plays the build engine: records each build's context folder and succeeds. */
function recordingBuilds(): { runtime: FakeContainerRuntime; builds: BuildOptions[] } {
  const builds: BuildOptions[] = [];
  const runtime = new FakeContainerRuntime(() => undefined);
  const sandbox: OpenBuildSandbox = {
    spec: { network: 'fake-build-net', memory: '1g', cpus: 1 } as OpenBuildSandbox['spec'],
    buildArgs: {},
    secretValues: [],
    notes: ['(fake sandbox)'],
    close: async () => undefined,
  };
  Object.assign(runtime, {
    openBuildSandbox: async (): Promise<OpenBuildSandbox> => sandbox,
    buildImage: async (options: BuildOptions): Promise<BuildResult> => {
      builds.push(options);
      return { ok: true, log: `built ${path.basename(options.dockerfile)}`, infrastructure: false, cancelled: false, outputCapped: false, outputBytes: 10, memoryKilled: false, sandboxRefused: [] };
    },
  });
  return { runtime, builds };
}

describe('the build activity with a source', () => {
  it('builds both images from the unpacked archive and says so in the build log', async () => {
    const { root, dataDir, artifacts, input, sha256, source } = await upload();
    const config = loadRuntimeConfig({ CHALLENGE_DATA_DIR: dataDir, CHALLENGE_HOST_ID: 'build-host' }, dataDir);
    const { runtime, builds } = recordingBuilds();
    const activities = createHostActivities({ config, track: 'cpu', gpus: new GpuPool(1), db: { answerStore: () => { throw new Error('not used'); } }, artifacts, runtime });
    const env = new MockActivityEnvironment({ attempt: 1 }, { logger: new DefaultLogger('ERROR') });
    const built = await env.run(activities.buildImages, input(path.join(root, 'not-here')));
    const unpacked = sourcesDirOf(dataDir, sha256);
    expect(builds.map((b) => [b.context, path.basename(b.dockerfile)])).toEqual([
      [unpacked, 'Dockerfile.train'],
      [unpacked, 'Dockerfile'],
    ]);
    expect(built).toMatchObject({ sourceDigest: source.sourceDigest, reused: false, hostId: 'build-host' });
    const log = readFileSync(path.join(dataDir, 'logs', 'acme.first', 'build.log'), 'utf8');
    expect(log).toContain(`building from ${source.archiveKey}`);
  });
});
