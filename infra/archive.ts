/**
 * Submission archives (.tar.gz, .zip) as teams upload them: unpacked into a fresh staging folder with every
 * hostile trick refused, and packed from a directory by `challenge remote submit`. Being written.
 */

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

export async function extractArchive(_bytes: Buffer, _stagingRoot: string, _limits: ArchiveLimits): Promise<ExtractedArchive> {
  throw new ArchiveRejected(400, 'not-implemented', 'archive extraction is being written');
}

/** A deterministic .tar.gz of `directory` (sorted entries, fixed times and owners), leaving out what `.dockerignore` excludes. */
export async function packDirectory(_directory: string): Promise<Buffer> {
  throw new Error('packing is being written');
}
