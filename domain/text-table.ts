/**
 * Tables as text: CSV for exports and aligned columns for the CLI. One writer each, so every export quotes the
 * same way (RFC 4180: a cell with a comma, quote, CR or LF is quoted, quotes doubled) and every CLI table lines
 * up the same way.
 */

const csvCell = (cell: string): string => (/[",\r\n]/.test(cell) ? `"${cell.replace(/"/g, '""')}"` : cell);

/** A CSV document: the header, then one line per row, each line ended by "\n". */
export function toCsv(header: readonly string[], rows: readonly (readonly string[])[]): string {
  return [header, ...rows].map((cells) => `${cells.map(csvCell).join(',')}\n`).join('');
}

/** Aligned columns: the header, a rule of dashes, the rows; cells padded to the widest, two spaces apart. */
export function textTable(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    widths
      .map((width, i) => (cells[i] ?? '').padEnd(width))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}
