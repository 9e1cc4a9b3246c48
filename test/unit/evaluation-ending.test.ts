/**
 * The evaluate activity's decisions on their own (activities/host/evaluation-ending.ts): what a server that never
 * became ready failed with, what follows a server that died mid-evaluation, and the result an attempt returns.
 * No container and no Temporal: the endings the container lifecycle would report are written out here.
 */
import { describe, expect, it } from '@jest/globals';
import { afterServerCrash, evaluateResult, mayRestart, startupFailure, type ServerRemains } from '../../activities/host/evaluation-ending.js';
import type { ContainerEnding } from '../../activities/host/container-lifecycle.js';
import type { EvaluationSummary } from '../../domain/harness/evaluate.js';
import type { StagePrediction } from '../../domain/harness/throughput.js';

const oom: ContainerEnding = { cause: 'out-of-memory', evidence: 'OOMKilled', category: 'OutOfMemory' };
const exited = (exitCode: number): ContainerEnding => ({ cause: 'exited', exitCode, category: 'ServerCrashed' });
const server = (exitCode: number | null, output = 'loading weights\nTraceback: boom\n', running = false): ServerRemains => ({ state: { running, exitCode }, output });

describe('startupFailure: a server that never became ready', () => {
  it('names an OOM kill OutOfMemory with the track memory, whatever the readiness said', () => {
    const failed = startupFailure({ readinessReason: 'no valid /process answer', lastFailure: 'schema', ending: oom, server: server(137), memory: '8g' });
    expect(failed).toEqual({ category: 'OutOfMemory', reason: 'the inference server was killed for exceeding 8g while starting', logExcerpt: 'loading weights\nTraceback: boom' });
  });

  it.each(['schema', 'invalid-json', 'too-large'] as const)('names a server that answered with %s a ContractViolation', (lastFailure) => {
    const readinessReason = 'no valid /process answer within the start-up limit';
    const failed = startupFailure({ readinessReason, lastFailure, ending: { cause: 'running', category: null }, server: server(null, '', true), memory: '8g' });
    expect(failed.category).toBe('ContractViolation');
    expect(failed.reason).toBe('no valid /process answer within the start-up limit; the server still running');
  });

  it('names any other way out StartupFailed, with the exit status and the last output', () => {
    const failed = startupFailure({ readinessReason: 'the server exited before answering (connection refused)', lastFailure: 'connection', ending: exited(3), server: server(3), memory: '8g' });
    expect(failed).toEqual({
      category: 'StartupFailed',
      reason: 'the server exited before answering (connection refused); the server exited with status 3',
      logExcerpt: 'loading weights\nTraceback: boom',
    });
    expect(startupFailure({ readinessReason: 'r', lastFailure: null, ending: exited(1), server: server(1), memory: '8g' }).category).toBe('StartupFailed');
  });
});

describe('the restart decision', () => {
  it('allows a restart while restarts so far are below the allowance', () => {
    expect([0, 1, 2].map((restarts) => mayRestart(restarts, 2))).toEqual([true, true, false]);
    expect(mayRestart(0, 0)).toBe(false);
  });

  it('restarts a crashed server that has a restart left', () => {
    expect(afterServerCrash({ ending: exited(1), server: server(1), memory: '8g', restarts: 0, allowedRestarts: 1, summary: { answered: 10, total: 40 } })).toEqual({ next: 'restart' });
  });

  it('ends the stage when no restart is left, saying how far it got and after how many restarts', () => {
    expect(afterServerCrash({ ending: exited(1), server: server(1), memory: '8g', restarts: 0, allowedRestarts: 0, summary: { answered: 10, total: 40 } })).toEqual({
      next: 'end',
      reason: 'the inference server exited with status 1 after 10 of 40 answers',
    });
    expect(afterServerCrash({ ending: exited(139), server: server(139), memory: '8g', restarts: 2, allowedRestarts: 2, summary: { answered: 31, total: 40 } })).toEqual({
      next: 'end',
      reason: 'the inference server exited with status 139 after 31 of 40 answers, also after 2 restart(s)',
    });
  });

  it('fails a server killed for memory at once, restarts left or not', () => {
    const next = afterServerCrash({ ending: oom, server: server(137, 'answering\n'), memory: '16g', restarts: 0, allowedRestarts: 3, summary: { answered: 5, total: 40 } });
    expect(next).toEqual({
      next: 'fail',
      failure: { category: 'OutOfMemory', reason: 'the inference server was killed for exceeding 16g during the evaluation', logExcerpt: 'answering' },
    });
  });
});

describe('evaluateResult', () => {
  it('carries the ending, the counts, the prediction and the time since the activity started', () => {
    const summary: EvaluationSummary = { total: 40, answered: 40, failed: 1, unanswered: 0, requestsSent: 40, stopReason: null, failuresByKind: { timeout: 1 }, scenarios: [] };
    const prediction: StagePrediction = { total: 40, estimateMs: 60_000, lowMs: 50_000, highMs: 70_000, limitMs: 600_000, fits: true, answeredShareAtLimit: 1, sample: 8, concurrency: 2 };
    const result = evaluateResult({
      ending: 'completed',
      reason: null,
      summary,
      restarts: 1,
      stopDelayMs: null,
      peakMemoryBytes: 1234,
      startedAt: 1_000,
      endedAt: 65_500,
      logFile: '/data/logs/s/open-eval.log',
      hostId: 'h1',
      prediction,
    });
    expect(result).toEqual({
      ending: 'completed',
      reason: null,
      summary,
      restarts: 1,
      stopDelayMs: null,
      peakMemoryBytes: 1234,
      durationMs: 64_500,
      logFile: '/data/logs/s/open-eval.log',
      hostId: 'h1',
      prediction,
    });
  });
});
