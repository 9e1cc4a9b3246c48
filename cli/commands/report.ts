/** `challenge report`: a track's generalization, contamination and efficiency report (cli/report.ts), kept in the artifact store. */
import type { Command } from 'commander';
import { z } from 'zod';
import { artifactKeys } from '../../infra/artifact-store.js';
import { openArtifactStore } from '../../infra/open-artifact-store.js';
import { renderTrackReport, trackReport } from '../report.js';
import { EXIT, TrackValue, action, checkedOptions, runtimeConfig, wholeNumber, withResultsStore } from '../command-kit.js';

const ReportFlags = z.object({ track: TrackValue, ngram: wholeNumber(1, 64), json: z.boolean().default(false) });

async function reportCommand(options: unknown): Promise<number> {
  const flags = checkedOptions(ReportFlags, options);
  const config = runtimeConfig();
  return withResultsStore(config, async (db) => {
    const report = await trackReport(db, flags.track, { n: flags.ngram });
    const json = JSON.stringify(report, null, 2);
    const text = renderTrackReport(report);
    console.log(flags.json ? json : text);
    // Kept in the artifact store (dated, and as latest), so a report outlives the machine that made it.
    const store = await openArtifactStore(config.artifactStore);
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    for (const name of [stamp, 'latest']) {
      await store.putText(artifactKeys.report(flags.track, `${name}.json`), `${json}\n`);
      await store.putText(artifactKeys.report(flags.track, `${name}.txt`), `${text}\n`);
    }
    console.error(`report kept in ${store.location}/${artifactKeys.report(flags.track, `${stamp}.json`)} (and .txt, and latest.*)`);
    return EXIT.ok;
  });
}

export function registerReportCommand(program: Command): void {
  program
    .command('report')
    .description('generalization, contamination and efficiency report of a track')
    .option('--track <id>', 'the track (a100-40gb, 4090-24gb, cpu)', 'cpu')
    .option('--ngram <n>', 'the n-gram length of the contamination scan, 1 to 64', '13')
    .option('--json', 'print the report as JSON')
    .addHelpText(
      'after',
      `
A copy is kept in the artifact store under reports/<track>/ (dated, and latest.json / latest.txt).
Open vs closed correlation (Pearson, Spearman, Kendall with bootstrap intervals), rank shifts and
overfit flags; n-gram contamination of each submission's declared training data; efficiency figures.`,
    )
    .action(action(reportCommand));
}
