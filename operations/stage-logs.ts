/**
 * The one reader of stage logs, for the CLI (`challenge logs`) and the web pages. The layout is infra/log-files.ts's
 * (`<dataDir>/logs/<submissionId>/<stage>.log`, `<stage>.<container>.log` for a removed container's output); a
 * stage that ran on another GPU host is read from the copy that host put in the artifact store
 * (artifactKeys.log). Only the tail is read: logs can reach the rotation cap.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { logExcerpt } from '../domain/failures.js';
import { artifactKeys, type ArtifactStore } from '../infra/artifact-store.js';
import { stageLogFile, submissionLogDir, tailFile } from '../infra/log-files.js';

/** The artifact store, or how to open it when a log is not on this host (the CLI opens it only then). */
export type LogStore = ArtifactStore | (() => Promise<ArtifactStore>);

export interface StageLogTail {
  /** Where it was read: a path on this host, or `<store location>/<key>`. */
  file: string;
  text: string;
}

/** Reads at least 256 KiB, more when many lines are asked for, so a long tail is not cut by the byte cap. */
const bytesFor = (lines: number): number => Math.max(256 * 1024, lines * 512);

const storeOf = async (store: LogStore): Promise<ArtifactStore> => (typeof store === 'function' ? store() : store);

/** One stage's own log (`<stage>.log`): its last `lines` lines on this host, else in the artifact store; null when neither has it. */
export async function stageLogTail(dataDir: string, submissionId: string, stage: string, lines: number, store?: LogStore): Promise<StageLogTail | null> {
  const file = stageLogFile(dataDir, submissionId, stage);
  if (file === null) return null; // an id that would leave the logs folder
  const local = existsSync(file) ? tailFile(file, lines, bytesFor(lines)) : null;
  if (local !== null) return { file, text: local };
  if (store === undefined) return null;
  const artifacts = await storeOf(store);
  const key = artifactKeys.log(submissionId, `${stage}.log`);
  const text = await artifacts.getText(key);
  return text === null ? null : { file: `${artifacts.location}/${key}`, text: logExcerpt(text, lines, Infinity) };
}

/** Whether a log file's name belongs to `stage` (its own log and its containers'); every log when no stage is given. */
export const isLogOfStage = (name: string, stage?: string): boolean =>
  name.endsWith('.log') && (stage === undefined || name === `${stage}.log` || name.startsWith(`${stage}.`));

/**
 * Every log of a submission, or of one stage, earlier attempts' containers included, each cut to its last `lines`
 * lines, in name order: from this host's data folder when the stages ran here, else from the artifact store.
 */
export async function submissionLogTails(dataDir: string, submissionId: string, options: { stage?: string; lines: number; store: LogStore }): Promise<StageLogTail[]> {
  const dir = submissionLogDir(dataDir, submissionId);
  if (dir === null) return [];
  if (existsSync(dir)) {
    const names = readdirSync(dir)
      .filter((name) => isLogOfStage(name, options.stage))
      .sort();
    const local = names.flatMap((name) => {
      const text = tailFile(path.join(dir, name), options.lines, bytesFor(options.lines));
      return text === null ? [] : [{ file: path.join(dir, name), text }];
    });
    if (local.length > 0) return local;
  }
  const artifacts = await storeOf(options.store);
  const prefix = artifactKeys.logs(submissionId);
  const out: StageLogTail[] = [];
  for (const { key } of await artifacts.list(prefix)) {
    if (!isLogOfStage(key.slice(prefix.length + 1), options.stage)) continue;
    const text = await artifacts.getText(key);
    if (text !== null) out.push({ file: `${artifacts.location}/${key}`, text: logExcerpt(text, options.lines, Infinity) });
  }
  return out;
}
