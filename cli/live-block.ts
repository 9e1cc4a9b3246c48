/**
 * A block of status lines that updates in place. On a terminal the block is redrawn where it stands (cursor up,
 * clear to the end), so a 20-minute demo is one screen, not 240 copies of it. When the output is a file or a
 * pipe (CI logs), escape codes would be noise: a line is printed when it changed, with a time stamp, so the log
 * reads as a history of what happened.
 */
export interface LiveBlockOutput {
  write(text: string): unknown;
  isTTY?: boolean;
}

export interface LiveBlock {
  /** Shows these lines now (the heading is shown once per redraw on a terminal, and before each changed line otherwise). */
  update(heading: string, lines: readonly string[]): void;
}

export function liveBlock(out: LiveBlockOutput = process.stdout): LiveBlock {
  let drawn = 0;
  const last = new Map<number, string>();
  return {
    update(heading, lines) {
      if (out.isTTY) {
        const text = [heading, ...lines].join('\n');
        out.write(`${drawn > 0 ? `\x1b[${drawn}A\x1b[J` : ''}${text}\n`);
        drawn = lines.length + 1;
        return;
      }
      lines.forEach((line, i) => {
        if (last.get(i) === line) return;
        last.set(i, line);
        out.write(`[${heading}] ${line.trim()}\n`);
      });
    },
  };
}
