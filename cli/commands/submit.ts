/** `challenge submit <dir>`: starts a submission's pipeline, or reports the one already started (exit 3 when it finished). */
import type { Command } from 'commander';
import { z } from 'zod';
import { loadSubmission } from '../../domain/submission.js';
import { connectClient } from '../../infra/temporal.js';
import { submit } from '../../operations/pipelines.js';
import { EXIT, LimitFlags, TrackValue, action, checkedOptions, runtimeConfig, stageLimits, withLimitOptions } from '../command-kit.js';

const SubmitFlags = LimitFlags.extend({ track: TrackValue.optional(), json: z.boolean().default(false) });

async function submitCommand(dir: string, options: unknown): Promise<number> {
  const flags = checkedOptions(SubmitFlags, options);
  const limits = stageLimits(flags);
  loadSubmission(dir, flags.track); // bad input fails here, before any connection
  const config = runtimeConfig();
  const client = await connectClient(config);
  try {
    const result = await submit(client, config, dir, { ...(flags.track ? { track: flags.track } : {}), ...(limits ? { limits } : {}) });
    if (flags.json) console.log(JSON.stringify(result, null, 2));
    else if (result.status === 'started') console.log(`started ${result.workflowId}\n  Web UI: ${result.url}\n  follow: challenge status ${result.submissionId} --watch`);
    else {
      const state = result.status === 'already-running' ? 'still running' : 'finished';
      console.log(`${result.submissionId} was submitted before and is ${state}: ${result.workflowId}\n  Web UI: ${result.url}`);
    }
    return result.status === 'already-completed' ? EXIT.alreadyFinished : EXIT.ok;
  } finally {
    await client.connection.close();
  }
}

export function registerSubmitCommand(program: Command): void {
  const command = program
    .command('submit')
    .description('start the pipeline of a submission directory')
    .argument('<dir>', 'the submission directory (submission.json, Dockerfile, Dockerfile.train)')
    .option('--track <id>', 'override the track of submission.json (a100-40gb, 4090-24gb, cpu)');
  withLimitOptions(command)
    .option('--json', 'print the result as JSON')
    .addHelpText('after', '\nA second submit of a running or finished submission reports it instead of starting it again (exit code 3 when it finished).')
    .action(action(submitCommand));
}
