/** An error in a dataset file, naming the file, the (1-based) line and the field. */
export class DatasetError extends Error {
  constructor(
    readonly file: string,
    readonly line: number | null,
    readonly field: string | null,
    readonly reason: string,
  ) {
    super(`${file}${line === null ? '' : `:${line}`}${field === null ? '' : ` (field ${field})`}: ${reason}`);
    this.name = 'DatasetError';
  }
}

/** Common options of the scenario loaders. */
export interface LoaderOptions {
  /** file name used in error messages (default "<text>") */
  file?: string;
  /** scenario name (suite format: lowercase letters, digits and dashes) */
  name?: string;
  title?: string;
  /** evaluate at most this many instances, drawn with `sampleInstances(all, maxInstances, seed)` */
  maxInstances?: number;
  /** sampling seed (default 0) */
  seed?: number;
  /** number of in-context examples (default 5) */
  inContext?: number;
}
