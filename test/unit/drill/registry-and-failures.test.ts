/**
 * The step registry is the one table of the drill's steps, and a failure's evidence survives the
 * boundary a Lambda function or the local engine puts between the step that fails and the report
 * step that reads `failures.<step>`.
 */
import { describe, expect, it } from 'vitest';
import { DRILL_STEP_REGISTRY, drillStep, isDrillTaskStep } from '../../../functions/core/drill-steps.ts';
import { DRILL_STEPS, STEP_ESCALATION } from '../../../functions/core/escalations.ts';
import {
  FAILURE_OF_CLASS,
  failureRecord,
  INTERRUPTED_ERROR,
  ReadyNotOkError,
  RestoreFailedError,
  readStepFailure,
  toStepFailure,
  UnknownStepError,
} from '../../../functions/drill/ports/errors.ts';
import { type DrillState, runStep, stepOutcomes } from '../../../functions/drill/steps/index.ts';
import { fakes } from '../../support/drill-fakes.ts';

describe('drill step registry', () => {
  it('names each step once in each place: unique keys, state names and result paths', () => {
    for (const column of ['key', 'state', 'resultPath'] as const) {
      const values = DRILL_STEP_REGISTRY.map((s) => s[column]);
      expect(new Set(values).size, column).toBe(values.length);
    }
  });

  it('gives steps that share a report name one escalation class', () => {
    for (const name of DRILL_STEPS) {
      const classes = new Set(DRILL_STEP_REGISTRY.filter((s) => s.report === name).map((s) => s.escalation));
      expect(classes.size, name).toBe(1);
      expect(STEP_ESCALATION[name] ?? null, name).toBe([...classes][0]);
    }
    expect(STEP_ESCALATION.prepare).toBe('BACKUP_FAILED');
  });

  it('has a failure class for every class a step raises, owning that class', () => {
    for (const spec of DRILL_STEP_REGISTRY) {
      if (spec.escalation === null) continue;
      const failure = FAILURE_OF_CLASS[spec.escalation as keyof typeof FAILURE_OF_CLASS];
      expect(failure?.escalation, spec.key).toBe(spec.escalation);
    }
  });

  it('dispatches every step a function runs, and refuses the rest by name', async () => {
    const f = fakes();
    for (const spec of DRILL_STEP_REGISTRY) {
      expect(isDrillTaskStep(spec.key), spec.key).toBe(spec.runner !== 'ecs-task');
      if (spec.runner === 'ecs-task') continue;
      // Each step fails on an empty state for its own reason, never as an unknown step.
      await runStep(spec.key, {}, f.deps, 'd-dispatch').catch((error: Error) =>
        expect(error, spec.key).not.toBeInstanceOf(UnknownStepError),
      );
    }
    await expect(runStep('runMigrations', {}, f.deps, 'd-x')).rejects.toBeInstanceOf(UnknownStepError);
    await expect(runStep('smokeReadyy', {}, f.deps, 'd-x')).rejects.toMatchObject({
      name: 'UnknownStepError',
      evidence: { step: 'smokeReadyy' },
    });
  });
});

describe('failure evidence across the boundary', () => {
  const failure = () =>
    new ReadyNotOkError('readiness: GET /health/ready did not answer 200 within 8 s', {
      path: '/health/ready',
      status: 503,
      attempts: 9,
      body: 'db at postgres://app:hunter2@db:5432/x refused',
    });

  it('packs the evidence into the message a Lambda function keeps (errorType, errorMessage)', () => {
    const wire = toStepFailure(failure()) as Error;
    expect(wire.name).toBe('ReadyNotOkError');
    // What the Lambda runtime puts in the Cause Step Functions records.
    const cause = JSON.stringify({ errorType: wire.name, errorMessage: wire.message, trace: ['at x'] });
    const read = readStepFailure({ Error: 'ReadyNotOkError', Cause: cause });
    expect(read).toEqual({
      error: 'ReadyNotOkError',
      message: 'readiness: GET /health/ready did not answer 200 within 8 s',
      evidence: {
        path: '/health/ready',
        status: 503,
        attempts: 9,
        body: 'db at postgres://app:***@db:5432/x refused',
      },
    });
    expect(cause).not.toContain('hunter2');
  });

  it('reads the local engine’s record, and a plain message without evidence, alike', () => {
    expect(readStepFailure(failureRecord(failure())).evidence.status).toBe(503);
    expect(readStepFailure({ Error: 'Error', Cause: 'connect ECONNREFUSED' })).toEqual({
      error: 'Error',
      message: 'connect ECONNREFUSED',
      evidence: {},
    });
    // A failure without evidence leaves as it is: its Cause stays the message people read.
    const bare = new RestoreFailedError('the restored instance x does not exist');
    expect(toStepFailure(bare)).toBe(bare);
  });

  it('turns each failure into its step’s outcome with the evidence, and an interrupted one into skipped', () => {
    const at = '2026-11-26T03:00:00.000Z';
    const state: DrillState = {
      drill: { startedAt: at, endedAt: at, outcome: 'passed', detail: 'ok' } as NonNullable<
        DrillState['drill']
      >,
      drift: {
        startedAt: at,
        endedAt: '2026-11-26T03:01:00.000Z',
        outcome: 'passed',
        detail: '1 pending',
      } as NonNullable<DrillState['drift']>,
      failures: {
        runMigrations: { Error: 'States.TaskFailed', Cause: 'CannotPullContainerError' },
        smokeReady: failureRecord(failure()),
        cleanup: { Error: INTERRUPTED_ERROR, Cause: 'interrupted by SIGINT before it finished' },
      },
    };
    const steps = stepOutcomes(state, '2026-11-26T03:05:00.000Z');
    expect(steps.map((s) => [s.name, s.outcome])).toEqual([
      ['validate', 'passed'],
      ['detect-drift', 'passed'],
      ['migrate', 'failed'],
      ['smoke-ready', 'failed'],
      ['cleanup', 'skipped'],
    ]);
    expect(steps[2]).toMatchObject({
      detail: 'States.TaskFailed: CannotPullContainerError',
      // The migrate step began when the task did: right after drift detection.
      startedAt: '2026-11-26T03:01:00.000Z',
    });
    expect(steps[3]?.evidence).toMatchObject({
      error: 'ReadyNotOkError',
      status: 503,
      path: '/health/ready',
    });
    expect(steps[3]?.detail).toBe(
      'ReadyNotOkError: readiness: GET /health/ready did not answer 200 within 8 s',
    );
  });

  it('lists the registry’s report names, the migrate task and its verification as one step', () => {
    expect(DRILL_STEPS).toEqual([
      'validate',
      'restore',
      'wait',
      'connect',
      'detect-drift',
      'migrate',
      'start-app',
      'smoke-health',
      'smoke-ready',
      'smoke-login',
      'smoke-search',
      'smoke-day',
      'integrity',
      'evaluate',
      'cleanup',
      'report',
      'notify',
    ]);
    expect(drillStep('runMigrations').report).toBe(drillStep('verifyMigration').report);
  });
});
