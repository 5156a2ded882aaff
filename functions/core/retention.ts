/**
 * The retention planner: which snapshots a prune run deletes and why every other one is kept.
 *
 * It is pure so that it can be proven over thousands of random histories (test/core) and so that
 * an on-call engineer can run the exact same decision offline (`recovery-drill retention plan`)
 * before trusting a prune run with production restore points.
 *
 * Rules (runbook "Backup Policy" 3: 35 daily + 12 monthly restore points):
 * - Only managed snapshots (manual, status `available`, tag `recovery-drill:managed` = `true`)
 *   may ever be deleted: RDS automated snapshots and anything a person made are never touched.
 * - Daily restore point: the newest managed snapshot of a UTC day; those of the `daily` most
 *   recent days that have one are kept. Monthly restore point: the earliest managed snapshot of a
 *   UTC month; those of the `monthly` most recent months that have one are kept.
 * - The newest managed snapshot is never deleted; snapshots dated after `now` are never deleted.
 * - Everything else managed is deleted, oldest first, at most `maxDeletionsPerRun` per plan.
 * - An incomplete listing deletes nothing (`blocked` says why).
 */
import { InputError, type InputProblem, InputProblemsError } from './errors.ts';
import { ISO_WITH_ZONE_EXPECTED, MS_PER_DAY, parseIsoWithZone, toIsoUtc } from './time.ts';

/** Set to `true` on every snapshot this project creates: the only snapshots pruning may delete. */
export const MANAGED_TAG = 'recovery-drill:managed';
/** `daily` or `monthly`: what the snapshot was taken as (informational; the planner decides by date). */
export const TIER_TAG = 'recovery-drill:tier';
/** Identifier of the database the snapshot was taken of, so copies in another region stay traceable. */
export const SOURCE_TAG = 'recovery-drill:source';

/** A snapshot as listed by RDS (or the local engine), reduced to what retention decides on. */
export interface SnapshotRecord {
  id: string;
  /** ISO-8601 with a zone. */
  createdAt: string;
  type: 'manual' | 'automated';
  /** RDS status; only `available` snapshots are ever deleted. */
  status: string;
  tags: Record<string, string>;
}

export interface RetentionPolicy {
  /** Daily restore points kept (runbook: 35). */
  daily: number;
  /** Monthly restore points kept (runbook: 12). */
  monthly: number;
  /** Safety cap: a bug or a clock jump can never wipe more than this in one run. */
  maxDeletionsPerRun: number;
}

export interface RetentionInput {
  /** False when the listing may have missed snapshots (a page failed): then nothing is deleted. */
  complete: boolean;
  snapshots: SnapshotRecord[];
}

export interface RetentionPlan {
  /** Every snapshot not deleted, oldest first, with every reason it is kept. */
  keep: { id: string; reasons: string[] }[];
  /** Snapshots to delete, oldest first (the order a prune run deletes them in). */
  delete: { id: string; reason: string }[];
  /** Why nothing may be deleted (incomplete listing), or null. */
  blocked: string | null;
}

/** Whether pruning may ever delete this snapshot. */
export function isManaged(s: SnapshotRecord): boolean {
  return s.type === 'manual' && s.status === 'available' && s.tags[MANAGED_TAG] === 'true';
}

function unmanagedReasons(s: SnapshotRecord): string[] {
  const reasons: string[] = [];
  if (s.type !== 'manual')
    reasons.push(`not managed: ${s.type} snapshot (RDS expires it on its own schedule)`);
  if (s.status !== 'available')
    reasons.push(`not managed: status ${JSON.stringify(s.status)} (only "available" snapshots are pruned)`);
  if (s.tags[MANAGED_TAG] !== 'true')
    reasons.push(`not managed: no tag ${MANAGED_TAG}=true (not created by recovery-drill)`);
  return reasons;
}

function checkPolicy(policy: RetentionPolicy): void {
  const fields = [
    ['daily', 1],
    ['monthly', 0],
    ['maxDeletionsPerRun', 0],
  ] as const;
  for (const [field, min] of fields) {
    const value = policy[field];
    if (!Number.isInteger(value) || value < min)
      throw new InputError(`policy.${field}`, value, `an integer of at least ${min}`);
  }
}

interface Entry {
  readonly s: SnapshotRecord;
  readonly ms: number;
  /** Days since the epoch (UTC days are exactly 86 400 000 ms in JavaScript time). */
  readonly day: number;
  readonly managed: boolean;
}

const dayLabelCache = new Map<number, string>();
function dayLabel(day: number): string {
  let label = dayLabelCache.get(day);
  if (label === undefined) {
    label = toIsoUtc(day * MS_PER_DAY).slice(0, 10);
    if (dayLabelCache.size > 100_000) dayLabelCache.clear();
    dayLabelCache.set(day, label);
  }
  return label;
}
const monthOf = (day: number): string => dayLabel(day).slice(0, 7);

function byTimeThenId(a: Entry, b: Entry): number {
  if (a.ms !== b.ms) return a.ms - b.ms;
  return a.s.id < b.s.id ? -1 : a.s.id > b.s.id ? 1 : 0;
}

/**
 * Decides which snapshots a prune run deletes. Deterministic: the same snapshots in any order
 * give the same plan, and applying a plan then planning again deletes nothing more (unless the
 * cap deferred deletions).
 * @param now snapshots dated after it are kept (clock skew, copies in flight). Default: the clock.
 * @throws InputError on duplicate ids, an unreadable `createdAt` or an invalid policy.
 */
export function planRetention(
  input: RetentionInput,
  policy: RetentionPolicy,
  now: Date = new Date(),
): RetentionPlan {
  checkPolicy(policy);
  const nowMs = now.getTime();
  if (Number.isNaN(nowMs)) throw new InputError('now', String(now), 'a valid date');

  const seen = new Set<string>();
  const entries: Entry[] = new Array(input.snapshots.length);
  input.snapshots.forEach((s, i) => {
    if (seen.has(s.id)) throw new InputError(`snapshots[${i}].id`, s.id, 'a snapshot id listed only once');
    seen.add(s.id);
    const ms = parseIsoWithZone(s.createdAt);
    if (ms === null) throw new InputError(`snapshots[${i}].createdAt`, s.createdAt, ISO_WITH_ZONE_EXPECTED);
    entries[i] = { s, ms, day: Math.floor(ms / MS_PER_DAY), managed: isManaged(s) };
  });
  entries.sort(byTimeThenId);

  const reasons = new Map<Entry, string[]>();
  const addReason = (e: Entry, reason: string) => {
    const list = reasons.get(e);
    if (list) list.push(reason);
    else reasons.set(e, [reason]);
  };

  // Only managed snapshots dated up to now compete for restore points.
  const eligible: Entry[] = [];
  const nowIso = toIsoUtc(nowMs);
  for (const e of entries) {
    if (!e.managed) for (const r of unmanagedReasons(e.s)) addReason(e, r);
    if (e.ms > nowMs)
      addReason(e, `created after now (${nowIso}): clock skew or a copy in flight; never deleted`);
    else if (e.managed) eligible.push(e);
  }

  // Daily restore points: walk newest first; the first snapshot met of each day is its newest.
  const dailyPointOfDay = new Map<number, Entry>();
  for (let i = eligible.length - 1; i >= 0; i--) {
    const e = eligible[i] as Entry;
    if (!dailyPointOfDay.has(e.day)) dailyPointOfDay.set(e.day, e);
  }
  const keptDays = new Set<number>();
  let rank = 0;
  for (const [day, e] of dailyPointOfDay) {
    if (rank >= policy.daily) break;
    rank++;
    keptDays.add(day);
    addReason(e, `daily restore point of ${dayLabel(day)} (${rank} of the ${policy.daily} most recent days)`);
  }

  // Monthly restore points: walk oldest first; the first snapshot met of each month is its earliest.
  const monthlyPointOfMonth = new Map<string, Entry>();
  for (const e of eligible) {
    const month = monthOf(e.day);
    if (!monthlyPointOfMonth.has(month)) monthlyPointOfMonth.set(month, e);
  }
  const months = [...monthlyPointOfMonth.keys()];
  const keptMonths = new Set(months.slice(Math.max(0, months.length - policy.monthly)));
  for (const month of keptMonths) {
    const e = monthlyPointOfMonth.get(month) as Entry;
    const monthRank = months.length - months.indexOf(month);
    addReason(
      e,
      `monthly restore point of ${month} (${monthRank} of the ${policy.monthly} most recent months)`,
    );
  }

  const newest = eligible[eligible.length - 1];
  if (newest) addReason(newest, 'newest managed snapshot: never deleted');

  // Everything else managed goes, oldest first, up to the cap.
  const toDelete: { e: Entry; reason: string }[] = [];
  for (const e of eligible) {
    if (reasons.has(e)) continue;
    const day = dayLabel(e.day);
    const point = dailyPointOfDay.get(e.day);
    let reason: string;
    if (keptDays.has(e.day) && point) {
      reason = `superseded: ${point.s.id} is the daily restore point of ${day}`;
    } else {
      const month = monthOf(e.day);
      const monthly = monthlyPointOfMonth.get(month);
      reason = `expired: ${day} is not among the ${policy.daily} most recent days with a managed snapshot${
        keptMonths.has(month) && monthly
          ? `, and ${monthly.s.id} is the monthly restore point of ${month}`
          : ''
      }`;
    }
    if (toDelete.length < policy.maxDeletionsPerRun) {
      toDelete.push({ e, reason });
    } else {
      addReason(e, `deferred: over maxDeletionsPerRun (${policy.maxDeletionsPerRun}); would be ${reason}`);
    }
  }

  let blocked: string | null = null;
  if (!input.complete) {
    blocked =
      'the snapshot listing is incomplete (complete: false): deleting from a partial view could remove a ' +
      `restore point the listing missed, so nothing is deleted (${toDelete.length} would have been)`;
    for (const { e, reason } of toDelete) addReason(e, `blocked: incomplete listing; would be ${reason}`);
    toDelete.length = 0;
  }

  const keep: RetentionPlan['keep'] = [];
  for (const e of entries) {
    const list = reasons.get(e);
    if (list) keep.push({ id: e.s.id, reasons: list });
  }
  return { keep, delete: toDelete.map(({ e, reason }) => ({ id: e.s.id, reason })), blocked };
}

const RECORD_KEYS = new Set(['id', 'createdAt', 'type', 'status', 'tags']);
const INPUT_KEYS = new Set(['complete', 'snapshots']);
/** At most this many problems are listed: a wholly wrong file should not print 100 000 lines. */
const MAX_PROBLEMS = 20;

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Checks a retention input document (a file given to the CLI, an event) before planning on it, so
 * that a malformed record is refused by name instead of silently planned as "unmanaged".
 * @throws InputProblemsError (an InputError) naming each bad field, e.g. `snapshots[3].createdAt`.
 */
export function parseRetentionInput(raw: unknown): RetentionInput {
  const problems: InputProblem[] = [];
  const problem = (field: string, value: unknown, expected: string) => {
    if (problems.length < MAX_PROBLEMS) problems.push({ field, value, expected });
  };
  if (!isPlainObject(raw)) {
    throw new InputProblemsError('retention input', [
      { field: '(input)', value: raw, expected: 'an object { "complete": boolean, "snapshots": [...] }' },
    ]);
  }
  for (const key of Object.keys(raw))
    if (!INPUT_KEYS.has(key))
      problem(key, raw[key], 'no such field (expected only "complete" and "snapshots")');
  if (typeof raw.complete !== 'boolean')
    problem('complete', raw.complete, 'a boolean: true only when the listing has every snapshot');
  const snapshots: SnapshotRecord[] = [];
  if (!Array.isArray(raw.snapshots)) {
    problem('snapshots', raw.snapshots, 'an array of snapshot records');
  } else {
    const firstIndexOf = new Map<string, number>();
    raw.snapshots.forEach((record: unknown, i: number) => {
      const at = `snapshots[${i}]`;
      if (!isPlainObject(record)) {
        problem(at, record, 'an object { id, createdAt, type, status, tags }');
        return;
      }
      let ok = true;
      const bad = (field: string, expected: string) => {
        ok = false;
        problem(`${at}.${field}`, record[field], expected);
      };
      for (const key of Object.keys(record))
        if (!RECORD_KEYS.has(key)) bad(key, 'no such field (expected id, createdAt, type, status, tags)');
      const { id, createdAt, type, status, tags } = record;
      if (typeof id !== 'string' || id.length === 0) bad('id', 'a non-empty string');
      else if (firstIndexOf.has(id)) bad('id', `a unique id (also snapshots[${firstIndexOf.get(id)}].id)`);
      else firstIndexOf.set(id, i);
      if (parseIsoWithZone(createdAt) === null) bad('createdAt', ISO_WITH_ZONE_EXPECTED);
      if (type !== 'manual' && type !== 'automated') bad('type', '"manual" or "automated"');
      if (typeof status !== 'string' || status.length === 0)
        bad('status', 'a non-empty string such as "available"');
      if (!isPlainObject(tags)) bad('tags', 'an object of string tag values, e.g. {}');
      else
        for (const [key, value] of Object.entries(tags))
          if (typeof value !== 'string') {
            ok = false;
            problem(`${at}.tags[${JSON.stringify(key)}]`, value, 'a string tag value');
          }
      if (ok)
        snapshots.push({
          id: id as string,
          createdAt: createdAt as string,
          type: type as SnapshotRecord['type'],
          status: status as string,
          tags: { ...(tags as Record<string, string>) },
        });
    });
  }
  if (problems.length > 0) throw new InputProblemsError('retention input', problems);
  return { complete: raw.complete as boolean, snapshots };
}
