/**
 * What a person reads of local retention: the archive's size and growth rate, what a prune would do
 * now (`local status`), and what a prune did (`local prune`), with what is kept and why.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Config } from '../core/config.ts';
import {
  type LocalPrunePlan,
  type LocalPruneResult,
  listArchive,
  localRetentionPolicy,
  planLocalPrune,
} from './retention-plan.ts';
import type { StatePaths } from './state.ts';

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
