/**
 * `challenge check` and `challenge score` as an operator runs them: real processes, a real submission
 * server (the good sample's Python server, trained for real) and the published 2023 ranking files.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execa, type ResultPromise } from 'execa';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../../infra/paths.js';
import { freePort } from '../support/stack.js';

const cli = (args: string[]) =>
  execa('node', [path.join(PROJECT_ROOT, 'dist', 'cli', 'challenge.js'), ...args], {
    reject: false,
    env: { CHALLENGE_DATA_DIR: mkdtempSync(path.join(os.tmpdir(), 'cli-')) },
  });
/** The published 2023 final-round rankings, copied into the project so this runs on every clone. */
const FIXTURES = path.join(PROJECT_ROOT, 'test', 'fixtures', 'neurips2023');

const servers: ResultPromise[] = [];
async function pythonServer(script: string, artifacts: string): Promise<string> {
  const port = await freePort();
  const child = execa('python3', [script], { env: { PORT: String(port), ARTIFACTS_DIR: artifacts }, reject: false });
  servers.push(child);
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      await fetch(`${url}/health`);
      return url;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return url;
}

let artifacts: string;
beforeAll(async () => {
  artifacts = mkdtempSync(path.join(os.tmpdir(), 'artifacts-'));
  await execa('python3', [path.join(PROJECT_ROOT, 'examples/good-cooccurrence/train.py')], { env: { ARTIFACTS_DIR: artifacts } });
});
afterAll(() => {
  for (const server of servers) server.kill();
});

describe('challenge check', () => {
  it('passes a server that keeps the contract', async () => {
    const url = await pythonServer(path.join(PROJECT_ROOT, 'examples/good-cooccurrence/server.py'), artifacts);
    const result = await cli(['check', url]);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/passes/);
    expect(result.stdout.match(/^ {2}ok {3}/gm)).toHaveLength(8);
  });

  it('names each violation of a server that ignores echo_prompt', async () => {
    const url = await pythonServer(path.join(PROJECT_ROOT, 'examples/checkpointing-trainer/server.py'), artifacts);
    const result = await cli(['check', url]);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toMatch(/1 violation/);
    expect(result.stdout).toMatch(/FAIL \/process with echo_prompt returns the prompt first/);
  });

  it('catches an unpinned install and a planted token before any build, and names file and line', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'leaky-'));
    cpSync(path.join(PROJECT_ROOT, 'examples/good-cooccurrence'), dir, { recursive: true });
    writeFileSync(
      path.join(dir, 'Dockerfile'),
      'FROM challenge/base:bookworm-python3\nENV HF_TOKEN=hf_abcdefghijklmnopqrstuvwxyzABCDEFGH\nRUN pip install transformers\nCOPY server.py /app/server.py\nCMD ["python3", "/app/server.py"]\n',
    );
    const result = await cli(['check', dir]);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toMatch(/Dockerfile:2/);
    expect(result.stdout).toMatch(/Dockerfile:3/);
    expect(result.stdout).toMatch(/transformers/);
    expect(result.stdout).not.toContain('hf_abcdefghijklmnopqrstuvwxyzABCDEFGH');
  });

  it('names the instances an overfitting submission trained on', async () => {
    const result = await cli(['check', path.join(PROJECT_ROOT, 'examples/overfit-open')]);
    expect(result.stdout).toMatch(/opposites\s+30\s+30\s+100\.0%/);
    expect(result.stdout).toMatch(/animal-sounds\s+20\s+0\s+0\.0%/);
    expect(result.stdout).toMatch(/id0: .*what is the opposite of/);
  });

  it('reports a malformed submission with file and field, exit code 2', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bad-'));
    writeFileSync(path.join(dir, 'submission.json'), JSON.stringify({ schemaVersion: 1, team: 'x', submission: 'y', track: 'tpu', baseModel: '' }));
    const result = await cli(['check', dir]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/Dockerfile: missing/);
    expect(result.stderr).toMatch(/submission\.json: field track/);
  });
});

describe('challenge score on the published 2023 rankings', () => {
  // What the README claims: the A100 file bit for bit, the 4090 file within 5.6e-17.
  it.each([
    ['A100_final_round.json', 0],
    ['4090_final_round.json', 5.6e-17],
  ])('reproduces every stage score and Score_full of %s within %s', async (file, maxError) => {
    const result = await cli(['score', '--metrics', path.join(FIXTURES, file), '--csv']);
    expect(result.exitCode).toBe(0);
    const published = new Map(
      (JSON.parse(readFileSync(path.join(FIXTURES, file), 'utf8')) as [string, Record<string, number>][]).map(([id, row]) => [id, row]),
    );
    const lines = result.stdout.split('\n').filter((l) => l && !l.startsWith('#'));
    const header = lines[0]!.split(',');
    for (const line of lines.slice(1)) {
      const cells = line.split(',');
      const row = published.get(cells[1]!)!;
      for (const column of ['Score_open', 'Score_hidden', 'Score_full']) {
        expect(Math.abs(Number(cells[header.indexOf(column)]) - row[column]!)).toBeLessThanOrEqual(maxError);
      }
    }
    expect(lines).toHaveLength(published.size + 1);
  });

  it('rejects a malformed table naming the row and column', async () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'score-')), 'bad.json');
    writeFileSync(file, JSON.stringify([['a', { 'MMLU - EM': 'high' }]]));
    const result = await cli(['score', '--metrics', file]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/bad\.json/);
    expect(result.stderr).toMatch(/row 0/);
  });
});
