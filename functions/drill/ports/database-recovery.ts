/**
 * What a restore drill needs from "the database service", shaped like the RDS calls the AWS
 * adapter makes, so that the same drill steps run against RDS and against the local embedded
 * PostgreSQL engine (`functions/local/local-recovery.ts`).
 */

import type { DrillFrom } from '../../core/drill-input.ts';
import { InputError } from '../../core/errors.ts';
import type { RestorePointSource } from '../../core/evaluate.ts';

export { RESTORE_POINT_SOURCES, type RestorePointSource } from '../../core/evaluate.ts';

/** Tag that marks an instance as a drill's own: the only instances a drill may delete. */
export const DRILL_ID_TAG = 'recovery-drill:drill-id';

export type InstanceStatus = 'creating' | 'available' | 'failed' | 'deleting';

export interface InstanceDescription {
  id: string;
  status: InstanceStatus;
  endpoint: { host: string; port: number } | null;
  tags: Record<string, string>;
  /** The requested target (ISO-8601 UTC); null for "latest". */
  targetTime: string | null;
  /**
   * P: the moment (ISO-8601 UTC) up to which the restored database holds every commit, as the
   * engine knows it when the restore is requested; null when the engine cannot say.
   */
  restorePointAt: string | null;
  /** How the engine knows {@link restorePointAt}; null with it. */
  restorePointSource: RestorePointSource | null;
  failureReason: string | null;
  /** The backup (snapshot) the restore started from, where the engine says (local engine). */
  sourceBackup?: string | null;
}

export interface RestoreRequest {
  instanceId: string;
  targetTime: Date | 'latest';
  tags: Record<string, string>;
  /** Where the data comes from (the drill input's `from`); absent: the source. */
  from?: DrillFrom;
}

/**
 * The calls the drill's steps make on the database service, and no more: backups are taken by the
 * snapshot function in AWS and by the local engine's facade (`functions/local/engine.ts`) locally.
 */
export interface DatabaseRecoveryPort {
  /**
   * Earliest and latest time a restore from `from` (default the source) can reach; null when
   * nothing is restorable yet. An origin the engine does not serve is refused naming `from`.
   */
  restorableWindow(from?: DrillFrom): Promise<{ earliest: Date | null; latest: Date | null }>;
  /**
   * Restores into a new instance. Bad input (malformed id or time, target outside the window)
   * throws and creates nothing.
   */
  restoreToPointInTime(request: RestoreRequest): Promise<InstanceDescription>;
  describeInstance(instanceId: string): Promise<InstanceDescription | null>;
  /** Refuses an instance not tagged with {@link DRILL_ID_TAG}: a drill never deletes what it did not create. */
  deleteInstance(instanceId: string): Promise<void>;
  /**
   * Damaged records the engine skipped (a backup whose record cannot be read), one sentence each
   * naming the file and what to do; the drill reports them beside the backup it used instead.
   * Absent where the service keeps no such records (RDS).
   */
  damagedState?(): Promise<string[]>;
}

/** The target lies outside what the backups and the archived WAL can reach; nothing was created. */
export class RestoreTimeOutOfRangeError extends InputError {
  constructor(value: unknown, expected: string, options?: ErrorOptions) {
    super('targetTime', value, expected, options);
    this.name = 'RestoreTimeOutOfRangeError';
  }
}

/** A backup's files differ from its manifest: restoring it would restore something else. */
export class BackupIntegrityError extends Error {
  readonly backupId: string;
  readonly path: string;

  constructor(backupId: string, path: string, problem: string, options?: ErrorOptions) {
    super(`backup ${backupId} is altered and was refused: ${path}: ${problem}`, options);
    this.name = 'BackupIntegrityError';
    this.backupId = backupId;
    this.path = path;
  }
}

/** Deleting an instance that is not a drill's own (no {@link DRILL_ID_TAG} tag) is refused. */
export class NotADrillInstanceError extends Error {
  readonly instanceId: string;

  constructor(instanceId: string, options?: ErrorOptions) {
    super(
      `instance ${instanceId} is not tagged ${DRILL_ID_TAG}: refusing to delete what a drill did not create`,
      options,
    );
    this.name = 'NotADrillInstanceError';
    this.instanceId = instanceId;
  }
}

/** The named instance or snapshot does not exist. */
export class NotFoundError extends Error {
  constructor(kind: 'instance' | 'snapshot', id: string, options?: ErrorOptions) {
    super(`${kind} ${JSON.stringify(id)} does not exist`, options);
    this.name = 'NotFoundError';
  }
}
