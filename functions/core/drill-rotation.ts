/**
 * Which origin a scheduled drill restores from (`schedules.drillFrom`): the scheduled drills take
 * the list in turn, so the source and the isolated copy are each proven on a known cadence.
 *
 * Deterministic and idempotent: the choice depends only on the schedule's *scheduled* time (the
 * EventBridge Scheduler context attribute, the same on every retry of one firing), never on the
 * clock or on what ran before. The n-th scheduled drill is counted by the months the schedule
 * names: with `cron(0 6 ? 1,4,7,10 MON#1 *)` the April drill is the 2nd of its year; a schedule
 * that runs every month (`*`) or a `rate(...)` counts every month. Counting goes on across years
 * (year × drills per year + position in the year), so a list whose length does not divide the
 * drills per year still takes every entry in turn. Two firings in one named month pick the same
 * origin. Pure: no AWS SDK.
 */
import { InputError } from './errors.ts';

const MONTH_NAMES = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];

function monthNumber(token: string): number {
  const named = MONTH_NAMES.indexOf(token.toUpperCase());
  return named >= 0 ? named + 1 : Number(token);
}

/**
 * The months (1-12) a schedule expression fires in, ascending: the cron's month field expanded
 * (lists, ranges, steps, names); every month for `*` and for `rate(...)`.
 */
export function scheduledMonths(expression: string): number[] {
  const cron = /^cron\(([^)]*)\)$/.exec(expression.trim());
  const field = cron ? (cron[1] ?? '').trim().split(/\s+/)[3] : undefined;
  if (field === undefined || field === '*' || field === '?') return [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];
  const months = new Set<number>();
  for (const part of field.split(',')) {
    const [range = '', stepText] = part.split('/');
    const step = stepText === undefined ? 1 : Number(stepText);
    const [fromText = '', toText] = range === '*' ? ['1', '12'] : range.split('-');
    const from = monthNumber(fromText);
    const to = toText === undefined ? (stepText === undefined ? from : 12) : monthNumber(toText);
    if (![from, to, step].every(Number.isInteger) || from < 1 || to > 12 || step < 1)
      throw new InputError(
        'schedules.drill',
        expression,
        'a cron expression whose month field names months 1-12 or JAN-DEC',
      );
    for (let m = from; m <= to; m += step) months.add(m);
  }
  return [...months].sort((a, b) => a - b);
}

/** Year and month (1-12) of an instant in an IANA time zone. */
function yearMonthIn(at: Date, timeZone: string): { year: number; month: number } {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    year: 'numeric',
    month: 'numeric',
  }).formatToParts(at);
  const get = (type: string) => Number(parts.find((p) => p.type === type)?.value);
  return { year: get('year'), month: get('month') };
}

/** What a scheduled drill restores from, and why. */
export interface RotationChoice<F extends string> {
  readonly from: F;
  /** The drill's position in the rotation (0-based, counted across years). */
  readonly ordinal: number;
  /** For the logs: "the 2nd scheduled drill of 2027 (April) takes entry 2 of 2: isolated-region". */
  readonly why: string;
}

/**
 * The origin of the scheduled drill that fired at `scheduledAt`.
 * @throws InputError naming `scheduledAt` when it is not a time, `schedules.drillFrom` when empty.
 */
export function scheduledDrillFrom<F extends string>(
  drillFrom: readonly F[],
  schedule: { readonly drill: string; readonly timezone: string },
  scheduledAt: Date,
): RotationChoice<F> {
  if (!(scheduledAt instanceof Date) || Number.isNaN(scheduledAt.getTime()))
    throw new InputError('scheduledAt', String(scheduledAt), "the schedule's scheduled time (ISO-8601)");
  if (drillFrom.length === 0) throw new InputError('schedules.drillFrom', '[]', 'at least one origin');
  const months = scheduledMonths(schedule.drill);
  const { year, month } = yearMonthIn(scheduledAt, schedule.timezone);
  // A firing that slipped past its month (none should) counts with the last named month before it.
  const inYear = Math.max(0, months.filter((m) => m <= month).length - 1);
  const ordinal = year * months.length + inYear;
  const index = ordinal % drillFrom.length;
  const from = drillFrom[index] as F;
  const monthName = new Intl.DateTimeFormat('en-US', { month: 'long', timeZone: 'UTC' }).format(
    new Date(Date.UTC(2000, month - 1, 15)),
  );
  return {
    from,
    ordinal,
    why: `scheduled drill ${inYear + 1} of ${months.length} in ${year} (${monthName}) takes entry ${index + 1} of ${drillFrom.length} of schedules.drillFrom: ${from}`,
  };
}
