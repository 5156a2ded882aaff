/**
 * The steps after the restore, one at a time against in-memory ports: the migrate task's result
 * mapped to the migrate step, the restore point rules of the evaluation and the integrity window,
 * the smoke checks' failure classes (an app that dies), and cleanup when some removals fail.
 */
import { describe, expect, it } from 'vitest';
import {
  CleanupFailedError,
  type DrillStepError,
  EvaluationError,
  MigrationFailedError,
  ReadyNotOkError,
} from '../../../functions/drill/ports/errors.ts';
import { type DrillState, runStep } from '../../../functions/drill/steps/index.ts';
import { drillWritesFrom, rowsNotAfter } from '../../../functions/drill/steps/integrity-check.ts';
import { type Fakes, fakes, instance } from '../../support/drill-fakes.ts';

const DRILL_ID = '20261126t030000z-0a1b';
const INSTANCE = `recovery-drill-${DRILL_ID}`;

const timed = (startedAt: string, endedAt = startedAt) => ({
  startedAt,
  endedAt,
  outcome: 'passed' as const,
  detail: 'done',
});

async function validated(f: Fakes, input: Record<string, unknown> = {}): Promise<DrillState> {
  return { drill: (await runStep('validate', input as DrillState, f.deps, DRILL_ID)) as DrillState['drill'] };
}

async function thrown(work: Promise<unknown>): Promise<DrillStepError> {
  try {
    await work;
  } catch (error) {
    return error as DrillStepError;
  }
  throw new Error('the step did not fail');
}

describe('verify migrations (after the Run migrations task)', () => {
  const drift = { ...timed('2026-11-26T03:01:00.000Z'), pending: ['20261101_add_index', '20261102_add_col'] };

  it.each([
    [
      { exitCode: 1, stoppedReason: 'Essential container in task exited', taskArn: 'arn:task/1' },
      'the migrate command exited 1 (Essential container in task exited) while applying 20261101_add_index, 20261102_add_col',
      { exitCode: 1, stoppedReason: 'Essential container in task exited', taskArn: 'arn:task/1' },
    ],
    [
      { exitCode: null, stoppedReason: 'Task failed to start', taskArn: null },
      'the migrate command exited without an exit code (Task failed to start) while applying 20261101_add_index, 20261102_add_col',
      { exitCode: null, stoppedReason: 'Task failed to start' },
    ],
    [
      { exitCode: 3, stoppedReason: null, taskArn: null },
      'the migrate command exited 3 while applying 20261101_add_index, 20261102_add_col',
      { exitCode: 3, stoppedReason: null },
    ],
  ])(
    'fails as MIGRATION_FAILED for the task %j, before reading the database',
    async (task, message, evidence) => {
      const f = fakes();
      const state = { ...(await validated(f)), drift, migrateTask: task } as unknown as DrillState;
      const error = await thrown(runStep('verifyMigration', state, f.deps, DRILL_ID));
      expect(error).toBeInstanceOf(MigrationFailedError);
      expect(error.message).toBe(message);
      expect(error.evidence).toMatchObject({ ...evidence, pending: '20261101_add_index, 20261102_add_col' });
    },
  );

  it('says which earlier result is missing when the task result is not in the state', async () => {
    const f = fakes();
    await expect(runStep('verifyMigration', await validated(f), f.deps, DRILL_ID)).rejects.toMatchObject({
      name: 'DrillStateError',
      message: 'the drill state has no migrate task result: a previous step did not run',
    });
  });
});

describe('restore point rules', () => {
  it.each([
    [
      'a drill to a chosen time: T itself',
      { targetTime: '2026-11-26T02:30:00.000Z' },
      '2026-11-26T03:00:05.000Z',
      '2026-11-26T02:30:00.000Z',
    ],
    [
      'a latest drill: the end of the restore request',
      {},
      '2026-11-26T03:00:05.000Z',
      '2026-11-26T03:00:05.000Z',
    ],
  ])('lets restored rows reach %s', async (_what, input, restoreEnded, expected) => {
    const f = fakes();
    const state = await validated(f, input);
    state.restore = { ...timed('2026-11-26T03:00:00.000Z', restoreEnded), instanceId: INSTANCE };
    expect(rowsNotAfter(state, state.drill as NonNullable<DrillState['drill']>).toISOString()).toBe(expected);
  });

  it.each([
    ['its migrations when it ran them', true, '2026-11-26T03:02:00.000Z'],
    ['the app start otherwise', false, '2026-11-26T03:03:00.000Z'],
  ])('counts the drill’s own writes from %s', (_what, migrated, expected) => {
    const state = {
      drift: { ...timed('2026-11-26T03:01:00.000Z', '2026-11-26T03:02:00.000Z') },
      ...(migrated ? { migration: timed('2026-11-26T03:02:30.000Z') } : {}),
      app: timed('2026-11-26T03:03:00.000Z'),
    } as unknown as DrillState;
    expect(drillWritesFrom(state)?.toISOString()).toBe(expected);
  });

  it('refuses to evaluate without a restore point from the engine, however new the rows are', async () => {
    const f = fakes();
    const state = await validated(f);
    state.restoreStatus = {
      ...timed('2026-11-26T03:00:10.000Z'),
      status: 'available',
      pollSeconds: 5,
      polls: 1,
      elapsedSeconds: 10,
      restorePointAt: null,
      restorePointSource: null,
      endpoint: null,
    };
    state.app = { ...timed('2026-11-26T03:01:00.000Z'), baseUrl: 'http://127.0.0.1:9', handle: 'a' };
    state.smoke = { day: timed('2026-11-26T03:02:00.000Z') };
    state.integrity = { newestRowAt: '2026-11-26T02:59:59.000Z' } as NonNullable<DrillState['integrity']>;
    const error = await thrown(runStep('evaluate', state, f.deps, DRILL_ID));
    expect(error).toBeInstanceOf(EvaluationError);
    expect(error.evidence).toEqual({ instanceId: INSTANCE, restorePointAt: null });
  });

  it('measures RPO as T − P with P from the engine, never the newest row', async () => {
    const f = fakes({ config: undefined });
    const state = await validated(f, { targetTime: '2026-11-26T02:30:00.000Z' });
    state.restoreStatus = {
      ...timed('2026-11-26T03:00:10.000Z'),
      status: 'available',
      pollSeconds: 5,
      polls: 1,
      elapsedSeconds: 10,
      restorePointAt: '2026-11-26T02:30:00.000Z',
      restorePointSource: 'requested-time',
      endpoint: null,
    };
    state.app = { ...timed('2026-11-26T03:01:00.000Z'), baseUrl: 'http://127.0.0.1:9', handle: 'a' };
    state.smoke = { day: timed('2026-11-26T03:02:00.000Z') };
    // The newest critical row is an hour older than T: a quiet database, nothing lost.
    state.integrity = { newestRowAt: '2026-11-26T01:30:00.000Z', heartbeat: null } as unknown as NonNullable<
      DrillState['integrity']
    >;
    const result = (await runStep('evaluate', state, f.deps, DRILL_ID)) as NonNullable<
      DrillState['evaluation']
    >;
    expect(result.restorePointAt).toBe('2026-11-26T02:30:00.000Z');
    expect(result.evaluation.rpo.measuredMinutes).toBe(0);
    expect(result.evaluation.rpo.passed).toBe(true);
  });
});

describe('smoke checks', () => {
  it('fails the running readiness check at once as READY_NOT_OK when the app exits, with the exit as evidence', async () => {
    const f = fakes({ config: undefined });
    const state = await validated(f);
    state.app = { ...timed('2026-11-26T03:01:00.000Z'), baseUrl: 'http://127.0.0.1:9', handle: 'a' };
    f.app.exit = {
      code: 3,
      signal: null,
      afterSeconds: 2.5,
      logFile: '/state/drills/d/app.log',
      logTail: ['Error: boom'],
    };
    const error = await thrown(runStep('smokeReady', state, { ...f.deps, now: () => new Date() }, DRILL_ID));
    expect(error).toBeInstanceOf(ReadyNotOkError);
    expect(error.message).toMatch(/^readiness check: the app exited with code 3 2\.5 s after it started/);
    expect(error.evidence).toEqual({
      appExitCode: 3,
      appSignal: null,
      appRanSeconds: 2.5,
      appLog: '/state/drills/d/app.log',
    });
  });

  it.each([
    ['smokeSearch', 'SmokeFailedError'],
    ['smokeDay', 'SmokeFailedError'],
  ] as const)('%s without the login session fails as %s and does not log in again', async (step, name) => {
    const f = fakes();
    const state = await validated(f);
    f.recovery.instances.set(INSTANCE, instance(INSTANCE));
    state.connection = (await runStep('connect', state, f.deps, DRILL_ID)) as DrillState['connection'];
    state.app = { ...timed('2026-11-26T03:01:00.000Z'), baseUrl: 'http://127.0.0.1:9', handle: 'a' };
    const error = await thrown(runStep(step, state, f.deps, DRILL_ID));
    expect(error.name).toBe(name);
    expect(error.evidence).toEqual({ session: 'missing' });
  });
});

describe('cleanup step', () => {
  async function started(f: Fakes): Promise<DrillState> {
    const state = await validated(f);
    f.recovery.instances.set(INSTANCE, instance(INSTANCE));
    state.connection = (await runStep('connect', state, f.deps, DRILL_ID)) as DrillState['connection'];
    await f.app.start(DRILL_ID);
    return state;
  }

  it('removes the app, the secret and the instance', async () => {
    const f = fakes();
    const result = (await runStep('cleanup', await started(f), f.deps, DRILL_ID)) as DrillState['cleanup'];
    expect(result?.removed).toEqual([`app of ${DRILL_ID}`, `secret of ${DRILL_ID}`, INSTANCE]);
    expect(f.recovery.instances.size).toBe(0);
    expect(f.secrets.connections.size).toBe(0);
  });

  it('keeps the instance with --keep and says so', async () => {
    const f = fakes({ keepInstance: true });
    const result = (await runStep('cleanup', await started(f), f.deps, DRILL_ID)) as DrillState['cleanup'];
    expect(result).toMatchObject({
      kept: [INSTANCE],
      removed: [`app of ${DRILL_ID}`, `secret of ${DRILL_ID}`],
    });
    expect(result?.detail).toContain(`kept ${INSTANCE} (--keep)`);
  });

  it('has nothing to clean when the drill never started, and an instance already gone is no failure', async () => {
    const f = fakes();
    expect(await runStep('cleanup', {}, f.deps, DRILL_ID)).toMatchObject({ removed: [], kept: [] });
    const state = await validated(f);
    expect(await runStep('cleanup', state, f.deps, DRILL_ID)).toMatchObject({
      removed: [`secret of ${DRILL_ID}`],
    });
  });

  it.each([
    [
      'the app cannot be stopped',
      (f: Fakes) => (f.app.failStop = new Error('EPERM')),
      'app',
      [`secret of ${DRILL_ID}`, INSTANCE],
    ],
    [
      'the secret cannot be cleared',
      (f: Fakes) => (f.secrets.failClear = new Error('AccessDenied')),
      'drill secret',
      [`app of ${DRILL_ID}`, INSTANCE],
    ],
    [
      'the instance cannot be deleted',
      (f: Fakes) => (f.recovery.failDelete = new Error('InvalidDBInstanceState')),
      `instance ${INSTANCE}`,
      [`app of ${DRILL_ID}`, `secret of ${DRILL_ID}`],
    ],
  ])(
    'tries everything when %s, then fails as CLEANUP_FAILED naming what is left',
    async (_what, breakIt, failed, removed) => {
      const f = fakes();
      const state = await started(f);
      breakIt(f);
      const error = await thrown(runStep('cleanup', state, f.deps, DRILL_ID));
      expect(error).toBeInstanceOf(CleanupFailedError);
      expect((error.constructor as typeof CleanupFailedError).escalation).toBe('CLEANUP_FAILED');
      expect(error.message).toMatch(new RegExp(`^cleanup left drill resources behind: ${failed}: `));
      expect(error.evidence).toEqual({
        instanceId: INSTANCE,
        failed,
        removed: removed.join(', '),
        kept: null,
      });
    },
  );
});
