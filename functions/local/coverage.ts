/**
 * What the archived WAL covers: the span a local restore can reach, known from what is archived
 * (the backups' ends, the newest archived commit, the WAL switches the engine made and saw
 * archived), never from the time of the last commit alone.
 */
import {
  type CoverageMark,
  newestCoveredMark,
  readCoverageMarks,
  summarizeArchive,
  switchAndMarkCoverage,
} from './archive.ts';
import { listBackups } from './backup.ts';
import { runningSource } from './source.ts';
import type { StatePaths } from './state.ts';

/** How long a "latest" restore waits for the source's switched WAL segment to be archived. */
const COVERAGE_WAIT_MS = 30_000;

/**
 * What the given archived segments cover (a restore freezes the list it works from): from the
 * end of the oldest backup to the latest of the newest backup's end (its stop waited for its last
 * segment to be archived), the newest archived commit, and the newest WAL switch the engine made
 * whose segment is archived. Known from what is archived, never from the time of the last commit
 * alone: a quiet source is covered up to its last switch.
 */
export async function coverageOver(
  paths: StatePaths,
  segments: readonly string[],
): Promise<{
  earliest: Date | null;
  coverage: { end: Date; lastCommitAt: Date | null; mark: CoverageMark | null } | null;
}> {
  const backups = (await listBackups(paths)).filter((b) => b.status === 'available' && b.stoppedAt);
  const oldest = backups[0];
  const newest = backups[backups.length - 1];
  if (!oldest?.stoppedAt || !newest?.stoppedAt) return { earliest: null, coverage: null };
  const archive = await summarizeArchive(paths, segments);
  const mark = newestCoveredMark(await readCoverageMarks(paths), segments);
  const candidates = [new Date(newest.stoppedAt), archive.lastCommitAt, mark ? new Date(mark.at) : null];
  const end = new Date(Math.max(...candidates.filter((d): d is Date => d !== null).map((d) => d.getTime())));
  return {
    earliest: new Date(oldest.stoppedAt),
    coverage: { end, lastCommitAt: archive.lastCommitAt, mark },
  };
}

/**
 * Switches the running source's WAL and waits for the segment in the archive (see
 * {@link switchAndMarkCoverage}); does nothing when the source is not running, and leaves the
 * coverage as it was when the switch fails or the archiver does not take the segment in time.
 */
export async function markCoverage(paths: StatePaths): Promise<CoverageMark | null> {
  const source = await runningSource(paths);
  if (!source) return null;
  try {
    return await switchAndMarkCoverage(paths, source.url('postgres'), {
      timeoutMs: COVERAGE_WAIT_MS,
    });
  } catch {
    return null;
  }
}
