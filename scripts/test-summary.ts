/**
 * The closing lines of `npm test` (scripts/test.sh), from the results file jest wrote in this run:
 *   - every skipped test by name (file › title), everywhere;
 *   - the set-up failures scripts/ensure-tools.sh recorded (test-artifacts/setup-failures.txt);
 *   - under CI=true, each skipped test whose title carries the mark of test/support/needs.ts (it needs a real
 *     component that is missing) and each set-up failure counts as a failure, named with its reason;
 *   - last, the plain line "N passed, N failed[, N skipped]" that .ci/run repeats.
 * Usage: node dist/scripts/test-summary.js <jest-results.json> [setup-failures.txt]; exits 1 when the run failed.
 * A missing or unreadable results file is itself a failure: the closing line can only come from this run.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { readEnvironment } from '../infra/environment.js';

/** What is read of jest's --json output (the rest is ignored). */
export const JestResults = z.object({
  numPassedTests: z.number().int(),
  numFailedTests: z.number().int(),
  numPendingTests: z.number().int(),
  numTodoTests: z.number().int().default(0),
  numRuntimeErrorTestSuites: z.number().int(),
  testResults: z.array(
    z.object({
      name: z.string(),
      assertionResults: z.array(z.object({ fullName: z.string(), status: z.string() })),
    }),
  ),
});
export type JestResults = z.infer<typeof JestResults>;

/** The mark test/support/needs.ts skipMark puts in a title: "[skipped: needs <component>: <why>]". */
export const SKIP_MARK = /\[skipped: needs ([a-z0-9-]+): ([^\]]*)\]/;

export interface Summary {
  /** Lines printed before the closing line. */
  lines: string[];
  /** "N passed, N failed[, N skipped]". */
  closing: string;
  failed: boolean;
}

/** The summary of one run; `root` makes the file names relative. */
export function summarize(results: JestResults, options: { ci: boolean; setupFailures: string[]; root: string }): Summary {
  const skipped = results.testResults.flatMap((file) =>
    file.assertionResults.filter((a) => a.status === 'pending' || a.status === 'skipped').map((a) => ({ file: path.relative(options.root, file.name), name: a.fullName })),
  );
  const lines: string[] = [];
  if (skipped.length > 0) {
    lines.push(`skipped (${skipped.length}):`);
    for (const s of skipped) lines.push(`  ${s.file} › ${s.name}`);
  }
  const needing = skipped.flatMap((s) => {
    const m = SKIP_MARK.exec(s.name);
    return m ? [{ ...s, component: m[1]!, why: m[2]! }] : [];
  });
  for (const failure of options.setupFailures) lines.push(`set-up failure: ${failure}`);
  const ciFailures = options.ci ? needing.length + options.setupFailures.length : 0;
  if (options.ci) {
    for (const n of needing) lines.push(`CI: FAILED: ${n.file} › ${n.name} was skipped: it needs ${n.component}, which is missing (${n.why})`);
    for (const failure of options.setupFailures) lines.push(`CI: FAILED: the set-up did not complete: ${failure}`);
  } else if (needing.length > 0) {
    lines.push(`${needing.length} skipped test(s) need a real component that is missing (${[...new Set(needing.map((n) => n.component))].join(', ')}); under CI=true they fail the run`);
  }
  const failed = results.numFailedTests + results.numRuntimeErrorTestSuites + ciFailures;
  const closing = `${results.numPassedTests} passed, ${failed} failed` + (skipped.length ? `, ${skipped.length} skipped` : '');
  return { lines, closing, failed: failed > 0 };
}

/** The set-up failures, one a line ("<component>: <what happened>"); none when the file is absent. */
export function readSetupFailures(file: string | undefined): string[] {
  if (!file || !existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [resultsFile, setupFile] = process.argv.slice(2);
  const setupFailures = readSetupFailures(setupFile);
  let results: JestResults;
  try {
    if (!resultsFile || !existsSync(resultsFile)) throw new Error(`jest wrote no results file (${resultsFile ?? 'none named'}): it stopped before the end of this run; see its output above`);
    results = JestResults.parse(JSON.parse(readFileSync(resultsFile, 'utf8')));
  } catch (error) {
    for (const failure of setupFailures) console.log(`set-up failure: ${failure}`);
    console.log(`no results from this run: ${(error as Error).message.split('\n')[0]}`);
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
  const summary = summarize(results, { ci: readEnvironment('shell').CI, setupFailures, root: process.cwd() });
  for (const line of summary.lines) console.log(line);
  console.log(summary.closing);
  process.exit(summary.failed ? 1 : 0);
}
