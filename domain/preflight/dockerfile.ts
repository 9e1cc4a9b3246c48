/**
 * Dockerfile preflight: a lint that runs before any build. In 2023 more than half of the submitted
 * Dockerfiles failed to build, "most often because of unpinned dependencies and breaking changes in
 * HuggingFace PEFT and Transformers" (spec CHALLENGE_2023 §2.7), finalists shipped `pip install
 * transformers` and `pip install git+https://github.com/huggingface/peft.git`, and §3.6 asks to
 * "require pinned dependencies … forbid secrets in Dockerfiles". Pure text analysis; the only I/O is
 * `preflightSubmission`, which reads the submission's files.
 *
 * Rules (severity, rule id)
 *   error    unpinned-pip       pip install of a package without an exact `==` (or `===`) pin, in a RUN
 *                               or in a requirements / constraints file that the RUN references. pip,
 *                               setuptools and wheel unpinned are only warnings (build tooling). A
 *                               package pinned by a referenced constraints file (-c) counts as pinned.
 *   warning  pip-upgrade        pip install --upgrade / -U (pulls whatever is newest at build time).
 *   error    unpinned-npm       npm install / npm i / npm add / yarn add / pnpm add of a package without
 *                               an exact version (x.y.z); ranges, tags and `latest` are unpinned.
 *   warning  unpinned-apt       apt-get / apt install of a package without `=version`.
 *   warning  unpinned-conda     conda / mamba / micromamba install of a package without `=version`.
 *   error    unpinned-git       a git URL (pip `git+https://…`, npm `git+…` / `github:`) without a full
 *                               40-hex commit (pip `@<sha>`, npm `#<sha>`); also GitHub archive URLs of a
 *                               branch. warning for `git clone` not followed by a checkout / reset of a
 *                               40-hex commit in the same RUN.
 *   warning  requirements-unreadable  a referenced requirements / constraints file that the preflight
 *                               cannot find in the submission, so its pins cannot be checked.
 *   error    base-image-untagged  FROM without a tag or digest (FROM scratch and earlier stage names
 *                               are fine); error base-image-latest for `:latest` without a digest;
 *                               warning base-image-variable when an ARG without default hides it.
 *   error    secret             an access token in the Dockerfile (Hugging Face hf_…, GitHub ghp_/gho_/
 *                               ghu_/ghs_/ghr_/github_pat_, OpenAI sk-…, AWS AKIA…) anywhere, comments
 *                               included (the Dockerfile is published with the submission), or an
 *                               ENV / ARG / RUN assignment `…token|secret|password|api_key=<8+ chars>`,
 *                               or a `RUN --mount=type=secret`: the platform builds with Docker's legacy
 *                               builder, which rejects RUN --mount. Messages show only the first 4
 *                               characters of the secret. The fix is the platform's build secrets: the
 *                               operator holds them per team and a RUN fetches one from
 *                               $CHALLENGE_BUILD_SECRETS_URL/<NAME> (never written to a layer).
 *   warning  secret-build-arg   ENV / ARG named like a secret whose value is empty or a variable:
 *                               build args and ENV are stored in the image; fetch a build secret
 *                               instead (ARG CHALLENGE_BUILD_SECRETS_URL itself is not flagged).
 *   warning  runtime-download   model weights fetched by CMD / ENTRYPOINT (neither container has
 *                               internet at run time: training runs with --network none, inference on an
 *                               internal network), or by a RUN without a pinned 40-hex revision
 *                               (huggingface-cli / hf download, snapshot_download, hf_hub_download,
 *                               from_pretrained("<hub id>"), wget / curl of model files or of
 *                               huggingface.co, git clone of a huggingface.co repo).
 *   warning  add-url            ADD of a URL without --checksum, or of a git repository without a
 *                               40-hex ref.
 *   error    missing-dockerfile (preflightSubmission) Dockerfile or Dockerfile.train absent.
 *
 * Parsing follows the Dockerfile reference: `# escape=` parser directive, `\` line continuations,
 * full-line comments (also between continuation lines), `#` elsewhere is literal, JSON-array (exec)
 * form, and BuildKit here-documents (`RUN <<EOF … EOF`), whose body is linted as shell.
 * Shell commands are split on `&&`, `||`, `;`, `|`, `&`, newlines, `(`, `)` and backticks, with
 * single / double quotes and backslash escapes honoured; variables are not expanded.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

export type Severity = 'error' | 'warning';

export type PreflightRule =
  | 'unpinned-pip'
  | 'pip-upgrade'
  | 'unpinned-npm'
  | 'unpinned-apt'
  | 'unpinned-conda'
  | 'unpinned-git'
  | 'requirements-unreadable'
  | 'base-image-untagged'
  | 'base-image-latest'
  | 'base-image-variable'
  | 'secret'
  | 'secret-build-arg'
  | 'runtime-download'
  | 'add-url'
  | 'missing-dockerfile';

export interface Finding {
  severity: Severity;
  rule: PreflightRule;
  /** File the finding is in (as given to the linter, e.g. "Dockerfile" or "requirements.txt"). */
  file: string;
  /** 1-based line; 0 when the finding is about a whole file. */
  line: number;
  message: string;
  fix: string;
}

// ---------------------------------------------------------------------------------------------------
// Parsing

export interface Instruction {
  /** Upper-case keyword: FROM, RUN, ENV, … */
  keyword: string;
  /** Arguments with continuations joined (escape + newline removed) and comment lines dropped. */
  args: string;
  /** Exec (JSON-array) form, when the arguments are a JSON array of strings. */
  json: string[] | null;
  /** Here-document bodies, in order. */
  heredocs: string[];
  /** 1-based first and last line. */
  line: number;
  endLine: number;
  /** `args` followed by "\n" + each here-document body: the text shell analysis reads. */
  text: string;
  /**
   * The physical lines that make up the instruction: `offset` is where the line's content starts in
   * `text` (negative for the keyword's own line when the arguments start later on it).
   */
  segments: { line: number; text: string; offset: number }[];
}

export interface ParsedDockerfile {
  escape: string;
  instructions: Instruction[];
}

const HEREDOC_RE = /<<(-?)(["']?)([A-Za-z_][A-Za-z0-9_]*)\2/g;

export function parseDockerfile(text: string): ParsedDockerfile {
  const lines = text.split(/\r?\n/);
  let escape = '\\';
  let index = 0;
  // parser directives: only at the very top, before any instruction, comment or blank line
  while (index < lines.length) {
    const directive = /^#\s*([a-zA-Z]+)\s*=\s*(\S+)\s*$/.exec(lines[index]!);
    if (!directive) break;
    if (directive[1]!.toLowerCase() === 'escape' && (directive[2] === '`' || directive[2] === '\\')) escape = directive[2]!;
    index++;
  }
  const instructions: Instruction[] = [];
  while (index < lines.length) {
    const first = lines[index]!;
    if (first.trim() === '' || first.trimStart().startsWith('#')) {
      index++;
      continue;
    }
    const startLine = index + 1;
    const segments: { line: number; text: string; offset: number }[] = [];
    let joined = '';
    let current = first;
    let lineNumber = startLine;
    for (;;) {
      const trimmedEnd = current.replace(/\s+$/, '');
      const continues = trimmedEnd.endsWith(escape);
      const part = continues ? trimmedEnd.slice(0, -escape.length) : current;
      if (joined !== '') joined += ' ';
      segments.push({ line: lineNumber, text: part, offset: joined.length });
      joined += part.trim();
      index++;
      if (!continues) break;
      // skip comment lines and empty lines inside a continuation
      while (index < lines.length && (lines[index]!.trimStart().startsWith('#') || lines[index]!.trim() === '')) index++;
      if (index >= lines.length) break;
      current = lines[index]!;
      lineNumber = index + 1;
    }
    const match = /^(\S+)(\s*)([\s\S]*)$/.exec(joined.trim());
    const keyword = (match?.[1] ?? '').toUpperCase();
    const args = (match?.[3] ?? '').trim();
    const argsStart = (match?.[1] ?? '').length + (match?.[2] ?? '').length;
    for (const segment of segments) segment.offset -= argsStart;
    let combined = args;
    const heredocs: string[] = [];
    if (keyword === 'RUN' || keyword === 'COPY' || keyword === 'ADD') {
      for (const heredoc of args.matchAll(HEREDOC_RE)) {
        const strip = heredoc[1] === '-';
        const delimiter = heredoc[3]!;
        const body: string[] = [];
        while (index < lines.length) {
          const raw = lines[index]!;
          index++;
          const bodyLine = strip ? raw.replace(/^\t+/, '') : raw;
          if (bodyLine.trim() === delimiter) break;
          combined += '\n';
          segments.push({ line: index, text: raw, offset: combined.length });
          combined += bodyLine;
          body.push(bodyLine);
        }
        heredocs.push(body.join('\n'));
      }
    }
    let json: string[] | null = null;
    if (args.startsWith('[')) {
      try {
        const parsed: unknown = JSON.parse(args);
        if (Array.isArray(parsed) && parsed.every((p) => typeof p === 'string')) json = parsed as string[];
      } catch {
        json = null;
      }
    }
    instructions.push({ keyword, args, json, heredocs, text: combined, line: startLine, endLine: index, segments });
  }
  return { escape, instructions };
}

/** Line of the first physical line of `instruction` that contains `needle`, else its first line. */
function lineOf(instruction: Instruction, needle: string): number {
  if (needle !== '') for (const segment of instruction.segments) if (segment.text.includes(needle)) return segment.line;
  return instruction.line;
}

/** Line holding the character at `offset` of `instruction.text`. */
export function lineAtOffset(instruction: Instruction, offset: number): number {
  let line = instruction.line;
  for (const segment of instruction.segments) {
    if (segment.offset > offset) break;
    line = segment.line;
  }
  return line;
}

/** A shell word with quotes removed and the 1-based Dockerfile line it starts on. */
export interface Word {
  text: string;
  line: number;
}

/** Splits a shell script into simple commands of words with their start offsets; see header. */
function shellWords(script: string): { text: string; offset: number }[][] {
  const commands: { text: string; offset: number }[][] = [];
  let words: { text: string; offset: number }[] = [];
  let word = '';
  let start = -1;
  let quote: '"' | "'" | null = null;
  const begin = (i: number) => {
    if (start < 0) start = i;
  };
  const endWord = () => {
    if (start >= 0) words.push({ text: word, offset: start });
    word = '';
    start = -1;
  };
  const endCommand = () => {
    endWord();
    if (words.length > 0) commands.push(words);
    words = [];
  };
  for (let i = 0; i < script.length; i++) {
    const c = script[i]!;
    if (quote === "'") {
      if (c === "'") quote = null;
      else word += c;
      continue;
    }
    if (quote === '"') {
      if (c === '"') quote = null;
      else if (c === '\\' && i + 1 < script.length && '"\\$`'.includes(script[i + 1]!)) word += script[++i]!;
      else word += c;
      continue;
    }
    if (c === '\\') {
      if (i + 1 < script.length && script[i + 1] === '\n') i++;
      else if (i + 1 < script.length) {
        begin(i);
        word += script[++i]!;
      }
      continue;
    }
    if (c === "'" || c === '"') {
      begin(i);
      quote = c;
      continue;
    }
    if (c === '#' && start < 0) {
      while (i + 1 < script.length && script[i + 1] !== '\n') i++;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r') {
      endWord();
      continue;
    }
    if (';&|\n()`'.includes(c)) {
      endCommand();
      continue;
    }
    begin(i);
    word += c;
  }
  endCommand();
  return commands;
}

/** Splits a shell script into simple commands (arrays of words, quotes removed); see header. */
export function shellCommands(script: string): string[][] {
  return shellWords(script).map((command) => command.map((w) => w.text));
}

// ---------------------------------------------------------------------------------------------------
// Package specs

const HEX40 = /^[0-9a-f]{40}$/i;
const LOOSE_TOOLING = new Set(['pip', 'setuptools', 'wheel']);

/** PEP 503 normalized project name. */
export const normalizePackageName = (name: string): string => name.toLowerCase().replace(/[-_.]+/g, '-');

type PinVerdict = { kind: 'pinned' } | { kind: 'local' } | { kind: 'unpinned'; name: string; spec: string } | { kind: 'git-unpinned'; url: string } | { kind: 'unknown' };

const isVcsUrl = (spec: string): boolean => /(^|[\s@])(git|hg|svn|bzr)\+[a-z]+:\/\//i.test(spec) || /^(git|hg|svn|bzr)\+/i.test(spec);

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
    return ref !== null && HEX40.test(ref) ? { kind: 'pinned' } : { kind: 'git-unpinned', url };
  }
  if (/:\/\//.test(spec)) return BRANCH_ARCHIVE.test(spec) ? { kind: 'git-unpinned', url: spec.slice(spec.search(/\S+:\/\//)) } : { kind: 'pinned' };
  if (/^[.~/]/.test(spec) || /\.(whl|tar\.gz|zip|tgz)$/i.test(spec) || (spec.includes('/') && !spec.includes('@'))) return { kind: 'local' };
  const match = /^([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*(.*)$/.exec(spec);
  if (!match) return { kind: 'unknown' };
  const name = match[1]!;
  const rest = (match[3] ?? '').split(';')[0]!.trim();
  const clauses = rest.split(',').map((c) => c.trim()).filter((c) => c !== '');
  const exact = clauses.some((c) => /^===\s*\S+$/.test(c) || (/^==\s*[^\s*]+$/.test(c) && !c.includes('*')));
  return exact ? { kind: 'pinned' } : { kind: 'unpinned', name, spec };
}

const PIP_VALUE_OPTIONS = new Set([
  '-r', '--requirement', '-c', '--constraint', '-e', '--editable', '-i', '--index-url', '--extra-index-url', '-f', '--find-links', '-t', '--target',
  '--prefix', '--root', '--src', '--upgrade-strategy', '--platform', '--python-version', '--implementation', '--abi', '--only-binary', '--no-binary',
  '--progress-bar', '--cache-dir', '--log', '--timeout', '--retries', '--trusted-host', '--config-settings', '-C', '--global-option', '--report',
  '--proxy', '--cert', '--client-cert', '--exists-action', '--python', '--keyring-provider', '--use-feature', '--use-deprecated', '--root-user-action',
]);

interface PipInstall {
  packages: Word[];
  editables: Word[];
  requirements: Word[];
  constraints: Word[];
  /** The --upgrade / -U word, if any. */
  upgrade: Word | null;
}

function parsePipArgs(args: readonly Word[]): PipInstall {
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

interface RequirementFileLint {
  findings: Finding[];
  /** Normalized names pinned with == in the file (used when it is a constraints file). */
  pinnedNames: Set<string>;
  nestedRequirements: string[];
  nestedConstraints: string[];
}

function unpinnedPipFinding(file: string, line: number, name: string, spec: string, constrainedUnknown: boolean): Finding {
  const tooling = LOOSE_TOOLING.has(normalizePackageName(name));
  const range = spec.replace(/^[A-Za-z0-9._-]+\s*(\[[^\]]*\])?\s*/, '');
  return {
    severity: tooling || constrainedUnknown ? 'warning' : 'error',
    rule: 'unpinned-pip',
    file,
    line,
    message: `pip installs ${name} ${range === '' ? 'without a version' : `with "${range}", not an exact version`}${constrainedUnknown ? ' (a constraints file is used but could not be read to check it)' : ''}; the build picks whatever is newest that day`,
    fix: `pin it exactly, e.g. ${name}==<version you tested> (pip freeze prints them)`,
  };
}

function gitFinding(file: string, line: number, url: string, separator: '@' | '#'): Finding {
  return {
    severity: 'error',
    rule: 'unpinned-git',
    file,
    line,
    message: `installs from ${url.length > 100 ? `${url.slice(0, 100)}…` : url} without a commit: a branch or tag moves, so the build is not reproducible`,
    fix: `append ${separator}<40-hex commit sha> to the URL (git rev-parse HEAD in the repository)`,
  };
}

function lintRequirementLines(text: string, file: string, constrained: Set<string> | null): RequirementFileLint {
  const result: RequirementFileLint = { findings: [], pinnedNames: new Set(), nestedRequirements: [], nestedConstraints: [] };
  for (const { line, text: content } of requirementLines(text)) {
    if (content.startsWith('-')) {
      const m = /^(-r|--requirement|-c|--constraint|-e|--editable)(?:\s*=\s*|\s+|(?=\S))(\S+)/.exec(content);
      if (!m) continue; // other options: --index-url, --hash lines, --pre, …
      if (m[1] === '-r' || m[1] === '--requirement') result.nestedRequirements.push(m[2]!);
      else if (m[1] === '-c' || m[1] === '--constraint') result.nestedConstraints.push(m[2]!);
      else {
        const verdict = pipRequirementVerdict(m[2]!);
        if (verdict.kind === 'git-unpinned') result.findings.push(gitFinding(file, line, verdict.url, '@'));
      }
      continue;
    }
    const spec = content.split(/\s--?[a-z]/i)[0]!.trim(); // drop per-requirement options (--hash=…)
    const verdict = pipRequirementVerdict(spec);
    if (verdict.kind === 'pinned') {
      const name = /^([A-Za-z0-9][A-Za-z0-9._-]*)/.exec(spec)?.[1];
      if (name !== undefined) result.pinnedNames.add(normalizePackageName(name));
    } else if (verdict.kind === 'git-unpinned') result.findings.push(gitFinding(file, line, verdict.url, '@'));
    else if (verdict.kind === 'unpinned' && !(constrained?.has(normalizePackageName(verdict.name)) ?? false)) result.findings.push(unpinnedPipFinding(file, line, verdict.name, verdict.spec, false));
  }
  return result;
}

/** Lints a requirements file on its own (no constraints known). */
export function lintRequirements(text: string, file = 'requirements.txt'): Finding[] {
  return lintRequirementLines(text, file, null).findings;
}

/** Exact npm versions: 1.2.3, 1.2.3-rc.1, 1.2.3+build. */
const NPM_EXACT = /^v?\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?$/;

function npmVerdict(spec: string): PinVerdict {
  if (spec === '' || spec.includes('$')) return { kind: 'unknown' };
  if (/^(git\+|git:\/\/|github:|gitlab:|bitbucket:)/i.test(spec) || /^[\w.-]+\/[\w.-]+(#.*)?$/.test(spec)) {
    const ref = spec.includes('#') ? spec.slice(spec.lastIndexOf('#') + 1) : '';
    return HEX40.test(ref) ? { kind: 'pinned' } : { kind: 'git-unpinned', url: spec };
  }
  if (/^(\.|\/|~|file:)/.test(spec) || /\.(tgz|tar\.gz)$/.test(spec) || /^https?:\/\//.test(spec)) return { kind: 'local' };
  const at = spec.indexOf('@', spec.startsWith('@') ? 1 : 0);
  const name = at < 0 ? spec : spec.slice(0, at);
  const version = at < 0 ? '' : spec.slice(at + 1);
  if (version.startsWith('npm:')) return npmVerdict(version.slice(4));
  return NPM_EXACT.test(version) ? { kind: 'pinned' } : { kind: 'unpinned', name, spec };
}

const NPM_VALUE_OPTIONS = new Set(['--registry', '--prefix', '--cache', '--tag', '--userconfig', '--workspace', '-w', '--omit', '--include', '--loglevel', '--network-timeout', '--modules-folder', '--filter', '--dir', '-C']);

// ---------------------------------------------------------------------------------------------------
// Secrets

const TOKEN_PATTERNS: { name: string; re: RegExp }[] = [
  { name: 'Hugging Face token', re: /\bhf_[A-Za-z0-9]{30,}\b/g },
  { name: 'GitHub token', re: /\bgh[pousr]_[A-Za-z0-9]{20,}\b/g },
  { name: 'GitHub token', re: /\bgithub_pat_[A-Za-z0-9_]{20,}\b/g },
  { name: 'OpenAI key', re: /\bsk-(?:proj-)?[A-Za-z0-9_-]{20,}/g },
  { name: 'AWS access key id', re: /\bAKIA[0-9A-Z]{16}\b/g },
];
const GENERIC_SECRET = /\b([A-Za-z0-9_.-]*(?:token|secret|password|passwd|api_key|apikey|access_key))\s*=\s*("[^"]*"|'[^']*'|\S+)/gi;
const SECRET_NAME = /(token|secret|password|passwd|api_?key|access_?key|credential)/i;
/** The build argument the platform sets to its build-secrets endpoint (infra/docker.ts BUILD_SECRETS_ARG); it holds no secret. */
const BUILD_SECRETS_ARG = 'CHALLENGE_BUILD_SECRETS_URL';
/** How a secret reaches a build here (Docker's legacy builder: no RUN --mount=type=secret). */
const buildSecretFix = (name: string): string =>
  `have the operator hold it as a build secret of your team and fetch it inside the RUN that needs it: ARG ${BUILD_SECRETS_ARG}, then ` +
  `RUN ${name.toUpperCase()}="$(curl -fsS "$${BUILD_SECRETS_ARG}/${name}")" && … (or python3's urllib); it is never written to a layer. ` +
  'RUN --mount=type=secret does not work here: the platform builds with Docker\'s legacy builder';

/** All but the first 4 characters masked. */
export const maskSecret = (secret: string): string => `${secret.slice(0, 4)}${'*'.repeat(Math.max(4, Math.min(12, secret.length - 4)))}`;

const unquote = (value: string): string => (/^(["']).*\1$/s.test(value) ? value.slice(1, -1) : value);
const isVariableOnly = (value: string): boolean => value === '' || /^\$(\{[A-Za-z_][A-Za-z0-9_]*(:?[-=+?][^}]*)?\}|[A-Za-z_][A-Za-z0-9_]*)$/.test(value);

/**
 * A value assigned to a secret-named key that counts as a literal secret: 8+ characters, not a
 * variable reference, not a plain number or boolean, and not already one of the TOKEN_PATTERNS
 * (those are reported by the line scan).
 */
function looksSecret(literal: string): boolean {
  if (literal.length < 8 || literal.includes('$') || /^(\d+|true|false|yes|no|none|null)$/i.test(literal)) return false;
  return !TOKEN_PATTERNS.some(({ re }) => new RegExp(re.source).test(literal));
}

/** KEY=value pairs of ENV (both forms) and ARG instructions. */
function assignments(instruction: Instruction): { key: string; value: string | null }[] {
  const args = instruction.args;
  if (instruction.keyword === 'ARG') {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:=(.*))?$/s.exec(args);
    return m ? [{ key: m[1]!, value: m[2] === undefined ? null : unquote(m[2].trim()) }] : [];
  }
  if (!/^[A-Za-z_][A-Za-z0-9_.-]*=/.test(args)) {
    // legacy form: ENV KEY value with spaces
    const m = /^(\S+)\s+([\s\S]*)$/.exec(args);
    return m ? [{ key: m[1]!, value: unquote(m[2]!.trim()) }] : [];
  }
  const pairs: { key: string; value: string | null }[] = [];
  for (const m of args.matchAll(/([A-Za-z_][A-Za-z0-9_.-]*)=("(?:[^"\\]|\\.)*"|'[^']*'|(?:[^\s\\]|\\.)*)/g)) pairs.push({ key: m[1]!, value: unquote(m[2]!) });
  return pairs;
}

// ---------------------------------------------------------------------------------------------------
// Runtime downloads

const HUB_ID = /^[A-Za-z0-9][\w.-]*(\/[\w.-]+)?$/;
const MODEL_FILE = /\.(safetensors|bin|gguf|ggml|pt|pth|ckpt|onnx|h5|msgpack|tflite)(\?|\s|$|["'])/i;

/** What in `text` downloads model weights (and where it starts), or null. */
function weightDownload(text: string): { what: string; index: number } | null {
  const first = (re: RegExp, what: string) => {
    const m = re.exec(text);
    return m ? { what, index: m.index } : null;
  };
  const simple =
    first(/\b(huggingface-cli|hf)\s+download\b/, 'huggingface-cli download') ??
    first(/\bsnapshot_download\s*\(/, 'snapshot_download()') ??
    first(/\bhf_hub_download\s*\(/, 'hf_hub_download()');
  if (simple !== null) return simple;
  for (const m of text.matchAll(/\.from_pretrained\s*\(\s*(?:pretrained_model_name_or_path\s*=\s*)?(["'])([^"']+)\1/g)) {
    const id = m[2]!;
    if (!/^[./~]/.test(id) && !id.includes('$') && HUB_ID.test(id)) return { what: `from_pretrained("${id}")`, index: m.index };
  }
  for (const m of text.matchAll(/\b(wget|curl)\b([^;&|\n]*)/g)) {
    const rest = m[2]!;
    if (/huggingface\.co|hf\.co\//.test(rest) || MODEL_FILE.test(rest)) return { what: `${m[1]} of model files`, index: m.index };
  }
  return first(/\bgit\s+clone\b[^;&|\n]*huggingface\.co/, 'git clone of a huggingface.co repository');
}

const PINNED_REVISION = /(--revision[=\s]+|revision\s*=\s*["'])[0-9a-f]{40}\b/i;

// ---------------------------------------------------------------------------------------------------
// Linting

export type DockerfileRole = 'inference' | 'training';

export interface LintOptions {
  /** Name used in findings; default "Dockerfile". */
  file?: string;
  role?: DockerfileRole;
  /**
   * Reads a file of the build context (path relative to the submission directory, posix separators)
   * or returns null; used to lint requirements / constraints files a RUN references.
   */
  readContextFile?: (relativePath: string) => string | null;
}

interface CopyMapping {
  sources: string[];
  destination: string;
}

const posixJoin = (base: string, p: string): string => path.posix.normalize(p.startsWith('/') ? p : path.posix.join(base, p));

function globToRegExp(glob: string): RegExp {
  return new RegExp(`^${glob.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}$`);
}

/** Candidate context paths for a path used inside the image (see preflightSubmission). */
function contextCandidates(imagePath: string, workdir: string, copies: readonly CopyMapping[], mounts: readonly CopyMapping[]): string[] {
  const absolute = posixJoin(workdir, imagePath);
  const candidates: string[] = [];
  for (const mapping of [...mounts, ...[...copies].reverse()]) {
    const destination = mapping.destination.replace(/\/+$/, '') || '/';
    for (const source of mapping.sources) {
      const src = source.replace(/^\.\//, '').replace(/\/+$/, '');
      if (absolute === destination && mapping.sources.length === 1 && !mapping.destination.endsWith('/')) candidates.push(src);
      const prefix = destination === '/' ? '/' : `${destination}/`;
      if (absolute.startsWith(prefix)) {
        const rest = absolute.slice(prefix.length);
        if (src === '.' || src === '') candidates.push(rest);
        else if (src.includes('*') || src.includes('?')) {
          if (!rest.includes('/') && globToRegExp(path.posix.basename(src)).test(rest)) candidates.push(path.posix.join(path.posix.dirname(src), rest));
        } else if (path.posix.basename(src) === rest) candidates.push(src);
        else candidates.push(path.posix.join(src, rest)); // a copied directory
      }
    }
  }
  if (!imagePath.startsWith('/')) candidates.push(path.posix.normalize(imagePath));
  candidates.push(path.posix.basename(imagePath));
  return [...new Set(candidates.filter((c) => c !== '' && !c.startsWith('..')))];
}

const IMAGE_WITH_FLAGS = /^((?:--\S+\s+)*)(\S+)(?:\s+as\s+(\S+))?\s*$/i;

function substitute(text: string, vars: ReadonlyMap<string, string>): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (whole, braced: string | undefined, fallback: string | undefined, bare: string | undefined) => {
    const name = braced ?? bare ?? '';
    const value = vars.get(name);
    if (value !== undefined && value !== '') return value;
    return fallback ?? whole;
  });
}

/** Lints Dockerfile text; see the header for the rules. */
export function lintDockerfile(text: string, options: LintOptions = {}): Finding[] {
  const file = options.file ?? 'Dockerfile';
  const role = options.role ?? 'inference';
  const parsed = parseDockerfile(text);
  const findings: Finding[] = [];
  const add: AddFinding = (finding) => findings.push({ file, ...finding });

  // secrets with a recognizable shape, anywhere (comments too)
  const reported = new Set<string>();
  text.split(/\r?\n/).forEach((lineText, i) => {
    for (const { name, re } of TOKEN_PATTERNS) {
      for (const m of lineText.matchAll(re)) {
        const key = `${i}:${m[0]}`;
        if (reported.has(key)) continue;
        reported.add(key);
        add({
          severity: 'error',
          rule: 'secret',
          line: i + 1,
          message: `a ${name} (${maskSecret(m[0])}) is written in the Dockerfile; it ends up in the published submission and in the image`,
          fix: `revoke the token now, delete it from the file, and ${buildSecretFix('token')} (never ENV/ARG)`,
        });
      }
    }
  });

  const globalArgs = new Map<string, string>();
  const stageNames = new Set<string>();
  let seenFrom = false;
  let workdir = '/';
  let copies: CopyMapping[] = [];

  for (const instruction of parsed.instructions) {
    const { keyword } = instruction;
    if (keyword === 'ARG' && !seenFrom) {
      const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:=(.*))?$/s.exec(instruction.args);
      if (m) globalArgs.set(m[1]!, unquote((m[2] ?? '').trim()));
    }

    if (keyword === 'FROM') {
      seenFrom = true;
      workdir = '/';
      copies = [];
      const m = IMAGE_WITH_FLAGS.exec(instruction.args);
      if (m) {
        const image = substitute(m[2]!, globalArgs);
        const stage = m[3];
        checkBaseImage(image, stageNames, instruction, add);
        if (stage !== undefined) stageNames.add(stage.toLowerCase());
      }
      continue;
    }

    if (keyword === 'WORKDIR') {
      workdir = posixJoin(workdir, unquote(instruction.args));
      continue;
    }

    if (keyword === 'COPY' || keyword === 'ADD') {
      const parts = instruction.json ?? instruction.args.split(/\s+/);
      const flags = parts.filter((p) => p.startsWith('--'));
      const rest = parts.filter((p) => !p.startsWith('--'));
      if (rest.length >= 2 && !flags.some((f) => f.startsWith('--from'))) {
        copies.push({ sources: rest.slice(0, -1), destination: posixJoin(workdir, rest[rest.length - 1]!) });
      }
      if (keyword === 'ADD') checkAdd(rest.slice(0, -1), flags, instruction, add);
      continue;
    }

    if (keyword === 'ENV' || keyword === 'ARG') {
      for (const { key, value } of assignments(instruction)) {
        if (value !== null && !isVariableOnly(value)) {
          GENERIC_SECRET.lastIndex = 0;
          const generic = GENERIC_SECRET.exec(`${key}=${value}`);
          GENERIC_SECRET.lastIndex = 0; // a global regex: matchAll below clones it with its lastIndex
          const literal = generic ? unquote(generic[2]!) : '';
          if (generic && looksSecret(literal)) {
            add({
              severity: 'error',
              rule: 'secret',
              line: lineOf(instruction, key),
              message: `${keyword} ${key} holds what looks like a secret (${maskSecret(literal)}); ${keyword} values are stored in the image and its history`,
              fix: `remove it, revoke it if it is real, and ${buildSecretFix(key.toLowerCase())}`,
            });
          }
        } else if (SECRET_NAME.test(key) && key !== BUILD_SECRETS_ARG) {
          add({
            severity: 'warning',
            rule: 'secret-build-arg',
            line: lineOf(instruction, key),
            message: `${keyword} ${key} passes a secret through ${keyword === 'ARG' ? 'a build argument' : 'the environment'}; its value is recorded in the image metadata or history`,
            fix: `instead of ${keyword}, ${buildSecretFix(key.toLowerCase())}`,
          });
        }
      }
      continue;
    }

    if (keyword === 'RUN' || keyword === 'CMD' || keyword === 'ENTRYPOINT') {
      const { script, scriptOffset, mounts } = commandText(instruction, workdir);
      const lineAt = (index: number): number => (scriptOffset === null ? instruction.line : lineAtOffset(instruction, scriptOffset + index));
      if (keyword === 'RUN') {
        // a BuildKit secret mount: the legacy builder rejects RUN --mount, so the build would fail at this step
        const secretMount = scriptOffset === null ? null : /--mount=(?:\S*,)?type=secret\b(?:,id=([\w.-]+)|\S*)/.exec(instruction.text.slice(0, scriptOffset));
        if (secretMount) {
          add({
            severity: 'error',
            rule: 'secret',
            line: instruction.line,
            message: 'RUN --mount=type=secret needs BuildKit, but this platform builds with Docker\'s legacy builder, which rejects RUN --mount: the build would fail at this step',
            fix: buildSecretFix(secretMount[1] ?? '<name>'),
          });
        }
        lintRunScript(script, lineAt, { workdir, copies, mounts, readContextFile: options.readContextFile, add, file });
        // generic secret assignments in shell code (export HF_TOKEN=…)
        for (const m of script.matchAll(GENERIC_SECRET)) {
          const literal = unquote(m[2]!);
          if (!looksSecret(literal)) continue;
          add({
            severity: 'error',
            rule: 'secret',
            line: lineAt(m.index),
            message: `RUN sets ${m[1]} to what looks like a secret (${maskSecret(literal)}); it is stored in the image layer and the published Dockerfile`,
            fix: `remove it, revoke it if it is real, and ${buildSecretFix(m[1]!.toLowerCase())}`,
          });
        }
      }
      const download = weightDownload(script);
      if (download !== null) {
        if (keyword !== 'RUN') {
          add({
            severity: 'warning',
            rule: 'runtime-download',
            line: lineAt(download.index),
            message: `${keyword} fetches model weights at container start (${download.what}), but the ${role === 'training' ? 'training container runs with no network' : 'inference container has no internet (internal evaluation network)'}`,
            fix: 'download the weights in a RUN step at build time (pinned to a revision) or, for fine-tuned weights, load them from /artifacts',
          });
        } else if (!PINNED_REVISION.test(script)) {
          add({
            severity: 'warning',
            rule: 'runtime-download',
            line: lineAt(download.index),
            message: `RUN downloads model weights (${download.what}) without a pinned revision: the image changes whenever the hub repository does${role === 'inference' ? ', and the inference container cannot fetch anything later' : ''}`,
            fix: 'pin a commit: huggingface-cli download <repo> --revision <40-hex sha> (or revision="<sha>" in Python)',
          });
        }
      }
    }
  }
  // the Dockerfile's own findings by line, then those of each referenced file
  const rank = (f: Finding) => (f.file === file ? '' : f.file);
  return findings.sort((a, b) => rank(a).localeCompare(rank(b)) || a.line - b.line || (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1));
}

/** Records a finding; `file` defaults to the Dockerfile (requirements-file findings name their file). */
type AddFinding = (finding: Omit<Finding, 'file'> & { file?: string }) => void;

function checkBaseImage(image: string, stageNames: ReadonlySet<string>, instruction: Instruction, add: AddFinding): void {
  if (image.toLowerCase() === 'scratch' || stageNames.has(image.toLowerCase())) return;
  if (image.includes('$')) {
    add({
      severity: 'warning',
      rule: 'base-image-variable',
      line: instruction.line,
      message: `FROM ${image}: the image comes from a build argument without a default, so its tag cannot be checked`,
      fix: 'give the ARG a default with an exact tag (ARG BASE=image:1.2.3) or write the image directly',
    });
    return;
  }
  const [name = '', digest] = image.split('@');
  const lastSegment = name.slice(name.lastIndexOf('/') + 1);
  const tag = lastSegment.includes(':') ? lastSegment.slice(lastSegment.indexOf(':') + 1) : null;
  if (digest !== undefined && digest !== '') return;
  if (tag === null) {
    add({
      severity: 'error',
      rule: 'base-image-untagged',
      line: instruction.line,
      message: `FROM ${image} has no tag or digest, so it means ${image}:latest, whatever that is on build day`,
      fix: `name an exact tag or digest, e.g. FROM ${image}:<version> or FROM ${image}@sha256:<digest>`,
    });
  } else if (tag === 'latest') {
    add({
      severity: 'error',
      rule: 'base-image-latest',
      line: instruction.line,
      message: `FROM ${image}: "latest" moves; the build is not reproducible`,
      fix: `use an exact tag or a digest, e.g. FROM ${name}@sha256:<digest>`,
    });
  }
}

function checkAdd(sources: readonly string[], flags: readonly string[], instruction: Instruction, add: AddFinding): void {
  for (const source of sources) {
    const isGit = /^git@/.test(source) || /^https?:\/\/\S+\.git(#\S*)?$/.test(source);
    if (isGit) {
      const ref = source.includes('#') ? source.slice(source.indexOf('#') + 1).split(':')[0]! : '';
      if (!HEX40.test(ref)) {
        add({
          severity: 'warning',
          rule: 'add-url',
          line: lineOf(instruction, source),
          message: `ADD ${source} fetches a git repository at whatever commit the ref points to on build day`,
          fix: 'add #<40-hex commit> to the URL, or vendor the code into the submission',
        });
      }
    } else if (/^https?:\/\//i.test(source) && !flags.some((f) => f.startsWith('--checksum='))) {
      add({
        severity: 'warning',
        rule: 'add-url',
        line: lineOf(instruction, source),
        message: `ADD ${source} downloads at build time with no integrity check; the content can change or vanish`,
        fix: 'add --checksum=sha256:<hash>, or vendor the file into the submission and COPY it',
      });
    }
  }
}

/**
 * The shell text of RUN / CMD / ENTRYPOINT and where it starts in `instruction.text` (null for the
 * exec form, whose argv is joined with spaces and `sh -c` unwrapped), plus RUN bind mounts.
 */
function commandText(instruction: Instruction, workdir: string): { script: string; scriptOffset: number | null; mounts: CopyMapping[] } {
  const mounts: CopyMapping[] = [];
  if (instruction.json !== null) {
    const argv = instruction.json;
    const shell = argv.length >= 3 && /(^|\/)(ba|da|z)?sh$/.test(argv[0]!) && argv[1] === '-c';
    const script = shell ? argv.slice(2).join(' ') : argv.join(' ');
    return { script: instruction.heredocs.length > 0 ? `${script}\n${instruction.heredocs.join('\n')}` : script, scriptOffset: null, mounts };
  }
  let offset = 0;
  for (;;) {
    const flag = /^--(\w+)=(\S+)\s*/.exec(instruction.text.slice(offset));
    if (!flag) break;
    if (flag[1] === 'mount') {
      const fields = new Map(flag[2]!.split(',').map((kv) => [kv.split('=')[0]!, kv.split('=').slice(1).join('=')] as const));
      const type = fields.get('type') ?? 'bind';
      const target = fields.get('target') ?? fields.get('dst') ?? fields.get('destination');
      if (type === 'bind' && target !== undefined && !fields.has('from')) mounts.push({ sources: [fields.get('source') ?? fields.get('src') ?? '.'], destination: posixJoin(workdir, target) });
    }
    offset += flag[0].length;
  }
  return { script: instruction.text.slice(offset), scriptOffset: offset, mounts };
}

const WRAPPERS = new Set(['sudo', 'env', 'exec', 'time', 'nohup', 'command', 'stdbuf']);

/** Drops leading VAR=value assignments and wrapper commands. */
function commandWords(words: readonly Word[]): Word[] {
  let i = 0;
  while (i < words.length) {
    const w = words[i]!.text;
    if (/^[A-Za-z_][A-Za-z0-9_]*=/.test(w)) i++;
    else if (WRAPPERS.has(w)) {
      i++;
      while (i < words.length && words[i]!.text.startsWith('-')) i++;
    } else break;
  }
  return words.slice(i);
}

const basename = (w: string): string => w.slice(w.lastIndexOf('/') + 1);

interface RunContext {
  workdir: string;
  copies: readonly CopyMapping[];
  mounts: readonly CopyMapping[];
  readContextFile: ((relativePath: string) => string | null) | undefined;
  add: AddFinding;
  file: string;
}

/** The arguments after `pip install` (pip, pip3, python -m pip, uv pip), or null. */
function pipInstallArgs(words: readonly Word[]): Word[] | null {
  const texts = words.map((w) => w.text);
  let i = 0;
  const head = basename(texts[0] ?? '');
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

const NPM_INSTALL = ['install', 'i', 'add', 'isntall', 'in'];

function lintRunScript(script: string, lineAt: (index: number) => number, context: RunContext): void {
  const { add } = context;
  const commands = shellWords(script).map((command) => commandWords(command.map((w) => ({ text: w.text, line: lineAt(w.offset) }))));
  for (const words of commands) {
    if (words.length === 0) continue;
    const texts = words.map((w) => w.text);
    const pipArgs = pipInstallArgs(words);
    if (pipArgs !== null) {
      lintPipInstall(pipArgs, context);
      continue;
    }
    const head = basename(texts[0]!);
    const firstArgument = texts.find((w, k) => k > 0 && !w.startsWith('-')) ?? '';
    if ((head === 'npm' && NPM_INSTALL.includes(firstArgument)) || ((head === 'yarn' || head === 'pnpm') && (texts.includes('add') || texts.includes('install')))) {
      const sub = texts.findIndex((w, k) => k > 0 && NPM_INSTALL.includes(w));
      lintNpmInstall(words.slice(sub + 1), add, context.file);
      continue;
    }
    if ((head === 'apt-get' || head === 'apt' || head === 'aptitude') && texts.includes('install')) {
      const args = words.slice(texts.indexOf('install') + 1);
      const packages: Word[] = [];
      for (let k = 0; k < args.length; k++) {
        const w = args[k]!.text;
        if (w === '-o' || w === '-t' || w === '--target-release' || w === '--option') k++;
        else if (!w.startsWith('-') && !w.includes('$') && !w.includes('=') && !w.endsWith('.deb')) packages.push(args[k]!);
      }
      if (packages.length > 0) {
        add({
          severity: 'warning',
          rule: 'unpinned-apt',
          line: packages[0]!.line,
          message: `${head} install ${listNames(packages.map((p) => p.text))} without versions; Debian point releases change them`,
          fix: `pin with package=version (apt-cache policy ${packages[0]!.text} shows it), or accept it knowingly`,
        });
      }
      continue;
    }
    if (['conda', 'mamba', 'micromamba'].includes(head) && texts[1] === 'install') {
      const packages: Word[] = [];
      const args = words.slice(2);
      for (let k = 0; k < args.length; k++) {
        const w = args[k]!.text;
        if (['-c', '--channel', '-n', '--name', '-p', '--prefix', '--file'].includes(w)) k++;
        else if (!w.startsWith('-') && !w.includes('=') && !w.includes('$')) packages.push(args[k]!);
      }
      if (packages.length > 0) {
        add({
          severity: 'warning',
          rule: 'unpinned-conda',
          line: packages[0]!.line,
          message: `${head} install ${listNames(packages.map((p) => p.text))} without versions`,
          fix: `pin with name=version (or name==version=build), e.g. ${packages[0]!.text}=<version>`,
        });
      }
      continue;
    }
  }
  // git clone without checking out a commit, anywhere in this RUN
  const isGit = (command: readonly Word[]) => basename(command[0]?.text ?? '') === 'git';
  const clone = commands.find((command) => isGit(command) && command.some((w) => w.text === 'clone'));
  if (clone !== undefined) {
    const pinned = commands.some((command) => isGit(command) && command.some((w) => ['checkout', 'reset', 'switch'].includes(w.text)) && command.some((w) => HEX40.test(w.text)));
    const url = clone.find((w) => /:\/\/|^git@/.test(w.text))?.text ?? 'a repository';
    if (!pinned && !/huggingface\.co/.test(url)) {
      add({
        severity: 'warning',
        rule: 'unpinned-git',
        line: clone[0]!.line,
        message: `git clone ${url} builds whatever the default branch holds on build day`,
        fix: 'after the clone, git -C <dir> checkout <40-hex commit sha> in the same RUN',
      });
    }
  }
}

const listNames = (names: readonly string[]): string => (names.length <= 5 ? names.join(', ') : `${names.slice(0, 5).join(', ')} and ${names.length - 5} more`);

function lintPipInstall(args: readonly Word[], context: RunContext): void {
  const { add, file } = context;
  const install = parsePipArgs(args);
  if (install.upgrade !== null) {
    add({
      severity: 'warning',
      rule: 'pip-upgrade',
      line: install.upgrade.line,
      message: 'pip install --upgrade takes the newest release available on build day',
      fix: 'drop --upgrade and pin exact versions (==)',
    });
  }
  const readReferenced = (p: string): { file: string; text: string } | null => {
    if (context.readContextFile === undefined) return null;
    for (const candidate of contextCandidates(p, context.workdir, context.copies, context.mounts)) {
      const text = context.readContextFile(candidate);
      if (text !== null) return { file: candidate, text };
    }
    return null;
  };
  const unreadable = (p: string, line: number, kind: string) =>
    add({
      severity: 'warning',
      rule: 'requirements-unreadable',
      line,
      message: `the ${kind} file ${p} is not in the submission (or not COPY'd from it), so its pins cannot be checked`,
      fix: `add ${path.posix.basename(p)} to the submission and COPY it before this RUN`,
    });

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
      const lint = lintRequirementLines(found.text, found.file, null);
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
    if (verdict.kind === 'git-unpinned') add(gitFinding(file, editable.line, verdict.url, '@'));
  }
  for (const spec of install.packages) {
    const verdict = pipRequirementVerdict(spec.text);
    if (verdict.kind === 'git-unpinned') add(gitFinding(file, spec.line, verdict.url, '@'));
    else if (verdict.kind === 'unpinned' && !(constraints.pinned?.has(normalizePackageName(verdict.name)) ?? false)) {
      add(unpinnedPipFinding(file, spec.line, verdict.name, verdict.spec, constraints.unreadable));
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
      const lint = lintRequirementLines(found.text, found.file, constraints.pinned);
      for (const f of lint.findings) {
        if (constraints.unreadable && f.rule === 'unpinned-pip') f.severity = 'warning';
        add(f);
      }
      lintFiles(lint.nestedRequirements.map((nested) => ({ text: path.posix.join(path.posix.dirname(p.text), nested), line: p.line })));
    }
  };
  lintFiles(install.requirements);
}

function lintNpmInstall(args: readonly Word[], add: AddFinding, file: string): void {
  const unpinned: Word[] = [];
  for (let k = 0; k < args.length; k++) {
    const w = args[k]!.text;
    if (w.startsWith('-')) {
      if (NPM_VALUE_OPTIONS.has(w)) k++;
      continue;
    }
    const verdict = npmVerdict(w);
    if (verdict.kind === 'git-unpinned') add(gitFinding(file, args[k]!.line, verdict.url, '#'));
    else if (verdict.kind === 'unpinned') unpinned.push(args[k]!);
  }
  if (unpinned.length > 0) {
    const first = unpinned[0]!.text;
    add({
      severity: 'error',
      rule: 'unpinned-npm',
      line: unpinned[0]!.line,
      message: `npm installs ${listNames(unpinned.map((u) => u.text))} without an exact version`,
      fix: `pin exact versions (${first.replace(/(.)@[^@]*$/, '$1')}@<x.y.z>), or commit package-lock.json and run npm ci`,
    });
  }
}

// ---------------------------------------------------------------------------------------------------
// Submission

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

function resultOf(findings: Finding[]): PreflightResult {
  const errors = findings.filter((f) => f.severity === 'error');
  return { ok: errors.length === 0, errors, warnings: findings.filter((f) => f.severity === 'warning'), findings };
}

/**
 * Lints `Dockerfile` and `Dockerfile.train` of a submission directory, and the requirements /
 * constraints files their RUN steps reference (`pip install -r <path>`). A path inside the image is
 * traced back to the build context through earlier COPY / ADD instructions (and RUN bind mounts),
 * then tried relative to the directory, then by file name; files outside the directory are never read.
 */
export function preflightSubmission(dir: string): PreflightResult {
  const root = path.resolve(dir);
  const readContextFile = (relativePath: string): string | null => {
    const resolved = path.resolve(root, relativePath);
    if (resolved !== root && !resolved.startsWith(root + path.sep)) return null;
    try {
      return existsSync(resolved) && statSync(resolved).isFile() ? readFileSync(resolved, 'utf8') : null;
    } catch {
      return null;
    }
  };
  const findings: Finding[] = [];
  for (const { file, role } of PREFLIGHT_DOCKERFILES) {
    const text = readContextFile(file);
    if (text === null) {
      findings.push({ severity: 'error', rule: 'missing-dockerfile', file, line: 0, message: `${file} is missing from ${root}`, fix: `add ${file} at the top of the submission directory` });
      continue;
    }
    findings.push(...lintDockerfile(text, { file, role, readContextFile }));
  }
  return resultOf(findings);
}

/** Same result shape for text already in memory (e.g. a web upload). */
export function preflightTexts(files: { dockerfile: string | null; trainDockerfile: string | null; readContextFile?: (relativePath: string) => string | null }): PreflightResult {
  const findings: Finding[] = [];
  const texts = [files.dockerfile, files.trainDockerfile];
  PREFLIGHT_DOCKERFILES.forEach(({ file, role }, i) => {
    const text = texts[i] ?? null;
    if (text === null) findings.push({ severity: 'error', rule: 'missing-dockerfile', file, line: 0, message: `${file} is missing`, fix: `add ${file} to the submission` });
    else findings.push(...lintDockerfile(text, { file, role, ...(files.readContextFile ? { readContextFile: files.readContextFile } : {}) }));
  });
  return resultOf(findings);
}

/** Plain text for the CLI. */
export function renderPreflight(result: PreflightResult): string {
  const lines = result.findings.map((f) => `${f.file}${f.line > 0 ? `:${f.line}` : ''}: ${f.severity} [${f.rule}] ${f.message}\n    fix: ${f.fix}`);
  const summary = `preflight: ${result.errors.length} error${result.errors.length === 1 ? '' : 's'}, ${result.warnings.length} warning${result.warnings.length === 1 ? '' : 's'}${result.ok ? ' — ok to build' : ' — fix the errors before building'}`;
  return [...lines, summary].join('\n');
}
