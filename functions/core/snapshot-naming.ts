/**
 * The daily snapshot's decisions, apart from the RDS calls that carry them out
 * (`shared/jobs/snapshot.ts`): the deterministic ids (one snapshot per source and UTC day, so a
 * re-run finds it instead of taking a second), the tier a new snapshot is tagged with, the days a
 * run catches up on, and what may invoke the function. Pure, so each rule is tested on its own.
 */
import { createHash } from 'node:crypto';
import { managedSnapshotPrefix } from './contracts.ts';
import { InputError } from './errors.ts';
import { MS_PER_DAY } from './time.ts';

/** What a managed snapshot is taken as: the first of a UTC month is its monthly restore point. */
export type SnapshotTier = 'daily' | 'monthly';

/** Days back a run looks for snapshots whose copy, share or export is still missing. */
export const CATCH_UP_DAYS = 7;

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;

/** The UTC day of an instant: snapshot ids are per UTC day whatever the schedule's time zone. */
export function utcDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** True for a real calendar day written `YYYY-MM-DD` (not `2026-02-30`). */
export function isUtcDay(day: string): boolean {
  if (!DAY.test(day)) return false;
  const date = new Date(`${day}T00:00:00Z`);
  return !Number.isNaN(date.getTime()) && utcDay(date) === day;
}

/** `rd-<sourceId>-<YYYY-MM-DD>`: one snapshot per source and UTC day, so a re-run finds it. */
export function snapshotIdFor(sourceDbInstanceId: string, day: string): string {
  return `${managedSnapshotPrefix(sourceDbInstanceId)}${day}`;
}

/** The UTC day of a managed snapshot id of this source, or null for any other id. */
export function dayOfSnapshotId(snapshotId: string, sourceDbInstanceId: string): string | null {
  const prefix = managedSnapshotPrefix(sourceDbInstanceId);
  if (!snapshotId.startsWith(prefix)) return null;
  const day = snapshotId.slice(prefix.length);
  return isUtcDay(day) ? day : null;
}

/**
 * The copy keeps the source's id in another region; a copy in the same region (isolation by
 * account only) cannot, and gets `-copy`.
 */
export function copyIdFor(id: string, sourceRegion: string, copyRegion: string): string {
  return sourceRegion === copyRegion ? `${id}-copy` : id;
}

/** Export task ids are at most 60 characters: long source ids are shortened with a hash suffix. */
export function exportTaskIdFor(snapshotId: string): string {
  if (snapshotId.length <= 60) return snapshotId;
  const day = snapshotId.slice(-10);
  const hash = createHash('sha256').update(snapshotId).digest('hex').slice(0, 8);
  const head = snapshotId.slice(0, 60 - 1 - 8 - 1 - 10).replace(/-+$/, '');
  return `${head}-${hash}-${day}`;
}

/** A tier tag's value as a tier; anything else (a hand-edited tag, none) is null. */
export function tierOfTag(value: string | undefined): SnapshotTier | null {
  return value === 'daily' || value === 'monthly' ? value : null;
}

/** A managed snapshot of the source as the tier decision sees it. */
export interface TierCandidate {
  readonly id: string;
  readonly status: string;
  /** When RDS created it, or null while it has no time yet. */
  readonly createdAt: Date | null;
  /** Its tier tag's value, when it has one. */
  readonly tier: string | undefined;
}

/**
 * The tier of the day's snapshot `id`: the one it was tagged with when it exists already (a re-run
 * never retags), else `monthly` for the first of its UTC month (none earlier this month that did
 * not fail), else `daily`. A tag that is neither tier reads as `null` (informational only:
 * retention decides by date).
 */
export function tierFor(id: string, day: string, ours: readonly TierCandidate[]): SnapshotTier | null {
  const existing = ours.find((s) => s.id === id);
  if (existing) return tierOfTag(existing.tier);
  const month = day.slice(0, 7);
  const earlierThisMonth = ours.some(
    (s) =>
      s.id !== id &&
      s.status !== 'failed' &&
      s.createdAt !== null &&
      utcDay(s.createdAt).slice(0, 7) === month,
  );
  return earlierThisMonth ? 'daily' : 'monthly';
}

/**
 * Whether a run for `date` (today: `today`) follows up on the snapshot of `day`: a run for a past
 * day given by hand, only that day; any other run, the last {@link CATCH_UP_DAYS} days up to today.
 */
export function needsFollowUp(
  day: string,
  run: { readonly date: string; readonly explicit: boolean },
  now: Date,
): boolean {
  const today = utcDay(now);
  if (run.explicit && run.date !== today) return day === run.date;
  const oldest = utcDay(new Date(now.getTime() - CATCH_UP_DAYS * MS_PER_DAY));
  return day >= oldest && day <= today;
}

/** What invoked the snapshot function, once validated. */
export type SnapshotTrigger =
  | { readonly trigger: 'schedule'; readonly date: string | null }
  | { readonly trigger: 'rds-event'; readonly snapshotId: string };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The schedule (`{}`), a person (`{ "date": "YYYY-MM-DD" }`) or EventBridge (an RDS snapshot event).
 * @throws InputError naming the field, before anything is created.
 */
export function parseSnapshotEvent(event: unknown): SnapshotTrigger {
  if (event === undefined || event === null) return { trigger: 'schedule', date: null };
  if (!isRecord(event))
    throw new InputError('event', event, 'an object: {}, { "date": "YYYY-MM-DD" } or an RDS event');
  if (event.source === 'aws.rds') {
    const detail = isRecord(event.detail) ? event.detail : {};
    const raw = detail.SourceIdentifier ?? detail.SourceArn;
    if (typeof raw !== 'string' || raw === '') {
      throw new InputError('detail.SourceIdentifier', raw, 'the snapshot id of the RDS snapshot event');
    }
    const snapshotId = raw.startsWith('arn:') ? (raw.split(':snapshot:')[1] ?? '') : raw;
    return { trigger: 'rds-event', snapshotId };
  }
  for (const key of Object.keys(event)) {
    if (key !== 'date')
      throw new InputError(
        key,
        event[key],
        'no such field (a scheduled event is {} or { "date": "YYYY-MM-DD" })',
      );
  }
  if (event.date === undefined) return { trigger: 'schedule', date: null };
  if (typeof event.date !== 'string' || !isUtcDay(event.date)) {
    throw new InputError('date', event.date, 'a UTC day as YYYY-MM-DD');
  }
  return { trigger: 'schedule', date: event.date };
}
