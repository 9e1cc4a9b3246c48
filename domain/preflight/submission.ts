/**
 * The preflight's only I/O: reads a submission directory's Dockerfiles and the files their RUN steps
 * reference, and hands the text to the pure checks (preflight.ts, lint.ts).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { ReadContextFile } from './family.js';
import { lintDockerfile } from './lint.js';
import { missingDockerfile, PREFLIGHT_DOCKERFILES, preflightResult, type PreflightResult } from './preflight.js';
import type { Finding } from './rules.js';

/** Reads files of `root` by relative path; null for a missing file, a directory, or a path that leaves `root`. */
export function contextFileReader(root: string): ReadContextFile {
  return (relativePath) => {
    const resolved = path.resolve(root, relativePath);
    if (resolved !== root && !resolved.startsWith(root + path.sep)) return null;
    try {
      return existsSync(resolved) && statSync(resolved).isFile() ? readFileSync(resolved, 'utf8') : null;
    } catch {
      return null;
    }
  };
}

/**
 * Lints `Dockerfile` and `Dockerfile.train` of a submission directory, and the requirements /
 * constraints files their RUN steps reference (`pip install -r <path>`). A path inside the image is
 * traced back to the build context through earlier COPY / ADD instructions (and RUN bind mounts),
 * then tried relative to the directory, then by file name; files outside the directory are never read.
 */
export function preflightSubmission(dir: string, options: { inferenceOnly?: boolean } = {}): PreflightResult {
  const root = path.resolve(dir);
  const readContextFile = contextFileReader(root);
  const findings: Finding[] = [];
  for (const { file, role } of PREFLIGHT_DOCKERFILES) {
    const text = readContextFile(file);
    // An inference-only run (a phase without fine-tune) needs no training image; one that is there is still checked.
    if (text === null && role === 'training' && options.inferenceOnly) continue;
    if (text === null) findings.push(missingDockerfile(file, root));
    else findings.push(...lintDockerfile(text, { file, role, readContextFile }));
  }
  return preflightResult(findings);
}
