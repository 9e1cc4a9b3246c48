/** `challenge logs <id>`: the last lines of each stage's container log (earlier attempts included), from the data folder or the artifact store. */
import type { Command } from 'commander';
import { z } from 'zod';
import { openArtifactStore } from '../../infra/open-artifact-store.js';
import { submissionLogTails } from '../../operations/stage-logs.js';
import { EXIT, action, checkedOptions, runtimeConfig, wholeNumber } from '../command-kit.js';

const LOG_STAGES = ['build', 'fine-tune', 'open-eval', 'closed-eval'] as const;
const LogsFlags = z.object({
  stage: z.enum(LOG_STAGES, { error: (issue) => `"${String(issue.input)}" is not a stage with a log; use one of ${LOG_STAGES.join(', ')}` }).optional(),
  lines: wholeNumber(1, 10_000),
});

async function logsCommand(submissionId: string, options: unknown): Promise<number> {
  const flags = checkedOptions(LogsFlags, options);
  const config = runtimeConfig();
  const logs = await submissionLogTails(config.dataDir, submissionId, {
    lines: flags.lines,
    store: () => openArtifactStore(config.artifactStore),
    ...(flags.stage ? { stage: flags.stage } : {}),
  });
  if (logs.length === 0) {
    console.error(`no logs for ${submissionId}${flags.stage ? ` stage ${flags.stage}` : ''} in ${config.dataDir}/logs nor in the artifact store`);
    return EXIT.failed;
  }
  for (const log of logs) console.log(`===== ${log.file}\n${log.text}`);
  return EXIT.ok;
}

export function registerLogsCommand(program: Command): void {
  program
    .command('logs')
    .description("container logs of a submission's stages (capped)")
    .argument('<id>', 'the submission id (team.submission)')
    .option('--stage <stage>', `only this stage's logs (${LOG_STAGES.join(', ')})`)
    .option('--lines <n>', 'the last lines of each log', '100')
    .addHelpText('after', "\nPrints the last lines of each stage's container log (earlier attempts included), from the data folder.")
    .action(action(logsCommand));
}
