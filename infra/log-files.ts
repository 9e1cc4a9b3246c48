/** Reading the end of a log file without reading the whole file (stage logs can reach the rotation cap). */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import path from 'node:path';
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

/**
 * The data folder's log layout, defined once: `<dataDir>/logs/<submissionId>/<stage>.log` for a stage's own log,
 * `<stage>.<container>.log` for the log of a container an attempt or the orphan reaper removed. Null when the ids
 * would leave the logs folder (ids come from URLs and container labels).
 */
export function submissionLogDir(dataDir: string, submissionId: string): string | null {
  const root = path.resolve(dataDir, 'logs');
  const dir = path.resolve(root, submissionId);
  return path.dirname(dir) === root ? dir : null;
}

export function stageLogFile(dataDir: string, submissionId: string, stage: string, container?: string): string | null {
  const dir = submissionLogDir(dataDir, submissionId);
  if (dir === null) return null;
  const file = path.resolve(dir, container === undefined ? `${stage}.log` : `${stage}.${container}.log`);
  return path.dirname(file) === dir ? file : null;
}
