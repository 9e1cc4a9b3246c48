/**
 * The answers export (one JSON line per persisted answer, for audits and appeals) written while the
 * answers are read, one at a time, into a temporary file that is then uploaded: no array of every answer
 * and no string of the whole export is ever held.
 */
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AnswerStore, InstanceAnswer } from '../domain/harness/answers.js';

/** Lines are written in batches of about this many characters (fewer system calls than one write a line). */
const BATCH_CHARS = 256 * 1024;

/**
 * Writes the store's answers as JSON lines to `file`; returns how many. A synchronous source (SQLite) is
 * read without a pause between rows: its connection is busy until the iterator ends.
 */
export async function writeAnswerLines(store: Pick<AnswerStore, 'each'>, file: string): Promise<number> {
  const fd = openSync(file, 'w');
  let count = 0;
  let batch = '';
  const add = (answer: InstanceAnswer): void => {
    batch += `${JSON.stringify(answer)}\n`;
    count++;
    if (batch.length >= BATCH_CHARS) {
      writeSync(fd, batch);
      batch = '';
    }
  };
  try {
    const source = store.each();
    if (Symbol.iterator in source) for (const answer of source) add(answer);
    else for await (const answer of source) add(answer);
    if (batch.length > 0) writeSync(fd, batch);
  } finally {
    closeSync(fd);
  }
  return count;
}

/** Writes the export into a temporary file, hands it to `upload`, and removes it whatever happened. */
export async function exportAnswerLines(store: Pick<AnswerStore, 'each'>, upload: (file: string) => Promise<void>): Promise<number> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'challenge-answers-'));
  try {
    const file = path.join(dir, 'answers.jsonl');
    const count = await writeAnswerLines(store, file);
    await upload(file);
    return count;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
