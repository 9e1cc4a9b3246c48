/** Helpers shared by the dataset loaders: JSONL records, typed field access, sampling, final validation. */
import type { z } from 'zod';
import { DatasetError, type LoaderOptions } from './errors.js';
import { Scenario, sampleInstances, type Sampling } from '../harness/suite.js';

export interface JsonRecord {
  line: number;
  value: Record<string, unknown>;
}

/** One JSON object per non-blank line. */
export function parseJsonl(text: string, file: string): JsonRecord[] {
  const records: JsonRecord[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new DatasetError(file, index + 1, null, `not valid JSON (${(error as Error).message})`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new DatasetError(file, index + 1, null, 'expected a JSON object');
    records.push({ line: index + 1, value: value as Record<string, unknown> });
  });
  return records;
}

export function stringField(record: JsonRecord, key: string, file: string, options: { nonEmpty?: boolean } = {}): string {
  const value = record.value[key];
  if (typeof value !== 'string') throw new DatasetError(file, record.line, key, value === undefined ? 'missing' : `expected a string, got ${JSON.stringify(value)}`);
  if (options.nonEmpty && value.trim() === '') throw new DatasetError(file, record.line, key, 'is empty');
  return value;
}

export function integerField(record: JsonRecord, key: string, file: string): number {
  const value = record.value[key];
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new DatasetError(file, record.line, key, value === undefined ? 'missing' : `expected an integer, got ${JSON.stringify(value)}`);
  return value;
}

export function stringArrayField(record: JsonRecord, path: readonly string[], file: string): string[] {
  let value: unknown = record.value;
  for (const key of path) value = typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>)[key] : undefined;
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw new DatasetError(file, record.line, path.join('.'), value === undefined ? 'missing' : `expected a list of strings, got ${JSON.stringify(value)}`);
  }
  return value as string[];
}

/** Splits `items` into the first `count` in-context examples and the rest. */
export function splitInContext<T>(items: readonly T[], count: number): { inContext: T[]; rest: T[] } {
  return { inContext: items.slice(0, count), rest: items.slice(count) };
}

/** Draws the eval instances; `sampling` is recorded whenever `maxInstances` was given. */
export function drawInstances<T>(pool: readonly T[], options: LoaderOptions): { instances: T[]; sampling?: Sampling } {
  if (options.maxInstances === undefined) return { instances: [...pool] };
  const seed = options.seed ?? 0;
  return { instances: sampleInstances(pool, options.maxInstances, seed), sampling: { seed, from: pool.length } };
}

/** Validates a built scenario against the suite schema; a problem names the file and the field path. */
export function finishScenario(raw: unknown, file: string): Scenario {
  const parsed = Scenario.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0] as z.core.$ZodIssue;
    throw new DatasetError(file, null, issue.path.join('.') || '(scenario)', issue.message);
  }
  return parsed.data;
}

export function inContextCount(options: LoaderOptions): number {
  const count = options.inContext ?? 5;
  if (!Number.isInteger(count) || count < 0) throw new Error(`inContext must be a non-negative integer, got ${count}`);
  return count;
}
