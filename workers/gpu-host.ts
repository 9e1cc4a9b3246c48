/**
 * A GPU host of one track. Three workers share one process and one GPU pool:
 *  - the shared track queue answers `claimHost` (any host of the track may take a new submission);
 *  - the host GPU queue runs fine-tuning and evaluation, with as many slots as the host has GPUs;
 *  - the host CPU queue runs docker builds next to the images they produce.
 * Activity-only: no workflow bundle is built here.
 *
 * Usage: node dist/workers/gpu-host.js --track <a100-40gb|4090-24gb|cpu>  (slots: CHALLENGE_GPU_SLOTS)
 */
import { Worker } from '@temporalio/worker';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { TASK_QUEUES, TrackId, loadRuntimeConfig, type RuntimeConfig } from '../temporal.config.js';
import { createHostActivities } from '../activities/host.js';
import { GpuPool } from '../infra/gpu-pool.js';
import { ResultsDb } from '../infra/results-db.js';
import { connectWorker } from '../infra/temporal.js';
import { runUntilSignalled } from './lifecycle.js';

export async function createGpuHostWorkers(config: RuntimeConfig, track: TrackId): Promise<{ workers: Worker[]; db: ResultsDb }> {
  const connection = await connectWorker(config);
  const db = new ResultsDb(config.databasePath);
  const activities = createHostActivities({ config, track, gpus: new GpuPool(config.gpuSlots), db });
  // On SIGTERM a stage gets this long to finish; after that it is handed back and resumes elsewhere.
  const graceMs = Number(process.env.CHALLENGE_SHUTDOWN_GRACE_MS ?? 20_000);
  const common = { connection, namespace: config.namespace, shutdownGraceTime: graceMs, shutdownForceTime: graceMs + 15_000 } as const;
  const workers = await Promise.all([
    Worker.create({
      ...common,
      taskQueue: TASK_QUEUES.track(track),
      activities: { claimHost: activities.claimHost },
      identity: `claim@${config.hostId}`,
    }),
    Worker.create({
      ...common,
      taskQueue: TASK_QUEUES.hostGpu(track, config.hostId),
      activities: { fineTune: activities.fineTune, evaluate: activities.evaluate },
      maxConcurrentActivityTaskExecutions: config.gpuSlots,
      identity: `gpu@${config.hostId}`,
    }),
    Worker.create({
      ...common,
      taskQueue: TASK_QUEUES.hostCpu(track, config.hostId),
      activities: { buildImages: activities.buildImages },
      maxConcurrentActivityTaskExecutions: 2,
      identity: `build@${config.hostId}`,
    }),
  ]);
  return { workers, db };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { track: { type: 'string', default: 'cpu' } } });
  const track = TrackId.safeParse(values.track);
  if (!track.success) {
    console.error(`--track: "${values.track}" is not a track; use one of ${TrackId.options.join(', ')}`);
    process.exit(2);
  }
  const config = loadRuntimeConfig();
  const { workers, db } = await createGpuHostWorkers(config, track.data);
  console.log(`gpu host ${config.hostId} (${track.data}, ${config.gpuSlots} slots) on ${config.temporalAddress}`);
  await runUntilSignalled(workers);
  db.close();
}
