/**
 * The artifact store: what must outlive the GPU host that made it. A submission's training output and
 * the checkpoints it declares, stage logs, answer exports and reports are pushed here; another host
 * pulls them to carry on where a lost host stopped.
 *  - `fs` (the default): a directory every host mounts (NFS, CephFS; on one machine a local folder);
 *  - `s3`: any S3-compatible object store through the AWS SDK (AWS S3, MinIO, Ceph RGW).
 * Keys are relative POSIX paths ("submissions/team.sub/artifacts/progress.json"); both implementations
 * pass the same contract test.
 */

export interface PushResult {
  /** Files written this time (new, or changed since the previous push). */
  uploaded: number;
  /** Files under the local directory. */
  files: number;
  /** Bytes written this time. */
  bytes: number;
}

export interface ArtifactStore {
  /** For messages: the folder, or s3://bucket/prefix. */
  readonly location: string;
  putText(key: string, text: string): Promise<void>;
  /** null when there is no such key. */
  getText(key: string): Promise<string | null>;
  putFile(key: string, localPath: string): Promise<void>;
  /** Downloads `key` to `localPath` (creating its folder); false when there is no such key. */
  getFile(key: string, localPath: string): Promise<boolean>;
  /** Every key under `prefix` (recursively), sorted, with its size in bytes. */
  list(prefix: string): Promise<{ key: string; size: number }[]>;
  /**
   * Mirrors a local folder under `prefix`: writes the files that are new or whose size or modification
   * time differ from the previous push (recorded in a manifest under the prefix, written last), so a
   * periodic push of a growing checkpoint folder only sends what changed. Remote files missing locally
   * are kept unless `prune`. `complete` names the files that are whole and will not be rewritten in place:
   * a store on the same disk may hard-link those instead of copying them (the folder store does; S3 copies).
   */
  pushDirectory(localDir: string, prefix: string, options?: PushOptions): Promise<PushResult>;
  /** Restores everything under `prefix` (the manifest excepted) into `localDir`. */
  pullDirectory(prefix: string, localDir: string): Promise<{ files: number; bytes: number }>;
  /** Removes every key under `prefix`; returns how many. */
  deletePrefix(prefix: string): Promise<number>;
}

export interface PushOptions {
  prune?: boolean;
  complete?: (relativePath: string) => boolean;
}

/** Rejects keys that could escape the store ("..", absolute paths, backslashes, empty segments). */
export function checkKey(key: string): string {
  if (key === '' || key.startsWith('/') || key.includes('\\') || key.split('/').some((part) => part === '..' || part === '.' || part === '')) {
    throw new Error(`artifact store key "${key}" is not a relative path of plain names (no "..", no leading "/", no empty parts)`);
  }
  return key;
}

/** Where a submission's things live in the store. */
export const artifactKeys = {
  /** The training output folder (/artifacts in the containers): checkpoints, progress.json, the final model. */
  trainingOutput: (submissionId: string) => `submissions/${submissionId}/artifacts`,
  /** The newest checkpoint whose files are all in the store (written after they are): where another host resumes. */
  training: (submissionId: string) => `submissions/${submissionId}/training`,
  checkpoint: (submissionId: string) => `submissions/${submissionId}/training/checkpoint.json`,
  logs: (submissionId: string) => `submissions/${submissionId}/logs`,
  log: (submissionId: string, file: string) => `submissions/${submissionId}/logs/${file}`,
  /** One JSON line per answer, written after each evaluation attempt. */
  answers: (submissionId: string, suite: string) => `submissions/${submissionId}/answers/${suite}.jsonl`,
  report: (track: string, file: string) => `reports/${track}/${file}`,
} as const;
