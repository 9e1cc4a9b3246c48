import { describe, expect, it } from '@jest/globals';
import { TASK_QUEUES, limitsFor } from '../../temporal.config.js';
import { loadRuntimeConfig } from '../../infra/runtime-config.js';
import { GpuPool } from '../../infra/gpu-pool.js';
import { ResultsDb } from '../../infra/results-db.js';
import { logExcerpt } from '../../domain/failures.js';

describe('temporal.config', () => {
  it('keeps the challenge limits per GPU track and lets a run override any of them', () => {
    expect(limitsFor('a100-40gb')).toEqual({ build: 7_200_000, fineTune: 86_400_000, openEval: 18_000_000, closedEval: 36_000_000, startup: 1_200_000 });
    expect(limitsFor('4090-24gb', { openEval: 5000 }).openEval).toBe(5000);
    expect(limitsFor('4090-24gb', { openEval: 5000 }).closedEval).toBe(36_000_000);
  });

  it('derives host-pinned queues from track and host', () => {
    expect(TASK_QUEUES.track('a100-40gb')).toBe('gpu-a100-40gb');
    expect(TASK_QUEUES.hostGpu('a100-40gb', 'rack1-07')).toBe('gpu-a100-40gb@rack1-07');
  });

  it('rejects a bad environment with the variable named', () => {
    expect(() => loadRuntimeConfig({ CHALLENGE_HOST_ID: 'Host 1' }, '/tmp')).toThrow(/CHALLENGE_HOST_ID="Host 1": host ids are lowercase/);
    expect(() => loadRuntimeConfig({ CHALLENGE_GPU_SLOTS: '0' }, '/tmp')).toThrow(/CHALLENGE_GPU_SLOTS="0": .*1 to 64/);
    expect(() => loadRuntimeConfig({ DATABASE_URL: 'mysql://x' }, '/tmp')).toThrow(/DATABASE_URL must be a PostgreSQL URL/);
    // Every bad variable at once, not the first only.
    expect(() => loadRuntimeConfig({ CHALLENGE_GPU_SLOTS: 'two', CHALLENGE_TEMPORAL_PORT: 'x' }, '/tmp')).toThrow(/CHALLENGE_TEMPORAL_PORT="x".*\n.*CHALLENGE_GPU_SLOTS="two"/s);
    expect(() => loadRuntimeConfig({ TEMPORAL_TLS_CERT: '/c.pem' }, '/tmp')).toThrow(/mTLS needs both TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY/);
    expect(loadRuntimeConfig({}, '/srv').databasePath).toBe('/srv/.data/results.sqlite');
    // An empty value counts as unset: the default holds.
    const defaults = loadRuntimeConfig({ CHALLENGE_GPU_SLOTS: '', TEMPORAL_NAMESPACE: '' }, '/srv');
    expect([defaults.gpuSlots, defaults.temporal.namespace, defaults.temporal.address, defaults.uiUrl]).toEqual([2, 'default', '127.0.0.1:7233', 'http://127.0.0.1:8233']);
    expect(loadRuntimeConfig({ CHALLENGE_TEMPORAL_PORT: '7300' }, '/srv').uiUrl).toBe('http://127.0.0.1:8300');
  });
});

describe('GpuPool', () => {
  it('never hands the same index to two holders, and queues a third until one is released', async () => {
    const pool = new GpuPool(2);
    const a = await pool.acquire();
    const b = await pool.acquire();
    expect(new Set([a.index, b.index])).toEqual(new Set([0, 1]));
    let third: number | null = null;
    const waiting = pool.acquire().then((g) => (third = g.index));
    await new Promise((r) => setTimeout(r, 10));
    expect(third).toBeNull();
    b.release();
    b.release(); // releasing twice is harmless
    await waiting;
    expect(third).toBe(b.index);
    expect(pool.available).toBe(0);
  });
});

describe('ResultsDb (real SQLite)', () => {
  it('upserts stages and never duplicates an answer', () => {
    const db = new ResultsDb(':memory:');
    db.recordStage({
      submissionId: 's',
      stage: 'build',
      outcome: 'succeeded',
      failureCategory: null,
      reason: null,
      startedAt: '2026-01-01T00:00:00Z',
      endedAt: '2026-01-01T00:01:00Z',
      limitMs: 1000,
      details: { a: 1 },
    });
    db.recordStage({
      submissionId: 's',
      stage: 'build',
      outcome: 'failed',
      failureCategory: 'BuildFailed',
      reason: 'step 3',
      startedAt: null,
      endedAt: '2026-01-01T00:02:00Z',
      limitMs: 1000,
      details: null,
    });
    const [stage] = db.stages('s');
    expect(stage).toMatchObject({ outcome: 'failed', failureCategory: 'BuildFailed', startedAt: '2026-01-01T00:00:00Z' });
    const store = db.answerStore('s', 'open');
    const answer = { scenario: 'x', instanceId: 'id0', completion: ' A', score: 1, errorKind: null, error: null, attempts: 1, latencyMs: 3 };
    store.save(answer);
    store.save({ ...answer, score: 0 });
    expect(store.all()).toEqual([answer]);
    expect(store.answeredKeys()).toEqual(new Set(['x/id0']));
    expect(db.answerStore('s', 'closed').all()).toEqual([]);
    db.close();
  });
});

describe('logExcerpt', () => {
  it('keeps the tail of a log within bounds', () => {
    const log = Array.from({ length: 100 }, (_, i) => `line ${i}`).join('\n') + '\n\n';
    expect(logExcerpt(log, 3)).toBe('line 97\nline 98\nline 99');
    expect(logExcerpt('x'.repeat(10_000), 5, 100).length).toBe(101);
  });
});
