/**
 * The fine-tune activity's decisions, as pure functions (activities/host/fine-tune.ts runs the training container,
 * then asks these): which checkpoint an attempt resumes from, and what an ending of the container means — a
 * FineTuneResult's ending, a hand-back on worker shutdown, or a classified failure with what it kept. No I/O and
 * no clock: what the attempt found and measured comes in, a decision goes out.
 */
import { formatBytes, type DiskLimits, type TrackId } from '../../temporal.config.js';
import { logExcerpt, type FailureCategory, type FailureDetails } from '../../domain/failures.js';
import type { FineTuneResult, TrainingProgress } from '../../contract/types.js';
import type { ContainerEnding } from './container-lifecycle.js';
import type { FolderUsage } from './disk.js';

export type ResumeSource = NonNullable<FineTuneResult['resumedFromSource']>;

/** The checkpoint an attempt resumes from and where it was found; both null for a start from scratch. */
export interface ResumeChoice {
  from: TrainingProgress | null;
  source: ResumeSource | null;
}

/**
 * The newest checkpoint (highest step) of those the attempt knows of: the one the last attempt heartbeated, the
 * one on this host's disk, and the one the artifact store holds whole (pulled when this host had none). A
 * progress without a checkpoint does not count; on a tie the earlier source in that order wins.
 */
export function chooseResume(known: { heartbeat: TrainingProgress | null; disk: TrainingProgress | null; store: TrainingProgress | null }): ResumeChoice {
  const candidates: [TrainingProgress | null, ResumeSource][] = [
    [known.heartbeat, 'heartbeat'],
    [known.disk, 'disk'],
    [known.store, 'artifact-store'],
  ];
  const withCheckpoint = candidates.filter((c): c is [TrainingProgress, ResumeSource] => c[0]?.checkpoint != null);
  const [newest] = withCheckpoint.sort((a, b) => (b[0].step ?? 0) - (a[0].step ?? 0));
  return newest ? { from: newest[0], source: newest[1] } : { from: null, source: null };
}

/** What the attempt knows once the training container is gone and its output is stored. */
export interface FineTuneEndingFacts {
  ending: ContainerEnding;
  track: TrackId;
  hostId: string;
  attempt: number;
  disk: DiskLimits;
  /** The track's docker --memory for training (named in an out-of-memory failure). */
  containerMemory: string;
  /** The container's exit status (an `exited` ending). */
  exitCode: number | null;
  /** Its last lines of output (the failure's excerpt). */
  output: string;
  /** The measurement that crossed the cap while training ran (the host stopped it), null when none did. */
  stoppedByCap: FolderUsage | null;
  /** Over the cap: the measurement that crossed it (stoppedByCap, else the final one); null when under it. */
  overCap: FolderUsage | null;
  /** The training output measured once the container was gone. */
  finalUsage: FolderUsage;
  /** The progress the output declares now (its last complete checkpoint). */
  kept: TrainingProgress | null;
  artifactFiles: number;
  storedFiles: number;
  resumedFrom: TrainingProgress | null;
  peakMemoryBytes: number | null;
  durationMs: number;
}

export type FineTuneEnding =
  | { kind: 'result'; ending: FineTuneResult['ending'] }
  /** A worker shutdown stopped it: the stage is handed back and resumes from its last checkpoint. */
  | { kind: 'hand-back' }
  | { kind: 'failure'; category: FailureCategory; reason: string; details: Partial<FailureDetails> };

/** What an ending of the training container makes of the attempt. */
export function fineTuneEnding(facts: FineTuneEndingFacts): FineTuneEnding {
  const { ending, track, disk } = facts;
  const excerpt = { logExcerpt: logExcerpt(facts.output) };
  switch (ending.cause) {
    case 'stopped':
      return ending.by === 'shutdown' ? { kind: 'hand-back' } : { kind: 'result', ending: ending.by };
    case 'completed':
      return { kind: 'result', ending: 'completed' };
    case 'disk-cap':
      return diskCapFailure(facts, ending.category);
    case 'out-of-memory':
      return {
        kind: 'failure',
        category: ending.category,
        reason: `training was killed for exceeding the ${facts.containerMemory} memory limit of track ${track} (${ending.evidence})`,
        details: excerpt,
      };
    case 'host-disk-full':
      return {
        kind: 'failure',
        category: ending.category,
        reason:
          `training exited with status ${ending.exitCode} on "no space left on device" while host ${facts.hostId} had only ` +
          `${formatBytes(ending.freeBytes)} free in its data folder (the stage needs ${formatBytes(disk.minFreeBytes)})`,
        details: excerpt,
      };
    case 'running': // not reached: the loop ends when the container stops (or is stopped)
    case 'exited':
      return { kind: 'failure', category: 'ContainerFailed', reason: `training exited with status ${facts.exitCode}`, details: excerpt };
  }
}

/** Charged, with what it kept: the stage goes on to the evaluations with the last complete checkpoint. */
function diskCapFailure(facts: FineTuneEndingFacts, category: FailureCategory): FineTuneEnding {
  const { disk, finalUsage, kept, stoppedByCap } = facts;
  const over = facts.overCap ?? finalUsage;
  const pastCap = Math.max(0, finalUsage.bytes - disk.trainingOutputBytes);
  const capText = `${formatBytes(disk.trainingOutputBytes)} and ${disk.trainingOutputFiles.toLocaleString('en-US')} files`;
  const keptText = kept?.checkpoint ? `kept the last complete checkpoint ${kept.checkpoint}${kept.step !== null ? ` (step ${kept.step})` : ''}` : 'no checkpoint was declared';
  return {
    kind: 'failure',
    category,
    reason:
      `training output reached the cap of track ${facts.track} (${capText}) with ${formatBytes(over.bytes)} in ${over.files} files; ` +
      `${stoppedByCap ? 'training was stopped' : 'training had already exited'}, ${formatBytes(finalUsage.bytes)} on disk in the end ` +
      `(${formatBytes(pastCap)} past the cap); ${keptText}`,
    details: {
      logExcerpt: logExcerpt(facts.output),
      kept: {
        progress: kept,
        artifactFiles: facts.artifactFiles,
        storedFiles: facts.storedFiles,
        outputBytes: finalUsage.bytes,
        outputFiles: finalUsage.files,
        capBytes: disk.trainingOutputBytes,
        capFiles: disk.trainingOutputFiles,
        overCapBytes: pastCap,
        stoppedAtBytes: over.bytes,
        stoppedByCap: stoppedByCap !== null,
        hostId: facts.hostId,
        attempt: facts.attempt,
        resumedFrom: facts.resumedFrom,
        peakMemoryBytes: facts.peakMemoryBytes,
        durationMs: facts.durationMs,
      },
    },
  };
}
