/**
 * Dockerfile text → instructions, following the Dockerfile reference. `dockerfile-ast` finds the
 * instructions (the `# escape=` directive, line continuations, comment and empty lines inside them,
 * here-documents, CRLF), their flags, the image and stage of FROM and the assignments of ARG / ENV
 * (quotes and escapes removed). Two things stay hand-written because the library gets them wrong for
 * this use:
 *  - the joined argument text that the shell lexer reads, with a map back to physical lines: the
 *    library's getArgumentsContent keeps an indented comment line inside a continuation as text;
 *  - the exec (JSON-array) form: Docker decodes it with a JSON parser, while the library mis-decodes
 *    escapes (`\"`, `\u0041`) and accepts a half array (`["a", 1]`).
 */
import { Add, Copy, DockerfileParser, Env, From, Arg, Run, type Heredoc, type Instruction as AstInstruction } from 'dockerfile-ast';

/** A flag before the arguments: `--mount=type=bind,…` → { name: 'mount', value: 'type=bind,…' }. */
export interface InstructionFlag {
  name: string;
  /** null for a flag written without `=` (COPY --link). */
  value: string | null;
  /** The key=value options of a flag like --mount (type → bind, source → …). */
  options: ReadonlyMap<string, string>;
  line: number;
}

/** A physical line of an instruction: `offset` is where its content (from `column` on) starts in `text`. */
export interface Segment {
  line: number;
  text: string;
  offset: number;
  column: number;
}

export interface Instruction {
  /** Upper-case keyword: FROM, RUN, ENV, … */
  keyword: string;
  /** Arguments, flags included, with continuations joined (escape + newline removed) and comment lines dropped. */
  args: string;
  /** Exec (JSON-array) form, when the arguments are a JSON array of strings. */
  json: string[] | null;
  /** Here-document bodies, in order. */
  heredocs: string[];
  /** 1-based first and last line (the last here-document delimiter included). */
  line: number;
  endLine: number;
  /** `args` followed by "\n" + each here-document body: the text shell analysis reads. */
  text: string;
  /** Where the command starts in `text`, after the flags (RUN --mount=… <command>). */
  commandOffset: number;
  flags: InstructionFlag[];
  /** ARG / ENV: name and value (quotes removed); null for an ARG without a default. */
  assignments: { key: string; value: string | null }[];
  /** FROM: the image as written (variables not expanded) and the stage name. */
  from: { image: string; stage: string | null } | null;
  segments: Segment[];
}

export interface ParsedDockerfile {
  escape: string;
  instructions: Instruction[];
}

/** Split like the library's text document, so that its line numbers and ours agree. */
const splitLines = (text: string): string[] => text.split(/\r\n|\r|\n/);

/**
 * The library declares getHeredocs public on RUN and COPY only; ADD has the same method (it is defined
 * on every instruction, protected in the typings) and BuildKit accepts `ADD <<EOF`.
 */
function heredocsOf(instruction: AstInstruction): Heredoc[] {
  if (instruction instanceof Run || instruction instanceof Copy) return instruction.getHeredocs();
  if (instruction instanceof Add) return (instruction as unknown as { getHeredocs(): Heredoc[] }).getHeredocs();
  return [];
}

function flagsOf(instruction: AstInstruction): InstructionFlag[] {
  if (!(instruction instanceof Run || instruction instanceof Copy || instruction instanceof Add || instruction instanceof From)) return [];
  return instruction.getFlags().map((flag) => ({
    name: flag.getName(),
    value: flag.getValue(),
    options: new Map(flag.getOptions().map((option) => [option.getName(), option.getValue() ?? ''] as const)),
    line: flag.getRange().start.line + 1,
  }));
}

function assignmentsOf(instruction: AstInstruction): { key: string; value: string | null }[] {
  if (instruction instanceof Arg || instruction instanceof Env) return instruction.getProperties().map((p) => ({ key: p.getName(), value: p.getValue() }));
  return [];
}

function execForm(args: string): string[] | null {
  if (!args.startsWith('[')) return null;
  try {
    const parsed: unknown = JSON.parse(args);
    return Array.isArray(parsed) && parsed.every((part): part is string => typeof part === 'string') ? parsed : null;
  } catch {
    return null;
  }
}

/** The offset in `text` of a 1-based line and 0-based column, or null when that line is not part of it. */
function offsetAt(segments: readonly Segment[], line: number, column: number): number | null {
  const segment = segments.find((s) => s.line === line);
  return segment === undefined ? null : segment.offset + column - segment.column;
}

function toInstruction(node: AstInstruction, lines: readonly string[], escape: string): Instruction {
  const range = node.getRange();
  const heredocs = heredocsOf(node);
  const firstLine = range.start.line;
  // the command ends on the line that opens the first here-document; the bodies follow it
  const lastCommandLine = heredocs.length > 0 ? heredocs[0]!.getStartRange().start.line : range.end.line;
  const segments: Segment[] = [];
  let joined = '';
  for (let n = firstLine; n <= lastCommandLine; n++) {
    const raw = lines[n] ?? '';
    if (n > firstLine && (raw.trim() === '' || raw.trimStart().startsWith('#'))) continue; // Docker drops these inside a continuation
    const trimmedEnd = raw.replace(/\s+$/, '');
    const part = trimmedEnd.endsWith(escape) ? trimmedEnd.slice(0, -escape.length) : raw;
    if (joined !== '') joined += ' ';
    segments.push({ line: n + 1, text: part, offset: joined.length, column: part.length - part.trimStart().length });
    joined += part.trim();
  }
  const head = /^(\S+)(\s*)([\s\S]*)$/.exec(joined);
  const argsStart = (head?.[1] ?? '').length + (head?.[2] ?? '').length;
  for (const segment of segments) segment.offset -= argsStart;
  const args = (head?.[3] ?? '').trim();

  let text = args;
  const bodies: string[] = [];
  for (const heredoc of heredocs) {
    const opener = heredoc.getStartRange();
    const stripTabs = (lines[opener.start.line] ?? '').slice(opener.start.character).startsWith('<<-');
    const content = heredoc.getContentRange();
    const body: string[] = [];
    if (content !== null) {
      for (let n = content.start.line; n <= content.end.line; n++) {
        const raw = lines[n] ?? '';
        const bodyLine = stripTabs ? raw.replace(/^\t+/, '') : raw;
        text += '\n';
        segments.push({ line: n + 1, text: raw, offset: text.length, column: raw.length - bodyLine.length });
        text += bodyLine;
        body.push(bodyLine);
      }
    }
    bodies.push(body.join('\n'));
  }

  let commandOffset = 0;
  const flags = flagsOf(node);
  if (flags.length > 0) {
    const first = node.getArguments()[0];
    commandOffset = first === undefined ? args.length : (offsetAt(segments, first.getRange().start.line + 1, first.getRange().start.character) ?? 0);
  }
  const image = node instanceof From ? node.getImage() : null;
  return {
    keyword: node.getKeyword().toUpperCase(),
    args,
    json: execForm(args),
    heredocs: bodies,
    line: firstLine + 1,
    endLine: range.end.line + 1,
    text,
    commandOffset,
    flags,
    assignments: assignmentsOf(node),
    from: node instanceof From && image !== null ? { image, stage: node.getBuildStage() } : null,
    segments,
  };
}

export function parseDockerfile(text: string): ParsedDockerfile {
  const document = DockerfileParser.parse(text);
  const escape = document.getEscapeCharacter();
  const lines = splitLines(text);
  return { escape, instructions: document.getInstructions().map((node) => toInstruction(node, lines, escape)) };
}

/** Line of the first physical line of `instruction` that contains `needle`, else its first line. */
export function lineOf(instruction: Instruction, needle: string): number {
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
