/**
 * What counts as pinned: pip requirement specs (PEP 440 / 508, VCS URLs), requirements-file lines,
 * pip install arguments and npm package specs. Pure string analysis, used by rules/pip.ts and
 * rules/packages.ts.
 */
import { programName, type Word } from './shell.js';

/** A full git commit; anything shorter (a branch, a tag, an abbreviated sha) can move or become ambiguous. */
export const FULL_COMMIT = /^[0-9a-f]{40}$/i;

/** PEP 503 normalized project name. */
export const normalizePackageName = (name: string): string => name.toLowerCase().replace(/[-_.]+/g, '-');

export type PinVerdict =
  { kind: 'pinned' } | { kind: 'local' } | { kind: 'unpinned'; name: string; spec: string } | { kind: 'git-unpinned'; url: string } | { kind: 'unknown' };

export const isVcsUrl = (spec: string): boolean => /(^|[\s@])(git|hg|svn|bzr)\+[a-z]+:\/\//i.test(spec) || /^(git|hg|svn|bzr)\+/i.test(spec);

/** The ref of a pip VCS URL (`git+https://host/org/repo.git@ref#egg=x` → ref), or null. */
function pipVcsRef(url: string): string | null {
  const noFragment = url.split('#')[0]!;
  const afterScheme = noFragment.replace(/^.*?:\/\//, '');
  const slash = afterScheme.indexOf('/');
  if (slash < 0) return null;
  const pathPart = afterScheme.slice(slash);
  const at = pathPart.lastIndexOf('@');
  return at < 0 ? null : pathPart.slice(at + 1);
}

const BRANCH_ARCHIVE = /github\.com\/[^/\s]+\/[^/\s]+\/archive\/(refs\/heads\/|(main|master|develop|dev)\.(zip|tar\.gz))/i;

/** Classifies one pip requirement (command-line argument or requirements-file line). */
export function pipRequirementVerdict(raw: string): PinVerdict {
  const spec = raw.trim();
  if (spec === '' || spec.includes('$')) return { kind: 'unknown' };
  if (isVcsUrl(spec)) {
    const url = spec.slice(spec.search(/(git|hg|svn|bzr)\+/i));
    const ref = pipVcsRef(url);
    return ref !== null && FULL_COMMIT.test(ref) ? { kind: 'pinned' } : { kind: 'git-unpinned', url };
  }
  if (/:\/\//.test(spec)) return BRANCH_ARCHIVE.test(spec) ? { kind: 'git-unpinned', url: spec.slice(spec.search(/\S+:\/\//)) } : { kind: 'pinned' };
  if (/^[.~/]/.test(spec) || /\.(whl|tar\.gz|zip|tgz)$/i.test(spec) || (spec.includes('/') && !spec.includes('@'))) return { kind: 'local' };
  const match = /^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*)$/.exec(spec);
  if (!match) return { kind: 'unknown' };
  const name = match[1]!;
  const rest = (match[3] ?? '').split(';')[0]!.trim();
  const clauses = rest
    .split(',')
    .map((c) => c.trim())
    .filter((c) => c !== '');
  const exact = clauses.some((c) => /^===\s*\S+$/.test(c) || (/^==\s*[^\s*]+$/.test(c) && !c.includes('*')));
  return exact ? { kind: 'pinned' } : { kind: 'unpinned', name, spec };
}

const PIP_VALUE_OPTIONS = new Set([
  '-r',
  '--requirement',
  '-c',
  '--constraint',
  '-e',
  '--editable',
  '-i',
  '--index-url',
  '--extra-index-url',
  '-f',
  '--find-links',
  '-t',
  '--target',
  '--prefix',
  '--root',
  '--src',
  '--upgrade-strategy',
  '--platform',
  '--python-version',
  '--implementation',
  '--abi',
  '--only-binary',
  '--no-binary',
  '--progress-bar',
  '--cache-dir',
  '--log',
  '--timeout',
  '--retries',
  '--trusted-host',
  '--config-settings',
  '-C',
  '--global-option',
  '--report',
  '--proxy',
  '--cert',
  '--client-cert',
  '--exists-action',
  '--python',
  '--keyring-provider',
  '--use-feature',
  '--use-deprecated',
  '--root-user-action',
]);

export interface PipInstall {
  packages: Word[];
  editables: Word[];
  requirements: Word[];
  constraints: Word[];
  /** The --upgrade / -U word, if any. */
  upgrade: Word | null;
}

/** The arguments after `pip install` (pip, pip3, python -m pip, uv pip), or null when `words` is no pip install. */
export function pipInstallArguments(words: readonly Word[]): Word[] | null {
  const texts = words.map((w) => w.text);
  let i = 0;
  const head = programName(texts[0] ?? '');
  if (/^pip(\d+(\.\d+)?)?$/.test(head)) i = 1;
  else if (/^python(\d+(\.\d+)?)?$/.test(head)) {
    const m = texts.indexOf('-m');
    if (m < 0 || texts[m + 1] !== 'pip') return null;
    i = m + 2;
  } else if (head === 'uv' && texts[1] === 'pip') i = 2;
  else return null;
  while (i < texts.length && texts[i]!.startsWith('-')) i++; // global options (-q, --no-cache-dir)
  if (texts[i] !== 'install') return null;
  return words.slice(i + 1);
}

export function parsePipArguments(args: readonly Word[]): PipInstall {
  const result: PipInstall = { packages: [], editables: [], requirements: [], constraints: [], upgrade: null };
  const words: Word[] = [];
  // re-join PEP 508 direct references written as separate words: name @ url
  for (let i = 0; i < args.length; i++) {
    const w = args[i]!;
    const previous = words[words.length - 1];
    const next = args[i + 1];
    if (w.text === '@' && previous !== undefined && next !== undefined) {
      words[words.length - 1] = { text: `${previous.text} @ ${next.text}`, line: previous.line };
      i++;
    } else words.push(w);
  }
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    const w = word.text;
    if (w === '--') continue;
    if (w.startsWith('-')) {
      const eq = w.indexOf('=');
      const option = w.startsWith('--') && eq > 0 ? w.slice(0, eq) : w;
      const attached = w.startsWith('--') && eq > 0 ? { text: w.slice(eq + 1), line: word.line } : null;
      if (option === '-U' || option === '--upgrade' || /^-[a-zA-Z]*U[a-zA-Z]*$/.test(option)) {
        result.upgrade = word;
        continue;
      }
      if (PIP_VALUE_OPTIONS.has(option)) {
        const value = attached ?? words[++i];
        if (value === undefined) continue;
        if (option === '-r' || option === '--requirement') result.requirements.push(value);
        else if (option === '-c' || option === '--constraint') result.constraints.push(value);
        else if (option === '-e' || option === '--editable') result.editables.push(value);
        continue;
      }
      // short options with an attached value: -rrequirements.txt
      if (/^-r\S+/.test(w)) result.requirements.push({ text: w.slice(2), line: word.line });
      else if (/^-c\S+/.test(w)) result.constraints.push({ text: w.slice(2), line: word.line });
      continue;
    }
    result.packages.push(word);
  }
  return result;
}

/** Requirement lines of a requirements file: comments and continuations handled, with line numbers. */
export function requirementLines(text: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const start = i + 1;
    let joined = '';
    let current = lines[i]!;
    while (current.replace(/\s+$/, '').endsWith('\\') && i + 1 < lines.length) {
      joined += current.replace(/\s+$/, '').slice(0, -1) + ' ';
      current = lines[++i]!;
    }
    joined += current;
    const content = joined.replace(/(^|\s)#.*$/, '').trim();
    if (content !== '') out.push({ line: start, text: content });
  }
  return out;
}

/** Exact npm versions: 1.2.3, 1.2.3-rc.1, 1.2.3+build. */
const NPM_EXACT = /^v?\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?$/;

export function npmVerdict(spec: string): PinVerdict {
  if (spec === '' || spec.includes('$')) return { kind: 'unknown' };
  if (/^(git\+|git:\/\/|github:|gitlab:|bitbucket:)/i.test(spec) || /^[\w.-]+\/[\w.-]+(#.*)?$/.test(spec)) {
    const ref = spec.includes('#') ? spec.slice(spec.lastIndexOf('#') + 1) : '';
    return FULL_COMMIT.test(ref) ? { kind: 'pinned' } : { kind: 'git-unpinned', url: spec };
  }
  if (/^(\.|\/|~|file:)/.test(spec) || /\.(tgz|tar\.gz)$/.test(spec) || /^https?:\/\//.test(spec)) return { kind: 'local' };
  const at = spec.indexOf('@', spec.startsWith('@') ? 1 : 0);
  const name = at < 0 ? spec : spec.slice(0, at);
  const version = at < 0 ? '' : spec.slice(at + 1);
  if (version.startsWith('npm:')) return npmVerdict(version.slice(4));
  return NPM_EXACT.test(version) ? { kind: 'pinned' } : { kind: 'unpinned', name, spec };
}
