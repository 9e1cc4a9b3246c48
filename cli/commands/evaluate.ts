/** `challenge evaluate <id> --suite closed=<file>`: re-evaluates a submission's existing fine-tuned artifact against new suites. */
import type { Command } from 'commander';
import { z } from 'zod';
import { connectClient } from '../../infra/temporal.js';
import { reevaluate } from '../../operations/pipeline-actions.js';
import type { TrackId } from '../../temporal.config.js';
import { EXIT, LimitFlags, UsageError, action, checkedOptions, runtimeConfig, stageLimits, suiteFiles, suiteOption, withLimitOptions, withResultsStore } from '../command-kit.js';

const EvaluateFlags = LimitFlags.extend({ suite: z.array(z.string()).optional(), json: z.boolean().default(false) });

async function evaluateCommand(submissionId: string, options: unknown): Promise<number> {
  const flags = checkedOptions(EvaluateFlags, options);
  const suites = suiteFiles(flags.suite); // bad input fails here, before any connection
  const limits = stageLimits(flags);
  const config = runtimeConfig();
  return withResultsStore(config, async (db) => {
    const submission = await db.submission(submissionId);
    if (!submission) throw new UsageError(`no submission "${submissionId}" in ${db.location}; list them with: challenge status`);
    const client = await connectClient(config);
    try {
      const input = { submissionId, track: submission.track as TrackId, suites, reason: 'operator', ...(limits ? { limits } : {}) };
      const started = await reevaluate(client, config, input, 'operator');
      console.log(flags.json ? JSON.stringify(started) : `re-evaluating ${submissionId}: ${started.workflowId}\n  Web UI: ${started.url}`);
      return EXIT.ok;
    } finally {
      await client.connection.close();
    }
  });
}

export function registerEvaluateCommand(program: Command): void {
  const command = program
    .command('evaluate')
    .description('re-evaluate an existing fine-tuned submission against a suite')
    .argument('<id>', 'the submission id (team.submission)')
    .addOption(suiteOption());
  withLimitOptions(command)
    .option('--json', 'print the started workflow as JSON')
    .addHelpText(
      'after',
      `
Example: challenge evaluate <team.submission> --suite closed=<file.json> [--suite open=<file.json>] [--closed-eval-limit 10m]
Re-evaluates the submission's existing fine-tuned artifact against the given suite(s); the new
scores replace the old ones for that suite kind, the earlier answers are kept as history.`,
    )
    .action(action(evaluateCommand));
}
