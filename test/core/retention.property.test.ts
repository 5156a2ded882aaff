import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MANAGED_TAG } from '../../functions/core/contracts.ts';
import {
  planRetention,
  type RetentionPlan,
  type RetentionPolicy,
  type SnapshotRecord,
} from '../../functions/core/retention.ts';

// Each rule of the retention policy is its own property, checked over thousands of random
// histories: gaps, several snapshots a day, automated and unmanaged snapshots mixed in, times
// written in several zones, snapshots after "now", shuffled input and random policies.

const DAY = 86_400_000;
const RUNS = 1000;

function isoInZone(ms: number, offsetMinutes: number): string {
  if (offsetMinutes === 0) return new Date(ms).toISOString();
  const local = new Date(ms + offsetMinutes * 60_000).toISOString().slice(0, 19);
  const sign = offsetMinutes < 0 ? '-' : '+';
  const abs = Math.abs(offsetMinutes);
  return `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

interface Scenario {
  snapshots: SnapshotRecord[];
  policy: RetentionPolicy;
  now: Date;
  complete: boolean;
}

const snapshotShape = fc.record({
  // Clustered days (several a day) with gaps: a day index from a small range, then a time of day.
  day: fc.integer({ min: 0, max: 500 }),
  // Sometimes on the hour, so equal times (ties broken by id) are common too.
  msOfDay: fc.oneof(fc.integer({ min: 0, max: DAY - 1 }), fc.constantFrom(0, 3 * 3_600_000, DAY - 1)),
  offsetMinutes: fc.constantFrom(0, 0, 0, 120, -300, 330, -60),
  type: fc.constantFrom<'manual' | 'automated'>('manual', 'manual', 'manual', 'automated'),
  status: fc.constantFrom(
    'available',
    'available',
    'available',
    'available',
    'creating',
    'deleting',
    'failed',
  ),
  managedTag: fc.constantFrom<string | undefined>('true', 'true', 'true', 'true', 'false', 'TRUE', undefined),
});

const scenario: fc.Arbitrary<Scenario> = fc
  .record({
    start: fc.integer({ min: Date.UTC(2019, 0, 1), max: Date.UTC(2030, 0, 1) }),
    shapes: fc.array(snapshotShape, { maxLength: 150 }),
    daily: fc.integer({ min: 1, max: 40 }),
    monthly: fc.integer({ min: 0, max: 15 }),
    maxDeletionsPerRun: fc.oneof(fc.integer({ min: 0, max: 30 }), fc.constant(1000)),
    // Mostly after every snapshot; sometimes inside the history, so some snapshots lie in the future.
    nowDay: fc.oneof(fc.constant(1000), fc.integer({ min: 0, max: 520 })),
    complete: fc.constantFrom(true, true, true, false),
  })
  .map(({ start, shapes, daily, monthly, maxDeletionsPerRun, nowDay, complete }) => ({
    snapshots: shapes.map((s, i) => {
      const ms = start + s.day * DAY + s.msOfDay;
      const tags: Record<string, string> = { 'recovery-drill:tier': 'daily' };
      if (s.managedTag !== undefined) tags[MANAGED_TAG] = s.managedTag;
      return {
        id: `snap-${i}`,
        createdAt: isoInZone(ms, s.offsetMinutes),
        type: s.type,
        status: s.status,
        tags,
      };
    }),
    policy: { daily, monthly, maxDeletionsPerRun },
    now: new Date(start + nowDay * DAY),
    complete,
  }));

const completeScenario = scenario.map((s) => ({ ...s, complete: true }));
const uncappedScenario = completeScenario.map((s) => ({
  ...s,
  policy: { ...s.policy, maxDeletionsPerRun: 1000 },
}));

// A straightforward reference of the rules, written independently of the planner (string day and
// month keys from toISOString, plain sorting), used to check the planner's decisions.
function reference(s: Scenario) {
  const time = (x: SnapshotRecord) => Date.parse(x.createdAt);
  const managed = s.snapshots.filter(
    (x) => x.type === 'manual' && x.status === 'available' && x.tags[MANAGED_TAG] === 'true',
  );
  const eligible = managed.filter((x) => time(x) <= s.now.getTime());
  const day = (x: SnapshotRecord) => new Date(time(x)).toISOString().slice(0, 10);
  const month = (x: SnapshotRecord) => new Date(time(x)).toISOString().slice(0, 7);
  const newestOf = new Map<string, SnapshotRecord>();
  const earliestOf = new Map<string, SnapshotRecord>();
  for (const x of eligible) {
    const d = newestOf.get(day(x));
    if (!d || time(x) > time(d) || (time(x) === time(d) && x.id > d.id)) newestOf.set(day(x), x);
    const m = earliestOf.get(month(x));
    if (!m || time(x) < time(m) || (time(x) === time(m) && x.id < m.id)) earliestOf.set(month(x), x);
  }
  const days = [...newestOf.keys()].sort().reverse().slice(0, s.policy.daily);
  const months = [...earliestOf.keys()].sort().reverse().slice(0, s.policy.monthly);
  const dailyPoints = new Set(days.map((d) => (newestOf.get(d) as SnapshotRecord).id));
  const monthlyPoints = new Set(months.map((m) => (earliestOf.get(m) as SnapshotRecord).id));
  const newest = [...eligible].sort((a, b) => time(a) - time(b) || (a.id < b.id ? -1 : 1)).at(-1);
  const newestManaged = [...managed].sort((a, b) => time(a) - time(b) || (a.id < b.id ? -1 : 1)).at(-1);
  return { managed, eligible, dailyPoints, monthlyPoints, newest, newestManaged, time };
}

const plan = (s: Scenario): RetentionPlan =>
  planRetention({ complete: s.complete, snapshots: s.snapshots }, s.policy, s.now);

/** Fisher-Yates with a seeded mulberry32, so a failing case replays from fast-check's seed. */
function shuffled<T>(list: T[], seed: number): T[] {
  const out = [...list];
  let a = seed >>> 0;
  const random = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

describe('retention planner properties', () => {
  it('puts every input snapshot in exactly one of keep and delete', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const p = plan(s);
        const all = [...p.keep.map((k) => k.id), ...p.delete.map((d) => d.id)];
        expect(all.sort()).toEqual(s.snapshots.map((x) => x.id).sort());
      }),
      { numRuns: RUNS },
    );
  });

  it('gives every kept snapshot a reason and every deleted one a reason', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const p = plan(s);
        for (const k of p.keep) expect(k.reasons.length).toBeGreaterThan(0);
        for (const d of p.delete) expect(d.reason).toMatch(/^(superseded|expired): /);
      }),
      { numRuns: RUNS },
    );
  });

  it('deletes only managed snapshots (manual, available, managed=true) dated up to now', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const { eligible } = reference(s);
        const allowed = new Set(eligible.map((x) => x.id));
        for (const d of plan(s).delete) expect(allowed.has(d.id), d.id).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  it('keeps the newest managed snapshot of each of the most recent `daily` days that have one', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const p = plan(s);
        const { dailyPoints } = reference(s);
        const markedDaily = p.keep
          .filter((k) => k.reasons.some((r) => r.startsWith('daily restore point')))
          .map((k) => k.id);
        expect(new Set(markedDaily)).toEqual(dailyPoints);
      }),
      { numRuns: RUNS },
    );
  });

  it('keeps the earliest managed snapshot of each of the most recent `monthly` months that have one', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const p = plan(s);
        const { monthlyPoints } = reference(s);
        const markedMonthly = p.keep
          .filter((k) => k.reasons.some((r) => r.startsWith('monthly restore point')))
          .map((k) => k.id);
        expect(new Set(markedMonthly)).toEqual(monthlyPoints);
      }),
      { numRuns: RUNS },
    );
  });

  it('never deletes the newest managed snapshot', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const deleted = new Set(plan(s).delete.map((d) => d.id));
        const { newest, newestManaged } = reference(s);
        if (newest) expect(deleted.has(newest.id)).toBe(false);
        if (newestManaged) expect(deleted.has(newestManaged.id)).toBe(false);
      }),
      { numRuns: RUNS },
    );
  });

  it('never deletes a snapshot dated after now, and says so', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const p = plan(s);
        const future = s.snapshots.filter((x) => Date.parse(x.createdAt) > s.now.getTime());
        for (const x of future) {
          const kept = p.keep.find((k) => k.id === x.id);
          expect(kept?.reasons.some((r) => r.startsWith('created after now'))).toBe(true);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('deletes every other managed snapshot when the cap does not bind', () => {
    fc.assert(
      fc.property(uncappedScenario, (s) => {
        const { eligible, dailyPoints, monthlyPoints, newest } = reference(s);
        const expected = eligible
          .filter((x) => !dailyPoints.has(x.id) && !monthlyPoints.has(x.id) && x.id !== newest?.id)
          .map((x) => x.id);
        expect(
          plan(s)
            .delete.map((d) => d.id)
            .sort(),
        ).toEqual(expected.sort());
      }),
      { numRuns: RUNS },
    );
  });

  it('deletes at most maxDeletionsPerRun, oldest first, deferring the rest with a reason', () => {
    fc.assert(
      fc.property(completeScenario, (s) => {
        const p = plan(s);
        const uncapped = plan({ ...s, policy: { ...s.policy, maxDeletionsPerRun: 1000 } });
        const { time } = reference(s);
        const byId = new Map(s.snapshots.map((x) => [x.id, x]));
        const t = (id: string) => time(byId.get(id) as SnapshotRecord);
        expect(p.delete.length).toBe(Math.min(s.policy.maxDeletionsPerRun, uncapped.delete.length));
        // The capped plan deletes the oldest of what the uncapped plan would delete, in that order.
        expect(p.delete.map((d) => d.id)).toEqual(
          uncapped.delete.slice(0, s.policy.maxDeletionsPerRun).map((d) => d.id),
        );
        for (let i = 1; i < p.delete.length; i++)
          expect(t((p.delete[i] as { id: string }).id)).toBeGreaterThanOrEqual(
            t((p.delete[i - 1] as { id: string }).id),
          );
        const deferred = p.keep.filter((k) =>
          k.reasons.some((r) => r.startsWith('deferred: over maxDeletionsPerRun')),
        );
        expect(deferred.map((k) => k.id)).toEqual(
          uncapped.delete.slice(s.policy.maxDeletionsPerRun).map((d) => d.id),
        );
        for (const k of deferred)
          expect(k.reasons).toContain(
            `deferred: over maxDeletionsPerRun (${s.policy.maxDeletionsPerRun}); would be ${uncapped.delete.find((d) => d.id === k.id)?.reason}`,
          );
      }),
      { numRuns: RUNS },
    );
  });

  it('deletes nothing from an incomplete listing and explains it in blocked', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const p = plan(s);
        if (s.complete) {
          expect(p.blocked).toBeNull();
        } else {
          expect(p.delete).toEqual([]);
          expect(p.blocked).toMatch(/^the snapshot listing is incomplete/);
          expect(p.keep).toHaveLength(s.snapshots.length);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('gives the same plan whatever the order of the input', () => {
    fc.assert(
      fc.property(scenario, fc.integer({ min: 1, max: 2 ** 30 }), (s, seed) => {
        expect(plan({ ...s, snapshots: shuffled(s.snapshots, seed) })).toEqual(plan(s));
      }),
      { numRuns: RUNS },
    );
  });

  it('lists keep and delete oldest first (ties by id)', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const p = plan(s);
        const byId = new Map(s.snapshots.map((x) => [x.id, Date.parse(x.createdAt)]));
        for (const list of [p.keep, p.delete]) {
          const keys = list.map((x) => [byId.get(x.id) as number, x.id] as const);
          const sorted = [...keys].sort((a, b) => a[0] - b[0] || (a[1] < b[1] ? -1 : 1));
          expect(keys).toEqual(sorted);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('deletes nothing more when planning again after applying a plan that deferred nothing', () => {
    fc.assert(
      fc.property(uncappedScenario, (s) => {
        const first = plan(s);
        const deleted = new Set(first.delete.map((d) => d.id));
        const second = plan({ ...s, snapshots: s.snapshots.filter((x) => !deleted.has(x.id)) });
        expect(second.delete).toEqual([]);
      }),
      { numRuns: RUNS },
    );
  });

  it('only ever deletes deferred snapshots when applying capped plans repeatedly', () => {
    fc.assert(
      fc.property(completeScenario, (s) => {
        const first = plan(s);
        const uncapped = plan({ ...s, policy: { ...s.policy, maxDeletionsPerRun: 1000 } });
        const mayGo = new Set(uncapped.delete.map((d) => d.id));
        let remaining = s.snapshots.filter((x) => !first.delete.some((d) => d.id === x.id));
        for (let round = 0; round < 200; round++) {
          const next = plan({ ...s, snapshots: remaining });
          if (next.delete.length === 0) break;
          for (const d of next.delete) expect(mayGo.has(d.id), d.id).toBe(true);
          const gone = new Set(next.delete.map((d) => d.id));
          remaining = remaining.filter((x) => !gone.has(x.id));
        }
        // Converges to the uncapped plan's result (when the cap allows progress at all).
        if (s.policy.maxDeletionsPerRun > 0)
          expect(remaining.map((x) => x.id).sort()).toEqual(
            s.snapshots
              .filter((x) => !mayGo.has(x.id))
              .map((x) => x.id)
              .sort(),
          );
      }),
      { numRuns: 200 },
    );
  });

  it('refuses a listing with a repeated id by naming its second occurrence', () => {
    fc.assert(
      fc.property(
        scenario.filter((s) => s.snapshots.length > 0),
        fc.nat(),
        fc.nat(),
        (s, pick, at) => {
          const original = s.snapshots[pick % s.snapshots.length] as SnapshotRecord;
          const position = at % (s.snapshots.length + 1);
          const snapshots = [...s.snapshots];
          snapshots.splice(position, 0, { ...original, createdAt: '2026-01-01T00:00:00Z' });
          const first = snapshots.findIndex((x) => x.id === original.id);
          const second = snapshots.findIndex((x, i) => i > first && x.id === original.id);
          expect(() => plan({ ...s, snapshots })).toThrow(
            expect.objectContaining({
              name: 'InputError',
              field: `snapshots[${second}].id`,
              value: original.id,
            }),
          );
        },
      ),
      { numRuns: 500 },
    );
  });
});
