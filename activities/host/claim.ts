/**
 * Placement: which GPU host of the track takes a new submission. Kept apart from the stages so that changes to
 * placement stay in this module.
 */
import { TASK_QUEUES } from '../../temporal.config.js';
import type { HostAssignment } from '../../contract/types.js';
import type { HostContext } from './context.js';

export function createClaimActivity(host: HostContext) {
  const { config, track } = host;

  return {
    /** Answered by any host of the track on the shared queue: pins the submission's later stages to this host. */
    async claimHost(): Promise<HostAssignment> {
      return { hostId: config.hostId, gpuQueue: TASK_QUEUES.hostGpu(track, config.hostId), cpuQueue: TASK_QUEUES.hostCpu(track, config.hostId) };
    },
  };
}
