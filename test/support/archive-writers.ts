/**
 * Tiny tar and zip writers for the archive tests, written from the format specs and independent of the
 * readers in infra/: they build well-formed archives and hostile ones (links, devices, `..` names, wrong
 * checksums, lying sizes, encrypted flags) that no well-behaved tool would write.
 */
import { crc32, deflateRawSync, gzipSync } from 'node:zlib';

export interface TarEntry {
  name: string;
  /** ustar typeflag: '0' file, '1' hard link, '2' symlink, '3' char device, '4' block device, '5' directory, '6' FIFO, 'x' pax, 'L' GNU long name. */
  type?: string;
  content?: Buffer | string;
  linkname?: string;
  mode?: number;
  /** Size written in the header, when it should differ from the content's. */
  size?: number;
  prefix?: string;
  /** Add this to the computed checksum (non-zero: a wrong checksum). */
  checksumError?: number;
}

function field(header: Buffer, offset: number, length: number, value: string): void {
  Buffer.from(value, 'utf8').copy(header, offset, 0, length);
}

const octal = (value: number, width: number): string => `${value.toString(8).padStart(width - 1, '0')}\0`;

export function tarHeader(entry: TarEntry): Buffer {
  const content = entry.content === undefined ? Buffer.alloc(0) : Buffer.from(entry.content);
  const header = Buffer.alloc(512);
  field(header, 0, 100, entry.name);
  field(header, 100, 8, octal(entry.mode ?? (entry.type === '5' ? 0o755 : 0o644), 8));
  field(header, 108, 8, octal(1000, 8));
  field(header, 116, 8, octal(1000, 8));
  field(header, 124, 12, octal(entry.size ?? content.length, 12));
  field(header, 136, 12, octal(1_700_000_000, 12));
  header.fill(0x20, 148, 156);
  field(header, 156, 1, entry.type ?? '0');
  field(header, 157, 100, entry.linkname ?? '');
  field(header, 257, 6, 'ustar\0');
  field(header, 263, 2, '00');
  field(header, 265, 32, 'someone');
  field(header, 297, 32, 'staff');
  field(header, 345, 155, entry.prefix ?? '');
  let sum = 0;
  for (const byte of header) sum += byte;
  field(header, 148, 8, `${(sum + (entry.checksumError ?? 0)).toString(8).padStart(6, '0')}\0 `);
  return header;
}

const pad = (length: number): Buffer => Buffer.alloc((512 - (length % 512)) % 512);

/** A pax 'x' header carrying `records` (e.g. { path: '../x' }) for the entry that follows it. */
export function paxEntry(records: Record<string, string>): TarEntry {
  let body = '';
  for (const [key, value] of Object.entries(records)) {
    const tail = ` ${key}=${value}\n`;
    let length = Buffer.byteLength(tail) + 1;
    while (String(length).length + Buffer.byteLength(tail) !== length) length += 1;
    body += `${length}${tail}`;
  }
  return { name: 'PaxHeader/entry', type: 'x', content: body };
}

/** An uncompressed tar of `entries`, with the two zero blocks at the end unless `end` is false. */
export function tar(entries: TarEntry[], end = true): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const content = entry.content === undefined ? Buffer.alloc(0) : Buffer.from(entry.content);
    parts.push(tarHeader(entry), content, pad(content.length));
  }
  if (end) parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}

export const tarGz = (entries: TarEntry[], end = true): Buffer => gzipSync(tar(entries, end));

export interface ZipEntry {
  name: string;
  content?: Buffer | string;
  /** 0 stored, 8 deflate (default), anything else written as is with the content stored. */
  method?: number;
  /** Unix mode in the high 16 bits of the external attributes (e.g. 0o120777 for a symlink). */
  unixMode?: number;
  flags?: number;
  /** Uncompressed size written in the headers, when it should lie. */
  declaredSize?: number;
  /** Already-deflated data to store instead of deflating `content` (with declaredSize and crc). */
  rawData?: Buffer;
  crc?: number;
}

/** A zip of `entries`: local headers, data, central directory, end record. */
export function zip(entries: ZipEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const content = entry.content === undefined ? Buffer.alloc(0) : Buffer.from(entry.content);
    const method = entry.method ?? 8;
    const data = entry.rawData ?? (method === 8 ? deflateRawSync(content) : content);
    const crc = entry.crc ?? crc32(content);
    const size = entry.declaredSize ?? content.length;
    const name = Buffer.from(entry.name, 'utf8');
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE((entry.flags ?? 0) | 0x800, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(crc >>> 0, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE((entry.flags ?? 0) | 0x800, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(crc >>> 0, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    const mode = entry.unixMode ?? (entry.name.endsWith('/') ? 0o040755 : 0o100644);
    central.writeUInt32LE(((mode << 16) | (entry.name.endsWith('/') ? 0x10 : 0)) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, data);
    centrals.push(central, name);
    offset += local.length + name.length + data.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}
