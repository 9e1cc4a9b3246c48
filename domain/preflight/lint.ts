/**
 * lintDockerfile: walks a Dockerfile once, keeps the state of the current build stage (WORKDIR, what
 * was copied from the context, the ARG defaults FROM can expand, earlier stage names) and hands each
 * instruction to every rule module. Pure: files of the build context come through `readContextFile`.
 */
import { posixJoin, type CopyMapping } from './build-context.js';
import type { CommandView, DockerfileRole, InstructionContext, ReadContextFile, RuleModule } from './family.js';
import { lineAtOffset, parseDockerfile, type Instruction } from './parse.js';
import type { Finding, FindingDraft } from './rules.js';
import { baseImageRules } from './rules/base-image.js';
import { buildkitRules } from './rules/buildkit.js';
import { downloadRules } from './rules/downloads.js';
import { packageRules } from './rules/packages.js';
import { secretRules } from './rules/secrets.js';
import { commandWords, shellWords } from './shell.js';

/** In this order: findings on one line keep it (secrets first, as the most urgent). */
export const RULE_MODULES: readonly RuleModule[] = [secretRules, baseImageRules, buildkitRules, packageRules, downloadRules];

export interface LintOptions {
  /** Name used in findings; default "Dockerfile". */
  file?: string;
  role?: DockerfileRole;
  /** Used to lint the requirements / constraints files a RUN references. */
  readContextFile?: ReadContextFile;
}

const unquote = (value: string): string => (/^(["']).*\1$/s.test(value) ? value.slice(1, -1) : value);

/**
 * The shell text of RUN / CMD / ENTRYPOINT. The exec form's argv is joined with spaces (`sh -c` unwrapped)
 * and reported on the instruction's first line; the shell form's lines are tracked word by word.
 */
function commandView(instruction: Instruction, workdir: string): CommandView {
  let script: string;
  let lineAt: (index: number) => number;
  const mounts: CopyMapping[] = [];
  if (instruction.json !== null) {
    const argv = instruction.json;
    const viaShell = argv.length >= 3 && /(^|\/)(ba|da|z)?sh$/.test(argv[0]!) && argv[1] === '-c';
    const joined = viaShell ? argv.slice(2).join(' ') : argv.join(' ');
    script = instruction.heredocs.length > 0 ? `${joined}\n${instruction.heredocs.join('\n')}` : joined;
    lineAt = () => instruction.line;
  } else {
    script = instruction.text.slice(instruction.commandOffset);
    lineAt = (index) => lineAtOffset(instruction, instruction.commandOffset + index);
    for (const flag of instruction.flags) {
      const options = flag.options;
      const target = options.get('target') ?? options.get('dst') ?? options.get('destination');
      if (flag.name !== 'mount' || (options.get('type') ?? 'bind') !== 'bind' || target === undefined || options.has('from')) continue;
      mounts.push({ sources: [options.get('source') ?? options.get('src') ?? '.'], destination: posixJoin(workdir, target) });
    }
  }
  const commands = shellWords(script).map((command) => commandWords(command.map((w) => ({ text: w.text, line: lineAt(w.offset) }))));
  return { script, lineAt, commands, mounts };
}

/** Lints Dockerfile text with every rule module (rules.ts lists the rules). */
export function lintDockerfile(text: string, options: LintOptions = {}): Finding[] {
  const file = options.file ?? 'Dockerfile';
  const findings: Finding[] = [];
  const report = (draft: FindingDraft) => findings.push({ ...draft, file: draft.file ?? file });
  for (const module of RULE_MODULES) module.checkText?.(text, report);

  const globalArgs = new Map<string, string>();
  const stageNames = new Set<string>();
  let seenFrom = false;
  let workdir = '/';
  let copies: CopyMapping[] = [];
  for (const instruction of parseDockerfile(text).instructions) {
    const { keyword } = instruction;
    const runs = keyword === 'RUN' || keyword === 'CMD' || keyword === 'ENTRYPOINT';
    const context: InstructionContext = {
      file,
      role: options.role ?? 'inference',
      workdir,
      copies,
      globalArgs,
      stageNames,
      readContextFile: options.readContextFile,
      command: runs ? commandView(instruction, workdir) : null,
    };
    for (const module of RULE_MODULES) module.checkInstruction?.(instruction, context, report);

    // the stage state the next instruction sees
    if (keyword === 'ARG' && !seenFrom) for (const { key, value } of instruction.assignments) globalArgs.set(key, value ?? '');
    else if (keyword === 'FROM') {
      seenFrom = true;
      workdir = '/';
      copies = [];
      const stage = instruction.from?.stage;
      if (stage !== undefined && stage !== null) stageNames.add(stage.toLowerCase());
    } else if (keyword === 'WORKDIR') workdir = posixJoin(workdir, unquote(instruction.args));
    else if (keyword === 'COPY' || keyword === 'ADD') {
      const paths = (instruction.json ?? instruction.args.split(/\s+/)).filter((part) => !part.startsWith('--'));
      if (paths.length >= 2 && !instruction.flags.some((flag) => flag.name === 'from')) {
        copies = [...copies, { sources: paths.slice(0, -1), destination: posixJoin(workdir, paths[paths.length - 1]!) }];
      }
    }
  }
  // the Dockerfile's own findings by line, then those of each referenced file
  const rank = (f: Finding) => (f.file === file ? '' : f.file);
  return findings.sort((a, b) => rank(a).localeCompare(rank(b)) || a.line - b.line || (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1));
}
