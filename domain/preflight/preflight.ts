/** The preflight of a submission's two Dockerfiles as one result, from text already in memory; and its text form. */
import type { DockerfileRole, ReadContextFile } from './family.js';
import { lintDockerfile } from './lint.js';
import { finding, type Finding } from './rules.js';

export interface PreflightResult {
  /** True when there is no error (warnings allowed). */
  ok: boolean;
  errors: Finding[];
  warnings: Finding[];
  /** All findings, Dockerfile first, then Dockerfile.train, each by line. */
  findings: Finding[];
}

export const PREFLIGHT_DOCKERFILES: readonly { file: string; role: DockerfileRole }[] = [
  { file: 'Dockerfile', role: 'inference' },
  { file: 'Dockerfile.train', role: 'training' },
];

export function preflightResult(findings: Finding[]): PreflightResult {
  const errors = findings.filter((f) => f.severity === 'error');
  return { ok: errors.length === 0, errors, warnings: findings.filter((f) => f.severity === 'warning'), findings };
}

/** The missing-dockerfile finding; `where` names the directory when there is one. */
export function missingDockerfile(file: string, where: string | null): Finding {
  const draft = finding('missing-dockerfile', 0, {
    message: where === null ? `${file} is missing` : `${file} is missing from ${where}`,
    fix: where === null ? `add ${file} to the submission` : `add ${file} at the top of the submission directory`,
  });
  return { ...draft, file };
}

/** Lints both Dockerfiles given as text; null for one that is absent. */
export function preflightTexts(files: { dockerfile: string | null; trainDockerfile: string | null; readContextFile?: ReadContextFile }): PreflightResult {
  const findings: Finding[] = [];
  const texts = [files.dockerfile, files.trainDockerfile];
  PREFLIGHT_DOCKERFILES.forEach(({ file, role }, i) => {
    const text = texts[i] ?? null;
    if (text === null) findings.push(missingDockerfile(file, null));
    else findings.push(...lintDockerfile(text, { file, role, ...(files.readContextFile ? { readContextFile: files.readContextFile } : {}) }));
  });
  return preflightResult(findings);
}

/** Plain text for the CLI. */
export function renderPreflight(result: PreflightResult): string {
  const lines = result.findings.map((f) => `${f.file}${f.line > 0 ? `:${f.line}` : ''}: ${f.severity} [${f.rule}] ${f.message}\n    fix: ${f.fix}`);
  const count = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
  const verdict = result.ok ? ' — ok to build' : ' — fix the errors before building';
  const summary = `preflight: ${count(result.errors.length, 'error')}, ${count(result.warnings.length, 'warning')}${verdict}`;
  return [...lines, summary].join('\n');
}
