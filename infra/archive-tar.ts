/**
 * The .tar.gz reader for uploaded submissions: gunzips as a stream and parses the tar as it arrives (ustar,
 * GNU long names 'L'/'K', pax 'x'/'g' records), handing each entry to the staging tree. Inflating only goes
 * as far as the reader asks, so an archive refused at an entry (too large, a link, an unsafe path) is never
 * inflated past that entry: a 1 MB gzip that would expand to 1 GB costs what it took to reach the refusal.
 */
import { createGunzip } from 'node:zlib';
import { corrupt, type ArchiveEntry, type StagingTree } from './archive-staging.js';

const BLOCK = 512;
/** A pax or long-name header larger than this is not a submission's. */
const MAX_METADATA_BYTES = 1024 * 1024;

/** Pulls exact byte counts out of an async stream of chunks. */
class ChunkReader {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private ended = false;

  constructor(private readonly source: AsyncIterator<Buffer>) {}

  /** Exactly `count` bytes; null only when `endAllowed` and the stream ended cleanly before them (`at` says what was being read). */
  async exactly(count: number, at: string, endAllowed = false): Promise<Buffer | null> {
    while (this.pendingBytes < count && !this.ended) await this.pull(at);
    if (this.pendingBytes >= count) return this.take(count);
    if (endAllowed && this.pendingBytes === 0) return null;
    throw corrupt('tar.gz', `it ends in the middle of ${at}`);
  }

  /** `count` bytes as they arrive, in chunks. */
  async *stream(count: number, at: string): AsyncGenerator<Buffer> {
    let left = count;
    while (left > 0) {
      if (this.pendingBytes === 0) await this.pull(at);
      if (this.pendingBytes === 0) throw corrupt('tar.gz', `it ends in the middle of ${at}`);
      const chunk = this.take(Math.min(left, this.pending[0]!.length));
      left -= chunk.length;
      yield chunk;
    }
  }

  async skip(count: number, at: string): Promise<void> {
    for await (const chunk of this.stream(count, at)) void chunk;
  }

  private async pull(at: string): Promise<void> {
    let next: IteratorResult<Buffer>;
    try {
      next = await this.source.next();
    } catch (error) {
      throw corrupt('tar.gz', `gzip could not inflate ${at} (${(error as Error).message})`);
    }
    if (next.done) this.ended = true;
    else if (next.value.length > 0) {
      this.pending.push(next.value);
      this.pendingBytes += next.value.length;
    }
  }

  private take(count: number): Buffer {
    if (count === 0) return Buffer.alloc(0);
    const first = this.pending[0]!;
    let out: Buffer;
    if (first.length >= count) {
      out = first.subarray(0, count);
      if (first.length === count) this.pending.shift();
      else this.pending[0] = first.subarray(count);
    } else {
      const all = Buffer.concat(this.pending);
      out = all.subarray(0, count);
      this.pending = all.length > count ? [all.subarray(count)] : [];
    }
    this.pendingBytes -= count;
    return out;
  }
}

const text = (field: Buffer): string => {
  const end = field.indexOf(0);
  return field.subarray(0, end === -1 ? field.length : end).toString('utf8');
};

/** A numeric header field: octal text, or GNU base-256 when the top bit of its first byte is set. */
function numberField(header: Buffer, offset: number, length: number, what: string): number {
  const field = header.subarray(offset, offset + length);
  if ((field[0]! & 0x80) !== 0) {
    if (field[0] === 0xff) throw corrupt('tar.gz', `a header has a negative ${what}`);
    let value = field[0]! & 0x7f;
    for (const byte of field.subarray(1)) value = value * 256 + byte;
    if (!Number.isSafeInteger(value)) throw corrupt('tar.gz', `a header has an impossible ${what}`);
    return value;
  }
  const digits = field
    .toString('latin1')
    .replace(/[\0 ]+$/, '')
    .replace(/^ +/, '');
  if (!/^[0-7]*$/.test(digits)) throw corrupt('tar.gz', `a header's ${what} is not a number (${JSON.stringify(digits)})`);
  return digits === '' ? 0 : parseInt(digits, 8);
}

function checksumMatches(header: Buffer): boolean {
  const stored = numberField(header, 148, 8, 'checksum');
  let unsigned = 0;
  let signed = 0;
  for (let index = 0; index < BLOCK; index += 1) {
    const byte = index >= 148 && index < 156 ? 0x20 : header[index]!;
    unsigned += byte;
    signed += byte > 127 ? byte - 256 : byte;
  }
  return stored === unsigned || stored === signed;
}

/** pax records: "<length> <key>=<value>\n", the length counting the whole record in bytes. */
function paxRecords(data: Buffer): Record<string, string> {
  const records: Record<string, string> = {};
  let offset = 0;
  while (offset < data.length) {
    if (data[offset] === 0) break; // padding some writers leave
    const space = data.indexOf(0x20, offset);
    const length = space === -1 ? NaN : Number(data.subarray(offset, space).toString('latin1'));
    if (!Number.isInteger(length) || length <= space - offset || offset + length > data.length || data[offset + length - 1] !== 0x0a) {
      throw corrupt('tar.gz', 'a pax extended header is malformed');
    }
    const record = data.subarray(space + 1, offset + length - 1).toString('utf8');
    const equals = record.indexOf('=');
    if (equals <= 0) throw corrupt('tar.gz', 'a pax extended header is malformed');
    records[record.slice(0, equals)] = record.slice(equals + 1);
    offset += length;
  }
  return records;
}

function paxSize(records: Record<string, string>): number | undefined {
  const size = records.size;
  if (size === undefined) return undefined;
  if (!/^\d+$/.test(size) || !Number.isSafeInteger(Number(size))) throw corrupt('tar.gz', `a pax header gives an impossible size (${JSON.stringify(size)})`);
  return Number(size);
}

const SPECIAL: Record<string, string> = { '3': 'character device', '4': 'block device', '6': 'FIFO (named pipe)' };

function entryOf(header: Buffer, name: string, linkName: string, size: number): ArchiveEntry {
  const type = header[156] === 0 ? '0' : String.fromCharCode(header[156]!);
  const mode = numberField(header, 100, 8, 'mode');
  if (type === '0' || type === '7') return { name, kind: name.endsWith('/') ? 'directory' : 'file', size, mode };
  if (type === '5') return { name, kind: 'directory', size, mode };
  if (type === '1') return { name, kind: 'hardlink', detail: linkName, size, mode };
  if (type === '2') return { name, kind: 'symlink', detail: linkName, size, mode };
  return { name, kind: 'special', detail: SPECIAL[type] ?? `tar entry of type '${type}'`, size, mode };
}

function headerName(header: Buffer): string {
  const name = text(header.subarray(0, 100));
  const ustar = header.subarray(257, 263).toString('latin1') === 'ustar\0'; // POSIX; GNU's "ustar  " uses the prefix bytes for times
  const prefix = ustar ? text(header.subarray(345, 500)) : '';
  return prefix === '' ? name : `${prefix}/${name}`;
}

const padding = (size: number): number => (BLOCK - (size % BLOCK)) % BLOCK;

async function readTar(reader: ChunkReader, tree: StagingTree): Promise<void> {
  const globalPax: Record<string, string> = {};
  let localPax: Record<string, string> = {};
  let longName: string | undefined;
  let longLink: string | undefined;
  let previous = 'the first entry';
  for (;;) {
    const header = await reader.exactly(BLOCK, `the header after ${previous}`, true);
    if (header === null) throw corrupt('tar.gz', `it ends after ${previous} without the end-of-archive marker`);
    if (header.every((byte) => byte === 0)) return; // end of archive; whatever follows is never inflated
    if (!checksumMatches(header)) throw corrupt('tar.gz', `the header after ${previous} has a wrong checksum`);
    const type = String.fromCharCode(header[156]!);
    const headerSize = numberField(header, 124, 12, 'size');
    if (type === 'L' || type === 'K' || type === 'x' || type === 'g') {
      if (headerSize > MAX_METADATA_BYTES) throw corrupt('tar.gz', `the metadata header after ${previous} is ${headerSize} bytes long`);
      tree.chargeMetadata(headerName(header), headerSize + padding(headerSize));
      const data = (await reader.exactly(headerSize + padding(headerSize), `the metadata after ${previous}`))!.subarray(0, headerSize);
      if (type === 'L') longName = text(data);
      else if (type === 'K') longLink = text(data);
      else if (type === 'x') localPax = paxRecords(data);
      else Object.assign(globalPax, paxRecords(data));
      continue;
    }
    const name = localPax.path ?? globalPax.path ?? longName ?? headerName(header);
    const linkName = localPax.linkpath ?? globalPax.linkpath ?? longLink ?? text(header.subarray(157, 257));
    const size = paxSize(localPax) ?? paxSize(globalPax) ?? headerSize;
    localPax = {};
    longName = undefined;
    longLink = undefined;
    const entry = entryOf(header, name, linkName, size);
    const relative = tree.admit(entry);
    const at = `entry ${JSON.stringify(name)}`;
    if (entry.kind === 'file' && relative !== null) {
      await tree.file(relative, entry.mode, reader.stream(size, at));
    } else {
      if (size > 0) throw corrupt('tar.gz', `the folder ${at} carries ${size} bytes of data`);
      if (relative !== null) await tree.directory(relative);
    }
    await reader.skip(padding(size), at);
    previous = at;
  }
}

/** Unpacks a .tar.gz into the staging tree; throws ArchiveRejected at the first entry it refuses. */
export async function readTarGz(bytes: Buffer, tree: StagingTree): Promise<void> {
  const gunzip = createGunzip();
  const chunks = gunzip[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  gunzip.end(bytes);
  try {
    await readTar(new ChunkReader(chunks), tree);
  } finally {
    gunzip.destroy();
  }
}
