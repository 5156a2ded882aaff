/**
 * Named errors shared by the CLI, the Lambda functions and the state machine (whose `Catch` and
 * `Retry` match on `name`).
 */

/** Bad input from a person or a caller: the CLI exits 2, a drill refuses to start, nothing is created. */
export class InputError extends Error {
  /** The name a caller (the state machine's `Catch`) matches bad input on. */
  static readonly errorName: string = 'InputError';
  /** Dotted path of the offending field, e.g. `targetTime`. */
  readonly field: string;
  readonly value: unknown;

  constructor(field: string, value: unknown, expected: string, options?: ErrorOptions) {
    super(`${field}: ${expected}; got ${value === undefined ? 'nothing' : JSON.stringify(value)}`, options);
    this.name = InputError.errorName;
    this.field = field;
    this.value = value;
  }
}

/** One problem in an input, so a caller can fix everything in one go instead of one error per try. */
export interface InputProblem {
  /** Dotted path of the offending field, e.g. `snapshots[3].createdAt`. */
  readonly field: string;
  readonly value: unknown;
  /** What was expected, as a phrase ("an ISO-8601 time with a zone"). */
  readonly expected: string;
}

/** Longest rendering of a bad value in a message: a pasted log line must not flood a terminal. */
const MAX_SHOWN_VALUE = 120;

/** Renders a bad value for a message: JSON, shortened, `nothing` when missing. */
export function showValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  let json: string;
  try {
    json = JSON.stringify(value) ?? String(value);
  } catch {
    json = String(value);
  }
  return json.length > MAX_SHOWN_VALUE ? `${json.slice(0, MAX_SHOWN_VALUE - 3)}...` : json;
}

/**
 * Several problems in one input, reported at once. It is an `InputError` (field = the first
 * problem's) so every caller that maps `InputError` to exit 2 or to a refused drill keeps working.
 */
export class InputProblemsError extends InputError {
  readonly problems: readonly InputProblem[];

  constructor(subject: string, problems: readonly InputProblem[], options?: ErrorOptions) {
    const first = problems[0] ?? { field: subject, value: undefined, expected: 'a valid value' };
    super(first.field, first.value, first.expected, options);
    this.name = 'InputProblemsError';
    this.problems = problems;
    this.message =
      problems.length === 1
        ? `${subject} is invalid: ${first.field}: ${first.expected}; got ${showValue(first.value)}`
        : `${subject} is invalid (${problems.length} problems):\n${problems
            .map((p) => `  - ${p.field}: ${p.expected}; got ${showValue(p.value)}`)
            .join('\n')}`;
  }
}
