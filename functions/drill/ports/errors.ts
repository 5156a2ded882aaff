/**
 * The drill's failures, one class each, named as the state machine's `Catch` and the report see
 * them. A failure that raises an escalation is an instance of its class's error
 * (`ReadyNotOkError` for READY_NOT_OK, …), and each carries its evidence: status codes, the path,
 * the step's counts; never a password, a cookie or a token (every value passes `redactCredentials`).
 *
 * The evidence crosses the Lambda and state-machine boundary inside the error's message: Lambda
 * keeps only `errorType` and `errorMessage` of a thrown error (in the Cause JSON Step Functions
 * records), the local engine only `name` and `message`. `toStepFailure` packs it where a step
 * leaves its function, `readStepFailure` unpacks it where the report reads `failures.<step>`.
 *
 * They live beside the ports so that an adapter throws them without bundling the steps (and
 * `pg`, and the integrity checks) into every function that uses the adapter.
 */
import type { EscalationClass } from '../../core/escalations.ts';
import { redactCredentials } from '../../core/redact.ts';

export type EvidenceValue = string | number | boolean | null;
/** What a failure observed, flat, for the report, the HTML and the messages. */
export type Evidence = Readonly<Record<string, EvidenceValue>>;

function redactEvidence(evidence: Evidence): Evidence {
  const out: Record<string, EvidenceValue> = {};
  for (const [key, value] of Object.entries(evidence))
    out[key] = typeof value === 'string' ? redactCredentials(value) : value;
  return out;
}

/**
 * A named failure of a drill step: the state machine's `Catch` records it under
 * `failures.<step>`, the report turns it into the step's outcome and evidence.
 */
export class DrillStepError extends Error {
  /** The escalation class this failure raises wherever it is thrown; null: the step's class decides. */
  static readonly escalation: EscalationClass | null = null;
  readonly evidence: Evidence;

  constructor(message: string, evidence: Evidence = {}, options?: ErrorOptions) {
    super(redactCredentials(message), options);
    this.name = 'DrillStepError';
    this.evidence = redactEvidence(evidence);
  }
}

/** How a step names the failure it throws (a smoke check, the app watch) without a string. */
export type DrillFailureClass = new (
  message: string,
  evidence?: Evidence,
  options?: ErrorOptions,
) => DrillStepError;

/** RESTORE_FAILED: the restore, the wait for the instance or the connection to it failed. */
export class RestoreFailedError extends DrillStepError {
  static override readonly escalation: EscalationClass = 'RESTORE_FAILED';
  override name = 'RestoreFailedError';
}

/** RESTORE_FAILED: the instance did not become available within `drill.restoreTimeoutMinutes`. */
export class RestoreTimeoutError extends RestoreFailedError {
  override name = 'RestoreTimeoutError';
}

/** MIGRATION_FAILED: the migrate command failed, or left the schema drifting. */
export class MigrationFailedError extends DrillStepError {
  static override readonly escalation: EscalationClass = 'MIGRATION_FAILED';
  override name = 'MigrationFailedError';
}

/** MIGRATION_FAILED: drift `migrate deploy` cannot fix (a modified, failed or unknown migration). */
export class MigrationDriftError extends MigrationFailedError {
  override name = 'MigrationDriftError';
}

/** READY_NOT_OK: the app is not ready on the restored database (health or readiness not 200). */
export class ReadyNotOkError extends DrillStepError {
  static override readonly escalation: EscalationClass = 'READY_NOT_OK';
  override name = 'ReadyNotOkError';
}

/** READY_NOT_OK: the app did not start against the restored database. */
export class AppStartError extends ReadyNotOkError {
  override name = 'AppStartError';
}

/** AUTH_WRITE_FAILED: the admin login or its session write failed. */
export class AuthWriteFailedError extends DrillStepError {
  static override readonly escalation: EscalationClass = 'AUTH_WRITE_FAILED';
  override name = 'AuthWriteFailedError';
}

/** SMOKE_FAILED: the account search or the day-state read failed. */
export class SmokeFailedError extends DrillStepError {
  static override readonly escalation: EscalationClass = 'SMOKE_FAILED';
  override name = 'SmokeFailedError';
}

/** INTEGRITY_FAILED: a critical table is missing, empty, orphaned or holds rows after T. */
export class IntegrityFailedError extends DrillStepError {
  static override readonly escalation: EscalationClass = 'INTEGRITY_FAILED';
  override name = 'IntegrityFailedError';
}

/** CLEANUP_FAILED: a drill resource (app, secret, instance) could not be removed. */
export class CleanupFailedError extends DrillStepError {
  static override readonly escalation: EscalationClass = 'CLEANUP_FAILED';
  override name = 'CleanupFailedError';
}

/** The execution state lacks what an earlier step should have left (a broken flow, not a finding). */
export class DrillStateError extends DrillStepError {
  override name = 'DrillStateError';
}

/** The state machine asked for a step the drill does not have. */
export class UnknownStepError extends DrillStepError {
  override name = 'UnknownStepError';
}

/** A drill function was asked for a step of another function (it lacks that step's permissions). */
export class WrongFunctionError extends DrillStepError {
  override name = 'WrongFunctionError';
}

/** An adapter cannot do what the step asks in this engine (e.g. the migrate command on ECS). */
export class UnsupportedStepError extends DrillStepError {
  override name = 'UnsupportedStepError';
}

/** The drill secret is missing, malformed or not this stack's. */
export class SecretError extends DrillStepError {
  override name = 'SecretError';
}

/** The captured artifacts (the migrations manifest) the drill compares against are missing. */
export class ArtifactsMissingError extends DrillStepError {
  override name = 'ArtifactsMissingError';
}

/** RPO and RTO could not be evaluated (no restore point known). */
export class EvaluationError extends DrillStepError {
  override name = 'EvaluationError';
}

/** The notify step had no report to publish. */
export class NotifyError extends DrillStepError {
  override name = 'NotifyError';
}

/** The error name of a step a signal cut short (recorded under `failures` by the local engine). */
export const INTERRUPTED_ERROR = 'DrillInterrupted';

/** A step a signal cut short: `skipped` in the report, never an escalation. */
export class DrillInterruptedError extends DrillStepError {
  constructor(message: string, evidence?: Evidence, options?: ErrorOptions) {
    super(message, evidence, options);
    this.name = INTERRUPTED_ERROR;
  }
}

/** The failure class of each escalation class a step can raise. */
export const FAILURE_OF_CLASS = {
  RESTORE_FAILED: RestoreFailedError,
  MIGRATION_FAILED: MigrationFailedError,
  READY_NOT_OK: ReadyNotOkError,
  AUTH_WRITE_FAILED: AuthWriteFailedError,
  SMOKE_FAILED: SmokeFailedError,
  INTEGRITY_FAILED: IntegrityFailedError,
  CLEANUP_FAILED: CleanupFailedError,
} as const satisfies Partial<Record<EscalationClass, DrillFailureClass & { escalation: EscalationClass }>>;

/** What the wire carries in an error's message: the message and the evidence. */
interface Envelope {
  readonly message: string;
  readonly evidence: Evidence;
}

/**
 * The error to let leave a step's function: a failure with evidence becomes an error of the same
 * name whose message is `{"message": …, "evidence": {…}}` (what survives in the Cause); anything
 * else leaves as it is.
 */
export function toStepFailure(error: unknown): unknown {
  if (!(error instanceof DrillStepError) || Object.keys(error.evidence).length === 0) return error;
  const envelope: Envelope = { message: error.message, evidence: error.evidence };
  const wire = new Error(JSON.stringify(envelope), { cause: error });
  wire.name = error.name;
  return wire;
}

function envelopeOf(text: string): Envelope | null {
  try {
    const parsed = JSON.parse(text) as Partial<Envelope> | null;
    if (
      parsed &&
      typeof parsed === 'object' &&
      typeof parsed.message === 'string' &&
      parsed.evidence &&
      typeof parsed.evidence === 'object' &&
      !Array.isArray(parsed.evidence)
    ) {
      const evidence: Record<string, EvidenceValue> = {};
      for (const [key, value] of Object.entries(parsed.evidence))
        if (value === null || ['string', 'number', 'boolean'].includes(typeof value))
          evidence[key] = value as EvidenceValue;
      return { message: parsed.message, evidence: redactEvidence(evidence) };
    }
  } catch {
    // not an envelope
  }
  return null;
}

/**
 * A caught error's Cause, read back: a Lambda error JSON in AWS (`errorMessage`), the message
 * locally; either may hold the evidence envelope.
 */
export function readCause(cause: unknown): Envelope {
  if (typeof cause !== 'string') return { message: JSON.stringify(cause ?? ''), evidence: {} };
  let text = cause;
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (typeof parsed?.errorMessage === 'string') text = parsed.errorMessage;
  } catch {
    // not JSON: the message itself
  }
  return envelopeOf(text) ?? { message: text, evidence: {} };
}

/** Human text of a caught error's Cause (a Lambda error JSON in AWS, the message locally). */
export function causeText(cause: unknown): string {
  return readCause(cause).message;
}

/** A `failures.<step>` record read back: the error's name, its message and its evidence. */
export function readStepFailure(record: { Error: string; Cause: unknown }): {
  error: string;
  message: string;
  evidence: Evidence;
} {
  const { message, evidence } = readCause(record.Cause);
  return { error: record.Error, message, evidence };
}

/** What the local engine (and a test that plays the state machine) records for a caught error. */
export function failureRecord(error: unknown): { Error: string; Cause: string } {
  const wire = toStepFailure(error);
  if (wire instanceof Error) return { Error: wire.name || 'Error', Cause: redactCredentials(wire.message) };
  return { Error: 'Error', Cause: redactCredentials(String(wire)) };
}
