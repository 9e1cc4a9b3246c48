/**
 * Runtime configuration of a process (CLI, workers, web, demo): where Temporal, the stores and the cluster are,
 * read from the environment. Node-side only; the competition's rules (tracks, limits, queues, policies) are in
 * temporal.config.ts, which workflows import.
 */
export { loadRuntimeConfig, TEMPORAL_CLUSTER, type ArtifactStoreConfig, type RuntimeConfig, type TemporalConnectionConfig } from '../temporal.config.js';
