/**
 * The training output of a submission on this host and in the artifact store: what a fine-tune resumes from,
 * and what it leaves behind for another host (the store's copy outlives this one).
 */
import { chmodSync, existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { artifactKeys, type PushOptions } from '../../infra/artifact-store.js';
import type { TrainingProgress } from '../../contract/types.js';
import type { HostContext } from './context.js';

/**
 * The training output on this host: kept when it is here, else pulled from the artifact store (another
 * host trained, or began training, and was lost). Returns the checkpoint the store holds completely.
 */
export async function localTrainingOutput(host: HostContext, submissionId: string): Promise<{ restoredFiles: number; durable: TrainingProgress | null }> {
  const dir = host.artifactsFolder(submissionId);
  if (countFiles(dir) > 0) return { restoredFiles: 0, durable: null };
  const pulled = await host.artifacts.pullDirectory(artifactKeys.trainingOutput(submissionId), dir);
  // The training container runs as an unprivileged user: it must be able to rewrite what it wrote before.
  openUp(dir);
  const stored = await host.artifacts.getText(artifactKeys.checkpoint(submissionId));
  return { restoredFiles: pulled.files, durable: stored ? progressFrom(JSON.parse(stored) as Record<string, unknown>) : null };
}

/**
 * Pushes the training output, then records the checkpoint it holds (in this order: the record never runs ahead).
 * `final`: the training container is gone. Files the store may share rather than copy (a folder store on the
 * same filesystem hard-links them, see infra/artifact-store-fs.ts): the declared checkpoint's while training
 * runs (complete, written once), every file once the container is gone. Files the training deleted leave the
 * store only after the record points at the new checkpoint, so the store holds about what the folder holds.
 */
export async function storeTrainingOutput(host: HostContext, submissionId: string, progress: TrainingProgress | null, final: boolean): Promise<number> {
  const dir = host.artifactsDir(submissionId);
  const prefix = artifactKeys.trainingOutput(submissionId);
  const complete = final ? () => true : checkpointFiles(progress?.checkpoint ?? null);
  const options: PushOptions = { prune: final, complete };
  const pushed = await host.artifacts.pushDirectory(dir, prefix, options);
  if (progress) await host.artifacts.putText(artifactKeys.checkpoint(submissionId), JSON.stringify(progress));
  if (!final && progress?.checkpoint) {
    const pruning: PushOptions = { prune: true, complete };
    await host.artifacts.pushDirectory(dir, prefix, pruning);
  }
  return pushed.files;
}

/** The files of a declared checkpoint (a file or a folder, relative to the training output): complete, written once. */
export function checkpointFiles(checkpoint: string | null): (relativePath: string) => boolean {
  const base = checkpoint?.replace(/^\.?\/+/, '').replace(/\/+$/, '') ?? '';
  if (base === '' || base.split('/').includes('..')) return () => false;
  return (relativePath) => relativePath === base || relativePath.startsWith(`${base}/`);
}

export function progressFrom(raw: Record<string, unknown>): TrainingProgress {
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  return { step: num(raw.step), totalSteps: num(raw.totalSteps), checkpoint: typeof raw.checkpoint === 'string' ? raw.checkpoint : null };
}

export function readProgress(dir: string): TrainingProgress | null {
  try {
    return progressFrom(JSON.parse(readFileSync(path.join(dir, 'progress.json'), 'utf8')) as Record<string, unknown>);
  } catch {
    return null;
  }
}

/** Folders 0777 and files 0666 under `dir` (restored files belong to the worker; the container's user rewrites them). */
function openUp(dir: string): void {
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const full = path.join(entry.parentPath, entry.name);
    if (entry.isDirectory()) chmodSync(full, 0o777);
    else if (entry.isFile()) chmodSync(full, statSync(full).mode | 0o666);
  }
}

export function countFiles(dir: string): number {
  if (!existsSync(dir)) return 0;
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((entry) => entry.isFile()).length;
}
