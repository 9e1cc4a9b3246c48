import { describe, expect, it } from '@jest/globals';
import { textTable, toCsv } from '../../domain/text-table.js';

describe('toCsv', () => {
  it('quotes a cell with a comma, a quote, a CR or a LF (RFC 4180), and nothing else', () => {
    expect(toCsv(['a', 'b'], [['plain', 'with, comma'], ['say "hi"', 'two\nlines'], ['cr\rhere', '']])).toBe(
      'a,b\nplain,"with, comma"\n"say ""hi""","two\nlines"\n"cr\rhere",\n',
    );
  });
});

describe('textTable', () => {
  it('pads every column to its widest cell, two spaces apart, with a rule under the header', () => {
    expect(textTable(['#', 'name', 'score'], [['1', 'alpha', '0.5000'], ['10', 'b', '']])).toEqual(['#   name   score', '--  -----  ------', '1   alpha  0.5000', '10  b']);
  });
});
