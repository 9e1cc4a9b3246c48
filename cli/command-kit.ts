/**
 * What every `challenge` command shares: the exit codes, the error that means bad input, the wrapper that
 * records an action's exit code for the entry point (cli/challenge.ts), the results store opened and closed
 * around a command's body, and zod checks of option values whose errors name the flag and what to write instead. Commander parses; this module checks what it parsed.
 */
import path from 'node:path';
import { Option, type Command } from 'commander';
import { z } from 'zod';
import { Duration, TrackId, type PartialStageLimits } from '../temporal.config.js';
import { loadRuntimeConfig, type RuntimeConfig } from '../infra/runtime-config.js';
import { openResultsStore } from '../infra/open-results-store.js';
import type { ResultsStore } from '../infra/results-store.js';

/** 0 ok, 1 failed operation, 2 bad input, 3 already submitted and finished (or nothing left to retry). */
export const EXIT = { ok: 0, failed: 1, badInput: 2, alreadyFinished: 3 } as const;

/** Bad input: printed as `challenge: <message>` and answered with exit code 2. */
export class UsageError extends Error {}

let recordedExitCode: number = EXIT.ok;

/** An action whose body returns its exit code; the entry point exits with it (takeExitCode). */
export function action<A extends unknown[]>(body: (...args: A) => Promise<number> | number): (...args: A) => Promise<void> {
  return async (...args: A) => {
    recordedExitCode = await body(...args);
  };
}

/** The exit code of the action that ran last (0 when none did), reset for the next run. */
export function takeExitCode(): number {
  const code = recordedExitCode;
  recordedExitCode = EXIT.ok;
  return code;
}

/** The Node-side settings; read when a command needs them, so `--help` and bad flags work without them. */
export const runtimeConfig = (): RuntimeConfig => loadRuntimeConfig();

/** Runs `body` on the results store the settings name (SQLite or PostgreSQL), closed however `body` ends. */
export async function withResultsStore<T>(config: Pick<RuntimeConfig, 'databaseUrl' | 'databasePath'>, body: (db: ResultsStore) => Promise<T> | T): Promise<T> {
  const db = await openResultsStore(config);
  try {
    return await body(db);
  } finally {
    await db.close();
  }
}

const kebab = (key: string): string => key.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);

/** Commander's option values checked by `schema`; the first problem is a UsageError naming its flag. */
export function checkedOptions<S extends z.ZodType>(schema: S, values: unknown): z.output<S> {
  const parsed = schema.safeParse(values);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const key = issue?.path[0];
  throw new UsageError(`${typeof key === 'string' ? `--${kebab(key)}: ` : ''}${issue?.message ?? 'bad option'}`);
}

export const TrackValue = z.enum(TrackId.options, { error: (issue) => `"${String(issue.input)}" is not a track; use one of ${TrackId.options.join(', ')}` });

/** A whole number from `min` to `max`, written as a string on the command line. */
export const wholeNumber = (min: number, max: number) =>
  z.string().transform((raw, ctx) => {
    const value = Number(raw);
    if (/^\d+$/.test(raw.trim()) && value >= min && value <= max) return value;
    ctx.addIssue({ code: 'custom', message: `"${raw}" must be a whole number from ${min} to ${max}` });
    return z.NEVER;
  });

/** The stage-limit flags every command that starts stages takes, and the stage each one limits. */
const LIMIT_FLAGS = {
  buildLimit: { flag: '--build-limit <dur>', stage: 'build', what: 'the build' },
  fineTuneLimit: { flag: '--fine-tune-limit <dur>', stage: 'fineTune', what: 'fine-tuning' },
  openEvalLimit: { flag: '--open-eval-limit <dur>', stage: 'openEval', what: 'the open evaluation' },
  closedEvalLimit: { flag: '--closed-eval-limit <dur>', stage: 'closedEval', what: 'the closed evaluation' },
  startupLimit: { flag: '--startup-limit <dur>', stage: 'startup', what: "the inference server's start" },
} as const;

export const LimitFlags = z.object({
  buildLimit: Duration.optional(),
  fineTuneLimit: Duration.optional(),
  openEvalLimit: Duration.optional(),
  closedEvalLimit: Duration.optional(),
  startupLimit: Duration.optional(),
});

export function withLimitOptions(command: Command): Command {
  for (const { flag, what } of Object.values(LIMIT_FLAGS)) command.option(flag, `override the limit of ${what}, e.g. 30s, 20m, 24h`);
  return command;
}

/** The limits given on the command line, keyed by stage; undefined when none was given. */
export function stageLimits(flags: z.output<typeof LimitFlags>): PartialStageLimits | undefined {
  const limits: Record<string, number> = {};
  for (const [key, { stage }] of Object.entries(LIMIT_FLAGS)) {
    const value = flags[key as keyof typeof LIMIT_FLAGS];
    if (value !== undefined) limits[stage] = value;
  }
  return Object.keys(limits).length > 0 ? (limits as PartialStageLimits) : undefined;
}

/** `--suite closed=<file.json>`, repeatable. */
export const suiteOption = (): Option =>
  new Option('--suite <kind=file>', 'a suite to evaluate against: open=<file.json> or closed=<file.json> (repeatable)').argParser(
    (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
  );

/** `--suite closed=path` (repeatable) → { closed: absolute path }; at least one. */
export function suiteFiles(raw: readonly string[] | undefined): Partial<Record<'open' | 'closed', string>> {
  const suites: Partial<Record<'open' | 'closed', string>> = {};
  for (const entry of raw ?? []) {
    const match = /^(open|closed)=(.+)$/.exec(entry);
    if (!match) throw new UsageError(`--suite "${entry}": write open=<file.json> or closed=<file.json>`);
    suites[match[1] as 'open' | 'closed'] = path.resolve(match[2]!);
  }
  if (Object.keys(suites).length === 0) throw new UsageError('give at least one --suite open=<file.json> or closed=<file.json>');
  return suites;
}

/**
 * A command whose module parses its own arguments (cli/remote.ts): commander hands them on untouched, and
 * `--help` anywhere among them prints `usage`.
 */
export function passesArgumentsOn(command: Command, what: string, usage: string): Command {
  command
    .argument('[args...]', what)
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .passThroughOptions()
    .addHelpText('after', `\n${usage}`)
    .hook('preAction', (self) => {
      if (self.args.includes('--help') || self.args.includes('-h')) self.help();
    });
  return command;
}
