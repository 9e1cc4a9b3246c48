/**
 * What a submission's pipeline was started with, so that a retry starts from the same thing:
 *  - startedWith: the PipelineInput of the pipeline's latest run, read from its start event in Temporal's history.
 *    It is the one record with every field (an upload's stored source, the phase's run and stages, the phase's
 *    suites, harness, host policy, limits); null when Temporal no longer has the run (history retention, a new
 *    cluster).
 *  - recordedInput: the fallback when it is gone, rebuilt from the results database: the submission's row, its
 *    team's intake of it (phase and stored archive), the stages its phase skipped; with what it could not recover.
 */
import { isGrpcServiceError, type Client } from '@temporalio/client';
import type { Payload } from '@temporalio/common';
import { z } from 'zod';
import { PartialStageLimits, TrackId } from '../temporal.config.js';
import { PHASE_STAGES, PhaseStage } from '../domain/competition/schema.js';
import { RUN_PURPOSES, parseRunSubmissionId, type PhaseRun } from '../domain/competition/runs.js';
import type { PipelineInput, SubmissionSource } from '../contract/types.js';
import { pipelineWorkflowId } from '../contract/pipeline.js';
import { phaseThatSkipped, type ResultsStore, type StageRecord, type SubmissionRecord } from '../infra/results-store.js';
import { defaultSuiteFiles } from '../infra/paths.js';

const GRPC_NOT_FOUND = 5;

const optionalNumber = z.number().optional();

/** A pipeline's input as its start event carries it (every field the workflow reads; older runs lack the newer optional ones). */
export const StartedInput: z.ZodType<PipelineInput> = z.object({
  submissionId: z.string().min(1),
  team: z.string().min(1),
  submission: z.string().min(1),
  track: TrackId,
  directory: z.string().min(1),
  suites: z.object({ open: z.string().min(1), closed: z.string().min(1) }),
  limits: PartialStageLimits.optional(),
  harness: z
    .object({ concurrency: optionalNumber, requestTimeoutMs: optionalNumber, maxAttempts: optionalNumber, retryBackoffMs: optionalNumber, maxPromptTokens: optionalNumber })
    .optional(),
  heartbeatTimeoutMs: optionalNumber,
  reuseBuild: z.boolean().optional(),
  hostPolicy: z.object({ scheduleToStartMs: optionalNumber, goneAfterMs: optionalNumber }).optional(),
  buildRetry: z.object({ initialIntervalMs: optionalNumber, backoffCoefficient: optionalNumber, maximumIntervalMs: optionalNumber, maximumAttempts: optionalNumber }).optional(),
  source: z.object({ archiveKey: z.string().min(1), archiveSha256: z.string().min(1), sourceDigest: z.string().optional() }).optional(),
  run: z.object({ phase: z.string().min(1), purpose: z.enum(RUN_PURPOSES), stages: z.array(PhaseStage).min(1), of: z.string().optional() }).optional(),
})
  // A field added to PipelineInput later and not listed here is carried over, not dropped from the retry.
  .loose();

/** The input the latest run of the submission's pipeline was started with; null when Temporal has no such workflow any more. */
export async function startedWith(client: Pick<Client, 'workflowService' | 'options'>, submissionId: string): Promise<PipelineInput | null> {
  const workflowId = pipelineWorkflowId(submissionId);
  let events;
  try {
    // Only the first event: a pipeline's history can be long, its start event is all this needs.
    const response = await client.workflowService.getWorkflowExecutionHistory({ namespace: client.options.namespace, execution: { workflowId }, maximumPageSize: 1 });
    events = response.history?.events ?? [];
  } catch (error) {
    if (isGrpcServiceError(error) && error.code === GRPC_NOT_FOUND) return null;
    throw error;
  }
  const started = events[0]?.workflowExecutionStartedEventAttributes;
  if (!started) return null;
  const type = started.workflowType?.name;
  if (type !== 'submissionPipeline') throw new Error(`workflow ${workflowId} is a ${type ?? '(nameless)'} workflow, not a submission pipeline; retry it by hand from the Temporal UI`);
  const payload = started.input?.payloads?.[0];
  if (!payload) throw new Error(`the start event of ${workflowId} carries no input; start the submission again with: challenge submit <dir>`);
  const parsed = StartedInput.safeParse(await decoded(client, payload));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = `${issue?.path.join('.') || '(input)'}: ${issue?.message ?? 'unreadable'}`;
    throw new Error(`the input ${workflowId} was started with does not read as a pipeline input (${where}); start the submission again with: challenge submit <dir>`);
  }
  return parsed.data;
}

/** The payload as the client's data converter wrote it: its codecs undone (in reverse order), then converted. */
async function decoded(client: Pick<Client, 'options'>, payload: Payload): Promise<unknown> {
  const { payloadCodecs, payloadConverter } = client.options.loadedDataConverter;
  let payloads = [payload];
  for (const codec of [...payloadCodecs].reverse()) payloads = await codec.decode(payloads);
  return payloadConverter.fromPayload(payloads[0]!);
}

export interface RecordedInput {
  input: PipelineInput;
  /** What the rebuilt input could not recover from the database, in words (for the operator). */
  unknown: string[];
}

/**
 * A pipeline input rebuilt from the results database, for a submission whose first run Temporal no longer has: the
 * directory, team and track of its row; the phase and stored archive of its team's intake (an upload); the stages its
 * phase skipped (the run's stages are the others). Harness, host policy and per-run settings other than the recorded
 * stage limits are not in the database: the defaults apply.
 */
export async function recordedInput(db: Pick<ResultsStore, 'intakes'>, submission: SubmissionRecord, stages: readonly StageRecord[]): Promise<RecordedInput> {
  // A final or reproduction run (`<id>.final`) was made from the team's upload `<id>`: its intake has the archive.
  const { submissionId: uploaded, purpose } = parseRunSubmissionId(submission.submissionId);
  const intake = (await db.intakes(submission.team)).find((i) => i.submissionId === uploaded);
  const skippedBy = stages.map(phaseThatSkipped).find((phase) => phase !== null) ?? undefined;
  const phase = purpose === 'development' ? (intake?.phase ?? skippedBy) : skippedBy;
  const skipped = new Set(stages.filter((s) => phaseThatSkipped(s) !== null).map((s) => s.stage));
  const run: PhaseRun | undefined = phase
    ? { phase, purpose, stages: PHASE_STAGES.filter((stage) => !skipped.has(stage)), ...(purpose === 'development' ? {} : { of: uploaded }) }
    : undefined;
  const source: SubmissionSource | undefined = intake ? { archiveKey: intake.archiveKey, archiveSha256: intake.archiveSha256 } : undefined;
  const track = TrackId.parse(submission.track);
  const unknown = [
    `the suites (the default ones of track ${track} are used)`,
    ...(run ? [] : ['the phase (the run goes through every stage, under no phase)']),
    ...(source || !run ? [] : [`the stored archive (no intake of ${uploaded} by team ${submission.team}: the build uses the directory ${submission.directory})`]),
    'the harness and host settings (the defaults apply)',
  ];
  return {
    input: {
      submissionId: submission.submissionId,
      team: submission.team,
      submission: submission.name,
      track,
      directory: submission.directory,
      suites: defaultSuiteFiles(track),
      ...(source ? { source } : {}),
      ...(run ? { run } : {}),
    },
    unknown,
  };
}
