/**
 * The source's WAL archive: the shell commands PostgreSQL runs to fill and read it, and what is
 * really in it. Its coverage (the moment up to which it holds every commit) is known from what is
 * archived: the newest commit found in an archived segment, the end of a backup, or a WAL switch
 * the engine made and saw archived. A commit still in the source's `pg_wal/` is not restorable,
 * whatever the clock says; a quiet source loses nothing by being quiet.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { repositoriesOf } from './repositories.ts';
import type { StatePaths } from './state.ts';
import { DamagedStateError, readJson, writeJson } from './state-json.ts';
import { microsToDate, summarizeSegment, WAL_SEGMENT_NAME } from './wal.ts';

/** Quotes a folder for /bin/sh and doubles `%` so that PostgreSQL does not expand it as %p or %f. */
function shellDir(dir: string): string {
  return `'${dir.replaceAll("'", "'\\''").replaceAll('%', '%%')}`;
}

/** Archiving into one folder: the shell snippet of {@link archiveCommand} for it. */
function archiveInto(archiveDir: string): string {
  const dir = shellDir(archiveDir);
  const final = `${dir}/%f'`;
  const temp = `${dir}/.%f.tmp'`;
  return `if [ -f ${final} ]; then cmp -s %p ${final}; else cp %p ${temp} && cmp -s %p ${temp} && mv ${temp} ${final}; fi`;
}

/**
 * `archive_command`: into each folder (the primary archive, then the isolated copy's), copy to a
 * temp name, compare the copy with the segment, then rename (a reader never sees half a segment,
 * nor a copy that differs); an existing file is never overwritten: the same bytes count as
 * archived, different bytes fail. Every folder is tried even when an earlier one failed (the
 * isolated copy keeps receiving while the primary is lost), and the command succeeds only when
 * every folder holds the segment: otherwise PostgreSQL keeps the segment and retries, and the
 * operator sees the failures in `local source status`.
 */
export function archiveCommand(archiveDir: string, ...more: string[]): string {
  const dirs = [archiveDir, ...more];
  if (dirs.length === 1) return archiveInto(archiveDir);
  return `ok=0; ${dirs.map((dir) => `(${archiveInto(dir)}) || ok=1;`).join(' ')} exit $ok`;
}

/** `restore_command` of a restored instance: fails (as PostgreSQL expects) when a file is not archived. */
export function restoreCommand(archiveDir: string): string {
  return `cp ${shellDir(archiveDir)}/%f' %p`;
}

/** Archived WAL segment names, oldest first. */
export async function archivedSegments(archiveDir: string): Promise<string[]> {
  try {
    return (await readdir(archiveDir)).filter((n) => WAL_SEGMENT_NAME.test(n)).sort();
  } catch {
    return [];
  }
}

export interface IndexEntry {
  size: number;
  commits: number;
  /** Unix microseconds as a decimal string (JSON has no bigint). */
  lastCommitMicros: string | null;
}

export type WalIndex = Record<string, IndexEntry>;

/** Summary of one archived segment, cached: archived segments never change. */
async function segmentEntry(paths: StatePaths, index: WalIndex, name: string): Promise<IndexEntry> {
  const path = join(paths.walArchive, name);
  const size = (await stat(path)).size;
  const cached = index[name];
  if (cached && cached.size === size) return cached;
  const summary = summarizeSegment(await readFile(path));
  const entry: IndexEntry = {
    size,
    commits: summary.commits,
    lastCommitMicros: summary.lastCommitMicros === null ? null : summary.lastCommitMicros.toString(),
  };
  index[name] = entry;
  return entry;
}

/**
 * The per-segment cache. It is only a cache (every entry is re-read from its segment): an
 * unreadable one is dropped and rebuilt rather than failing the command that needed it.
 */
export async function readWalIndex(paths: StatePaths): Promise<{ index: WalIndex; rebuilt: boolean }> {
  try {
    const index = await readJson<WalIndex>(paths.walIndex);
    if (index === null) return { index: {}, rebuilt: false };
    if (typeof index !== 'object' || Array.isArray(index)) return { index: {}, rebuilt: true };
    return { index, rebuilt: false };
  } catch (error) {
    if (error instanceof DamagedStateError) return { index: {}, rebuilt: true };
    throw error;
  }
}

export interface ArchiveSummary {
  readonly segments: number;
  readonly bytes: number;
  readonly oldest: string | null;
  readonly newest: string | null;
  /** The newest commit in the archive (truncated to milliseconds); null when it holds no commit. */
  readonly lastCommitAt: Date | null;
  /** The segment holding that commit. */
  readonly lastCommitSegment: string | null;
}

/** What the archive holds and its newest commit (segments read newest first until one has a commit). */
export async function summarizeArchive(
  paths: StatePaths,
  segments?: readonly string[],
): Promise<ArchiveSummary> {
  const names = segments ? [...segments] : await archivedSegments(paths.walArchive);
  const { index, rebuilt } = await readWalIndex(paths);
  let bytes = 0;
  let lastCommitMicros: bigint | null = null;
  let lastCommitSegment: string | null = null;
  let changed = rebuilt;
  for (let i = names.length - 1; i >= 0; i--) {
    const name = names[i] as string;
    if (lastCommitMicros === null) {
      const before = index[name];
      const entry = await segmentEntry(paths, index, name);
      if (entry !== before) changed = true;
      bytes += entry.size;
      if (entry.lastCommitMicros !== null) {
        lastCommitMicros = BigInt(entry.lastCommitMicros);
        lastCommitSegment = name;
      }
    } else {
      bytes += index[name]?.size ?? (await stat(join(paths.walArchive, name))).size;
    }
  }
  for (const name of segments ? [] : Object.keys(index)) {
    if (!names.includes(name)) {
      delete index[name];
      changed = true;
    }
  }
  if (changed) await writeJson(paths.walIndex, index);
  return {
    segments: names.length,
    bytes,
    oldest: names[0] ?? null,
    newest: names[names.length - 1] ?? null,
    lastCommitAt: lastCommitMicros === null ? null : microsToDate(lastCommitMicros),
    lastCommitSegment,
  };
}

/**
 * One WAL switch the engine made on the source: every commit before `at` is in `segment` or an
 * earlier one. The archive's own commits cannot say how far it reaches on a quiet source (no
 * commit, no timestamp), so the engine records the moments it knows it covers.
 */
export interface CoverageMark {
  /** ISO UTC, the source's clock: {@link SWITCH_MARGIN_MS} before the switch. */
  readonly at: string;
  /** The segment the switch completed: once it is archived, `at` is covered. */
  readonly segment: string;
}

/**
 * A commit takes its timestamp just before it enters the WAL, so one in flight at the switch may
 * carry an earlier time and still land after the switch record. Coverage ends this much before the
 * switch so that no such commit falls inside it (entering the WAL takes microseconds).
 */
export const SWITCH_MARGIN_MS = 1000;
/** Marks kept: the newest is what counts, a few older ones serve restores that froze earlier lists. */
const KEPT_MARKS = 32;

/** The marks on record, oldest first (a damaged file counts as none: coverage then comes from commits). */
export async function readCoverageMarks(paths: Pick<StatePaths, 'walCoverage'>): Promise<CoverageMark[]> {
  const marks = await readJson<unknown>(paths.walCoverage).catch(() => null);
  if (!Array.isArray(marks)) return [];
  return marks.filter(
    (m): m is CoverageMark =>
      typeof m === 'object' &&
      m !== null &&
      typeof (m as CoverageMark).at === 'string' &&
      !Number.isNaN(Date.parse((m as CoverageMark).at)) &&
      typeof (m as CoverageMark).segment === 'string' &&
      WAL_SEGMENT_NAME.test((m as CoverageMark).segment),
  );
}

/** The newest mark whose segment is among `segments` (archived), or null. */
export function newestCoveredMark(
  marks: readonly CoverageMark[],
  segments: readonly string[],
): CoverageMark | null {
  const archived = new Set(segments);
  let newest: CoverageMark | null = null;
  for (const mark of marks) {
    if (!archived.has(mark.segment)) continue;
    if (!newest || Date.parse(mark.at) > Date.parse(newest.at)) newest = mark;
  }
  return newest;
}

/**
 * Makes the running source complete its current WAL segment (`pg_switch_wal()`) and waits until
 * the archive holds it: then every commit before the switch is archived, and coverage reaches the
 * present even on a source with no writes. The mark is recorded for later restores to a past time.
 * @returns the mark, or null when the segment was not archived within `timeoutMs` (the archiver is
 *   failing: coverage stays where it was, and the drill's RPO shows it).
 */
export async function switchAndMarkCoverage(
  paths: StatePaths,
  sourceUrl: string,
  options: { timeoutMs: number; signal?: AbortSignal },
): Promise<CoverageMark | null> {
  const client = new pg.Client({ connectionString: sourceUrl, application_name: 'recovery-drill coverage' });
  client.on('error', () => undefined);
  await client.connect();
  let mark: CoverageMark;
  try {
    // The time first, then the switch: every commit stamped before `at` entered the WAL before it.
    const now = await client.query<{ at: Date }>('select clock_timestamp() as at');
    const at = now.rows[0]?.at as Date;
    // The switch returns the start of the next segment (or, with no WAL written since the last
    // switch, of the current one): the segment holding the byte before it is complete either way.
    // (Whether pg_walfile_name names the segment before a boundary differs between versions.)
    const switched = await client.query<{ segment: string }>(
      'select pg_walfile_name(pg_switch_wal() - 1) as segment',
    );
    mark = {
      at: new Date(at.getTime() - SWITCH_MARGIN_MS).toISOString(),
      segment: switched.rows[0]?.segment as string,
    };
  } finally {
    await client.end().catch(() => undefined);
  }
  const deadline = Date.now() + options.timeoutMs;
  while (!existsSync(join(paths.walArchive, mark.segment))) {
    options.signal?.throwIfAborted();
    if (Date.now() > deadline) return null;
    await new Promise((r) => setTimeout(r, 50));
  }
  // Every repository that holds the segment is covered up to the mark (the view's is, by the wait).
  for (const { repository } of repositoriesOf(paths)) {
    if (repository.walArchive !== paths.walArchive && !existsSync(join(repository.walArchive, mark.segment)))
      continue;
    const marks = [...(await readCoverageMarks(repository)), mark]
      .sort((a, b) => Date.parse(a.at) - Date.parse(b.at))
      .slice(-KEPT_MARKS);
    await writeJson(repository.walCoverage, marks);
  }
  return mark;
}
