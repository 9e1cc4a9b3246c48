/**
 * unpinned-pip, pip-upgrade, requirements-unreadable, and unpinned-git for pip: every package a pip
 * install brings in must be pinned exactly, on the command line or in the requirements / constraints
 * files it names (followed through COPY to the submission's files, recursively).
 */
import path from 'node:path';
import { contextCandidates, type CopyMapping } from '../build-context.js';
import type { ReadContextFile, Report } from '../family.js';
import { isVcsUrl, normalizePackageName, parsePipArguments, pipRequirementVerdict, requirementLines } from '../package-specs.js';
import { finding, type Finding, type FindingDraft } from '../rules.js';
import type { Word } from '../shell.js';

/** pip, setuptools and wheel unpinned are only warnings: build tooling, rarely what breaks a model. */
const BUILD_TOOLING = new Set(['pip', 'setuptools', 'wheel']);

export function unpinnedGitFinding(line: number, url: string, separator: '@' | '#', file?: string): FindingDraft {
  return finding('unpinned-git', line, {
    message: `installs from ${url.length > 100 ? `${url.slice(0, 100)}…` : url} without a commit: a branch or tag moves, so the build is not reproducible`,
    fix: `append ${separator}<40-hex commit sha> to the URL (git rev-parse HEAD in the repository)`,
    ...(file === undefined ? {} : { file }),
  });
}

interface ConstraintsState {
  /** A constraints file could not be read, so any package might be pinned there. */
  unreadable: boolean;
  /** Say so in the message (the Dockerfile's own command line; requirements-file findings only get the milder severity). */
  mention: boolean;
}

function unpinnedPipFinding(line: number, name: string, spec: string, constraints: ConstraintsState, file?: string): FindingDraft {
  const range = spec.replace(/^[A-Za-z0-9._-]+\s*(\[[^\]]*\])?\s*/, '');
  const mentioned = constraints.unreadable && constraints.mention;
  return finding('unpinned-pip', line, {
    lenient: BUILD_TOOLING.has(normalizePackageName(name)) || constraints.unreadable,
    message:
      `pip installs ${name} ${range === '' ? 'without a version' : `with "${range}", not an exact version`}` +
      `${mentioned ? ' (a constraints file is used but could not be read to check it)' : ''}; the build picks whatever is newest that day`,
    fix: `pin it exactly, e.g. ${name}==<version you tested> (pip freeze prints them)`,
    ...(file === undefined ? {} : { file }),
  });
}

interface RequirementFileLint {
  findings: FindingDraft[];
  /** Normalized names pinned with == in the file (used when it is a constraints file). */
  pinnedNames: Set<string>;
  nestedRequirements: string[];
  nestedConstraints: string[];
}

function lintRequirementLines(text: string, file: string, constrained: ReadonlySet<string> | null, constraintsUnreadable: boolean): RequirementFileLint {
  const result: RequirementFileLint = { findings: [], pinnedNames: new Set(), nestedRequirements: [], nestedConstraints: [] };
  for (const { line, text: content } of requirementLines(text)) {
    if (content.startsWith('-')) {
      const m = /^(-r|--requirement|-c|--constraint|-e|--editable)(?:\s*=\s*|\s+|(?=\S))(\S+)/.exec(content);
      if (!m) continue; // other options: --index-url, --hash lines, --pre, …
      if (m[1] === '-r' || m[1] === '--requirement') result.nestedRequirements.push(m[2]!);
      else if (m[1] === '-c' || m[1] === '--constraint') result.nestedConstraints.push(m[2]!);
      else {
        const verdict = pipRequirementVerdict(m[2]!);
        if (verdict.kind === 'git-unpinned') result.findings.push(unpinnedGitFinding(line, verdict.url, '@', file));
      }
      continue;
    }
    const spec = content.split(/\s--?[a-z]/i)[0]!.trim(); // drop per-requirement options (--hash=…)
    const verdict = pipRequirementVerdict(spec);
    if (verdict.kind === 'pinned') {
      const name = /^([A-Za-z0-9][A-Za-z0-9._-]*)/.exec(spec)?.[1];
      if (name !== undefined) result.pinnedNames.add(normalizePackageName(name));
    } else if (verdict.kind === 'git-unpinned') result.findings.push(unpinnedGitFinding(line, verdict.url, '@', file));
    else if (verdict.kind === 'unpinned' && !(constrained?.has(normalizePackageName(verdict.name)) ?? false)) {
      result.findings.push(unpinnedPipFinding(line, verdict.name, verdict.spec, { unreadable: constraintsUnreadable, mention: false }, file));
    }
  }
  return result;
}

/** Lints a requirements file on its own (no constraints known). */
export function lintRequirements(text: string, file = 'requirements.txt'): Finding[] {
  return lintRequirementLines(text, file, null, false).findings.map((draft) => ({ ...draft, file: draft.file ?? file }));
}

export interface PipContext {
  workdir: string;
  copies: readonly CopyMapping[];
  mounts: readonly CopyMapping[];
  readContextFile: ReadContextFile | undefined;
}

/** Checks the arguments of one `pip install` and the files they reference. */
export function checkPipInstall(args: readonly Word[], context: PipContext, report: Report): void {
  const install = parsePipArguments(args);
  if (install.upgrade !== null) report(finding('pip-upgrade', install.upgrade.line));
  const readReferenced = (p: string): { file: string; text: string } | null => {
    if (context.readContextFile === undefined) return null;
    for (const candidate of contextCandidates(p, context.workdir, context.copies, context.mounts)) {
      const text = context.readContextFile(candidate);
      if (text !== null) return { file: candidate, text };
    }
    return null;
  };
  const unreadable = (p: string, line: number, kind: string) =>
    report(
      finding('requirements-unreadable', line, {
        message: `the ${kind} file ${p} is not in the submission (or not COPY'd from it), so its pins cannot be checked`,
        fix: `add ${path.posix.basename(p)} to the submission and COPY it before this RUN`,
      }),
    );

  // constraints files: names they pin count as pinned
  const constraints: { pinned: Set<string> | null; unreadable: boolean } = { pinned: null, unreadable: false };
  const collectConstraints = (paths: readonly Word[], seen: Set<string>) => {
    for (const p of paths) {
      const found = readReferenced(p.text);
      if (found === null) {
        constraints.unreadable = true;
        unreadable(p.text, p.line, 'constraints');
        continue;
      }
      if (seen.has(found.file)) continue;
      seen.add(found.file);
      const lint = lintRequirementLines(found.text, found.file, null, false);
      constraints.pinned ??= new Set();
      for (const name of lint.pinnedNames) constraints.pinned.add(name);
      collectConstraints(
        lint.nestedConstraints.map((nested) => ({ text: path.posix.join(path.posix.dirname(p.text), nested), line: p.line })),
        seen,
      );
    }
  };
  collectConstraints(install.constraints, new Set());

  for (const editable of install.editables) {
    // -e takes a local project directory or a VCS URL; only the URL can be unpinned
    if (!isVcsUrl(editable.text)) continue;
    const verdict = pipRequirementVerdict(editable.text);
    if (verdict.kind === 'git-unpinned') report(unpinnedGitFinding(editable.line, verdict.url, '@'));
  }
  for (const spec of install.packages) {
    const verdict = pipRequirementVerdict(spec.text);
    if (verdict.kind === 'git-unpinned') report(unpinnedGitFinding(spec.line, verdict.url, '@'));
    else if (verdict.kind === 'unpinned' && !(constraints.pinned?.has(normalizePackageName(verdict.name)) ?? false)) {
      report(unpinnedPipFinding(spec.line, verdict.name, verdict.spec, { unreadable: constraints.unreadable, mention: true }));
    }
  }

  // requirements files, recursively
  const seen = new Set<string>();
  const lintFiles = (paths: readonly Word[]) => {
    for (const p of paths) {
      const found = readReferenced(p.text);
      if (found === null) {
        unreadable(p.text, p.line, 'requirements');
        continue;
      }
      if (seen.has(found.file)) continue;
      seen.add(found.file);
      const lint = lintRequirementLines(found.text, found.file, constraints.pinned, constraints.unreadable);
      for (const draft of lint.findings) report(draft);
      lintFiles(lint.nestedRequirements.map((nested) => ({ text: path.posix.join(path.posix.dirname(p.text), nested), line: p.line })));
    }
  };
  lintFiles(install.requirements);
}
