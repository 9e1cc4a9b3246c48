/** `challenge cancel <id>`: cancels a running pipeline; what it produced so far is kept, and the end is not charged. */
import type { Command } from 'commander';
import { connectClient } from '../../infra/temporal.js';
import { cancelPipeline } from '../../operations/pipeline-actions.js';
import { EXIT, action, runtimeConfig } from '../command-kit.js';

async function cancelCommand(submissionId: string): Promise<number> {
  const client = await connectClient(runtimeConfig());
  try {
    console.log(`cancel requested for ${await cancelPipeline(client, submissionId)}`);
    return EXIT.ok;
  } finally {
    await client.connection.close();
  }
}

export function registerCancelCommand(program: Command): void {
  program
    .command('cancel')
    .description('cancel a running pipeline (what it produced so far is kept)')
    .argument('<id>', 'the submission id (team.submission)')
    .addHelpText(
      'after',
      `
Cancels the pipeline: the running stage stops its container, keeps what it produced, and the pipeline
ends as "cancelled" (not charged to the participant).`,
    )
    .action(action(cancelCommand));
}
