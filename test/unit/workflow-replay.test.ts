/**
 * Replays histories recorded from real runs (test/fixtures/histories, written by scripts/record-histories.ts)
 * against the workflow code as it is now. A pipeline runs for a day: its workflow is replayed by whichever
 * worker picks it up after a deploy, so a change that makes the code issue other commands for the same
 * history (another activity order, a timer more or less, a new await before an old one) fails those runs with
 * a nondeterminism error. Such a change needs `patched()` (README, "Changing workflow code"); this test fails
 * until it has one. No server and no Docker: replay needs only the workflow bundle.
 */
import { beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DefaultLogger, Runtime, Worker, bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { historyGenerations, type HistoryIndex } from '../../scripts/record-histories.js';
import { historyFromJSON } from '../support/history-json.js';

const WORKFLOWS_PATH = fileURLToPath(new URL('../../workflows/index.js', import.meta.url));
// Every generation of recorded histories (test/fixtures/histories/<date>-<commit>/), each with its index.
const generations = historyGenerations().map(({ dir, name }) => ({ dir, name, index: JSON.parse(readFileSync(path.join(dir, 'index.json'), 'utf8')) as HistoryIndex }));
const cases = generations.flatMap((g) => g.index.histories.map((h) => [`${g.name}/${h.file}`, g.dir, h] as const));

let bundle: WorkflowBundleWithSourceMap;
beforeAll(async () => {
  Runtime.install({ logger: new DefaultLogger('WARN') }); // a replay worker logs every state change at INFO
  // One bundle for every replay: bundling is the slow part (seconds), a replay worker is cheap.
  bundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: new DefaultLogger('WARN') });
}, 120_000);

describe('recorded histories replay with the current workflow code', () => {
  it('indexes every file of each generation, and the newest covers every workflow the orchestrator registers', async () => {
    expect(generations.length).toBeGreaterThan(0);
    for (const { dir, index } of generations) {
      const files = readdirSync(dir).filter((f) => f.endsWith('.json') && f !== 'index.json');
      expect(index.histories.map((h) => h.file).sort()).toEqual(files.sort());
    }
    const registered = Object.keys((await import(WORKFLOWS_PATH)) as Record<string, unknown>).sort();
    const newest = generations.map((g) => g.index).sort((a, b) => a.recordedAt.localeCompare(b.recordedAt)).at(-1)!;
    expect([...new Set(newest.histories.map((h) => h.workflowType))].sort()).toEqual(registered);
  });

  it.each(cases)('%s', async (_label, dir, recorded) => {
    const history = historyFromJSON(JSON.parse(readFileSync(path.join(dir, recorded.file), 'utf8')));
    expect(history.events?.length).toBe(recorded.events);
    // Throws DeterminismViolationError when the code no longer produces the recorded commands.
    await Worker.runReplayHistory({ workflowBundle: bundle }, history, recorded.workflowId);
  }, 60_000);
});
