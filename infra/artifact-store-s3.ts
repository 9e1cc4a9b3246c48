/**
 * The artifact store on an S3-compatible object store (AWS S3, MinIO, Ceph RGW) through the AWS SDK.
 * Credentials come from the SDK's default chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, profiles,
 * instance roles). Files are streamed from disk, never read whole: checkpoints run to many GB. Files
 * above MULTIPART_THRESHOLD go up in parts, since one PUT stops at 5 GB.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type CompletedPart,
} from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ArtifactStoreConfig } from './runtime-config.js';
import { checkKey, type ArtifactStore, type PushOptions, type PushResult } from './artifact-store.js';
import { compareKeys, joinKey, normalizePrefix, pullDirectoryWith, pushDirectoryWith } from './artifact-store-mirror.js';

export type S3ArtifactStoreConfig = Extract<ArtifactStoreConfig, { kind: 's3' }>;

export interface S3TransferOptions {
  /** Files larger than this go up as a multipart upload (default 64 MiB). */
  multipartThresholdBytes?: number;
  /** Size of each part (default 64 MiB, raised so a file needs at most 10,000 parts; S3's minimum is 5 MiB). */
  partSizeBytes?: number;
  /** Parts in flight at once (default 4). */
  partConcurrency?: number;
}

const MiB = 1024 * 1024;
const MAX_PARTS = 10_000;
/** Attempts per streamed upload: the SDK cannot replay a file stream it already consumed, so these retries reopen the file. */
const STREAM_ATTEMPTS = 3;

/** The fields of an SDK or network error this module looks at. */
interface ErrorFacts {
  name: string;
  code: string;
  status: number | undefined;
  message: string;
}

function factsOf(error: unknown): ErrorFacts {
  const e = (typeof error === 'object' && error !== null ? error : {}) as {
    name?: unknown;
    Code?: unknown;
    code?: unknown;
    message?: unknown;
    $metadata?: { httpStatusCode?: unknown };
  };
  const status = e.$metadata?.httpStatusCode;
  return {
    name: typeof e.name === 'string' ? e.name : '',
    code: typeof e.Code === 'string' ? e.Code : typeof e.code === 'string' ? e.code : '',
    status: typeof status === 'number' ? status : undefined,
    message: typeof e.message === 'string' ? e.message : String(error),
  };
}

const isNoSuchKey = (facts: ErrorFacts): boolean =>
  facts.name === 'NoSuchKey' || facts.code === 'NoSuchKey' || (facts.status === 404 && facts.name !== 'NoSuchBucket' && facts.code !== 'NoSuchBucket');

export class S3ArtifactStore implements ArtifactStore {
  readonly location: string;
  private readonly client: S3Client;
  private readonly prefix: string;
  private readonly multipartThreshold: number;
  private readonly partSize: number;
  private readonly partConcurrency: number;

  constructor(
    private readonly config: S3ArtifactStoreConfig,
    transfer: S3TransferOptions = {},
  ) {
    this.prefix = config.prefix.replace(/^\/+|\/+$/g, '');
    this.location = `s3://${config.bucket}${this.prefix === '' ? '' : `/${this.prefix}`}`;
    this.client = new S3Client({
      region: config.region,
      forcePathStyle: config.forcePathStyle,
      ...(config.endpoint
        ? {
            endpoint: config.endpoint,
            // Self-hosted stores (Ceph RGW, older MinIO) reject the SDK's default trailing CRC checksums on
            // streamed bodies; checksums only where the API requires them keeps them working.
            requestChecksumCalculation: 'WHEN_REQUIRED' as const,
            responseChecksumValidation: 'WHEN_REQUIRED' as const,
          }
        : {}),
    });
    this.multipartThreshold = transfer.multipartThresholdBytes ?? 64 * MiB;
    this.partSize = Math.max(5 * MiB, transfer.partSizeBytes ?? 64 * MiB);
    this.partConcurrency = Math.max(1, transfer.partConcurrency ?? 4);
  }

  /** The object key of a store key: `${prefix}/${key}`. */
  private objectKey(key: string): string {
    return joinKey(this.prefix, checkKey(key));
  }

  /**
   * An Error that says what failed and what to check. Unreachable endpoints, missing buckets and
   * refused credentials are configuration mistakes, named as such; anything else keeps the SDK's text.
   */
  private failure(action: string, error: unknown): Error {
    const facts = factsOf(error);
    const where = `${this.location}${this.config.endpoint ? ` (endpoint ${this.config.endpoint})` : ''}`;
    const network = /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|socket hang up|TimeoutError/i;
    let hint: string;
    if (facts.name === 'NoSuchBucket' || facts.code === 'NoSuchBucket') {
      hint = `the bucket "${this.config.bucket}" does not exist: create it, or fix the bucket in CHALLENGE_ARTIFACT_STORE (s3://bucket/prefix)`;
    } else if (network.test(facts.code) || network.test(facts.name) || network.test(facts.message)) {
      hint = `the S3 endpoint cannot be reached: check CHALLENGE_S3_ENDPOINT${this.config.endpoint ? ` (${this.config.endpoint})` : ' (unset: AWS S3 in ' + this.config.region + ')'} and the network`;
    } else if (
      facts.name === 'CredentialsProviderError' ||
      ['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied', 'ExpiredToken', 'InvalidToken'].includes(facts.name || facts.code) ||
      facts.status === 403
    ) {
      hint = `the credentials were refused or missing: check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) and that they may use bucket "${this.config.bucket}"`;
    } else {
      hint = `check CHALLENGE_S3_ENDPOINT, the credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) and that the bucket "${this.config.bucket}" exists`;
    }
    return new Error(`S3 artifact store ${where}: ${action} failed: ${facts.name || facts.code || 'Error'}: ${facts.message}; ${hint}`, { cause: error });
  }

  async putText(key: string, text: string): Promise<void> {
    const Key = this.objectKey(key);
    try {
      // Bytes with their length: for an empty string the SDK cannot tell the length and warns about streams.
      const Body = Buffer.from(text, 'utf8');
      await this.client.send(
        new PutObjectCommand({ Bucket: this.config.bucket, Key, Body, ContentLength: Body.length, ContentType: 'text/plain; charset=utf-8' }),
      );
    } catch (error) {
      throw this.failure(`writing "${key}"`, error);
    }
  }

  async getText(key: string): Promise<string | null> {
    const Key = this.objectKey(key);
    try {
      const response = await this.client.send(new GetObjectCommand({ Bucket: this.config.bucket, Key }));
      if (!response.Body) return '';
      return await response.Body.transformToString('utf8');
    } catch (error) {
      if (isNoSuchKey(factsOf(error))) return null;
      throw this.failure(`reading "${key}"`, error);
    }
  }

  async putFile(key: string, localPath: string): Promise<void> {
    const Key = this.objectKey(key);
    let size: number;
    try {
      size = (await stat(localPath)).size;
    } catch (error) {
      throw new Error(`cannot upload ${localPath} as "${key}" to ${this.location}: ${(error as Error).message}`, { cause: error });
    }
    try {
      if (size > this.multipartThreshold) await this.putMultipart(Key, localPath, size);
      else
        await this.withFreshStreams(() =>
          this.client.send(new PutObjectCommand({ Bucket: this.config.bucket, Key, Body: createReadStream(localPath), ContentLength: size })),
        );
    } catch (error) {
      throw this.failure(`uploading ${localPath} as "${key}"`, error);
    }
  }

  /** Retries an upload whose body is a file stream, opening the stream anew each time. */
  private async withFreshStreams<T>(send: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await send();
      } catch (error) {
        const facts = factsOf(error);
        const retriable = facts.status === undefined || facts.status >= 500 || facts.status === 408 || facts.status === 429;
        if (attempt >= STREAM_ATTEMPTS || !retriable || facts.name === 'NoSuchBucket') throw error;
        await new Promise((resolve) => setTimeout(resolve, 500 * attempt));
      }
    }
  }

  private async putMultipart(Key: string, localPath: string, size: number): Promise<void> {
    const Bucket = this.config.bucket;
    const partSize = Math.max(this.partSize, Math.ceil(size / MAX_PARTS));
    const { UploadId } = await this.client.send(new CreateMultipartUploadCommand({ Bucket, Key }));
    if (!UploadId) throw new Error(`the store gave no upload id for a multipart upload of "${Key}"`);
    try {
      const count = Math.ceil(size / partSize);
      const parts: CompletedPart[] = new Array<CompletedPart>(count);
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < count) {
          const index = next++;
          const start = index * partSize;
          const end = Math.min(size, start + partSize); // exclusive
          const { ETag } = await this.withFreshStreams(() =>
            this.client.send(
              new UploadPartCommand({
                Bucket,
                Key,
                UploadId,
                PartNumber: index + 1,
                Body: createReadStream(localPath, { start, end: end - 1 }),
                ContentLength: end - start,
              }),
            ),
          );
          parts[index] = { ETag, PartNumber: index + 1 };
        }
      };
      await Promise.all(Array.from({ length: Math.min(this.partConcurrency, count) }, worker));
      await this.client.send(new CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts: parts } }));
    } catch (error) {
      // Parts of an abandoned upload are billed until aborted.
      await this.client.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId })).catch(() => undefined);
      throw error;
    }
  }

  async getFile(key: string, localPath: string): Promise<boolean> {
    const Key = this.objectKey(key);
    let body: Readable;
    try {
      const response = await this.client.send(new GetObjectCommand({ Bucket: this.config.bucket, Key }));
      body = response.Body instanceof Readable ? response.Body : Readable.from([]);
    } catch (error) {
      if (isNoSuchKey(factsOf(error))) return false;
      throw this.failure(`downloading "${key}"`, error);
    }
    // Through a temporary sibling and a rename: a host that dies mid-download leaves no truncated checkpoint.
    await mkdir(path.dirname(localPath), { recursive: true });
    const temporary = path.join(path.dirname(localPath), `.${path.basename(localPath)}.${process.pid}-${randomBytes(4).toString('hex')}.artifact-tmp`);
    try {
      await pipeline(body, createWriteStream(temporary));
      await rename(temporary, localPath);
    } catch (error) {
      await unlink(temporary).catch(() => undefined);
      throw this.failure(`downloading "${key}" to ${localPath}`, error);
    }
    return true;
  }

  async list(prefix: string): Promise<{ key: string; size: number }[]> {
    const base = normalizePrefix(prefix);
    // The trailing slash scopes the listing to the folder: prefix "a" must not list "ab/...".
    const scope = joinKey(this.prefix, base);
    const Prefix = scope === '' ? undefined : `${scope}/`;
    const strip = this.prefix === '' ? 0 : this.prefix.length + 1;
    const found: { key: string; size: number }[] = [];
    let ContinuationToken: string | undefined;
    try {
      do {
        const page = await this.client.send(new ListObjectsV2Command({ Bucket: this.config.bucket, Prefix, ContinuationToken }));
        for (const object of page.Contents ?? []) {
          if (object.Key === undefined) continue;
          found.push({ key: object.Key.slice(strip), size: object.Size ?? 0 });
        }
        ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (ContinuationToken);
    } catch (error) {
      throw this.failure(`listing "${base}"`, error);
    }
    return found.sort((a, b) => compareKeys(a.key, b.key));
  }

  /** Always copies (an object store cannot link to a host's files): `complete` is ignored. */
  pushDirectory(localDir: string, prefix: string, options?: PushOptions): Promise<PushResult> {
    return pushDirectoryWith(this.mirror(), localDir, prefix, options?.prune === undefined ? {} : { prune: options.prune });
  }

  pullDirectory(prefix: string, localDir: string): Promise<{ files: number; bytes: number }> {
    return pullDirectoryWith(this.mirror(), prefix, localDir);
  }

  async deletePrefix(prefix: string): Promise<number> {
    const keys = (await this.list(prefix)).map((entry) => entry.key);
    await this.deleteKeys(keys);
    return keys.length;
  }

  /** DeleteObjects takes at most 1000 keys a request; per-key errors come back in the answer, not as an exception. */
  private async deleteKeys(keys: string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      let errors: { Key?: string; Code?: string; Message?: string }[] = [];
      try {
        const response = await this.client.send(
          new DeleteObjectsCommand({ Bucket: this.config.bucket, Delete: { Objects: batch.map((key) => ({ Key: this.objectKey(key) })), Quiet: true } }),
        );
        errors = response.Errors ?? [];
      } catch (error) {
        throw this.failure(`deleting ${batch.length} keys (from "${batch[0]}")`, error);
      }
      if (errors.length > 0) {
        const first = errors[0]!;
        throw new Error(
          `S3 artifact store ${this.location}: ${errors.length} of ${batch.length} deletions failed, first "${first.Key}": ${first.Code}: ${first.Message}; ` +
            `check that the credentials may delete in bucket "${this.config.bucket}"`,
        );
      }
    }
  }

  private mirror() {
    return {
      location: this.location,
      putText: (key: string, text: string) => this.putText(key, text),
      getText: (key: string) => this.getText(key),
      putFile: (key: string, localPath: string) => this.putFile(key, localPath),
      getFile: (key: string, localPath: string) => this.getFile(key, localPath),
      list: (prefix: string) => this.list(prefix),
      deleteKeys: (keys: string[]) => this.deleteKeys(keys),
    };
  }

  /** Closes the client's sockets (tests and short-lived CLIs). */
  destroy(): void {
    this.client.destroy();
  }
}
