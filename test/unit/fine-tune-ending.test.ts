/**
 * The fine-tune activity's pure decisions (activities/host/fine-tune-ending.ts): the checkpoint an attempt
 * resumes from, and what each ending of the training container makes of the attempt.
 */
import { describe, expect, it } from '@jest/globals';
import { TRACKS } from '../../temporal.config.js';
import type { TrainingProgress } from '../../contract/types.js';
import { chooseResume, fineTuneEnding, type FineTuneEndingFacts } from '../../activities/host/fine-tune-ending.js';

const at = (step: number | null, checkpoint: string | null): TrainingProgress => ({ step, checkpoint }) as TrainingProgress;

describe('chooseResume', () => {
  it('starts from scratch when no source has a checkpoint', () => {
    expect(chooseResume({ heartbeat: null, disk: null, store: null })).toEqual({ from: null, source: null });
    expect(chooseResume({ heartbeat: at(40, null), disk: at(10, null), store: null })).toEqual({ from: null, source: null });
  });

  it('takes the newest checkpoint, wherever it was found', () => {
    expect(chooseResume({ heartbeat: at(100, 'ckpt-100'), disk: at(150, 'ckpt-150'), store: at(50, 'ckpt-50') })).toEqual({ from: at(150, 'ckpt-150'), source: 'disk' });
    expect(chooseResume({ heartbeat: at(200, 'ckpt-200'), disk: at(150, 'ckpt-150'), store: null })).toEqual({ from: at(200, 'ckpt-200'), source: 'heartbeat' });
    expect(chooseResume({ heartbeat: null, disk: null, store: at(50, 'ckpt-50') })).toEqual({ from: at(50, 'ckpt-50'), source: 'artifact-store' });
  });

  it('prefers the heartbeat, then the disk, on a tie, and counts a checkpoint without a step as step 0', () => {
    expect(chooseResume({ heartbeat: at(100, 'hb'), disk: at(100, 'disk'), store: at(100, 'store') }).source).toBe('heartbeat');
    expect(chooseResume({ heartbeat: null, disk: at(100, 'disk'), store: at(100, 'store') }).source).toBe('disk');
    expect(chooseResume({ heartbeat: at(null, 'no-step'), disk: at(1, 'one'), store: null })).toEqual({ from: at(1, 'one'), source: 'disk' });
  });
});

const disk = { ...TRACKS.cpu.disk, trainingOutputBytes: 1_000_000, trainingOutputFiles: 100 };
const facts = (over: Partial<FineTuneEndingFacts>): FineTuneEndingFacts => ({
  ending: { cause: 'completed', category: null },
  track: 'cpu',
  hostId: 'host-7',
  attempt: 2,
  disk,
  containerMemory: '1g',
  exitCode: 0,
  output: 'step 1\nstep 2\n',
  stoppedByCap: null,
  overCap: null,
  finalUsage: { bytes: 500, files: 3 },
  kept: at(2, 'ckpt-2'),
  artifactFiles: 3,
  storedFiles: 3,
  resumedFrom: null,
  peakMemoryBytes: 1234,
  durationMs: 900,
  ...over,
});

describe('fineTuneEnding', () => {
  it('a clean exit or a stop by the deadline or the workflow is a result with that ending', () => {
    expect(fineTuneEnding(facts({}))).toEqual({ kind: 'result', ending: 'completed' });
    expect(fineTuneEnding(facts({ ending: { cause: 'stopped', by: 'deadline', category: null } }))).toEqual({ kind: 'result', ending: 'deadline' });
    expect(fineTuneEnding(facts({ ending: { cause: 'stopped', by: 'cancelled', category: null } }))).toEqual({ kind: 'result', ending: 'cancelled' });
  });

  it('a worker shutdown hands the stage back', () => {
    expect(fineTuneEnding(facts({ ending: { cause: 'stopped', by: 'shutdown', category: null } }))).toEqual({ kind: 'hand-back' });
  });

  it('an out-of-memory kill names the track, its memory limit and the evidence', () => {
    const decided = fineTuneEnding(facts({ ending: { cause: 'out-of-memory', evidence: 'OOMKilled', category: 'OutOfMemory' }, output: 'loading\nKilled\n' }));
    expect(decided).toEqual({
      kind: 'failure',
      category: 'OutOfMemory',
      reason: 'training was killed for exceeding the 1g memory limit of track cpu (OOMKilled)',
      details: { logExcerpt: 'loading\nKilled' },
    });
  });

  it("a full host disk is Infrastructure, naming the host's free space and what a stage needs", () => {
    const decided = fineTuneEnding(facts({ ending: { cause: 'host-disk-full', exitCode: 1, freeBytes: 1024 ** 3, category: 'Infrastructure' }, exitCode: 1 }));
    expect(decided.kind === 'failure' && [decided.category, decided.reason]).toEqual([
      'Infrastructure',
      `training exited with status 1 on "no space left on device" while host host-7 had only 1 GiB free in its data folder (the stage needs 5 GiB)`,
    ]);
  });

  it('any other exit (or a container still running) is ContainerFailed with its status', () => {
    for (const ending of [{ cause: 'exited', exitCode: 3, category: 'ContainerFailed' }, { cause: 'running', category: null }] as const) {
      const decided = fineTuneEnding(facts({ ending, exitCode: 3 }));
      expect(decided.kind === 'failure' && [decided.category, decided.reason]).toEqual(['ContainerFailed', 'training exited with status 3']);
    }
  });

  it('the disk cap is DiskQuota with what the attempt kept, whether the host stopped it or it had already exited', () => {
    const stopped = fineTuneEnding(
      facts({
        ending: { cause: 'disk-cap', category: 'DiskQuota' },
        stoppedByCap: { bytes: 1_200_000, files: 7 },
        overCap: { bytes: 1_200_000, files: 7 },
        finalUsage: { bytes: 1_500_000, files: 8 },
        resumedFrom: at(1, 'ckpt-1'),
      }),
    );
    if (stopped.kind !== 'failure') throw new Error(`expected a failure, got ${stopped.kind}`);
    expect(stopped.category).toBe('DiskQuota');
    expect(stopped.reason).toMatch(/^training output reached the cap of track cpu \(.+ and 100 files\) with .+ in 7 files; training was stopped, /);
    expect(stopped.reason).toMatch(/, .+ on disk in the end \(.+ past the cap\); kept the last complete checkpoint ckpt-2 \(step 2\)$/);
    expect(stopped.details.kept).toMatchObject({
      progress: at(2, 'ckpt-2'),
      outputBytes: 1_500_000,
      capBytes: 1_000_000,
      overCapBytes: 500_000,
      stoppedAtBytes: 1_200_000,
      stoppedByCap: true,
      hostId: 'host-7',
      attempt: 2,
      resumedFrom: at(1, 'ckpt-1'),
      peakMemoryBytes: 1234,
    });
    const exited = fineTuneEnding(facts({ ending: { cause: 'disk-cap', category: 'DiskQuota' }, finalUsage: { bytes: 900, files: 150 }, kept: null }));
    if (exited.kind !== 'failure') throw new Error(`expected a failure, got ${exited.kind}`);
    expect(exited.reason).toMatch(/in 150 files; training had already exited, .*\(0 B past the cap\); no checkpoint was declared$/);
    expect(exited.details.kept).toMatchObject({ stoppedByCap: false, overCapBytes: 0, stoppedAtBytes: 900 });
  });
});
