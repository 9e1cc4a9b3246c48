/**
 * The artifact store as a directory (NFS, CephFS or a local folder). Every write goes to a temporary
 * file in the destination's folder and is renamed into place, so a reader on another host sees either
 * the old file or the new one, never half of one (rename is atomic within a filesystem, NFS included).
 *
 * Sharing instead of copying: when the store is on the same filesystem as the host's working folder (one
 * machine, the default `<data folder>/store`), a copy of the training output would take its size twice on
 * the same disk. pushDirectory therefore hard-links the files its caller declares complete (`complete`),
 * falling back to a copy where a link cannot be made (EXDEV: another filesystem, such as an NFS mount; EPERM,
 * EMLINK, ENOTSUP). A link shares the file's content, so only files that are never rewritten in place may be
 * linked: the host declares the files of a checkpoint the submission has declared finished (the submission
 * format says a checkpoint is complete when progress.json names it, and writers such as
 * examples/llm-finetune/train.py write a new folder and rename it into place), and everything once the training
 * container is gone (a file an earlier push copied, unchanged since, then gives way to a link). A file that is later replaced by a new file under the same name (write and rename, or
 * delete and write) leaves the stored copy as it was; only a rewrite in place of a declared checkpoint's file
 * would reach the stored copy, and the submission format forbids it. Everything else (progress.json, a log the
 * training appends to, a checkpoint being written) is copied.
 */
import { randomBytes } from 'node:crypto';
import { copyFile, link, mkdir, readdir, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { checkKey, type ArtifactStore, type PushOptions, type PushResult } from './artifact-store.js';
import { MANIFEST_NAME, compareKeys, joinKey, normalizePrefix, pullDirectoryWith, pushDirectoryWith, walkFiles } from './artifact-store-mirror.js';

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

/** Why a hard link could not be made where a copy still can: another filesystem, or one without hard links. */
const COPY_INSTEAD_OF_LINK = new Set(['EXDEV', 'EPERM', 'EMLINK', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);

/** pushDirectory's options on a folder store (the contract's; `complete` files are hard-linked, see above). */
export type FsPushOptions = PushOptions;

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

  /**
   * Stores `localPath` as `key` by a hard link when it can (same filesystem), else by a copy; atomic either way.
   * Returns how: a file already stored as this very file (same inode) is left as it is.
   */
  async shareFile(key: string, localPath: string): Promise<'linked' | 'copied' | 'unchanged'> {
    const target = this.pathOf(key);
    const [source, present] = await Promise.all([stat(localPath), stat(target).catch(() => null)]);
    if (present && present.dev === source.dev && present.ino === source.ino) return 'unchanged';
    let how: 'linked' | 'copied' = 'linked';
    let temporaryName = '';
    try {
      await writeAtomically(target, async (temporary) => {
        temporaryName = temporary;
        try {
          await link(localPath, temporary);
        } catch (error) {
          if (!COPY_INSTEAD_OF_LINK.has((error as NodeJS.ErrnoException).code ?? '')) throw error;
          how = 'copied';
          await copyFile(localPath, temporary);
        }
      });
    } catch (error) {
      throw new Error(
        `cannot store ${localPath} as "${key}" in the artifact store ${this.root}: ${(error as Error).message} (is the store mounted and writable?)`,
        {
          cause: error,
        },
      );
    }
    // rename() of one link of an inode onto another link of the same inode does nothing (POSIX): the temporary
    // name would stay behind when the target became this inode meanwhile.
    if (how === 'linked') await unlink(temporaryName).catch(() => undefined);
    return how;
  }

  async pushDirectory(localDir: string, prefix: string, options: FsPushOptions = {}): Promise<PushResult> {
    const mirror = this.mirror();
    const complete = options.complete;
    if (!complete) return pushDirectoryWith(mirror, localDir, prefix, options.prune === undefined ? {} : { prune: options.prune });
    const base = path.resolve(localDir);
    mirror.putFile = async (key: string, localPath: string) => {
      const relative = path.relative(base, path.resolve(localPath)).split(path.sep).join('/');
      if (complete(relative)) await this.shareFile(key, localPath);
      else await this.putFile(key, localPath);
    };
    const pushed = await pushDirectoryWith(mirror, localDir, prefix, options.prune === undefined ? {} : { prune: options.prune });
    // A file copied by an earlier push (it was not complete then) and unchanged since (the manifest skipped it)
    // holds the same bytes as the local file: now that it is complete, a link takes the copy's place.
    const keyBase = normalizePrefix(prefix);
    for (const [relative, file] of await walkFiles(localDir).catch(() => new Map<string, { path: string }>())) {
      if (relative === MANIFEST_NAME || !complete(relative)) continue;
      const key = joinKey(keyBase, relative);
      const stored = await stat(this.pathOf(key)).catch(() => null);
      const current = await stat(file.path).catch(() => null);
      if (!stored || !current || (stored.dev === current.dev && stored.ino === current.ino)) continue;
      if (stored.size !== current.size) continue; // changed meanwhile: the next push sends it
      await this.shareFile(key, file.path);
    }
    return pushed;
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
