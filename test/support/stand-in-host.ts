/**
 * What the integration tests of the orchestration share when they run the real submissionPipeline with
 * stand-in hosts: a dev server with a worker connection and a client, the pipeline's input, and the
 * results a stand-in host's stages return. The stand-ins' behaviour (hanging, recording calls, waiting to
 * be released) stays in each test; only what is the same everywhere lives here.
 */
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TrackId } from '../../temporal.config.js';
import { ensureDevServer, freePort, stopDevServer, type DevServerOptions } from '../../infra/dev-server.js';
import { defaultSuiteFiles } from '../../infra/paths.js';
import { loadSuite } from '../../domain/harness/suite.js';
import { summarize } from '../../domain/harness/evaluate.js';
import type { BuiltImages, EvaluateInput, EvaluateResult, FineTuneResult, PipelineInput } from '../../contract/types.js';
import { submissionImages } from '../../contract/pipeline.js';

export interface TestTemporal {
  server: DevServerOptions;
  /** for workers */
  connection: NativeConnection;
  client: Client;
  /** closes the connections and stops the server */
  stop: () => Promise<void>;
}

/** The project's dev server on free ports in a temp folder (prefix names it), a worker connection and a client. */
export async function startTestTemporal(prefix: string): Promise<TestTemporal> {
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
  } catch {
    // Another test file of this jest process installed the runtime first: its logger stays.
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
  const server: DevServerOptions = { port: await freePort(), uiPort: await freePort(), dbFile: path.join(dir, 'temporal.sqlite'), logFile: path.join(dir, 'server.log') };
  await ensureDevServer(server);
  const connection = await NativeConnection.connect({ address: `127.0.0.1:${server.port}` });
  const client = new Client({ connection: await Connection.connect({ address: `127.0.0.1:${server.port}` }), namespace: 'default' });
  return {
    server,
    connection,
    client,
    stop: async () => {
      await client.connection.close();
      await connection.close();
      await stopDevServer(server);
    },
  };
}

/** The pipeline's input for a submission id `team.submission`, with one-minute stage limits and the given timeouts. */
export function standInPipelineInput(
  submissionId: string,
  track: TrackId,
  timeouts: Required<Pick<PipelineInput, 'heartbeatTimeoutMs' | 'hostPolicy'>>,
): PipelineInput {
  const [team, submission] = submissionId.split('.');
  if (!team || !submission) throw new Error(`a stand-in submission id is team.submission, got ${submissionId}`);
  return {
    submissionId,
    team,
    submission,
    track,
    directory: '/submissions/' + submissionId,
    suites: defaultSuiteFiles(),
    limits: { build: 60_000, fineTune: 60_000, openEval: 60_000, closedEval: 60_000 },
    ...timeouts,
  };
}

/** What a stand-in host's build returns: the submission's images, built in 1 ms. */
export const standInImages = (submissionId: string, hostId: string): BuiltImages => ({
  ...submissionImages(submissionId),
  durationMs: 1,
  preflightWarnings: [],
  sourceDigest: 'sha256:test',
  reused: false,
  hostId,
});

/** What a stand-in host's fine-tune returns: completed at its last step; `resumed` says it went on from the stored checkpoint. */
export function standInFineTune(hostId: string, steps: number, resumed: boolean): FineTuneResult {
  const progress = { step: steps, totalSteps: steps, checkpoint: `checkpoints/${steps}` };
  return {
    ending: 'completed',
    artifactsDir: '/artifacts',
    artifactFiles: steps,
    progress,
    resumedFrom: resumed ? progress : null,
    resumedFromSource: resumed ? 'artifact-store' : null,
    storedFiles: steps,
    hostId,
    attempt: 1,
    stopDelayMs: null,
    peakMemoryBytes: null,
    durationMs: 1,
    logFile: '/dev/null',
  };
}

/** What a stand-in host's evaluation returns: completed, the suite summarised with no answers. */
export function standInEvaluation(input: EvaluateInput, hostId: string): EvaluateResult {
  const summary = summarize(loadSuite(defaultSuiteFiles()[input.suite]), [], 0, null);
  return { ending: 'completed', reason: null, summary, restarts: 0, stopDelayMs: null, peakMemoryBytes: null, durationMs: 1, logFile: '/dev/null', hostId };
}
