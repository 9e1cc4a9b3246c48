/**
 * Disk measurements of the host stages: how much a training output takes (against the track's cap), and
 * whether the host has the free space a stage needs to start.
 */
import { lstat, readdir, statfs } from 'node:fs/promises';
import path from 'node:path';
import type { DiskLimits } from '../../temporal.config.js';

/** A full disk as programs report it (Python's OSError, coreutils, PyTorch's writers). */
export const NO_SPACE_PATTERN = /No space left on device|ENOSPC|Disk quota exceeded|EDQUOT/;

/** Bytes on disk and entries (files and folders) under a folder. */
export interface FolderUsage {
  bytes: number;
  files: number;
}

/**
 * What a folder takes: each regular file counts the larger of its length and its allocated blocks (a sparse
 * file counts at its length: a copy to the artifact store would not be sparse), folders and other entries their
 * blocks. Symbolic links are not followed. Entries that vanish while it walks are skipped.
 */
export async function measureFolder(dir: string): Promise<FolderUsage> {
  const usage: FolderUsage = { bytes: 0, files: 0 };
  const visit = async (folder: string): Promise<void> => {
    let names: string[];
    try {
      names = await readdir(folder);
    } catch {
      return;
    }
    await Promise.all(
      names.map(async (name) => {
        const full = path.join(folder, name);
        const stats = await lstat(full).catch(() => null);
        if (!stats) return;
        usage.files += 1;
        usage.bytes += stats.isFile() ? Math.max(stats.size, stats.blocks * 512) : stats.blocks * 512;
        if (stats.isDirectory()) await visit(full);
      }),
    );
  };
  await visit(dir);
  return usage;
}

export const exceedsCap = (usage: FolderUsage, limits: Pick<DiskLimits, 'trainingOutputBytes' | 'trainingOutputFiles'>): boolean =>
  usage.bytes > limits.trainingOutputBytes || usage.files > limits.trainingOutputFiles;

/**
 * Measures `dir` every `everyMs`, or twice as long as the last measurement took when that is longer (one at a
 * time, at most a third of a core on a folder of many files), and hands each result to `onUsage`; `last()` is
 * the newest, `stop()` ends it after the measurement in flight.
 */
export function watchFolder(dir: string, everyMs: number, onUsage: (usage: FolderUsage) => void): { last: () => FolderUsage | null; stop: () => Promise<void> } {
  let latest: FolderUsage | null = null;
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let inFlight: Promise<void> = Promise.resolve();
  const tick = () => {
    const began = Date.now();
    inFlight = measureFolder(dir)
      .then((usage) => {
        latest = usage;
        if (!stopped) onUsage(usage);
      })
      .catch(() => undefined)
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, Math.max(everyMs, 2 * (Date.now() - began)));
      });
  };
  tick();
  return {
    last: () => latest,
    stop: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      await inFlight;
    },
  };
}

/** The first of `dirs` (null ones skipped, as are those that cannot be read) with less than `minFreeBytes` available. */
export async function freeDiskShortfall(
  dirs: { label: string; dir: string | null }[],
  minFreeBytes: number,
): Promise<{ label: string; dir: string; freeBytes: number } | null> {
  for (const { label, dir } of dirs) {
    if (!dir) continue;
    const stats = await statfs(dir).catch(() => null);
    if (!stats) continue; // e.g. Docker's root folder, when this worker runs in a container without it
    const freeBytes = stats.bavail * stats.bsize;
    if (freeBytes < minFreeBytes) return { label, dir, freeBytes };
  }
  return null;
}
