/**
 * "Today" as BT-CTS sees it: the business date is the instant of local midnight in the process's
 * time zone (run the app with `TZ=UTC` for the same dates everywhere). Accounts loaded today,
 * today's day cycle and every posting's business date are keyed by it.
 */

/** Local midnight of the day `offsetDays` away from `now` (DST-safe: calendar arithmetic). */
export function localMidnight(offsetDays = 0, now: Date = new Date()): Date {
  const day = new Date(now.getFullYear(), now.getMonth(), now.getDate() + offsetDays);
  day.setHours(0, 0, 0, 0);
  return day;
}

/** Today's business date. */
export function startOfToday(now: Date = new Date()): Date {
  return localMidnight(0, now);
}
