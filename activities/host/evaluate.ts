/**
 * The evaluation stages (open-eval, closed-eval): start the submission's inference server on an isolated
 * network, wait until it answers, ask every instance of the suite once (answers persisted as they arrive), and
 * restart a server that died, asking only what is still unanswered.
 */
import { Context } from '@temporalio/activity';
import type { RuntimeConfig } from '../../infra/runtime-config.js';
import type { StageName } from '../../temporal.config.js';
import { logExcerpt } from '../../domain/failures.js';
import { evaluateSuite, summarizeStore, waitForReadiness, type AnswerStore, type EvaluationSummary } from '../../domain/harness/evaluate.js';
import { exportAnswerLines } from '../../infra/answer-export.js';
import { loadSuite } from '../../domain/harness/suite.js';
import { artifactKeys } from '../../infra/artifact-store.js';
import { dockerContainerRuntime, type ContainerRuntime, type EvaluationNetwork } from '../../infra/container-runtime.js';
import type { EvaluateInput, EvaluateResult } from '../../contract/types.js';
import { failure, shortHash, type HostContext } from './context.js';
import { howItEnded, stageLog, startStageContainer, type EndingRules, type RetiredContainer, type StageContainer } from './container-lifecycle.js';
import { beginStage, heartbeatEvery, type Stop } from './stage-control.js';
import { localTrainingOutput } from './training-output.js';

/** The submission contract's port of the inference server. */
const SERVER_PORT = 80;

/** The server's OOM counts when the engine killed it (OOMKilled); its exit is a crash the stage may restart. */
const SERVER_ENDING_RULES: EndingRules = { cudaOomInOutput: false, hostDiskInOutput: false, exitedCategory: 'ServerCrashed' };

/**
 * One internal network per submission's evaluation: servers of different submissions cannot reach each other
 * (separate bridges, no route between them), and an iptables rule drops every new connection from the bridge to
 * the host. Only the harness, on the host, reaches the server.
 */
export async function openEvaluationNetwork(config: RuntimeConfig, workflowId: string, runtime: ContainerRuntime = dockerContainerRuntime): Promise<EvaluationNetwork> {
  return runtime.openEvaluationNetwork(`${config.evalNetwork}-${shortHash(workflowId)}`);
}

export async function closeEvaluationNetwork(network: EvaluationNetwork, runtime: ContainerRuntime = dockerContainerRuntime): Promise<void> {
  await runtime.closeEvaluationNetwork(network);
}

export function createEvaluateActivity(host: HostContext) {
  const { config, track, spec, runtime } = host;

  /** One JSON line per persisted answer, for audits and appeals; the database stays the source of truth. */
  async function exportAnswers(submissionId: string, suite: string, store: AnswerStore): Promise<void> {
    try {
      await exportAnswerLines(store, (file) => host.artifacts.putFile(artifactKeys.answers(submissionId, suite), file));
    } catch (error) {
      Context.current().log.warn('could not export the answers to the artifact store', { submissionId, suite, error: String(error) });
    }
  }

  return async function evaluate(input: EvaluateInput): Promise<EvaluateResult> {
    const started = Date.now();
    // Captured once: callbacks (abort listeners, timers) run outside the activity's async context.
    const ctx = Context.current();
    const suite = loadSuite(input.suiteFile);
    const store = host.db.answerStore(input.submissionId, input.suite, `${suite.name}@${suite.version}`);
    const stage: StageName = input.suite === 'open' ? 'open-eval' : 'closed-eval';
    const log = stageLog(host.logFile(input.submissionId, stage), 'sections');
    let beatDetails: Record<string, unknown> = { phase: 'setting up' };
    const beat = heartbeatEvery(() => beatDetails);
    try {
      await host.ensureFreeDisk(stage);
      await host.clearEarlierAttempts(input.submissionId, input.workflowId, stage);
      const stageStartedAt = await beginStage(stage, input.stageStartedAt);
      beatDetails = { phase: 'setting up', stageStartedAt };
      const deadline = stageStartedAt + input.limitMs;
      await localTrainingOutput(host, input.submissionId);
      const network = await openEvaluationNetwork(config, input.workflowId, runtime);
      const gpu = await host.gpus.acquire();
      let current: StageContainer | null = null;
      let peakMemoryBytes: number | null = null;
      /** Retires a server (see container-lifecycle.ts), keeping the highest peak memory of all the servers this attempt ran. */
      const retire = async (container: StageContainer): Promise<RetiredContainer> => {
        const retired = await container.retire();
        if (retired.peakMemoryBytes !== null) peakMemoryBytes = Math.max(peakMemoryBytes ?? 0, retired.peakMemoryBytes);
        current = null;
        return retired;
      };
      const result = (ending: EvaluateResult['ending'], reason: string | null, summary: EvaluationSummary, restarts: number, stopDelayMs: number | null): EvaluateResult => ({
        ending,
        reason,
        summary,
        restarts,
        stopDelayMs,
        peakMemoryBytes,
        durationMs: Date.now() - started,
        logFile: log.file,
        hostId: config.hostId,
      });

      try {
        for (let restarts = 0; ; restarts++) {
          const container = await startStageContainer(host, {
            stage,
            input,
            suffix: restarts > 0 ? `-r${restarts}` : '',
            log,
            run: {
              image: input.inferenceImage,
              memory: spec.containerMemory,
              cpus: spec.containerCpus,
              pids: spec.containerPids,
              network: network.name,
              mounts: input.mountArtifacts === false ? [] : [{ host: host.artifactsDir(input.submissionId), container: '/artifacts', readOnly: true }],
              env: { CHALLENGE_TRACK: track },
              gpu: spec.gpu === null ? null : gpu.index,
              readOnlyRoot: true,
            },
          });
          const name = container.name;
          current = container;
          const isAlive = async () => (await container.inspect()).running;
          const baseUrl = await runtime.serviceUrl(name, network.name, SERVER_PORT);
          if (!baseUrl) throw failure('Infrastructure', `the evaluation server ${name} got no address on network ${network.name}`);

          // One signal for every reason to stop: the workflow's cancel (its limit or an operator), our own
          // copy of the deadline (no heartbeat round trip needed), or a worker shutdown.
          const stop = new AbortController();
          const onCancel = () => stop.abort(ctx.cancellationDetails?.workerShutdown ? 'shutdown' : 'cancelled');
          ctx.cancellationSignal.addEventListener('abort', onCancel, { once: true });
          if (ctx.cancellationSignal.aborted) onCancel();
          const deadlineTimer = setTimeout(() => stop.abort('deadline'), Math.max(0, deadline - Date.now()));
          const stoppedBy = () => (stop.signal.aborted ? (stop.signal.reason as Stop) : null);
          /** Stops the server because the stage is being stopped: a shutdown hands the stage back, else it ends as `why`. */
          const endStopped = async (why: Stop, reason: string | null, summary: () => Promise<EvaluationSummary>) => {
            const delay = await container.stop(why, deadline);
            await retire(container);
            if (why === 'shutdown') host.handBack();
            return result(why, reason, await summary(), restarts, delay);
          };
          beatDetails = { phase: 'starting', container: name, restarts, stageStartedAt };
          try {
            const readiness = await waitForReadiness({
              baseUrl,
              deadline: Math.min(deadline, Date.now() + input.startupLimitMs),
              signal: stop.signal,
              isAlive,
            });
            if (!readiness.ready) {
              const why = stoppedBy();
              if (why) return await endStopped(why, readiness.reason, () => summarizeStore(suite, store, 0, null));
              const retired = await retire(container);
              // Only an OOM kill has a category of its own here; any other way out is a start-up failure.
              const ending = await howItEnded(host, retired, { stoppedBy: null, overCap: false }, SERVER_ENDING_RULES);
              const tail = logExcerpt(retired.output);
              if (ending.cause === 'out-of-memory')
                throw failure(ending.category, `the inference server was killed for exceeding ${spec.containerMemory} while starting`, { logExcerpt: tail });
              const status = retired.state.running ? 'still running' : `exited with status ${retired.state.exitCode}`;
              const answeredWrongly = readiness.lastFailure === 'schema' || readiness.lastFailure === 'invalid-json' || readiness.lastFailure === 'too-large';
              throw failure(answeredWrongly ? 'ContractViolation' : 'StartupFailed', `${readiness.reason}; the server ${status}`, { logExcerpt: tail });
            }
            const summary = await evaluateSuite({
              baseUrl,
              suite,
              store,
              concurrency: input.harness.concurrency,
              requestTimeoutMs: input.harness.requestTimeoutMs,
              maxAttempts: input.harness.maxAttempts,
              retryBackoffMs: input.harness.retryBackoffMs,
              maxPromptTokens: input.harness.maxPromptTokens,
              signal: stop.signal,
              isServerAlive: isAlive,
              onProgress: (progress) => {
                beatDetails = { phase: 'evaluating', suite: input.suite, restarts, stageStartedAt, ...progress };
              },
            });
            beatDetails = { ...beatDetails, phase: 'finishing' };
            const why = stoppedBy();
            if (why) return await endStopped(why, null, () => Promise.resolve(summary));
            if (summary.stopReason === 'server-crashed') {
              const retired = await retire(container);
              const ending = await howItEnded(host, retired, { stoppedBy: null, overCap: false }, SERVER_ENDING_RULES);
              if (ending.cause === 'out-of-memory')
                throw failure(ending.category, `the inference server was killed for exceeding ${spec.containerMemory} during the evaluation`, {
                  logExcerpt: logExcerpt(retired.output),
                });
              if (restarts < input.serverRestarts) continue; // restart once; persisted answers are not asked again
              const alsoAfter = restarts > 0 ? `, also after ${restarts} restart(s)` : '';
              const reason = `the inference server exited with status ${retired.state.exitCode} after ${summary.answered} of ${summary.total} answers${alsoAfter}`;
              return result('server-crashed', reason, summary, restarts, null);
            }
            await retire(container);
            return result('completed', null, summary, restarts, null);
          } finally {
            clearTimeout(deadlineTimer);
            ctx.cancellationSignal.removeEventListener('abort', onCancel);
          }
        }
      } finally {
        gpu.release();
        // Nothing an attempt started outlives it, whatever way it ended.
        if (current) await retire(current).catch(() => undefined);
        await closeEvaluationNetwork(network, runtime);
      }
    } finally {
      beat.stop();
      await exportAnswers(input.submissionId, input.suite, store);
      await host.publishLogs(input.submissionId);
    }
  };
}
