/**
 * The disk bounds of issue 13, as pure logic: sizes and the track limits (temporal.config.ts), the sandbox's
 * tmpfs and log arguments (infra/docker.ts runArgs), the training output measurement and its cap, the free-disk
 * check, and the folder artifact store's hard links (infra/artifact-store-fs.ts).
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, ftruncateSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { TRACKS, diskLimitsFor, parseBytes, TRACK_IDS } from '../../temporal.config.js';
import { hostDiskLimits } from '../../infra/runtime-config.js';
import { runArgs } from '../../infra/docker.js';
import { FsArtifactStore } from '../../infra/artifact-store-fs.js';
import { checkpointFiles, exceedsCap, freeDiskShortfall, measureFolder, watchFolder } from '../../activities/host.js';

const temporary: string[] = [];
const tmp = (prefix: string, base = os.tmpdir()): string => {
  const dir = mkdtempSync(path.join(base, prefix));
  temporary.push(dir);
  return dir;
};
afterAll(() => {
  for (const dir of temporary) rmSync(dir, { recursive: true, force: true });
});

const pairs = (args: string[], flag: string): string[] => args.flatMap((a, i) => (a === flag ? [args[i + 1]!] : []));

describe('sizes and track limits', () => {
  it('reads sizes the way operators write them', () => {
    expect(parseBytes('200MB')).toBe(200_000_000);
    expect(parseBytes('2GB')).toBe(2_000_000_000);
    expect(parseBytes('2g')).toBe(2 * 1024 ** 3); // Docker's way
    expect(parseBytes('512MiB')).toBe(512 * 1024 ** 2);
    expect(parseBytes('1.5 GB')).toBe(1_500_000_000);
    expect(parseBytes('1234')).toBe(1234);
    expect(parseBytes(42)).toBe(42);
    expect(() => parseBytes('lots')).toThrow(/not a size/);
    expect(() => parseBytes('2 furlongs')).toThrow(/not a size/);
  });

  it('caps every track: 100 GiB of training output on the GPU tracks, 2 GiB on cpu, and a free-disk floor above the cap', () => {
    expect(TRACKS['a100-40gb'].disk.trainingOutputBytes).toBe(100 * 1024 ** 3);
    expect(TRACKS['4090-24gb'].disk.trainingOutputBytes).toBe(100 * 1024 ** 3);
    expect(TRACKS.cpu.disk.trainingOutputBytes).toBe(2 * 1024 ** 3);
    for (const track of TRACK_IDS) {
      const disk = TRACKS[track].disk;
      expect(disk.minFreeBytes).toBeGreaterThan(disk.trainingOutputBytes);
      expect(parseBytes(disk.log.maxSize) * disk.log.maxFiles).toBeLessThanOrEqual(1_000_000_000);
      expect(disk.trainingOutputFiles).toBeGreaterThan(0);
    }
  });

  it('lets a host lower the cap or raise the free-disk floor (the rule takes plain overrides)', () => {
    expect(diskLimitsFor('cpu')).toEqual(TRACKS.cpu.disk);
    const tuned = diskLimitsFor('cpu', { trainingOutputBytes: 200_000_000, minFreeBytes: 1_000_000_000_000 });
    expect(tuned.trainingOutputBytes).toBe(200_000_000);
    expect(tuned.minFreeBytes).toBe(1_000_000_000_000);
    expect(tuned.log).toEqual(TRACKS.cpu.disk.log);
    expect(diskLimitsFor('a100-40gb', { minFreeBytes: 1 })).toEqual({ ...TRACKS['a100-40gb'].disk, minFreeBytes: 1 });
  });

  it("reads a host's overrides from its environment, and names the variable when it cannot read it", () => {
    expect(hostDiskLimits('cpu', {})).toEqual(TRACKS.cpu.disk);
    const tuned = hostDiskLimits('cpu', { CHALLENGE_TRAINING_OUTPUT_CAP: '200MB', CHALLENGE_MIN_FREE_DISK: '1TB' });
    expect(tuned.trainingOutputBytes).toBe(200_000_000);
    expect(tuned.minFreeBytes).toBe(1_000_000_000_000);
    expect(hostDiskLimits('cpu', { CHALLENGE_MIN_FREE_DISK: '' }).minFreeBytes).toBe(TRACKS.cpu.disk.minFreeBytes);
    expect(() => hostDiskLimits('cpu', { CHALLENGE_TRAINING_OUTPUT_CAP: 'big' })).toThrow(/CHALLENGE_TRAINING_OUTPUT_CAP="big": .*200MB/);
  });
});

describe('sandbox arguments bound every writable place', () => {
  const base = {
    name: 'ch-x',
    image: 'img',
    labels: { stage: 'open-eval' },
    memory: '1g',
    cpus: 1,
    pids: 256,
    network: 'n',
    mounts: [{ host: '/a', container: '/artifacts', readOnly: true }],
    gpu: null,
    readOnlyRoot: true,
  };

  it("rotates Docker's own log and sizes /tmp and /dev/shm, with defaults when the caller names none", () => {
    const args = runArgs(base);
    expect(pairs(args, '--log-driver')).toEqual(['json-file']);
    expect(pairs(args, '--log-opt')).toEqual(['max-size=10m', 'max-file=3']);
    expect(pairs(args, '--tmpfs')).toEqual(['/tmp:rw,size=256m']);
    expect(pairs(args, '--shm-size')).toEqual(['64m']);
    expect(args).toContain('--read-only');
  });

  it("uses the track's values and puts a sized tmpfs over each VOLUME the image declares", () => {
    const disk = TRACKS['a100-40gb'].disk;
    const args = runArgs({
      ...base,
      tmpfsSize: disk.tmpfsSize,
      shmSize: disk.shmSize,
      log: disk.log,
      imageVolumes: ['/data', '/cache/', '/artifacts', '/tmp'],
    });
    expect(pairs(args, '--log-opt')).toEqual(['max-size=100m', 'max-file=5']);
    // /artifacts and /tmp are mounted already; the others would be anonymous volumes on the host's disk.
    expect(pairs(args, '--tmpfs')).toEqual(['/tmp:rw,size=8g', '/data:rw,size=8g', '/cache:rw,size=8g']);
    expect(pairs(args, '--shm-size')).toEqual(['8g']);
    expect(args.at(-1)).toBe('img');
  });
});

describe('training output against its cap', () => {
  it('counts bytes on disk and entries, a sparse file at its length, without following links', async () => {
    const dir = tmp('measure-');
    mkdirSync(path.join(dir, 'checkpoints', 'step-1'), { recursive: true });
    writeFileSync(path.join(dir, 'checkpoints', 'step-1', 'weights.bin'), Buffer.alloc(100_000, 1));
    writeFileSync(path.join(dir, 'progress.json'), '{"step":1}');
    const sparse = openSync(path.join(dir, 'sparse.bin'), 'w');
    ftruncateSync(sparse, 50_000_000); // 50 MB long, nothing allocated
    closeSync(sparse);
    const { symlinkSync } = await import('node:fs');
    symlinkSync('/usr', path.join(dir, 'link-to-usr'));
    const usage = await measureFolder(dir);
    expect(usage.files).toBe(6); // checkpoints, step-1, weights.bin, progress.json, sparse.bin, link-to-usr
    expect(usage.bytes).toBeGreaterThanOrEqual(50_000_000 + 100_000);
    expect(usage.bytes).toBeLessThan(50_000_000 + 100_000 + 100_000);
    expect(await measureFolder(path.join(dir, 'missing'))).toEqual({ bytes: 0, files: 0 });
  });

  it('is over the cap past either the bytes or the files', () => {
    const cap = { trainingOutputBytes: 1000, trainingOutputFiles: 10 };
    expect(exceedsCap({ bytes: 1000, files: 10 }, cap)).toBe(false);
    expect(exceedsCap({ bytes: 1001, files: 1 }, cap)).toBe(true);
    expect(exceedsCap({ bytes: 1, files: 11 }, cap)).toBe(true);
  });

  it('watches a folder while it grows', async () => {
    const dir = tmp('watch-');
    const seen: number[] = [];
    const watcher = watchFolder(dir, 20, (usage) => seen.push(usage.bytes));
    await new Promise((r) => setTimeout(r, 60));
    writeFileSync(path.join(dir, 'a.bin'), Buffer.alloc(300_000));
    await new Promise((r) => setTimeout(r, 120));
    await watcher.stop();
    expect(seen[0]).toBe(0);
    expect(seen.at(-1)).toBeGreaterThanOrEqual(300_000);
    expect(watcher.last()?.bytes).toBe(seen.at(-1));
  });

  it("names a declared checkpoint's files, a folder or a single file", () => {
    const folder = checkpointFiles('checkpoints/step-000025/');
    expect(folder('checkpoints/step-000025/model.safetensors')).toBe(true);
    expect(folder('checkpoints/step-000025')).toBe(true);
    expect(folder('checkpoints/step-0000250/model.safetensors')).toBe(false);
    expect(folder('progress.json')).toBe(false);
    expect(checkpointFiles('checkpoints/step-3.json')('checkpoints/step-3.json')).toBe(true);
    expect(checkpointFiles(null)('anything')).toBe(false);
    expect(checkpointFiles('../escape')('../escape/x')).toBe(false);
  });

  it('finds the folder that lacks free space, skipping those it cannot read', async () => {
    const free = await freeDiskShortfall([{ label: 'data folder', dir: os.tmpdir() }], 1);
    expect(free).toBeNull();
    const short = await freeDiskShortfall(
      [
        { label: 'nowhere', dir: '/does/not/exist' },
        { label: 'data folder', dir: os.tmpdir() },
      ],
      Number.MAX_SAFE_INTEGER,
    );
    expect(short).toMatchObject({ label: 'data folder', dir: os.tmpdir() });
    expect(short!.freeBytes).toBeGreaterThan(0);
  });
});

describe('the folder artifact store shares complete files instead of copying them', () => {
  it('hard-links the files declared complete, copies the rest, and keeps the stored copy when the name is replaced', async () => {
    const work = tmp('store-work-');
    const local = path.join(work, 'artifacts');
    const store = new FsArtifactStore(path.join(work, 'store'));
    mkdirSync(path.join(local, 'checkpoints', 'step-1'), { recursive: true });
    writeFileSync(path.join(local, 'checkpoints', 'step-1', 'weights.bin'), 'step one weights');
    writeFileSync(path.join(local, 'progress.json'), '{"step":1,"checkpoint":"checkpoints/step-1"}');
    writeFileSync(path.join(local, 'loss.jsonl'), '{"loss":1}\n');
    const pushed = await store.pushDirectory(local, 'sub/artifacts', { complete: checkpointFiles('checkpoints/step-1') });
    expect(pushed).toMatchObject({ files: 3, uploaded: 3 });
    const inode = (file: string) => statSync(file).ino;
    const stored = (rel: string) => path.join(work, 'store', 'sub', 'artifacts', ...rel.split('/'));
    expect(inode(stored('checkpoints/step-1/weights.bin'))).toBe(inode(path.join(local, 'checkpoints', 'step-1', 'weights.bin')));
    expect(inode(stored('progress.json'))).not.toBe(inode(path.join(local, 'progress.json')));
    expect(inode(stored('loss.jsonl'))).not.toBe(inode(path.join(local, 'loss.jsonl')));
    // No temporary file is left beside what was stored.
    expect(readdirSync(path.dirname(stored('checkpoints/step-1/weights.bin')))).toEqual(['weights.bin']);

    // A writer that replaces a file (write a new one, rename it over) leaves the stored copy as it was.
    writeFileSync(path.join(local, 'checkpoints', 'step-1', 'weights.tmp'), 'rewritten');
    const { renameSync } = await import('node:fs');
    renameSync(path.join(local, 'checkpoints', 'step-1', 'weights.tmp'), path.join(local, 'checkpoints', 'step-1', 'weights.bin'));
    expect(readFileSync(stored('checkpoints/step-1/weights.bin'), 'utf8')).toBe('step one weights');

    // Everything, once training is over: pushed again, the unchanged stored link is kept, changed files linked.
    const final = await store.pushDirectory(local, 'sub/artifacts', { prune: true, complete: () => true });
    expect(final.files).toBe(3);
    expect(inode(stored('checkpoints/step-1/weights.bin'))).toBe(inode(path.join(local, 'checkpoints', 'step-1', 'weights.bin')));
    expect(readFileSync(stored('checkpoints/step-1/weights.bin'), 'utf8')).toBe('rewritten');
    // loss.jsonl was copied while it was not complete; unchanged since, its copy gave way to a link.
    expect(inode(stored('loss.jsonl'))).toBe(inode(path.join(local, 'loss.jsonl')));
    expect(inode(stored('progress.json'))).toBe(inode(path.join(local, 'progress.json')));
    await expect(store.shareFile('sub/artifacts/loss.jsonl', path.join(local, 'loss.jsonl'))).resolves.toBe('unchanged');
    // Read back through the store's own interface, a linked file is an ordinary key.
    expect(await store.getText('sub/artifacts/progress.json')).toBe('{"step":1,"checkpoint":"checkpoints/step-1"}');
    expect((await store.list('sub/artifacts')).map((e) => e.key)).toEqual([
      'sub/artifacts/.manifest.json',
      'sub/artifacts/checkpoints/step-1/weights.bin',
      'sub/artifacts/loss.jsonl',
      'sub/artifacts/progress.json',
    ]);
  });

  it('copies across filesystems (EXDEV), where a link cannot be made', async () => {
    // /dev/shm is a tmpfs of its own where it exists: a link from it to the temporary folder's disk fails.
    if (!existsSync('/dev/shm') || statSync('/dev/shm').dev === statSync(os.tmpdir()).dev) return;
    const local = tmp('store-shm-', '/dev/shm');
    writeFileSync(path.join(local, 'weights.bin'), 'weights');
    const store = new FsArtifactStore(tmp('store-other-'));
    await expect(store.shareFile('x/weights.bin', path.join(local, 'weights.bin'))).resolves.toBe('copied');
    expect(await store.getText('x/weights.bin')).toBe('weights');
    expect(statSync(path.join(store.location, 'x', 'weights.bin')).ino).not.toBe(statSync(path.join(local, 'weights.bin')).ino);
    expect(readdirSync(path.join(store.location, 'x'))).toEqual(['weights.bin']);
  });
});
