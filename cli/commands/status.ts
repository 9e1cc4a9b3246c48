/** `challenge status [id]`: every pipeline, one line each, or one pipeline's stages against their limits (--watch redraws). */
import type { Command } from 'commander';
import { z } from 'zod';
import { formatDuration, formatSpan } from '../../domain/units.js';
import { textTable } from '../../domain/text-table.js';
import { connectClient } from '../../infra/temporal.js';
import { pipelineWorkflowId } from '../../contract/pipeline.js';
import { listPipelines, pipelineStatus, stageProgressLines, type PipelineStatus } from '../../operations/pipelines.js';
import { EXIT, action, checkedOptions, runtimeConfig } from '../command-kit.js';

const StatusFlags = z.object({ watch: z.boolean().default(false), json: z.boolean().default(false) });
const WATCH_INTERVAL_MS = 2000;

function bar(fraction: number, width = 20): string {
  const filled = Math.max(0, Math.min(width, Math.round(fraction * width)));
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
}

/** One pipeline as `challenge status <id>` prints it: each stage's outcome, elapsed time against its limit, and progress. */
export function renderStatus(status: PipelineStatus, now = Date.now()): string {
  const heading = `${status.workflowId}  ${status.status}${status.state ? `  host ${status.state.host ?? '—'}` : ''}`;
  if (!status.state) return `${heading}\n  (no progress available: is the orchestrator worker running?)`;
  const rows = status.state.stages.map((stage) => {
    const elapsed = stage.startedAt === null ? null : (stage.endedAt ?? now) - stage.startedAt;
    const limit = stage.limitMs;
    const timing = elapsed === null ? '' : limit ? `${formatSpan(elapsed)} of ${formatDuration(limit)} ${bar(elapsed / limit, 10)}` : formatSpan(elapsed);
    return [stage.stage, stage.outcome, timing, stage.failureCategory ? `${stage.failureCategory}: ${stage.reason ?? ''}` : ''];
  });
  // Under each stage its progress lines (an evaluation's answered/total, rate, projected end, the probe's prediction).
  const [header = '', rule = '', ...stageLines] = textTable(['stage', 'outcome', 'elapsed of limit', 'failure'], rows);
  const progress = status.state.stages.map((stage) => stageProgressLines(stage));
  const lines = [heading, `  ${header}`, `  ${rule}`, ...stageLines.flatMap((line, i) => [`  ${line}`, ...(progress[i] ?? []).map((p) => `      ${p}`)])];
  const details = status.activity?.details as { answered?: number; total?: number; progress?: { step?: number; totalSteps?: number } } | null | undefined;
  if (details?.total && progress.every((p) => p.length === 0)) lines.push(`  progress  ${bar((details.answered ?? 0) / details.total)} ${details.answered ?? 0}/${details.total} instances`);
  else if (details?.progress?.totalSteps) {
    lines.push(`  progress  ${bar((details.progress.step ?? 0) / details.progress.totalSteps)} step ${details.progress.step}/${details.progress.totalSteps}`);
  }
  if (status.activity && status.activity.attempt > 1) lines.push(`  attempt   ${status.activity.attempt} of ${status.activity.type}`);
  return lines.join('\n');
}

async function statusCommand(id: string | undefined, options: unknown): Promise<number> {
  const flags = checkedOptions(StatusFlags, options);
  const config = runtimeConfig();
  const client = await connectClient(config);
  try {
    if (id === undefined) {
      const pipelines = await listPipelines(client);
      if (flags.json) console.log(JSON.stringify(pipelines, null, 2));
      else if (pipelines.length === 0) console.log('no pipelines yet: challenge submit <dir>');
      else {
        const rows = pipelines.map((p) => [p.workflowId, p.status, p.track ?? '', p.stage ?? '—', p.outcome ?? '—', p.failure ?? '']);
        console.log(textTable(['pipeline', 'status', 'track', 'stage', 'outcome', 'failure'], rows).join('\n'));
      }
      return EXIT.ok;
    }
    const workflowId = id.startsWith('submission-') ? id : pipelineWorkflowId(id);
    for (;;) {
      const status = await pipelineStatus(client, workflowId);
      if (flags.json) console.log(JSON.stringify(status, null, 2));
      else console.log(`${flags.watch && process.stdout.isTTY ? '\x1b[2J\x1b[H' : ''}${renderStatus(status)}`);
      if (!flags.watch || status.status !== 'RUNNING') return status.state?.outcome === 'failed' ? EXIT.failed : EXIT.ok;
      await new Promise((resolve) => setTimeout(resolve, WATCH_INTERVAL_MS));
    }
  } finally {
    await client.connection.close();
  }
}

export function registerStatusCommand(program: Command): void {
  program
    .command('status')
    .description('all pipelines, or one (stage, elapsed against limit, progress)')
    .argument('[id]', 'a workflow id (submission-...) or a submission id (team.submission)')
    .option('--watch', `redraw every ${WATCH_INTERVAL_MS / 1000} s until the pipeline ends`)
    .option('--json', 'print the status as JSON')
    .addHelpText('after', '\nWithout an id: one line per pipeline. With one: each stage with its elapsed time against its limit (exit code 1 when it failed).')
    .action(action(statusCommand));
}
