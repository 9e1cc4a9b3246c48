/**
 * An operator's retry starts from what the earlier run was started with (operations/started-with.ts), against a fake
 * Temporal client and results store: an inference-only upload keeps its phase, stages, stored archive and phase
 * suites; a trained run re-evaluates with its earlier suites and harness; the operator's limits and suites still win;
 * a run Temporal no longer has is rebuilt from the database, and the plan says so and what it lacks.
 */
import { describe, expect, it } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { defaultFailureConverter, defaultPayloadConverter } from '@temporalio/common';
import { loadRuntimeConfig } from '../../infra/runtime-config.js';
import { defaultSuiteFiles } from '../../infra/paths.js';
import type { PipelineInput } from '../../contract/types.js';
import type { StageRecord, SubmissionRecord } from '../../infra/results-store.js';
import type { IntakeRecord } from '../../infra/team-store.js';
import { SA } from '../../contract/search-attributes.js';
import { retryPipeline, type RetryStore } from '../../operations/pipeline-actions.js';
import { recordedInput, startedWith } from '../../operations/started-with.js';

const ID = 'baked-lab.weights-in-image';
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'retry-unit-'));
const config = loadRuntimeConfig({ CHALLENGE_DATA_DIR: dataDir }, dataDir);
const PHASE_SUITES = defaultSuiteFiles('cpu', 'toy');

/** What the intake started the upload with: an inference-only development run from its stored archive. */
const UPLOAD: PipelineInput = {
  submissionId: ID,
  team: 'baked-lab',
  submission: 'weights-in-image',
  track: 'cpu',
  directory: '/srv/challenge/sources/abc123',
  suites: PHASE_SUITES,
  limits: { openEval: 60_000 },
  harness: { concurrency: 2 },
  hostPolicy: { goneAfterMs: 9_000 },
  source: { archiveKey: 'sources/abc123.tar.gz', archiveSha256: 'abc123', sourceDigest: 'digest-1' },
  run: { phase: 'development', purpose: 'development', stages: ['build', 'open-eval'] },
};

const stage = (name: string, outcome: StageRecord['outcome'], details: Record<string, unknown> | null = null, limitMs: number | null = null): StageRecord => ({
  submissionId: ID,
  stage: name,
  outcome,
  failureCategory: outcome === 'failed' ? 'Infrastructure' : null,
  reason: null,
  startedAt: null,
  endedAt: null,
  limitMs,
  details,
});

/** The stages of the inference-only run whose open evaluation lost its host. */
const INFERENCE_ONLY_STAGES = [
  stage('build', 'succeeded', null, 600_000),
  stage('fine-tune', 'skipped', { skippedByPhase: 'development' }),
  stage('open-eval', 'failed', null, 60_000),
  stage('closed-eval', 'skipped', { skippedByPhase: 'development' }),
];

const SUBMISSION: SubmissionRecord = {
  submissionId: ID,
  team: 'baked-lab',
  name: 'weights-in-image',
  track: 'cpu',
  directory: UPLOAD.directory,
  workflowId: `submission-${ID}`,
  runId: 'run-1',
  submittedAt: '2026-03-01T12:00:00.000Z',
};

const INTAKE: IntakeRecord = {
  intakeId: 'intake-1',
  team: 'baked-lab',
  track: 'cpu',
  phase: 'development',
  submissionId: ID,
  archiveKey: 'sources/abc123.tar.gz',
  archiveSha256: 'abc123',
  acceptedAt: '2026-03-01T12:00:00.000Z',
  usesGrant: false,
  outcome: 'failed',
  failureCategory: 'Infrastructure',
  refunded: true,
  refundReason: 'the platform failed',
  settledAt: '2026-03-01T13:00:00.000Z',
};

function fakeStore(stages: StageRecord[], submission: SubmissionRecord = SUBMISSION, intakes: IntakeRecord[] = [INTAKE]): RetryStore {
  return {
    location: '/tmp/fake-results.sqlite',
    submission: (id) => (id === submission.submissionId ? submission : undefined),
    stages: (id) => (id === submission.submissionId ? stages : []),
    intakes: (team) => intakes.filter((i) => i.team === team),
  };
}

interface Started {
  workflowType: string;
  options: { workflowId: string; args: unknown[]; typedSearchAttributes?: { key: { name: string }; value: unknown }[] };
}

/** A Temporal client whose history holds `earlier` as the start event of the pipeline (none: the history is gone). */
function fakeClient(earlier: { type: string; input: unknown } | null) {
  const started: Started[] = [];
  const notFound = Object.assign(new Error('5 NOT_FOUND: workflow execution not found'), { code: 5, details: 'workflow execution not found', metadata: {} });
  const client = {
    options: {
      namespace: 'default',
      loadedDataConverter: { payloadConverter: defaultPayloadConverter, failureConverter: defaultFailureConverter, payloadCodecs: [] },
    },
    workflowService: {
      getWorkflowExecutionHistory: (request: { maximumPageSize?: number }) => {
        expect(request.maximumPageSize).toBe(1); // the start event only, however long the history
        if (!earlier) return Promise.reject(notFound);
        const attributes = { workflowType: { name: earlier.type }, input: { payloads: [defaultPayloadConverter.toPayload(earlier.input)] } };
        return Promise.resolve({ history: { events: [{ workflowExecutionStartedEventAttributes: attributes }] } });
      },
    },
    workflow: {
      getHandle: (workflowId: string) => ({
        describe: () =>
          earlier ? Promise.resolve({ status: { name: 'COMPLETED' }, runId: 'run-1' }) : Promise.reject(new WorkflowNotFoundError('not found', workflowId, undefined)),
      }),
      start: (workflow: { name: string }, options: Started['options']) => {
        started.push({ workflowType: workflow.name, options });
        return Promise.resolve({ firstExecutionRunId: `run-${started.length + 1}` });
      },
    },
  };
  return { client: client as unknown as Client, started };
}

const attribute = (run: Started, name: string): unknown => run.options.typedSearchAttributes?.find((a) => a.key.name === name)?.value;

describe('startedWith: the input of the earlier run', () => {
  it('reads the start event of the pipeline and checks it as a pipeline input', async () => {
    const { client } = fakeClient({ type: 'submissionPipeline', input: UPLOAD });
    expect(await startedWith(client, ID)).toEqual(UPLOAD);
  });

  it('is null when Temporal no longer has the workflow', async () => {
    expect(await startedWith(fakeClient(null).client, ID)).toBeNull();
  });

  it('refuses a start event that is not a pipeline, or an input that is not a pipeline input, naming the field', async () => {
    await expect(startedWith(fakeClient({ type: 'reevaluateSubmission', input: UPLOAD }).client, ID)).rejects.toThrow(/is a reevaluateSubmission workflow, not a submission pipeline/);
    const broken = { ...UPLOAD, run: { ...UPLOAD.run, stages: ['build', 'dance'] } };
    await expect(startedWith(fakeClient({ type: 'submissionPipeline', input: broken }).client, ID)).rejects.toThrow(/run\.stages\.1: .*challenge submit <dir>/);
  });
});

describe('retryPipeline', () => {
  it('retries an inference-only upload as the same run: its phase, stages, archive and suites, the build reused', async () => {
    const { client, started } = fakeClient({ type: 'submissionPipeline', input: { ...UPLOAD, reuseBuild: true } });
    const plan = await retryPipeline(client, config, fakeStore(INFERENCE_ONLY_STAGES), ID);
    expect(plan).toMatchObject({ kind: 'pipeline', reuseBuild: true, startedFrom: { from: 'earlier-run', workflowId: `submission-${ID}` }, result: { status: 'started' } });
    expect(started.map((s) => [s.workflowType, s.options.workflowId])).toEqual([['submissionPipeline', `submission-${ID}`]]);
    const input = started[0]!.options.args[0] as PipelineInput;
    expect(input).toEqual({ ...UPLOAD, limits: { build: 600_000, openEval: 60_000 }, reuseBuild: true });
    expect(attribute(started[0]!, SA.Phase.name)).toBe('development');
    expect(attribute(started[0]!, SA.Team.name)).toBe('baked-lab');
  });

  it('carries a field of the earlier input that the reader does not list (one added to PipelineInput later)', async () => {
    const { client, started } = fakeClient({ type: 'submissionPipeline', input: { ...UPLOAD, addedLater: { kept: true } } });
    await retryPipeline(client, config, fakeStore(INFERENCE_ONLY_STAGES), ID);
    expect(started[0]!.options.args[0]).toMatchObject({ submissionId: ID, addedLater: { kept: true } });
  });

  it('keeps the submission id of a final run (<id>.final), which its directory alone would not give', async () => {
    const finalId = `${ID}.final`;
    const finalInput: PipelineInput = { ...UPLOAD, submissionId: finalId, run: { phase: 'final', purpose: 'final', stages: ['build', 'open-eval', 'closed-eval'], of: ID } };
    const { client, started } = fakeClient({ type: 'submissionPipeline', input: finalInput });
    const stages = [stage('build', 'failed'), stage('fine-tune', 'skipped', { skippedByPhase: 'final' }), stage('open-eval', 'skipped'), stage('closed-eval', 'skipped')];
    const plan = await retryPipeline(client, config, fakeStore(stages, { ...SUBMISSION, submissionId: finalId }), finalId);
    expect(plan).toMatchObject({ kind: 'pipeline', reuseBuild: false });
    expect(started[0]!.options.workflowId).toBe(`submission-${finalId}`);
    expect(started[0]!.options.args[0]).toMatchObject({ submissionId: finalId, run: finalInput.run, source: UPLOAD.source });
    expect(started[0]!.options.args[0]).not.toHaveProperty('reuseBuild');
  });

  it("the operator's limits and suites override the earlier run's", async () => {
    const { client, started } = fakeClient({ type: 'submissionPipeline', input: UPLOAD });
    const suites = defaultSuiteFiles('cpu', 'neurips2023');
    await retryPipeline(client, config, fakeStore(INFERENCE_ONLY_STAGES), ID, { limits: { openEval: 5_000 }, suites });
    expect(started[0]!.options.args[0]).toMatchObject({ suites, limits: { build: 600_000, openEval: 5_000 }, run: UPLOAD.run });
  });

  it('re-evaluates a trained run with its earlier suites, harness, host policy and phase, only the evaluations that failed', async () => {
    const trained: PipelineInput = { ...UPLOAD, run: { phase: 'development', purpose: 'development', stages: ['build', 'fine-tune', 'open-eval', 'closed-eval'] } };
    const { client, started } = fakeClient({ type: 'submissionPipeline', input: trained });
    const stages = [stage('build', 'succeeded'), stage('fine-tune', 'succeeded'), stage('open-eval', 'succeeded'), stage('closed-eval', 'failed', null, 30_000)];
    const plan = await retryPipeline(client, config, fakeStore(stages), ID);
    expect(plan).toMatchObject({ kind: 'reevaluate', suites: ['closed'], startedFrom: { from: 'earlier-run' } });
    expect(started.map((s) => s.workflowType)).toEqual(['reevaluateSubmission']);
    expect(started[0]!.options.args[0]).toEqual({
      submissionId: ID,
      track: 'cpu',
      suites: { closed: PHASE_SUITES.closed },
      reason: 'retry',
      limits: { closedEval: 30_000, openEval: 60_000 },
      harness: { concurrency: 2 },
      hostPolicy: { goneAfterMs: 9_000 },
      phase: 'development', // its GPU time counts in the phase's fair share
      source: UPLOAD.source, // a host without the directory builds from the stored archive
    });
  });

  it('says nothing is left when every stage succeeded or was skipped by the phase', async () => {
    const { client, started } = fakeClient({ type: 'submissionPipeline', input: UPLOAD });
    const stages = INFERENCE_ONLY_STAGES.map((s) => (s.stage === 'open-eval' ? { ...s, outcome: 'succeeded' as const } : s));
    expect(await retryPipeline(client, config, fakeStore(stages), ID)).toEqual({ kind: 'nothing-to-retry', reason: 'every stage succeeded (or its phase runs none)' });
    expect(started).toEqual([]);
  });

  it('falls back to the results database when the history is gone, and says what it used and what it lacks', async () => {
    const { client, started } = fakeClient(null);
    const plan = await retryPipeline(client, config, fakeStore(INFERENCE_ONLY_STAGES), ID);
    if (plan.kind !== 'pipeline') throw new Error(`expected a pipeline retry, got ${plan.kind}`);
    expect(plan.startedFrom.from).toBe('results-database');
    const fallback = plan.startedFrom.from === 'results-database' ? plan.startedFrom.fallback : '';
    expect(fallback).toContain(`Temporal no longer has the run submission-${ID}`);
    expect(fallback).toContain('phase development: build, open-eval');
    expect(fallback).toContain('archive sources/abc123.tar.gz');
    expect(fallback).toContain('the suites (the default ones of track cpu are used)');
    expect(started[0]!.options.args[0]).toEqual({
      submissionId: ID,
      team: 'baked-lab',
      submission: 'weights-in-image',
      track: 'cpu',
      directory: UPLOAD.directory,
      suites: defaultSuiteFiles('cpu'),
      source: { archiveKey: 'sources/abc123.tar.gz', archiveSha256: 'abc123' },
      run: { phase: 'development', purpose: 'development', stages: ['build', 'open-eval'] },
      limits: { build: 600_000, openEval: 60_000 },
      reuseBuild: true,
    });
  });
});

describe('recordedInput: the fallback from the database', () => {
  it("takes a final run's archive from its upload's intake and its phase from the stages that phase skipped", async () => {
    const finalId = `${ID}.final`;
    const stages = [stage('build', 'failed'), stage('fine-tune', 'skipped', { skippedByPhase: 'final' })];
    const { input, unknown } = await recordedInput(fakeStore(stages), { ...SUBMISSION, submissionId: finalId }, stages);
    expect(input.run).toEqual({ phase: 'final', purpose: 'final', stages: ['build', 'open-eval', 'closed-eval'], of: ID });
    expect(input.source).toEqual({ archiveKey: INTAKE.archiveKey, archiveSha256: INTAKE.archiveSha256 });
    expect(unknown).not.toContain('the phase (the run goes through every stage, under no phase)');
  });

  it("an operator's run without intake or phase: every stage, no archive, and it says so", async () => {
    const stages = [stage('build', 'failed')];
    const { input, unknown } = await recordedInput(fakeStore(stages, SUBMISSION, []), SUBMISSION, stages);
    expect(input).not.toHaveProperty('run');
    expect(input).not.toHaveProperty('source');
    expect(unknown).toContain('the phase (the run goes through every stage, under no phase)');
  });
});
