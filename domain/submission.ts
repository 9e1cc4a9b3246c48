/**
 * The submission format: a directory with `submission.json`, `Dockerfile` (inference server on port 80)
 * and `Dockerfile.train` (fine-tuning; writes to /artifacts). Every error names the file, the field
 * and what to do about it.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { TrackId } from '../temporal.config.js';

const Slug = z
  .string()
  .min(2)
  .max(40)
  .regex(/^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/, 'use 2-40 lowercase letters, digits and dashes, starting and ending with a letter or digit');

export const TrainingDataset = z.object({
  path: z.string().min(1).describe('path of the file inside the submission directory'),
  description: z.string().min(1).optional(),
  license: z.string().min(1).optional(),
});

export const SubmissionManifest = z
  .object({
    schemaVersion: z.literal(1, { error: 'schemaVersion must be 1 (the only published version)' }),
    team: Slug,
    submission: Slug,
    track: TrackId,
    baseModel: z.string().min(1, 'name the base model you fine-tuned (e.g. "mistralai/Mistral-7B-v0.1")'),
    trainingData: z.array(TrainingDataset).default([]),
  })
  .strict();
export type SubmissionManifest = z.infer<typeof SubmissionManifest>;

export const REQUIRED_FILES = ['submission.json', 'Dockerfile', 'Dockerfile.train'] as const;
/** What an inference-only run needs (a phase without fine-tuning): the weights are in the image or fetched at build time. */
export const INFERENCE_ONLY_FILES = ['submission.json', 'Dockerfile'] as const;

export interface LoadOptions {
  /** The submission is evaluated as built (a phase without fine-tune): Dockerfile.train is not required. */
  inferenceOnly?: boolean;
}

export class SubmissionError extends Error {
  constructor(
    readonly directory: string,
    readonly problems: string[],
  ) {
    super(`submission ${directory} is not valid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'SubmissionError';
  }
}

export interface LoadedSubmission {
  directory: string;
  manifest: SubmissionManifest;
  /** Stable id used for the workflow id, container names and database keys. */
  submissionId: string;
}

export function submissionIdOf(manifest: Pick<SubmissionManifest, 'team' | 'submission'>): string {
  return `${manifest.team}.${manifest.submission}`;
}

/** Reads and validates a submission directory; collects every problem before failing. */
export function loadSubmission(directory: string, trackOverride?: string, options: LoadOptions = {}): LoadedSubmission {
  const dir = path.resolve(directory);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new SubmissionError(dir, [`${dir} is not a directory: pass the folder that holds submission.json, Dockerfile and Dockerfile.train`]);
  }
  const problems: string[] = [];
  for (const file of options.inferenceOnly ? INFERENCE_ONLY_FILES : REQUIRED_FILES) {
    if (!existsSync(path.join(dir, file))) problems.push(`${file}: missing; add it at the top of the submission directory`);
  }
  let manifest: SubmissionManifest | undefined;
  const manifestPath = path.join(dir, 'submission.json');
  if (existsSync(manifestPath)) {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(manifestPath, 'utf8'));
    } catch (error) {
      problems.push(`submission.json: not valid JSON (${(error as Error).message}); fix the syntax`);
    }
    if (raw !== undefined) {
      if (trackOverride !== undefined && typeof raw === 'object' && raw !== null) raw = { ...raw, track: trackOverride };
      const parsed = SubmissionManifest.safeParse(raw);
      if (parsed.success) {
        manifest = parsed.data;
        manifest.trainingData.forEach((dataset, index) => {
          const resolved = path.resolve(dir, dataset.path);
          if (!resolved.startsWith(dir + path.sep)) {
            problems.push(`submission.json: trainingData[${index}].path "${dataset.path}" points outside the submission; use a path inside it`);
          } else if (!existsSync(resolved)) {
            problems.push(`submission.json: trainingData[${index}].path "${dataset.path}" does not exist; add the file or fix the path`);
          }
        });
      } else {
        for (const issue of parsed.error.issues) {
          const field = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
          const source = field === 'track' && trackOverride !== undefined ? '--track' : `submission.json: field ${field}`;
          problems.push(`${source}: ${issue.message}${issue.code === 'invalid_value' && field === 'track' ? ` (one of ${TrackId.options.join(', ')})` : ''}`);
        }
      }
    }
  }
  if (problems.length > 0 || !manifest) throw new SubmissionError(dir, problems);
  return { directory: dir, manifest, submissionId: submissionIdOf(manifest) };
}
