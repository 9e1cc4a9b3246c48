/** `challenge retry <id>`: re-runs a pipeline from its first stage that did not succeed, reusing the ones that did (exit 3: nothing to retry). */
import type { Command } from 'commander';
import { z } from 'zod';
import { connectClient } from '../../infra/temporal.js';
import { retryPipeline } from '../../operations/pipeline-actions.js';
import { EXIT, LimitFlags, action, checkedOptions, runtimeConfig, stageLimits, withLimitOptions, withResultsStore } from '../command-kit.js';

const RetryFlags = LimitFlags.extend({ json: z.boolean().default(false) });

async function retryCommand(submissionId: string, options: unknown): Promise<number> {
  const flags = checkedOptions(RetryFlags, options);
  const limits = stageLimits(flags);
  const config = runtimeConfig();
  const client = await connectClient(config);
  try {
    const plan = await withResultsStore(config, (db) => retryPipeline(client, config, db, submissionId, limits ? { limits } : {}));
    if (flags.json) console.log(JSON.stringify(plan, null, 2));
    else if (plan.kind === 'nothing-to-retry') console.log(`${submissionId}: nothing to retry (${plan.reason})`);
    else {
      // Said before what was started: a retry rebuilt from the database may lack what the first run had.
      if (plan.startedFrom.from === 'results-database') console.error(`challenge retry: ${plan.startedFrom.fallback}`);
      if (plan.kind === 'reevaluate') {
        console.log(`${submissionId}: re-evaluating ${plan.suites.join(' and ')} with the existing artifact: ${plan.workflowId}\n  Web UI: ${plan.url}`);
      } else {
        const reused = plan.reuseBuild ? ' (images reused)' : '';
        console.log(`${submissionId}: pipeline ${plan.result.status}${reused}: ${plan.result.workflowId}\n  Web UI: ${plan.result.url}`);
      }
    }
    return plan.kind === 'nothing-to-retry' ? EXIT.alreadyFinished : EXIT.ok;
  } finally {
    await client.connection.close();
  }
}

export function registerRetryCommand(program: Command): void {
  const command = program
    .command('retry')
    .description('re-run from the first stage that did not succeed, keeping the ones that did')
    .argument('<id>', 'the submission id (team.submission)');
  withLimitOptions(command)
    .option('--json', 'print the retry plan as JSON')
    .addHelpText(
      'after',
      `
Re-runs from the first stage that did not succeed: evaluations only when training finished (its
artifact is reused), fine-tune onwards when the build succeeded (its images are reused), else all.
It starts from what the earlier run was started with (its phase and stages, an uploaded archive, the
phase's suites); when Temporal no longer has that run, from the results database, and says what it lacks.
The stages run under the limits they ran under before, unless a limit flag gives another.
Exit code 3 when every stage succeeded (nothing to retry).`,
    )
    .action(action(retryCommand));
}
