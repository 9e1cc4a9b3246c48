/**
 * The one table of search attributes: the server registers these (infra/dev-server.ts, infra/temporal-cluster.ts)
 * and the workflows upsert them through `SA`, both built from SEARCH_ATTRIBUTE_TYPES, so a name cannot be
 * registered without being typed here or upserted without being registered.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Every search attribute a workflow keeps current, with its type as the server names it. */
export const SEARCH_ATTRIBUTES = {
  Team: 'Keyword',
  Submission: 'Keyword',
  Track: 'Keyword',
  Stage: 'Keyword',
  Outcome: 'Keyword',
  FailureCategory: 'Keyword',
  /** The competition phase a pipeline runs for (its PhaseRun), and the phase the competition clock has open. */
  Phase: 'Keyword',
} as const;

type SearchAttributeName = keyof typeof SEARCH_ATTRIBUTES;

const keyword = <N extends SearchAttributeName>(name: N) => defineSearchAttributeKey(name, SearchAttributeType.KEYWORD);

/** Typed keys for upsertSearchAttributes / typedSearchAttributes, one per row of SEARCH_ATTRIBUTES. */
export const SA = {
  Team: keyword('Team'),
  Submission: keyword('Submission'),
  Track: keyword('Track'),
  Stage: keyword('Stage'),
  Outcome: keyword('Outcome'),
  FailureCategory: keyword('FailureCategory'),
  Phase: keyword('Phase'),
} satisfies Record<SearchAttributeName, unknown>;
