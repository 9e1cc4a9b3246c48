/**
 * Submission archives (.tar.gz, .zip) as teams upload them: unpacked into a fresh staging folder with every
 * hostile trick refused (unsafe paths, links, device files, duplicates, bombs: see archive-staging.ts), and
 * packed from a directory by `challenge remote submit` (archive-pack.ts). The readers are our own, on node:zlib,
 * so what is accepted is exactly what is written here: archive-tar.ts and archive-zip.ts.
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { ArchiveRejected, StagingTree, type ArchiveLimits } from './archive-staging.js';
import { readTarGz } from './archive-tar.js';
import { readZip } from './archive-zip.js';

export { ArchiveRejected, type ArchiveLimits } from './archive-staging.js';
export { packDirectory } from './archive-pack.js';

export interface ExtractedArchive {
  /** The fresh folder made under the staging root; everything written is inside it. */
  stagingDir: string;
  /** The submission's root: stagingDir itself, or its single top-level folder, holding submission.json. */
  directory: string;
  format: 'tar.gz' | 'zip';
  files: number;
  bytes: number;
  /** sha256 (hex) of the archive bytes as uploaded. */
  sha256: string;
}

function formatOf(bytes: Buffer): ExtractedArchive['format'] {
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) return 'tar.gz';
  if (bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && ((bytes[2] === 3 && bytes[3] === 4) || (bytes[2] === 5 && bytes[3] === 6))) return 'zip';
  throw new ArchiveRejected(
    400,
    'not-an-archive',
    "the upload is neither a .tar.gz nor a .zip (its first bytes are neither gzip's nor zip's): " +
      'pack the submission folder with `tar czf submission.tar.gz -C my-submission .` or zip it, then upload that file',
  );
}

/** Folders macOS's "Compress" adds beside the one the team zipped. */
const PLATFORM_LITTER = new Set(['__MACOSX/']);

/** The folder holding submission.json: the staging folder itself, or the archive's only top-level folder (GitHub's layout). */
function submissionRoot(tree: StagingTree): string {
  if (tree.kindOf('submission.json') === 'file') return tree.root;
  const top = tree.topLevel().filter((name) => !PLATFORM_LITTER.has(name));
  const only = top.length === 1 ? top[0]! : undefined;
  if (only?.endsWith('/') && tree.kindOf(`${only}submission.json`) === 'file') return path.join(tree.root, only.slice(0, -1));
  const fix = 'put submission.json at the top of the archive, or pack a single folder that holds it (as GitHub\'s "Download ZIP" does)';
  if (top.length === 0) throw new ArchiveRejected(400, 'no-submission-root', `the archive is empty: ${fix}`);
  if (only?.endsWith('/'))
    throw new ArchiveRejected(400, 'no-submission-root', `the archive's only folder ${JSON.stringify(only)} holds no submission.json: ${fix}`);
  const shown = top.slice(0, 10).map((name) => JSON.stringify(name));
  const more = top.length > shown.length ? ` and ${top.length - shown.length} more` : '';
  throw new ArchiveRejected(400, 'no-submission-root', `the archive's top level holds no submission.json (found ${shown.join(', ')}${more}): ${fix}`);
}

/**
 * Unpacks `bytes` into a fresh folder under `stagingRoot` (made if absent), refusing hostile or oversized archives
 * with ArchiveRejected; on any failure the fresh folder is removed again, so a refusal leaves nothing behind.
 */
export async function extractArchive(bytes: Buffer, stagingRoot: string, limits: ArchiveLimits): Promise<ExtractedArchive> {
  const format = formatOf(bytes);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  await mkdir(stagingRoot, { recursive: true });
  const stagingDir = await mkdtemp(path.join(stagingRoot, 'upload-'));
  try {
    const tree = new StagingTree(stagingDir, limits);
    if (format === 'tar.gz') await readTarGz(bytes, tree);
    else await readZip(bytes, tree, limits);
    const directory = submissionRoot(tree);
    return { stagingDir, directory, format, files: tree.files, bytes: tree.bytes, sha256 };
  } catch (error) {
    await rm(stagingDir, { recursive: true, force: true });
    if (error instanceof ArchiveRejected) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENAMETOOLONG')
      throw new ArchiveRejected(400, 'unsafe-path', `an entry's path is too long to unpack (${(error as Error).message}): shorten it and pack again`);
    throw error;
  }
}
