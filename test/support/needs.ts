/**
 * Tests that need a real component (the Temporal cluster, Docker, PostgreSQL, S3, Chromium, the LLM base
 * image, the time-skipping test server) and skip where it is missing say so in their title, in one form:
 *   "<title> [skipped: needs <component>: <why>]"
 * scripts/test-summary.ts lists every skipped test by name after a run, and under CI=true fails the run for
 * each one that carries this mark: a component that stopped working must not go untested unnoticed.
 */
import { describe, it } from '@jest/globals';

/** The real components a test may need, with the names the closing output uses. */
export const REAL_COMPONENTS = {
  'temporal-cluster': 'the production Temporal cluster (temporal-server built from Go modules)',
  docker: 'the Docker engine',
  postgresql: 'PostgreSQL',
  s3: 'the S3 test server',
  chromium: 'Chromium',
  'llm-base-image': 'the LLM base image',
  'time-skipping-server': "Temporal's time-skipping test server",
} as const;
export type RealComponent = keyof typeof REAL_COMPONENTS;

/** The mark a skipped test's title carries (read back by scripts/test-summary.ts SKIP_MARK). */
export function skipMark(component: RealComponent, why: string): string {
  return `[skipped: needs ${component}: ${why.replace(/\s+/g, ' ').replace(/\[/g, '(').replace(/\]/g, ')').trim()}]`;
}

/**
 * `describe`/`it` that run when `unavailable` is null and skip, with the mark in the title, when it holds the
 * reason the component is missing.
 */
export function needing(component: RealComponent, unavailable: string | null) {
  const title = (text: string) => (unavailable === null ? text : `${text} ${skipMark(component, unavailable)}`);
  return {
    available: unavailable === null,
    title,
    describe: (text: string, body: () => void) => (unavailable === null ? describe : describe.skip)(title(text), body),
    it: (text: string, body: () => Promise<void> | void, timeoutMs?: number) => (unavailable === null ? it : it.skip)(title(text), body, timeoutMs),
  };
}
