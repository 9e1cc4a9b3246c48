/**
 * Parser for the published challenge ranking files (private-helm `meta_analysis/results/*.json`, copied to
 * shared/fixtures/neurips2023/): a JSON list of `[submissionId, {column: number | null}]`.
 *
 * Two layouts are accepted:
 * - combined rows (the published `*_final_round.json`): one row per submission holding the open and the closed
 *   columns, the `<Scenario> Mean Win Rate` columns and `Score_open`, `Score_hidden`, `Score_full`;
 * - separate rows: the closed result of submission `<id>` is the row `<id>_hidden` (as in `*_hidden_rank.json`
 *   and `combin_ranks.py`), whose score column is `Score`.
 * `null` cells are missing values (the ranking scripts wrote None for metrics HELM did not produce).
 * No I/O: pass the parsed JSON (or the text to `parseFixtureJson`).
 */
import { z } from 'zod';
import type { StageRow } from './leaderboard.js';
import { CHALLENGE_2023_FINAL_RULES, findStage, type ScoringRules, type StageRule } from './rules.js';

export const FixtureRowSchema = z.tuple([z.string().min(1), z.record(z.string(), z.number().nullable())]);
export const FixtureSchema = z.array(FixtureRowSchema);
export type FixtureRow = z.infer<typeof FixtureRowSchema>;

export class FixtureFormatError extends Error {
  constructor(
    message: string,
    readonly issues: readonly string[],
  ) {
    super(message);
    this.name = 'FixtureFormatError';
  }
}

export interface FixtureParseOptions {
  /** Suffix of closed-stage ids. Default "_hidden". */
  closedSuffix?: string;
  /** Stage names in the rules. Defaults "open" and "closed". */
  openStage?: string;
  closedStage?: string;
  /** Published score columns. Defaults: Score_open, Score_hidden, Score_full; separate closed rows use Score. */
  openScoreColumn?: string;
  closedScoreColumn?: string;
  finalScoreColumn?: string;
  separateRowScoreColumn?: string;
}

export interface PublishedResult {
  submissionId: string;
  /** stage -> scenario -> published "<scenario> Mean Win Rate" (only the ones present). */
  scenarioMeanWinRates: Record<string, Record<string, number>>;
  /** stage -> published stage score (only the ones present). */
  stageScores: Record<string, number>;
  final: number | null;
}

export interface ParsedFixture {
  /** Stage rows keyed by stage name, ready for `scoreCompetition({ rules, stages })`. */
  stages: Record<string, StageRow[]>;
  published: PublishedResult[];
  /** Base submission ids in file order. */
  submissionIds: string[];
}

function describeIssue(input: unknown, path: readonly PropertyKey[], message: string): string {
  const [rowIndex, part, column] = path;
  if (typeof rowIndex !== 'number') return `${path.length === 0 ? 'fixture' : path.map(String).join('.')}: ${message}`;
  let where = `row ${rowIndex}`;
  if (Array.isArray(input)) {
    const row: unknown = input[rowIndex];
    if (Array.isArray(row) && typeof row[0] === 'string') where += ` ("${row[0]}")`;
  }
  if (part === 0) return `${where}, submission id: ${message}`;
  if (part === 1 && column !== undefined) return `${where}, column "${String(column)}": ${message}`;
  if (part === 1) return `${where}, metrics object: ${message}`;
  return `${where}: ${message} (expected [submissionId, {column: number | null}])`;
}

function pick(values: Readonly<Record<string, number | null>>, column: string): number | null {
  return Object.hasOwn(values, column) ? (values[column] ?? null) : null;
}

function stageMetrics(values: Readonly<Record<string, number | null>>, stage: StageRule): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  for (const scenario of stage.scenarios) {
    for (const column of scenario.columns) {
      if (Object.hasOwn(values, column.name)) out[column.name] = values[column.name] ?? null;
    }
  }
  return out;
}

function hasAnyColumn(values: Readonly<Record<string, number | null>>, stage: StageRule): boolean {
  return stage.scenarios.some((s) => s.columns.some((c) => Object.hasOwn(values, c.name)));
}

function publishedMwr(values: Readonly<Record<string, number | null>>, stage: StageRule): Record<string, number> {
  const out: Record<string, number> = {};
  for (const scenario of stage.scenarios) {
    const v = pick(values, `${scenario.name} Mean Win Rate`);
    if (v !== null) out[scenario.name] = v;
  }
  return out;
}

/** Validate and split a parsed fixture into stage rows plus the published results. */
export function parseFixture(
  input: unknown,
  rules: ScoringRules = CHALLENGE_2023_FINAL_RULES,
  options: FixtureParseOptions = {},
): ParsedFixture {
  const parsed = FixtureSchema.safeParse(input);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => describeIssue(input, i.path, i.message));
    throw new FixtureFormatError(`invalid fixture: ${issues.join('; ')}`, issues);
  }
  const suffix = options.closedSuffix ?? '_hidden';
  const openStage = findStage(rules, options.openStage ?? 'open');
  const closedStage = findStage(rules, options.closedStage ?? 'closed');
  const openScore = options.openScoreColumn ?? 'Score_open';
  const closedScore = options.closedScoreColumn ?? 'Score_hidden';
  const finalScore = options.finalScoreColumn ?? 'Score_full';
  const separateScore = options.separateRowScoreColumn ?? 'Score';

  const rows = parsed.data;
  const firstIndex = new Map<string, number>();
  const issues: string[] = [];
  rows.forEach(([id], i) => {
    const prev = firstIndex.get(id);
    if (prev !== undefined) issues.push(`row ${i} ("${id}"): duplicate submission id (first at row ${prev})`);
    else firstIndex.set(id, i);
  });
  if (issues.length > 0) throw new FixtureFormatError(`invalid fixture: ${issues.join('; ')}`, issues);

  const isClosedId = (id: string): boolean => suffix.length > 0 && id.endsWith(suffix) && id.length > suffix.length;
  const baseOf = (id: string): string => (isClosedId(id) ? id.slice(0, -suffix.length) : id);

  const submissionIds: string[] = [];
  const seen = new Set<string>();
  for (const [id] of rows) {
    const base = baseOf(id);
    if (!seen.has(base)) {
      seen.add(base);
      submissionIds.push(base);
    }
  }

  const open: StageRow[] = [];
  const closed: StageRow[] = [];
  const published = new Map<string, PublishedResult>();
  const pub = (id: string): PublishedResult => {
    let p = published.get(id);
    if (p === undefined) {
      p = { submissionId: id, scenarioMeanWinRates: {}, stageScores: {}, final: null };
      published.set(id, p);
    }
    return p;
  };

  for (const [id, values] of rows) {
    if (isClosedId(id)) {
      const base = baseOf(id);
      closed.push({ submissionId: base, metrics: stageMetrics(values, closedStage) });
      const p = pub(base);
      p.scenarioMeanWinRates[closedStage.name] = publishedMwr(values, closedStage);
      const s = pick(values, separateScore) ?? pick(values, closedScore);
      if (s !== null) p.stageScores[closedStage.name] = s;
      continue;
    }
    const p = pub(id);
    open.push({ submissionId: id, metrics: stageMetrics(values, openStage) });
    p.scenarioMeanWinRates[openStage.name] = publishedMwr(values, openStage);
    const so = pick(values, openScore) ?? (hasAnyColumn(values, closedStage) ? null : pick(values, separateScore));
    if (so !== null) p.stageScores[openStage.name] = so;
    p.final = pick(values, finalScore);
    const combined = !firstIndex.has(`${id}${suffix}`) && hasAnyColumn(values, closedStage);
    if (combined) {
      closed.push({ submissionId: id, metrics: stageMetrics(values, closedStage) });
      p.scenarioMeanWinRates[closedStage.name] = publishedMwr(values, closedStage);
      const sc = pick(values, closedScore);
      if (sc !== null) p.stageScores[closedStage.name] = sc;
    }
  }

  return {
    stages: { [openStage.name]: open, [closedStage.name]: closed },
    published: submissionIds.map((id) => pub(id)),
    submissionIds,
  };
}

/** `parseFixture` on JSON text; a JSON syntax error becomes a FixtureFormatError. */
export function parseFixtureJson(
  text: string,
  rules: ScoringRules = CHALLENGE_2023_FINAL_RULES,
  options: FixtureParseOptions = {},
): ParsedFixture {
  let data: unknown;
  try {
    data = JSON.parse(text) as unknown;
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new FixtureFormatError(`fixture is not valid JSON: ${msg}`, [msg]);
  }
  return parseFixture(data, rules, options);
}
