/**
 * The .zip reader for uploaded submissions: reads the central directory (the zip's own table of contents),
 * checks every entry before writing it, and inflates deflated entries as a stream that stops as soon as an
 * entry gives more bytes than it declared or the archive more than the budget, so a zip bomb is refused
 * after about the budget's worth of output. Stored (0) and deflate (8) only; no encryption, no zip64.
 */
import { createInflateRaw, crc32 } from 'node:zlib';
import { ArchiveRejected, corrupt, tooManyFiles, type ArchiveEntry, type ArchiveLimits, type StagingTree } from './archive-staging.js';

const END_SIGNATURE = 0x06054b50;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const CENTRAL_SIGNATURE = 0x02014b50;
const LOCAL_SIGNATURE = 0x04034b50;
const END_LENGTH = 22;
const CENTRAL_LENGTH = 46;
const LOCAL_LENGTH = 30;
const STORED_CHUNK = 64 * 1024;

interface CentralRecord {
  name: string;
  rawName: Buffer;
  flags: number;
  method: number;
  crc: number;
  compressedSize: number;
  size: number;
  externalAttributes: number;
  localOffset: number;
}

const quoted = (name: string): string => JSON.stringify(name);

function endRecordOffset(bytes: Buffer): number {
  const lowest = Math.max(0, bytes.length - END_LENGTH - 0xffff);
  for (let offset = bytes.length - END_LENGTH; offset >= lowest; offset -= 1) {
    if (bytes.readUInt32LE(offset) === END_SIGNATURE) return offset;
  }
  throw corrupt('zip', 'it has no end-of-central-directory record');
}

function centralDirectory(bytes: Buffer, limits: ArchiveLimits): CentralRecord[] {
  const end = endRecordOffset(bytes);
  const count = bytes.readUInt16LE(end + 10);
  const directorySize = bytes.readUInt32LE(end + 12);
  const directoryOffset = bytes.readUInt32LE(end + 16);
  const zip64 =
    count === 0xffff ||
    directorySize === 0xffffffff ||
    directoryOffset === 0xffffffff ||
    (end >= 20 && bytes.readUInt32LE(end - 20) === ZIP64_LOCATOR_SIGNATURE);
  if (zip64) {
    throw new ArchiveRejected(
      400,
      'zip64',
      'the .zip uses zip64 (for archives over 4 GiB or 65,535 entries), which the intake does not read: upload a .tar.gz instead',
    );
  }
  if (bytes.readUInt16LE(end + 4) !== 0 || bytes.readUInt16LE(end + 6) !== 0 || bytes.readUInt16LE(end + 8) !== count) {
    throw new ArchiveRejected(400, 'corrupt', 'the .zip is split into several parts: upload it as one .zip (or a .tar.gz)');
  }
  if (count > limits.maxFiles) throw tooManyFiles(limits.maxFiles);
  if (directoryOffset + directorySize > end) throw corrupt('zip', 'its central directory lies outside the file');
  const records: CentralRecord[] = [];
  let offset = directoryOffset;
  for (let index = 0; index < count; index += 1) {
    if (offset + CENTRAL_LENGTH > end || bytes.readUInt32LE(offset) !== CENTRAL_SIGNATURE)
      throw corrupt('zip', `central directory record ${index + 1} of ${count} is missing`);
    const nameLength = bytes.readUInt16LE(offset + 28);
    const extraLength = bytes.readUInt16LE(offset + 30);
    const commentLength = bytes.readUInt16LE(offset + 32);
    const rawName = bytes.subarray(offset + CENTRAL_LENGTH, offset + CENTRAL_LENGTH + nameLength);
    records.push({
      name: rawName.toString('utf8'),
      rawName,
      flags: bytes.readUInt16LE(offset + 8),
      method: bytes.readUInt16LE(offset + 10),
      crc: bytes.readUInt32LE(offset + 16),
      compressedSize: bytes.readUInt32LE(offset + 20),
      size: bytes.readUInt32LE(offset + 24),
      externalAttributes: bytes.readUInt32LE(offset + 38),
      localOffset: bytes.readUInt32LE(offset + 42),
    });
    offset += CENTRAL_LENGTH + nameLength + extraLength + commentLength;
    if (offset > end) throw corrupt('zip', `central directory record ${index + 1} of ${count} runs past the directory`);
  }
  return records;
}

/** Where each entry's data lies; refuses entries whose local header disagrees with the directory or whose data overlap another's. */
function dataRanges(bytes: Buffer, records: CentralRecord[], directoryStart: number): Map<CentralRecord, { header: number; start: number; end: number }> {
  const ranges = new Map<CentralRecord, { header: number; start: number; end: number }>();
  for (const record of records) {
    const header = record.localOffset;
    if (header + LOCAL_LENGTH > bytes.length || bytes.readUInt32LE(header) !== LOCAL_SIGNATURE)
      throw corrupt('zip', `entry ${quoted(record.name)} has no local header`);
    const nameLength = bytes.readUInt16LE(header + 26);
    const start = header + LOCAL_LENGTH + nameLength + bytes.readUInt16LE(header + 28);
    if (!bytes.subarray(header + LOCAL_LENGTH, header + LOCAL_LENGTH + nameLength).equals(record.rawName)) {
      throw corrupt('zip', `entry ${quoted(record.name)} has a different name in its local header`);
    }
    if (start + record.compressedSize > directoryStart) throw corrupt('zip', `entry ${quoted(record.name)} runs past the end of the data`);
    ranges.set(record, { header, start, end: start + record.compressedSize });
  }
  const ordered = [...ranges].sort(([, a], [, b]) => a.header - b.header);
  for (let index = 1; index < ordered.length; index += 1) {
    const [record, range] = ordered[index]!;
    if (range.header < ordered[index - 1]![1].end) throw corrupt('zip', `entry ${quoted(record.name)} overlaps another entry's data`);
  }
  return ranges;
}

const UNIX_TYPES: Record<number, string> = { 0o010000: 'FIFO (named pipe)', 0o020000: 'character device', 0o060000: 'block device', 0o140000: 'socket' };

function entryOf(record: CentralRecord, data: Buffer): ArchiveEntry {
  const mode = record.externalAttributes >>> 16;
  const type = mode & 0o170000;
  const msDosDirectory = (record.externalAttributes & 0x10) !== 0;
  if (type === 0o120000) {
    const target = record.method === 0 && data.length <= 4096 ? data.toString('utf8') : undefined;
    return { name: record.name, kind: 'symlink', ...(target === undefined ? {} : { detail: target }), size: record.size, mode };
  }
  if (type !== 0 && type !== 0o100000 && type !== 0o040000)
    return { name: record.name, kind: 'special', detail: UNIX_TYPES[type] ?? 'special file', size: record.size, mode };
  const directory = record.name.endsWith('/') || type === 0o040000 || msDosDirectory;
  return { name: record.name, kind: directory ? 'directory' : 'file', size: record.size, mode };
}

async function* storedChunks(data: Buffer): AsyncGenerator<Buffer> {
  for (let offset = 0; offset < data.length; offset += STORED_CHUNK) yield data.subarray(offset, offset + STORED_CHUNK);
}

/** Inflates one entry, refusing as soon as it gives more than it declared; checks its size and CRC-32 at the end. */
async function* contentOf(record: CentralRecord, data: Buffer): AsyncGenerator<Buffer> {
  const name = quoted(record.name);
  let produced = 0;
  let checksum = 0;
  if (record.method === 0) {
    for await (const chunk of storedChunks(data)) {
      produced += chunk.length;
      checksum = crc32(chunk, checksum);
      yield chunk;
    }
  } else {
    const inflater = createInflateRaw();
    inflater.end(data);
    try {
      for await (const chunk of inflater as AsyncIterable<Buffer>) {
        produced += chunk.length;
        if (produced > record.size) throw corrupt('zip', `entry ${name} inflates to more than the ${record.size} bytes its header declares`);
        checksum = crc32(chunk, checksum);
        yield chunk;
      }
    } catch (error) {
      if (error instanceof ArchiveRejected) throw error;
      throw corrupt('zip', `entry ${name} could not be inflated (${(error as Error).message})`);
    } finally {
      inflater.destroy();
    }
  }
  if (produced !== record.size) throw corrupt('zip', `entry ${name} holds ${produced} bytes, not the ${record.size} its header declares`);
  if (checksum >>> 0 !== record.crc) throw corrupt('zip', `entry ${name} fails its CRC-32 check`);
}

/** Unpacks a .zip into the staging tree; throws ArchiveRejected at the first entry it refuses. */
export async function readZip(bytes: Buffer, tree: StagingTree, limits: ArchiveLimits): Promise<void> {
  const records = centralDirectory(bytes, limits);
  const directoryStart = records.length === 0 ? bytes.length : bytes.readUInt32LE(endRecordOffset(bytes) + 16);
  const ranges = dataRanges(bytes, records, directoryStart);
  for (const record of records) {
    const range = ranges.get(record)!;
    const data = bytes.subarray(range.start, range.end);
    const entry = entryOf(record, data);
    const relative = tree.admit(entry);
    if (relative === null) continue;
    if (entry.kind === 'directory') {
      await tree.directory(relative);
      continue;
    }
    if ((record.flags & 0x41) !== 0 || record.method === 99) {
      throw new ArchiveRejected(400, 'encrypted', `entry ${quoted(relative)} is encrypted: zip the submission without a password`);
    }
    if (record.method !== 0 && record.method !== 8) {
      throw new ArchiveRejected(
        400,
        'unsupported-compression',
        `entry ${quoted(relative)} uses zip compression method ${record.method}; the intake reads stored (0) and deflate (8): zip it with the default settings or upload a .tar.gz`,
      );
    }
    if (record.method === 0 && record.compressedSize !== record.size) throw corrupt('zip', `stored entry ${quoted(relative)} has two different sizes`);
    await tree.file(relative, entry.mode, contentOf(record, data));
  }
}
