/**
 * The life of one stage container, the same for the training container and the inference server: started under
 * the attempt's own name and labels within the track's bounds, its memory watched while it runs, killed when the
 * stage is stopped, then retired whatever way it ended (peak memory, final state, output saved to the stage log,
 * removed); `howItEnded` then says why it stopped, in the failure categories of domain/failures.ts.
 * What the stage does while the container runs (poll training progress, drive the evaluation) stays in the stage.
 */
import { Context } from '@temporalio/activity';
import { CUDA_OOM_PATTERN, containerName, type ContainerState, type RunSpec } from '../../infra/docker.js';
import type { FailureCategory } from '../../domain/failures.js';
import type { StageName } from '../../temporal.config.js';
import { CONTAINER_LOG_LINES, saveLog, type HostContext } from './context.js';
import { NO_SPACE_PATTERN, freeDiskShortfall } from './disk.js';
import type { Stop } from './stage-control.js';


/** What a stage asks to run; the name, the labels and the disk bounds are the lifecycle's. */
export type ContainerRun = Omit<RunSpec, 'name' | 'labels'>;

/** One stage's log file on this host: the output of each container the stage ran, rewritten as each is retired. */
export interface StageLog {
  readonly file: string;
  add(container: string, output: string): void;
}

/**
 * `plain`: the output as it is (a stage of one container: training). `sections`: one section per container,
 * headed by its name (an evaluation whose server was restarted ran several).
 */
export function stageLog(file: string, layout: 'plain' | 'sections'): StageLog {
  const parts: string[] = [];
  return {
    file,
    add(container, output) {
      parts.push(layout === 'plain' ? output : `===== ${container} =====\n${output}`);
      saveLog(file, parts.join('\n'));
    },
  };
}

/** A container once it is gone. */
export interface RetiredContainer {
  name: string;
  /** Its state once it stopped, read before it was removed. */
  state: ContainerState;
  /** Its last CONTAINER_LOG_LINES lines of output, as added to the stage log. */
  output: string;
  /** The highest memory use seen while it ran; null where the runtime cannot tell. */
  peakMemoryBytes: number | null;
}

export interface StageContainer {
  readonly name: string;
  inspect(): Promise<ContainerState>;
  /** Kills it at once, for a reason of the stage's own (a cap it reached); the stage records the reason. */
  kill(): Promise<void>;
  /** Kills it because the stage is being stopped; returns how long after the deadline it was gone ('deadline' only, else null). */
  stop(reason: Stop, deadline: number): Promise<number | null>;
  /** Peak memory, final state, output into the stage log, then removal. Runs once: later calls get the same result. */
  retire(): Promise<RetiredContainer>;
}

export interface StageContainerSpec {
  stage: StageName;
  input: { workflowId: string; submissionId: string };
  /** Appended to the attempt's container name, so that a restarted server gets a name of its own ('-r1'). */
  suffix: string;
  run: ContainerRun;
  log: StageLog;
}

/** Starts a stage's container and watches its memory; call in the activity's own async flow (it reads the attempt). */
export async function startStageContainer(host: HostContext, { stage, input, suffix, run, log }: StageContainerSpec): Promise<StageContainer> {
  const { runtime, config } = host;
  const attempt = Context.current().info.attempt;
  const name = containerName('ch', input.workflowId, stage, `a${attempt}${suffix}`);
  const labels = { workflow: input.workflowId, submission: input.submissionId, stage, attempt: String(attempt), host: config.hostId, home: host.home };
  // Every container gets the track's bounds on what it can write: tmpfs sizes, Docker's log rotation.
  await runtime.runDetached({ ...host.containerDisk, ...run, name, labels });
  const memory = runtime.watchPeakMemory(name);
  let retired: Promise<RetiredContainer> | null = null;
  return {
    name,
    inspect: () => runtime.inspectContainer(name),
    kill: () => runtime.killContainer(name),
    async stop(reason, deadline) {
      await runtime.killContainer(name);
      return reason === 'deadline' ? Date.now() - deadline : null;
    },
    retire() {
      retired ??= (async () => {
        const peakMemoryBytes = await memory.stop();
        const state = await runtime.inspectContainer(name);
        const output = await runtime.containerLogs(name, CONTAINER_LOG_LINES);
        log.add(name, output);
        await runtime.removeContainer(name);
        return { name, state, output, peakMemoryBytes };
      })();
      return retired;
    },
  };
}

/** Why a container stopped, first match in this order. */
export type ContainerEnding =
  /** The stage stopped it: its time limit, the workflow (limit or operator), or a worker shutdown. */
  | { cause: 'stopped'; by: Stop; category: null }
  /** The stage killed it for writing past the track's cap on its output. */
  | { cause: 'disk-cap'; category: 'DiskQuota' }
  | { cause: 'out-of-memory'; evidence: 'OOMKilled' | 'CUDA out of memory in the log'; category: 'OutOfMemory' }
  /** It failed on a full disk while the host was short of the free space a stage needs: ours, not the participant's. */
  | { cause: 'host-disk-full'; exitCode: number | null; freeBytes: number; category: 'Infrastructure' }
  | { cause: 'exited'; exitCode: number | null; category: FailureCategory }
  /** Still running when it was retired (a server that never answered); the stage names the failure. */
  | { cause: 'running'; category: null }
  | { cause: 'completed'; category: null };

/** What a stage counts as evidence, beyond the engine's own state. */
export interface EndingRules {
  /** A CUDA or PyTorch out-of-memory message in the output counts as OutOfMemory (training; the server's OOM counts only when OOMKilled). */
  cudaOomInOutput: boolean;
  /** "No space left on device" in a failed container's output is read against the host's free disk (training). */
  hostDiskInOutput: boolean;
  /** The category of a container that exited with a non-zero status on its own. */
  exitedCategory: FailureCategory;
}

export async function howItEnded(
  host: HostContext,
  container: RetiredContainer,
  observed: { stoppedBy: Stop | null; overCap: boolean },
  rules: EndingRules,
): Promise<ContainerEnding> {
  const { state, output } = container;
  if (observed.stoppedBy) return { cause: 'stopped', by: observed.stoppedBy, category: null };
  if (observed.overCap) return { cause: 'disk-cap', category: 'DiskQuota' };
  if (state.oomKilled) return { cause: 'out-of-memory', evidence: 'OOMKilled', category: 'OutOfMemory' };
  if (rules.cudaOomInOutput && CUDA_OOM_PATTERN.test(output)) return { cause: 'out-of-memory', evidence: 'CUDA out of memory in the log', category: 'OutOfMemory' };
  if (state.running) return { cause: 'running', category: null };
  if (state.exitCode === 0) return { cause: 'completed', category: null };
  // A full host disk is ours, not the participant's (their own cap was not reached: see above).
  if (rules.hostDiskInOutput && NO_SPACE_PATTERN.test(output)) {
    const short = await freeDiskShortfall([{ label: 'data folder', dir: host.config.dataDir }], host.disk.minFreeBytes).catch(() => null);
    if (short) return { cause: 'host-disk-full', exitCode: state.exitCode, freeBytes: short.freeBytes, category: 'Infrastructure' };
  }
  return { cause: 'exited', exitCode: state.exitCode, category: rules.exitedCategory };
}
