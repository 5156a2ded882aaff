/**
 * Validation of EventBridge schedule expressions, so that a typo in a schedule is refused when the
 * configuration is read instead of when CloudFormation rejects the deployment (or, worse, when a
 * schedule silently never fires).
 */

const RATE = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/;
const CRON = /^cron\(([^)]*)\)$/;

const FIELD_NAMES = ['minutes', 'hours', 'day-of-month', 'month', 'day-of-week', 'year'] as const;

const MONTHS = 'JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC';
const DAYS = 'SUN|MON|TUE|WED|THU|FRI|SAT';

function listOf(item: string): RegExp {
  const one = `(?:\\*|${item}(?:-${item})?)(?:/\\d+)?`;
  return new RegExp(`^${one}(?:,${one})*$`);
}

const FIELD_PATTERNS: Record<(typeof FIELD_NAMES)[number], RegExp> = {
  minutes: listOf('(?:[0-5]?\\d)'),
  hours: listOf('(?:[01]?\\d|2[0-3])'),
  'day-of-month':
    /^(?:\?|L|LW|(?:[1-9]|[12]\d|3[01])W|(?:(?:\*|(?:[1-9]|[12]\d|3[01])(?:-(?:[1-9]|[12]\d|3[01]))?)(?:\/\d+)?)(?:,(?:\*|(?:[1-9]|[12]\d|3[01])(?:-(?:[1-9]|[12]\d|3[01]))?)(?:\/\d+)?)*)$/,
  month: listOf(`(?:[1-9]|1[0-2]|${MONTHS})`),
  'day-of-week': new RegExp(
    `^(?:\\?|L|(?:[1-7]|${DAYS})L|(?:[1-7]|${DAYS})#[1-5]|${listOf(`(?:[1-7]|${DAYS})`).source.slice(1, -1)})$`,
  ),
  year: listOf('(?:19[7-9]\\d|2[01]\\d\\d)'),
};

/**
 * Checks an EventBridge `rate(...)` or `cron(...)` expression.
 * @returns `null` when valid, otherwise a sentence saying what is wrong.
 */
export function scheduleExpressionProblem(expression: string): string | null {
  const rate = RATE.exec(expression);
  if (rate) {
    const value = Number(rate[1]);
    const unit = rate[2] ?? '';
    if (value < 1) return 'a rate must be at least 1';
    if (value === 1 && unit.endsWith('s'))
      return `use the singular unit for 1 ("rate(1 ${unit.slice(0, -1)})")`;
    if (value > 1 && !unit.endsWith('s'))
      return `use the plural unit for ${value} ("rate(${value} ${unit}s)")`;
    return null;
  }
  const cron = CRON.exec(expression);
  if (!cron) return 'expected "rate(N unit)" or "cron(min hour day-of-month month day-of-week year)"';
  const fields = (cron[1] ?? '').trim().split(/\s+/);
  if (fields.length !== 6)
    return `a cron expression has 6 fields (min hour day-of-month month day-of-week year), got ${fields.length}`;
  for (const [index, name] of FIELD_NAMES.entries()) {
    const field = fields[index] ?? '';
    if (!FIELD_PATTERNS[name].test(field.toUpperCase())) return `the ${name} field "${field}" is not valid`;
  }
  const dayOfMonth = fields[2];
  const dayOfWeek = fields[4];
  if ((dayOfMonth === '?') === (dayOfWeek === '?')) {
    return 'exactly one of day-of-month and day-of-week must be "?"';
  }
  return null;
}
