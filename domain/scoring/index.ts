/** Public API of the scoring engine (pure, versioned; see rules.ts for the rule sets). */
export {
  challengeWinRates,
  defaultMissingValue,
  helmAggregateRowWinRates,
  helmHeadWinRates,
  helmV030WinRates,
  winRatesByRule,
  WIN_RATE_RULE_NAMES,
  type ChallengeWinRateOptions,
  type HelmColumn,
  type MetricValue,
  type WinRateRuleName,
} from './win-rate.js';
export { fmean, fsum, geometricMean, statisticsMean, type GeometricMeanOptions } from './aggregate.js';
export { bitLength, decomposeDouble, pyExp, pyLog, ratioToDouble } from './float-exact.js';
export {
  CHALLENGE_2023_FINAL_RULES,
  ColumnRuleSchema,
  defineScoringRules,
  findStage,
  missingValueFor,
  parseScoringRules,
  ScenarioRuleSchema,
  ScoringRules,
  ScoringRulesError,
  ScoringRulesSchema,
  StageRuleSchema,
  type ColumnRule,
  type ScenarioRule,
  type StageRule,
} from './rules.js';
export {
  scoreCompetition,
  scoreStage,
  type CompetitionEntry,
  type CompetitionInput,
  type CompetitionResult,
  type StageRow,
  type StageScore,
  type StageSubmissionScore,
} from './leaderboard.js';
export {
  FixtureFormatError,
  FixtureRowSchema,
  FixtureSchema,
  parseFixture,
  parseFixtureJson,
  type FixtureParseOptions,
  type FixtureRow,
  type ParsedFixture,
  type PublishedResult,
} from './fixtures.js';
