/**
 * The evaluation stages (open-eval, closed-eval): start the submission's inference server on an isolated
 * network, wait until it answers, ask every instance of the suite once (answers persisted as they arrive), and
 * restart a server that died, asking only what is still unanswered. While it asks, the workflow hears the
 * progress and, once the probe's items are answered, the prediction of the stage's wall time (issue 26).
 *
 * Set-up (disk, earlier attempts, stage start, network, GPU) → the restart loop (one server per turn, see
 * `serveOnce`) → tear-down. What an ending means (a failure, a restart, a result) is decided by the pure
 * functions of evaluation-ending.ts.
 */
import { Context } from '@temporalio/activity';
import type { ApplicationFailure } from '@temporalio/common';
import type { RuntimeConfig } from '../../infra/runtime-config.js';
import { EVAL_STAGE, type StageName } from '../../temporal.config.js';
import type { FailureDetails } from '../../domain/failures.js';
import { evaluateSuite, summarizeStore, waitForReadiness, type AnswerStore, type EvaluationSummary, type ProbeOption } from '../../domain/harness/evaluate.js';
import { predictStage, probeSample, type ProbeMeasurement, type ProbeSample } from '../../domain/harness/throughput.js';
import { exportAnswerLines } from '../../infra/answer-export.js';
import { loadSuite, type Suite } from '../../domain/harness/suite.js';
import { artifactKeys } from '../../infra/artifact-store.js';
import { dockerContainerRuntime, type ContainerRuntime, type EvaluationNetwork } from '../../infra/container-runtime.js';
import type { EvaluateInput, EvaluateResult } from '../../contract/types.js';
import { failure, shortHash, type HostContext } from './context.js';
import { howItEnded, stageLog, startStageContainer, type EndingRules, type RetiredContainer, type StageContainer, type StageLog } from './container-lifecycle.js';
import { beginStage, heartbeatEvery, signalStageProgress, stopSignal, type Stop } from './stage-control.js';
import { afterServerCrash, evaluateResult, startupFailure } from './evaluation-ending.js';
import { StageProgressReporter } from './evaluation-progress.js';
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

/** What an attempt works with from its start to its end; `beat` is what the next heartbeat reports. */
interface Attempt {
  host: HostContext;
  input: EvaluateInput;
  /** Captured once: callbacks (abort listeners, timers) run outside the activity's async context. */
  ctx: Context;
  stage: StageName;
  suite: Suite;
  store: AnswerStore;
  log: StageLog;
  startedAt: number;
  beat: { details: Record<string, unknown> };
  progress: StageProgressReporter;
  /** The probe's items, asked first until the prediction is made; null when no sample could be drawn. */
  probe: ProbeSample | null;
}

/** What the set-up holds for the loop: the stage's real start, its deadline, the network and the GPU. */
interface Placement {
  stageStartedAt: number;
  deadline: number;
  network: EvaluationNetwork;
  gpu: { index: number; release: () => void };
}

/** The servers an attempt ran, one at a time: the current one (retired by the tear-down if still there) and their highest peak memory. */
class Servers {
  current: StageContainer | null = null;
  peakMemoryBytes: number | null = null;

  async start(attempt: Attempt, placement: Placement, restarts: number): Promise<StageContainer> {
    const { host, input } = attempt;
    const { spec } = host;
    this.current = await startStageContainer(host, {
      stage: attempt.stage,
      input,
      suffix: restarts > 0 ? `-r${restarts}` : '',
      log: attempt.log,
      run: {
        image: input.inferenceImage,
        memory: spec.containerMemory,
        cpus: spec.containerCpus,
        pids: spec.containerPids,
        network: placement.network.name,
        mounts: input.mountArtifacts === false ? [] : [{ host: host.artifactsDir(input.submissionId), container: '/artifacts', readOnly: true }],
        env: { CHALLENGE_TRACK: host.track },
        gpu: spec.gpu === null ? null : placement.gpu.index,
        readOnlyRoot: true,
      },
    });
    return this.current;
  }

  /** Retires a server (see container-lifecycle.ts), keeping the highest peak memory of all the servers this attempt ran. */
  async retire(container: StageContainer): Promise<RetiredContainer> {
    const retired = await container.retire();
    if (retired.peakMemoryBytes !== null) this.peakMemoryBytes = Math.max(this.peakMemoryBytes ?? 0, retired.peakMemoryBytes);
    if (this.current === container) this.current = null;
    return retired;
  }
}

export function createEvaluateActivity(host: HostContext) {
  /** One JSON line per persisted answer, for audits and appeals; the database stays the source of truth. */
  async function exportAnswers(submissionId: string, suite: string, store: AnswerStore): Promise<void> {
    try {
      await exportAnswerLines(store, (file) => host.artifacts.putFile(artifactKeys.answers(submissionId, suite), file));
    } catch (error) {
      Context.current().log.warn('could not export the answers to the artifact store', { submissionId, suite, error: String(error) });
    }
  }

  return async function evaluate(input: EvaluateInput): Promise<EvaluateResult> {
    const ctx = Context.current();
    const suite = loadSuite(input.suiteFile);
    const stage: StageName = EVAL_STAGE[input.suite];
    const attempt: Attempt = {
      host,
      input,
      ctx,
      stage,
      suite,
      store: host.db.answerStore(input.submissionId, input.suite, `${suite.name}@${suite.version}`),
      log: stageLog(host.logFile(input.submissionId, stage), 'sections'),
      startedAt: Date.now(),
      beat: { details: { phase: 'setting up' } },
      progress: new StageProgressReporter({
        stage,
        send: (progress) => signalStageProgress(ctx, progress),
        onError: (error) => ctx.log.warn('could not signal the evaluation progress', { stage, error: String(error) }),
      }),
      probe: drawProbe(ctx, suite),
    };
    const beat = heartbeatEvery(() => attempt.beat.details);
    try {
      const placement = await setUp(attempt);
      const servers = new Servers();
      try {
        for (let restarts = 0; ; restarts++) {
          const turn = await serveOnce({ attempt, placement, servers, restarts });
          if (turn !== 'restart') return turn;
        }
      } finally {
        placement.gpu.release();
        // Nothing an attempt started outlives it, whatever way it ended.
        if (servers.current) await servers.retire(servers.current).catch(() => undefined);
        await closeEvaluationNetwork(placement.network, host.runtime);
      }
    } finally {
      beat.stop();
      await attempt.progress.flush();
      await exportAnswers(input.submissionId, input.suite, attempt.store);
      await host.publishLogs(input.submissionId);
    }
  };
}

/** Disk, earlier attempts' leftovers, the stage's real start (signalled), the training output, the network and a GPU. */
async function setUp(attempt: Attempt): Promise<Placement> {
  const { host, input, stage } = attempt;
  await host.ensureFreeDisk(stage);
  await host.clearEarlierAttempts(input.submissionId, input.workflowId, stage);
  const stageStartedAt = await beginStage(stage, input.stageStartedAt);
  attempt.beat.details = { phase: 'setting up', stageStartedAt };
  await localTrainingOutput(host, input.submissionId);
  const network = await openEvaluationNetwork(host.config, input.workflowId, host.runtime);
  try {
    const gpu = await host.gpus.acquire();
    return { stageStartedAt, deadline: stageStartedAt + input.limitMs, network, gpu };
  } catch (error) {
    await closeEvaluationNetwork(network, host.runtime);
    throw error;
  }
}

/**
 * One server's turn: start it, wait until it is ready, ask what is unanswered. Returns the attempt's result, or
 * 'restart' when the server died and the track allows another; throws the failure of a server that never became
 * ready or was killed for memory.
 */
async function serveOnce({ attempt, placement, servers, restarts }: { attempt: Attempt; placement: Placement; servers: Servers; restarts: number }): Promise<EvaluateResult | 'restart'> {
  const { host, input, suite, store } = attempt;
  const { stageStartedAt, deadline, network } = placement;
  const container = await servers.start(attempt, placement, restarts);
  const isAlive = async () => (await container.inspect()).running;
  const baseUrl = await host.runtime.serviceUrl(container.name, network.name, SERVER_PORT);
  if (!baseUrl) throw failure('Infrastructure', `the evaluation server ${container.name} got no address on network ${network.name}`);
  const result = (ending: EvaluateResult['ending'], reason: string | null, summary: EvaluationSummary, stopDelayMs: number | null): EvaluateResult =>
    evaluateResult({
      ending,
      reason,
      summary,
      restarts,
      stopDelayMs,
      peakMemoryBytes: servers.peakMemoryBytes,
      startedAt: attempt.startedAt,
      endedAt: Date.now(),
      logFile: attempt.log.file,
      hostId: host.config.hostId,
      prediction: attempt.progress.prediction,
    });
  const stop = stopSignal(attempt.ctx, deadline);
  /** Stops the server because the stage is being stopped: a shutdown hands the stage back, else it ends as `why`. */
  const endStopped = async (why: Stop, reason: string | null, summary: () => Promise<EvaluationSummary>) => {
    const delay = await container.stop(why, deadline);
    await servers.retire(container);
    if (why === 'shutdown') return host.handBack();
    return result(why, reason, await summary(), delay);
  };
  attempt.beat.details = { phase: 'starting', container: container.name, restarts, stageStartedAt };
  try {
    const readiness = await waitForReadiness({ baseUrl, deadline: Math.min(deadline, Date.now() + input.startupLimitMs), signal: stop.signal, isAlive });
    if (!readiness.ready) {
      const why = stop.stoppedBy();
      if (why) return await endStopped(why, readiness.reason, () => summarizeStore(suite, store, 0, null));
      const retired = await servers.retire(container);
      const ending = await howItEnded(host, retired, { stoppedBy: null, overCap: false }, SERVER_ENDING_RULES);
      const failed = startupFailure({ readinessReason: readiness.reason, lastFailure: readiness.lastFailure, ending, server: retired, memory: host.spec.containerMemory });
      throw raise(failed);
    }
    const summary = await ask(attempt, { baseUrl, signal: stop.signal, isServerAlive: isAlive, restarts, stageStartedAt });
    attempt.beat.details = { ...attempt.beat.details, phase: 'finishing' };
    const why = stop.stoppedBy();
    if (why) return await endStopped(why, null, () => Promise.resolve(summary));
    if (summary.stopReason !== 'server-crashed') {
      await servers.retire(container);
      return result('completed', null, summary, null);
    }
    const retired = await servers.retire(container);
    const ending = await howItEnded(host, retired, { stoppedBy: null, overCap: false }, SERVER_ENDING_RULES);
    const next = afterServerCrash({ ending, server: retired, memory: host.spec.containerMemory, restarts, allowedRestarts: input.serverRestarts, summary });
    if (next.next === 'fail') throw raise(next.failure);
    if (next.next === 'restart') return 'restart'; // persisted answers are not asked again
    return result('server-crashed', next.reason, summary, null);
  } finally {
    stop.release();
  }
}

/** Asks the suite of a ready server, the probe's items first until the prediction is made; progress goes to the heartbeat and the workflow. */
async function ask(
  attempt: Attempt,
  server: { baseUrl: string; signal: AbortSignal; isServerAlive: () => Promise<boolean>; restarts: number; stageStartedAt: number },
): Promise<EvaluationSummary> {
  const { input, progress } = attempt;
  const { baseUrl, signal, isServerAlive, restarts, stageStartedAt } = server;
  // The projection's rate runs from this execution's first ask, past the answers the store holds already (a resumed stage's).
  if (!progress.execution) progress.beganAsking((await attempt.store.answeredKeys()).size);
  const probe: ProbeOption | undefined =
    attempt.probe && !progress.prediction ? { sample: attempt.probe, onMeasured: (measured: ProbeMeasurement) => predict(attempt, measured) } : undefined;
  const summary = await evaluateSuite({
    baseUrl,
    suite: attempt.suite,
    store: attempt.store,
    concurrency: input.harness.concurrency,
    requestTimeoutMs: input.harness.requestTimeoutMs,
    maxAttempts: input.harness.maxAttempts,
    retryBackoffMs: input.harness.retryBackoffMs,
    maxPromptTokens: input.harness.maxPromptTokens,
    signal,
    isServerAlive,
    probe,
    onProgress: (counted) => {
      attempt.beat.details = { phase: 'evaluating', suite: input.suite, restarts, stageStartedAt, ...counted, prediction: progress.prediction };
      progress.update(counted);
    },
  });
  progress.update({ answered: summary.answered, total: summary.total });
  return summary;
}

/** The stage failure (context.ts `failure`) a decision of evaluation-ending.ts named. */
function raise({ category, reason, ...extra }: FailureDetails): ApplicationFailure {
  return failure(category, reason, extra);
}

/** The probe's items to ask first; a sample that cannot be drawn costs the prediction, never the evaluation. */
function drawProbe(ctx: Context, suite: Suite): ProbeSample | null {
  try {
    return probeSample(suite);
  } catch (error) {
    ctx.log.warn('could not draw the probe sample; the stage runs without a prediction', { suite: suite.name, error: String(error) });
    return null;
  }
}

/** Turns the probe's measurement into the stage's prediction and signals it; a prediction that fails is logged, the evaluation goes on. */
function predict(attempt: Attempt, measured: ProbeMeasurement): void {
  try {
    attempt.progress.predicted(predictStage(measured, attempt.suite, { limitMs: attempt.input.limitMs }));
  } catch (error) {
    attempt.ctx.log.warn('could not predict the stage time from the probe', { stage: attempt.stage, error: String(error) });
  }
}
