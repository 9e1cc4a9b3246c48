/**
 * The fine-tune stage: runs the submission's training container on a GPU with no network, resuming from the
 * newest checkpoint it can find, keeps its output under the track's cap, and stores each declared checkpoint
 * in the artifact store while training goes on (another host resumes from there if this one is lost).
 *
 * In three steps: the set-up (a fresh start's wipe, the free-disk check, the training output of a lost host, the
 * resume choice), the training loop (the container, the cap, the heartbeats, the checkpoints), and the ending
 * (fine-tune-ending.ts decides what it means: a result, a hand-back or a classified failure).
 */
import { Context } from '@temporalio/activity';
import { existsSync, rmSync } from 'node:fs';
import { ACTIVITY_POLICY } from '../../temporal.config.js';
import { artifactKeys } from '../../infra/artifact-store.js';
import type { FineTuneInput, FineTuneResult, TrainingProgress } from '../../contract/types.js';
import { failure, type HostContext } from './context.js';
import { howItEnded, stageLog, startStageContainer, type ContainerEnding, type RetiredContainer, type StageLog } from './container-lifecycle.js';
import { exceedsCap, measureFolder, watchFolder, type FolderUsage } from './disk.js';
import { chooseResume, fineTuneEnding, type ResumeChoice } from './fine-tune-ending.js';
import { beginStage, heartbeatEvery, pause, stopReasonNow, type Stop } from './stage-control.js';
import { countFiles, localTrainingOutput, readProgress, storeTrainingOutput } from './training-output.js';

type Heartbeat = (details: Record<string, unknown>) => void;

/** What the set-up hands the loop. */
interface FineTuneStart {
  dir: string;
  stageStartedAt: number;
  deadline: number;
  resume: ResumeChoice;
}

/** What the loop saw once the container is gone and its output is stored. */
interface TrainingRun {
  retired: RetiredContainer;
  log: StageLog;
  stopDelayMs: number | null;
  ending: ContainerEnding;
  stoppedByCap: FolderUsage | null;
  overCap: FolderUsage | null;
  finalUsage: FolderUsage;
  storedFiles: number;
}

export function createFineTuneActivity(host: HostContext) {
  return async function fineTune(input: FineTuneInput): Promise<FineTuneResult> {
    const started = Date.now();
    const info = Context.current().info;
    const dir = host.artifactsDir(input.submissionId);
    const fresh = input.fresh && info.attempt === 1;
    if (fresh && existsSync(dir)) rmSync(dir, { recursive: true, force: true });
    // Resume from the newest checkpoint: the one the last attempt reported, or the one on disk.
    const reported = (info.heartbeatDetails as { progress?: TrainingProgress | null } | undefined)?.progress ?? null;
    let beatDetails: Record<string, unknown> = { phase: 'setting up', progress: reported };
    const beat = heartbeatEvery(() => beatDetails);
    try {
      const start = await setUpFineTune(host, input, { dir, fresh, reported });
      beatDetails = { ...beatDetails, stageStartedAt: start.stageStartedAt };
      const gpu = await host.gpus.acquire();
      try {
        const run = await trainUntilEnd(host, input, start, gpu.index, (details) => (beatDetails = details));
        const kept = readProgress(dir);
        const artifactFiles = countFiles(dir);
        const { spec, track, disk, config } = host;
        const decided = fineTuneEnding({
          ending: run.ending,
          track,
          hostId: config.hostId,
          attempt: info.attempt,
          disk,
          containerMemory: spec.containerMemory,
          exitCode: run.retired.state.exitCode,
          output: run.retired.output,
          stoppedByCap: run.stoppedByCap,
          overCap: run.overCap,
          finalUsage: run.finalUsage,
          kept,
          artifactFiles,
          storedFiles: run.storedFiles,
          resumedFrom: start.resume.from,
          peakMemoryBytes: run.retired.peakMemoryBytes,
          durationMs: Date.now() - started,
        });
        if (decided.kind === 'hand-back') host.handBack();
        if (decided.kind === 'failure') throw failure(decided.category, decided.reason, decided.details);
        return {
          ending: decided.ending,
          artifactsDir: dir,
          artifactFiles,
          progress: kept,
          resumedFrom: start.resume.from,
          resumedFromSource: start.resume.source,
          storedFiles: run.storedFiles,
          hostId: config.hostId,
          attempt: info.attempt,
          stopDelayMs: run.stopDelayMs,
          peakMemoryBytes: run.retired.peakMemoryBytes,
          durationMs: Date.now() - started,
          logFile: run.log.file,
        };
      } finally {
        gpu.release();
      }
    } finally {
      beat.stop();
      await host.publishLogs(input.submissionId);
    }
  };
}

/**
 * Before the GPU: a fresh start wipes what an older run stored, the host must have the free disk a stage needs, a
 * host without the training output (another one was lost) pulls it from the store, an earlier attempt's
 * container goes, the stage's clock starts, and the newest checkpoint is chosen.
 */
async function setUpFineTune(host: HostContext, input: FineTuneInput, at: { dir: string; fresh: boolean; reported: TrainingProgress | null }): Promise<FineTuneStart> {
  let restored: { restoredFiles: number; durable: TrainingProgress | null } = { restoredFiles: 0, durable: null };
  if (at.fresh) {
    await host.artifacts.deletePrefix(artifactKeys.training(input.submissionId));
    await host.artifacts.deletePrefix(artifactKeys.trainingOutput(input.submissionId));
    host.artifactsFolder(input.submissionId);
  }
  // After a fresh run's wipe (a retry of this refusal must not find an older run's output), before any pull.
  await host.ensureFreeDisk('fine-tune');
  // On a host that has no training output (another one was lost), the store's copy is the starting point.
  if (!at.fresh) restored = await localTrainingOutput(host, input.submissionId);
  await host.clearEarlierAttempts(input.submissionId, input.workflowId, 'fine-tune');
  const stageStartedAt = await beginStage('fine-tune', input.stageStartedAt);
  // A hard crash loses up to one heartbeat interval of reported checkpoints, so the disk counts too. Restored
  // files may include a checkpoint whose push was cut off: the store's own record says which one is whole.
  const onDisk = at.fresh || restored.restoredFiles > 0 ? null : readProgress(at.dir);
  const resume = chooseResume({ heartbeat: at.reported, disk: onDisk, store: restored.durable });
  return { dir: at.dir, stageStartedAt, deadline: stageStartedAt + input.limitMs, resume };
}

/**
 * Runs the training container until it exits, the deadline, a cancellation, a shutdown or the output cap stops
 * it; stores each new checkpoint while it runs and the whole output once it is gone, whatever the ending.
 */
async function trainUntilEnd(host: HostContext, input: FineTuneInput, start: FineTuneStart, gpuIndex: number, heartbeat: Heartbeat): Promise<TrainingRun> {
  const ctx = Context.current();
  const { spec, track, disk } = host;
  const { dir, deadline, resume } = start;
  // Each checkpoint the submission declares goes to the artifact store while training goes on.
  let storedCheckpoint = resume.from?.checkpoint ?? null;
  let storing: Promise<void> | null = null;
  const storeNewCheckpoint = (progress: TrainingProgress | null) => {
    if (storing || !progress?.checkpoint || progress.checkpoint === storedCheckpoint) return;
    storing = storeTrainingOutput(host, input.submissionId, progress, false)
      .then(
        () => {
          storedCheckpoint = progress.checkpoint;
        },
        (error: unknown) => ctx.log.warn('could not store a checkpoint', { checkpoint: progress.checkpoint, store: host.artifacts.location, error: String(error) }),
      )
      .finally(() => {
        storing = null;
      });
  };
  const log = stageLog(host.logFile(input.submissionId, 'fine-tune'), 'plain');
  const container = await startStageContainer(host, {
    stage: 'fine-tune',
    input,
    suffix: '',
    log,
    run: {
      image: input.trainImage,
      memory: spec.containerMemory,
      cpus: spec.containerCpus,
      pids: spec.containerPids,
      network: 'none',
      mounts: [{ host: dir, container: '/artifacts', readOnly: false }],
      env: {
        CHALLENGE_TRACK: track,
        ...(input.oomRetry ? { CHALLENGE_OOM_RETRY: '1' } : {}),
        ...(resume.from?.checkpoint ? { CHALLENGE_RESUME_FROM: resume.from.checkpoint } : {}),
      },
      gpu: spec.gpu === null ? null : gpuIndex,
      readOnlyRoot: true,
    },
  });
  // The output folder is measured against the track's cap on its own timer (the loop below waits on
  // docker inspect): past the cap the container is killed at once.
  const cap: { over: FolderUsage | null; kill: Promise<void> | null } = { over: null, kill: null };
  const output = watchFolder(dir, ACTIVITY_POLICY.diskWatchMs, (usage) => {
    if (cap.over || !exceedsCap(usage, disk)) return;
    cap.over = usage;
    cap.kill = container.kill();
  });
  let stop: Stop | null = null;
  let state = await container.inspect();
  while (state.running && !cap.over) {
    stop = stopReasonNow(ctx, deadline);
    if (stop) break;
    const progress = readProgress(dir);
    storeNewCheckpoint(progress);
    heartbeat({ phase: 'training', container: container.name, gpu: gpuIndex, progress, stageStartedAt: start.stageStartedAt, outputBytes: output.last()?.bytes ?? null });
    await pause(ctx, Math.max(50, Math.min(500, deadline - Date.now())));
    state = await container.inspect();
  }
  await output.stop();
  if (cap.kill) await cap.kill;
  const stopDelayMs = stop ? await container.stop(stop, deadline) : null;
  const retired = await container.retire();
  // Measured once the container is gone: what it wrote last counts too (a fast writer may exit before a
  // measurement sees it past the cap).
  const finalUsage = await measureFolder(dir);
  const overCap = cap.over ?? (exceedsCap(finalUsage, disk) ? finalUsage : null);
  // Whatever the ending, what the training wrote outlives this host (a shutdown too: another host resumes).
  await storing;
  let storedFiles = 0;
  try {
    storedFiles = await storeTrainingOutput(host, input.submissionId, readProgress(dir), true);
  } catch (error) {
    ctx.log.warn('could not store the training output; it is only on this host', { store: host.artifacts.location, error: String(error) });
  }
  const ending = await howItEnded(host, retired, { stoppedBy: stop, overCap: overCap !== null }, { cudaOomInOutput: true, hostDiskInOutput: true, exitedCategory: 'ContainerFailed' });
  return { retired, log, stopDelayMs, ending, stoppedByCap: cap.over, overCap, finalUsage, storedFiles };
}
