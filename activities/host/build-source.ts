/**
 * Where a build finds its sources. A directory handed to `challenge submit` is built as it is. An upload
 * through the participants' door (operations/intake.ts) also names its archive in the artifact store: a
 * build host that lacks the accepting host's copy of the tree, or finds that copy changed since it was
 * accepted, fetches the archive, checks its sha256, unpacks it (infra/archive.ts, every hostile entry
 * refused) to `<dataDir>/sources/<sha256>` and builds from there; that folder is kept for a retry or a
 * failover to this host, and reused only while its digest is still the accepted one.
 */
import { createHash, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { ArchiveRejected, extractArchive, type ArchiveLimits } from '../../infra/archive.js';
import type { ArtifactStore } from '../../infra/artifact-store.js';
import { sourceDigest } from '../../infra/source-digest.js';
import type { BuildInput, SubmissionSource } from '../../contract/types.js';
import { failure } from './context.js';

/**
 * The archive passed the competition's intake limits when it was accepted; a build host has no competition
 * file, so it checks again against bounds only a broken store could reach.
 */
export const HOST_ARCHIVE_LIMITS: ArchiveLimits = { maxUncompressedBytes: 16 * 1024 ** 3, maxFiles: 1_000_000 };

export interface BuildContext {
  /** The folder the images are built from. */
  directory: string;
  /** Its infra/source-digest.ts digest, when already computed here. */
  digest: string | null;
  /** A line for the build log when the sources came from the stored archive, else null. */
  note: string | null;
}

export const sourcesDirOf = (dataDir: string, archiveSha256: string): string => path.join(path.resolve(dataDir), 'sources', archiveSha256);

/** The folder to build `input` from (see the module comment). Failures are stage failures naming the archive and the fix. */
export async function resolveBuildContext(deps: { dataDir: string; artifacts: ArtifactStore }, input: BuildInput): Promise<BuildContext> {
  const { source } = input;
  if (!source) return { directory: input.directory, digest: null, note: null };
  const accepted = source.sourceDigest ?? null;
  let changed: string | null = null;
  if (existsSync(input.directory)) {
    const digest = await sourceDigest(input.directory);
    if (accepted === null || digest === accepted) return { directory: input.directory, digest, note: null };
    changed = `the sources at ${input.directory} changed since the upload was accepted (${digest}, accepted ${accepted})`;
  }
  const target = sourcesDirOf(deps.dataDir, source.archiveSha256);
  const why = changed ?? `${input.directory} is not on this host`;
  if (existsSync(target)) {
    const digest = await sourceDigest(target);
    if (accepted === null || digest === accepted) return { directory: target, digest, note: `${why}: building from ${target}, unpacked earlier from ${source.archiveKey}` };
    rmSync(target, { recursive: true, force: true }); // not the accepted tree any more: unpack it again
  }
  await unpackStoredArchive(deps, input.submissionId, source, target);
  const digest = await sourceDigest(target);
  if (accepted !== null && digest !== accepted)
    throw failure(
      'BuildInfrastructure',
      `the stored archive ${source.archiveKey} of ${input.submissionId} unpacks to other sources (${digest}) than were accepted (${accepted}); the operators must check the artifact store`,
    );
  return { directory: target, digest, note: `${why}: building from ${source.archiveKey} (sha256 ${source.archiveSha256}), unpacked to ${target}` };
}

async function unpackStoredArchive(deps: { dataDir: string; artifacts: ArtifactStore }, submissionId: string, source: SubmissionSource, target: string): Promise<void> {
  const incoming = path.join(path.dirname(target), '.incoming', randomUUID());
  mkdirSync(incoming, { recursive: true });
  try {
    const file = path.join(incoming, path.posix.basename(source.archiveKey));
    let found: boolean;
    try {
      found = await deps.artifacts.getFile(source.archiveKey, file);
    } catch (error) {
      const reason = `the artifact store ${deps.artifacts.location} could not give the archive ${source.archiveKey} of ${submissionId}: ${(error as Error).message}`;
      throw failure('BuildInfrastructure', reason);
    }
    if (!found) {
      const reason = `the archive ${source.archiveKey} of ${submissionId} is not in the artifact store ${deps.artifacts.location}; the operators must restore it, or the team uploads again`;
      throw failure('BuildInfrastructure', reason);
    }
    const bytes = readFileSync(file);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    if (sha256 !== source.archiveSha256) {
      const reason = `the archive ${source.archiveKey} of ${submissionId} in the artifact store has sha256 ${sha256}, not the uploaded ${source.archiveSha256}; the operators must check the store`;
      throw failure('BuildInfrastructure', reason);
    }
    let extracted;
    try {
      extracted = await extractArchive(bytes, incoming, HOST_ARCHIVE_LIMITS);
    } catch (error) {
      if (error instanceof ArchiveRejected) throw failure('InvalidSubmission', `the archive ${source.archiveKey} of ${submissionId} cannot be unpacked: ${error.message}`);
      throw error;
    }
    try {
      renameSync(extracted.directory, target);
    } catch (error) {
      // Another build of the same archive on this host got there first: same bytes, same tree.
      if (!existsSync(target)) throw error;
    }
  } finally {
    rmSync(incoming, { recursive: true, force: true });
  }
}
