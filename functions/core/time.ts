/**
 * Timestamps as the core accepts them: ISO-8601 with an explicit zone, checked field by field.
 * `Date.parse` alone is not enough: it reads a zone-less time as local time (so the same input
 * means different instants on a laptop and in Lambda) and it rolls `2026-02-30` over into March.
 */

export const MS_PER_MINUTE = 60_000;
export const MS_PER_DAY = 86_400_000;

/** What an accepted timestamp looks like, for error messages. */
export const ISO_WITH_ZONE_EXPECTED =
  'an ISO-8601 time with a zone, e.g. "2026-11-26T03:00:00Z" or "2026-11-26T05:00:00+02:00"';

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const isLeap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;

/** Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's days_from_civil): no Date object per call. */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

/** Value of the `count` decimal digits at `at`, or -1 when any is not a digit. */
function digits(text: string, at: number, count: number): number {
  let value = 0;
  for (let i = at; i < at + count; i++) {
    const d = text.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return -1;
    value = value * 10 + d;
  }
  return value;
}

/**
 * Parses an ISO-8601 timestamp that carries a zone (`Z` or `±hh:mm`):
 * `YYYY-MM-DDTHH:MM[:SS[.fraction]](Z|±hh:mm)`. Hand-written rather than a regular expression
 * because the retention planner reads 100 000 of them per plan (bench/retention-plan.ts).
 * @returns epoch milliseconds, or `null` when the text is not such a timestamp or names an
 *   impossible date or time.
 */
export function parseIsoWithZone(text: unknown): number | null {
  if (typeof text !== 'string' || text.length < 17) return null;
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 2);
  const day = digits(text, 8, 2);
  const hour = digits(text, 11, 2);
  const minute = digits(text, 14, 2);
  if (
    year < 0 ||
    month < 1 ||
    month > 12 ||
    day < 1 ||
    hour < 0 ||
    hour > 23 ||
    minute < 0 ||
    minute > 59 ||
    text.charCodeAt(4) !== 45 /* - */ ||
    text.charCodeAt(7) !== 45 ||
    text.charCodeAt(10) !== 84 /* T */ ||
    text.charCodeAt(13) !== 58 /* : */
  )
    return null;
  if (day > (month === 2 && isLeap(year) ? 29 : (DAYS_IN_MONTH[month - 1] as number))) return null;
  let at = 16;
  let second = 0;
  let ms = 0;
  if (text.charCodeAt(at) === 58) {
    second = digits(text, at + 1, 2);
    if (second < 0 || second > 59) return null;
    at += 3;
    if (text.charCodeAt(at) === 46 /* . */) {
      at++;
      const from = at;
      while (at < text.length && at - from < 10) {
        const d = text.charCodeAt(at) - 48;
        if (d < 0 || d > 9) break;
        if (at - from < 3) ms = ms * 10 + d;
        at++;
      }
      const count = at - from;
      if (count < 1 || count > 9) return null;
      if (count === 1) ms *= 100;
      else if (count === 2) ms *= 10;
    }
  }
  let offsetMinutes = 0;
  const zone = text.charCodeAt(at);
  if (zone === 90 /* Z */) {
    if (at + 1 !== text.length) return null;
  } else if (zone === 43 /* + */ || zone === 45 /* - */) {
    if (at + 6 !== text.length || text.charCodeAt(at + 3) !== 58) return null;
    const offsetHours = digits(text, at + 1, 2);
    const offsetMins = digits(text, at + 4, 2);
    if (offsetHours < 0 || offsetHours > 23 || offsetMins < 0 || offsetMins > 59) return null;
    offsetMinutes = (zone === 45 ? -1 : 1) * (offsetHours * 60 + offsetMins);
  } else {
    return null;
  }
  const utc =
    ((daysFromCivil(year, month, day) * 24 + hour) * 60 + minute) * MS_PER_MINUTE + second * 1000 + ms;
  return utc - offsetMinutes * MS_PER_MINUTE;
}

/** Minutes between two instants, rounded to 2 decimals: what reports and targets compare. */
export function minutesBetween(fromMs: number, toMs: number): number {
  return Math.round(((toMs - fromMs) / MS_PER_MINUTE) * 100) / 100;
}

/** Canonical form of an instant in every output: UTC with `Z` and milliseconds. */
export function toIsoUtc(ms: number): string {
  return new Date(ms).toISOString();
}
