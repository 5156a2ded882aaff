/**
 * The scheduled drills' rotation through `schedules.drillFrom`: deterministic from the scheduled
 * time alone (a retried firing picks the same origin), every entry in turn across years.
 */
import { describe, expect, it } from 'vitest';
import { scheduledDrillFrom, scheduledMonths } from '../../functions/core/drill-rotation.ts';
import { InputError } from '../../functions/core/errors.ts';

const QUARTERLY = { drill: 'cron(0 6 ? 1,4,7,10 MON#1 *)', timezone: 'UTC' };
const TWO = ['source', 'isolated-region'] as const;

describe('scheduled months', () => {
  it.each([
    ['cron(0 6 ? 1,4,7,10 MON#1 *)', [1, 4, 7, 10]],
    ['cron(0 6 ? JAN,APR,JUL,OCT MON#1 *)', [1, 4, 7, 10]],
    ['cron(0 6 1 1-12/3 ? *)', [1, 4, 7, 10]],
    ['cron(0 6 1 */6 ? *)', [1, 7]],
    ['cron(0 6 1 * ? *)', [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]],
    ['rate(90 days)', [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]],
  ] as const)('%s fires in %j', (expression, months) => {
    expect(scheduledMonths(expression)).toEqual(months);
  });

  it('refuses a month field it cannot read, naming schedules.drill', () => {
    expect(() => scheduledMonths('cron(0 6 1 13 ? *)')).toThrow(InputError);
  });
});

describe('the origin of a scheduled drill', () => {
  it.each([
    // [scheduled time, origin] with the default list and the quarterly schedule
    ['2027-01-04T06:00:00Z', 'source'],
    ['2027-04-05T06:00:00Z', 'isolated-region'],
    ['2027-07-05T06:00:00Z', 'source'],
    ['2027-10-04T06:00:00Z', 'isolated-region'],
    ['2028-01-03T06:00:00Z', 'source'],
  ] as const)('the drill of %s restores from %s', (at, from) => {
    expect(scheduledDrillFrom(TWO, QUARTERLY, new Date(at)).from).toBe(from);
  });

  it('takes every entry in turn across years when the list does not divide the year', () => {
    const three = ['source', 'isolated-region', 'isolated-snapshot'] as const;
    const drills = ['2027-01-04', '2027-04-05', '2027-07-05', '2027-10-04', '2028-01-03', '2028-04-03'];
    const froms = drills.map((d) => scheduledDrillFrom(three, QUARTERLY, new Date(`${d}T06:00:00Z`)).from);
    for (let i = 1; i < froms.length; i++) {
      expect(three.indexOf(froms[i] as (typeof three)[number])).toBe(
        (three.indexOf(froms[i - 1] as (typeof three)[number]) + 1) % 3,
      );
    }
  });

  it('picks the same origin for a retried firing, whatever the clock says', () => {
    const at = new Date('2027-04-05T06:00:00Z');
    const first = scheduledDrillFrom(TWO, QUARTERLY, at);
    const again = scheduledDrillFrom(TWO, QUARTERLY, new Date(at.getTime()));
    expect(again).toEqual(first);
    expect(first.why).toContain('scheduled drill 2 of 4 in 2027 (April)');
  });

  it('counts months in the schedule time zone', () => {
    // 23:30 UTC on 31 March is already April in Zurich.
    const at = new Date('2027-03-31T23:30:00Z');
    const utc = scheduledDrillFrom(TWO, { drill: 'cron(0 6 1 * ? *)', timezone: 'UTC' }, at);
    const zurich = scheduledDrillFrom(TWO, { drill: 'cron(0 6 1 * ? *)', timezone: 'Europe/Zurich' }, at);
    expect(utc.from).not.toBe(zurich.from);
  });

  it('refuses a scheduled time that is not a time, naming it', () => {
    expect(() => scheduledDrillFrom(TWO, QUARTERLY, new Date('soon'))).toThrow(/scheduledAt/);
  });
});
