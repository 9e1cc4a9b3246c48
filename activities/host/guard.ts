/**
 * The host's guard against what a dead worker process left behind, run before the host polls for work.
 */
import type { RuntimeConfig } from '../../infra/runtime-config.js';
import { dockerContainerRuntime, type ContainerRuntime } from '../../infra/container-runtime.js';
import { stageLogFile } from '../../infra/log-files.js';
import { CONTAINER_LOG_LINES, hostHome, saveLog, submissionLogPath } from './context.js';

/**
 * Run by a GPU host worker before it polls for work: every container this host started and still holds
 * belongs to an activity that died with an earlier worker process (kill -9, a crash). Left alone, it
 * would keep its GPU and go on writing the training output a new attempt resumes from. Its log is kept
 * beside the submission's other logs, then it is removed.
 */
export async function removeOrphanContainers(config: RuntimeConfig, runtime: ContainerRuntime = dockerContainerRuntime): Promise<string[]> {
  const orphans = await runtime.containersLabelled({ host: config.hostId, home: hostHome(config) });
  for (const name of orphans) {
    const submission = (await runtime.containerLabel(name, 'submission')) ?? 'unknown-submission';
    const stage = (await runtime.containerLabel(name, 'stage')) ?? 'unknown-stage';
    // Named as an attempt's own clean-up names the logs of the containers it finds (clearEarlierAttempts).
    const file = stageLogFile(config.dataDir, submission, stage, name) ?? submissionLogPath(config.dataDir, 'unknown-submission', 'unknown-stage', name);
    saveLog(file, await runtime.containerLogs(name, CONTAINER_LOG_LINES));
    await runtime.removeContainer(name);
  }
  return orphans;
}
