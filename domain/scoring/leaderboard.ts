/**
 * Stage and competition scoring driven by `ScoringRules` (spec §1.3–1.5 and `combin_ranks.py`).
 *
 * Stage: for every scenario column, missing cells are substituted (rules.missingValues) and win rates are
 * computed over all N submissions of the track; the scenario mean win rate is `statistics.mean` of the
 * scenario's column win rates; the stage score is the geometric mean of the scenario mean win rates with every
 * value <= 0 replaced first (rules.stageAggregation).
 * Competition: the union of submissions over all stages is scored in every stage (a submission absent from a
 * stage has all cells missing there, i.e. the worst values); final = Σ weight · stage score in stage order.
 */
import { geometricMean, statisticsMean } from './aggregate.js';
import { findStage, missingValueFor, parseScoringRules, type ScoringRules, type StageRule } from './rules.js';
import { winRatesByRule, type MetricValue } from './win-rate.js';

export interface StageRow {
  submissionId: string;
  /** Metric cells by column name. Absent, `null` or `undefined` = missing. */
  metrics: Readonly<Record<string, MetricValue>>;
}

export interface StageSubmissionScore {
  submissionId: string;
  /** scenario -> column -> win rate (`null` only for HELM rules when the column was not ranked). */
  columnWinRates: Record<string, Record<string, number | null>>;
  /** scenario -> mean win rate (0 if no column of the scenario ranked the submission; challenge rule: never). */
  scenarioMeanWinRates: Record<string, number>;
  score: number;
}

export interface StageScore {
  stage: string;
  rulesVersion: string;
  /** N, the number of submissions ranked against each other. */
  submissionCount: number;
  /** In input row order. */
  submissions: StageSubmissionScore[];
}

function cell(metrics: Readonly<Record<string, MetricValue>>, column: string): MetricValue {
  return Object.hasOwn(metrics, column) ? metrics[column] : undefined;
}

function assertUniqueIds(rows: readonly StageRow[], stage: string): void {
  const seen = new Map<string, number>();
  rows.forEach((row, i) => {
    const prev = seen.get(row.submissionId);
    if (prev !== undefined) {
      throw new RangeError(`stage "${stage}": submission "${row.submissionId}" appears twice (rows ${prev} and ${i})`);
    }
    seen.set(row.submissionId, i);
  });
}

/** Score one stage. `stage` is a stage of `rules` (object or name). N = rows.length. */
export function scoreStage(rows: readonly StageRow[], stage: StageRule | string, rules: ScoringRules): StageScore {
  const stageRule = typeof stage === 'string' ? findStage(rules, stage) : stage;
  assertUniqueIds(rows, stageRule.name);
  const n = rows.length;
  const columnWinRates: Record<string, Record<string, number | null>>[] = rows.map(() => ({}));
  const scenarioMwr: Record<string, number>[] = rows.map(() => ({}));

  for (const scenario of stageRule.scenarios) {
    const perRow: number[][] = rows.map(() => []);
    for (const column of scenario.columns) {
      const missing = missingValueFor(rules, column.lowerIsBetter);
      const values = rows.map((r) => {
        const v = cell(r.metrics, column.name);
        return v === null || v === undefined ? missing : v;
      });
      const ranked = winRatesByRule(rules.winRate, values, column.lowerIsBetter);
      ranked.forEach((w, j) => {
        const target = columnWinRates[j];
        if (target === undefined) return;
        (target[scenario.name] ??= {})[column.name] = w;
        if (w !== null) perRow[j]?.push(w);
      });
    }
    perRow.forEach((ws, j) => {
      const target = scenarioMwr[j];
      if (target !== undefined) target[scenario.name] = ws.length === 0 ? 0 : statisticsMean(ws);
    });
  }

  const submissions = rows.map((row, j): StageSubmissionScore => {
    const mwr = scenarioMwr[j] ?? {};
    const values = stageRule.scenarios.map((s) => mwr[s.name] ?? 0);
    return {
      submissionId: row.submissionId,
      columnWinRates: columnWinRates[j] ?? {},
      scenarioMeanWinRates: mwr,
      score: geometricMean(values, { nonPositiveReplacement: rules.stageAggregation.nonPositiveReplacement }),
    };
  });
  return { stage: stageRule.name, rulesVersion: rules.version, submissionCount: n, submissions };
}

export interface CompetitionInput {
  rules: ScoringRules;
  /** Rows per stage name (e.g. { open, closed }). A stage of the rules without rows scores everyone as missing. */
  stages: Readonly<Record<string, readonly StageRow[]>>;
}

export interface CompetitionEntry {
  submissionId: string;
  /** 1-based position in the sorted result. */
  rank: number;
  /** stage -> scenario -> mean win rate. */
  scenarioMeanWinRates: Record<string, Record<string, number>>;
  /** stage -> stage score. */
  stageScores: Record<string, number>;
  final: number;
  /** Stages in which the submission had no row (scored as all-missing). */
  missingStages: string[];
}

export interface CompetitionResult {
  rulesVersion: string;
  /** N: every submission that appears in at least one stage. */
  submissionCount: number;
  /** Sorted by final descending, ties by submissionId (code-unit order). */
  submissions: CompetitionEntry[];
}

/** Score every stage of the rules over the union of submissions and combine with the stage weights. */
export function scoreCompetition(input: CompetitionInput): CompetitionResult {
  const rules = parseScoringRules(input.rules);
  for (const name of Object.keys(input.stages)) findStage(rules, name);

  const ids: string[] = [];
  const known = new Set<string>();
  for (const stage of rules.stages) {
    const rows = Object.hasOwn(input.stages, stage.name) ? (input.stages[stage.name] ?? []) : [];
    assertUniqueIds(rows, stage.name);
    for (const row of rows) {
      if (!known.has(row.submissionId)) {
        known.add(row.submissionId);
        ids.push(row.submissionId);
      }
    }
  }

  const entries = new Map<string, Omit<CompetitionEntry, 'rank' | 'final'>>();
  for (const id of ids) entries.set(id, { submissionId: id, scenarioMeanWinRates: {}, stageScores: {}, missingStages: [] });

  for (const stage of rules.stages) {
    const given = Object.hasOwn(input.stages, stage.name) ? (input.stages[stage.name] ?? []) : [];
    const byId = new Map(given.map((r) => [r.submissionId, r] as const));
    const rows = ids.map((id): StageRow => byId.get(id) ?? { submissionId: id, metrics: {} });
    const scored = scoreStage(rows, stage, rules);
    for (const s of scored.submissions) {
      const e = entries.get(s.submissionId);
      if (e === undefined) continue;
      e.scenarioMeanWinRates[stage.name] = s.scenarioMeanWinRates;
      e.stageScores[stage.name] = s.score;
      if (!byId.has(s.submissionId)) e.missingStages.push(stage.name);
    }
  }

  const unsorted = [...entries.values()].map((e) => {
    let final = 0;
    rules.stages.forEach((stage, i) => {
      const term = (rules.stageWeights[stage.name] ?? 0) * (e.stageScores[stage.name] ?? 0);
      final = i === 0 ? term : final + term;
    });
    return { ...e, final };
  });
  unsorted.sort((a, b) => {
    const fa = Number.isNaN(a.final) ? -Infinity : a.final;
    const fb = Number.isNaN(b.final) ? -Infinity : b.final;
    if (fa !== fb) return fb > fa ? 1 : -1;
    return a.submissionId < b.submissionId ? -1 : a.submissionId > b.submissionId ? 1 : 0;
  });
  return {
    rulesVersion: rules.version,
    submissionCount: ids.length,
    submissions: unsorted.map((e, i) => ({ ...e, rank: i + 1 })),
  };
}
