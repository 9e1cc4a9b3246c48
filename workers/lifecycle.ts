/** Runs workers until they stop (SIGINT/SIGTERM make the SDK shut them down gracefully). */
import type { Worker } from '@temporalio/worker';

export async function runUntilSignalled(workers: Worker[]): Promise<void> {
  const results = await Promise.allSettled(workers.map((worker) => worker.run()));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    console.error('worker stopped with an error:', failed.reason);
    process.exitCode = 1;
  }
}
