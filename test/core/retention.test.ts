import { describe, expect, it } from 'vitest';
import { MANAGED_TAG } from '../../functions/core/contracts.ts';
import { InputError, InputProblemsError } from '../../functions/core/errors.ts';
import {
  isManaged,
  parseRetentionInput,
  planRetention,
  type RetentionPlan,
} from '../../functions/core/retention.ts';
import { dailyHistory, managedSnapshot, runbookPolicy, uncappedPolicy } from './snapshot-factories.ts';

const ids = (list: { id: string }[]) => list.map((x) => x.id);
const reasonsOf = (plan: RetentionPlan, id: string) => plan.keep.find((k) => k.id === id)?.reasons ?? [];
/** The planning clock of these tests. */
const now = () => new Date('2027-01-01T00:00:00Z');

describe('retention planner', () => {
  it('keeps the newest snapshot of each of the 35 most recent days', () => {
    // Two a day for 60 days: the 03:00 one is superseded by the 15:00 one.
    const snapshots = [...dailyHistory('2026-10-01', 60, 3), ...dailyHistory('2026-10-01', 60, 15)];
    const plan = planRetention({ complete: true, snapshots }, uncappedPolicy(35, 0), now());
    const daily = plan.keep.filter((k) => k.reasons.some((r) => r.startsWith('daily restore point')));
    expect(daily).toHaveLength(35);
    expect(ids(daily)).toEqual(dailyHistory('2026-10-26', 35, 15).map((s) => s.id));
    expect(plan.delete).toHaveLength(120 - 35);
  });

  it('counts only days that have a snapshot, so a gap never shrinks the kept history', () => {
    const snapshots = [...dailyHistory('2026-01-01', 40), ...dailyHistory('2026-09-01', 3)];
    const plan = planRetention({ complete: true, snapshots }, uncappedPolicy(35, 0), now());
    expect(plan.keep).toHaveLength(35);
    expect(ids(plan.keep)).toContain('snap-2026-01-09-03');
    expect(ids(plan.delete)).toEqual(dailyHistory('2026-01-01', 8).map((s) => s.id));
  });

  it('keeps the earliest snapshot of each of the 12 most recent months', () => {
    const snapshots = dailyHistory('2025-06-01', 540);
    const plan = planRetention({ complete: true, snapshots }, uncappedPolicy(1, 12), now());
    const monthly = plan.keep.filter((k) => k.reasons.some((r) => r.startsWith('monthly restore point')));
    expect(ids(monthly)).toEqual(
      ['2025-12', '2026-01', '2026-02', '2026-03', '2026-04', '2026-05', '2026-06', '2026-07', '2026-08']
        .concat(['2026-09', '2026-10', '2026-11'])
        .map((m) => `snap-${m}-01-03`),
    );
    expect(reasonsOf(plan, 'snap-2026-11-01-03')).toContain(
      'monthly restore point of 2026-11 (1 of the 12 most recent months)',
    );
  });

  it('never deletes the newest managed snapshot even with the smallest policy', () => {
    const snapshots = dailyHistory('2026-11-01', 10);
    const plan = planRetention({ complete: true, snapshots }, uncappedPolicy(1, 0), now());
    expect(ids(plan.keep)).toEqual(['snap-2026-11-10-03']);
    expect(reasonsOf(plan, 'snap-2026-11-10-03')).toContain('newest managed snapshot: never deleted');
  });

  it('keeps snapshots it does not manage, saying why', () => {
    const snapshots = [
      managedSnapshot('automated', '2025-01-01T03:00:00Z', { type: 'automated' }),
      managedSnapshot('creating', '2025-01-02T03:00:00Z', { status: 'creating' }),
      managedSnapshot('untagged', '2025-01-03T03:00:00Z', { tags: {} }),
      managedSnapshot('upper-case-true', '2025-01-04T03:00:00Z', { tags: { [MANAGED_TAG]: 'TRUE' } }),
      ...dailyHistory('2026-12-01', 3),
    ];
    const plan = planRetention({ complete: true, snapshots }, uncappedPolicy(1, 0), now());
    expect(ids(plan.delete)).toEqual(['snap-2026-12-01-03', 'snap-2026-12-02-03']);
    expect(reasonsOf(plan, 'automated')).toEqual([
      'not managed: automated snapshot (RDS expires it on its own schedule)',
    ]);
    expect(reasonsOf(plan, 'creating')).toEqual([
      'not managed: status "creating" (only "available" snapshots are pruned)',
    ]);
    expect(reasonsOf(plan, 'untagged')[0]).toMatch(/^not managed: no tag recovery-drill:managed=true/);
    expect(reasonsOf(plan, 'upper-case-true')[0]).toMatch(/^not managed: no tag/);
  });

  it('deletes at most maxDeletionsPerRun, oldest first, and defers the rest with a reason', () => {
    const snapshots = dailyHistory('2026-01-01', 100);
    const plan = planRetention(
      { complete: true, snapshots },
      { daily: 35, monthly: 0, maxDeletionsPerRun: 20 },
      now(),
    );
    expect(ids(plan.delete)).toEqual(dailyHistory('2026-01-01', 20).map((s) => s.id));
    const deferred = plan.keep.filter((k) => k.reasons.some((r) => r.startsWith('deferred:')));
    expect(deferred).toHaveLength(100 - 35 - 20);
    expect(deferred[0]?.reasons[0]).toMatch(/^deferred: over maxDeletionsPerRun \(20\); would be expired: /);
  });

  it('deletes nothing from an incomplete listing and says why in blocked', () => {
    // 50 days: 35 daily points and the monthly point of January stay, so 14 would have gone.
    const snapshots = dailyHistory('2026-01-01', 50);
    const plan = planRetention({ complete: false, snapshots }, runbookPolicy(), now());
    expect(plan.delete).toEqual([]);
    expect(plan.blocked).toMatch(/incomplete \(complete: false\).*nothing is deleted \(14 would have been\)/);
    expect(plan.keep).toHaveLength(50);
    expect(reasonsOf(plan, 'snap-2026-01-02-03')[0]).toMatch(
      /^blocked: incomplete listing; would be expired/,
    );
  });

  it('keeps a snapshot dated after now and plans the rest as of now', () => {
    const snapshots = [...dailyHistory('2026-12-29', 3), managedSnapshot('tomorrow', '2027-01-02T03:00:00Z')];
    const plan = planRetention({ complete: true, snapshots }, uncappedPolicy(1, 0), now());
    expect(reasonsOf(plan, 'tomorrow')).toEqual([
      'created after now (2027-01-01T00:00:00.000Z): clock skew or a copy in flight; never deleted',
    ]);
    expect(reasonsOf(plan, 'snap-2026-12-31-03')).toContain('newest managed snapshot: never deleted');
    expect(ids(plan.delete)).toEqual(['snap-2026-12-29-03', 'snap-2026-12-30-03']);
  });

  it('assigns a snapshot to its UTC day, whatever zone its time is written in', () => {
    const snapshots = [
      managedSnapshot('late-utc-day-1', '2026-11-02T01:00:00+02:00'),
      managedSnapshot('early-utc-day-1', '2026-11-01T01:00:00Z'),
      managedSnapshot('utc-day-2', '2026-11-01T23:30:00-01:00'),
    ];
    const plan = planRetention({ complete: true, snapshots }, uncappedPolicy(2, 0), now());
    expect(ids(plan.delete)).toEqual(['early-utc-day-1']);
    expect(plan.delete[0]?.reason).toBe(
      'superseded: late-utc-day-1 is the daily restore point of 2026-11-01',
    );
  });

  it('explains a deletion outside the daily window by the monthly restore point of its month', () => {
    const snapshots = dailyHistory('2026-11-01', 5);
    const plan = planRetention({ complete: true, snapshots }, uncappedPolicy(2, 1), now());
    expect(plan.delete.map((d) => d.reason)).toEqual([
      'expired: 2026-11-02 is not among the 2 most recent days with a managed snapshot, and snap-2026-11-01-03 is the monthly restore point of 2026-11',
      'expired: 2026-11-03 is not among the 2 most recent days with a managed snapshot, and snap-2026-11-01-03 is the monthly restore point of 2026-11',
    ]);
  });

  it('orders snapshots centuries apart and to the millisecond', () => {
    const snapshots = [
      managedSnapshot('far-future', '9999-12-31T23:59:59.999Z'),
      managedSnapshot('b-same-ms', '2026-11-01T03:00:00.001Z'),
      managedSnapshot('ancient', '0001-01-01T00:00:00Z'),
      managedSnapshot('a-same-ms', '2026-11-01T04:00:00.001+01:00'),
      managedSnapshot('one-ms-earlier', '2026-11-01T03:00:00Z'),
    ];
    const plan = planRetention({ complete: true, snapshots }, uncappedPolicy(1, 0), now());
    expect(ids(plan.delete)).toEqual(['ancient', 'one-ms-earlier', 'a-same-ms']);
    expect(ids(plan.keep)).toEqual(['b-same-ms', 'far-future']);
  });

  it('plans an empty listing as nothing to do', () => {
    expect(planRetention({ complete: true, snapshots: [] }, runbookPolicy(), now())).toEqual({
      keep: [],
      delete: [],
      blocked: null,
    });
  });

  it('refuses duplicate ids by naming the second occurrence', () => {
    const snapshots = [
      managedSnapshot('a', '2026-01-01T00:00:00Z'),
      managedSnapshot('a', '2026-01-02T00:00:00Z'),
    ];
    expect(() => planRetention({ complete: true, snapshots }, runbookPolicy(), now())).toThrow(
      expect.objectContaining({ name: 'InputError', field: 'snapshots[1].id', value: 'a' }),
    );
  });

  it('finds a repeated id among thousands, wherever it lands in the hash table', () => {
    const history = dailyHistory('2020-01-01', 3000);
    for (let k = 0; k < 3000; k += 61) {
      const snapshots = [...history, managedSnapshot(history[k]?.id as string, '2026-01-01T00:00:00Z')];
      expect(() => planRetention({ complete: true, snapshots }, runbookPolicy(), now())).toThrow(
        expect.objectContaining({ field: 'snapshots[3000].id' }),
      );
    }
  });

  it('refuses an id that is not a non-empty string by naming it', () => {
    const snapshots = [
      managedSnapshot('a', '2026-01-01T00:00:00Z'),
      managedSnapshot('', '2026-01-02T00:00:00Z'),
    ];
    expect(() => planRetention({ complete: true, snapshots }, runbookPolicy(), now())).toThrow(
      expect.objectContaining({ field: 'snapshots[1].id', value: '' }),
    );
  });

  it('refuses a createdAt without a zone by naming it', () => {
    const snapshots = [managedSnapshot('a', '2026-01-01T00:00:00')];
    expect(() => planRetention({ complete: true, snapshots }, runbookPolicy(), now())).toThrow(
      expect.objectContaining({ field: 'snapshots[0].createdAt' }),
    );
  });

  it.each([
    [{ daily: 0, monthly: 12, maxDeletionsPerRun: 20 }, 'policy.daily'],
    [{ daily: 35, monthly: -1, maxDeletionsPerRun: 20 }, 'policy.monthly'],
    [{ daily: 35, monthly: 12, maxDeletionsPerRun: 1.5 }, 'policy.maxDeletionsPerRun'],
  ])('refuses the policy %o by naming %s', (policy, field) => {
    expect(() => planRetention({ complete: true, snapshots: [] }, policy, now())).toThrow(
      expect.objectContaining({ field }),
    );
  });
});

describe('managed snapshot', () => {
  it('is manual, available and tagged managed=true', () => {
    expect(isManaged(managedSnapshot('a', '2026-01-01T00:00:00Z'))).toBe(true);
    expect(isManaged(managedSnapshot('a', '2026-01-01T00:00:00Z', { type: 'automated' }))).toBe(false);
    expect(isManaged(managedSnapshot('a', '2026-01-01T00:00:00Z', { status: 'copying' }))).toBe(false);
    expect(isManaged(managedSnapshot('a', '2026-01-01T00:00:00Z', { tags: { [MANAGED_TAG]: 'yes' } }))).toBe(
      false,
    );
  });
});

describe('retention input', () => {
  const document = () => ({
    complete: true,
    snapshots: [
      managedSnapshot('a', '2026-01-01T03:00:00Z'),
      managedSnapshot('b', '2026-01-02T03:00:00+01:00'),
    ],
  });

  function problemsOf(raw: unknown) {
    try {
      parseRetentionInput(raw);
    } catch (error) {
      expect(error).toBeInstanceOf(InputProblemsError);
      expect(error).toBeInstanceOf(InputError);
      return (error as InputProblemsError).problems.map((p) => p.field);
    }
    throw new Error('expected the retention input to be refused');
  }

  it('accepts a well-formed document as it is', () => {
    expect(parseRetentionInput(document())).toEqual(document());
  });

  it('refuses something that is not an object', () => {
    expect(problemsOf([])).toEqual(['(input)']);
    expect(problemsOf(null)).toEqual(['(input)']);
  });

  it('names each malformed field of each record at once', () => {
    const raw = {
      complete: 'yes',
      snapshots: [
        { id: '', createdAt: 'yesterday', type: 'snapshot', status: 3, tags: [] },
        managedSnapshot('ok', '2026-01-01T00:00:00Z'),
        { ...managedSnapshot('x', '2026-02-30T00:00:00Z'), tags: { [MANAGED_TAG]: true } },
        'not a record',
        { ...managedSnapshot('ok', '2026-01-01T00:00:00Z'), size: 10 },
      ],
      extra: 1,
    };
    expect(problemsOf(raw)).toEqual([
      'extra',
      'complete',
      'snapshots[0].id',
      'snapshots[0].createdAt',
      'snapshots[0].type',
      'snapshots[0].status',
      'snapshots[0].tags',
      'snapshots[2].createdAt',
      'snapshots[2].tags["recovery-drill:managed"]',
      'snapshots[3]',
      'snapshots[4].size',
      'snapshots[4].id',
    ]);
  });

  it('names a duplicate id and where it was first seen', () => {
    const raw = {
      complete: true,
      snapshots: [managedSnapshot('a', '2026-01-01T00:00:00Z'), managedSnapshot('a', '2026-01-02T00:00:00Z')],
    };
    expect(() => parseRetentionInput(raw)).toThrow(
      /snapshots\[1\]\.id: a unique id \(also snapshots\[0\]\.id\); got "a"/,
    );
  });

  it('lists at most 20 problems for a wholly wrong file', () => {
    const raw = { complete: true, snapshots: Array.from({ length: 500 }, () => 'junk') };
    expect(problemsOf(raw)).toHaveLength(20);
  });

  it('requires the snapshots array', () => {
    expect(problemsOf({ complete: true })).toEqual(['snapshots']);
  });
});
