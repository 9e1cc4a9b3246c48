/**
 * The operator's commands for the competition clock (workflows/competition-clock.ts), wired in by cli/commands/competition.ts:
 *   competition start  [--competition <file>]
 *   competition status [--competition <file>] [--json]
 *   competition extend <phase> --until <ISO instant> --reason "..." [--by <name>] [--competition <file>]
 * The competition file defaults to CHALLENGE_COMPETITION, else competitions/demo.json (infra/paths.ts). The clock's
 * workflow id is `competition-<id>`: one clock per competition, so a second start reports the running one.
 */
import os from 'node:os';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import { TASK_QUEUES } from '../temporal.config.js';
import { type RuntimeConfig } from '../infra/runtime-config.js';
import { CompetitionFileError, loadCompetition, type CompetitionFile } from '../domain/competition/index.js';
import type { CompetitionClockState } from '../domain/competition/clock.js';
import { formatSpan } from '../domain/units.js';
import { textTable } from '../domain/text-table.js';
import { competitionFilePath } from '../infra/paths.js';
import { connectClient, workflowUrl } from '../infra/temporal.js';
import { competitionStateQuery, competitionWorkflowId, extendDeadlineSignal } from '../contract/competition.js';
import type { competitionClock } from '../workflows/competition-clock.js';

export const COMPETITION_CLOCK_USAGE = `challenge competition start [--competition <file>]
  Starts the competition's clock (workflow competition-<id>): it opens and closes the phases on durable timers,
  starts the finals at the development close, then reproduces the top teams and judges them.
challenge competition status [--competition <file>] [--json]
  The phase open now and its time left, each phase's close (with extensions), the final and reproduction runs,
  the verdicts, and what the clock does next.
challenge competition extend <phase> --until <ISO instant> --reason "..." [--by <name>] [--competition <file>]
  Moves the phase's close (recorded in the clock's history with who asked and why); refused into the past or
  past the next phase's opening.
The file defaults to CHALLENGE_COMPETITION, else competitions/demo.json.`;

const fail = (message: string, code = 1): number => {
  console.error(message);
  return code;
};

/** Every line of `status`: pure, from the clock's query at `now`. */
export function renderClockState(state: CompetitionClockState, now: number): string {
  const open = state.phases.find((p) => p.id === state.currentPhase);
  const left = (iso: string): string => formatSpan(Math.max(0, Date.parse(iso) - now));
  const where = open ? `phase "${open.id}" open, closes ${open.closesAt} (in ${left(open.closesAt)})` : state.done ? 'every phase closed, the clock has ended' : 'no phase open now';
  const lines = [
    `competition ${state.competition}: ${where}`,
    ...textTable(
      ['phase', 'status', 'opens', 'closes', 'planned close', 'final'],
      state.phases.map((p) => [p.id, p.status, p.opensAt, p.closesAt, p.closesAt === p.plannedClosesAt ? '' : p.plannedClosesAt, p.final ? 'yes' : '']),
    ),
  ];
  for (const e of state.extensions) {
    lines.push(`extension of ${e.phase} to ${e.closesAt} by ${e.by} (${e.reason}): ${e.accepted ? `accepted, was ${e.previousClosesAt}` : `refused: ${e.refusal}`}`);
  }
  const runRows = state.runs.map((r) => [r.runId, r.purpose, r.team, r.track, r.failureCategory ? `${r.status} (${r.failureCategory})` : r.status]);
  if (runRows.length > 0) lines.push(...textTable(['run', 'purpose', 'team', 'track', 'status'], runRows));
  for (const v of state.verdicts) lines.push(`${v.verdict.padEnd(14)} ${v.of} (${v.track}): ${v.reason}`);
  lines.push(state.next ? `next: ${state.next.action}${state.next.at ? ` at ${state.next.at} (in ${left(state.next.at)})` : ''}` : 'next: nothing');
  return lines.join('\n');
}

async function withClient<T>(config: RuntimeConfig, body: (client: Client) => Promise<T>): Promise<T> {
  const client = await connectClient(config);
  try {
    return await body(client);
  } finally {
    await client.connection.close();
  }
}

async function stateOf(client: Client, competition: CompetitionFile): Promise<CompetitionClockState | null> {
  try {
    return await client.workflow.getHandle(competitionWorkflowId(competition.id)).query(competitionStateQuery);
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return null;
    throw error;
  }
}

const notStarted = (competition: CompetitionFile): string =>
  `no clock for competition ${competition.id} (workflow ${competitionWorkflowId(competition.id)}): start it with challenge competition start`;

/** The options of start, status and extend, as commander parsed them (cli/commands/competition.ts). */
export interface ClockFlags {
  competition?: string;
  json?: boolean;
  until?: string;
  reason?: string;
  by?: string;
}

export async function competitionClockCommand(config: RuntimeConfig, subcommand: 'start' | 'status' | 'extend', positionals: string[], values: ClockFlags): Promise<number> {
  let competition: CompetitionFile;
  try {
    competition = loadCompetition(values.competition ?? competitionFilePath());
  } catch (error) {
    if (error instanceof CompetitionFileError) return fail(error.message, 2);
    throw error;
  }
  const workflowId = competitionWorkflowId(competition.id);

  switch (subcommand) {
    case 'start':
      return withClient(config, async (client) => {
        try {
          await client.workflow.start<typeof competitionClock>('competitionClock', { taskQueue: TASK_QUEUES.orchestrator, workflowId, args: [{ competition }] });
          console.log(`started the clock of ${competition.id}: ${workflowUrl(config, workflowId)}`);
          return 0;
        } catch (error) {
          if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
          console.log(`the clock of ${competition.id} is already running (${workflowUrl(config, workflowId)}): challenge competition status shows it`);
          return 0;
        }
      });
    case 'status':
      return withClient(config, async (client) => {
        const state = await stateOf(client, competition);
        if (!state) return fail(notStarted(competition));
        console.log(values.json ? JSON.stringify(state, null, 2) : renderClockState(state, Date.now()));
        return 0;
      });
    case 'extend': {
      const phase = positionals[0];
      if (!phase || !values.until || !values.reason) return fail(`extend needs a phase, --until and --reason\n\n${COMPETITION_CLOCK_USAGE}`, 2);
      if (Number.isNaN(Date.parse(values.until))) return fail(`--until ${values.until} is not an instant: write ISO-8601 with an offset, e.g. 2023-10-27T23:59:00Z`, 2);
      const request = { phase, closesAt: values.until, by: values.by ?? os.userInfo().username, reason: values.reason };
      return withClient(config, async (client) => {
        const before = await stateOf(client, competition);
        if (!before) return fail(notStarted(competition));
        await client.workflow.getHandle(workflowId).signal(extendDeadlineSignal, request);
        // The clock decides when it handles the signal: wait (briefly) for its decision to show in the query.
        for (let tries = 0; tries < 20; tries++) {
          const state = await stateOf(client, competition);
          const decided = state?.extensions[before.extensions.length];
          if (decided) {
            if (decided.accepted) console.log(`phase ${phase} now closes at ${decided.closesAt} (was ${decided.previousClosesAt})`);
            return decided.accepted ? 0 : fail(`the clock refused the extension of ${phase}: ${decided.refusal}`);
          }
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
        return fail(`the extension was sent, but the clock has not decided it yet (is the orchestrator worker running?): challenge competition status shows it`);
      });
    }
  }
}
