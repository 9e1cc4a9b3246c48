/**
 * Load-aware placement on a real Temporal dev server, with the real pipeline and placement workflows, the real
 * bookkeeping and placement activities, and stand-in hosts (no containers) of one GPU slot each whose
 * fine-tuning holds its slot until the test lets it finish:
 *  - a busy host does not take a claim while another host of the track has a free slot;
 *  - with every slot taken a submission waits (no host), and the first slot freed anywhere takes it;
 *  - fair share: on one slot, team alpha's four submissions wait behind bravo's and charlie's one each once alpha
 *    has used GPU time, and an operator's weight for alpha (operations/placement.ts) puts alpha's next one first.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { Worker, type NativeConnection } from '@temporalio/worker';
import { fileURLToPath } from 'node:url';
import { TASK_QUEUES } from '../../temporal.config.js';
import { ResultsDb } from '../../infra/results-db.js';
import { createBookkeepingActivities } from '../../activities/bookkeeping.js';
import { announceHost, createPlacementActivities, createPlacementAuditActivities, withdrawHost } from '../../activities/placement.js';
import { placementOf, setTeamWeight } from '../../operations/placement.js';
import type { BuildInput, BuiltImages, EvaluateInput, EvaluateResult, FineTuneInput, FineTuneResult, PipelineInput } from '../../contract/types.js';
import { progressQuery, type PipelineState } from '../../contract/pipeline.js';
import { placementQuery, placementWorkflowId } from '../../contract/placement.js';
import { until } from '../support/until.js';
import { standInEvaluation, standInFineTune, standInImages, standInPipelineInput, startTestTemporal, type TestTemporal } from '../support/stand-in-host.js';

const WORKFLOWS = fileURLToPath(new URL('../../workflows/index.js', import.meta.url));
const TRACK = 'cpu' as const;

let temporal: TestTemporal;
let connection: NativeConnection;
let client: Client;
let db: ResultsDb;
const workers: Worker[] = [];
const runs: Promise<void>[] = [];

/** Fine-tunings in progress, by submission: the test ends each one (its GPU slot stays taken until then). */
const training = new Map<string, () => void>();
/** The submissions in the order their fine-tuning started (each one had the slot). */
const trainingOrder: string[] = [];

function hostActivities(host: string) {
  return {
    buildImages: async (input: BuildInput): Promise<BuiltImages> => standInImages(input.submissionId, host),
    async fineTune(input: FineTuneInput): Promise<FineTuneResult> {
      trainingOrder.push(input.submissionId);
      await new Promise<void>((resolve) => training.set(input.submissionId, resolve));
      return standInFineTune(host, 1, false);
    },
    evaluate: async (input: EvaluateInput): Promise<EvaluateResult> => standInEvaluation(input, host),
  };
}

/** A host of one GPU slot: its pinned queues polled, its slot announced to the track's placement. */
async function startHost(host: string): Promise<void> {
  const activities = hostActivities(host);
  const created = await Promise.all([
    Worker.create({ connection, taskQueue: TASK_QUEUES.hostGpu(TRACK, host), activities: { fineTune: activities.fineTune, evaluate: activities.evaluate }, maxConcurrentActivityTaskExecutions: 1 }),
    Worker.create({ connection, taskQueue: TASK_QUEUES.hostCpu(TRACK, host), activities: { buildImages: activities.buildImages } }),
  ]);
  for (const worker of created) {
    workers.push(worker);
    runs.push(worker.run());
  }
  await announceHost(client, TRACK, host, 1);
}

const input = (submissionId: string): PipelineInput => standInPipelineInput(submissionId, TRACK, { heartbeatTimeoutMs: 5000, hostPolicy: { scheduleToStartMs: 30_000, goneAfterMs: 60_000 } });

const start = (submissionId: string) =>
  client.workflow.start('submissionPipeline', { taskQueue: TASK_QUEUES.orchestrator, workflowId: `placement-it-${submissionId}`, args: [input(submissionId)] });
const hostOf = async (handle: WorkflowHandle) => ((await handle.query(progressQuery)) as PipelineState).host;

beforeAll(async () => {
  temporal = await startTestTemporal('placement');
  ({ connection, client } = temporal);
  db = new ResultsDb(':memory:');
  const orchestrator = await Worker.create({
    connection,
    taskQueue: TASK_QUEUES.orchestrator,
    workflowsPath: WORKFLOWS,
    activities: { ...createBookkeepingActivities(db), ...createPlacementActivities(), ...createPlacementAuditActivities() },
  });
  workers.push(orchestrator);
  runs.push(orchestrator.run());
}, 120_000);

afterAll(async () => {
  for (const release of training.values()) release();
  for (const worker of workers) worker.shutdown();
  await Promise.all(runs);
  db?.close();
  await temporal?.stop();
});

describe('load-aware placement', () => {
  it('a busy host leaves the claim to a host with a free slot; with none free the submission waits for the first slot freed', async () => {
    await startHost('host-a');
    const first = await start('team.first');
    await until('the first submission trains on host-a', () => training.has('team.first'), 30_000);
    expect(await hostOf(first)).toBe('host-a');

    // host-a is busy (its one slot trains team.first); host-b, announced after it, has a free slot.
    await startHost('host-b');
    const second = await start('team.second');
    await until('the second submission trains', () => training.has('team.second'), 30_000);
    expect(await hostOf(second)).toBe('host-b');

    // Every slot taken: the third waits in the placement's queue, on no host.
    const third = await start('team.third');
    await until('the third submission waits', async () => ((await client.workflow.getHandle(placementWorkflowId(TRACK)).query(placementQuery)).waiting.length === 1), 30_000);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(await hostOf(third)).toBeNull();
    const book = await client.workflow.getHandle(placementWorkflowId(TRACK)).query(placementQuery);
    expect(book.leases.map((l) => l.hostId).sort()).toEqual(['host-a', 'host-b']);

    // host-b's submission ends first: its slot goes to the waiting one at once.
    training.get('team.second')!();
    expect(((await second.result()) as PipelineState).outcome).toBe('completed');
    await until('the third submission trains', () => training.has('team.third'), 30_000);
    expect(await hostOf(third)).toBe('host-b');

    training.get('team.first')!();
    training.get('team.third')!();
    for (const handle of [first, third]) expect(((await handle.result()) as PipelineState).outcome).toBe('completed');
    const after = await client.workflow.getHandle(placementWorkflowId(TRACK)).query(placementQuery);
    expect(after).toMatchObject({ leases: [], waiting: [] });
    expect(db.stages('team.third').find((s) => s.stage === 'fine-tune')?.details).toMatchObject({ hostId: 'host-b' });
  }, 120_000);
  it('fair share: alpha floods one slot, bravo and charlie go before its second; a weight for alpha puts its next one first', async () => {
    const book = async () => (await placementOf(client, TRACK))!;
    const waitingOrder = async () => (await book()).next.map((w) => w.requester.workflowId.replace('placement-it-', ''));
    // One slot: host-a's (host-b leaves service; its worker stays, it gets no lease).
    await withdrawHost(client, TRACK, 'host-b');
    await until('host-b is out of service', async () => (await book()).hosts.some((h) => h.hostId === 'host-b' && !h.inService), 30_000);
    trainingOrder.length = 0;
    const handles = new Map<string, WorkflowHandle>();
    const submit = async (id: string, waiting: number) => {
      handles.set(id, await start(id));
      await until(`${id} waits (${waiting} waiting)`, async () => (await book()).waiting.length === waiting, 30_000);
    };
    handles.set('alpha.s1', await start('alpha.s1'));
    await until('alpha.s1 trains', () => training.has('alpha.s1'), 30_000);
    for (const [i, id] of ['alpha.s2', 'alpha.s3', 'alpha.s4', 'bravo.s1', 'charlie.s1'].entries()) await submit(id, i + 1);
    // alpha holds the slot (its GPU time grows), bravo and charlie used none: they go first, bravo (older) before charlie.
    expect(await waitingOrder()).toEqual(['bravo.s1', 'charlie.s1', 'alpha.s2', 'alpha.s3', 'alpha.s4']);
    const finish = async (id: string, next: string) => {
      training.get(id)!();
      expect(((await handles.get(id)!.result()) as PipelineState).outcome).toBe('completed');
      await until(`${next} trains after ${id}`, () => training.has(next), 30_000);
    };
    await finish('alpha.s1', 'bravo.s1');
    await new Promise((resolve) => setTimeout(resolve, 500)); // bravo uses 0.5 s or more of GPU time
    await finish('bravo.s1', 'charlie.s1');
    await finish('charlie.s1', 'alpha.s2');
    expect(trainingOrder).toEqual(['alpha.s1', 'bravo.s1', 'charlie.s1', 'alpha.s2']);

    // bravo asks again: it used less than alpha, so it would go next ...
    await submit('bravo.s2', 3);
    expect(await waitingOrder()).toEqual(['bravo.s2', 'alpha.s3', 'alpha.s4']);
    const shares = (await book()).teams.filter((t) => t.phase === 'none' && ['alpha', 'bravo'].includes(t.team));
    const used = Object.fromEntries(shares.map((t) => [t.team, t.usedMs]));
    expect(used.alpha).toBeGreaterThan(used.bravo!);
    expect(used.bravo).toBeGreaterThanOrEqual(500);
    // ... until the operator weighs alpha 1000: its GPU time counts ÷ 1000, less than bravo's.
    await setTeamWeight(client, { track: TRACK, team: 'alpha', weight: 1000 });
    await until('the weight reorders the waiting claims', async () => (await waitingOrder())[0] === 'alpha.s3', 30_000);
    expect((await book()).teams.find((t) => t.team === 'alpha')).toMatchObject({ weight: 1000, holding: 1, waiting: 2 });
    await finish('alpha.s2', 'alpha.s3');
    await finish('alpha.s3', 'alpha.s4');
    await finish('alpha.s4', 'bravo.s2');
    expect(trainingOrder).toEqual(['alpha.s1', 'bravo.s1', 'charlie.s1', 'alpha.s2', 'alpha.s3', 'alpha.s4', 'bravo.s2']);
    training.get('bravo.s2')!();
    expect(((await handles.get('bravo.s2')!.result()) as PipelineState).outcome).toBe('completed');
    await expect(setTeamWeight(client, { track: TRACK, team: 'alpha', weight: 0 })).rejects.toThrow(/weight: the weight must be a number above 0/);
  }, 180_000);
});
