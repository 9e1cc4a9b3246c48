/** `challenge check <dir|url>`: the preflight of a submission directory, or the contract check of a running server (cli/check.ts). */
import type { Command } from 'commander';
import path from 'node:path';
import { z } from 'zod';
import { checkDirectory, checkUrl } from '../check.js';
import { EXIT, action, checkedOptions, runtimeConfig } from '../command-kit.js';

const CheckFlags = z.object({ serve: z.boolean().default(false), artifacts: z.string().optional(), json: z.boolean().default(false) });

async function checkCommand(target: string, options: unknown): Promise<number> {
  const flags = checkedOptions(CheckFlags, options);
  const result = /^https?:\/\//.test(target)
    ? await checkUrl(target)
    : await checkDirectory(runtimeConfig(), target, { serve: flags.serve, ...(flags.artifacts ? { artifacts: path.resolve(flags.artifacts) } : {}) });
  console.log(flags.json ? JSON.stringify(result, null, 2) : result.text);
  return result.ok ? EXIT.ok : EXIT.failed;
}

export function registerCheckCommand(program: Command): void {
  program
    .command('check')
    .description('preflight a submission before it costs GPU time (format, Dockerfile, contamination, contract)')
    .argument('<dir|url>', 'a submission directory, or the URL of a running inference server')
    .option('--serve', 'also build and serve the inference image (sandboxed) and check its contract')
    .option('--artifacts <dir>', 'the trained artifacts to serve with --serve')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      `
A directory: the submission format, the Dockerfile preflight (unpinned installs, secrets, untagged base
images, run-time downloads) and the contamination of its declared training data against the suites;
with --serve also builds and serves its inference image (sandboxed) and checks its contract.
A URL: checks the server there against the contract (every endpoint, field types, logprob sums).
Exit code 0 when nothing blocks the submission, 1 otherwise.`,
    )
    .action(action(checkCommand));
}
