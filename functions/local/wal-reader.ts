/**
 * The pieces of reading archived WAL as recovery does: segment names and numbers, LSNs as
 * PostgreSQL prints them, CRC-32C, and a segment file read page by page with its long header
 * checked. {@link checkWalSequence} in wal-check.ts walks a sequence with them.
 */
import { open } from 'node:fs/promises';
import { join } from 'node:path';

export const XLP_FIRST_IS_CONTRECORD = 0x0001;
export const XLP_LONG_HEADER = 0x0002;
export const SHORT_PAGE_HEADER = 24;
export const LONG_PAGE_HEADER = 40;
/** How much of a segment is read at a time: most archived segments end after a few pages. */
const CHUNK = 256 * 1024;

const CRC32C_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32C (Castagnoli), continued from `crc` (start with 0xffffffff, finish with `~crc`). */
export function crc32cUpdate(crc: number, bytes: Uint8Array): number {
  let c = crc;
  for (let i = 0; i < bytes.length; i++)
    c = (CRC32C_TABLE[(c ^ (bytes[i] as number)) & 0xff] as number) ^ (c >>> 8);
  return c >>> 0;
}

/** `0/3000148`: an LSN as PostgreSQL prints it. */
export function formatLsn(lsn: bigint): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}

/** Parses `0/3000148`. */
export function parseLsn(text: string): bigint {
  const match = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text.trim());
  if (!match) throw new Error(`not an LSN: ${text}`);
  return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`);
}

export interface SegmentGeometry {
  readonly timeline: number;
  readonly segmentSize: number;
  readonly pageSize: number;
}

export function segmentNumber(name: string, geometry: SegmentGeometry): bigint {
  const perLogId = 0x1_0000_0000n / BigInt(geometry.segmentSize);
  return BigInt(`0x${name.slice(8, 16)}`) * perLogId + BigInt(`0x${name.slice(16, 24)}`);
}

export function segmentName(segNo: bigint, geometry: SegmentGeometry): string {
  const perLogId = 0x1_0000_0000n / BigInt(geometry.segmentSize);
  const hex = (n: bigint | number) => n.toString(16).toUpperCase().padStart(8, '0');
  return `${hex(geometry.timeline)}${hex(segNo / perLogId)}${hex(segNo % perLogId)}`;
}

/** The segment holding `lsn` (timeline, segment size as in the sequence's headers). */
export function segmentOfLsn(lsn: bigint, timeline: number, segmentSize: number): string {
  const geometry = { timeline, segmentSize, pageSize: 0 };
  return segmentName(lsn / BigInt(segmentSize), geometry);
}

/** Why a sequence cannot be replayed whole: a segment missing, or bytes that are not valid WAL. */
export class WalProblem extends Error {
  constructor(
    readonly kind: 'missing' | 'damaged',
    readonly segment: string,
    message: string,
  ) {
    super(message);
  }
}

/** One segment file, read in chunks as the walk needs them. */
export class SegmentReader {
  private chunkStart = -1;
  private chunk = Buffer.alloc(0);

  private constructor(
    private readonly handle: Awaited<ReturnType<typeof open>>,
    readonly name: string,
    readonly geometry: SegmentGeometry,
    readonly magic: number,
    private readonly size: number,
  ) {}

  /** Opens a segment; the first one (no `geometry`) gives the geometry from its long header. */
  static async open(dir: string, name: string, geometry?: SegmentGeometry): Promise<SegmentReader> {
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(join(dir, name), 'r');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? String(error);
      if (code === 'ENOENT')
        throw new WalProblem('missing', name, `segment ${name} is missing from the archive`);
      throw new WalProblem('damaged', name, `segment ${name} cannot be read (${code})`);
    }
    try {
      const size = (await handle.stat()).size;
      const head = Buffer.alloc(LONG_PAGE_HEADER);
      const { bytesRead } = await handle.read(head, 0, LONG_PAGE_HEADER, 0);
      const damaged = (why: string) => new WalProblem('damaged', name, `${why} (segment ${name}, offset 0)`);
      if (bytesRead < LONG_PAGE_HEADER)
        throw damaged(`segment is ${size} bytes, too short for a WAL segment`);
      const magic = head.readUInt16LE(0);
      const own: SegmentGeometry = {
        timeline: Number.parseInt(name.slice(0, 8), 16),
        segmentSize: head.readUInt32LE(32),
        pageSize: head.readUInt32LE(36),
      };
      const expected = geometry ?? own;
      const sane =
        (head.readUInt16LE(2) & XLP_LONG_HEADER) !== 0 &&
        own.segmentSize === expected.segmentSize &&
        own.pageSize === expected.pageSize &&
        expected.pageSize >= 1024 &&
        (expected.pageSize & (expected.pageSize - 1)) === 0 &&
        expected.segmentSize % expected.pageSize === 0;
      if (!sane) throw damaged('invalid long page header (segment or page size)');
      if (size !== expected.segmentSize)
        throw damaged(`segment is ${size} bytes, not the ${expected.segmentSize} its header declares`);
      return new SegmentReader(handle, name, expected, magic, size);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /** `length` bytes at `position` (within one page). */
  async read(position: number, length: number): Promise<Buffer> {
    if (position + length > this.size)
      throw new WalProblem('damaged', this.name, `read past the end of segment ${this.name}`);
    if (position < this.chunkStart || position + length > this.chunkStart + this.chunk.length) {
      const start = position - (position % this.geometry.pageSize);
      const size = Math.min(CHUNK, this.size - start);
      const buffer = Buffer.alloc(size);
      await this.handle.read(buffer, 0, size, start);
      this.chunk = buffer;
      this.chunkStart = start;
    }
    return this.chunk.subarray(position - this.chunkStart, position - this.chunkStart + length);
  }

  async close(): Promise<void> {
    await this.handle.close().catch(() => undefined);
  }
}
