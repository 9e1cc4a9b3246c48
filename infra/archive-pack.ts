/**
 * Packs a submission folder into the .tar.gz `challenge remote submit` uploads: ustar entries in sorted path
 * order with mtime 0, owner 0/0 and no owner names, so the same tree always gives the same bytes (and the same
 * sha256). Leaves out `.git` and what the folder's `.dockerignore` excludes, keeping the files the intake needs
 * (submission.json, the Dockerfiles, .dockerignore) as Docker does; refuses links and special files, which the
 * intake would refuse.
 */
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { REQUIRED_FILES } from '../domain/submission.js';
import { isIgnored, parseDockerignore, type IgnoreRule } from './dockerignore.js';

const BLOCK = 512;
/** The largest size an 11-digit octal ustar field holds. */
const MAX_USTAR_SIZE = 8 ** 11 - 1;
const ALWAYS_KEPT = new Set<string>([...REQUIRED_FILES, '.dockerignore']);

interface PackedEntry {
  relative: string;
  kind: 'file' | 'directory';
  absolute: string;
  size: number;
  executable: boolean;
}

function octal(value: number, width: number): string {
  return `${value.toString(8).padStart(width - 1, '0')}\0`;
}

function ustarHeader(name: string, prefix: string, type: '0' | '5' | 'x', size: number, mode: number): Buffer {
  const header = Buffer.alloc(BLOCK);
  header.write(name, 0, 100, 'utf8');
  header.write(octal(mode, 8), 100, 'latin1');
  header.write(octal(0, 8), 108, 'latin1');
  header.write(octal(0, 8), 116, 'latin1');
  header.write(octal(size, 12), 124, 'latin1');
  header.write(octal(0, 12), 136, 'latin1');
  header.fill(0x20, 148, 156);
  header.write(type, 156, 'latin1');
  header.write('ustar\0', 257, 'latin1');
  header.write('00', 263, 'latin1');
  header.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return header;
}

/** The ustar name and prefix fields for `name`, or null when it needs a pax header. */
function splitName(name: string): { name: string; prefix: string } | null {
  if (Buffer.byteLength(name) <= 100) return { name, prefix: '' };
  for (let slash = name.indexOf('/'); slash !== -1; slash = name.indexOf('/', slash + 1)) {
    const prefix = name.slice(0, slash);
    const rest = name.slice(slash + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(rest) <= 100 && rest !== '') return { name: rest, prefix };
  }
  return null;
}

function paxRecord(key: string, value: string): Buffer {
  const body = ` ${key}=${value}\n`;
  let length = Buffer.byteLength(body) + 1;
  while (String(length).length + Buffer.byteLength(body) !== length) length += 1;
  return Buffer.from(`${length}${body}`, 'utf8');
}

const padding = (size: number): Buffer => Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);

function* headersOf(entry: PackedEntry): Generator<Buffer> {
  const name = entry.kind === 'directory' ? `${entry.relative}/` : entry.relative;
  const mode = entry.kind === 'directory' || entry.executable ? 0o755 : 0o644;
  const type = entry.kind === 'directory' ? '5' : '0';
  const split = splitName(name);
  if (split !== null) {
    yield ustarHeader(split.name, split.prefix, type, entry.size, mode);
    return;
  }
  const record = paxRecord('path', name);
  yield ustarHeader(`PaxHeader/${path.posix.basename(entry.relative).slice(0, 80)}`, '', 'x', record.length, 0o644);
  yield record;
  yield padding(record.length);
  yield ustarHeader(
    Buffer.from(name)
      .subarray(0, 100)
      .toString('utf8')
      .replace(/\uFFFD+$/, ''),
    '',
    type,
    entry.size,
    mode,
  );
}

async function* tarStream(entries: PackedEntry[]): AsyncGenerator<Buffer> {
  for (const entry of entries) {
    yield* headersOf(entry);
    if (entry.kind !== 'file') continue;
    let read = 0;
    for await (const chunk of createReadStream(entry.absolute) as AsyncIterable<Buffer>) {
      read += chunk.length;
      if (read > entry.size) break;
      yield chunk;
    }
    if (read !== entry.size) throw new Error(`${entry.absolute} changed while it was being packed: pack the submission again once nothing writes to it`);
    yield padding(entry.size);
  }
  yield Buffer.alloc(2 * BLOCK);
}

const posixRelative = (root: string, absolute: string): string => path.relative(root, absolute).split(path.sep).join('/');

/** The files and folders to pack, sorted; refuses links and special files that `.dockerignore` does not leave out. */
async function collect(directory: string, rules: IgnoreRule[]): Promise<PackedEntry[]> {
  const descendIntoIgnored = rules.some((rule) => rule.exception);
  const files: PackedEntry[] = [];
  const folders = new Map<string, PackedEntry>();
  const walk = async (folder: string): Promise<void> => {
    for (const dirent of await readdir(folder, { withFileTypes: true })) {
      const absolute = path.join(folder, dirent.name);
      const relative = posixRelative(directory, absolute);
      if (dirent.name === '.git') continue;
      const ignored = !ALWAYS_KEPT.has(relative) && isIgnored(relative, rules);
      if (dirent.isDirectory()) {
        if (!ignored) folders.set(relative, { relative, kind: 'directory', absolute, size: 0, executable: true });
        if (!ignored || descendIntoIgnored) await walk(absolute);
        continue;
      }
      if (ignored) continue;
      const stats = await lstat(absolute);
      if (stats.isSymbolicLink()) {
        throw new Error(
          `${absolute} is a symbolic link: the intake refuses links in a submission; replace it with the file it points to, or list it in .dockerignore`,
        );
      }
      if (!stats.isFile())
        throw new Error(`${absolute} is not a regular file (a socket, FIFO or device): leave it out of the submission or list it in .dockerignore`);
      if (stats.size > MAX_USTAR_SIZE) throw new Error(`${absolute} is larger than 8 GiB: leave it out of the submission (list it in .dockerignore)`);
      files.push({ relative, kind: 'file', absolute, size: stats.size, executable: (stats.mode & 0o111) !== 0 });
    }
  };
  await walk(directory);
  // A folder left out by .dockerignore still comes along when a file inside it is kept (a `!` exception).
  for (const file of files) {
    const segments = file.relative.split('/');
    for (let depth = 1; depth < segments.length; depth += 1) {
      const relative = segments.slice(0, depth).join('/');
      if (!folders.has(relative)) folders.set(relative, { relative, kind: 'directory', absolute: path.join(directory, relative), size: 0, executable: true });
    }
  }
  return [...files, ...folders.values()].sort((a, b) => (a.relative < b.relative ? -1 : a.relative > b.relative ? 1 : 0));
}

/** A deterministic .tar.gz of `directory` (sorted entries, fixed times and owners), leaving out what `.dockerignore` excludes. */
export async function packDirectory(directory: string): Promise<Buffer> {
  const root = path.resolve(directory);
  const rootStats = await lstat(root).catch(() => null);
  if (rootStats === null || !rootStats.isDirectory()) throw new Error(`${root} is not a folder: pass the submission folder (the one holding submission.json)`);
  const ignoreFile = path.join(root, '.dockerignore');
  let rules: IgnoreRule[] = [];
  try {
    if (existsSync(ignoreFile)) rules = parseDockerignore(readFileSync(ignoreFile, 'utf8'));
  } catch (error) {
    throw new Error(`${root}/${(error as Error).message}`);
  }
  const entries = await collect(root, rules);
  const output: Buffer[] = [];
  await pipeline(Readable.from(tarStream(entries)), createGzip({ level: 9 }), async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) output.push(chunk);
  });
  return Buffer.concat(output);
}
