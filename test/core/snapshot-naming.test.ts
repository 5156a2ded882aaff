import { describe, expect, it } from 'vitest';
import { InputError } from '../../functions/core/errors.ts';
import {
  CATCH_UP_DAYS,
  copyIdFor,
  dayOfSnapshotId,
  exportTaskIdFor,
  isUtcDay,
  needsFollowUp,
  parseSnapshotEvent,
  snapshotIdFor,
  type TierCandidate,
  tierFor,
} from '../../functions/core/snapshot-naming.ts';

const candidate = (id: string, createdAt: string | null, extra: Partial<TierCandidate> = {}) => ({
  id,
  status: 'available',
  createdAt: createdAt === null ? null : new Date(createdAt),
  tier: undefined,
  ...extra,
});

describe('snapshot ids', () => {
  it('names one snapshot per source and UTC day, and reads the day back only from its own ids', () => {
    const id = snapshotIdFor('bt-cts-prod', '2026-12-01');
    expect(id).toBe('rd-bt-cts-prod-2026-12-01');
    expect(dayOfSnapshotId(id, 'bt-cts-prod')).toBe('2026-12-01');
    expect(dayOfSnapshotId(id, 'bt-cts')).toBeNull();
    expect(dayOfSnapshotId('rd-bt-cts-prod-2026-02-30', 'bt-cts-prod')).toBeNull();
    expect(dayOfSnapshotId('manual-2026-12-01', 'bt-cts-prod')).toBeNull();
  });

  it('accepts only real calendar days', () => {
    expect(isUtcDay('2028-02-29')).toBe(true);
    expect(isUtcDay('2026-02-29')).toBe(false);
    expect(isUtcDay('2026-1-01')).toBe(false);
  });

  it('gives a same-region copy its own id and keeps the id in another region', () => {
    expect(copyIdFor('rd-a-2026-12-01', 'eu-west-1', 'eu-west-1')).toBe('rd-a-2026-12-01-copy');
    expect(copyIdFor('rd-a-2026-12-01', 'eu-west-1', 'eu-central-1')).toBe('rd-a-2026-12-01');
  });

  it('shortens export task ids over 60 characters, keeping the day and a hash that tells sources apart', () => {
    const long = (source: string) => exportTaskIdFor(snapshotIdFor(source, '2026-12-01'));
    const a = long('a'.repeat(55));
    const b = long(`${'a'.repeat(54)}b`);
    expect(a).toHaveLength(60);
    expect(a.endsWith('-2026-12-01')).toBe(true);
    expect(a).not.toBe(b);
    expect(exportTaskIdFor('rd-short-2026-12-01')).toBe('rd-short-2026-12-01');
  });
});

describe('snapshot tier', () => {
  const id = 'rd-a-2026-12-05';

  it('takes the first snapshot of a UTC month as monthly and a later one as daily', () => {
    expect(tierFor(id, '2026-12-05', [candidate('rd-a-2026-11-30', '2026-11-30T03:00:00Z')])).toBe('monthly');
    expect(tierFor(id, '2026-12-05', [candidate('rd-a-2026-12-01', '2026-12-01T03:00:00Z')])).toBe('daily');
  });

  it('does not count a failed snapshot or one without a time as the first of its month', () => {
    const ours = [
      candidate('rd-a-2026-12-01', '2026-12-01T03:00:00Z', { status: 'failed' }),
      candidate('rd-a-2026-12-02', null),
    ];
    expect(tierFor(id, '2026-12-05', ours)).toBe('monthly');
  });

  it('keeps the tier a snapshot of the day was tagged with, and reads an unknown tag as none', () => {
    const earlier = candidate('rd-a-2026-12-01', '2026-12-01T03:00:00Z');
    expect(
      tierFor(id, '2026-12-05', [earlier, candidate(id, '2026-12-05T03:00:00Z', { tier: 'monthly' })]),
    ).toBe('monthly');
    expect(tierFor(id, '2026-12-05', [candidate(id, '2026-12-05T03:00:00Z', { tier: 'weekly' })])).toBeNull();
  });
});

describe('snapshot follow-up days', () => {
  const now = new Date('2026-12-10T05:00:00Z');

  it(`catches up the last ${CATCH_UP_DAYS} days on a scheduled run`, () => {
    const run = { date: '2026-12-10', explicit: false };
    expect(needsFollowUp('2026-12-03', run, now)).toBe(true);
    expect(needsFollowUp('2026-12-02', run, now)).toBe(false);
    expect(needsFollowUp('2026-12-11', run, now)).toBe(false);
  });

  it('follows up only the day given when a person runs it for a past day', () => {
    const run = { date: '2026-11-20', explicit: true };
    expect(needsFollowUp('2026-11-20', run, now)).toBe(true);
    expect(needsFollowUp('2026-12-09', run, now)).toBe(false);
  });

  it('treats a run given today by hand as a scheduled one', () => {
    expect(needsFollowUp('2026-12-05', { date: '2026-12-10', explicit: true }, now)).toBe(true);
  });
});

describe('snapshot event', () => {
  it('is refused by field before anything is created', () => {
    expect(() => parseSnapshotEvent({ day: '2026-12-01' })).toThrow(InputError);
    expect(
      parseSnapshotEvent({
        source: 'aws.rds',
        detail: { SourceArn: 'arn:aws:rds:eu-west-1:1:snapshot:rd-a-2026-12-01' },
      }),
    ).toEqual({
      trigger: 'rds-event',
      snapshotId: 'rd-a-2026-12-01',
    });
  });
});
