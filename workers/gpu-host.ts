/**
 * A GPU host of one track. Three workers share one process and one GPU pool:
 *  - the shared track queue answers `claimHost` for pipelines started before the load-aware placement; newer
 *    ones get their host from the track's placement workflow, to which the host announces its slots;
 *  - the host GPU queue runs fine-tuning and evaluation, with as many slots as the host has GPUs;
 *  - the host CPU queue runs docker builds next to the images they produce.
 * While the workers run, the host records itself in the results database every few seconds: that is how
 * the orchestrator tells a busy host (keeps its submissions) from a lost one (they move to another host).
 * Activity-only: no workflow bundle is built here.
 *
 * Usage: node dist/workers/gpu-host.js --track <a100-40gb|4090-24gb|cpu>  (slots: CHALLENGE_GPU_SLOTS; every variable
 * it reads is in infra/environment.ts)
 */
import { Worker } from '@temporalio/worker';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Client } from '@temporalio/client';
import { ACTIVITY_POLICY, PLACEMENT_POLICY, TASK_QUEUES, TRACKS, TrackId } from '../temporal.config.js';
import { loadHostSettings, loadRuntimeConfig, type HostSettings, type RuntimeConfig } from '../infra/runtime-config.js';
import { announceHost, withdrawHost } from '../activities/placement.js';
import { createHostActivities, removeOrphanContainers } from '../activities/host.js';
import { GpuPool } from '../infra/gpu-pool.js';
import type { ResultsStore } from '../infra/results-store.js';
import { openResultsStore } from '../infra/open-results-store.js';
import { openArtifactStore } from '../infra/open-artifact-store.js';
import { connectClient, connectWorker } from '../infra/temporal.js';
import { docker, hostBuildPrefix } from '../infra/docker.js';
import { NO_PROCESS_LIMIT_VARIABLE, probeBuildProcessLimit } from '../infra/build-cgroup.js';
import { describeReaped, reapBuildSandboxes } from '../infra/build-reaper.js';
import { dockerContainerRuntime } from '../infra/container-runtime.js';
import { runUntilSignalled } from './lifecycle.js';

export async function createGpuHostWorkers(
  config: RuntimeConfig,
  track: TrackId,
  settings: HostSettings = loadHostSettings(),
): Promise<{ workers: Worker[]; db: ResultsStore }> {
  const connection = await connectWorker(config);
  const db = await openResultsStore(config);
  const artifacts = await openArtifactStore(config.artifactStore);
  const gpus = new GpuPool(config.gpuSlots);
  const activities = createHostActivities({ config, track, gpus, db, artifacts, runtime: dockerContainerRuntime, diskOverrides: settings.disk });
  // On SIGTERM a stage gets this long to finish; after that it is handed back and resumes elsewhere.
  const graceMs = settings.shutdownGraceMs;
  const common = { connection, namespace: config.temporal.namespace, shutdownGraceTime: graceMs, shutdownForceTime: graceMs + 15_000 } as const;
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

/** Records the host as alive at once and every ACTIVITY_POLICY.hostBeatMs; a failed write is retried at the next beat. */
export function recordLiveness(db: ResultsStore, config: RuntimeConfig, track: TrackId): { stop: () => Promise<void> } {
  let last: Promise<void> = Promise.resolve();
  const beat = () => {
    last = Promise.resolve(db.recordHostSeen({ hostId: config.hostId, track, slots: config.gpuSlots, at: new Date().toISOString() })).catch((error: unknown) => {
      console.error(`host ${config.hostId}: could not record liveness in ${db.location}: ${String(error)}`);
    });
  };
  beat();
  const timer = setInterval(beat, ACTIVITY_POLICY.hostBeatMs);
  return {
    stop: async () => {
      clearInterval(timer);
      await last;
    },
  };
}

/**
 * Offers the host's slots to its track's placement now and every PLACEMENT_POLICY.hostAnnounceMs (a placement
 * that took the host out of service after a failover takes it back); stop() withdraws it (no new submissions).
 */
export function announceSlots(client: Client, config: RuntimeConfig, track: TrackId): { stop: () => Promise<void> } {
  let last: Promise<void> = Promise.resolve();
  const announce = () => {
    last = announceHost(client, track, config.hostId, config.gpuSlots).catch((error: unknown) => {
      console.error(`host ${config.hostId}: could not announce its slots to the ${track} placement: ${String(error)}`);
    });
  };
  announce();
  const timer = setInterval(announce, PLACEMENT_POLICY.hostAnnounceMs);
  return {
    stop: async () => {
      clearInterval(timer);
      await last;
      await withdrawHost(client, track, config.hostId).catch((error: unknown) => {
        console.error(`host ${config.hostId}: could not withdraw from the ${track} placement: ${String(error)}`);
      });
    },
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { track: { type: 'string', default: 'cpu' } } });
  const track = TrackId.safeParse(values.track);
  if (!track.success) {
    console.error(`--track: "${values.track}" is not a track; use one of ${TrackId.options.join(', ')}`);
    process.exit(2);
  }
  const config = loadRuntimeConfig();
  if (TRACKS[track.data].gpu !== null) {
    // A GPU track host whose containers cannot see a GPU would fail every stage it takes: refuse to start.
    const probe = await docker(['run', '--rm', '--gpus', 'device=0', config.baseImage, 'true']);
    if (probe.exitCode !== 0) {
      console.error(
        `gpu host ${config.hostId}: track ${track.data} needs GPUs in containers, but \`docker run --gpus device=0\` failed:\n${(probe.all ?? '').trim()}\n` +
          'Run scripts/ensure-gpu.sh: it sets up the NVIDIA container runtime or prints what to install.',
      );
      process.exit(3);
    }
  }
  // Builds run under a process limit (infra/build-cgroup.ts) on whichever cgroup hierarchy the engine uses, or not at all.
  const limit = await probeBuildProcessLimit();
  if (limit.refused) {
    console.error(
      `gpu host ${config.hostId}: builds cannot be given a process limit on this engine (${limit.description}): ${limit.refused}\n` +
        `A build without one could fork until the host stalls. Fix the cgroup set-up, or set ${NO_PROCESS_LIMIT_VARIABLE}=1 to run builds without a process limit.`,
    );
    process.exit(4);
  }
  if (limit.note) console.warn(`gpu host ${config.hostId}: ${limit.note}`);
  console.log(`gpu host ${config.hostId}: build process limit: ${limit.description}`);
  // A worker that died mid-build left its sandbox behind: network, step containers, firewall chain, cgroup.
  const reaped = describeReaped(await reapBuildSandboxes(hostBuildPrefix(config.hostId, config.dataDir)));
  if (reaped) console.log(`gpu host ${config.hostId}: removed what an earlier worker process left of its builds: ${reaped}`);
  const orphans = await removeOrphanContainers(config);
  if (orphans.length > 0) console.log(`gpu host ${config.hostId}: removed ${orphans.length} container(s) an earlier worker process left running: ${orphans.join(', ')}`);
  const { workers, db } = await createGpuHostWorkers(config, track.data);
  const liveness = recordLiveness(db, config, track.data);
  const client = await connectClient(config);
  const placement = announceSlots(client, config, track.data);
  console.log(`gpu host ${config.hostId} (${track.data}, ${config.gpuSlots} slots) on ${config.temporal.address}`);
  try {
    await runUntilSignalled(workers);
  } finally {
    await placement.stop();
    await client.connection.close();
    await liveness.stop();
    await db.close();
  }
}
