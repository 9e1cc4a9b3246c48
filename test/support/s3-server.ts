/**
 * A real S3-compatible server for the tests: moto's server, installed and started (or reused) by
 * scripts/ensure-s3.sh. Each suite gets fresh buckets, so runs never see each other's objects.
 */
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { execa } from 'execa';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { S3ArtifactStoreConfig } from '../../infra/artifact-store-s3.js';
import { PROJECT_ROOT } from '../../infra/paths.js';

export const S3_REGION = 'us-east-1';

export interface S3Server {
  endpoint: string;
  /** Creates a bucket named `${name}-<random>` and returns a store configuration for it (prefix "" unless given). */
  freshBucket(name: string, prefix?: string): Promise<S3ArtifactStoreConfig>;
}

export async function startS3(): Promise<S3Server> {
  // moto accepts any credentials; the SDK still wants some to sign with.
  process.env.AWS_ACCESS_KEY_ID ??= 'testing';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'testing';
  const script = path.join(PROJECT_ROOT, 'scripts', 'ensure-s3.sh');
  const result = await execa('bash', [script], { reject: false, timeout: 300_000 });
  const endpoint = String(result.stdout).trim().split('\n').pop() ?? '';
  if (result.exitCode !== 0 || !/^http:\/\//.test(endpoint)) {
    throw new Error(`scripts/ensure-s3.sh did not start the S3 test server (exit ${result.exitCode}):\n${String(result.stderr)}\n${String(result.stdout)}`);
  }
  return {
    endpoint,
    freshBucket: async (name, prefix = '') => {
      const bucket = `${name}-${randomBytes(4).toString('hex')}`;
      const client = new S3Client({ region: S3_REGION, endpoint, forcePathStyle: true });
      try {
        await client.send(new CreateBucketCommand({ Bucket: bucket }));
      } finally {
        client.destroy();
      }
      return { kind: 's3', bucket, prefix, endpoint, region: S3_REGION, forcePathStyle: true };
    },
  };
}
