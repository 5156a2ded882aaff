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
import { MANAGED_TAG, MANAGED_TAG_VALUE } from './contracts.ts';
import { InputError, type InputProblem, InputProblemsError } from './errors.ts';
import { firstDuplicate, orderByTimeThenId } from './retention-fast-path.ts';
import { ISO_WITH_ZONE_EXPECTED, MS_PER_DAY, parseIsoWithZone, toIsoUtc } from './time.ts';

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

/** How many restore points to keep (config `retention`, runbook "Backup Policy" 3). */
export interface RetentionPolicy {
  /** Daily restore points kept (runbook: 35). */
  daily: number;
  /** Monthly restore points kept (runbook: 12). */
  monthly: number;
  /** Safety cap: a bug or a clock jump can never wipe more than this in one run. */
  maxDeletionsPerRun: number;
}

/** A snapshot listing and whether it is known to be whole. */
export interface RetentionInput {
  /** False when the listing may have missed snapshots (a page failed): then nothing is deleted. */
  complete: boolean;
  snapshots: SnapshotRecord[];
}

/** The decision, with a reason for every snapshot, so a prune run can be audited after the fact. */
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
  return s.type === 'manual' && s.status === 'available' && s.tags[MANAGED_TAG] === MANAGED_TAG_VALUE;
}

function unmanagedReasons(s: SnapshotRecord): string[] {
  const reasons: string[] = [];
  if (s.type !== 'manual')
    reasons.push(`not managed: ${s.type} snapshot (RDS expires it on its own schedule)`);
  if (s.status !== 'available')
    reasons.push(`not managed: status ${JSON.stringify(s.status)} (only "available" snapshots are pruned)`);
  if (s.tags[MANAGED_TAG] !== MANAGED_TAG_VALUE)
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

/** Reasons by tagged-or-not, type and status: a handful of distinct strings, built once. */
const unmanagedReasonsCache = [
  new Map<string, Map<string, string[]>>(),
  new Map<string, Map<string, string[]>>(),
];
function unmanagedReasonsOf(s: SnapshotRecord): string[] {
  const byType = unmanagedReasonsCache[s.tags[MANAGED_TAG] === MANAGED_TAG_VALUE ? 0 : 1] as Map<
    string,
    Map<string, string[]>
  >;
  let byStatus = byType.get(s.type);
  if (byStatus === undefined) {
    if (byType.size > 100) byType.clear();
    byStatus = new Map();
    byType.set(s.type, byStatus);
  }
  let reasons = byStatus.get(s.status);
  if (reasons === undefined) {
    reasons = unmanagedReasons(s);
    if (byStatus.size > 100) byStatus.clear();
    byStatus.set(s.status, reasons);
  }
  return reasons.slice();
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

  // Columns indexed by input position rather than one object per snapshot: 100 000 snapshots
  // must plan well within a Lambda's budget (bench/retention-plan.ts).
  const { snapshots } = input;
  const n = snapshots.length;
  const ids: string[] = new Array(n);
  const times = new Float64Array(n);
  const days = new Float64Array(n);
  const managed = new Uint8Array(n);
  const reasons: (string[] | null)[] = new Array(n).fill(null);
  for (let i = 0; i < n; i++) {
    const s = snapshots[i] as SnapshotRecord;
    const ms = parseIsoWithZone(s.createdAt);
    if (ms === null) throw new InputError(`snapshots[${i}].createdAt`, s.createdAt, ISO_WITH_ZONE_EXPECTED);
    if (typeof s.id !== 'string' || s.id === '')
      throw new InputError(`snapshots[${i}].id`, s.id, 'a non-empty string');
    ids[i] = s.id;
    times[i] = ms;
    // UTC days are exactly 86 400 000 ms in JavaScript time.
    days[i] = Math.floor(ms / MS_PER_DAY);
    if (isManaged(s)) managed[i] = 1;
    else reasons[i] = unmanagedReasonsOf(s);
  }
  const duplicate = firstDuplicate(ids);
  if (duplicate !== -1)
    throw new InputError(`snapshots[${duplicate}].id`, ids[duplicate], 'a snapshot id listed only once');
  const keepFor = (i: number, reason: string) => {
    const list = reasons[i];
    if (list) list.push(reason);
    else reasons[i] = [reason];
  };
  const order = orderByTimeThenId(times, ids);

  // Only managed snapshots dated up to now compete for restore points (indices, oldest first).
  const eligibleAll = new Uint32Array(n);
  let eligibleCount = 0;
  const afterNow = `created after now (${toIsoUtc(nowMs)}): clock skew or a copy in flight; never deleted`;
  for (let k = 0; k < n; k++) {
    const i = order[k] as number;
    if ((times[i] as number) > nowMs) keepFor(i, afterNow);
    else if (managed[i] === 1) eligibleAll[eligibleCount++] = i;
  }

  const eligible = eligibleAll.subarray(0, eligibleCount);

  // Daily restore points: walk newest first; the first snapshot met of each day is its newest.
  const dailyPointOfDay = new Map<number, number>();
  const keptDays = new Set<number>();
  let lastDay = Number.NaN;
  for (let k = eligible.length - 1; k >= 0 && keptDays.size < policy.daily; k--) {
    const i = eligible[k] as number;
    const day = days[i] as number;
    if (day === lastDay) continue;
    lastDay = day;
    dailyPointOfDay.set(day, i);
    keptDays.add(day);
    keepFor(
      i,
      `daily restore point of ${dayLabel(day)} (${keptDays.size} of the ${policy.daily} most recent days)`,
    );
  }

  // Monthly restore points: walk oldest first; the first snapshot met of each month is its earliest.
  const monthlyPointOfMonth = new Map<string, number>();
  lastDay = Number.NaN;
  for (const i of eligible) {
    const day = days[i] as number;
    if (day === lastDay) continue;
    lastDay = day;
    const month = monthOf(day);
    if (!monthlyPointOfMonth.has(month)) monthlyPointOfMonth.set(month, i);
  }
  const months = [...monthlyPointOfMonth.keys()];
  const keptMonths = months.slice(Math.max(0, months.length - policy.monthly));
  keptMonths.forEach((month, index) => {
    const i = monthlyPointOfMonth.get(month) as number;
    const rank = keptMonths.length - index;
    keepFor(i, `monthly restore point of ${month} (${rank} of the ${policy.monthly} most recent months)`);
  });
  const keptMonthSet = new Set(keptMonths);

  const newest = eligible[eligible.length - 1];
  if (newest !== undefined) keepFor(newest, 'newest managed snapshot: never deleted');

  // Everything else managed goes, oldest first, up to the cap. Reasons repeat per day: build
  // each day's once (eligible is in time order, so one day's snapshots are consecutive).
  const reasonOfDay = (day: number): string => {
    const label = dayLabel(day);
    const point = dailyPointOfDay.get(day);
    if (point !== undefined) return `superseded: ${ids[point]} is the daily restore point of ${label}`;
    const month = monthOf(day);
    const monthly = monthlyPointOfMonth.get(month);
    return `expired: ${label} is not among the ${policy.daily} most recent days with a managed snapshot${
      keptMonthSet.has(month) && monthly !== undefined
        ? `, and ${ids[monthly]} is the monthly restore point of ${month}`
        : ''
    }`;
  };
  const toDelete: { i: number; reason: string }[] = [];
  let reasonDay = Number.NaN;
  let reason = '';
  let deferred = '';
  for (const i of eligible) {
    if (reasons[i]) continue;
    const day = days[i] as number;
    if (day !== reasonDay) {
      reasonDay = day;
      reason = reasonOfDay(day);
      deferred = `deferred: over maxDeletionsPerRun (${policy.maxDeletionsPerRun}); would be ${reason}`;
    }
    if (toDelete.length < policy.maxDeletionsPerRun) toDelete.push({ i, reason });
    else keepFor(i, deferred);
  }

  let blocked: string | null = null;
  if (!input.complete) {
    blocked =
      'the snapshot listing is incomplete (complete: false): deleting from a partial view could remove a ' +
      `restore point the listing missed, so nothing is deleted (${toDelete.length} would have been)`;
    for (const d of toDelete) keepFor(d.i, `blocked: incomplete listing; would be ${d.reason}`);
    toDelete.length = 0;
  }

  const keep: RetentionPlan['keep'] = [];
  for (let k = 0; k < n; k++) {
    const i = order[k] as number;
    const list = reasons[i];
    if (list) keep.push({ id: ids[i] as string, reasons: list });
  }
  return { keep, delete: toDelete.map((d) => ({ id: ids[d.i] as string, reason: d.reason })), blocked };
}

const RECORD_KEYS = new Set(['id', 'createdAt', 'type', 'status', 'tags']);
const INPUT_KEYS = new Set(['complete', 'snapshots']);
/** At most this many problems are listed: a wholly wrong file should not print 100 000 lines. */
const MAX_PROBLEMS = 20;

/** Path of a record or its field; built only when something is wrong (a good file builds none). */
function recordPath(index: number, field?: string): string {
  return field === undefined ? `snapshots[${index}]` : `snapshots[${index}].${field}`;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Checks a retention input document (a file given to the CLI, an event) before planning on it, so
 * that a malformed record is refused by name instead of silently planned as "unmanaged".
 * @throws InputProblemsError (an InputError) naming each bad field, e.g. `snapshots[3].createdAt`.
 */
export function parseRetentionInput(raw: unknown): RetentionInput {
  const problems: InputProblem[] = [];
  let overflow = 0;
  const problem = (field: string, value: unknown, expected: string) => {
    if (problems.length < MAX_PROBLEMS) problems.push({ field, value, expected });
    else overflow++;
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
    const list: unknown[] = raw.snapshots;
    for (let i = 0; i < list.length; i++) {
      const record = list[i];
      if (!isPlainObject(record)) {
        problem(recordPath(i), record, 'an object { id, createdAt, type, status, tags }');
        continue;
      }
      const before = problems.length + overflow;
      for (const key in record)
        if (!RECORD_KEYS.has(key))
          problem(
            recordPath(i, key),
            record[key],
            'no such field (expected id, createdAt, type, status, tags)',
          );
      const { id, createdAt, type, status, tags } = record;
      if (typeof id !== 'string' || id.length === 0) problem(recordPath(i, 'id'), id, 'a non-empty string');
      else {
        const first = firstIndexOf.get(id);
        if (first !== undefined)
          problem(recordPath(i, 'id'), id, `a unique id (also snapshots[${first}].id)`);
        else firstIndexOf.set(id, i);
      }
      if (parseIsoWithZone(createdAt) === null)
        problem(recordPath(i, 'createdAt'), createdAt, ISO_WITH_ZONE_EXPECTED);
      if (type !== 'manual' && type !== 'automated')
        problem(recordPath(i, 'type'), type, '"manual" or "automated"');
      if (typeof status !== 'string' || status.length === 0)
        problem(recordPath(i, 'status'), status, 'a non-empty string such as "available"');
      if (!isPlainObject(tags))
        problem(recordPath(i, 'tags'), tags, 'an object of string tag values, e.g. {}');
      else
        for (const key in tags)
          if (typeof tags[key] !== 'string')
            problem(`${recordPath(i, 'tags')}[${JSON.stringify(key)}]`, tags[key], 'a string tag value');
      if (problems.length + overflow === before)
        snapshots.push({
          id: id as string,
          createdAt: createdAt as string,
          type: type as SnapshotRecord['type'],
          status: status as string,
          tags: { ...(tags as Record<string, string>) },
        });
    }
  }
  if (problems.length > 0) throw new InputProblemsError('retention input', problems);
  return { complete: raw.complete as boolean, snapshots };
}
