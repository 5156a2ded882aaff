/**
 * The restore drill's steps: one table, the only place a step is named. Each row says what the
 * step is called in each place it appears (the state name an engineer sees in the Step Functions
 * console, the key the drill functions dispatch on and record failures under, the name the report
 * lists, where the execution state keeps its result), which escalation class its failure raises
 * and which drill function runs it. The state machine (`lib/drill/drill-state-machine.ts`), the
 * dispatch (`functions/drill/steps/index.ts`), the report's step list and the escalation mapping
 * (`escalations.ts`) and the local engine's bindings are derived from it.
 *
 * Pure data: the core, the CDK construct and the Lambda bundles all read it. Adding a step means
 * one row here, its handler in `functions/drill/steps/`, and its place in the state machine's flow.
 */
import type { EscalationClass } from './escalations.ts';

/**
 * Who runs a step: one of the three drill Lambda functions (grouped by the permissions they need),
 * or the ECS task that runs the app's migrate command (a child process locally).
 */
export type DrillStepRunner = 'control' | 'checks' | 'reporting' | 'ecs-task';
/** The drill Lambda functions. */
export type DrillFunctionGroup = Exclude<DrillStepRunner, 'ecs-task'>;

export interface DrillStepSpec {
  /** Step key: what the state machine passes to the function (`{ step }`), and `failures.<key>` of a failed step. */
  readonly key: string;
  /** State name in the definition (the console, the local engine's progress lines). */
  readonly state: string;
  /** The report's name of the step (a contract: reports, history, the `step` metric dimension). */
  readonly report: string;
  /** Where the execution state keeps the step's result (the state's `ResultPath`). */
  readonly resultPath: `$.${string}`;
  /** The class a failure of this step raises; null: it fails the drill without a runbook class. */
  readonly escalation: EscalationClass | null;
  readonly runner: DrillStepRunner;
}

/** Every step of the drill that runs in the state machine, in execution order. */
export const DRILL_STEP_REGISTRY = [
  {
    key: 'validate',
    state: 'Validate input',
    report: 'validate',
    resultPath: '$.drill',
    // A refused input created nothing; any other failure here is reported, without a class.
    escalation: null,
    runner: 'control',
  },
  {
    key: 'restore',
    state: 'Restore to point in time',
    report: 'restore',
    resultPath: '$.restore',
    escalation: 'RESTORE_FAILED',
    runner: 'control',
  },
  {
    key: 'describeRestore',
    state: 'Check restore status',
    report: 'wait',
    resultPath: '$.restoreStatus',
    escalation: 'RESTORE_FAILED',
    runner: 'control',
  },
  {
    key: 'connect',
    state: 'Write drill secret',
    report: 'connect',
    resultPath: '$.connection',
    escalation: 'RESTORE_FAILED',
    runner: 'control',
  },
  {
    key: 'detectDrift',
    state: 'Detect schema drift',
    report: 'detect-drift',
    resultPath: '$.drift',
    escalation: 'MIGRATION_FAILED',
    runner: 'checks',
  },
  {
    // The ECS task (a child process locally); its summary is judged by the next step, and its
    // own failure (the task could not run) is reported as the migrate step.
    key: 'runMigrations',
    state: 'Run migrations',
    report: 'migrate',
    resultPath: '$.migrateTask',
    escalation: 'MIGRATION_FAILED',
    runner: 'ecs-task',
  },
  {
    key: 'verifyMigration',
    state: 'Verify migrations',
    report: 'migrate',
    resultPath: '$.migration',
    escalation: 'MIGRATION_FAILED',
    runner: 'checks',
  },
  {
    key: 'startApp',
    state: 'Start app',
    report: 'start-app',
    resultPath: '$.app',
    escalation: 'READY_NOT_OK',
    runner: 'control',
  },
  {
    key: 'smokeHealth',
    state: 'Smoke: health',
    report: 'smoke-health',
    resultPath: '$.smoke.health',
    escalation: 'READY_NOT_OK',
    runner: 'checks',
  },
  {
    key: 'smokeReady',
    state: 'Smoke: ready',
    report: 'smoke-ready',
    resultPath: '$.smoke.ready',
    escalation: 'READY_NOT_OK',
    runner: 'checks',
  },
  {
    key: 'smokeLogin',
    state: 'Smoke: admin login',
    report: 'smoke-login',
    resultPath: '$.smoke.login',
    escalation: 'AUTH_WRITE_FAILED',
    runner: 'checks',
  },
  {
    key: 'smokeSearch',
    state: 'Smoke: account search',
    report: 'smoke-search',
    resultPath: '$.smoke.search',
    escalation: 'SMOKE_FAILED',
    runner: 'checks',
  },
  {
    key: 'smokeDay',
    state: 'Smoke: day state',
    report: 'smoke-day',
    resultPath: '$.smoke.day',
    escalation: 'SMOKE_FAILED',
    runner: 'checks',
  },
  {
    key: 'integrity',
    state: 'Check data integrity',
    report: 'integrity',
    resultPath: '$.integrity',
    escalation: 'INTEGRITY_FAILED',
    runner: 'checks',
  },
  {
    // RPO and RTO breaches come from the evaluation itself, not from a failure of the step.
    key: 'evaluate',
    state: 'Evaluate RPO and RTO',
    report: 'evaluate',
    resultPath: '$.evaluation',
    escalation: null,
    runner: 'checks',
  },
  {
    key: 'cleanup',
    state: 'Clean up',
    report: 'cleanup',
    resultPath: '$.cleanup',
    escalation: 'CLEANUP_FAILED',
    runner: 'control',
  },
  {
    key: 'report',
    state: 'Write report',
    report: 'report',
    resultPath: '$.report',
    escalation: null,
    runner: 'reporting',
  },
  {
    key: 'notify',
    state: 'Notify',
    report: 'notify',
    resultPath: '$.notify',
    escalation: null,
    runner: 'reporting',
  },
] as const satisfies readonly DrillStepSpec[];

type Registered = (typeof DRILL_STEP_REGISTRY)[number];
/** Every step key. */
export type DrillStepKey = Registered['key'];
/** The steps a drill Lambda function runs (all but the ECS migrate task). */
export type DrillTaskStep = Extract<Registered, { runner: DrillFunctionGroup }>['key'];
/** The steps the drill function of one group runs. */
export type DrillGroupStep<G extends DrillFunctionGroup> = Extract<Registered, { runner: G }>['key'];
/** The report's names of the state machine's steps. */
export type DrillReportStep = Registered['report'];

/** The row of a step key. */
export function drillStep<K extends DrillStepKey>(key: K): Extract<Registered, { key: K }> {
  const spec = DRILL_STEP_REGISTRY.find((s) => s.key === key);
  if (!spec) throw new Error(`no drill step ${JSON.stringify(key)}`);
  return spec as Extract<Registered, { key: K }>;
}

/** Whether a string is a step a drill function runs (what the dispatch accepts). */
export function isDrillTaskStep(key: unknown): key is DrillTaskStep {
  return DRILL_STEP_REGISTRY.some((s) => s.key === key && s.runner !== 'ecs-task');
}

/** The execution state's fields of a result path: `$.smoke.ready` → `['smoke', 'ready']`. */
export function resultFields(spec: Pick<DrillStepSpec, 'resultPath'>): string[] {
  return spec.resultPath.slice(2).split('.');
}

/**
 * The execution state after a step's result landed at its result path, as the state machine's
 * `ResultPath` puts it there (the local engine's bookkeeping, and tests that play the machine).
 */
export function withStepResult<S extends Record<string, unknown>>(
  state: S,
  key: DrillStepKey,
  result: unknown,
): S {
  const [head, leaf] = resultFields(drillStep(key)) as [string, string | undefined];
  if (!leaf) return { ...state, [head]: result };
  return { ...state, [head]: { ...((state[head] as object | undefined) ?? {}), [leaf]: result } };
}

/** Field of the execution state that holds the error of a failed step (`failures.<key>` = `{ Error, Cause }`). */
export const FAILURES_FIELD = 'failures';

/** Where a step's caught error is kept: the `ResultPath` of its `Catch`. */
export function failurePath(key: DrillStepKey): string {
  return `$.${FAILURES_FIELD}.${key}`;
}

/** The Wait state between two looks at a restoring instance (not a step: it does nothing). */
export const WAIT_FOR_RESTORE_STATE = 'Wait for restore';
