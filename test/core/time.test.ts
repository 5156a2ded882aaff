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
    'now',
    '',
  ])('refuses %j', (text) => {
    expect(parseIsoWithZone(text)).toBeNull();
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
