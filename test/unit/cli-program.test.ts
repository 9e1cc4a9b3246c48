/**
 * The `challenge` command line on commander (cli/challenge.ts, cli/commands/*): every command is described and
 * answers --help, an unknown command or a bad value is bad input (exit 2) with a message naming it, and the
 * status of a pipeline prints its stages as one aligned table. Bad input is refused before any connection, so
 * none of this needs Temporal or a database.
 */
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { execa } from 'execa';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { challengeProgram, runChallenge } from '../../cli/challenge.js';
import { renderStatus } from '../../cli/commands/status.js';
import { PROJECT_ROOT } from '../../infra/paths.js';
import type { PipelineStatus } from '../../operations/pipelines.js';

/** Every command and subcommand, by its full name ("schedule create"), commander's own help command left out. */
function commandsOf(command: Command, prefix = ''): { name: string; command: Command }[] {
  return command.commands
    .filter((sub) => sub.name() !== 'help')
    .flatMap((sub) => {
      const name = `${prefix}${sub.name()}`;
      return [{ name, command: sub }, ...commandsOf(sub, `${name} `)];
    });
}

let out: string[];
let err: string[];
beforeEach(() => {
  out = [];
  err = [];
  jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => out.push(String(chunk)) > 0);
  jest.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => err.push(String(chunk)) > 0);
  jest.spyOn(console, 'error').mockImplementation((...args: unknown[]) => void err.push(`${args.join(' ')}\n`));
  jest.spyOn(console, 'log').mockImplementation((...args: unknown[]) => void out.push(`${args.join(' ')}\n`));
});
afterEach(() => {
  jest.restoreAllMocks();
});

describe('challenge on commander', () => {
  const commands = commandsOf(challengeProgram());

  it('registers every command the operators and the docs use', () => {
    const names = commands.map((c) => c.name);
    for (const name of ['submit', 'status', 'logs', 'cancel', 'retry', 'evaluate', 'leaderboard', 'hosts', 'serve', 'check', 'report', 'score']) {
      expect(names).toContain(name);
    }
    for (const name of ['schedule create', 'schedule list', 'schedule describe', 'schedule pause', 'schedule unpause', 'schedule trigger', 'schedule delete']) {
      expect(names).toContain(name);
    }
    const groups = ['team add', 'team list', 'team rotate-token', 'team disable', 'team enable', 'team quota', 'competition validate', 'competition extend'];
    for (const name of [...groups, 'reproduce status', 'remote', 'placement', 'placement weight']) {
      expect(names).toContain(name);
    }
  });

  it('gives every registered command a description', () => {
    const undescribed = commands.filter((c) => c.command.description().trim().length < 10).map((c) => c.name);
    expect(undescribed).toEqual([]);
    expect(commands.length).toBeGreaterThan(25);
  });

  it('answers "<command> --help" with exit 0 and a usage line naming the command', async () => {
    for (const { name } of commands) {
      out = [];
      expect(await runChallenge([...name.split(' '), '--help'])).toBe(0);
      expect(out.join('')).toContain(`Usage: challenge ${name}`);
    }
  });

  it('exits 2 on an unknown command and names it', async () => {
    expect(await runChallenge(['frobnicate'])).toBe(2);
    expect(err.join('')).toMatch(/unknown command 'frobnicate'/);
    err = [];
    expect(await runChallenge(['schedule', 'frobnicate', 'x'])).toBe(2);
    expect(err.join('')).toMatch(/unknown command 'frobnicate'/);
  });

  it('exits 2 on a bad value, naming the flag and what to write', async () => {
    const cases: [string[], RegExp][] = [
      [['hosts', '--gone-after', 'soon'], /--gone-after: "soon" is not a duration/],
      [['submit', path.join(PROJECT_ROOT, 'examples/good-cooccurrence'), '--open-eval-limit', 'soon'], /--open-eval-limit: "soon" is not a duration/],
      [['leaderboard', '--track', 'tpu'], /--track: "tpu" is not a track; use one of a100-40gb, 4090-24gb, cpu/],
      [['leaderboard', '--phase', 'later'], /'--phase <board>' argument 'later' is invalid\. Allowed choices are development, final/],
      [['logs', 'a.b', '--lines', '0'], /--lines: "0" must be a whole number from 1 to 10000/],
      [['evaluate', 'a.b', '--suite', 'hidden=x.json'], /--suite "hidden=x\.json": write open=<file\.json> or closed=<file\.json>/],
      [['schedule', 'create', 'nightly', '--cron', '0 2 * * *', '--concurrency', 'many'], /--concurrency: "many" must be a whole number from 1 to 1000/],
      [['status', '--bogus'], /unknown option '--bogus'/],
      [['cancel'], /missing required argument 'id'/],
    ];
    for (const [argv, message] of cases) {
      err = [];
      expect([argv.join(' '), await runChallenge(argv)]).toEqual([argv.join(' '), 2]);
      expect(err.join('')).toMatch(message);
    }
  });

  it('is the compiled entry point: an unknown command exits the process with 2', async () => {
    const result = await execa('node', [path.join(PROJECT_ROOT, 'dist', 'cli', 'challenge.js'), 'frobnicate'], {
      reject: false,
      env: { CHALLENGE_DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'cli-program-')) },
    });
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/^challenge: unknown command 'frobnicate'/);
  });
});

describe('challenge status <id>', () => {
  it('prints the stages as one table: elapsed (formatSpan) of the limit (formatDuration), and the failure', () => {
    const status: PipelineStatus = {
      workflowId: 'submission-a.b',
      status: 'COMPLETED',
      activity: null,
      state: {
        submissionId: 'a.b',
        track: 'cpu',
        host: 'gpu-1',
        failovers: [],
        currentStage: 'done',
        outcome: 'failed',
        failureCategory: 'TimeLimit',
        stages: [
          { stage: 'build', outcome: 'succeeded', failureCategory: null, reason: null, startedAt: 0, endedAt: 42_500, limitMs: 7_200_000 },
          { stage: 'open-eval', outcome: 'partial', failureCategory: 'TimeLimit', reason: 'limit of 20s', startedAt: 50_000, endedAt: 71_300, limitMs: 20_000 },
          { stage: 'closed-eval', outcome: 'pending', failureCategory: null, reason: null, startedAt: null, endedAt: null, limitMs: 600_000 },
        ],
      },
    };
    const lines = renderStatus(status, 100_000).split('\n');
    expect(lines[0]).toBe('submission-a.b  COMPLETED  host gpu-1');
    expect(lines[1]).toMatch(/^ {2}stage {8}outcome {4}elapsed of limit {11}failure$/);
    expect(lines[3]).toMatch(/^ {2}build {8}succeeded {2}42\.5s of 2h \[\.{10}\]$/);
    expect(lines[4]).toMatch(/^ {2}open-eval {4}partial {4}21\.3s of 20s \[#{10}\] +TimeLimit: limit of 20s$/);
    expect(lines[5]).toBe('  closed-eval  pending');
  });
});
