/**
 * Activities that run on a GPU host next to its Docker engine: claim the host, build the images,
 * fine-tune, evaluate. Thin adapters: the domain decides what a result means, Docker runs the code.
 * Each classifies its failures into a named ApplicationFailure (see domain/failures.ts).
 *
 * Lose nothing:
 *  - containers have deterministic names and labels; a new attempt saves the logs of whatever an
 *    earlier attempt left behind, then removes it (nothing orphaned keeps a GPU);
 *  - training resumes from the last checkpoint (heartbeat details, else progress.json on disk);
 *  - evaluation answers are persisted per instance, so a new attempt or a restarted server asks
 *    only what is still unanswered;
 *  - a routine worker shutdown stops the container and hands the stage back (type WorkerShutdown),
 *    which the workflow reschedules without spending a retry;
 *  - what must outlive this host goes to the artifact store: the training output whenever the
 *    submission declares a new checkpoint (and at the end), stage logs, answer exports. Another host
 *    that takes a submission over pulls the training output from there.
 */
import { createBuildActivity } from './host/build.js';
import { createClaimActivity } from './host/claim.js';
import { createHostContext, type HostDeps } from './host/context.js';
import { createEvaluateActivity } from './host/evaluate.js';
import { createFineTuneActivity } from './host/fine-tune.js';

export { WORKER_SHUTDOWN, failure, type HostDeps } from './host/context.js';
export { closeEvaluationNetwork, openEvaluationNetwork } from './host/evaluate.js';
export { removeOrphanContainers } from './host/guard.js';
export { exceedsCap, freeDiskShortfall, measureFolder, watchFolder, type FolderUsage } from './host/disk.js';
export { checkpointFiles } from './host/training-output.js';

/** One module per stage under activities/host/, sharing one context built from the deps. */
export function createHostActivities(deps: HostDeps) {
  const host = createHostContext(deps);
  return {
    ...createClaimActivity(host),
    buildImages: createBuildActivity(host),
    fineTune: createFineTuneActivity(host),
    evaluate: createEvaluateActivity(host),
  };
}

export type HostActivities = ReturnType<typeof createHostActivities>;
