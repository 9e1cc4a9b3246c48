/**
 * infra/archive.ts: uploaded archives are unpacked only inside a fresh staging folder, and every hostile
 * archive (built here with test/support/archive-writers.ts, independent of the readers) is refused with its
 * own code, leaving nothing behind: the staging root is empty after a refusal and a canary beside it is
 * untouched. packDirectory gives the same bytes for the same tree, honours .dockerignore, and round-trips.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { createGunzip, deflateRawSync, gzipSync } from 'node:zlib';
import { ArchiveRejected, extractArchive, packDirectory, type ArchiveLimits } from '../../infra/archive.js';
import { PROJECT_ROOT } from '../../infra/paths.js';
import { paxEntry, tar, tarGz, tarHeader, zip, type TarEntry } from '../support/archive-writers.js';

const LIMITS: ArchiveLimits = { maxFiles: 50, maxUncompressedBytes: 10 * 1024 * 1024 };
const MANIFEST = '{"schemaVersion": 1}\n';
const CANARY = 'the canary beside the staging root\n';

let workspace: string;
let stagingRoot: string;

beforeEach(() => {
  workspace = mkdtempSync(path.join(tmpdir(), 'archive-test-'));
  stagingRoot = path.join(workspace, 'staging');
  mkdirSync(stagingRoot);
  writeFileSync(path.join(workspace, 'canary.txt'), CANARY);
});

afterEach(() => rmSync(workspace, { recursive: true, force: true }));

/** Every path under `directory`, relative, '/'-separated, sorted; folders end with '/'. */
function listTree(directory: string): string[] {
  return readdirSync(directory, { recursive: true, withFileTypes: true })
    .map((entry) => {
      const relative = path.relative(directory, path.join(entry.parentPath, entry.name)).split(path.sep).join('/');
      return entry.isDirectory() ? `${relative}/` : relative;
    })
    .sort();
}

/** A file's sha256, to compare contents (jest compares large buffers byte by byte, slowly). */
const digestOf = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

async function refusal(bytes: Buffer, limits: ArchiveLimits = LIMITS): Promise<ArchiveRejected> {
  let caught: unknown;
  try {
    await extractArchive(bytes, stagingRoot, limits);
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(ArchiveRejected);
  // Nothing is left behind: the staging root is empty, its parent holds only it and the untouched canary.
  expect(listTree(stagingRoot)).toEqual([]);
  expect(listTree(workspace)).toEqual(['canary.txt', 'staging/']);
  expect(readFileSync(path.join(workspace, 'canary.txt'), 'utf8')).toBe(CANARY);
  return caught as ArchiveRejected;
}

async function expectRefused(bytes: Buffer, status: 400 | 413, code: string, message: RegExp, limits: ArchiveLimits = LIMITS): Promise<void> {
  const error = await refusal(bytes, limits);
  expect({ status: error.status, code: error.code }).toEqual({ status, code });
  expect(error.message).toMatch(message);
}

const manifest: TarEntry = { name: 'submission.json', content: MANIFEST };

describe('extractArchive refuses hostile .tar.gz archives and leaves nothing behind', () => {
  it('refuses entries that would land outside the staging folder', async () => {
    await expectRefused(tarGz([manifest, { name: '../escape', content: 'out' }]), 400, 'unsafe-path', /entry "\.\.\/escape" has a "\.\." segment/);
    await expectRefused(tarGz([manifest, { name: 'a/../../escape', content: 'out' }]), 400, 'unsafe-path', /"\.\." segment/);
    await expectRefused(tarGz([manifest, { name: '/etc/abs', content: 'out' }]), 400, 'unsafe-path', /entry "\/etc\/abs" is an absolute path/);
    await expectRefused(tarGz([manifest, { name: 'a\\..\\..\\escape', content: 'out' }]), 400, 'unsafe-path', /backslash/);
    await expectRefused(tarGz([manifest, { name: 'C:/Windows/x', content: 'out' }]), 400, 'unsafe-path', /drive letter/);
    // The name a pax header gives wins over the harmless one in the ustar header, and is checked as well.
    await expectRefused(tarGz([manifest, paxEntry({ path: '../pax-escape' }), { name: 'harmless', content: 'out' }]), 400, 'unsafe-path', /"\.\.\/pax-escape"/);
    await expectRefused(tarGz([manifest, paxEntry({ path: 'nul\0name' }), { name: 'harmless', content: 'out' }]), 400, 'unsafe-path', /NUL character/);
    await expectRefused(
      tarGz([manifest, { name: '././@LongLink', type: 'L', content: '../gnu-escape\0' }, { name: 'harmless', content: 'x' }]),
      400,
      'unsafe-path',
      /gnu-escape/,
    );
    expect(readdirSync(workspace).sort()).toEqual(['canary.txt', 'staging']);
  });

  it('refuses every kind of link, naming the link and the fix', async () => {
    await expectRefused(
      tarGz([manifest, { name: 'passwd', type: '2', linkname: '/etc/passwd' }]),
      400,
      'link',
      /"passwd" is a symbolic link to "\/etc\/passwd".*replace the link with the file/,
    );
    await expectRefused(
      tarGz([manifest, { name: 'inner', type: '2', linkname: 'submission.json' }]),
      400,
      'link',
      /"inner" is a symbolic link to "submission.json"/,
    );
    await expectRefused(tarGz([manifest, { name: 'hard', type: '1', linkname: 'submission.json' }]), 400, 'link', /"hard" is a hard link to "submission.json"/);
    // A link followed by a file written through it: the refusal comes at the link, before the file.
    await expectRefused(
      tarGz([
        { name: 'dir', type: '2', linkname: '/tmp' },
        { name: 'dir/payload', content: 'x' },
      ]),
      400,
      'link',
      /"dir" is a symbolic link/,
    );
  });

  it('refuses device files, FIFOs and unknown entry types', async () => {
    await expectRefused(tarGz([manifest, { name: 'tty', type: '3' }]), 400, 'special-file', /"tty" is a character device/);
    await expectRefused(tarGz([manifest, { name: 'disk', type: '4' }]), 400, 'special-file', /"disk" is a block device/);
    await expectRefused(tarGz([manifest, { name: 'pipe', type: '6' }]), 400, 'special-file', /"pipe" is a FIFO/);
    await expectRefused(tarGz([manifest, { name: 'sparse', type: 'S' }]), 400, 'special-file', /type 'S'/);
  });

  it('refuses more entries than intake.maxFiles', async () => {
    const entries = [manifest, ...Array.from({ length: 10 }, (_, index) => ({ name: `f${index}.txt`, content: 'x' }))];
    await expectRefused(tarGz(entries), 413, 'too-many-files', /more than 5 entries \(the competition's intake\.maxFiles\)/, { ...LIMITS, maxFiles: 5 });
    const extracted = await extractArchive(tarGz(entries), stagingRoot, { ...LIMITS, maxFiles: 11 });
    expect(extracted.files).toBe(11);
  });

  it('stops a gzip bomb (1 MB expanding to over 1 GiB) at the limit, long before inflating it all', async () => {
    const zeros64MiB = gzipSync(Buffer.alloc(64 * 1024 * 1024), { level: 9 });
    // gzip members concatenate: one tar header declaring 1 GiB of content, then 16 members of 64 MiB of zeros.
    const bomb = Buffer.concat([gzipSync(tarHeader({ name: 'zeros.bin', size: 1024 ** 3 })), ...Array.from({ length: 16 }, () => zeros64MiB)]);
    expect(bomb.length).toBeLessThan(1.1 * 1024 * 1024);
    let expanded = 0;
    const drainStarted = performance.now();
    for await (const chunk of Readable.from([bomb]).pipe(createGunzip())) expanded += (chunk as Buffer).length;
    const drainMs = performance.now() - drainStarted;
    expect(expanded).toBeGreaterThan(1024 ** 3);

    const started = performance.now();
    await expectRefused(bomb, 413, 'too-large-uncompressed', /unpacks to more than 10 MiB .*intake\.maxUncompressedBytes.*"zeros\.bin"/);
    const refusedMs = performance.now() - started;
    expect(refusedMs * 5).toBeLessThan(drainMs);
  });

  it('counts the bytes of many files as they are written', async () => {
    const megabyte = Buffer.alloc(1024 * 1024, 7);
    const entries = [manifest, ...Array.from({ length: 40 }, (_, index) => ({ name: `part-${index}.bin`, content: megabyte }))];
    await expectRefused(tarGz(entries), 413, 'too-large-uncompressed', /reached at entry "part-9\.bin"/);
  });

  it('refuses what is not an archive', async () => {
    await expectRefused(Buffer.from('just some text, not an archive\n'), 400, 'not-an-archive', /neither a \.tar\.gz nor a \.zip/);
    await expectRefused(tar([manifest]), 400, 'not-an-archive', /tar czf/); // an uncompressed tar
    await expectRefused(Buffer.alloc(0), 400, 'not-an-archive', /neither/);
  });

  it('refuses damaged archives: a wrong checksum, a cut-off gzip, a missing end marker', async () => {
    await expectRefused(tarGz([manifest, { name: 'bad', content: 'x', checksumError: 1 }]), 400, 'corrupt', /wrong checksum/);
    const whole = gzipSync(tar([manifest, { name: 'big.bin', content: Buffer.from(Buffer.alloc(200_000).map((_, index) => (index * 7919) % 251)) }]));
    await expectRefused(whole.subarray(0, Math.floor(whole.length / 2)), 400, 'corrupt', /damaged.*cut short/);
    await expectRefused(tarGz([manifest], false), 400, 'corrupt', /without the end-of-archive marker/);
    await expectRefused(gzipSync(tar([manifest]).subarray(0, 700)), 400, 'corrupt', /damaged/);
  });

  it('refuses duplicate paths and a path that is both a file and a folder', async () => {
    await expectRefused(tarGz([manifest, { name: 'a.txt', content: '1' }, { name: './a.txt', content: '2' }]), 400, 'duplicate-path', /"a\.txt" appears twice/);
    await expectRefused(tarGz([manifest, { name: 'a', content: '1' }, { name: 'a/b', content: '2' }]), 400, 'duplicate-path', /folder "a" is also a file/);
    await expectRefused(tarGz([manifest, { name: 'a/b', content: '1' }, { name: 'a', content: '2' }]), 400, 'duplicate-path', /both a folder and a file/);
    await expectRefused(tarGz([manifest, { name: 'a', content: '1' }, { name: 'a/', type: '5' }]), 400, 'duplicate-path', /both a file and a folder/);
  });
});

describe('extractArchive refuses hostile .zip archives and leaves nothing behind', () => {
  const zipManifest = { name: 'submission.json', content: MANIFEST };

  it('refuses unsafe paths, links and special files', async () => {
    await expectRefused(zip([zipManifest, { name: '../escape', content: 'x' }]), 400, 'unsafe-path', /"\.\.\/escape"/);
    await expectRefused(zip([zipManifest, { name: '/etc/abs', content: 'x' }]), 400, 'unsafe-path', /absolute/);
    await expectRefused(zip([zipManifest, { name: 'dir\\..\\..\\x', content: 'x' }]), 400, 'unsafe-path', /backslash/);
    await expectRefused(
      zip([zipManifest, { name: 'passwd', content: '/etc/passwd', method: 0, unixMode: 0o120777 }]),
      400,
      'link',
      /"passwd" is a symbolic link to "\/etc\/passwd"/,
    );
    await expectRefused(zip([zipManifest, { name: 'pipe', unixMode: 0o010644, method: 0 }]), 400, 'special-file', /"pipe" is a FIFO/);
  });

  it('refuses encrypted entries, unknown compression, duplicates and too many entries', async () => {
    await expectRefused(
      zip([zipManifest, { name: 'secret.txt', content: 'x', flags: 0x1 }]),
      400,
      'encrypted',
      /"secret\.txt" is encrypted: zip the submission without a password/,
    );
    await expectRefused(zip([zipManifest, { name: 'b.txt', content: 'x', method: 12 }]), 400, 'unsupported-compression', /method 12/);
    await expectRefused(zip([zipManifest, { name: 'a.txt', content: '1' }, { name: 'a.txt', content: '2' }]), 400, 'duplicate-path', /appears twice/);
    const many = [zipManifest, ...Array.from({ length: 8 }, (_, index) => ({ name: `f${index}`, content: 'x' }))];
    await expectRefused(zip(many), 413, 'too-many-files', /more than 4 entries/, { ...LIMITS, maxFiles: 4 });
  });

  it('stops zip bombs: by the declared sizes, and at the first byte past a lying one', async () => {
    const zeros = Buffer.alloc(64 * 1024 * 1024);
    const deflated = deflateRawSync(zeros, { level: 9 });
    const honest = zip([zipManifest, { name: 'zeros.bin', rawData: deflated, declaredSize: zeros.length, crc: 0 }]);
    await expectRefused(honest, 413, 'too-large-uncompressed', /"zeros\.bin"/);
    const lying = zip([zipManifest, { name: 'zeros.bin', rawData: deflated, declaredSize: 1000, crc: 0 }]);
    await expectRefused(lying, 400, 'corrupt', /"zeros\.bin" inflates to more than the 1000 bytes its header declares/);
  });

  it('refuses damaged zips: a wrong CRC, a cut-off file, not-a-zip after the signature', async () => {
    await expectRefused(zip([zipManifest, { name: 'a.txt', content: 'hello', crc: 12345 }]), 400, 'corrupt', /"a\.txt" fails its CRC-32 check/);
    const whole = zip([zipManifest, { name: 'a.txt', content: 'hello world '.repeat(100) }]);
    await expectRefused(whole.subarray(0, whole.length - 30), 400, 'corrupt', /damaged/);
    await expectRefused(Buffer.concat([Buffer.from('PK\x03\x04'), Buffer.alloc(100)]), 400, 'corrupt', /no end-of-central-directory record/);
  });
});

describe('extractArchive unpacks good archives', () => {
  it('unpacks a .tar.gz with nested folders, modes and a submission.json at the top', async () => {
    const archive = tarGz([
      { name: './', type: '5' },
      { name: './submission.json', content: MANIFEST },
      { name: './Dockerfile', content: 'FROM scratch\n' },
      { name: './src/', type: '5', mode: 0o700 },
      { name: './src/run.sh', content: '#!/bin/sh\necho hi\n', mode: 0o700 },
      { name: './src/deep/er/data.txt', content: 'deep\n', mode: 0o600 },
      { name: 'file-name.txt', prefix: 'very-long-folder-name-'.repeat(5), content: 'through the ustar prefix\n' },
    ]);
    const extracted = await extractArchive(archive, stagingRoot, LIMITS);
    expect(path.dirname(extracted.stagingDir)).toBe(stagingRoot);
    expect(extracted.directory).toBe(extracted.stagingDir);
    expect(extracted).toMatchObject({ format: 'tar.gz', files: 5, sha256: createHash('sha256').update(archive).digest('hex') });
    expect(extracted.bytes).toBe(
      MANIFEST.length + 'FROM scratch\n'.length + '#!/bin/sh\necho hi\n'.length + 'deep\n'.length + 'through the ustar prefix\n'.length,
    );
    const long = 'very-long-folder-name-'.repeat(5);
    expect(listTree(extracted.directory)).toEqual(
      ['Dockerfile', 'src/', 'src/deep/', 'src/deep/er/', 'src/deep/er/data.txt', 'src/run.sh', 'submission.json', `${long}/`, `${long}/file-name.txt`].sort(),
    );
    expect(readFileSync(path.join(extracted.directory, long, 'file-name.txt'), 'utf8')).toBe('through the ustar prefix\n');
    const mode = (relative: string): number => statSync(path.join(extracted.directory, relative)).mode & 0o777;
    expect([mode('src/run.sh'), mode('src/deep/er/data.txt'), mode('submission.json'), mode('src'), mode('src/deep')]).toEqual([
      0o755, 0o644, 0o644, 0o755, 0o755,
    ]);
  });

  it("unpacks a zip in GitHub's layout (one top-level folder), with or without macOS litter beside it", async () => {
    const archive = zip([
      { name: 'team-repo-main/' },
      { name: 'team-repo-main/submission.json', content: MANIFEST },
      { name: 'team-repo-main/data/train.jsonl', content: '{"a": 1}\n'.repeat(1000) },
      { name: 'team-repo-main/notes.txt', content: 'stored', method: 0 },
      { name: 'team-repo-main/run.sh', content: 'echo\n', unixMode: 0o100755 },
      { name: '__MACOSX/team-repo-main/._notes.txt', content: 'resource fork' },
    ]);
    const extracted = await extractArchive(archive, stagingRoot, LIMITS);
    expect(extracted.directory).toBe(path.join(extracted.stagingDir, 'team-repo-main'));
    expect(extracted).toMatchObject({ format: 'zip', files: 5 });
    expect(listTree(extracted.directory)).toEqual(['data/', 'data/train.jsonl', 'notes.txt', 'run.sh', 'submission.json']);
    expect(readFileSync(path.join(extracted.directory, 'data/train.jsonl'), 'utf8')).toBe('{"a": 1}\n'.repeat(1000));
    expect(readFileSync(path.join(extracted.directory, 'notes.txt'), 'utf8')).toBe('stored');
    expect(statSync(path.join(extracted.directory, 'run.sh')).mode & 0o777).toBe(0o755);
  });

  it('unpacks a .tar.gz with one top-level folder, and names what it found when there is no submission root', async () => {
    const extracted = await extractArchive(
      tarGz([
        { name: 'repo/submission.json', content: MANIFEST },
        { name: 'repo/a.txt', content: 'a' },
      ]),
      stagingRoot,
      LIMITS,
    );
    expect(extracted.directory).toBe(path.join(extracted.stagingDir, 'repo'));
    rmSync(extracted.stagingDir, { recursive: true });
    await expectRefused(
      tarGz([
        { name: 'one/submission.json', content: MANIFEST },
        { name: 'two/x', content: 'x' },
      ]),
      400,
      'no-submission-root',
      /found "one\/", "two\/"/,
    );
    await expectRefused(tarGz([{ name: 'repo/readme.md', content: 'x' }]), 400, 'no-submission-root', /only folder "repo\/" holds no submission\.json/);
    await expectRefused(tarGz([]), 400, 'no-submission-root', /the archive is empty/);
    await expectRefused(zip([]), 400, 'no-submission-root', /the archive is empty/);
  });
});

describe('packDirectory', () => {
  function makeTree(root: string): void {
    mkdirSync(path.join(root, 'src/nested'), { recursive: true });
    writeFileSync(path.join(root, 'submission.json'), MANIFEST);
    writeFileSync(path.join(root, 'Dockerfile'), 'FROM scratch\n');
    writeFileSync(path.join(root, 'src/main.py'), 'print("hi")\n');
    writeFileSync(path.join(root, 'src/nested/run.sh'), '#!/bin/sh\n');
    chmodSync(path.join(root, 'src/nested/run.sh'), 0o755);
    const long = path.join(root, 'a'.repeat(90), 'b'.repeat(90));
    mkdirSync(long, { recursive: true });
    writeFileSync(path.join(long, 'c'.repeat(90)), 'needs the prefix field\n'); // 272 bytes: beyond ustar, so pax
    writeFileSync(path.join(root, 'a'.repeat(90), 'short.txt'), 'prefix\n');
    mkdirSync(path.join(root, 'empty'));
    mkdirSync(path.join(root, '.git/objects'), { recursive: true });
    writeFileSync(path.join(root, '.git/HEAD'), 'ref: refs/heads/main\n');
  }

  it('round-trips through extractArchive, file for file, with modes, long paths and empty folders, leaving .git out', async () => {
    const source = path.join(workspace, 'source');
    makeTree(source);
    const packed = await packDirectory(source);
    const extracted = await extractArchive(packed, stagingRoot, LIMITS);
    const expected = listTree(source).filter((relative) => !relative.startsWith('.git'));
    expect(listTree(extracted.directory)).toEqual(expected);
    for (const relative of expected.filter((name) => !name.endsWith('/'))) {
      expect(digestOf(path.join(extracted.directory, relative))).toBe(digestOf(path.join(source, relative)));
    }
    expect(statSync(path.join(extracted.directory, 'src/nested/run.sh')).mode & 0o777).toBe(0o755);
    expect(statSync(path.join(extracted.directory, 'src/main.py')).mode & 0o777).toBe(0o644);
  });

  it('gives identical bytes for the same tree, whatever the times and the folder it lives in', async () => {
    const first = path.join(workspace, 'first');
    const second = path.join(workspace, 'second');
    makeTree(first);
    makeTree(second);
    utimesSync(path.join(second, 'src/main.py'), new Date('2001-01-01'), new Date('2001-01-01'));
    const [a, b] = [await packDirectory(first), await packDirectory(second)];
    expect(a.equals(b)).toBe(true);
    writeFileSync(path.join(second, 'src/main.py'), 'print("changed")\n');
    expect((await packDirectory(second)).equals(a)).toBe(false);
  });

  it('honours .dockerignore (wildcards, **, comments, ! exceptions) and keeps the files the intake needs', async () => {
    const source = path.join(workspace, 'ignoring');
    makeTree(source);
    mkdirSync(path.join(source, 'checkpoints'));
    writeFileSync(path.join(source, 'checkpoints/step-1.bin'), 'weights');
    mkdirSync(path.join(source, 'src/__pycache__'));
    writeFileSync(path.join(source, 'src/__pycache__/main.pyc'), 'bytecode');
    writeFileSync(path.join(source, 'train.log'), 'log');
    writeFileSync(path.join(source, 'x.tmp'), 'tmp');
    writeFileSync(path.join(source, 'xy.tmp'), 'tmp, kept: ? is one character');
    mkdirSync(path.join(source, 'data'));
    writeFileSync(path.join(source, 'data/big.jsonl'), 'big');
    writeFileSync(path.join(source, 'data/keep.jsonl'), 'kept by the exception');
    writeFileSync(path.join(source, '#comment.txt'), 'a comment line does not exclude me');
    writeFileSync(
      path.join(source, '.dockerignore'),
      ['# build outputs', '#comment.txt', 'checkpoints/', '**/__pycache__', '*.log', '?.tmp', 'data/*', '!data/keep.jsonl', '/Dockerfile', ''].join('\n'),
    );
    const extracted = await extractArchive(await packDirectory(source), stagingRoot, LIMITS);
    const files = listTree(extracted.directory).filter((name) => !name.endsWith('/'));
    expect(files).toEqual(
      [
        '#comment.txt',
        '.dockerignore',
        'Dockerfile',
        `${'a'.repeat(90)}/${'b'.repeat(90)}/${'c'.repeat(90)}`,
        `${'a'.repeat(90)}/short.txt`,
        'data/keep.jsonl',
        'src/main.py',
        'src/nested/run.sh',
        'submission.json',
        'xy.tmp',
      ].sort(),
    );
  });

  it('refuses a symlink in the folder, unless .dockerignore leaves it out', async () => {
    const source = path.join(workspace, 'linked');
    makeTree(source);
    symlinkSync('/etc/passwd', path.join(source, 'passwd'));
    await expect(packDirectory(source)).rejects.toThrow(/passwd is a symbolic link: .*replace it with the file it points to, or list it in \.dockerignore/);
    writeFileSync(path.join(source, '.dockerignore'), 'passwd\n');
    const extracted = await extractArchive(await packDirectory(source), stagingRoot, LIMITS);
    expect(listTree(extracted.directory)).not.toContain('passwd');
    await expect(packDirectory(path.join(source, 'submission.json'))).rejects.toThrow(/is not a folder/);
  });

  it('packs examples/llm-finetune into an archive the intake unpacks to the same files', async () => {
    const example = path.join(PROJECT_ROOT, 'examples', 'llm-finetune');
    const extracted = await extractArchive(await packDirectory(example), stagingRoot, LIMITS);
    expect(extracted.directory).toBe(extracted.stagingDir);
    const files = listTree(extracted.directory).filter((name) => !name.endsWith('/'));
    expect(files).toEqual(expect.arrayContaining(['submission.json', 'Dockerfile', 'Dockerfile.train', 'data/train.jsonl']));
    expect(files).toEqual(listTree(example).filter((name) => !name.endsWith('/') && !name.includes('__pycache__')));
    for (const relative of files) expect(digestOf(path.join(extracted.directory, relative))).toBe(digestOf(path.join(example, relative)));
    expect(extracted.files).toBe(files.length);
  });
});
