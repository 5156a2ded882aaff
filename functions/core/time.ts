/**
 * Timestamps as the core accepts them: ISO-8601 with an explicit zone, checked field by field.
 * `Date.parse` alone is not enough: it reads a zone-less time as local time (so the same input
 * means different instants on a laptop and in Lambda) and it rolls `2026-02-30` over into March.
 */

export const MS_PER_MINUTE = 60_000;
export const MS_PER_DAY = 86_400_000;

const ISO_WITH_ZONE =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|([+-])(\d{2}):(\d{2}))$/;

/** What an accepted timestamp looks like, for error messages. */
export const ISO_WITH_ZONE_EXPECTED =
  'an ISO-8601 time with a zone, e.g. "2026-11-26T03:00:00Z" or "2026-11-26T05:00:00+02:00"';

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/**
 * Parses an ISO-8601 timestamp that carries a zone (`Z` or `±hh:mm`).
 * @returns epoch milliseconds, or `null` when the text is not such a timestamp or names an
 *   impossible date or time.
 */
export function parseIsoWithZone(text: unknown): number | null {
  if (typeof text !== 'string') return null;
  const m = ISO_WITH_ZONE.exec(text);
  if (!m) return null;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  const second = m[6] === undefined ? 0 : Number(m[6]);
  const ms = m[7] === undefined ? 0 : Number(`${m[7]}00`.slice(0, 3));
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  if (hour > 23 || minute > 59 || second > 59) return null;
  let offsetMinutes = 0;
  if (m[8] !== 'Z') {
    const offsetHours = Number(m[10]);
    const offsetMins = Number(m[11]);
    if (offsetHours > 23 || offsetMins > 59) return null;
    offsetMinutes = (m[9] === '-' ? -1 : 1) * (offsetHours * 60 + offsetMins);
  }
  return Date.UTC(year, month - 1, day, hour, minute, second, ms) - offsetMinutes * MS_PER_MINUTE;
}

/** Minutes between two instants, rounded to 2 decimals: what reports and targets compare. */
export function minutesBetween(fromMs: number, toMs: number): number {
  return Math.round(((toMs - fromMs) / MS_PER_MINUTE) * 100) / 100;
}

/** Canonical form of an instant in every output: UTC with `Z` and milliseconds. */
export function toIsoUtc(ms: number): string {
  return new Date(ms).toISOString();
}
