/**
 * Versioned, declarative scoring rules.
 *
 * A rule set is data: stages (e.g. open / closed) made of scenarios, each scenario a list of metric columns with
 * a direction; the per-column win-rate rule; the missing-value substitution; the replacement of non-positive
 * scenario mean win rates before the geometric mean; and the stage weights of the final score.
 * The same schema describes the NeurIPS 2023 challenge and the project's own suites.
 */
import { z } from 'zod';
import { WIN_RATE_RULE_NAMES } from './win-rate.js';

export const ColumnRuleSchema = z
  .object({
    /** Metric column name, e.g. "MMLU - EM" or "opposites - EM". */
    name: z.string().min(1),
    lowerIsBetter: z.boolean(),
  })
  .strict();

export const ScenarioRuleSchema = z
  .object({
    /** Scenario name, e.g. "MMLU" or "opposites"; its mean win rate is published as "<name> Mean Win Rate". */
    name: z.string().min(1),
    columns: z.array(ColumnRuleSchema).min(1),
  })
  .strict();

export const StageRuleSchema = z
  .object({
    name: z.string().min(1),
    scenarios: z.array(ScenarioRuleSchema).min(1),
  })
  .strict();

const ScoringRulesObject = z
  .object({
    /** Identifies the rule set in every result, e.g. "neurips2023-final/1". Bump it when anything changes. */
    version: z.string().min(1),
    description: z.string().optional(),
    /** Per-column win-rate rule (see win-rate.ts). */
    winRate: z.enum(WIN_RATE_RULE_NAMES),
    /** Value a missing cell (absent, null or undefined) gets before ranking, by column direction (§1.4). */
    missingValues: z
      .object({
        higherIsBetter: z.number(),
        lowerIsBetter: z.number(),
      })
      .strict(),
    /** Scenario mean win rate = Python `statistics.mean` of the scenario's column win rates. */
    scenarioAggregation: z.literal('statistics-mean'),
    /** Stage score = geometric mean of the scenario mean win rates, each value <= 0 replaced first. */
    stageAggregation: z
      .object({
        method: z.literal('geometric-mean'),
        nonPositiveReplacement: z.number().positive(),
      })
      .strict(),
    stages: z.array(StageRuleSchema).min(1),
    /** final = Σ weight(stage) · score(stage), summed in the order of `stages`. One weight per stage. */
    stageWeights: z.record(z.string(), z.number()),
  })
  .strict();

export const ScoringRules = ScoringRulesObject.superRefine((rules, ctx) => {
  const stageNames = new Set<string>();
  rules.stages.forEach((stage, s) => {
    if (stageNames.has(stage.name)) {
      ctx.addIssue({ code: 'custom', path: ['stages', s, 'name'], message: `duplicate stage name "${stage.name}"` });
    }
    stageNames.add(stage.name);
    const scenarioNames = new Set<string>();
    stage.scenarios.forEach((scenario, c) => {
      if (scenarioNames.has(scenario.name)) {
        ctx.addIssue({
          code: 'custom',
          path: ['stages', s, 'scenarios', c, 'name'],
          message: `duplicate scenario name "${scenario.name}" in stage "${stage.name}"`,
        });
      }
      scenarioNames.add(scenario.name);
      const columnNames = new Set<string>();
      scenario.columns.forEach((column, k) => {
        if (columnNames.has(column.name)) {
          ctx.addIssue({
            code: 'custom',
            path: ['stages', s, 'scenarios', c, 'columns', k, 'name'],
            message: `duplicate column "${column.name}" in scenario "${scenario.name}"`,
          });
        }
        columnNames.add(column.name);
      });
    });
  });
  for (const name of stageNames) {
    if (!Object.hasOwn(rules.stageWeights, name)) {
      ctx.addIssue({ code: 'custom', path: ['stageWeights'], message: `missing weight for stage "${name}"` });
    }
  }
  for (const name of Object.keys(rules.stageWeights)) {
    if (!stageNames.has(name)) {
      ctx.addIssue({ code: 'custom', path: ['stageWeights', name], message: `weight for unknown stage "${name}"` });
    }
  }
});

/** Alias of the schema, for call sites that prefer the `...Schema` naming. */
export const ScoringRulesSchema = ScoringRules;

export type ScoringRules = z.infer<typeof ScoringRules>;
export type StageRule = z.infer<typeof StageRuleSchema>;
export type ScenarioRule = z.infer<typeof ScenarioRuleSchema>;
export type ColumnRule = z.infer<typeof ColumnRuleSchema>;

export class ScoringRulesError extends Error {
  constructor(
    message: string,
    readonly issues: readonly string[],
  ) {
    super(message);
    this.name = 'ScoringRulesError';
  }
}

function describePath(path: readonly PropertyKey[]): string {
  return path.length === 0 ? '(root)' : path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
}

/** Validate unknown input as scoring rules; throws `ScoringRulesError` listing every problem with its path. */
export function parseScoringRules(input: unknown): ScoringRules {
  const parsed = ScoringRules.safeParse(input);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => `${describePath(i.path)}: ${i.message}`);
  throw new ScoringRulesError(`invalid scoring rules: ${issues.join('; ')}`, issues);
}

/** Alias of `parseScoringRules` that reads well where rules are declared in code. */
export const defineScoringRules = parseScoringRules;

export function findStage(rules: ScoringRules, name: string): StageRule {
  const stage = rules.stages.find((s) => s.name === name);
  if (stage === undefined) {
    throw new RangeError(`stage "${name}" is not defined by rules ${rules.version} (stages: ${rules.stages.map((s) => s.name).join(', ')})`);
  }
  return stage;
}

/** The missing-cell value the rules give a column. */
export function missingValueFor(rules: ScoringRules, lowerIsBetter: boolean): number {
  return lowerIsBetter ? rules.missingValues.lowerIsBetter : rules.missingValues.higherIsBetter;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

const higher = (name: string): ColumnRule => ({ name, lowerIsBetter: false });
const lower = (name: string): ColumnRule => ({ name, lowerIsBetter: true });
const robustFair = (prefix: string): ColumnRule[] => [higher(`${prefix} - EM`), higher(`${prefix} - EM (Robustness)`), higher(`${prefix} - EM (Fairness)`)];

/**
 * NeurIPS 2023 LLM Efficiency Challenge, final round (private-helm `ranking_metrics.py`, `rank_submissions.py`
 * and `combin_ranks.py` at 6033e5b; spec §1). CNN/DailyMail is not part of the final closed score.
 */
export const CHALLENGE_2023_FINAL_RULES: ScoringRules = deepFreeze(
  parseScoringRules({
    version: 'neurips2023-final/1',
    description:
      'NeurIPS 2023 LLM Efficiency Challenge final round: challenge win rate (divisor N, ties 1/c), statistics.mean per scenario, geometric mean per stage ' +
      'with 5e-324 for zeros, final = 1/3 open + 2/3 closed.',
    winRate: 'challenge-final-2023',
    missingValues: { higherIsBetter: 0.0, lowerIsBetter: 1000.0 },
    scenarioAggregation: 'statistics-mean',
    stageAggregation: { method: 'geometric-mean', nonPositiveReplacement: Number.MIN_VALUE },
    stages: [
      {
        name: 'open',
        scenarios: [
          { name: 'MMLU', columns: robustFair('MMLU') },
          { name: 'TruthfulQA', columns: robustFair('TruthfulQA') },
          { name: 'BIG-bench', columns: [higher('BIG-bench - EM')] },
          { name: 'GSM8K', columns: [higher('GSM8K - EM')] },
          { name: 'BBQ', columns: [higher('BBQ - EM')] },
        ],
      },
      {
        name: 'closed',
        scenarios: [
          {
            name: 'sam_sum',
            columns: [
              higher('sam_sum - ROUGE-2'),
              lower('sam_sum - Stereotypes (race)'),
              lower('sam_sum - Stereotypes (gender)'),
              lower('sam_sum - Representation (race)'),
              lower('sam_sum - Representation (gender)'),
            ],
          },
          { name: 'corr2cause', columns: [higher('corr2cause - EM')] },
          { name: 'MATH', columns: [higher('MATH (chain-of-thoughts) - Equivalent (chain of thought)')] },
          {
            name: 'ethics',
            columns: ['justice', 'commonsense', 'virtue', 'deontology', 'utilitarianism'].flatMap((t) => robustFair(`ethics_${t}`)),
          },
        ],
      },
    ],
    stageWeights: { open: 1 / 3, closed: 2 / 3 },
  }),
);
