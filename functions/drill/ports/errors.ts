/**
 * The named error every port adapter and step throws when a call fails in a way the drill reports
 * (the state machine's `Catch` records it by name; the report maps steps to classes). It lives
 * beside the ports, not in the steps, so that an adapter can throw it without bundling the steps
 * (and `pg`, and the integrity checks) into every function that uses the adapter.
 */
import { redactCredentials } from '../../core/redact.ts';

/** Named errors of the steps and the adapters: the message is redacted, the name is what the ASL catches. */
export class DrillStepError extends Error {
  constructor(name: string, message: string, options?: ErrorOptions) {
    super(redactCredentials(message), options);
    this.name = name;
  }
}

/** Human text of a caught error's Cause (a Lambda error JSON in AWS, the message locally). */
export function causeText(cause: unknown): string {
  if (typeof cause !== 'string') return JSON.stringify(cause ?? '');
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') return parsed.errorMessage;
  } catch {
    // not JSON: the message itself
  }
  return cause;
}
