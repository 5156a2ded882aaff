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
import type { Dirent } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../core/config.ts';
import {
  planRetention,
  type RetentionPlan,
  type RetentionPolicy,
  type SnapshotRecord,
} from '../core/retention.ts';
import { parseIsoWithZone } from '../core/time.ts';
import { readWalIndex } from './archive.ts';
import { type BackupRecord, deleteBackup, readBackup, startSegmentOf } from './backup.ts';
import type { InstanceRecord } from './local-recovery.ts';
import { isProcessAlive } from './processes.ts';
import { readJson, type StatePaths, writeJson } from './state.ts';
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
async function backupsInUse(paths: StatePaths): Promise<Record<string, string[]>> {
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
async function listArchive(paths: StatePaths): Promise<ArchiveListing> {
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
 * Plans, then (unless a dry run or blocked) deletes the planned backups, oldest first, each
 * re-checked against restores in progress, then the archived WAL older than the oldest kept
 * backup's start segment. Deletion failures are reported in `failed`, not thrown.
 */
export async function pruneLocal(
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

/** `1.2 GiB`: sizes as a person reads them (binary units, as `du -h`). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

function range(files: readonly { name: string }[]): string {
  const first = files[0]?.name;
  const last = files[files.length - 1]?.name;
  return first === undefined ? '' : first === last ? ` (${first})` : ` (${first} .. ${last})`;
}

/** The run as a person reads it: what is kept and why, what goes and why, what went. */
export function formatPrune(result: LocalPruneResult): string[] {
  const { policy, backups, wal } = result;
  const dry = result.dryRun;
  const lines = [
    `local retention: ${policy.daily} daily and ${policy.monthly} monthly restore point(s) (local.retention), at most ${policy.maxDeletionsPerRun} deletion(s) a run${dry ? '; dry run: nothing is deleted' : ''}`,
  ];
  if (result.blocked) lines.push(`BLOCKED: ${result.blocked}`);
  lines.push(
    `backups: ${backups.keep.length} kept, ${backups.delete.length} ${dry || result.blocked ? 'to remove' : 'removed'}`,
  );
  for (const k of backups.keep) lines.push(`  keep    ${k.id}: ${k.reasons.join('; ')}`);
  for (const d of backups.delete) {
    const failed = result.failed.find((f) => f.name === `backup ${d.id}`);
    const skipped = result.skippedBackups.find((s) => s.id === d.id);
    const outcome = failed
      ? ` (FAILED: ${failed.error})`
      : skipped
        ? ` (kept after all: ${skipped.reason})`
        : '';
    lines.push(
      `  ${(dry || result.blocked ? 'remove' : 'removed').padEnd(7)} ${d.id}: ${d.reason}${outcome}`,
    );
  }
  if (wal.blocked && !result.blocked) lines.push(`WAL: BLOCKED: ${wal.blocked}`);
  const segments = wal.remove.filter((f) => f.kind === 'segment');
  const others = wal.remove.length - segments.length;
  lines.push(
    `WAL: ${wal.reason}`,
    `  keep    ${wal.keptSegments} segment(s), ${formatBytes(wal.keptBytes)}${wal.keepFrom ? ` from ${wal.keepFrom}` : ''}`,
  );
  if (wal.remove.length > 0) {
    const verb = dry || result.blocked || result.walSkipped ? 'remove ' : 'removed';
    lines.push(
      `  ${verb} ${segments.length} segment(s)${others ? ` and ${others} .backup/.partial file(s)` : ''}, ${formatBytes(wal.removeBytes)}${range(segments)}: older than ${wal.keepFrom}`,
    );
  }
  if (result.walSkipped) lines.push(`  WAL not removed: ${result.walSkipped}`);
  for (const w of wal.warnings) lines.push(`WARNING: ${w}`);
  for (const f of result.failed) lines.push(`FAILED: ${f.name}: ${f.error}`);
  return lines;
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
    const r = await pruneLocal(paths, localRetentionPolicy(config));
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
  } catch (error) {
    return `retention: pruning failed (the backup is kept): ${(error as Error).message}`;
  }
}

/** How big the archive is and how fast it grows. */
export interface ArchiveUsage {
  readonly segments: number;
  /** Bytes of the archived segments. */
  readonly bytes: number;
  /** When the oldest and the newest segment were archived (file times), ISO-8601 UTC. */
  readonly oldestArchivedAt: string | null;
  readonly newestArchivedAt: string | null;
  /** Hours between them. */
  readonly spanHours: number | null;
  /** Bytes archived per hour over that span (the segments after the oldest); null under two segments. */
  readonly bytesPerHour: number | null;
  readonly segmentsPerHour: number | null;
}

/** The archive's size and growth rate, from the segments' sizes and archive times. */
export async function archiveUsage(paths: StatePaths): Promise<ArchiveUsage> {
  const segments: { bytes: number; at: number }[] = [];
  for (const f of (await listArchive(paths)).files) {
    if (f.kind !== 'segment') continue;
    try {
      const s = await stat(join(paths.walArchive, f.name));
      segments.push({ bytes: s.size, at: s.mtimeMs });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  const bytes = segments.reduce((n, s) => n + s.bytes, 0);
  if (segments.length === 0)
    return {
      segments: 0,
      bytes: 0,
      oldestArchivedAt: null,
      newestArchivedAt: null,
      spanHours: null,
      bytesPerHour: null,
      segmentsPerHour: null,
    };
  const times = segments.map((s) => s.at);
  const oldest = Math.min(...times);
  const newest = Math.max(...times);
  const spanHours = (newest - oldest) / 3_600_000;
  const measurable = segments.length >= 2 && newest > oldest;
  // The oldest segment was archived at the start of the span: the rest were archived within it.
  const grown = bytes - (segments.find((s) => s.at === oldest)?.bytes ?? 0);
  return {
    segments: segments.length,
    bytes,
    oldestArchivedAt: new Date(oldest).toISOString(),
    newestArchivedAt: new Date(newest).toISOString(),
    spanHours,
    bytesPerHour: measurable ? grown / spanHours : null,
    segmentsPerHour: measurable ? (segments.length - 1) / spanHours : null,
  };
}

/** What `local status` shows of retention: the archive's size and rate, and the current plan. */
export interface LocalRetentionStatus {
  readonly usage: ArchiveUsage;
  readonly plan: LocalPrunePlan;
}

/** The archive's usage and what a prune would do now (deletes nothing). */
export async function localRetentionStatus(
  paths: StatePaths,
  config: Pick<Config, 'local' | 'retention'>,
  now: Date = new Date(),
): Promise<LocalRetentionStatus> {
  return {
    usage: await archiveUsage(paths),
    plan: await planLocalPrune(paths, localRetentionPolicy(config), now),
  };
}

/** The status lines about the archive's size, its rate and retention. */
export function formatRetentionStatus(status: LocalRetentionStatus): string[] {
  const { usage, plan } = status;
  const rate =
    usage.bytesPerHour === null || usage.segmentsPerHour === null
      ? 'rate: not measurable yet (fewer than two segments archived at different times)'
      : `rate: ${formatBytes(usage.bytesPerHour)}/h (${usage.segmentsPerHour.toFixed(1)} segments/h) over ${(usage.spanHours as number).toFixed(2)} h of archive`;
  const walToRemove = plan.wal.remove.length;
  return [
    `  size: ${formatBytes(usage.bytes)} (${usage.bytes} bytes); ${rate}`,
    `  retention (local.retention: ${plan.policy.daily} daily, ${plan.policy.monthly} monthly): ${plan.backups.keep.length} backup(s) kept, ${plan.backups.delete.length} planned for removal${
      walToRemove > 0
        ? `, ${walToRemove} WAL file(s) (${formatBytes(plan.wal.removeBytes)}) older than ${plan.wal.keepFrom}`
        : ''
    }${plan.backups.delete.length + walToRemove > 0 ? ' (run `recovery-drill local prune`)' : ''}`,
    ...(plan.blocked
      ? [`  retention BLOCKED: ${plan.blocked}`]
      : plan.wal.blocked
        ? [`  WAL pruning BLOCKED: ${plan.wal.blocked}`]
        : []),
  ];
}
