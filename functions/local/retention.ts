/**
 * Local retention: the project's own retention planner (`planRetention`, functions/core/retention.ts)
 * applied to the local engine's backups, and the archived WAL that only the removed backups
 * needed taken away with them. Without it the local source fills the disk: one 16 MiB segment a
 * minute with the default `archive_timeout` is about 1.2 GB an hour, and a backup a day adds a
 * full copy of the cluster.
 *
 * The safety rules are the AWS prune job's (functions/shared/jobs/prune.ts), on folders:
 * - The decision is the planner's, with `local.retention` (daily, monthly) and the project's
 *   safety cap `retention.maxDeletionsPerRun`: only managed backups (tag `recovery-drill:managed`
 *   = `true`, status `available`) are ever deleted, the newest managed one never.
 * - A listing that may have missed a backup (a folder of `backups/` without a readable
 *   `backup.json`, an unreadable `backups/`) deletes nothing, backups or WAL; `blocked` says why.
 * - A backup that a restore is copying from right now (an instance `creating`, its process alive:
 *   restores record the backup they read in `instance.json`) is kept, and re-checked just before
 *   each deletion.
 * - Archived WAL is kept from the start segment (backup.json `startWalFile`, and the backup's own
 *   `backup_label`) of the oldest backup still kept; what is older goes, as `pg_archivecleanup`
 *   would remove it. None is removed while a backup is being taken (its start segment is recorded
 *   only when it ends). Backups are deleted first; if one deletion fails or is skipped, no WAL is
 *   removed, so a backup that remains always has every segment it needs.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../core/config.ts';
import type { RetentionPolicy } from '../core/retention.ts';
import { readWalIndex } from './archive.ts';
import { deleteBackup } from './backup.ts';
import { repositoryView } from './repositories.ts';
import {
  backupsInUse,
  type LocalPruneResult,
  localRetentionPolicy,
  type PruneOptions,
  planLocalPrune,
} from './retention-plan.ts';
import { formatBytes } from './retention-status.ts';
import type { StatePaths } from './state.ts';
import { writeJson } from './state-json.ts';

/** Drops the removed segments from `wal-index.json`, so the cache only describes what is archived. */
async function forgetIndexed(paths: StatePaths, names: readonly string[]): Promise<void> {
  const { index } = await readWalIndex(paths);
  let changed = false;
  for (const name of names)
    if (name in index) {
      delete index[name];
      changed = true;
    }
  if (changed) await writeJson(paths.walIndex, index);
}

/**
 * Prunes the state folder's repository, then the isolated copy (when there is one) by the same
 * planner and policy, each on what it holds: the result is the primary's, with the isolated
 * copy's under `isolated`.
 */
export async function pruneLocal(
  paths: StatePaths,
  policy: RetentionPolicy,
  options: PruneOptions = {},
): Promise<LocalPruneResult & { isolated?: LocalPruneResult }> {
  const primary = await pruneRepository(repositoryView(paths, 'primary'), policy, options);
  if (!paths.isolated) return primary;
  return { ...primary, isolated: await pruneRepository(repositoryView(paths, 'isolated'), policy, options) };
}

/**
 * Plans, then (unless a dry run or blocked) deletes the planned backups, oldest first, each
 * re-checked against restores in progress, then the archived WAL older than the oldest kept
 * backup's start segment, in the repository the view reads. Deletion failures are reported in
 * `failed`, not thrown.
 */
export async function pruneRepository(
  paths: StatePaths,
  policy: RetentionPolicy,
  options: PruneOptions = {},
): Promise<LocalPruneResult> {
  const plan = await planLocalPrune(paths, policy, options.now ?? new Date());
  const dryRun = options.dryRun ?? false;
  const result = {
    ...plan,
    dryRun,
    deletedBackups: [] as string[],
    skippedBackups: [] as { id: string; reason: string }[],
    removedWal: [] as string[],
    removedBytes: 0,
    walSkipped: null as string | null,
    failed: [] as { name: string; error: string }[],
  };
  if (dryRun || plan.blocked) return result;
  for (const { id } of plan.backups.delete) {
    const users = (await backupsInUse(paths))[id];
    if (users) {
      result.skippedBackups.push({ id, reason: `restore ${users.join(', ')} started copying from it` });
      continue;
    }
    try {
      await deleteBackup(paths, id);
      result.deletedBackups.push(id);
    } catch (error) {
      result.failed.push({ name: `backup ${id}`, error: (error as Error).message });
    }
  }
  if (plan.wal.blocked || plan.wal.remove.length === 0) return result;
  if (result.skippedBackups.length > 0 || result.failed.length > 0) {
    result.walSkipped =
      'a planned backup deletion did not happen, and that backup still needs its WAL: no WAL removed this run';
    return result;
  }
  for (const file of plan.wal.remove) {
    try {
      await rm(join(paths.walArchive, file.name), { force: true });
      result.removedWal.push(file.name);
      result.removedBytes += file.bytes;
    } catch (error) {
      result.failed.push({ name: `WAL ${file.name}`, error: (error as Error).message });
    }
  }
  await forgetIndexed(paths, result.removedWal);
  return result;
}

/**
 * Prunes after a new backup and says what happened in one line. Never throws: the backup is taken
 * whatever pruning does, and a failure is said (a blocked run is retried after the next backup).
 */
export async function pruneAfterBackup(
  paths: StatePaths,
  config: Pick<Config, 'local' | 'retention'>,
): Promise<string> {
  try {
    const both = await pruneLocal(paths, localRetentionPolicy(config));
    const line = summaryOf(both);
    return both.isolated ? `${line}\nisolated copy ${summaryOf(both.isolated)}` : line;
  } catch (error) {
    return `retention: pruning failed (the backup is kept): ${(error as Error).message}`;
  }
}

/** One repository's prune in one line. */
function summaryOf(r: LocalPruneResult): string {
  if (r.blocked) return `retention: nothing removed: ${r.blocked}`;
  const parts = [
    `${r.backups.keep.length} backup(s) kept`,
    r.deletedBackups.length > 0 ? `removed ${r.deletedBackups.join(', ')}` : 'none removed',
    r.removedWal.length > 0
      ? `${r.removedWal.length} WAL file(s) removed (${formatBytes(r.removedBytes)}), kept from ${r.wal.keepFrom}`
      : `no WAL removed${r.wal.blocked ? ` (${r.wal.blocked})` : r.walSkipped ? ` (${r.walSkipped})` : ''}`,
  ];
  const problems = [...r.failed.map((f) => `FAILED ${f.name}: ${f.error}`), ...r.wal.warnings];
  return `retention: ${parts.join('; ')}${problems.length ? `; ${problems.join('; ')}` : ''}`;
}
