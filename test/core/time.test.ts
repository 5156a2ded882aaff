import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { minutesBetween, parseIsoWithZone, toIsoUtc } from '../../functions/core/time.ts';

describe('zoned ISO-8601 time', () => {
  it.each([
    ['2026-11-26T03:00:00Z', '2026-11-26T03:00:00.000Z'],
    ['2026-11-26T03:00Z', '2026-11-26T03:00:00.000Z'],
    ['2026-11-26T05:00:00+02:00', '2026-11-26T03:00:00.000Z'],
    ['2026-11-25T22:30:00-04:30', '2026-11-26T03:00:00.000Z'],
    ['2026-11-26T03:00:00.57Z', '2026-11-26T03:00:00.570Z'],
    ['2026-11-26T03:00:00.123456789Z', '2026-11-26T03:00:00.123Z'],
    ['2024-02-29T00:00:00Z', '2024-02-29T00:00:00.000Z'],
    ['0050-03-01T00:00:00Z', '0050-03-01T00:00:00.000Z'],
  ])('reads %s as %s', (text, iso) => {
    expect(toIsoUtc(parseIsoWithZone(text) as number)).toBe(iso);
  });

  it.each([
    '2026-11-26T03:00:00',
    '2026-11-26',
    '2026-11-26 03:00:00Z',
    '2025-02-29T00:00:00Z',
    '2026-04-31T00:00:00Z',
    '2026-00-10T00:00:00Z',
    '2026-11-26T24:00:00Z',
    '2026-11-26T23:60:00Z',
    '2026-11-26T23:59:60Z',
    '2026-11-26T03:00:00+0200',
    '2026-11-26T03:00:00+24:00',
    '2026-11-26T03:00:00z',
    '2026-11-26T03:00:00.Z',
    '2026-11-26T03:00:00.1234567890Z',
    '2026-11-26T03:00:00Z ',
    '2100-02-29T00:00:00Z',
    'now',
    '',
  ])('refuses %j', (text) => {
    expect(parseIsoWithZone(text)).toBeNull();
  });

  it('reads every instant of years 0001-9999 as Date.parse does, in any zone', () => {
    fc.assert(
      fc.property(
        fc.date({
          min: new Date('0001-01-01T00:00:00Z'),
          max: new Date('9999-12-31T23:59:59Z'),
          noInvalidDate: true,
        }),
        fc.integer({ min: -23 * 60 - 59, max: 23 * 60 + 59 }),
        (date, offset) => {
          const local = new Date(date.getTime() + offset * 60_000).toISOString();
          if (!/^\d{4}-/.test(local)) return; // the offset pushed it outside years 0001-9999
          const abs = Math.abs(offset);
          const zone = `${offset < 0 ? '-' : '+'}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
          const text = `${local.slice(0, -1)}${zone}`;
          expect(parseIsoWithZone(text)).toBe(date.getTime());
          expect(parseIsoWithZone(text)).toBe(Date.parse(text));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('refuses what is not a string', () => {
    expect(parseIsoWithZone(1_700_000_000_000)).toBeNull();
    expect(parseIsoWithZone(null)).toBeNull();
  });

  it('measures minutes between instants to two decimals', () => {
    expect(minutesBetween(0, 100_000)).toBe(1.67);
    expect(minutesBetween(100_000, 0)).toBe(-1.67);
    expect(minutesBetween(0, 3_600_000)).toBe(60);
  });
});
