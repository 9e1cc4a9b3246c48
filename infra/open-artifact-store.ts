/**
 * Picks the artifact store the configuration names. Kept apart from artifact-store.ts so that the interface
 * does not import its implementations (and the implementations, which import the interface, form no cycle).
 */
import type { ArtifactStoreConfig } from './runtime-config.js';
import type { ArtifactStore } from './artifact-store.js';

/** The store the configuration names (the S3 client is only loaded when it is used). */
export async function openArtifactStore(config: ArtifactStoreConfig): Promise<ArtifactStore> {
  if (config.kind === 's3') {
    const { S3ArtifactStore } = await import('./artifact-store-s3.js');
    return new S3ArtifactStore(config);
  }
  const { FsArtifactStore } = await import('./artifact-store-fs.js');
  return new FsArtifactStore(config.root);
}
