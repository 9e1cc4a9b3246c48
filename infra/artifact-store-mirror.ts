/**
 * Folder mirroring shared by the artifact stores: both implement pushDirectory and pullDirectory with
 * these functions on top of their own single-key operations, so the manifest and its semantics cannot
 * drift apart between `fs` and `s3`.
 */
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { checkKey, type ArtifactStore, type PushResult } from './artifact-store.js';

/** The manifest's name under a pushed prefix. */
export const MANIFEST_NAME = '.manifest.json';

/** What the previous push saw of each file (relative POSIX path → size and modification time). */
export type Manifest = Record<string, { size: number; mtimeMs: number }>;

/** "prefix" + "key" → "prefix/key"; an empty prefix is the store's root. */
export function joinKey(prefix: string, key: string): string {
  return prefix === '' ? key : `${prefix}/${key}`;
}

/** A prefix as callers write it ("a", "a/", "" for everything) → checked, without a trailing slash. */
export function normalizePrefix(prefix: string): string {
  const trimmed = prefix.replace(/\/+$/, '');
  return trimmed === '' ? '' : checkKey(trimmed);
}

/** Code-unit order: the same as S3's (UTF-8 byte order) for the keys checkKey lets through in practice, and the same on both stores. */
export function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Regular files under `dir`, recursively, as relative POSIX paths with size and mtime. Symbolic links
 * are skipped, never followed: submission code wrote this folder, and a link to /etc or to another
 * team's folder must not be uploaded. Sockets, fifos and devices are skipped too.
 */
export async function walkFiles(dir: string): Promise<Map<string, { size: number; mtimeMs: number; path: string }>> {
  const files = new Map<string, { size: number; mtimeMs: number; path: string }>();
  const visit = async (folder: string, relative: string): Promise<void> => {
    const entries = await readdir(folder, { withFileTypes: true });
    for (const entry of entries) {
      const full = path.join(folder, entry.name);
      const rel = relative === '' ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) await visit(full, rel);
      else if (entry.isFile()) {
        const stats = await lstat(full);
        files.set(rel, { size: stats.size, mtimeMs: stats.mtimeMs, path: full });
      }
    }
  };
  await visit(dir, '');
  return files;
}

function parseManifest(text: string | null): Manifest {
  if (text === null) return {};
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return {};
    const manifest: Manifest = {};
    for (const [file, entry] of Object.entries(value as Record<string, unknown>)) {
      if (typeof entry !== 'object' || entry === null) continue;
      const { size, mtimeMs } = entry as { size?: unknown; mtimeMs?: unknown };
      if (typeof size === 'number' && typeof mtimeMs === 'number') manifest[file] = { size, mtimeMs };
    }
    return manifest;
  } catch {
    // A damaged manifest (a push cut off by a lost host cannot cause one, since it is written last and
    // atomically, but a hand edit can) only costs a full upload.
    return {};
  }
}

/** What a store offers the mirror functions: its single-key operations and a bulk delete. */
export type MirrorTarget = Pick<ArtifactStore, 'putText' | 'getText' | 'putFile' | 'getFile' | 'list' | 'location'> & {
  deleteKeys(keys: string[]): Promise<void>;
};

export async function pushDirectoryWith(store: MirrorTarget, localDir: string, prefix: string, options: { prune?: boolean } = {}): Promise<PushResult> {
  const base = normalizePrefix(prefix);
  const manifestKey = joinKey(base, MANIFEST_NAME);
  let local: Awaited<ReturnType<typeof walkFiles>>;
  try {
    local = await walkFiles(localDir);
  } catch (error) {
    throw new Error(`cannot push ${localDir} to ${store.location}/${base}: the local folder cannot be read (${(error as Error).message})`, { cause: error });
  }
  // A local file named like the manifest would be overwritten by it; it is not training output anyone needs.
  local.delete(MANIFEST_NAME);
  const previousText = await store.getText(manifestKey);
  const previous = parseManifest(previousText);
  const next: Manifest = {};
  let uploaded = 0;
  let bytes = 0;
  for (const [rel, file] of [...local.entries()].sort(([a], [b]) => compareKeys(a, b))) {
    const key = joinKey(base, checkKey(rel));
    // The stat taken before the upload goes into the manifest: a file still being written during the
    // upload then has a newer mtime at the next push and is sent again.
    next[rel] = { size: file.size, mtimeMs: file.mtimeMs };
    const seen = previous[rel];
    if (seen && seen.size === file.size && seen.mtimeMs === file.mtimeMs) continue;
    await store.putFile(key, file.path);
    uploaded += 1;
    bytes += file.size;
  }
  if (options.prune) {
    const remote = await store.list(base);
    const stale = remote.map((entry) => entry.key).filter((key) => key !== manifestKey && !local.has(base === '' ? key : key.slice(base.length + 1)));
    if (stale.length > 0) await store.deleteKeys(stale);
  }
  // Written last: a push cut short leaves the old manifest, so the next push re-sends what it missed.
  const nextText = JSON.stringify(next);
  if (nextText !== previousText) await store.putText(manifestKey, nextText);
  return { uploaded, files: local.size, bytes };
}

export async function pullDirectoryWith(store: MirrorTarget, prefix: string, localDir: string): Promise<{ files: number; bytes: number }> {
  const base = normalizePrefix(prefix);
  const manifestKey = joinKey(base, MANIFEST_NAME);
  let files = 0;
  let bytes = 0;
  for (const entry of await store.list(base)) {
    if (entry.key === manifestKey) continue;
    const rel = base === '' ? entry.key : entry.key.slice(base.length + 1);
    // Keys written by other tools could hold ".." parts; checked again so a pull never writes outside localDir.
    const target = path.join(localDir, ...checkKey(rel).split('/'));
    if (!(await store.getFile(entry.key, target))) continue; // deleted between list and get
    files += 1;
    bytes += entry.size;
  }
  return { files, bytes };
}
