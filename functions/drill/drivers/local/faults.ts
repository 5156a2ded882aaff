/**
 * Faults for `recovery-drill drill --local --inject FAULT`: each breaks a real part of the drill
 * (the restore, the migrations, the restored database, the app process) so the drill must find it
 * on its own and raise the escalation class the runbook names. None of them edits the report.
 *
 * They work on any app: what they break is found through the configuration (the session store's
 * table, the tables behind the search and the day state, the critical tables and their timestamp
 * column) and the database catalog (foreign keys, column types, Prisma's migration records), never
 * through the example app's table names. A fault that cannot apply to the configured app is
 * refused before the drill starts, naming what it needs. The session store's table may appear only
 * once the app runs (connect-pg-simple creates it on the first session it stores): the fault then
 * takes hold when the table is created, and if it never is, the drill says it ran without the fault.
 *
 * This file is the list of faults and what each needs from the configuration; `fault-targets.ts`
 * finds what a fault breaks in the database catalog, `fault-appliers.ts` breaks it, and
 * `fault-plan.ts` ties a fault to the drill's steps.
 */
import type { Config } from '../../../core/config.ts';
import type { DrillTaskStep } from '../../../core/drill-steps.ts';
import { InputError } from '../../../core/errors.ts';
import type { EscalationClass } from '../../../core/escalations.ts';

export interface FaultSpec {
  /** What a person reads in `--help` and in the drill's output. */
  readonly does: string;
  /** The escalation class the drill must raise; null: the drill passes with a warning. */
  readonly expects: EscalationClass | null;
}

export const FAULTS = {
  'restore-failure': {
    does: 'asks the engine for a point past the archived WAL, which it refuses',
    expects: 'RESTORE_FAILED',
  },
  'restore-timeout': {
    does: 'the restored instance never reports available (a hung restore)',
    expects: 'RESTORE_FAILED',
  },
  'migration-failure': {
    does: "erases the newest applied migration's record (_prisma_migrations) and makes the restored database refuse schema changes, so the migrate command fails re-applying it",
    expects: 'MIGRATION_FAILED',
  },
  'ready-503': {
    does: "makes the session store's table (smoke.sessionTable) refuse every write once the app runs, so /health/ready's session-store probe fails",
    expects: 'READY_NOT_OK',
  },
  'login-failure': {
    does: "makes the session store's table (smoke.sessionTable) refuse inserts and updates after readiness passed, so admin login cannot write its session",
    expects: 'AUTH_WRITE_FAILED',
  },
  'search-failure': {
    does: 'renames the table behind the account search (smoke.accountSearchTable) away before the search',
    expects: 'SMOKE_FAILED',
  },
  'day-read-failure': {
    does: 'renames the table behind the day-state read (smoke.dayStateTable) away before the read',
    expects: 'SMOKE_FAILED',
  },
  'integrity-orphan': {
    does: 'points one row of a critical table at a parent that does not exist, through a foreign key found in the catalog (constraints bypassed)',
    expects: 'INTEGRITY_FAILED',
  },
  'integrity-future-row': {
    does: 'dates one row of a critical table a day after the restore target (integrity.timestampColumn)',
    expects: 'INTEGRITY_FAILED',
  },
  'rpo-breach': {
    does: 'restores to a point older than asked by more than the RPO target (lost WAL)',
    expects: 'RPO_BREACHED',
  },
  'rto-breach': { does: 'the app boots slower than the RTO target allows', expects: 'RTO_BREACHED' },
  'evaluate-down': {
    does: 'stops the app before the recovery-evaluate call (the drill still passes, with a warning)',
    expects: null,
  },
  'cleanup-failure': {
    does: 'the drill instance cannot be deleted (`recovery-drill local cleanup` removes it afterwards)',
    expects: 'CLEANUP_FAILED',
  },
} as const satisfies Record<string, FaultSpec>;

export type FaultName = keyof typeof FAULTS;

export function isFaultName(name: string): name is FaultName {
  return Object.hasOwn(FAULTS, name);
}

/** A fault that cannot apply to the configured app: the CLI exits 2 and nothing is started. */
export class FaultRefusedError extends InputError {
  constructor(fault: FaultName, needs: string) {
    super('--inject', fault, `a fault that can apply to the configured app: ${fault} needs ${needs}`);
    this.name = 'FaultRefusedError';
  }
}

/** The part a fault breaks is not there when its moment comes: the drill runs without the fault. */
export class FaultMissedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FaultMissedError';
  }
}

/** Faults that act on the app the drill starts against the restored database. */
const NEEDS_LOCAL_APP: ReadonlySet<FaultName> = new Set([
  'ready-503',
  'login-failure',
  'search-failure',
  'day-read-failure',
  'rto-breach',
  'evaluate-down',
]);

/** Faults that change the restored database, and the step right before which they do. */
export const DATABASE_FAULTS = {
  'migration-failure': 'detectDrift',
  'ready-503': 'smokeReady',
  'login-failure': 'smokeLogin',
  'search-failure': 'smokeSearch',
  'day-read-failure': 'smokeDay',
  'integrity-orphan': 'integrity',
  'integrity-future-row': 'integrity',
} as const satisfies Partial<Record<FaultName, DrillTaskStep>>;
export type DatabaseFault = keyof typeof DATABASE_FAULTS;

/** The step after the one a session fault is meant for: where it is checked that it took hold. */
export const SESSION_FAULT_VERIFIED_AT = {
  'ready-503': 'smokeLogin',
  'login-failure': 'smokeSearch',
} as const satisfies Partial<Record<DatabaseFault, DrillTaskStep>>;

export function isDatabaseFault(fault: FaultName): fault is DatabaseFault {
  return Object.hasOwn(DATABASE_FAULTS, fault);
}

/** What a fault needs from the configuration alone; null when it can apply. Checked before anything starts. */
export function faultConfigProblem(fault: FaultName, config: Config): string | null {
  if (NEEDS_LOCAL_APP.has(fault) && config.app.stagingBaseUrl !== null)
    return (
      `the app the drill starts on the restored database, but app.stagingBaseUrl is set ` +
      `(${JSON.stringify(config.app.stagingBaseUrl)}): a staging app does not run on the drill database`
    );
  return null;
}
