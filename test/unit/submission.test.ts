import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SubmissionError, loadSubmission, submissionIdOf } from '../../domain/submission.js';
import { PROJECT_ROOT } from '../../infra/paths.js';

function dirWith(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'submission-'));
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), content);
  }
  return dir;
}

const manifest = { schemaVersion: 1, team: 'team-a', submission: 'first', track: 'cpu', baseModel: 'none', trainingData: [] };
const complete = (m: unknown = manifest) => ({ 'submission.json': JSON.stringify(m), Dockerfile: 'FROM x', 'Dockerfile.train': 'FROM x' });

function problemsOf(dir: string, track?: string): string[] {
  try {
    loadSubmission(dir, track);
  } catch (error) {
    expect(error).toBeInstanceOf(SubmissionError);
    return (error as SubmissionError).problems;
  }
  throw new Error('expected the submission to be rejected');
}

describe('submission format', () => {
  it('loads every shipped sample', () => {
    for (const sample of ['good-cooccurrence', 'build-fails', 'oom-train', 'slow-server']) {
      const loaded = loadSubmission(path.join(PROJECT_ROOT, 'examples', sample));
      expect(loaded.submissionId).toBe(submissionIdOf(loaded.manifest));
      expect(loaded.manifest.track).toBe('cpu');
    }
  });

  it('names every missing file and what to do', () => {
    const problems = problemsOf(dirWith({ 'submission.json': JSON.stringify(manifest) }));
    expect(problems).toEqual([
      'Dockerfile: missing; add it at the top of the submission directory',
      'Dockerfile.train: missing; add it at the top of the submission directory',
    ]);
  });

  it('names the file and field of each schema error, all at once', () => {
    const problems = problemsOf(dirWith(complete({ ...manifest, team: 'Team A', track: 'h100', extra: 1 })));
    expect(problems.some((p) => p.startsWith('submission.json: field team:') && p.includes('lowercase'))).toBe(true);
    expect(problems.some((p) => p.startsWith('submission.json: field track:') && p.includes('a100-40gb, 4090-24gb, cpu'))).toBe(true);
    expect(problems.some((p) => p.includes('extra'))).toBe(true);
  });

  it('reports invalid JSON with the file name', () => {
    const problems = problemsOf(dirWith({ ...complete(), 'submission.json': '{"team": ' }));
    expect(problems[0]).toMatch(/^submission\.json: not valid JSON/);
  });

  it('checks declared training data exists inside the submission', () => {
    const problems = problemsOf(dirWith(complete({ ...manifest, trainingData: [{ path: 'data/missing.txt' }, { path: '../../etc/passwd' }] })));
    expect(problems).toEqual([
      'submission.json: trainingData[0].path "data/missing.txt" does not exist; add the file or fix the path',
      'submission.json: trainingData[1].path "../../etc/passwd" points outside the submission; use a path inside it',
    ]);
  });

  it('lets --track override the manifest and blames --track when it is wrong', () => {
    const dir = dirWith(complete());
    expect(loadSubmission(dir, 'a100-40gb').manifest.track).toBe('a100-40gb');
    expect(problemsOf(dir, 'tpu')[0]).toMatch(/^--track:/);
  });

  it('rejects a path that is not a directory', () => {
    expect(problemsOf('/definitely/not/here')[0]).toMatch(/is not a directory/);
  });
});
