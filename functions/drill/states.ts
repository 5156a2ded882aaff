/**
 * The restore drill's states: their names (what an engineer sees in the Step Functions console and
 * what the local engine binds its implementations to) and where each step's result lives in the
 * execution state. Shared by the CDK construct that builds the machine and by the local engine.
 */
import type { DrillStepName } from '../core/escalations.ts';

/** Which Lambda function of the drill runs a step (grouped by the permissions they need). */
export type DrillFunctionGroup = 'control' | 'checks' | 'reporting';

export interface TaskStateSpec {
  /** State name in the definition. */
  readonly state: string;
  /** Step key passed to the function (`{ step, state }`) and the execution state field its result is stored at. */
  readonly step: DrillTaskStep;
  /** The report's step name (escalation mapping), when the step is one the report lists. */
  readonly reportStep: DrillStepName | null;
  readonly group: DrillFunctionGroup;
}

export const DRILL_TASK_STEPS = [
  'validate',
  'restore',
  'describeRestore',
  'connect',
  'detectDrift',
  'verifyMigration',
  'startApp',
  'smokeHealth',
  'smokeReady',
  'smokeLogin',
  'smokeSearch',
  'smokeDay',
  'integrity',
  'evaluate',
  'cleanup',
  'report',
  'notify',
] as const;
export type DrillTaskStep = (typeof DRILL_TASK_STEPS)[number];

/** Every Lambda-backed Task state of the drill, in execution order. */
export const TASK_STATES: readonly TaskStateSpec[] = [
  { state: 'Validate input', step: 'validate', reportStep: 'validate', group: 'control' },
  { state: 'Restore to point in time', step: 'restore', reportStep: 'restore', group: 'control' },
  { state: 'Check restore status', step: 'describeRestore', reportStep: 'wait', group: 'control' },
  { state: 'Write drill secret', step: 'connect', reportStep: 'connect', group: 'control' },
  { state: 'Detect schema drift', step: 'detectDrift', reportStep: 'detect-drift', group: 'checks' },
  { state: 'Verify migrations', step: 'verifyMigration', reportStep: 'migrate', group: 'checks' },
  { state: 'Start app', step: 'startApp', reportStep: 'start-app', group: 'control' },
  { state: 'Smoke: health', step: 'smokeHealth', reportStep: 'smoke-health', group: 'checks' },
  { state: 'Smoke: ready', step: 'smokeReady', reportStep: 'smoke-ready', group: 'checks' },
  { state: 'Smoke: admin login', step: 'smokeLogin', reportStep: 'smoke-login', group: 'checks' },
  { state: 'Smoke: account search', step: 'smokeSearch', reportStep: 'smoke-search', group: 'checks' },
  { state: 'Smoke: day state', step: 'smokeDay', reportStep: 'smoke-day', group: 'checks' },
  { state: 'Check data integrity', step: 'integrity', reportStep: 'integrity', group: 'checks' },
  { state: 'Evaluate RPO and RTO', step: 'evaluate', reportStep: 'evaluate', group: 'checks' },
  { state: 'Clean up', step: 'cleanup', reportStep: 'cleanup', group: 'control' },
  { state: 'Write report', step: 'report', reportStep: 'report', group: 'reporting' },
  { state: 'Notify', step: 'notify', reportStep: 'notify', group: 'reporting' },
];

/** The ECS `runTask.sync` state that runs the app's migrate command (bound to a child process locally). */
export const RUN_MIGRATIONS_STATE = 'Run migrations';
/** Execution-state field the migrate task's summary (`exitCode`, `stoppedReason`, `taskArn`) is stored at. */
export const MIGRATE_TASK_FIELD = 'migrateTask';

export const WAIT_FOR_RESTORE_STATE = 'Wait for restore';

/** Field of the execution state that holds the error of a failed step (`failures.<step>` = `{ Error, Cause }`). */
export const FAILURES_FIELD = 'failures';

export function taskState(step: DrillTaskStep): TaskStateSpec {
  const spec = TASK_STATES.find((s) => s.step === step);
  if (!spec) throw new Error(`no Task state for step ${step}`);
  return spec;
}
