import { describe, expect, it } from '@jest/globals';
import { liveBlock } from '../../cli/live-block.js';

const sink = (isTTY: boolean) => {
  const writes: string[] = [];
  return { out: { isTTY, write: (text: string) => writes.push(text) }, writes };
};

describe('liveBlock', () => {
  it('redraws in place on a terminal: cursor up over the previous block, clear, draw', () => {
    const { out, writes } = sink(true);
    const block = liveBlock(out);
    block.update('10:00:00', ['a build', 'b queued']);
    block.update('10:00:05', ['a fine-tune', 'b build']);
    expect(writes).toEqual(['10:00:00\na build\nb queued\n', '\x1b[3A\x1b[J10:00:05\na fine-tune\nb build\n']);
  });

  it('prints only the lines that changed, stamped, when the output is not a terminal', () => {
    const { out, writes } = sink(false);
    const block = liveBlock(out);
    block.update('10:00:00', ['  a build', '  b queued']);
    block.update('10:00:05', ['  a build', '  b build']);
    block.update('10:00:10', ['  a build', '  b build']);
    expect(writes).toEqual(['[10:00:00] a build\n', '[10:00:00] b queued\n', '[10:00:05] b build\n']);
    expect(writes.join('')).not.toContain('\x1b');
  });
});
