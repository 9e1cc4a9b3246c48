/**
 * Where an uploaded archive's entries land: one fresh staging folder, written entry by entry by the tar and zip
 * readers. Every entry passes through `admit` first, which refuses what a submission never needs (unsafe paths,
 * links, device files, duplicates) and keeps the entry count and the unpacked bytes within the competition's
 * intake limits, so a hostile archive is stopped before it writes a byte outside staging or too many inside it.
 */
import { constants } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import path from 'node:path';
import { formatBytes } from '../domain/units.js';

/** An archive refused: `status` is the HTTP answer (400 malformed or hostile, 413 too large); `message` names the entry and the fix. */
export class ArchiveRejected extends Error {
  constructor(
    readonly status: 400 | 413,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ArchiveRejected';
  }
}

export interface ArchiveLimits {
  maxUncompressedBytes: number;
  maxFiles: number;
}

/** One entry as an archive describes it, before anything is written. */
export interface ArchiveEntry {
  /** The name as stored in the archive (after pax / GNU long-name headers). */
  name: string;
  kind: 'file' | 'directory' | 'symlink' | 'hardlink' | 'special';
  /** For a link: where it points. For a special entry: what it is ("character device", "FIFO", "entry type 'S'"). */
  detail?: string;
  /** Declared size of a file's content in bytes. */
  size: number;
  /** Unix permission bits as stored (only the executable bits are kept). */
  mode: number;
}

const MAX_PATH_BYTES = 4096;
const MAX_SEGMENT_BYTES = 255;
const REPACK = 'pack the submission folder again with tar or zip (e.g. `tar czf submission.tar.gz -C my-submission .`)';

const quoted = (name: string): string => JSON.stringify(name);

/** The entry's path relative to the staging folder ('a/b.txt'), or null for the archive's own root ('.', './'). */
export function safeRelativePath(name: string): string | null {
  const unsafe = (why: string): ArchiveRejected => new ArchiveRejected(400, 'unsafe-path', `entry ${quoted(name)} ${why}: ${REPACK}`);
  if (name.includes('\0')) throw unsafe('has a NUL character in its name');
  if (name.includes('\\')) throw unsafe('has a backslash in its name (archives separate folders with "/"; a Windows path cannot be unpacked safely)');
  if (/^[A-Za-z]:/.test(name)) throw unsafe('starts with a drive letter');
  if (name.startsWith('/')) throw unsafe('is an absolute path (entries must be relative to the submission folder)');
  const segments = name.split('/').filter((segment) => segment !== '' && segment !== '.');
  if (segments.includes('..')) throw unsafe('has a ".." segment, which would unpack outside the submission folder');
  if (Buffer.byteLength(name) > MAX_PATH_BYTES) throw unsafe(`is longer than ${MAX_PATH_BYTES} bytes`);
  const long = segments.find((segment) => Buffer.byteLength(segment) > MAX_SEGMENT_BYTES);
  if (long !== undefined) throw unsafe(`has a name part longer than ${MAX_SEGMENT_BYTES} bytes`);
  return segments.length === 0 ? null : segments.join('/');
}

type Written = 'file' | 'directory' | 'implied-directory';

/** The staging folder being filled: what has been written, how many entries and bytes so far. */
export class StagingTree {
  /** Regular files written. */
  files = 0;
  /** Bytes of file content written. */
  bytes = 0;
  private entries = 0;
  /** Bytes of archive metadata (pax and long-name headers) read, charged to the same budget as content. */
  private metadataBytes = 0;
  private readonly written = new Map<string, Written>();

  constructor(
    readonly root: string,
    private readonly limits: ArchiveLimits,
  ) {}

  /** Checks an entry before anything of it is written; returns its relative path (null: the archive's root folder, nothing to do). */
  admit(entry: ArchiveEntry): string | null {
    const relative = safeRelativePath(entry.name);
    if (relative === null) {
      if (entry.kind === 'directory') return null;
      throw new ArchiveRejected(400, 'corrupt', `an entry of kind ${entry.kind} has no name (${quoted(entry.name)}): ${REPACK}`);
    }
    this.entries += 1;
    if (this.entries > this.limits.maxFiles) throw tooManyFiles(this.limits.maxFiles);
    if (entry.kind === 'symlink' || entry.kind === 'hardlink') {
      const what = entry.kind === 'symlink' ? 'a symbolic link' : 'a hard link';
      throw new ArchiveRejected(
        400,
        'link',
        `entry ${quoted(relative)} is ${what}${entry.detail ? ` to ${quoted(entry.detail)}` : ''}: a submission holds no links; replace the link with the file it points to`,
      );
    }
    if (entry.kind === 'special') {
      throw new ArchiveRejected(
        400,
        'special-file',
        `entry ${quoted(relative)} is a ${entry.detail ?? 'special file'}: an archive may hold only files and folders; leave it out and pack again`,
      );
    }
    this.checkPlace(relative, entry.kind);
    if (entry.kind === 'file') this.charge(relative, this.bytes + this.metadataBytes + entry.size);
    return relative;
  }

  /** Counts archive metadata (pax records, GNU long names) against the unpacked-bytes budget. */
  chargeMetadata(name: string, bytes: number): void {
    this.metadataBytes += bytes;
    this.charge(name, this.bytes + this.metadataBytes);
  }

  async directory(relative: string): Promise<void> {
    await this.ensureParents(relative);
    if (this.written.get(relative) === undefined) await this.makeDirectory(relative);
    this.written.set(relative, 'directory');
  }

  /** Writes a file admitted before from `chunks`, counting every byte against the budget as it arrives. */
  async file(relative: string, mode: number, chunks: AsyncIterable<Buffer>): Promise<number> {
    await this.ensureParents(relative);
    // O_EXCL with O_CREAT never follows a link and never reuses anything already there.
    const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
    const handle = await open(path.join(this.root, relative), flags, 0o600);
    this.written.set(relative, 'file');
    this.files += 1;
    let size = 0;
    try {
      for await (const chunk of chunks) {
        size += chunk.length;
        this.bytes += chunk.length;
        this.charge(relative, this.bytes + this.metadataBytes);
        await handle.write(chunk);
      }
      await handle.chmod((mode & 0o111) !== 0 ? 0o755 : 0o644);
    } finally {
      await handle.close();
    }
    return size;
  }

  kindOf(relative: string): 'file' | 'directory' | undefined {
    const kind = this.written.get(relative);
    return kind === undefined ? undefined : kind === 'file' ? 'file' : 'directory';
  }

  /** The names at the top of the staging folder, folders with a trailing '/'. */
  topLevel(): string[] {
    return [...this.written]
      .filter(([relative]) => !relative.includes('/'))
      .map(([relative, kind]) => (kind === 'file' ? relative : `${relative}/`))
      .sort();
  }

  private checkPlace(relative: string, kind: 'file' | 'directory'): void {
    const segments = relative.split('/');
    for (let depth = 1; depth < segments.length; depth += 1) {
      const parent = segments.slice(0, depth).join('/');
      if (this.written.get(parent) === 'file') throw conflict(relative, `its folder ${quoted(parent)} is also a file in the archive`);
    }
    const before = this.written.get(relative);
    if (before === undefined) return;
    if (before === 'file' && kind === 'file')
      throw new ArchiveRejected(400, 'duplicate-path', `entry ${quoted(relative)} appears twice in the archive: ${REPACK}`);
    if (before === 'file') throw conflict(relative, 'it is both a file and a folder in the archive');
    if (kind === 'file') throw conflict(relative, 'it is both a folder and a file in the archive');
  }

  private charge(relative: string, total: number): void {
    if (total <= this.limits.maxUncompressedBytes) return;
    throw new ArchiveRejected(
      413,
      'too-large-uncompressed',
      `the archive unpacks to more than ${formatBytes(this.limits.maxUncompressedBytes)} (the competition's intake.maxUncompressedBytes; reached at entry ${quoted(relative)}): ` +
        'leave out checkpoints, caches and data the build downloads itself (list them in .dockerignore), then pack again',
    );
  }

  private async ensureParents(relative: string): Promise<void> {
    const segments = relative.split('/');
    for (let depth = 1; depth < segments.length; depth += 1) {
      const parent = segments.slice(0, depth).join('/');
      if (this.written.has(parent)) continue;
      await this.makeDirectory(parent);
      this.written.set(parent, 'implied-directory');
    }
  }

  private async makeDirectory(relative: string): Promise<void> {
    const absolute = path.join(this.root, relative);
    await mkdir(absolute, { mode: 0o755 });
    const handle = await open(absolute, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
    try {
      await handle.chmod(0o755); // exactly 0755, whatever the umask
    } finally {
      await handle.close();
    }
  }
}

export function tooManyFiles(maxFiles: number): ArchiveRejected {
  return new ArchiveRejected(
    413,
    'too-many-files',
    `the archive holds more than ${maxFiles} entries (the competition's intake.maxFiles): leave out caches, virtual environments and generated files (list them in .dockerignore), then pack again`,
  );
}

function conflict(relative: string, why: string): ArchiveRejected {
  return new ArchiveRejected(400, 'duplicate-path', `entry ${quoted(relative)} cannot be unpacked: ${why}; ${REPACK}`);
}

/** A refusal for a damaged archive, naming the format and what was wrong. */
export function corrupt(format: 'tar.gz' | 'zip', why: string): ArchiveRejected {
  return new ArchiveRejected(400, 'corrupt', `the .${format} is damaged: ${why}; the upload may have been cut short: pack it again and re-upload`);
}
