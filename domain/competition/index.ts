/**
 * Reading a competition file and asking it what holds at an instant: which phase is open, which stages
 * and suites it runs, and the quota a team's submission counts against.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { CompetitionFile, type Phase, type PhaseQuota } from './schema.js';

export * from './schema.js';

/** A competition file that cannot be used: every problem names its field and the fix. */
export class CompetitionFileError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`competition file ${file} is not valid:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'CompetitionFileError';
  }
}

/** Checks a parsed JSON value; `file` only names it in messages. */
export function parseCompetition(raw: unknown, file = '(competition)'): CompetitionFile {
  const parsed = CompetitionFile.safeParse(raw);
  if (parsed.success) return parsed.data;
  throw new CompetitionFileError(
    file,
    parsed.error.issues.map((issue) => {
      const field = issue.path.length > 0 ? issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '') : '(top level)';
      return `field ${field}: ${issue.message}`;
    }),
  );
}

export function loadCompetition(file: string): CompetitionFile {
  const resolved = path.resolve(file);
  if (!existsSync(resolved)) throw new CompetitionFileError(resolved, [`${resolved} does not exist: pass a competition file such as competitions/neurips2023.json`]);
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(resolved, 'utf8'));
  } catch (error) {
    throw new CompetitionFileError(resolved, [`not valid JSON (${(error as Error).message}); fix the syntax`]);
  }
  return parseCompetition(raw, resolved);
}

/** The phase open at `now` (opensAt ≤ now < closesAt), or null between phases, before the first or after the last. */
export function phaseAt(competition: CompetitionFile, now: number): Phase | null {
  return competition.phases.find((phase) => Date.parse(phase.opensAt) <= now && now < Date.parse(phase.closesAt)) ?? null;
}

/** The next phase to open after `now`, for messages ("submissions open at …"). */
export function nextPhase(competition: CompetitionFile, now: number): Phase | null {
  return competition.phases.find((phase) => Date.parse(phase.opensAt) > now) ?? null;
}

/** The quota of the phase open at `now`; null when teams cannot submit now (no phase open, or the phase takes none). */
export function openQuota(competition: CompetitionFile, now: number): { phase: Phase; quota: PhaseQuota } | null {
  const phase = phaseAt(competition, now);
  return phase?.quota ? { phase, quota: phase.quota } : null;
}
