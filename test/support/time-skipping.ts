/**
 * The time-skipping test server as both time-skipping suites use it: the project's launcher
 * (scripts/ensure-test-server.sh, which fetches and caches the Java test server), the search attributes the
 * workflows upsert (the dev server registers them at start; this server needs them added), and the workflow bundle.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, bundleWorkflowCode, DefaultLogger, Runtime, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import proto from '@temporalio/proto';
import { SEARCH_ATTRIBUTES } from '../../contract/search-attributes.js';
import { PROJECT_ROOT } from '../../infra/paths.js';

export interface TimeSkipping {
  env: TestWorkflowEnvironment;
  bundle: WorkflowBundleWithSourceMap;
}

export async function startTimeSkipping(): Promise<TimeSkipping> {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const launcher = execFileSync('bash', [path.join(PROJECT_ROOT, 'scripts', 'ensure-test-server.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').pop()!;
  const env = await TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: launcher } } });
  await env.connection.operatorService.addSearchAttributes({
    namespace: env.namespace ?? 'default',
    searchAttributes: Object.fromEntries(Object.keys(SEARCH_ATTRIBUTES).map((name) => [name, proto.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD])),
  });
  const bundle = await bundleWorkflowCode({ workflowsPath: fileURLToPath(new URL('../../workflows/index.js', import.meta.url)), logger: new DefaultLogger('WARN') });
  return { env, bundle };
}

/** Runs `body` while every worker runs (each worker's runUntil wraps the next). */
export async function runWithWorkers<T>(workers: Worker[], body: () => Promise<T>): Promise<T> {
  const [worker, ...rest] = workers;
  if (!worker) return body();
  return worker.runUntil(() => runWithWorkers(rest, body));
}
