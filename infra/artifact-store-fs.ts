/**
 * The artifact store as a directory (NFS, CephFS or a local folder). Every write goes to a temporary
 * file in the destination's folder and is renamed into place, so a reader on another host sees either
 * the old file or the new one, never half of one (rename is atomic within a filesystem, NFS included).
 */
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { checkKey, type ArtifactStore, type PushResult } from './artifact-store.js';
import { compareKeys, normalizePrefix, pullDirectoryWith, pushDirectoryWith } from './artifact-store-mirror.js';

/** Temporary files carry this suffix; list skips them so a write in progress is never listed. */
const TEMP_SUFFIX = '.artifact-tmp';

const isMissing = (error: unknown): boolean => {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  // ENOTDIR: a key under what is a file ("a/b" when "a" is a file) does not exist either.
  return code === 'ENOENT' || code === 'ENOTDIR';
};

/** Writes `target` through a temporary sibling and a rename; `write` fills the temporary file. */
async function writeAtomically(target: string, write: (temporary: string) => Promise<void>): Promise<void> {
  await mkdir(path.dirname(target), { recursive: true });
  const temporary = path.join(path.dirname(target), `.${path.basename(target)}.${process.pid}-${randomBytes(4).toString('hex')}${TEMP_SUFFIX}`);
  try {
    await write(temporary);
    await rename(temporary, target);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
}

export class FsArtifactStore implements ArtifactStore {
  readonly location: string;

  constructor(private readonly root: string) {
    this.location = root;
  }

  private pathOf(key: string): string {
    return path.join(this.root, ...checkKey(key).split('/'));
  }

  async putText(key: string, text: string): Promise<void> {
    const target = this.pathOf(key);
    await writeAtomically(target, (temporary) => writeFile(temporary, text, 'utf8'));
  }

  async getText(key: string): Promise<string | null> {
    try {
      return await readFile(this.pathOf(key), 'utf8');
    } catch (error) {
      if (isMissing(error)) return null;
      throw new Error(`cannot read "${key}" from the artifact store ${this.root}: ${(error as Error).message}`, { cause: error });
    }
  }

  async putFile(key: string, localPath: string): Promise<void> {
    const target = this.pathOf(key);
    try {
      await writeAtomically(target, (temporary) => copyFile(localPath, temporary));
    } catch (error) {
      throw new Error(
        `cannot store ${localPath} as "${key}" in the artifact store ${this.root}: ${(error as Error).message} (is the store mounted and writable?)`,
        {
          cause: error,
        },
      );
    }
  }

  async getFile(key: string, localPath: string): Promise<boolean> {
    const source = this.pathOf(key);
    try {
      // Atomic on the local side too: a host that dies mid-pull leaves no truncated checkpoint behind.
      await writeAtomically(localPath, (temporary) => copyFile(source, temporary));
      return true;
    } catch (error) {
      if (isMissing(error) && !(await exists(source))) return false;
      throw new Error(`cannot copy "${key}" from the artifact store ${this.root} to ${localPath}: ${(error as Error).message}`, { cause: error });
    }
  }

  async list(prefix: string): Promise<{ key: string; size: number }[]> {
    const base = normalizePrefix(prefix);
    const found: { key: string; size: number }[] = [];
    const visit = async (folder: string, relative: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(folder, { withFileTypes: true });
      } catch (error) {
        if (isMissing(error)) return;
        throw new Error(`cannot list "${base}" in the artifact store ${this.root}: ${(error as Error).message}`, { cause: error });
      }
      for (const entry of entries) {
        const key = relative === '' ? entry.name : `${relative}/${entry.name}`;
        if (entry.isDirectory()) await visit(path.join(folder, entry.name), key);
        else if (entry.isFile() && !entry.name.endsWith(TEMP_SUFFIX)) {
          const stats = await stat(path.join(folder, entry.name)).catch(() => null); // gone since readdir
          if (stats) found.push({ key, size: stats.size });
        }
      }
    };
    await visit(base === '' ? this.root : this.pathOf(base), base);
    return found.sort((a, b) => compareKeys(a.key, b.key));
  }

  pushDirectory(localDir: string, prefix: string, options?: { prune?: boolean }): Promise<PushResult> {
    return pushDirectoryWith(this.mirror(), localDir, prefix, options);
  }

  pullDirectory(prefix: string, localDir: string): Promise<{ files: number; bytes: number }> {
    return pullDirectoryWith(this.mirror(), prefix, localDir);
  }

  async deletePrefix(prefix: string): Promise<number> {
    const base = normalizePrefix(prefix);
    const keys = await this.list(base);
    if (base === '') {
      // The root itself stays: it is the mount point other hosts share.
      for (const entry of await readdir(this.root).catch(() => [])) await rm(path.join(this.root, entry), { recursive: true, force: true });
    } else {
      await rm(this.pathOf(base), { recursive: true, force: true });
    }
    return keys.length;
  }

  private mirror() {
    return {
      location: this.location,
      putText: (key: string, text: string) => this.putText(key, text),
      getText: (key: string) => this.getText(key),
      putFile: (key: string, localPath: string) => this.putFile(key, localPath),
      getFile: (key: string, localPath: string) => this.getFile(key, localPath),
      list: (prefix: string) => this.list(prefix),
      deleteKeys: async (keys: string[]) => {
        for (const key of keys) await rm(this.pathOf(key), { force: true });
      },
    };
  }
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}
