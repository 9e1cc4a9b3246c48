/**
 * `challenge schedule create|list|describe|pause|unpause|trigger|delete`: Temporal Schedules of batch
 * re-evaluations (operations/schedules.ts), one subcommand each.
 */
import { Option, type Command } from 'commander';
import type { Client } from '@temporalio/client';
import { z } from 'zod';
import { textTable } from '../../domain/text-table.js';
import { connectClient, uiPageUrl } from '../../infra/temporal.js';
import { createSchedule, listSchedules, scheduleAction, type ScheduleAction } from '../../operations/schedules.js';
import { EXIT, LimitFlags, TrackValue, UsageError, action, checkedOptions, runtimeConfig, stageLimits, suiteFiles, suiteOption, wholeNumber, withLimitOptions } from '../command-kit.js';

const CreateFlags = LimitFlags.extend({
  cron: z.string().optional(),
  suite: z.array(z.string()).optional(),
  track: TrackValue.optional(),
  concurrency: wholeNumber(1, 1000),
  overlap: z.enum(['skip', 'buffer-one']),
});
const ListFlags = z.object({ json: z.boolean().default(false) });

async function withClient(body: (client: Client) => Promise<number>): Promise<number> {
  const client = await connectClient(runtimeConfig());
  try {
    return await body(client);
  } finally {
    await client.connection.close();
  }
}

async function createCommand(scheduleId: string, options: unknown): Promise<number> {
  const flags = checkedOptions(CreateFlags, options);
  if (!flags.cron) throw new UsageError('schedule create needs --cron, e.g. --cron "0 2 * * *" (02:00 UTC every day)');
  const suites = suiteFiles(flags.suite);
  const limits = stageLimits(flags);
  const cron = flags.cron;
  return withClient(async (client) => {
    await createSchedule(client, {
      scheduleId,
      cron,
      suites,
      concurrency: flags.concurrency,
      overlap: flags.overlap,
      ...(flags.track ? { track: flags.track } : {}),
      ...(limits ? { limits } : {}),
    });
    console.log(`schedule ${scheduleId} created; see ${uiPageUrl(runtimeConfig(), 'schedules', scheduleId)}`);
    return EXIT.ok;
  });
}

async function listCommand(options: unknown): Promise<number> {
  const flags = checkedOptions(ListFlags, options);
  return withClient(async (client) => {
    const schedules = await listSchedules(client);
    if (flags.json) console.log(JSON.stringify(schedules, null, 2));
    else if (schedules.length === 0) console.log('no schedules yet: challenge schedule create <id> --cron ... --suite closed=<file>');
    else {
      const rows = schedules.map((s) => [s.scheduleId, s.paused ? 'paused' : 'active', s.nextRun?.toISOString() ?? '—', s.note ?? '']);
      console.log(textTable(['schedule', 'state', 'next run', 'note'], rows).join('\n'));
    }
    return EXIT.ok;
  });
}

const actionCommand = (name: ScheduleAction) =>
  action(async (scheduleId: string) =>
    withClient(async (client) => {
      const result = await scheduleAction(client, scheduleId, name);
      console.log(name === 'describe' ? JSON.stringify(result, null, 2) : `schedule ${scheduleId}: ${name} done`);
      return EXIT.ok;
    }),
  );

const ACTION_DESCRIPTIONS: Record<ScheduleAction, string> = {
  describe: "the schedule's policies, recent and next runs, and the running batch's progress (JSON)",
  pause: 'stop starting batches until unpaused',
  unpause: 'start batches again on the cron',
  trigger: 'start a batch now',
  delete: 'delete the schedule (running batches go on)',
};

export function registerScheduleCommands(program: Command): void {
  const schedule = program
    .command('schedule')
    .description('scheduled batch re-evaluations (create, list, describe, pause, unpause, trigger, delete)')
    .addHelpText(
      'after',
      `
challenge schedule create <id> --cron "0 2 * * *" --suite closed=<file.json> [--track <id>] [--concurrency 4] [--overlap skip|buffer-one]
challenge schedule list | describe <id> | pause <id> | unpause <id> | trigger <id> | delete <id>
A Temporal Schedule whose action is a batch workflow that re-evaluates every completed submission
(of the track) with at most --concurrency at once. Overlap: skip (default) never stacks batches;
catch-up window 1 h, so an outage replays at most the last missed batch.`,
    );
  const create = schedule
    .command('create')
    .description('create a schedule of batch re-evaluations')
    .argument('<id>', 'the schedule id')
    .option('--cron <expr>', 'when batches start, e.g. "0 2 * * *" (02:00 UTC every day)')
    .addOption(suiteOption())
    .option('--track <id>', 'only the submissions of this track (default: every track)')
    .option('--concurrency <n>', 're-evaluations at once, 1 to 1000', '4')
    .addOption(new Option('--overlap <policy>', 'when the previous batch still runs: skip this one, or run it next').choices(['skip', 'buffer-one']).default('skip'));
  withLimitOptions(create).action(action(createCommand));
  schedule.command('list').description('every schedule: state, next run, note').option('--json', 'print the schedules as JSON').action(action(listCommand));
  for (const [name, description] of Object.entries(ACTION_DESCRIPTIONS) as [ScheduleAction, string][]) {
    schedule.command(name).description(description).argument('<id>', 'the schedule id').action(actionCommand(name));
  }
}
