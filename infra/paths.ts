/** Locations inside the project, resolved from the compiled file (dist/infra/paths.js → project root). */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SuiteKind } from '../domain/harness/suite.js';
import type { TrackId } from '../temporal.config.js';
import { readEnvironment, type EnvironmentOf } from './environment.js';

export const PROJECT_ROOT = path.resolve(fileURLToPath(new URL('../../', import.meta.url)));

/** The tag of the LLM submissions' shared base image (docker/llm-base/TAG; scripts/build-llm-base-image.sh builds it). */
export const llmBaseImage = (): string => readFileSync(path.join(PROJECT_ROOT, 'docker', 'llm-base', 'TAG'), 'utf8').trim();

/**
 * The suite sets a competition can run, by name (CHALLENGE_SUITES picks one; a folder holding open.json
 * and closed.json works too). Per track, because the CPU track is for demos and tests: it runs the
 * 100-instance variants, as 2023's `do-run.sh small` did, while the GPU tracks run the full suites.
 */
export const SUITE_SETS = {
  /** The real 2023 scenarios (MMLU, TruthfulQA, GSM8K, BBQ open; corr2cause and held-out subjects closed). */
  neurips2023: {
    gpu: { open: 'neurips2023/open.json', closed: 'neurips2023/closed.json' },
    cpu: { open: 'neurips2023/open-small.json', closed: 'neurips2023/closed-small.json' },
  },
  /** The same real scenarios, 100-instance variants on every track. */
  'neurips2023-small': {
    gpu: { open: 'neurips2023/open-small.json', closed: 'neurips2023/closed-small.json' },
    cpu: { open: 'neurips2023/open-small.json', closed: 'neurips2023/closed-small.json' },
  },
  /** Four generated word tasks (opposites, capitals; animal sounds, colours) for the word-model samples. */
  toy: {
    gpu: { open: 'open.json', closed: 'closed.json' },
    cpu: { open: 'open.json', closed: 'closed.json' },
  },
} as const satisfies Record<string, Record<'gpu' | 'cpu', Record<SuiteKind, string>>>;
export type SuiteSetName = keyof typeof SUITE_SETS;
export const DEFAULT_SUITE_SET: SuiteSetName = 'neurips2023';

/** The suite files a submission of `track` is evaluated on, from CHALLENGE_SUITES (a set name or a folder). */
export function defaultSuiteFiles(track: TrackId | string = 'cpu', choice: string | undefined = readEnvironment('paths').CHALLENGE_SUITES): Record<SuiteKind, string> {
  const name = choice && choice !== '' ? choice : DEFAULT_SUITE_SET;
  if (Object.prototype.hasOwnProperty.call(SUITE_SETS, name)) {
    const set = SUITE_SETS[name as SuiteSetName][track === 'cpu' ? 'cpu' : 'gpu'];
    return { open: path.join(PROJECT_ROOT, 'suites', set.open), closed: path.join(PROJECT_ROOT, 'suites', set.closed) };
  }
  if (name.includes('/')) return { open: path.join(path.resolve(name), 'open.json'), closed: path.join(path.resolve(name), 'closed.json') };
  throw new Error(`CHALLENGE_SUITES=${name} is neither a suite set (${Object.keys(SUITE_SETS).join(', ')}) nor a folder holding open.json and closed.json`);
}

/** The competition file every process reads: CHALLENGE_COMPETITION, else the shipped demo (competitions/demo.json). */
export const COMPETITION_VARIABLE = 'CHALLENGE_COMPETITION' satisfies keyof EnvironmentOf<'paths'>;
export function competitionFilePath(choice: string | undefined = readEnvironment('paths')[COMPETITION_VARIABLE]): string {
  return choice && choice !== '' ? path.resolve(choice) : path.join(PROJECT_ROOT, 'competitions', 'demo.json');
}
