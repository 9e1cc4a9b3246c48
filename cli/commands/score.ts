/** `challenge score --metrics <file>`: scores a metrics table (the 2023 fixture format) by the challenge's rules; needs no server. */
import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { toCsv } from '../../domain/text-table.js';
import { CHALLENGE_2023_FINAL_RULES, parseFixture, parseScoringRules, scoreCompetition } from '../../domain/scoring/index.js';
import { EXIT, UsageError, action, checkedOptions } from '../command-kit.js';

const ScoreFlags = z.object({ metrics: z.string().optional(), rules: z.string().optional(), json: z.boolean().default(false), csv: z.boolean().default(false) });

function readJson(file: string, flag: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new UsageError(`${flag} ${file}: ${(error as Error).message}`);
  }
}

function scoreCommand(options: unknown): number {
  const flags = checkedOptions(ScoreFlags, options);
  if (!flags.metrics) throw new UsageError('score needs --metrics <file.json> (a list of [submissionId, {column: value}])');
  const rules = flags.rules ? parseScoringRules(readJson(flags.rules, '--rules')) : CHALLENGE_2023_FINAL_RULES;
  let fixture;
  try {
    fixture = parseFixture(readJson(flags.metrics, '--metrics'), rules);
  } catch (error) {
    throw new UsageError(`--metrics ${flags.metrics}: ${(error as Error).message}`);
  }
  const result = scoreCompetition({ rules, stages: fixture.stages });
  if (flags.json) {
    console.log(JSON.stringify(result, null, 2));
    return EXIT.ok;
  }
  const stageNames = rules.stages.map((s) => s.name);
  const scenarioColumns = rules.stages.flatMap((stage) => stage.scenarios.map((scenario) => ({ stage: stage.name, scenario: scenario.name })));
  const header = ['rank', 'submission', ...scenarioColumns.map((c) => `${c.scenario} Mean Win Rate`), ...stageNames.map((s) => `Score_${s === 'closed' ? 'hidden' : s}`), 'Score_full'];
  const rows = result.submissions.map((entry) => [
    String(entry.rank),
    entry.submissionId,
    ...scenarioColumns.map((c) => String(entry.scenarioMeanWinRates[c.stage]?.[c.scenario] ?? '')),
    ...stageNames.map((s) => String(entry.stageScores[s] ?? '')),
    String(entry.final),
  ]);
  const comment = `# rules ${result.rulesVersion}, N = ${result.submissionCount}`;
  // CSV through the one writer (submission ids with a comma stay one cell); tab-separated for reading by eye.
  if (flags.csv) process.stdout.write(`${comment}\n${toCsv(header, rows)}`);
  else console.log([comment, header.join('\t'), ...rows.map((r) => r.join('\t'))].join('\n'));
  return EXIT.ok;
}

export function registerScoreCommand(program: Command): void {
  program
    .command('score')
    .description('score a metrics table (2023 fixture format) by the challenge rules')
    .option('--metrics <file.json>', 'the table: a list of [submissionId, {column: value}]')
    .option('--rules <file.json>', 'the scoring rules (default: the 2023 final round)')
    .option('--json', 'print the result as JSON')
    .option('--csv', 'print the result as CSV')
    .addHelpText(
      'after',
      `
Reads a table like ../shared/fixtures/neurips2023/*_final_round.json (a list of [submissionId, {column: value}])
and scores it by the rules (default: the 2023 final round), printing per-scenario mean win rates and
Score_open, Score_hidden, Score_full. The rules version is printed with the result.`,
    )
    .action(action(scoreCommand));
}
