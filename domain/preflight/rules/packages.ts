/**
 * The pins family on RUN: pip (rules/pip.ts), npm / yarn / pnpm, apt, conda, and git clone without a
 * commit checked out.
 */
import type { Report, RuleModule } from '../family.js';
import { FULL_COMMIT, npmVerdict, pipInstallArguments } from '../package-specs.js';
import { finding } from '../rules.js';
import { programName, type Word } from '../shell.js';
import { checkPipInstall, unpinnedGitFinding } from './pip.js';

const NPM_INSTALL = ['install', 'i', 'add', 'isntall', 'in'];
const NPM_VALUE_OPTIONS = new Set([
  '--registry',
  '--prefix',
  '--cache',
  '--tag',
  '--userconfig',
  '--workspace',
  '-w',
  '--omit',
  '--include',
  '--loglevel',
  '--network-timeout',
  '--modules-folder',
  '--filter',
  '--dir',
  '-C',
]);

const listNames = (names: readonly string[]): string => (names.length <= 5 ? names.join(', ') : `${names.slice(0, 5).join(', ')} and ${names.length - 5} more`);

function checkNpmInstall(args: readonly Word[], report: Report): void {
  const unpinned: Word[] = [];
  for (let k = 0; k < args.length; k++) {
    const w = args[k]!.text;
    if (w.startsWith('-')) {
      if (NPM_VALUE_OPTIONS.has(w)) k++;
      continue;
    }
    const verdict = npmVerdict(w);
    if (verdict.kind === 'git-unpinned') report(unpinnedGitFinding(args[k]!.line, verdict.url, '#'));
    else if (verdict.kind === 'unpinned') unpinned.push(args[k]!);
  }
  if (unpinned.length === 0) return;
  const first = unpinned[0]!.text;
  report(
    finding('unpinned-npm', unpinned[0]!.line, {
      message: `npm installs ${listNames(unpinned.map((u) => u.text))} without an exact version`,
      fix: `pin exact versions (${first.replace(/(.)@[^@]*$/, '$1')}@<x.y.z>), or commit package-lock.json and run npm ci`,
    }),
  );
}

function checkAptInstall(program: string, args: readonly Word[], report: Report): void {
  const packages: Word[] = [];
  for (let k = 0; k < args.length; k++) {
    const w = args[k]!.text;
    if (w === '-o' || w === '-t' || w === '--target-release' || w === '--option') k++;
    else if (!w.startsWith('-') && !w.includes('$') && !w.includes('=') && !w.endsWith('.deb')) packages.push(args[k]!);
  }
  if (packages.length === 0) return;
  report(
    finding('unpinned-apt', packages[0]!.line, {
      message: `${program} install ${listNames(packages.map((p) => p.text))} without versions; Debian point releases change them`,
      fix: `pin with package=version (apt-cache policy ${packages[0]!.text} shows it), or accept it knowingly`,
    }),
  );
}

function checkCondaInstall(program: string, args: readonly Word[], report: Report): void {
  const packages: Word[] = [];
  for (let k = 0; k < args.length; k++) {
    const w = args[k]!.text;
    if (['-c', '--channel', '-n', '--name', '-p', '--prefix', '--file'].includes(w)) k++;
    else if (!w.startsWith('-') && !w.includes('=') && !w.includes('$')) packages.push(args[k]!);
  }
  if (packages.length === 0) return;
  report(
    finding('unpinned-conda', packages[0]!.line, {
      message: `${program} install ${listNames(packages.map((p) => p.text))} without versions`,
      fix: `pin with name=version (or name==version=build), e.g. ${packages[0]!.text}=<version>`,
    }),
  );
}

/** A git clone in this RUN without a checkout / reset / switch to a 40-hex commit in the same RUN. */
function checkGitClone(commands: readonly Word[][], report: Report): void {
  const isGit = (command: readonly Word[]) => programName(command[0]?.text ?? '') === 'git';
  const clone = commands.find((command) => isGit(command) && command.some((w) => w.text === 'clone'));
  if (clone === undefined) return;
  const pinned = commands.some(
    (command) => isGit(command) && command.some((w) => ['checkout', 'reset', 'switch'].includes(w.text)) && command.some((w) => FULL_COMMIT.test(w.text)),
  );
  const url = clone.find((w) => /:\/\/|^git@/.test(w.text))?.text ?? 'a repository';
  if (pinned || /huggingface\.co/.test(url)) return; // a hub clone is the downloads family's
  report(
    finding('unpinned-git', clone[0]!.line, {
      lenient: true,
      message: `git clone ${url} builds whatever the default branch holds on build day`,
      fix: 'after the clone, git -C <dir> checkout <40-hex commit sha> in the same RUN',
    }),
  );
}

export const packageRules: RuleModule = {
  family: 'pins',
  checkInstruction(instruction, context, report) {
    if (instruction.keyword !== 'RUN' || context.command === null) return;
    const { commands, mounts } = context.command;
    for (const words of commands) {
      if (words.length === 0) continue;
      const texts = words.map((w) => w.text);
      const pipArgs = pipInstallArguments(words);
      if (pipArgs !== null) {
        checkPipInstall(pipArgs, { workdir: context.workdir, copies: context.copies, mounts, readContextFile: context.readContextFile }, report);
        continue;
      }
      const program = programName(texts[0]!);
      const firstArgument = texts.find((w, k) => k > 0 && !w.startsWith('-')) ?? '';
      if (
        (program === 'npm' && NPM_INSTALL.includes(firstArgument)) ||
        ((program === 'yarn' || program === 'pnpm') && (texts.includes('add') || texts.includes('install')))
      ) {
        const sub = texts.findIndex((w, k) => k > 0 && NPM_INSTALL.includes(w));
        checkNpmInstall(words.slice(sub + 1), report);
      } else if ((program === 'apt-get' || program === 'apt' || program === 'aptitude') && texts.includes('install')) {
        checkAptInstall(program, words.slice(texts.indexOf('install') + 1), report);
      } else if (['conda', 'mamba', 'micromamba'].includes(program) && texts[1] === 'install') {
        checkCondaInstall(program, words.slice(2), report);
      }
    }
    checkGitClone(commands, report);
  },
};
