/**
 * Validate, restore and the restore wait, one step at a time against in-memory ports: latest
 * against an explicit target (what T is, what the engine is asked), the restore point as the
 * engine reports it, and each way a restore fails with its class and evidence.
 */
import { describe, expect, it } from 'vitest';
import { DRILL_ID_TAG } from '../../../functions/drill/ports/database-recovery.ts';
import {
  type DrillStepError,
  RestoreFailedError,
  RestoreTimeoutError,
} from '../../../functions/drill/ports/errors.ts';
import { type DrillState, runStep } from '../../../functions/drill/steps/index.ts';
import { type Fakes, fakes, instance } from '../../support/drill-fakes.ts';

const DRILL_ID = '20261126t030000z-0a1b';

async function validated(f: Fakes, input: Record<string, unknown> = {}): Promise<DrillState> {
  const drill = (await runStep('validate', input as DrillState, f.deps, DRILL_ID)) as DrillState['drill'];
  return { drill };
}

async function thrown(work: Promise<unknown>): Promise<DrillStepError> {
  try {
    await work;
  } catch (error) {
    return error as DrillStepError;
  }
  throw new Error('the step did not fail');
}

describe('validate step', () => {
  it('measures a latest drill from its start and records the window', async () => {
    const f = fakes();
    const { drill } = await validated(f);
    expect(drill).toMatchObject({
      drillId: DRILL_ID,
      requestedTarget: 'latest',
      targetTime: f.clock.now.toISOString(),
      startedAt: f.clock.now.toISOString(),
      instanceId: `recovery-drill-${DRILL_ID}`,
      window: { latest: f.recovery.window.latest?.toISOString() },
      dryRun: false,
    });
    expect(drill?.detail).toContain('T = 2026-11-26T03:00:00.000Z (the drill start)');
  });

  it('measures a drill to a chosen time from that time', async () => {
    const f = fakes();
    const target = '2026-11-26T02:30:00.000Z';
    const { drill } = await validated(f, { targetTime: target, reason: 'quarterly', requestedBy: 'sre' });
    expect(drill).toMatchObject({ requestedTarget: target, targetTime: target, reason: 'quarterly' });
  });

  it.each([
    ['in the future', '2026-11-26T04:00:00.000Z'],
    ['before the earliest restorable time', '2026-11-20T00:00:00.000Z'],
    ['after the latest restorable time', '2026-11-26T02:59:30.000Z'],
    ['without a zone', '2026-11-26T02:30:00'],
  ])('refuses a target %s, naming the field, before anything is restored', async (_what, targetTime) => {
    const f = fakes();
    await expect(validated(f, { targetTime })).rejects.toMatchObject({
      name: 'DrillInputError',
      message: expect.stringContaining('targetTime'),
    });
    expect(f.recovery.requests).toEqual([]);
  });

  it.each([
    [null, /nothing is restorable yet: the source has no backup and no archived WAL/, 0],
    [['backup b1: manifest.json is damaged'], /no intact backup; backup b1: manifest\.json is damaged/, 1],
  ])(
    'fails a latest drill with nothing restorable as RESTORE_FAILED (damaged records: %j)',
    async (damaged, message, count) => {
      const f = fakes();
      f.recovery.window = { earliest: null, latest: null };
      f.recovery.damaged = damaged;
      const error = await thrown(validated(f));
      expect(error).toBeInstanceOf(RestoreFailedError);
      expect(error.message).toMatch(message);
      expect(error.evidence).toEqual({
        requestedTarget: 'latest',
        restorableLatest: null,
        damagedRecords: count,
      });
    },
  );
});

describe('restore step', () => {
  it.each([
    ['latest', {}, 'latest'],
    ['an explicit target', { targetTime: '2026-11-26T02:30:00.000Z' }, new Date('2026-11-26T02:30:00.000Z')],
  ])('asks the engine for %s, tagged with the drill id', async (_what, input, expected) => {
    const f = fakes();
    const state = await validated(f, input);
    const restored = (await runStep('restore', state, f.deps, DRILL_ID)) as DrillState['restore'];
    expect(f.recovery.requests).toEqual([
      {
        instanceId: `recovery-drill-${DRILL_ID}`,
        targetTime: expected,
        tags: { [DRILL_ID_TAG]: DRILL_ID },
        from: 'source',
      },
    ]);
    expect(restored).toMatchObject({ instanceId: `recovery-drill-${DRILL_ID}`, outcome: 'passed' });
  });

  it('warns when damaged backup records were skipped, naming the backup used instead', async () => {
    const f = fakes();
    f.recovery.damaged = ['backup b2: backup.json is not JSON'];
    f.recovery.onRestore = (r) => instance(r.instanceId, { status: 'creating', sourceBackup: 'b1' });
    const restored = (await runStep(
      'restore',
      await validated(f),
      f.deps,
      DRILL_ID,
    )) as DrillState['restore'];
    expect(restored?.outcome).toBe('warning');
    expect(restored?.detail).toContain('so backup b1 was used instead: backup b2: backup.json is not JSON');
  });

  it('fails as RESTORE_FAILED with the damaged records when no intact backup covers the target', async () => {
    const f = fakes();
    f.recovery.damaged = ['backup b1: manifest.json is truncated'];
    f.recovery.onRestore = () => new Error('no backup before 2026-11-26T02:30:00.000Z');
    const state = await validated(f);
    const error = await thrown(runStep('restore', state, f.deps, DRILL_ID));
    expect(error).toBeInstanceOf(RestoreFailedError);
    expect(error.message).toBe(
      'no backup before 2026-11-26T02:30:00.000Z; no intact backup covers it: backup b1: manifest.json is truncated',
    );
    expect(error.evidence).toMatchObject({ damagedRecords: 1, requestedTarget: 'latest' });
  });

  it("lets the engine's own refusal through as it is when nothing was damaged", async () => {
    const f = fakes();
    const refusal = new Error('InvalidRestoreTime');
    f.recovery.onRestore = () => refusal;
    await expect(runStep('restore', await validated(f), f.deps, DRILL_ID)).rejects.toBe(refusal);
  });
});

describe('restore wait (Check restore status)', () => {
  async function restoring(f: Fakes): Promise<DrillState> {
    const state = await validated(f);
    return {
      ...state,
      restore: (await runStep('restore', state, f.deps, DRILL_ID)) as DrillState['restore'],
    };
  }

  it('looks again while the instance is creating, counting looks and choosing the next pause', async () => {
    const f = fakes();
    const state = await restoring(f);
    f.clock.now = new Date(f.clock.now.getTime() + 30_000);
    const first = (await runStep('describeRestore', state, f.deps, DRILL_ID)) as DrillState['restoreStatus'];
    expect(first).toMatchObject({ status: 'creating', polls: 1, elapsedSeconds: 30 });
    expect(first?.pollSeconds).toBeGreaterThan(0);
    const second = (await runStep(
      'describeRestore',
      { ...state, restoreStatus: first },
      f.deps,
      DRILL_ID,
    )) as DrillState['restoreStatus'];
    expect(second?.polls).toBe(2);
  });

  it.each([
    ['archive-coverage', '2026-11-26T02:59:58.000Z'],
    ['requested-time', '2026-11-26T02:30:00.000Z'],
    [null, null],
  ] as const)('keeps the restore point the engine reports (%s), never one of its own', async (source, at) => {
    const f = fakes();
    const state = await restoring(f);
    f.recovery.instances.set(
      `recovery-drill-${DRILL_ID}`,
      instance(`recovery-drill-${DRILL_ID}`, { restorePointAt: at, restorePointSource: source }),
    );
    const status = (await runStep('describeRestore', state, f.deps, DRILL_ID)) as DrillState['restoreStatus'];
    expect(status).toMatchObject({ status: 'available', restorePointAt: at, restorePointSource: source });
  });

  it.each([
    ['the instance is gone', null, 10, RestoreFailedError, { status: null }],
    [
      'the engine says the restore failed',
      instance(`recovery-drill-${DRILL_ID}`, {
        status: 'failed',
        failureReason: 'FATAL: recovery ended before target',
      }),
      10,
      RestoreFailedError,
      { status: 'failed' },
    ],
    [
      'it is still creating after the timeout',
      instance(`recovery-drill-${DRILL_ID}`, { status: 'creating' }),
      601,
      RestoreTimeoutError,
      { status: 'creating', elapsedSeconds: 601, limitSeconds: 600 },
    ],
  ])('fails as RESTORE_FAILED when %s', async (_what, described, after, failure, evidence) => {
    const f = fakes();
    const state = await restoring(f);
    if (described) f.recovery.instances.set(described.id, described);
    else f.recovery.instances.clear();
    f.clock.now = new Date(f.clock.now.getTime() + after * 1000);
    const error = await thrown(runStep('describeRestore', state, f.deps, DRILL_ID));
    expect(error).toBeInstanceOf(failure);
    expect((error.constructor as typeof RestoreFailedError).escalation).toBe('RESTORE_FAILED');
    expect(error.evidence).toMatchObject({ instanceId: `recovery-drill-${DRILL_ID}`, ...evidence });
  });

  it('writes the connection of an available instance to the drill secret, and names no password', async () => {
    const f = fakes();
    const state = await restoring(f);
    f.recovery.instances.set(`recovery-drill-${DRILL_ID}`, instance(`recovery-drill-${DRILL_ID}`));
    const connection = (await runStep('connect', state, f.deps, DRILL_ID)) as DrillState['connection'];
    expect(connection).toMatchObject({ secretRef: `fake:${DRILL_ID}`, host: '127.0.0.1', user: 'drill' });
    expect(JSON.stringify(connection)).not.toContain('not-a-real-password');
  });

  it('refuses to connect to an instance that is not available', async () => {
    const f = fakes();
    const error = await thrown(runStep('connect', await restoring(f), f.deps, DRILL_ID));
    expect(error).toBeInstanceOf(RestoreFailedError);
    expect(error.evidence).toEqual({ instanceId: `recovery-drill-${DRILL_ID}`, status: 'creating' });
  });
});
