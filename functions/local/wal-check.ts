/**
 * Proves an archived WAL sequence is whole before a restore relies on it, and says where replay
 * must end. PostgreSQL replays until it cannot read the next record and then, for a restore to
 * "latest", promotes as if that were the end: a missing or damaged middle segment silently cuts
 * the restore short. So the engine reads the segments the way recovery does (segment after
 * segment, page headers, record headers, the `xl_prev` chain and each record's CRC-32C) and refuses
 * a sequence with a gap or a bad record, naming the segment and the last commit before it.
 *
 * Every archived segment is complete (the server archives a segment only once it is finished), so
 * valid records must run to the segment's end or to an XLOG_SWITCH; anything else inside an
 * archived segment is damage. The walk ends normally only where the next segment is not archived
 * yet. Layouts are PostgreSQL's `access/xlog_internal.h` and `access/xlogrecord.h`.
 */
import { microsToDate, transactionTime, WAL_SEGMENT_NAME } from './wal.ts';
import {
  crc32cUpdate,
  formatLsn,
  LONG_PAGE_HEADER,
  SegmentReader,
  SHORT_PAGE_HEADER,
  segmentName,
  segmentNumber,
  WalProblem,
  XLP_FIRST_IS_CONTRECORD,
  XLP_LONG_HEADER,
} from './wal-reader.ts';

const XLP_ALL_FLAGS = 0x000f;
const RECORD_HEADER = 24;
/** `offsetof(XLogRecord, xl_crc)`: the header bytes the CRC covers, after the record's data. */
const CRC_OFFSET = 20;
const RM_XLOG_ID = 0;
const RM_XACT_ID = 1;
const XLOG_SWITCH = 0x40;
const XLOG_XACT_OPMASK = 0x70;
/** Commit, abort, commit prepared, abort prepared: the records a recovery to a time stops at. */
const STOP_OPS = new Set([0x00, 0x20, 0x30, 0x40]);
const COMMIT_OPS = new Set([0x00, 0x30]);
/** A record larger than this is garbage (PostgreSQL's own limit is 1 GB). */
const MAX_RECORD = 1024 * 1024 * 1024;

/** What the walk found: the sequence is whole up to its end, or where and why it is not. */
export type WalCheck =
  | {
      readonly status: 'complete';
      /** Segments read, first to last. */
      readonly first: string;
      readonly last: string;
      readonly segments: number;
      readonly timeline: number;
      readonly segmentSize: number;
      /** End of the last complete record: replay of this sequence must reach it. */
      readonly endLsn: bigint;
      /** The last commit read, and where it lies (a replay stopping before it lost data). */
      readonly lastCommitAt: Date | null;
      readonly lastCommitLsn: bigint | null;
      /** True when the walk stopped at a commit or abort after `stopAfter` (the target is inside). */
      readonly reachedTarget: boolean;
    }
  | {
      readonly status: 'missing' | 'damaged';
      /** The segment that is not in the archive, or whose bytes are not valid WAL. */
      readonly segment: string;
      /** Why, as PostgreSQL would put it, with the position. */
      readonly detail: string;
      /** The last commit before the problem: where a restore reading this archive would stop. */
      readonly lastCommitAt: Date | null;
    };

export interface WalCheckOptions {
  /** Folder holding the segments. */
  readonly dir: string;
  /** The segments that may be read (archived names, any order). */
  readonly segments: readonly string[];
  /** The first segment recovery reads (the backup's start segment). */
  readonly from: string;
  /**
   * Unix microseconds of a restore target: the walk ends at the first commit or abort after it,
   * where recovery to that time stops. Omitted for a restore that replays everything.
   */
  readonly stopAfter?: bigint;
  readonly signal?: AbortSignal;
}

/** The walk ended where the next segment is not archived yet: the normal end of an archive. */
class EndOfArchive extends Error {}

/**
 * Reads the WAL from the start of `from` through the newest archived segment (or to the first
 * stop record after `stopAfter`), checking what recovery checks. Never throws for bad WAL: the
 * result says what is wrong. Throws only when `from` itself cannot be read or the walk is aborted.
 */
export async function checkWalSequence(options: WalCheckOptions): Promise<WalCheck> {
  if (!WAL_SEGMENT_NAME.test(options.from)) throw new Error(`not a WAL segment name: ${options.from}`);
  const archived = new Set(options.segments.filter((n) => WAL_SEGMENT_NAME.test(n)));
  const timelinePrefix = options.from.slice(0, 8);
  const newest = [...archived]
    .filter((n) => n.startsWith(timelinePrefix))
    .sort()
    .pop();
  let lastCommitMicros: bigint | null = null;
  let lastCommitLsn: bigint | null = null;
  const lastCommit = () => (lastCommitMicros === null ? null : microsToDate(lastCommitMicros));
  if (!archived.has(options.from))
    return {
      status: 'missing',
      segment: options.from,
      detail: `the backup's first WAL segment ${options.from} is not in the archive`,
      lastCommitAt: null,
    };

  let reader: SegmentReader;
  try {
    reader = await SegmentReader.open(options.dir, options.from);
  } catch (error) {
    if (error instanceof WalProblem)
      return { status: error.kind, segment: error.segment, detail: error.message, lastCommitAt: null };
    throw error;
  }
  const geometry = reader.geometry;
  let segNo = segmentNumber(options.from, geometry);
  let segmentsRead = 1;
  let current = options.from;
  const segmentBase = () => segNo * BigInt(geometry.segmentSize);
  let segReader = reader;
  /** Byte offset inside the current segment. */
  let offset = 0;

  const nextSegment = async (): Promise<void> => {
    await segReader.close();
    segNo += 1n;
    const name = segmentName(segNo, geometry);
    if (!archived.has(name)) {
      if (newest !== undefined && name < newest)
        throw new WalProblem(
          'missing',
          name,
          `segment ${name} is missing from the archive, and later segments (up to ${newest}) are there`,
        );
      throw new EndOfArchive();
    }
    segReader = await SegmentReader.open(options.dir, name, geometry);
    current = name;
    segmentsRead += 1;
    offset = 0;
  };

  const damaged = (what: string): never => {
    throw new WalProblem(
      'damaged',
      current,
      `${what} at ${formatLsn(segmentBase() + BigInt(offset))} (segment ${current}, offset ${offset})`,
    );
  };

  /** Validates the page header at `offset` (a page boundary) and steps over it; returns its info. */
  const enterPage = async (remainingOfRecord: number | null): Promise<void> => {
    if (offset === geometry.segmentSize) await nextSegment();
    const long = offset === 0;
    const header = await segReader.read(offset, long ? LONG_PAGE_HEADER : SHORT_PAGE_HEADER);
    if (header.readUInt16LE(0) !== segReader.magic)
      damaged(`invalid magic number ${header.readUInt16LE(0).toString(16).padStart(4, '0')} in page header`);
    const info = header.readUInt16LE(2);
    if ((info & ~XLP_ALL_FLAGS) !== 0)
      damaged(`invalid info bits ${info.toString(16).padStart(4, '0')} in page header`);
    if (long !== ((info & XLP_LONG_HEADER) !== 0)) damaged('wrong page header kind');
    if (header.readUInt32LE(4) !== geometry.timeline)
      damaged(`unexpected timeline ${header.readUInt32LE(4)} in page header`);
    const address = header.readBigUInt64LE(8);
    if (address !== segmentBase() + BigInt(offset)) damaged(`unexpected page address ${formatLsn(address)}`);
    const continues = (info & XLP_FIRST_IS_CONTRECORD) !== 0;
    if (remainingOfRecord !== null) {
      if (!continues) damaged('there is no contrecord flag');
      if (header.readUInt32LE(16) !== remainingOfRecord)
        damaged(`invalid contrecord length ${header.readUInt32LE(16)} (expected ${remainingOfRecord})`);
    }
    offset += long ? LONG_PAGE_HEADER : SHORT_PAGE_HEADER;
  };

  /** Reads `n` bytes of one record from `offset`, crossing pages and segments. */
  const readRecordBytes = async (n: number, alreadyRead: number, total: number | null): Promise<Buffer> => {
    const parts: Buffer[] = [];
    let remaining = n;
    let done = alreadyRead;
    while (remaining > 0) {
      if (offset % geometry.pageSize === 0) await enterPage(total === null ? null : total - done);
      const take = Math.min(remaining, geometry.pageSize - (offset % geometry.pageSize));
      parts.push(await segReader.read(offset, take));
      offset += take;
      remaining -= take;
      done += take;
    }
    return parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts);
  };

  let previousStart: bigint | null = null;
  let endLsn = segmentBase();
  try {
    await enterPage(null);
    const first = await segReader.read(0, SHORT_PAGE_HEADER);
    if (first.readUInt16LE(2) & XLP_FIRST_IS_CONTRECORD) {
      // The tail of a record that began before this segment: recovery starts later, at the
      // backup's redo point, so it is stepped over (its page headers still checked).
      let rest = first.readUInt32LE(16);
      while (rest > 0) {
        if (offset % geometry.pageSize === 0) await enterPage(rest);
        const take = Math.min(rest, geometry.pageSize - (offset % geometry.pageSize));
        offset += take;
        rest -= take;
      }
    }
    for (;;) {
      options.signal?.throwIfAborted();
      offset = (offset + 7) & ~7;
      if (offset >= geometry.segmentSize) {
        offset = geometry.segmentSize;
        await enterPage(null);
      } else if (offset % geometry.pageSize === 0) {
        await enterPage(null);
      }
      const start = segmentBase() + BigInt(offset);
      // Whether the header fits on this page decides how its length is checked, as in xlogreader.
      const header = await readRecordBytes(RECORD_HEADER, 0, null);
      const totalLength = header.readUInt32LE(0);
      if (totalLength < RECORD_HEADER || totalLength > MAX_RECORD) {
        offset -= RECORD_HEADER; // report the record's own position
        damaged(
          `invalid record length ${totalLength} (a complete segment must run to its end or a WAL switch)`,
        );
      }
      const previous = header.readBigUInt64LE(8);
      if (previousStart !== null && previous !== previousStart) {
        offset -= RECORD_HEADER;
        damaged(
          `record with incorrect prev-link ${formatLsn(previous)} (expected ${formatLsn(previousStart)})`,
        );
      }
      const body = await readRecordBytes(totalLength - RECORD_HEADER, RECORD_HEADER, totalLength);
      let crc = crc32cUpdate(0xffffffff, body);
      crc = ~crc32cUpdate(crc, header.subarray(0, CRC_OFFSET)) >>> 0;
      if (crc !== header.readUInt32LE(CRC_OFFSET))
        damaged(`incorrect resource manager data checksum in record at ${formatLsn(start)}`);
      previousStart = start;
      endLsn = segmentBase() + BigInt(offset);
      const info = header.readUInt8(16);
      const rmid = header.readUInt8(17);
      if (rmid === RM_XACT_ID && STOP_OPS.has(info & XLOG_XACT_OPMASK)) {
        const micros = transactionTime(body);
        if (micros !== null) {
          if (options.stopAfter !== undefined && micros > options.stopAfter) {
            return complete(true);
          }
          if (COMMIT_OPS.has(info & XLOG_XACT_OPMASK)) {
            lastCommitMicros = micros;
            lastCommitLsn = start;
          }
        }
      } else if (rmid === RM_XLOG_ID && (info & 0xf0) === XLOG_SWITCH) {
        // The rest of the segment is padding: recovery goes on at the next segment.
        offset = geometry.segmentSize;
        endLsn = segmentBase() + BigInt(offset);
      }
    }
  } catch (error) {
    if (error instanceof EndOfArchive) return complete(false);
    if (error instanceof WalProblem)
      return {
        status: error.kind,
        segment: error.segment,
        detail: error.message,
        lastCommitAt: lastCommit(),
      };
    throw error;
  } finally {
    await segReader.close();
  }

  function complete(reachedTarget: boolean): WalCheck {
    return {
      status: 'complete',
      first: options.from,
      last: current,
      segments: segmentsRead,
      timeline: geometry.timeline,
      segmentSize: geometry.segmentSize,
      endLsn,
      lastCommitAt: lastCommit(),
      lastCommitLsn,
      reachedTarget,
    };
  }
}
