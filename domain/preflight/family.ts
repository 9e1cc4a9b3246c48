/**
 * What a rule module (rules/*.ts) sees and how it reports: lint.ts walks the Dockerfile once, keeps
 * the state of the current build stage, and hands every module each instruction with that state.
 */
import type { CopyMapping } from './build-context.js';
import type { Instruction } from './parse.js';
import type { FindingDraft, RuleFamily } from './rules.js';
import type { Word } from './shell.js';

export type DockerfileRole = 'inference' | 'training';

/** Reads a file of the build context (path relative to the submission, posix separators), or null. */
export type ReadContextFile = (relativePath: string) => string | null;

export type Report = (finding: FindingDraft) => void;

/** The shell text of a RUN / CMD / ENTRYPOINT, split into simple commands. */
export interface CommandView {
  /** Shell form: the text after the flags, here-documents included; exec form: the argv joined (sh -c unwrapped). */
  script: string;
  /** The Dockerfile line of the character at `index` of `script` (the instruction's line for the exec form). */
  lineAt(index: number): number;
  /** Simple commands, assignments and wrappers (sudo, env) dropped: commands[i][0] is the program. */
  commands: Word[][];
  /** RUN --mount=type=bind: context paths visible inside this RUN. */
  mounts: CopyMapping[];
}

export interface InstructionContext {
  file: string;
  role: DockerfileRole;
  /** WORKDIR in effect, inside the image. */
  workdir: string;
  /** COPY / ADD from the build context earlier in this stage. */
  copies: readonly CopyMapping[];
  /** ARG defaults declared before the first FROM (what FROM can expand). */
  globalArgs: ReadonlyMap<string, string>;
  /** Names of earlier build stages, lower case. */
  stageNames: ReadonlySet<string>;
  readContextFile: ReadContextFile | undefined;
  /** RUN / CMD / ENTRYPOINT only. */
  command: CommandView | null;
}

export interface RuleModule {
  family: RuleFamily;
  /** Checks on the raw text (tokens in comments, say). */
  checkText?(text: string, report: Report): void;
  checkInstruction?(instruction: Instruction, context: InstructionContext, report: Report): void;
}
