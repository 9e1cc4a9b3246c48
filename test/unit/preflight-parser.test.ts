// The Dockerfile parser on the inputs that trip parsers up: continuations with comments and blank lines
// inside, the escape directive (and when it is not one), exec vs shell form, ARG before FROM, multi-stage,
// here-documents, flags, CRLF. Expectations follow the Dockerfile reference.
import { describe, expect, it } from '@jest/globals';
import { lineAtOffset, parseDockerfile, type Instruction } from '../../domain/preflight/parse.js';

const summary = (instructions: readonly Instruction[]) => instructions.map((i) => `${i.keyword} ${i.line}-${i.endLine}: ${i.args}`);

describe('continuations', () => {
  it('joins lines, drops comment and blank lines inside a continuation, keeps # inside a line', () => {
    const parsed = parseDockerfile(
      [
        'FROM python:3.11-slim',
        'RUN apt-get update && \\',
        '    # why the next line',
        '',
        '    echo "a # b" \\',
        '  # another',
        '    && true',
        'CMD true',
      ].join('\n'),
    );
    expect(summary(parsed.instructions)).toEqual(['FROM 1-1: python:3.11-slim', 'RUN 2-7: apt-get update && echo "a # b" && true', 'CMD 8-8: true']);
  });

  it('maps every word of the joined text back to its physical line', () => {
    const run = parseDockerfile('FROM x:1\nRUN pip install \\\n  # pinned below\n  peft==0.6.0 \\\n  transformers\n').instructions[1]!;
    expect(lineAtOffset(run, run.text.indexOf('pip'))).toBe(2);
    expect(lineAtOffset(run, run.text.indexOf('peft'))).toBe(4);
    expect(lineAtOffset(run, run.text.indexOf('transformers'))).toBe(5);
  });

  it('reads CRLF files and lower-case keywords, and a trailing escape at the end of the file', () => {
    const parsed = parseDockerfile('FROM x:1\r\nrun a \\\r\n  # c\r\n\r\n  b\r\nRUN last \\');
    expect(summary(parsed.instructions)).toEqual(['FROM 1-1: x:1', 'RUN 2-5: a b', 'RUN 6-6: last']);
  });
});

describe('the escape directive', () => {
  it('switches the escape character to a backtick, so a backslash is literal', () => {
    const parsed = parseDockerfile(['# escape=`', '', 'FROM mcr.microsoft.com/windows/servercore:ltsc2022', 'RUN dir `', '    c:\\'].join('\n'));
    expect(parsed.escape).toBe('`');
    expect(summary(parsed.instructions)).toEqual(['FROM 3-3: mcr.microsoft.com/windows/servercore:ltsc2022', 'RUN 4-5: dir c:\\']);
  });

  it('is only a directive before any comment, blank line or instruction', () => {
    const parsed = parseDockerfile(['# a comment first', '# escape=`', 'FROM x:1', 'RUN a `', ' b'].join('\n'));
    expect(parsed.escape).toBe('\\');
    expect(parsed.instructions.map((i) => i.keyword)).toEqual(['FROM', 'RUN', 'B']);
  });
});

describe('exec and shell form', () => {
  it('decodes the exec form as JSON, escapes included', () => {
    const parsed = parseDockerfile('FROM x:1\nCMD [ "python3" , "-c", "print(\\"hi\\u0021\\")" ]\nENTRYPOINT ["serve"]');
    expect(parsed.instructions[1]!.json).toEqual(['python3', '-c', 'print("hi!")']);
    expect(parsed.instructions[2]!.json).toEqual(['serve']);
  });

  it('falls back to the shell form when the array is not JSON of strings', () => {
    const parsed = parseDockerfile('FROM x:1\nCMD ["a", 1]\nCMD [not json\nCMD python3 server.py');
    expect(parsed.instructions.slice(1).map((i) => i.json)).toEqual([null, null, null]);
  });
});

describe('stages and arguments', () => {
  it('reads ARG before FROM (several per line, with and without defaults) and leaves FROM unexpanded', () => {
    const parsed = parseDockerfile('ARG A=1 B="two words"\nARG C\nFROM img:${A} AS Build\nFROM build\n');
    expect(parsed.instructions[0]!.assignments).toEqual([
      { key: 'A', value: '1' },
      { key: 'B', value: 'two words' },
    ]);
    expect(parsed.instructions[1]!.assignments).toEqual([{ key: 'C', value: null }]);
    expect(parsed.instructions[2]!.from).toEqual({ image: 'img:${A}', stage: 'Build' });
    expect(parsed.instructions[3]!.from).toEqual({ image: 'build', stage: null });
  });

  it('reads ENV in both forms', () => {
    const parsed = parseDockerfile('FROM x:1\nENV A="x y" B=\'q\' C=a\\ b\nENV LEGACY value with spaces');
    expect(parsed.instructions[1]!.assignments.map((a) => `${a.key}=${a.value}`)).toEqual(['A=x y', 'B=q', 'C=a b']);
    expect(parsed.instructions[2]!.assignments).toEqual([{ key: 'LEGACY', value: 'value with spaces' }]);
  });

  it('reads flags of a multi-stage COPY and of FROM', () => {
    const parsed = parseDockerfile(
      'FROM --platform=linux/amd64 python:3.11 AS builder\nFROM python:3.11-slim\nCOPY --from=builder --chown=1000:1000 /venv /venv',
    );
    expect(parsed.instructions[0]!.flags.map((f) => [f.name, f.value])).toEqual([['platform', 'linux/amd64']]);
    expect(parsed.instructions[0]!.from).toEqual({ image: 'python:3.11', stage: 'builder' });
    expect(parsed.instructions[2]!.flags.map((f) => [f.name, f.value])).toEqual([
      ['from', 'builder'],
      ['chown', '1000:1000'],
    ]);
  });

  it('splits RUN flags from the command, options and lines included', () => {
    const run = parseDockerfile('FROM x:1\nRUN --mount=type=cache,target=/root/.cache \\\n    --network=none \\\n    pip install \\\n      einops')
      .instructions[1]!;
    expect(run.flags.map((f) => [f.name, f.line, [...f.options]])).toEqual([
      [
        'mount',
        2,
        [
          ['type', 'cache'],
          ['target', '/root/.cache'],
        ],
      ],
      ['network', 3, []],
    ]);
    expect(run.text.slice(run.commandOffset)).toBe('pip install einops');
    expect(lineAtOffset(run, run.text.indexOf('einops'))).toBe(5);
  });
});

describe('here-documents', () => {
  it('reads bodies, strips tabs for <<-, accepts quoted delimiters and several per instruction', () => {
    const parsed = parseDockerfile('FROM x:1\nCOPY <<"EOF" <<B /d/\n$HOME\nEOF\nb\nB\nRUN <<-EOT\n\tpip install x\n\tEOT\nENV A=1');
    expect(summary(parsed.instructions).map((s) => s.split(':')[0])).toEqual(['FROM 1-1', 'COPY 2-6', 'RUN 7-9', 'ENV 10-10']);
    expect(parsed.instructions[1]!.heredocs).toEqual(['$HOME', 'b']);
    expect(parsed.instructions[2]!.heredocs).toEqual(['pip install x']);
    const run = parsed.instructions[2]!;
    expect(lineAtOffset(run, run.text.indexOf('pip'))).toBe(8);
  });
});
