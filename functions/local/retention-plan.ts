/**
 * The local prune's plan: the project's retention planner applied to the local backups, with the
 * safety rules of `retention.ts` (a listing that may have missed a backup deletes nothing, a backup
 * a restore reads is kept), and the archived WAL that only the removed backups needed.
 */
import type { Dirent } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../core/config.ts';
import {
  planRetention,
  type RetentionPlan,
  type RetentionPolicy,
  type SnapshotRecord,
} from '../core/retention.ts';
import { parseIsoWithZone } from '../core/time.ts';
import { type BackupRecord, readBackup, startSegmentOf } from './backup.ts';
import type { InstanceRecord } from './instance-store.ts';
import { isProcessAlive } from './processes.ts';
import type { StatePaths } from './state.ts';
import { readJson } from './state-json.ts';
import { WAL_SEGMENT_NAME } from './wal.ts';

/** The local policy: `local.retention`, with the project's safety cap on deletions per run. */
export function localRetentionPolicy(config: Pick<Config, 'local' | 'retention'>): RetentionPolicy {
  return {
    daily: config.local.retention.daily,
    monthly: config.local.retention.monthly,
    maxDeletionsPerRun: config.retention.maxDeletionsPerRun,
  };
}

/** One file of the archive that pruning may remove. */
export interface ArchiveFile {
  readonly name: string;
  readonly bytes: number;
  /** A WAL segment, a `.backup` history file (written by `pg_backup_stop`), or a `.partial` segment. */
  readonly kind: 'segment' | 'backup-history' | 'partial';
}

/** What happens to the archived WAL. */
export interface WalPlan {
  /** The first segment kept (the oldest kept backup's start segment); null when nothing is removed. */
  readonly keepFrom: string | null;
  /** The backup that needs `keepFrom`. */
  readonly keepFromBackup: string | null;
  /** Why this boundary, or why nothing is removed. */
  readonly reason: string;
  /** Why no WAL may be removed (an unreadable archive, a backup with no known start segment), or null. */
  readonly blocked: string | null;
  /** Files older than `keepFrom`, oldest first. */
  readonly remove: ArchiveFile[];
  readonly removeBytes: number;
  /** Segments that stay, and their bytes. */
  readonly keptSegments: number;
  readonly keptBytes: number;
  /** A kept backup whose start segment is not in the archive cannot be restored: said, not hidden. */
  readonly warnings: string[];
}

/** The whole decision of one prune run. */
export interface LocalPrunePlan {
  /** When it was planned (ISO-8601 UTC): backups dated later are kept. */
  readonly at: string;
  readonly policy: RetentionPolicy;
  /** The planner's decision over the local backups, restores in progress moved to `keep`. */
  readonly backups: RetentionPlan;
  /** Backups a restore is copying from right now, with the restoring instances. */
  readonly inUse: Record<string, string[]>;
  readonly wal: WalPlan;
  /** Why nothing at all may be deleted (the backup listing is incomplete), or null. */
  readonly blocked: string | null;
}

/** A plan and what became of it. */
export interface LocalPruneResult extends LocalPrunePlan {
  readonly dryRun: boolean;
  readonly deletedBackups: string[];
  /** Planned for deletion but in use by a restore that started after the plan: kept. */
  readonly skippedBackups: { id: string; reason: string }[];
  readonly removedWal: string[];
  readonly removedBytes: number;
  /** Why the planned WAL was not removed although the run was not blocked, or null. */
  readonly walSkipped: string | null;
  readonly failed: { name: string; error: string }[];
}

export interface PruneOptions {
  /** Plan and report, delete nothing. */
  readonly dryRun?: boolean;
  /** The planner's "now" (default: the clock). */
  readonly now?: Date;
}

interface BackupListing {
  readonly backups: BackupRecord[];
  /** Why the listing may have missed a backup; empty when it is whole. */
  readonly problems: string[];
}

/**
 * Every backup, oldest first, and what could not be read: unlike `listBackups`, a folder without
 * a readable record is a problem (a backup just starting, or a damaged one), not silently skipped.
 */
async function listBackupsStrictly(paths: StatePaths): Promise<BackupListing> {
  let entries: Dirent[];
  try {
    entries = await readdir(paths.backups, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { backups: [], problems: [] };
    return { backups: [], problems: [`${paths.backups} cannot be listed: ${(error as Error).message}`] };
  }
  const backups: BackupRecord[] = [];
  const problems: string[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory()) continue;
    const where = join(paths.backups, entry.name, 'backup.json');
    let record: BackupRecord | null;
    try {
      record = await readBackup(paths, entry.name);
    } catch (error) {
      problems.push(`${where} cannot be read: ${(error as Error).message}`);
      continue;
    }
    if (!record) {
      problems.push(`${where} is missing (a backup being started, or a damaged one: look, then remove it)`);
    } else if (record.id !== entry.name) {
      problems.push(`${where} names backup ${JSON.stringify(record.id)}, not its folder ${entry.name}`);
    } else if (parseIsoWithZone(record.startedAt) === null) {
      problems.push(`${where} has an unreadable startedAt ${JSON.stringify(record.startedAt)}`);
    } else {
      backups.push(record);
    }
  }
  backups.sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.id.localeCompare(b.id));
  return { backups, problems };
}

/** Backups that restores in progress are copying from: backup id → restoring instance ids. */
export async function backupsInUse(paths: StatePaths): Promise<Record<string, string[]>> {
  let ids: string[];
  try {
    ids = (await readdir(paths.instances, { withFileTypes: true }))
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
  } catch {
    return {};
  }
  const inUse: Record<string, string[]> = {};
  for (const id of ids) {
    let record: InstanceRecord | null;
    try {
      record = await readJson<InstanceRecord>(join(paths.instances, id, 'instance.json'));
    } catch {
      record = null; // half written: the restore has not picked its backup yet
    }
    if (record?.status !== 'creating') continue;
    // Like the engine: a restore whose process ended is over, whatever its record says.
    if (record.ownerPid !== null && !isProcessAlive(record.ownerPid)) continue;
    inUse[record.backupId] = [...(inUse[record.backupId] ?? []), id];
  }
  return inUse;
}

/** A backup as the planner sees it: a manual snapshot dated by its start, as `listSnapshots` dates it. */
function toSnapshotRecord(backup: BackupRecord): SnapshotRecord {
  return {
    id: backup.id,
    createdAt: backup.startedAt,
    type: 'manual',
    status: backup.status,
    tags: backup.tags,
  };
}

/** Segment position without the timeline (as `pg_archivecleanup` compares). */
const positionOf = (name: string) => name.slice(8, 24);

const BACKUP_HISTORY_NAME = /^[0-9A-F]{24}\.[0-9A-F]{8}\.backup$/;
const PARTIAL_NAME = /^[0-9A-F]{24}\.partial$/;

interface ArchiveListing {
  readonly files: ArchiveFile[];
  readonly error: string | null;
}

/** The archive's segments, `.backup` and `.partial` files with their sizes, oldest first. */
export async function listArchive(paths: StatePaths): Promise<ArchiveListing> {
  let names: string[];
  try {
    names = await readdir(paths.walArchive);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { files: [], error: null };
    return { files: [], error: `${paths.walArchive} cannot be listed: ${(error as Error).message}` };
  }
  const files: ArchiveFile[] = [];
  for (const name of names.sort()) {
    const kind = WAL_SEGMENT_NAME.test(name)
      ? 'segment'
      : BACKUP_HISTORY_NAME.test(name)
        ? 'backup-history'
        : PARTIAL_NAME.test(name)
          ? 'partial'
          : null;
    // `.history` files (timeline switches: tiny, needed to follow a timeline) and the archive
    // command's temporary files (a copy in flight) are never touched.
    if (!kind) continue;
    try {
      files.push({ name, bytes: (await stat(join(paths.walArchive, name))).size, kind });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  return { files, error: null };
}

async function planWal(
  paths: StatePaths,
  kept: readonly BackupRecord[],
  blockedByListing: string | null,
): Promise<WalPlan> {
  const archive = await listArchive(paths);
  const segments = archive.files.filter((f) => f.kind === 'segment');
  const all = {
    keptSegments: segments.length,
    keptBytes: segments.reduce((n, f) => n + f.bytes, 0),
  };
  const none = (reason: string, blocked: string | null, warnings: string[] = []): WalPlan => ({
    keepFrom: null,
    keepFromBackup: null,
    reason,
    blocked,
    remove: [],
    removeBytes: 0,
    ...all,
    warnings,
  });
  if (blockedByListing) return none('the backup listing is incomplete: no WAL is removed', blockedByListing);
  if (archive.error) return none('the archive cannot be listed: no WAL is removed', archive.error);
  // A backup still being taken has no start segment on record yet, and it may have started
  // before the newest finished one (two backups at once): its WAL is unknown, so none goes.
  const taking = kept.filter((b) => b.status === 'creating');
  if (taking.length > 0)
    return none(
      'a backup is being taken: no WAL is removed',
      `backup ${taking.map((b) => b.id).join(', ')} is being taken (process ${taking.map((b) => b.ownerPid).join(', ')}): the WAL it needs is recorded only when it ends`,
    );
  const available = kept.filter((b) => b.status === 'available');
  if (available.length === 0)
    return none('no available backup is kept: every archived segment is kept', null);
  const present = new Set(segments.map((f) => f.name));
  const warnings: string[] = [];
  let oldest: { backup: BackupRecord; segment: string } | null = null;
  for (const backup of available) {
    const segment = await startSegmentOf(paths, backup);
    if (segment === null)
      return none(
        'a kept backup has no known start segment: no WAL is removed',
        `backup ${backup.id} records no start WAL segment (backup.json startWalFile, data/backup_label): which WAL it needs is unknown`,
      );
    if (!present.has(segment))
      warnings.push(
        `backup ${backup.id} needs WAL segment ${segment}, which is not in the archive: a restore from it will fail`,
      );
    if (!oldest || positionOf(segment) < positionOf(oldest.segment)) oldest = { backup, segment };
  }
  const first = oldest as { backup: BackupRecord; segment: string };
  const cut = positionOf(first.segment);
  const remove = archive.files.filter((f) => positionOf(f.name) < cut);
  const removedSegments = remove.filter((f) => f.kind === 'segment');
  const removeBytes = remove.reduce((n, f) => n + f.bytes, 0);
  return {
    keepFrom: first.segment,
    keepFromBackup: first.backup.id,
    reason: `${first.segment} is the start segment of ${first.backup.id}, the oldest backup kept: every restore starts at or after it`,
    blocked: null,
    remove,
    removeBytes,
    keptSegments: segments.length - removedSegments.length,
    keptBytes: all.keptBytes - removedSegments.reduce((n, f) => n + f.bytes, 0),
    warnings,
  };
}

/**
 * What a prune run would do now: the planner's decision over the local backups (restores in
 * progress keep theirs), and the archived WAL older than what the oldest kept backup needs.
 * Deletes nothing.
 * @throws InputError on an invalid policy (from the planner).
 */
export async function planLocalPrune(
  paths: StatePaths,
  policy: RetentionPolicy,
  now: Date = new Date(),
): Promise<LocalPrunePlan> {
  const listing = await listBackupsStrictly(paths);
  const inUse = await backupsInUse(paths);
  const complete = listing.problems.length === 0;
  const planned = planRetention({ complete, snapshots: listing.backups.map(toSnapshotRecord) }, policy, now);
  const inUseReason = (id: string) =>
    `in use: restore ${(inUse[id] ?? []).join(', ')} is copying from it; never deleted while it does`;
  const reasons = new Map(planned.keep.map((k) => [k.id, k.reasons]));
  for (const d of planned.delete)
    if (inUse[d.id]) reasons.set(d.id, [inUseReason(d.id), `would be ${d.reason}`]);
  // Oldest first, as the planner orders them.
  const keep = listing.backups
    .filter((b) => reasons.has(b.id))
    .map((b) => ({ id: b.id, reasons: reasons.get(b.id) as string[] }));
  for (const k of keep)
    if (inUse[k.id] && !k.reasons.some((r) => r.startsWith('in use:'))) k.reasons.push(inUseReason(k.id));
  const backups: RetentionPlan = {
    keep,
    delete: planned.delete.filter((d) => !inUse[d.id]),
    blocked: complete
      ? null
      : `the backup listing is incomplete (${listing.problems.join('; ')}): deleting from a partial view could remove a restore point it missed, so nothing is deleted`,
  };
  const deleted = new Set(backups.delete.map((d) => d.id));
  const wal = await planWal(
    paths,
    listing.backups.filter((b) => !deleted.has(b.id)),
    backups.blocked,
  );
  return { at: now.toISOString(), policy, backups, inUse, wal, blocked: backups.blocked };
}
