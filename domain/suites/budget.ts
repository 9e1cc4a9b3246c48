/**
 * The 2023 "sparse HELM" budget (build_open_spec.py / build_secret_run_spec.py `generate_equal_sum_list`) and the
 * 2023 tables it is run on (BIG-bench and MMLU entries copied from the organizers' build scripts). Pure.
 */
/** `generate_equal_sum_list(V, N)` of build_open_spec.py: N parts of V, base V//N, the remainder +1 on the first parts. */
export function generateEqualSumList(total: number, parts: number): number[] {
  if (!Number.isInteger(total) || total < 0 || !Number.isInteger(parts) || parts < 1)
    throw new Error(`generateEqualSumList: bad arguments (${total}, ${parts})`);
  const base = Math.floor(total / parts);
  const remainder = total % parts;
  return Array.from({ length: parts }, (_, i) => base + (i < remainder ? 1 : 0));
}

/** One line of a 2023 build script's `entries`: its budget group (`'scenario'` there) and the run spec. */
export interface BudgetEntry {
  group: string;
  spec: string;
}

/**
 * Budget groups in pandas `df.value_counts('scenario')` order: most entries first, equal counts in name order
 * (groupby sorts the names; the descending sort keeps that order among ties, as the 2023 conf files show:
 * economics before law and logical_deduction at 3 entries each).
 */
export function valueCountsOrder(entries: readonly BudgetEntry[]): { group: string; count: number }[] {
  const counts = new Map<string, number>();
  for (const entry of entries) counts.set(entry.group, (counts.get(entry.group) ?? 0) + 1);
  return [...counts].map(([group, count]) => ({ group, count })).sort((a, b) => b.count - a.count || (a.group < b.group ? -1 : a.group > b.group ? 1 : 0));
}

/** The 2023 "sparse HELM" split of `budget` over `entries`: `max_eval_instances` per entry, in entry order. */
export function sparseHelmBudget(entries: readonly BudgetEntry[], budget: number): number[] {
  const order = valueCountsOrder(entries);
  const perGroup = generateEqualSumList(budget, order.length);
  const perEntry = new Map<string, number[]>();
  for (const { group, count } of order) perEntry.set(group, generateEqualSumList(perGroup.pop()!, count));
  return entries.map((entry) => perEntry.get(entry.group)!.pop()!);
}

const bigBench = (group: string, task: string, subtasks: readonly string[] = ['']): BudgetEntry[] =>
  subtasks.map((subtask) => ({ group, spec: `big_bench:task=${task},subtask=${subtask}` }));

/** build_open_spec.py's BIG-bench entries (18 budget groups, 29 run specs): absent here, listed to reproduce 2023's budget. */
export const BIG_BENCH_2023_ENTRIES: readonly BudgetEntry[] = [
  ...bigBench('auto_debugging', 'auto_debugging'),
  ...bigBench('code_line_description', 'code_line_description'),
  ...bigBench('conceptual_combinations', 'conceptual_combinations', [
    'contradictions',
    'emergent_properties',
    'fanciful_fictional_combinations',
    'homonyms',
    'invented_words',
  ]),
  ...bigBench('emoji_movie', 'emoji_movie'),
  ...bigBench('formal_fallacies_syllogisms_negation', 'formal_fallacies_syllogisms_negation'),
  ...bigBench('known_unknowns', 'known_unknowns'),
  ...bigBench('linguistics_puzzles', 'linguistics_puzzles'),
  ...bigBench('logic_grid_puzzle', 'logic_grid_puzzle'),
  ...bigBench('logical_deduction', 'logical_deduction', ['three_objects', 'five_objects', 'seven_objects']),
  ...bigBench('novel_concepts', 'novel_concepts'),
  ...bigBench('operator', 'operators'),
  ...bigBench('play_dialog_same_or_different', 'play_dialog_same_or_different'),
  ...bigBench('repeat_copy_logic', 'repeat_copy_logic'),
  ...bigBench('strange_stories', 'strange_stories', ['boolean', 'multiple_choice']),
  ...bigBench('strategyqa', 'strategyqa'),
  ...bigBench('symbol_interpretation', 'symbol_interpretation', ['adversarial', 'emoji_agnostic', 'name_agnostic', 'plain', 'tricky']),
  ...bigBench('vitaminc_fact_verification', 'vitaminc_fact_verification'),
  ...bigBench('winowhy', 'winowhy'),
];

/** build_open_spec.py's MMLU budget groups and their subjects, in its order (55 subjects). */
export const MMLU_OPEN_2023_GROUPS: readonly (readonly [string, readonly string[]])[] = [
  ['medicine_biology', ['anatomy', 'college_medicine', 'college_biology', 'high_school_biology']],
  ['computer_science', ['college_computer_science', 'high_school_computer_science', 'computer_security', 'electrical_engineering', 'machine_learning']],
  ['math', ['high_school_mathematics', 'college_mathematics', 'abstract_algebra', 'high_school_statistics']],
  ['physics_chemistry', ['college_chemistry', 'high_school_chemistry', 'high_school_physics', 'college_physics', 'astronomy']],
  ['formal_reasoning', ['formal_logic', 'logical_fallacies', 'philosophy', 'moral_disputes', 'moral_scenarios']],
  ['law', ['professional_law', 'international_law', 'jurisprudence']],
  ['history', ['high_school_european_history', 'high_school_us_history', 'high_school_world_history', 'prehistory', 'world_religions']],
  ['business', ['business_ethics', 'global_facts', 'management', 'marketing', 'miscellaneous', 'professional_accounting']],
  ['health', ['nutrition', 'human_aging', 'clinical_knowledge', 'medical_genetics', 'professional_medicine', 'virology']],
  ['social_studies', ['high_school_government_and_politics', 'high_school_geography', 'us_foreign_policy', 'public_relations', 'security_studies']],
  ['human_behavior', ['high_school_psychology', 'human_sexuality', 'professional_psychology', 'sociology']],
  ['economics', ['high_school_microeconomics', 'econometrics', 'high_school_macroeconomics']],
];
