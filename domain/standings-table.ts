/**
 * The leaderboard of a track: the challenge's final-round rules (win rates, scenario mean win rates,
 * geometric mean, 1/3 open + 2/3 closed) applied to the project's own suites. Every submission given is
 * ranked, failed ones included: their missing cells rank as worst, as in 2023. Which runs a phase's board
 * ranks (development runs, or the `.final` runs) is domain/competition/final-board.ts's choice.
 */
import { textTable, toCsv } from './text-table.js';
import { CHALLENGE_2023_FINAL_RULES, parseScoringRules, scoreCompetition, type ScoringRules, type StageRow } from './scoring/index.js';
import { groupColumns, perturbationColumn, scenarioColumn, scenarioGroups, type StopSequenceRule, type Suite, type SuiteKind } from './harness/suite.js';
import { FAILURE_CATEGORIES, type FailureCategory } from './failures.js';

export const PROJECT_RULES_VERSION = 'challenge-suites/1 (neurips2023-final win rates)';

/**
 * Rules for the project's suites, every column higher is better: an ungrouped scenario is a ranking scenario
 * of its own (its metric, then its robustness and fairness columns when it asks for them); the scenarios of a
 * group form one ranking scenario named after the group, with the group's columns (e.g. MMLU: "MMLU - EM",
 * "MMLU - EM (Robustness)", "MMLU - EM (Fairness)"), placed where the group's first scenario is.
 */
export function rulesForSuites(suites: Record<SuiteKind, Suite>): ScoringRules {
  const base = CHALLENGE_2023_FINAL_RULES;
  return parseScoringRules({
    version: `${PROJECT_RULES_VERSION}; open ${suites.open.version}; closed ${suites.closed.version}`,
    description: 'NeurIPS 2023 final-round aggregation over the project suites',
    winRate: base.winRate,
    missingValues: base.missingValues,
    scenarioAggregation: base.scenarioAggregation,
    stageAggregation: base.stageAggregation,
    stages: (['open', 'closed'] as const).map((kind) => ({
      name: kind,
      scenarios: rankingScenarios(suites[kind]).map((scenario) => ({
        name: scenario.name,
        columns: scenario.columns.map((name) => ({ name, lowerIsBetter: false })),
      })),
    })),
    stageWeights: base.stageWeights,
  });
}

/** A suite's ranking scenarios in suite order: ungrouped scenarios as they are, each group once. */
function rankingScenarios(suite: Suite): { name: string; columns: string[] }[] {
  const groups = new Map(scenarioGroups(suite.scenarios).map((group) => [group.name, group]));
  const ranked: { name: string; columns: string[] }[] = [];
  for (const scenario of suite.scenarios) {
    if (scenario.group === undefined) {
      // The metric, then HELM's robustness and fairness worst cases when the scenario asks for them.
      ranked.push({
        name: scenario.name,
        columns: [scenarioColumn(scenario), ...(scenario.perturbations ?? []).map((kind) => perturbationColumn(scenario, kind))],
      });
      continue;
    }
    const group = groups.get(scenario.group);
    if (group === undefined) continue; // already placed
    ranked.push({ name: group.name, columns: groupColumns(group) });
    groups.delete(scenario.group);
  }
  return ranked;
}

export interface LeaderboardSubmission {
  submissionId: string;
  team: string;
  track: string;
  outcome: string;
  failureCategory: FailureCategory | null;
  failureReason: string | null;
}

export interface ScenarioScore {
  submissionId: string;
  suite: SuiteKind;
  column: string;
  score: number;
}

export interface LeaderboardRow {
  rank: number;
  submissionId: string;
  team: string;
  outcome: string;
  failureCategory: FailureCategory | null;
  failureReason: string | null;
  metrics: Record<string, number | null>;
  scenarioMeanWinRates: Record<string, Record<string, number>>;
  open: number;
  closed: number;
  final: number;
}

export interface Leaderboard {
  track: string;
  rulesVersion: string;
  columns: { suite: SuiteKind; scenario: string; column: string }[];
  rows: LeaderboardRow[];
  /** Submissions stopped by our own infrastructure: not ranked (that would charge them), awaiting a re-run. */
  unranked: { submissionId: string; team: string; failureCategory: FailureCategory; reason: string | null }[];
  /** Whether completions were cut at the stop sequences before scoring (the suites' rule; 2023's was not-cut). */
  stopSequences: StopSequenceRule;
}

/** The board's line about stop sequences, the same on the CLI and the web page. */
export const describeStopRule = (rule: StopSequenceRule): string => (rule === 'not-cut' ? 'Stop sequences: not cut (2023 rule)' : 'Stop sequences: cut at the stop sequences');

/** A submission is ranked unless the only thing that stopped it was our infrastructure. */
export const isCharged = (submission: Pick<LeaderboardSubmission, 'failureCategory'>): boolean =>
  submission.failureCategory === null || FAILURE_CATEGORIES[submission.failureCategory].charged;

/** `stopSequences`: the rule of the suites the scores came from (domain/harness/suite.ts stopSequenceRule). */
export function buildLeaderboard(
  track: string,
  rules: ScoringRules,
  submissions: LeaderboardSubmission[],
  scores: ScenarioScore[],
  stopSequences: StopSequenceRule = 'cut',
): Leaderboard {
  const inTrack = submissions.filter((s) => s.track === track);
  const mine = inTrack.filter(isCharged);
  const stageRows = (suite: SuiteKind): StageRow[] =>
    mine.map((submission) => ({
      submissionId: submission.submissionId,
      metrics: Object.fromEntries(scores.filter((s) => s.submissionId === submission.submissionId && s.suite === suite).map((s) => [s.column, s.score])),
    }));
  const result = scoreCompetition({ rules, stages: { open: stageRows('open'), closed: stageRows('closed') } });
  const byId = new Map(mine.map((s) => [s.submissionId, s]));
  const columns = rules.stages.flatMap((stage) =>
    stage.scenarios.flatMap((scenario) => scenario.columns.map((column) => ({ suite: stage.name as SuiteKind, scenario: scenario.name, column: column.name }))),
  );
  return {
    track,
    rulesVersion: result.rulesVersion,
    stopSequences,
    columns,
    rows: result.submissions.map((entry) => {
      const submission = byId.get(entry.submissionId)!;
      return {
        rank: entry.rank,
        submissionId: entry.submissionId,
        team: submission.team,
        outcome: submission.outcome,
        failureCategory: submission.failureCategory,
        failureReason: submission.failureReason,
        metrics: Object.fromEntries(
          columns.map((c) => [
            c.column,
            scores.find((s) => s.submissionId === entry.submissionId && s.column === c.column && s.suite === c.suite)?.score ?? null,
          ]),
        ),
        scenarioMeanWinRates: entry.scenarioMeanWinRates,
        open: entry.stageScores.open ?? 0,
        closed: entry.stageScores.closed ?? 0,
        final: entry.final,
      };
    }),
    unranked: inTrack
      .filter((s) => !isCharged(s))
      .map((s) => ({ submissionId: s.submissionId, team: s.team, failureCategory: s.failureCategory!, reason: s.failureReason })),
  };
}

/** A score as the CLI tables print it (— when missing). */
export const formatBoardScore = (value: number | null): string =>
  value === null ? '—' : value === 0 || (value >= 1e-4 && value < 1e4) ? value.toFixed(4) : value.toExponential(2);
const fmt = formatBoardScore;

export function leaderboardTable(board: Leaderboard): string {
  const header = ['#', 'submission', 'status', ...board.columns.map((c) => c.column), 'open', 'closed', 'final'];
  const rows = board.rows.map((row) => [
    String(row.rank),
    row.submissionId,
    row.failureCategory ?? row.outcome,
    ...board.columns.map((c) => fmt(row.metrics[c.column] ?? null)),
    fmt(row.open),
    fmt(row.closed),
    fmt(row.final),
  ]);
  const unranked = board.unranked.map((u) => `not ranked (not charged, awaiting a re-run): ${u.submissionId} — ${u.failureCategory}: ${u.reason ?? ''}`);
  return [
    `Leaderboard — track ${board.track} (rules: ${board.rulesVersion}; ${describeStopRule(board.stopSequences)})`,
    ...textTable(header, rows),
    ...unranked,
  ].join('\n');
}

/**
 * The leaderboard as CSV (the CLI's --csv and the web page's export). `reasons` adds the failure reason column:
 * the web page passes a board whose reasons were made public (web/data.ts).
 */
export function leaderboardCsv(board: Leaderboard, options: { reasons?: boolean } = {}): string {
  const reasons = options.reasons === true;
  const header = ['rank', 'submission', 'team', 'outcome', 'failure_category', ...(reasons ? ['failure_reason'] : []), ...board.columns.map((c) => c.column), 'open', 'closed', 'final'];
  const rows = board.rows.map((row) => [
    String(row.rank),
    row.submissionId,
    row.team,
    row.outcome,
    row.failureCategory ?? '',
    ...(reasons ? [row.failureReason ?? ''] : []),
    ...board.columns.map((c) => String(row.metrics[c.column] ?? '')),
    String(row.open),
    String(row.closed),
    String(row.final),
  ]);
  return toCsv(header, rows);
}
