/**
 * Every way a stage can end other than success has a name, a reason and whether the participant is
 * charged for it. Plain data so the workflow, the database, the CLI and the web page share it.
 */
export const FAILURE_CATEGORIES = {
  BuildFailed: { charged: true, retryable: false, meaning: 'the submission image did not build (a Dockerfile step failed)' },
  BuildInfrastructure: { charged: false, retryable: true, meaning: 'the build failed for reasons of our infrastructure (engine, disk, network)' },
  StartupFailed: { charged: true, retryable: false, meaning: 'the inference server gave no valid answer within the start-up limit' },
  OutOfMemory: { charged: true, retryable: false, meaning: 'a container was killed for exceeding its memory limit, or reported CUDA out of memory' },
  TimeLimit: { charged: true, retryable: false, meaning: 'the stage reached its time limit; what it produced was kept' },
  ServerCrashed: { charged: true, retryable: false, meaning: 'the inference server exited during the evaluation' },
  ContainerFailed: { charged: true, retryable: false, meaning: 'the training container exited with a non-zero status' },
  DiskQuota: {
    charged: true,
    retryable: false,
    meaning: "training output reached the track's disk cap; training was stopped and its last complete checkpoint kept",
  },
  ContractViolation: { charged: true, retryable: false, meaning: 'the server answered outside the published contract' },
  InvalidSubmission: { charged: true, retryable: false, meaning: 'the submission files do not follow the submission format' },
  Infrastructure: { charged: false, retryable: true, meaning: 'our own infrastructure failed; the participant is not charged' },
  Cancelled: { charged: false, retryable: false, meaning: 'an operator cancelled the pipeline' },
  NotReproduced: {
    charged: true,
    retryable: false,
    meaning: "the platform re-ran the team's training and the scores of what it produced differ from the submitted ones beyond the competition's tolerance",
  },
} as const;

export type FailureCategory = keyof typeof FAILURE_CATEGORIES;
export const FAILURE_CATEGORY_NAMES = Object.keys(FAILURE_CATEGORIES) as FailureCategory[];

export function isFailureCategory(value: unknown): value is FailureCategory {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(FAILURE_CATEGORIES, value);
}

/** How one stage of one pipeline ended. */
export type StageOutcome = 'succeeded' | 'partial' | 'failed' | 'skipped';

/** The details a failure carries from an activity to the workflow and the database (kept small). */
export interface FailureDetails {
  category: FailureCategory;
  reason: string;
  /** e.g. the failing Dockerfile step */
  step?: string;
  /** the last lines of the relevant log, at most a few KiB */
  logExcerpt?: string;
  /**
   * What a stage that ended this way produced and kept (small values: the checkpoint it points to, sizes),
   * recorded with the stage; e.g. DiskQuota keeps the training output up to its last complete checkpoint.
   */
  kept?: Record<string, unknown>;
}

/**
 * The last `maxLines` lines of a log, without trailing blank lines or carriage returns, and at most `maxChars`
 * characters (cut at the front, marked "…"). The one log-tail helper: failure excerpts, the web page's log
 * views and the CLI's `logs` all use it (infra/log-files.ts reads the end of a file into it).
 */
export function logExcerpt(log: string, maxLines = 30, maxChars = 4000): string {
  const lines = log.replace(/\r/g, '').split('\n');
  while (lines.length > 0 && lines[lines.length - 1]!.trim() === '') lines.pop();
  const tail = lines.slice(-maxLines).join('\n');
  return tail.length > maxChars ? `…${tail.slice(tail.length - maxChars)}` : tail;
}
