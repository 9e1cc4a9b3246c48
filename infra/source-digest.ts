/**
 * The digest of a submission's sources: what its images are built from. Images carry it as a label, so
 * a host keeps images only when they were built from exactly these files (a retry, or a re-evaluation
 * that lands on the host that built them) and builds them otherwise (another host, changed sources).
 */
import { createHash } from 'node:crypto';
import { createReadStream, readdirSync, readlinkSync } from 'node:fs';
import path from 'node:path';

async function fileDigest(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** sha256 over every file's relative path and content (symlinks by their target), in path order. */
export async function sourceDigest(directory: string): Promise<string> {
  const entries = readdirSync(directory, { recursive: true, withFileTypes: true })
    .map((entry) => ({ entry, relative: path.relative(directory, path.join(entry.parentPath, entry.name)).split(path.sep).join('/') }))
    .filter(({ entry }) => entry.isFile() || entry.isSymbolicLink())
    .sort((a, b) => (a.relative < b.relative ? -1 : a.relative > b.relative ? 1 : 0));
  const total = createHash('sha256');
  for (const { entry, relative } of entries) {
    const absolute = path.join(directory, relative);
    const content = entry.isSymbolicLink() ? `link:${readlinkSync(absolute)}` : await fileDigest(absolute);
    total.update(`${relative}\0${content}\n`);
  }
  return `sha256:${total.digest('hex')}`;
}
