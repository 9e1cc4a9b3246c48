/** Reading the end of a log file without reading the whole file (stage logs can reach the rotation cap). */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { logExcerpt } from '../domain/failures.js';

/** The last `lines` lines of a file, reading at most its last `maxBytes` bytes; null when it cannot be opened. */
export function tailFile(file: string, lines: number, maxBytes = 256 * 1024): string | null {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return null;
  }
  try {
    const size = fstatSync(fd).size;
    const length = Math.min(size, maxBytes);
    const buffer = Buffer.alloc(length);
    readSync(fd, buffer, 0, length, size - length);
    let text = buffer.toString('utf8');
    if (length < size) text = text.slice(text.indexOf('\n') + 1); // drop the partial first line
    return logExcerpt(text, lines, Infinity);
  } finally {
    closeSync(fd);
  }
}
