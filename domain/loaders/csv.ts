/**
 * An RFC 4180 CSV parser: comma-separated fields; records end at CRLF or LF (a lone CR is also accepted);
 * a field may be enclosed in double quotes, and then may contain commas, line breaks and doubled quotes
 * (`""` → `"`). A quote inside an unquoted field, text after a closing quote, or a quote left open at the
 * end of the text is an error naming the line and column. A leading UTF-8 BOM is ignored, blank lines are
 * skipped (like Python's csv.reader), and a final line break does not start an empty record.
 */
import { DatasetError } from './errors.js';

export interface CsvRecord {
  /** 1-based line on which the record starts */
  line: number;
  fields: string[];
}

export function parseCsv(text: string, file = '<text>'): CsvRecord[] {
  const records: CsvRecord[] = [];
  const src = text.startsWith('\ufeff') ? text.slice(1) : text;
  let i = 0;
  let line = 1;
  let column = 1;
  let fields: string[] = [];
  let field = '';
  let recordLine = 1;
  let atFieldStart = true;
  let inRecord = false;
  let quotedInRecord = false;

  const endField = (): void => {
    fields.push(field);
    field = '';
    atFieldStart = true;
  };
  const endRecord = (): void => {
    endField();
    // a blank line is a record with one empty field: skip it, as csv.reader yields [] for it
    if (!(fields.length === 1 && fields[0] === '' && !quotedInRecord)) records.push({ line: recordLine, fields });
    fields = [];
    inRecord = false;
    quotedInRecord = false;
  };
  const newline = (): void => {
    line++;
    column = 1;
  };

  while (i < src.length) {
    const ch = src[i] as string;
    if (!inRecord) {
      inRecord = true;
      recordLine = line;
    }
    if (atFieldStart && ch === '"') {
      // quoted field
      quotedInRecord = true;
      const openLine = line;
      const openColumn = column;
      i++;
      column++;
      for (;;) {
        if (i >= src.length) throw new DatasetError(file, openLine, null, `quoted field opened at column ${openColumn} is never closed`);
        const c = src[i] as string;
        if (c === '"') {
          if (src[i + 1] === '"') {
            field += '"';
            i += 2;
            column += 2;
            continue;
          }
          i++;
          column++;
          break;
        }
        field += c;
        i++;
        if (c === '\n' || (c === '\r' && src[i] !== '\n')) newline();
        else column++;
      }
      atFieldStart = false;
      const next = src[i];
      if (next !== undefined && next !== ',' && next !== '\n' && next !== '\r') {
        throw new DatasetError(file, line, null, `unexpected character ${JSON.stringify(next)} after a closing quote at column ${column}`);
      }
      continue;
    }
    if (ch === ',') {
      endField();
      i++;
      column++;
      continue;
    }
    if (ch === '\r' || ch === '\n') {
      endRecord();
      i += ch === '\r' && src[i + 1] === '\n' ? 2 : 1;
      newline();
      continue;
    }
    if (ch === '"') throw new DatasetError(file, line, null, `a double quote inside an unquoted field at column ${column} (quote the whole field and double the quote)`);
    field += ch;
    atFieldStart = false;
    i++;
    column++;
  }
  if (inRecord) endRecord();
  return records;
}
