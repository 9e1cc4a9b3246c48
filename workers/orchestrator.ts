/**
 * The orchestrator worker: runs every workflow (the pipelines and each track's placement) and the bookkeeping
 * and placement activities.
 * CPU only; one per deployment (more can be added for throughput, they share the task queue).
 */
import { Worker } from '@temporalio/worker';
import { fileURLToPath } from 'node:url';
import { TASK_QUEUES } from '../temporal.config.js';
import { loadRuntimeConfig, type RuntimeConfig } from '../infra/runtime-config.js';
import { createBookkeepingActivities } from '../activities/bookkeeping.js';
import { createNotifyActivities } from '../activities/notify.js';
import { createCompetitionActivities } from '../activities/competition.js';
import { createPlacementActivities, createPlacementAuditActivities } from '../activities/placement.js';
import type { ResultsStore } from '../infra/results-store.js';
import { openResultsStore } from '../infra/open-results-store.js';
import { connectWorker } from '../infra/temporal.js';
import { runUntilSignalled } from './lifecycle.js';

export async function createOrchestratorWorker(config: RuntimeConfig): Promise<{ worker: Worker; db: ResultsStore }> {
  const db = await openResultsStore(config);
  const worker = await Worker.create({
    connection: await connectWorker(config),
    namespace: config.temporal.namespace,
    taskQueue: TASK_QUEUES.orchestrator,
    workflowsPath: fileURLToPath(new URL('../workflows/index.js', import.meta.url)),
    // Bookkeeping and placement requests run as local activities of the workflows (workflows/stages.ts
    // bookkeeping(), workflows/placement.ts); the placement's audit of slot holders and the end-of-submission
    // webhooks (activities/notify.ts) and the competition clock's reads (activities/competition.ts) as activity tasks.
    activities: { ...createBookkeepingActivities(db), ...createPlacementActivities(), ...createPlacementAuditActivities(), ...createNotifyActivities(db), ...createCompetitionActivities(db) },
    identity: `orchestrator@${config.hostId}`,
    shutdownGraceTime: '10s',
  });
  return { worker, db };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const config = loadRuntimeConfig();
  const { worker, db } = await createOrchestratorWorker(config);
  console.log(`orchestrator worker on ${config.temporal.address} (${TASK_QUEUES.orchestrator}), results in ${db.location}`);
  await runUntilSignalled([worker]);
  await db.close();
}
