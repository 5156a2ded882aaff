/**
 * Named errors shared by the CLI, the Lambda functions and the state machine (whose `Catch` and
 * `Retry` match on `name`).
 */

/** Bad input from a person or a caller: the CLI exits 2, a drill refuses to start, nothing is created. */
export class InputError extends Error {
  /** Dotted path of the offending field, e.g. `targetTime`. */
  readonly field: string;
  readonly value: unknown;

  constructor(field: string, value: unknown, expected: string, options?: ErrorOptions) {
    super(`${field}: ${expected}; got ${value === undefined ? 'nothing' : JSON.stringify(value)}`, options);
    this.name = 'InputError';
    this.field = field;
    this.value = value;
  }
}
