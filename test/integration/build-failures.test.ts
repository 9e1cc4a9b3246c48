/**
 * Builds that fail, through the real pipeline (Temporal dev server, orchestrator and host workers, Docker):
 *  - a build that cannot reach its package index is the platform's fault: retried with backoff (the attempts of
 *    ACTIVITY_POLICY.buildRetry, shortened here per run), then BuildInfrastructure, not charged (the leaderboard's
 *    `unranked`), the reason quoting the line that showed it;
 *  - a build pinning a version that does not exist is the participant's: BuildFailed at once, charged, the
 *    reason quoting pip's "No matching distribution found".
 *  - a build whose RUN step connects to the metadata service, which the build sandbox refuses: BuildFailed at
 *    once (charged, not retried although the run allows retries), the reason naming 169.254.169.254:80.
 * Offline except for PyPI (the charged case): the unreachable index is a closed port of the build container's
 * own loopback. The pip cases need challenge/llm-base (scripts/build-llm-base-image.sh); without it they are
 * skipped, and their titles say so.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import type { RetryOverride } from '../../temporal.config.js';
import { ResultsDb, type StageRecord } from '../../infra/results-db.js';
import { PROJECT_ROOT, llmBaseImage } from '../../infra/paths.js';
import { submit } from '../../operations/pipelines.js';
import { leaderboard } from '../../operations/standings.js';
import type { PipelineState } from '../../contract/pipeline.js';
import { needing } from '../support/needs.js';
import { startStack, type Stack } from '../support/stack.js';

const fixture = (name: string) => path.join(PROJECT_ROOT, 'test', 'fixtures', name);
const LLM_BASE = llmBaseImage();
const llmBasePresent = spawnSync('docker', ['image', 'inspect', LLM_BASE], { stdio: 'ignore' }).status === 0;
const WITHOUT_LLM_BASE = `${LLM_BASE} is not on this Docker engine; scripts/build-llm-base-image.sh builds it`;
const llmBase = needing('llm-base-image', llmBasePresent ? null : WITHOUT_LLM_BASE);
if (!llmBasePresent) console.warn(`build-failures: the pip cases are skipped: ${WITHOUT_LLM_BASE}`);

/** The build's backoff, shortened for the test: 3 attempts, 0.5 s then 1 s apart (the default lives in temporal.config.ts). */
const BUILD_RETRY: Required<Pick<RetryOverride, 'initialIntervalMs' | 'maximumIntervalMs' | 'maximumAttempts'>> = {
  initialIntervalMs: 500,
  maximumIntervalMs: 1000,
  maximumAttempts: 3,
};

const INFRA = ['build-index-refused', ...(llmBasePresent ? ['build-pip-index-refused'] : [])];
/** Submitted with the build retry override too: what is checked is that it is not retried. */
const REFUSED = 'build-sandbox-refused';
const CHARGED = llmBasePresent ? ['build-missing-version'] : [];

let stack: Stack;
let db: ResultsDb;
const ids: Record<string, string> = {};
const results: Record<string, PipelineState> = {};
const stages: Record<string, StageRecord[]> = {};
const buildAttempts: Record<string, number> = {};
const stage = (name: string, stageName: string) => stages[name]!.find((s) => s.stage === stageName)!;

/** Submits as `challenge submit` does, with the run's build-retry override (a shorter backoff). */
async function startWithBuildRetry(directory: string, buildRetry: RetryOverride): Promise<WorkflowHandle> {
  const submitted = await submit(stack.client, stack.config, directory, { heartbeatTimeoutMs: 5000, buildRetry });
  return stack.client.workflow.getHandle(submitted.workflowId);
}

/** The attempt the buildImages activity ended on, from the workflow's history. */
async function attemptsOfBuild(handle: WorkflowHandle): Promise<number> {
  const history = await handle.fetchHistory();
  const scheduled = new Set(
    (history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'buildImages').map((e) => String(e.eventId)),
  );
  const attempts = (history.events ?? [])
    .filter((e) => e.activityTaskStartedEventAttributes && scheduled.has(String(e.activityTaskStartedEventAttributes.scheduledEventId)))
    .map((e) => e.activityTaskStartedEventAttributes!.attempt ?? 0);
  return Math.max(0, ...attempts);
}

beforeAll(async () => {
  stack = await startStack();
  const handles: Record<string, WorkflowHandle> = {};
  for (const name of [...INFRA, REFUSED]) handles[name] = await startWithBuildRetry(fixture(name), BUILD_RETRY);
  for (const name of CHARGED) {
    // The charged case goes through the ordinary submit path: no override, a charged failure is never retried.
    const started = await submit(stack.client, stack.config, fixture(name), { heartbeatTimeoutMs: 5000 });
    handles[name] = stack.client.workflow.getHandle(started.workflowId);
  }
  await Promise.all(
    Object.entries(handles).map(async ([name, handle]) => {
      results[name] = (await handle.result()) as PipelineState;
      ids[name] = results[name]!.submissionId;
      buildAttempts[name] = await attemptsOfBuild(handle);
    }),
  );
  db = new ResultsDb(stack.config.databasePath);
  for (const name of Object.keys(handles)) stages[name] = db.stages(ids[name]!);
}, 240_000);

afterAll(async () => {
  db?.close();
  await stack?.stop();
});

describe('a build that cannot reach its package index', () => {
  const expectUnchargedInfrastructure = (name: string, line: RegExp) => {
    expect(results[name]).toMatchObject({ outcome: 'failed', failureCategory: 'BuildInfrastructure' });
    const build = stage(name, 'build');
    expect(build).toMatchObject({ outcome: 'failed', failureCategory: 'BuildInfrastructure' });
    expect(build.reason).toMatch(/^building Dockerfile\.train failed for a reason of the platform \(package index unreachable: connection refused\): /);
    expect(build.reason).toMatch(line);
    expect(build.details?.step).toMatch(/^Step 2\/\d+ : RUN /); // the engine appends the pipeline's LABEL steps
    expect(String(build.details?.logExcerpt)).toMatch(/Connection refused/);
    // eslint-disable-next-line no-control-regex -- an ANSI escape is what must not be there
    expect(String(build.details?.logExcerpt)).not.toMatch(/\u001b\[/);
    // retried with backoff until the attempts ran out, then given up
    expect(buildAttempts[name]).toBe(BUILD_RETRY.maximumAttempts);
    expect(build.details?.attempts).toBe(BUILD_RETRY.maximumAttempts);
    for (const later of ['fine-tune', 'open-eval', 'closed-eval']) expect(stage(name, later).outcome).toBe('skipped');
  };

  it('ends in BuildInfrastructure after its retries, quoting the refused connection (urllib, no pip needed)', () => {
    expectUnchargedInfrastructure('build-index-refused', /ConnectionRefusedError: \[Errno 111\] Connection refused$/);
  });

  llmBase.it('ends in BuildInfrastructure although pip ends with "No matching distribution": its retry warning decides', () => {
    expectUnchargedInfrastructure(
      'build-pip-index-refused',
      /: WARNING: Retrying \(Retry\(total=0, .*Failed to establish a new connection: \[Errno 111\] Connection refused/,
    );
    expect(String(stage('build-pip-index-refused', 'build').details?.logExcerpt)).toMatch(/No matching distribution found for six==1\.16\.0/);
  });

  it('is not charged: the leaderboard lists it as unranked, awaiting a re-run, and so do the CLI tables', async () => {
    const board = await leaderboard(db, 'cpu');
    for (const name of INFRA) {
      expect(board.rows.map((r) => r.submissionId)).not.toContain(ids[name]);
      const unranked = board.unranked.find((u) => u.submissionId === ids[name]);
      expect(unranked).toMatchObject({ failureCategory: 'BuildInfrastructure' });
      expect(unranked?.reason).toMatch(/failed for a reason of the platform/);
    }
    const table = await stack.cli(['leaderboard', '--track', 'cpu']);
    expect(table.stdout).toMatch(
      /not ranked \(not charged, awaiting a re-run\): build-outage\.index-refused — BuildInfrastructure: building Dockerfile\.train failed for a reason of the platform/,
    );
    const status = await stack.cli(['status', ids['build-index-refused']!]);
    expect(status.stdout).toMatch(
      /build\s+failed .*BuildInfrastructure: building Dockerfile\.train failed for a reason of the platform \(package index unreachable: connection refused\): ConnectionRefusedError/,
    );
  });
});

describe('a build pinning a version that does not exist', () => {
  llmBase.it('ends in BuildFailed at once, charged, quoting pip', async () => {
    const name = 'build-missing-version';
    expect(results[name]).toMatchObject({ outcome: 'failed', failureCategory: 'BuildFailed' });
    const build = stage(name, 'build');
    expect(build.failureCategory).toBe('BuildFailed');
    expect(build.reason).toMatch(
      /^Dockerfile\.train did not build at "Step 2\/\d+ : RUN pip install six==99\.0\.0": ERROR: No matching distribution found for six==99\.0\.0$/,
    );
    expect(build.details?.step).toMatch(/^Step 2\/\d+ : RUN pip install six==99\.0\.0$/);
    expect(buildAttempts[name]).toBe(1); // charged failures are final
    expect(build.details?.attempts).toBeUndefined();
    const board = await leaderboard(db, 'cpu');
    expect(board.rows.find((r) => r.submissionId === ids[name])).toMatchObject({ failureCategory: 'BuildFailed' });
    expect(board.unranked.map((u) => u.submissionId)).not.toContain(ids[name]);
  });
});

describe('a build whose connection the sandbox refused', () => {
  it('ends in BuildFailed at once, charged, not retried, the reason naming the refused destination', async () => {
    expect(results[REFUSED]).toMatchObject({ outcome: 'failed', failureCategory: 'BuildFailed' });
    const build = stage(REFUSED, 'build');
    expect(build).toMatchObject({ outcome: 'failed', failureCategory: 'BuildFailed' });
    expect(build.reason).toMatch(/^Dockerfile\.train did not build at "Step 2\/\d+ : RUN python3 -c .*": a build step connected to a destination the build sandbox refuses /);
    expect(build.reason).toContain('(the build host, private ranges, link-local): 169.254.169.254:80 (link-local, where the cloud instance metadata service (169.254.169.254) answers): ');
    expect(String(build.details?.logExcerpt)).toMatch(/No route to host|Errno 113/); // what the log alone would have called the network's
    expect(buildAttempts[REFUSED]).toBe(1); // the override allows 3: a charged failure is final
    expect(build.details?.attempts).toBeUndefined();
    const board = await leaderboard(db, 'cpu');
    expect(board.rows.find((r) => r.submissionId === ids[REFUSED])).toMatchObject({ failureCategory: 'BuildFailed' });
    expect(board.unranked.map((u) => u.submissionId)).not.toContain(ids[REFUSED]);
  });
});
