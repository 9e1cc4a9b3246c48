/**
 * The fine-tune stage: runs the submission's training container on a GPU with no network, resuming from the
 * newest checkpoint it can find, keeps its output under the track's cap, and stores each declared checkpoint
 * in the artifact store while training goes on (another host resumes from there if this one is lost).
 */
import { Context } from '@temporalio/activity';
import { existsSync, rmSync } from 'node:fs';
import { ACTIVITY_POLICY, formatBytes } from '../../temporal.config.js';
import { logExcerpt } from '../../domain/failures.js';
import { artifactKeys } from '../../infra/artifact-store.js';
import type { FineTuneInput, FineTuneResult, TrainingProgress } from '../../contract/types.js';
import { failure, type HostContext } from './context.js';
import { howItEnded, stageLog, startStageContainer } from './container-lifecycle.js';
import { exceedsCap, measureFolder, watchFolder, type FolderUsage } from './disk.js';
import { beginStage, heartbeatEvery, pause, stopReasonNow, type Stop } from './stage-control.js';
import { countFiles, localTrainingOutput, readProgress, storeTrainingOutput } from './training-output.js';

type ResumeSource = NonNullable<FineTuneResult['resumedFromSource']>;

export function createFineTuneActivity(host: HostContext) {
  const { config, track, spec, disk } = host;

  return async function fineTune(input: FineTuneInput): Promise<FineTuneResult> {
    const started = Date.now();
    const ctx = Context.current();
    const info = ctx.info;
    const dir = host.artifactsDir(input.submissionId);
    const fresh = input.fresh && info.attempt === 1;
    if (fresh && existsSync(dir)) rmSync(dir, { recursive: true, force: true });
    // Resume from the newest checkpoint: the one the last attempt reported, or the one on disk.
    const reported = (info.heartbeatDetails as { progress?: TrainingProgress | null } | undefined)?.progress ?? null;
    let beatDetails: Record<string, unknown> = { phase: 'setting up', progress: reported };
    const beat = heartbeatEvery(() => beatDetails);
    try {
      let restored: { restoredFiles: number; durable: TrainingProgress | null } = { restoredFiles: 0, durable: null };
      if (fresh) {
        await host.artifacts.deletePrefix(artifactKeys.training(input.submissionId));
        await host.artifacts.deletePrefix(artifactKeys.trainingOutput(input.submissionId));
        host.artifactsFolder(input.submissionId);
      }
      // After a fresh run's wipe (a retry of this refusal must not find an older run's output), before any pull.
      await host.ensureFreeDisk('fine-tune');
      if (!fresh) {
        // On a host that has no training output (another one was lost), the store's copy is the starting point.
        restored = await localTrainingOutput(host, input.submissionId);
      }
      await host.clearEarlierAttempts(input.submissionId, input.workflowId, 'fine-tune');
      const stageStartedAt = await beginStage('fine-tune', input.stageStartedAt);
      beatDetails = { ...beatDetails, stageStartedAt };
      const deadline = stageStartedAt + input.limitMs;
      // The newest of them: a hard crash loses up to one heartbeat interval of reported checkpoints. Restored
      // files may include a checkpoint whose push was cut off: the store's own record says which one is whole.
      const onDisk = fresh || restored.restoredFiles > 0 ? null : readProgress(dir);
      const candidates: [TrainingProgress | null, ResumeSource][] = [
        [reported, 'heartbeat'],
        [onDisk, 'disk'],
        [restored.durable, 'artifact-store'],
      ];
      const [resumeFrom, resumedFromSource] =
        candidates.filter((c): c is [TrainingProgress, ResumeSource] => c[0]?.checkpoint != null).sort((a, b) => (b[0].step ?? 0) - (a[0].step ?? 0))[0] ?? [null, null];
      // Each checkpoint the submission declares goes to the artifact store while training goes on.
      let storedCheckpoint = resumeFrom?.checkpoint ?? null;
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
      const gpu = await host.gpus.acquire();
      const log = stageLog(host.logFile(input.submissionId, 'fine-tune'), 'plain');
      try {
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
              ...(resumeFrom?.checkpoint ? { CHALLENGE_RESUME_FROM: resumeFrom.checkpoint } : {}),
            },
            gpu: spec.gpu === null ? null : gpu.index,
            readOnlyRoot: true,
          },
        });
        const name = container.name;
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
          beatDetails = { phase: 'training', container: name, gpu: gpu.index, progress, stageStartedAt, outputBytes: output.last()?.bytes ?? null };
          await pause(ctx, Math.max(50, Math.min(500, deadline - Date.now())));
          state = await container.inspect();
        }
        await output.stop();
        if (cap.kill) await cap.kill;
        const stopDelayMs = stop ? await container.stop(stop, deadline) : null;
        const retired = await container.retire();
        const { peakMemoryBytes, output: logs } = retired;
        // Measured once the container is gone: what it wrote last counts too (a fast writer may exit before a
        // measurement sees it past the cap).
        const finalUsage = await measureFolder(dir);
        const quota = cap.over ?? (exceedsCap(finalUsage, disk) ? finalUsage : null);
        // Whatever the ending, what the training wrote outlives this host (a shutdown too: another host resumes).
        await storing;
        let storedFiles = 0;
        try {
          storedFiles = await storeTrainingOutput(host, input.submissionId, readProgress(dir), true);
        } catch (error) {
          ctx.log.warn('could not store the training output; it is only on this host', { store: host.artifacts.location, error: String(error) });
        }
        const ending = await howItEnded(host, retired, { stoppedBy: stop, overCap: quota !== null }, { cudaOomInOutput: true, hostDiskInOutput: true, exitedCategory: 'ContainerFailed' });
        switch (ending.cause) {
          case 'stopped':
            if (ending.by === 'shutdown') host.handBack();
            break;
          case 'disk-cap': {
            // Charged, with what it kept: the stage goes on to the evaluations with the last complete checkpoint.
            const over = quota ?? finalUsage;
            const kept = readProgress(dir);
            const capText = `${formatBytes(disk.trainingOutputBytes)} and ${disk.trainingOutputFiles.toLocaleString('en-US')} files`;
            const keptText = kept?.checkpoint
              ? `kept the last complete checkpoint ${kept.checkpoint}${kept.step !== null ? ` (step ${kept.step})` : ''}`
              : 'no checkpoint was declared';
            throw failure(
              ending.category,
              `training output reached the cap of track ${track} (${capText}) with ${formatBytes(over.bytes)} in ${over.files} files; ` +
                `${cap.over ? 'training was stopped' : 'training had already exited'}, ${formatBytes(finalUsage.bytes)} on disk in the end ` +
                `(${formatBytes(Math.max(0, finalUsage.bytes - disk.trainingOutputBytes))} past the cap); ${keptText}`,
              {
                logExcerpt: logExcerpt(logs),
                kept: {
                  progress: kept,
                  artifactFiles: countFiles(dir),
                  storedFiles,
                  outputBytes: finalUsage.bytes,
                  outputFiles: finalUsage.files,
                  capBytes: disk.trainingOutputBytes,
                  capFiles: disk.trainingOutputFiles,
                  overCapBytes: Math.max(0, finalUsage.bytes - disk.trainingOutputBytes),
                  stoppedAtBytes: over.bytes,
                  stoppedByCap: cap.over !== null,
                  hostId: config.hostId,
                  attempt: info.attempt,
                  resumedFrom: resumeFrom,
                  peakMemoryBytes,
                  durationMs: Date.now() - started,
                },
              },
            );
          }
          case 'out-of-memory':
            throw failure(ending.category, `training was killed for exceeding the ${spec.containerMemory} memory limit of track ${track} (${ending.evidence})`, {
              logExcerpt: logExcerpt(logs),
            });
          case 'host-disk-full':
            throw failure(
              ending.category,
              `training exited with status ${ending.exitCode} on "no space left on device" while host ${config.hostId} had only ` +
                `${formatBytes(ending.freeBytes)} free in its data folder (the stage needs ${formatBytes(disk.minFreeBytes)})`,
              { logExcerpt: logExcerpt(logs) },
            );
          case 'running': // not reached: the loop above ends when the container stops (or is stopped)
          case 'exited':
            throw failure('ContainerFailed', `training exited with status ${retired.state.exitCode}`, { logExcerpt: logExcerpt(logs) });
          case 'completed':
            break;
        }
        return {
          ending: stop === 'deadline' || stop === 'cancelled' ? stop : 'completed',
          artifactsDir: dir,
          artifactFiles: countFiles(dir),
          progress: readProgress(dir),
          resumedFrom: resumeFrom,
          resumedFromSource,
          storedFiles,
          hostId: config.hostId,
          attempt: info.attempt,
          stopDelayMs,
          peakMemoryBytes,
          durationMs: Date.now() - started,
          logFile: log.file,
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
