/**
 * The whole pipeline on the real Temporal dev server and the real Docker engine: the four shipped
 * samples go through build → fine-tune → open eval → closed eval → score at once, and each ends as
 * it should, without holding up the others.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import path from 'node:path';
import { execa } from 'execa';
import { ResultsDb, type StageRecord } from '../../infra/results-db.js';
import { PROJECT_ROOT } from '../../infra/paths.js';
import { submit, listPipelines, type SubmitResult } from '../../operations/pipelines.js';
import { leaderboard } from '../../operations/standings.js';
import type { PipelineState } from '../../contract/pipeline.js';
import { startStack, type Stack } from '../support/stack.js';
import type { PageFacts } from '../support/page-facts.js';
import { startWebServer } from '../../web/server.js';
import { uiLocationOf } from '../../infra/temporal.js';

const LIMITS = { fineTune: 90_000, openEval: 20_000, closedEval: 20_000, startup: 15_000 };
const SAMPLES = ['good-cooccurrence', 'build-fails', 'oom-train', 'slow-server'] as const;

let stack: Stack;
let db: ResultsDb;
const submitted: Record<string, SubmitResult> = {};
const results: Record<string, PipelineState> = {};
const stages: Record<string, StageRecord[]> = {};
const stage = (sample: string, name: string) => stages[sample]!.find((s) => s.stage === name)!;

beforeAll(async () => {
  stack = await startStack();
  for (const sample of SAMPLES) {
    submitted[sample] = await submit(stack.client, stack.config, path.join(PROJECT_ROOT, 'examples', sample), { limits: LIMITS, heartbeatTimeoutMs: 5000 });
  }
  await Promise.all(
    SAMPLES.map(async (sample) => {
      results[sample] = (await stack.client.workflow.getHandle(submitted[sample]!.workflowId).result()) as PipelineState;
    }),
  );
  db = new ResultsDb(stack.config.databasePath);
  for (const sample of SAMPLES) stages[sample] = db.stages(submitted[sample]!.submissionId);
}, 360_000);

afterAll(async () => {
  db?.close();
  await stack?.stop();
});

describe('submissionPipeline on Temporal and Docker', () => {
  it('carries the good sample through all four stages, answering every toy instance right', () => {
    expect(results['good-cooccurrence']).toMatchObject({ outcome: 'completed', failureCategory: null });
    for (const name of ['build', 'fine-tune', 'open-eval', 'closed-eval', 'score']) expect(stage('good-cooccurrence', name).outcome).toBe('succeeded');
    const scores = db.scenarioScores(submitted['good-cooccurrence']!.submissionId);
    expect(scores.map((s) => s.scenario).sort()).toEqual(['animal-sounds', 'capitals', 'colors', 'opposites']);
    for (const score of scores) {
      expect(score.answered).toBe(score.instances);
      // Its corpus states every toy answer (README, "What a submission is"): it gets every instance right.
      expect([score.scenario, score.score]).toEqual([score.scenario, 1]);
    }
    expect((stage('good-cooccurrence', 'fine-tune').details as { progress: { step: number } }).progress.step).toBe(5);
  });

  it('ends the sample whose image does not build in BuildFailed, naming the step, and skips the rest', () => {
    expect(results['build-fails']).toMatchObject({ outcome: 'failed', failureCategory: 'BuildFailed' });
    const build = stage('build-fails', 'build');
    expect(build.failureCategory).toBe('BuildFailed');
    expect(build.reason).toMatch(/import transformers/);
    expect(String(build.details?.logExcerpt)).toMatch(/No module named 'transformers'/);
    for (const name of ['fine-tune', 'open-eval', 'closed-eval']) expect(stage('build-fails', name).outcome).toBe('skipped');
  });

  it('ends the sample that exhausts memory in OutOfMemory after one retry with CHALLENGE_OOM_RETRY', () => {
    expect(results['oom-train']).toMatchObject({ outcome: 'failed', failureCategory: 'OutOfMemory' });
    const fineTune = stage('oom-train', 'fine-tune');
    expect(fineTune.failureCategory).toBe('OutOfMemory');
    expect(fineTune.reason).toMatch(/OOMKilled/);
    expect(fineTune.details?.oomRetries).toBe(1);
    expect(stage('oom-train', 'open-eval').outcome).toBe('skipped');
  });

  it('stops the too-slow server at its limit within seconds, keeps its answers and scores the rest zero', () => {
    expect(results['slow-server']).toMatchObject({ outcome: 'completed', failureCategory: 'TimeLimit' });
    for (const name of ['open-eval', 'closed-eval'] as const) {
      const s = stage('slow-server', name);
      expect(s).toMatchObject({ outcome: 'partial', failureCategory: 'TimeLimit' });
      const elapsed = Date.parse(s.endedAt!) - Date.parse(s.startedAt!);
      expect(elapsed).toBeGreaterThanOrEqual(LIMITS.openEval);
      expect(elapsed - LIMITS.openEval).toBeLessThan(5000);
      const details = s.details as { answered: number; unanswered: number; total: number };
      expect(details.unanswered).toBeGreaterThan(0);
      expect(details.answered + details.unanswered).toBe(details.total);
    }
    const answered = db.answerCount(submitted['slow-server']!.submissionId, 'open');
    expect(answered).toBe((stage('slow-server', 'open-eval').details as { answered: number }).answered);
  });

  it('ranks every submission of the track, failures included, by the challenge rules', async () => {
    const board = await leaderboard(db, 'cpu');
    expect(board.rows.map((r) => r.submissionId)[0]).toBe('ngram-lab.cooccurrence-v1');
    expect(board.rows).toHaveLength(4);
    const byId = Object.fromEntries(board.rows.map((r) => [r.submissionId, r]));
    expect(byId['broken-builds.missing-dependency']?.failureCategory).toBe('BuildFailed');
    expect(byId['greedy-memory.unbounded-batch']?.failureCategory).toBe('OutOfMemory');
    expect(byId['sleepy-inference.one-at-a-time']?.failureCategory).toBe('TimeLimit');
    // N = 4: the unique best scores (N-1)/N = 0.75 in every column, so its stage scores are 0.75.
    expect(byId['ngram-lab.cooccurrence-v1']?.open).toBeCloseTo(0.75, 12);
    expect(byId['ngram-lab.cooccurrence-v1']?.final).toBeCloseTo(0.75, 12);
  });

  it('detects a second submit of the same submission instead of starting it again', async () => {
    const again = await submit(stack.client, stack.config, path.join(PROJECT_ROOT, 'examples', 'good-cooccurrence'));
    expect(again).toMatchObject({ status: 'already-completed', workflowId: submitted['good-cooccurrence']!.workflowId });
    const cli = await stack.cli(['submit', path.join(PROJECT_ROOT, 'examples', 'good-cooccurrence')]);
    expect(cli.exitCode).toBe(3);
    expect(cli.stdout).toMatch(/submitted before/);
  });

  it('keeps search attributes current so the Web UI can filter by track, stage, outcome and failure', async () => {
    const oom = await listPipelines(stack.client, `Track = "cpu" AND FailureCategory = "OutOfMemory"`);
    expect(oom.map((p) => p.workflowId)).toEqual([submitted['oom-train']!.workflowId]);
    const all = await listPipelines(stack.client);
    expect(all).toHaveLength(4);
    expect(all.every((p) => p.stage === 'done' && p.team)).toBe(true);
  });

  it('shows each stage against its limit in `challenge status` and the table in `challenge leaderboard`', async () => {
    const status = await stack.cli(['status', 'sleepy-inference.one-at-a-time']);
    expect(status.stdout).toMatch(/open-eval\s+partial\s+2\d(\.\d)?s of 20s/);
    expect(status.stdout).toMatch(/TimeLimit: the evaluation reached its limit of 20s/);
    const board = await stack.cli(['leaderboard', '--track', 'cpu', '--csv']);
    expect(board.exitCode).toBe(0);
    expect(board.stdout.split('\n')[1]).toMatch(/^1,ngram-lab\.cooccurrence-v1,/);
  }, 60_000); // two CLI processes; a loaded 2-core machine took more than jest's default 5 s

  it('shows the real run on the web page in a real browser', async () => {
    const web = await startWebServer({ db, dataDir: stack.config.dataDir, temporalUi: uiLocationOf(stack.config) });
    try {
      const browsed = await execa('node', [path.join(PROJECT_ROOT, 'dist/test/support/page-facts.js'), web.url, 'broken-builds.missing-dependency', 'sleepy-inference.one-at-a-time']);
      const facts = JSON.parse(browsed.stdout) as PageFacts;
      expect(facts.track.ranked).toEqual((await leaderboard(db, 'cpu')).rows.map((r) => r.submissionId));
      expect(facts.track.scatterPoints).toBe(4);
      expect(facts.track.correlation).toMatch(/^-?\d\.\d{3}$|^n\/a$/);
      expect([...facts.track.failureBars].sort()).toEqual(['BuildFailed', 'OutOfMemory', 'TimeLimit']);
      const broken = facts.submissions['broken-builds.missing-dependency']!;
      expect(broken.failureReason).toMatch(/import transformers/);
      expect(broken.logExcerpt).toMatch(/No module named 'transformers'/);
      const slow = facts.submissions['sleepy-inference.one-at-a-time']!;
      const openBar = slow.timeline.find((t) => t.stage === 'open-eval')!;
      expect(Number(openBar.limitMs)).toBe(LIMITS.openEval);
      expect(Number(openBar.elapsedMs)).toBeGreaterThanOrEqual(LIMITS.openEval);
      expect(slow.temporalLink).toBe(`${stack.config.uiUrl}/namespaces/default/workflows/submission-sleepy-inference.one-at-a-time`);
    } finally {
      await web.close();
    }
  }, 120_000);

  it('leaves no container behind', async () => {
    for (const sample of SAMPLES) {
      const listed = await execa('docker', ['ps', '-aq', '--filter', `label=challenge.workflow=${submitted[sample]!.workflowId}`]);
      expect(listed.stdout.trim()).toBe('');
    }
  });
});
