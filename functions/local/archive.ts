/**
 * The source's WAL archive: the shell commands PostgreSQL runs to fill and read it, and what is
 * really in it. The latest restorable time is the newest commit found in an archived segment:
 * a commit still in the source's `pg_wal/` is not restorable, whatever the clock says.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { StatePaths } from './state.ts';
import { readJson, writeJson } from './state.ts';
import { microsToDate, summarizeSegment, WAL_SEGMENT_NAME } from './wal.ts';

/** Quotes a folder for /bin/sh and doubles `%` so that PostgreSQL does not expand it as %p or %f. */
function shellDir(dir: string): string {
  return `'${dir.replaceAll("'", "'\\''").replaceAll('%', '%%')}`;
}

/**
 * `archive_command`: copy to a temp name then rename (a reader never sees half a segment); an
 * existing file is never overwritten: the same bytes count as archived, different bytes fail
 * (the archiver retries and logs it, and the operator sees it in `local source status`).
 */
export function archiveCommand(archiveDir: string): string {
  const dir = shellDir(archiveDir);
  const final = `${dir}/%f'`;
  const temp = `${dir}/.%f.tmp'`;
  return `if [ -f ${final} ]; then cmp -s %p ${final}; else cp %p ${temp} && mv ${temp} ${final}; fi`;
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

interface IndexEntry {
  size: number;
  commits: number;
  /** Unix microseconds as a decimal string (JSON has no bigint). */
  lastCommitMicros: string | null;
}

type WalIndex = Record<string, IndexEntry>;

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
  const index = (await readJson<WalIndex>(paths.walIndex)) ?? {};
  let bytes = 0;
  let lastCommitMicros: bigint | null = null;
  let lastCommitSegment: string | null = null;
  let changed = false;
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
