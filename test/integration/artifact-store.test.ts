/**
 * The artifact store contract, run against both implementations: `fs` on a temporary folder and `s3`
 * on a real S3-compatible server (moto, started by scripts/ensure-s3.sh through test/support/s3-server).
 * A "new instance" of a store stands for another host opening the same store.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadRuntimeConfig } from '../../infra/runtime-config.js';
import type { ArtifactStore } from '../../infra/artifact-store.js';
import { openArtifactStore } from '../../infra/open-artifact-store.js';
import { FsArtifactStore } from '../../infra/artifact-store-fs.js';
import { S3ArtifactStore } from '../../infra/artifact-store-s3.js';
import { freePort } from '../../infra/dev-server.js';
import { startS3, type S3Server } from '../support/s3-server.js';

const MiB = 1024 * 1024;
const made: string[] = [];
const tmp = (name: string) => {
  const dir = mkdtempSync(path.join(os.tmpdir(), `store-${name}-`));
  made.push(dir);
  return dir;
};

/** Every regular file under `dir` (symlinks excluded) → its bytes, keyed by relative POSIX path. */
function tree(dir: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  const visit = (folder: string, rel: string) => {
    for (const entry of readdirSync(folder, { withFileTypes: true })) {
      const key = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) visit(path.join(folder, entry.name), key);
      else if (entry.isFile()) files.set(key, readFileSync(path.join(folder, entry.name)));
    }
  };
  visit(dir, '');
  return files;
}

/** A training output folder: nested folders, text and binary files. */
function checkpointFolder(): string {
  const dir = tmp('local');
  mkdirSync(path.join(dir, 'checkpoint-100'), { recursive: true });
  writeFileSync(path.join(dir, 'progress.json'), JSON.stringify({ step: 100 }));
  writeFileSync(path.join(dir, 'checkpoint-100', 'model.safetensors'), randomBytes(200_000));
  writeFileSync(path.join(dir, 'checkpoint-100', 'optimizer.pt'), randomBytes(50_000));
  writeFileSync(path.join(dir, 'checkpoint-100', 'config.json'), '{"layers": 2}');
  writeFileSync(path.join(dir, 'checkpoint-100', '__init__.py'), ''); // empty files exist in real output too
  return dir;
}

interface Backend {
  /** A new store object on the same storage (another host); the first call's storage is fresh. */
  open(): ArtifactStore;
  /** Environment variables that make loadRuntimeConfig name the same storage. */
  env: Record<string, string>;
}

const s3Stores: S3ArtifactStore[] = [];
let server: S3Server | undefined;

const backends: [string, () => Promise<Backend>][] = [
  [
    'fs',
    async () => {
      const root = tmp('fs-root');
      return { open: () => new FsArtifactStore(root), env: { CHALLENGE_ARTIFACT_STORE: root } };
    },
  ],
  [
    's3',
    async () => {
      server ??= await startS3();
      // A store prefix, so that every key is checked to land under it and come back without it.
      const config = await server.freshBucket('contract', 'deploy/store');
      return {
        open: () => {
          // Small parts so that the 12 MiB file below goes through the multipart path.
          const store = new S3ArtifactStore(config, { multipartThresholdBytes: 6 * MiB, partSizeBytes: 5 * MiB });
          s3Stores.push(store);
          return store;
        },
        env: { CHALLENGE_ARTIFACT_STORE: `s3://${config.bucket}/${config.prefix}`, CHALLENGE_S3_ENDPOINT: server.endpoint, AWS_REGION: config.region },
      };
    },
  ],
];

afterAll(() => {
  for (const store of s3Stores) store.destroy();
});

describe.each(backends)('artifact store contract: %s', (kind, makeBackend) => {
  let backend: Backend;
  let store: ArtifactStore;

  beforeAll(async () => {
    backend = await makeBackend();
    store = backend.open();
  }, 300_000); // the first s3 run installs moto (about a minute)

  it('stores text and reads it back; overwriting replaces it', async () => {
    await store.putText('text/notes.txt', 'première ligne\n🚀 second');
    expect(await store.getText('text/notes.txt')).toBe('première ligne\n🚀 second');
    await store.putText('text/notes.txt', 'replaced');
    expect(await store.getText('text/notes.txt')).toBe('replaced');
    expect(await store.getText('text/empty.txt')).toBeNull();
    await store.putText('text/empty.txt', '');
    expect(await store.getText('text/empty.txt')).toBe('');
  });

  it('round-trips binary files byte for byte, including one large enough for a multipart upload', async () => {
    const local = tmp('bin');
    const everyByte = Buffer.from(Array.from({ length: 256 * 4 }, (_, i) => i % 256));
    const large = randomBytes(12 * MiB + 123);
    writeFileSync(path.join(local, 'every-byte.bin'), everyByte);
    writeFileSync(path.join(local, 'large.bin'), large);
    await store.putFile('bin/every-byte.bin', path.join(local, 'every-byte.bin'));
    await store.putFile('bin/large.bin', path.join(local, 'large.bin'));

    const out = tmp('bin-out');
    expect(await store.getFile('bin/every-byte.bin', path.join(out, 'deep', 'er', 'every-byte.bin'))).toBe(true);
    expect(await store.getFile('bin/large.bin', path.join(out, 'large.bin'))).toBe(true);
    expect(readFileSync(path.join(out, 'deep', 'er', 'every-byte.bin')).equals(everyByte)).toBe(true);
    expect(readFileSync(path.join(out, 'large.bin')).equals(large)).toBe(true);
    expect(await store.list('bin')).toEqual([
      { key: 'bin/every-byte.bin', size: everyByte.length },
      { key: 'bin/large.bin', size: large.length },
    ]);
  }, 60_000);

  it('answers null / false for a missing key and writes nothing locally', async () => {
    const out = tmp('missing');
    expect(await store.getText('missing/nothing.txt')).toBeNull();
    expect(await store.getFile('missing/nothing.bin', path.join(out, 'nothing.bin'))).toBe(false);
    expect(existsSync(path.join(out, 'nothing.bin'))).toBe(false);
    // Under what is a file, a key does not exist either.
    await store.putText('missing/file', 'x');
    expect(await store.getText('missing/file/child')).toBeNull();
  });

  it('lists keys recursively, sorted, with sizes, scoped to the prefix as a folder', async () => {
    await store.putText('list/a/z.txt', 'zz');
    await store.putText('list/a/b/deep.txt', 'deep!');
    await store.putText('list/a/B.txt', '1');
    await store.putText('list/ab/other.txt', 'not under a');
    await store.putText('list/a.txt', 'not under a either');
    const expected = [
      { key: 'list/a/B.txt', size: 1 },
      { key: 'list/a/b/deep.txt', size: 5 },
      { key: 'list/a/z.txt', size: 2 },
    ];
    expect(await store.list('list/a')).toEqual(expected);
    expect(await store.list('list/a/')).toEqual(expected);
    expect((await store.list('list')).map((e) => e.key)).toEqual(['list/a.txt', 'list/a/B.txt', 'list/a/b/deep.txt', 'list/a/z.txt', 'list/ab/other.txt']);
    expect(await store.list('list/nothing')).toEqual([]);
    expect(await store.list('list/a.txt')).toEqual([]); // a file is not a folder
  });

  it('rejects keys that could escape the store', async () => {
    for (const key of ['../x', '/x', 'a//b', 'a/../b', './a', 'a\\b', '']) {
      await expect(store.putText(key, 'x')).rejects.toThrow(/not a relative path/);
      await expect(store.getText(key)).rejects.toThrow(/not a relative path/);
    }
    await expect(store.list('../x')).rejects.toThrow(/"\.\.\/x"/);
    await expect(store.deletePrefix('/x')).rejects.toThrow(/not a relative path/);
    await expect(store.pushDirectory(tmp('escape'), '../outside')).rejects.toThrow(/not a relative path/);
  });

  it('never shows a reader half a file while it is being rewritten', async () => {
    const a = 'a'.repeat(2 * MiB);
    const b = 'b'.repeat(2 * MiB);
    await store.putText('atomic/big.txt', a);
    const writes = Promise.all([b, a, b, a].map((text) => store.putText('atomic/big.txt', text)));
    const reads = Promise.all(Array.from({ length: 12 }, () => store.getText('atomic/big.txt')));
    const [, seen] = await Promise.all([writes, reads]);
    for (const text of seen) expect(text === a || text === b).toBe(true);
    expect((await store.list('atomic')).map((e) => e.key)).toEqual(['atomic/big.txt']); // no temporary files left or listed
  }, 60_000);

  it('pushes a folder incrementally and another host pulls an identical tree', async () => {
    const local = checkpointFolder();
    const sizes = [...tree(local).values()].reduce((sum, bytes) => sum + bytes.length, 0);

    const first = await store.pushDirectory(local, 'push/run');
    expect(first).toEqual({ uploaded: 5, files: 5, bytes: sizes });

    expect(await store.pushDirectory(local, 'push/run')).toEqual({ uploaded: 0, files: 5, bytes: 0 });

    appendFileSync(path.join(local, 'progress.json'), '\n{"step": 200}');
    const changedSize = statSync(path.join(local, 'progress.json')).size;
    const second = await store.pushDirectory(local, 'push/run');
    expect(second).toEqual({ uploaded: 1, files: 5, bytes: changedSize });

    // Same size, new modification time (a checkpoint rewritten in place) also counts as changed.
    const config = path.join(local, 'checkpoint-100', 'config.json');
    writeFileSync(config, '{"layers": 3}');
    utimesSync(config, new Date(), new Date(Date.now() + 5000));
    expect((await store.pushDirectory(local, 'push/run')).uploaded).toBe(1);
    expect((await store.pushDirectory(local, 'push/run')).uploaded).toBe(0);

    const manifest = JSON.parse((await store.getText('push/run/.manifest.json')) ?? 'null') as Record<string, { size: number; mtimeMs: number }>;
    expect(Object.keys(manifest).sort()).toEqual([
      'checkpoint-100/__init__.py',
      'checkpoint-100/config.json',
      'checkpoint-100/model.safetensors',
      'checkpoint-100/optimizer.pt',
      'progress.json',
    ]);
    expect(manifest['progress.json']).toEqual({ size: changedSize, mtimeMs: statSync(path.join(local, 'progress.json')).mtimeMs });

    const otherHost = backend.open();
    const restored = tmp('pulled');
    const pulled = await otherHost.pullDirectory('push/run', restored);
    const original = tree(local);
    expect(pulled).toEqual({ files: 5, bytes: [...original.values()].reduce((sum, bytes) => sum + bytes.length, 0) });
    const copy = tree(restored);
    expect([...copy.keys()].sort()).toEqual([...original.keys()].sort()); // the manifest is not restored
    for (const [rel, bytes] of original) expect(copy.get(rel)?.equals(bytes)).toBe(true);
  }, 60_000);

  it('keeps remote files missing locally unless asked to prune', async () => {
    const local = checkpointFolder();
    await store.pushDirectory(local, 'prune/run');
    unlinkSync(path.join(local, 'checkpoint-100', 'optimizer.pt'));

    expect((await store.pushDirectory(local, 'prune/run')).uploaded).toBe(0);
    expect((await store.list('prune/run')).map((e) => e.key)).toContain('prune/run/checkpoint-100/optimizer.pt');

    const pruned = await store.pushDirectory(local, 'prune/run', { prune: true });
    expect(pruned).toEqual({ uploaded: 0, files: 4, bytes: 0 });
    expect((await store.list('prune/run')).map((e) => e.key)).toEqual([
      'prune/run/.manifest.json',
      'prune/run/checkpoint-100/__init__.py',
      'prune/run/checkpoint-100/config.json',
      'prune/run/checkpoint-100/model.safetensors',
      'prune/run/progress.json',
    ]);
  });

  it('skips symbolic links in the pushed folder instead of following them', async () => {
    const outside = tmp('outside');
    writeFileSync(path.join(outside, 'secret.txt'), 'another team’s data');
    const local = tmp('links');
    writeFileSync(path.join(local, 'real.txt'), 'mine');
    symlinkSync(path.join(outside, 'secret.txt'), path.join(local, 'link-to-file.txt'));
    symlinkSync(outside, path.join(local, 'link-to-dir'));
    symlinkSync('/etc/passwd', path.join(local, 'passwd'));

    expect(await store.pushDirectory(local, 'links/run')).toEqual({ uploaded: 1, files: 1, bytes: 4 });
    expect((await store.list('links/run')).map((e) => e.key)).toEqual(['links/run/.manifest.json', 'links/run/real.txt']);
  });

  it('deletes everything under a prefix and nothing beside it', async () => {
    await store.putText('del/a/1.txt', '1');
    await store.putText('del/a/deep/2.txt', '2');
    await store.putText('del/ab/3.txt', '3');
    expect(await store.deletePrefix('del/a')).toBe(2);
    expect(await store.list('del/a')).toEqual([]);
    expect(await store.getText('del/a/1.txt')).toBeNull();
    expect((await store.list('del')).map((e) => e.key)).toEqual(['del/ab/3.txt']);
    expect(await store.deletePrefix('del/a')).toBe(0);
  });

  it('is the store loadRuntimeConfig and openArtifactStore make from the environment', async () => {
    const config = loadRuntimeConfig({ ...backend.env, CHALLENGE_DATA_DIR: tmp('data') });
    expect(config.artifactStore.kind).toBe(kind);
    const fromEnv = await openArtifactStore(config.artifactStore);
    if (fromEnv instanceof S3ArtifactStore) s3Stores.push(fromEnv);
    await fromEnv.putText('env/written-through-env.txt', 'hello from the environment');
    // Another host with its own store object sees it: both name the same storage.
    expect(await backend.open().getText('env/written-through-env.txt')).toBe('hello from the environment');
    expect(fromEnv.location).toBe(store.location);
  });
});

describe('s3 artifact store: configuration mistakes', () => {
  beforeAll(async () => {
    server ??= await startS3();
  }, 300_000);

  it('lands keys under the configured prefix of the bucket', async () => {
    const config = await server!.freshBucket('layout');
    const env = loadRuntimeConfig({
      CHALLENGE_ARTIFACT_STORE: `s3://${config.bucket}/team/run-1/`,
      CHALLENGE_S3_ENDPOINT: server!.endpoint,
      CHALLENGE_DATA_DIR: tmp('data'),
    });
    expect(env.artifactStore).toEqual({
      kind: 's3',
      bucket: config.bucket,
      prefix: 'team/run-1',
      endpoint: server!.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
    });
    const prefixed = (await openArtifactStore(env.artifactStore)) as S3ArtifactStore;
    const whole = new S3ArtifactStore(config); // prefix ""
    s3Stores.push(prefixed, whole);
    await prefixed.putText('logs/build.log', 'ok');
    expect(prefixed.location).toBe(`s3://${config.bucket}/team/run-1`);
    expect(await whole.list('team')).toEqual([{ key: 'team/run-1/logs/build.log', size: 2 }]);
    expect(await prefixed.list('logs')).toEqual([{ key: 'logs/build.log', size: 2 }]);
  });

  it('names the bucket when it does not exist, for reads as well as writes', async () => {
    const config = await server!.freshBucket('exists');
    const store = new S3ArtifactStore({ ...config, bucket: 'no-such-bucket-for-the-challenge', prefix: 'p' });
    s3Stores.push(store);
    await expect(store.putText('a.txt', 'x')).rejects.toThrow(
      /s3:\/\/no-such-bucket-for-the-challenge\/p.*bucket "no-such-bucket-for-the-challenge" does not exist/,
    );
    // A missing bucket is not a missing key: reading must fail, not answer null.
    await expect(store.getText('a.txt')).rejects.toThrow(/no-such-bucket-for-the-challenge/);
    await expect(store.list('')).rejects.toThrow(/no-such-bucket-for-the-challenge/);
  });

  it('says to check CHALLENGE_S3_ENDPOINT when the endpoint does not answer', async () => {
    const endpoint = `http://127.0.0.1:${await freePort()}`;
    const store = new S3ArtifactStore({ kind: 's3', bucket: 'some-bucket', prefix: '', endpoint, region: 'us-east-1', forcePathStyle: true });
    s3Stores.push(store);
    await expect(store.getText('a.txt')).rejects.toThrow(new RegExp(`s3://some-bucket \\(endpoint ${endpoint}\\).*CHALLENGE_S3_ENDPOINT`));
  }, 30_000);
});

afterAll(() => {
  // Temporary folders only; the S3 server stays up for the next run (ensure-s3.sh reuses it).
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});
