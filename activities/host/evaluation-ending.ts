/**
 * The evaluate activity's decisions, as pure functions (activities/host/evaluate.ts runs the containers and the
 * harness, then asks these): what a server that never became ready has failed with, what follows a server that
 * died mid-evaluation (a restart, a failure, or a `server-crashed` ending), and the EvaluateResult an attempt
 * returns. No I/O and no clock: what the container and the harness reported comes in, a decision goes out.
 */
import { logExcerpt, type FailureDetails } from '../../domain/failures.js';
import type { RequestFailureKind } from '../../domain/harness/contract.js';
import type { EvaluationSummary } from '../../domain/harness/evaluate.js';
import type { StagePrediction } from '../../domain/harness/throughput.js';
import type { EvaluateResult } from '../../contract/types.js';
import type { ContainerEnding } from './container-lifecycle.js';

/** What a retired server showed: its state once stopped and its last output (RetiredContainer, without the I/O). */
export interface ServerRemains {
  state: { running: boolean; exitCode: number | null };
  output: string;
}

/** Failures an answer of the wrong shape raises: the server is up but does not speak the contract. */
const CONTRACT_FAILURES: readonly RequestFailureKind[] = ['schema', 'invalid-json', 'too-large'];

/**
 * A server that did not become ready (and was not stopped by the stage): an OOM kill is OutOfMemory, a server that
 * answered in the wrong shape is a ContractViolation, anything else a StartupFailed; its output is the excerpt.
 */
export function startupFailure(options: {
  readinessReason: string;
  lastFailure: RequestFailureKind | null;
  ending: ContainerEnding;
  server: ServerRemains;
  /** the track's container memory, named in an OOM's reason ("8g") */
  memory: string;
}): FailureDetails {
  const tail = logExcerpt(options.server.output);
  if (options.ending.cause === 'out-of-memory')
    return { category: options.ending.category, reason: `the inference server was killed for exceeding ${options.memory} while starting`, logExcerpt: tail };
  const status = options.server.state.running ? 'still running' : `exited with status ${options.server.state.exitCode}`;
  const answeredWrongly = options.lastFailure !== null && CONTRACT_FAILURES.includes(options.lastFailure);
  return { category: answeredWrongly ? 'ContractViolation' : 'StartupFailed', reason: `${options.readinessReason}; the server ${status}`, logExcerpt: tail };
}

/** Whether a server that died mid-evaluation gets another start: `restarts` so far against the track's allowance. */
export function mayRestart(restarts: number, allowedRestarts: number): boolean {
  return restarts < allowedRestarts;
}

/** What follows a server that died during the evaluation. */
export type AfterCrash =
  /** killed for memory: charged, not restarted */
  | { next: 'fail'; failure: FailureDetails }
  /** start a new server; the persisted answers are not asked again */
  | { next: 'restart' }
  /** no restart left: the stage ends with what it has */
  | { next: 'end'; reason: string };

export function afterServerCrash(options: {
  ending: ContainerEnding;
  server: ServerRemains;
  memory: string;
  restarts: number;
  allowedRestarts: number;
  summary: Pick<EvaluationSummary, 'answered' | 'total'>;
}): AfterCrash {
  const { ending, server, restarts, summary } = options;
  if (ending.cause === 'out-of-memory') {
    const reason = `the inference server was killed for exceeding ${options.memory} during the evaluation`;
    return { next: 'fail', failure: { category: ending.category, reason, logExcerpt: logExcerpt(server.output) } };
  }
  if (mayRestart(restarts, options.allowedRestarts)) return { next: 'restart' };
  const alsoAfter = restarts > 0 ? `, also after ${restarts} restart(s)` : '';
  return { next: 'end', reason: `the inference server exited with status ${server.state.exitCode} after ${summary.answered} of ${summary.total} answers${alsoAfter}` };
}

/** The result of an evaluation attempt; `durationMs` runs from the activity's start, set-up included. */
export function evaluateResult(options: {
  ending: EvaluateResult['ending'];
  reason: string | null;
  summary: EvaluationSummary;
  restarts: number;
  stopDelayMs: number | null;
  peakMemoryBytes: number | null;
  startedAt: number;
  endedAt: number;
  logFile: string;
  hostId: string;
  prediction: StagePrediction | null;
}): EvaluateResult {
  const { startedAt, endedAt, ...rest } = options;
  return { ...rest, durationMs: endedAt - startedAt };
}
