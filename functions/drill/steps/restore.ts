/**
 * `Restore to point in time`, `Check restore status` and `Write drill secret`: the restore is
 * requested, looked at until available (the state machine waits between looks, as long as this
 * step says), and its connection written to the drill secret.
 */
import { nextPollSeconds } from '../../core/polling.ts';
import { DRILL_ID_TAG, type InstanceDescription } from '../ports/database-recovery.ts';
import type { DrillDeps } from '../ports/drill-deps.ts';
import { RestoreFailedError, RestoreTimeoutError } from '../ports/errors.ts';
import { need, type StepContext, timed } from './context.ts';

export async function restore({ state, deps }: StepContext) {
  const drill = need(state.drill, 'drill');
  return timed(deps, async () => {
    const latest = drill.requestedTarget === 'latest';
    // Damaged backup records are skipped by the engine: the drill says so, and what it used instead.
    const damaged = (await deps.recovery.damagedState?.()) ?? [];
    let instance: InstanceDescription;
    try {
      instance = await deps.recovery.restoreToPointInTime({
        instanceId: drill.instanceId,
        targetTime: latest ? 'latest' : new Date(drill.targetTime),
        tags: { [DRILL_ID_TAG]: drill.drillId },
        from: drill.from,
      });
    } catch (error) {
      if (damaged.length === 0 || !(error instanceof Error)) throw error;
      throw new RestoreFailedError(
        `${error.message}; no intact backup covers it: ${damaged.join('; ')}`,
        {
          instanceId: drill.instanceId,
          requestedTarget: drill.requestedTarget,
          damagedRecords: damaged.length,
        },
        { cause: error },
      );
    }
    const from = instance.sourceBackup ? ` from backup ${instance.sourceBackup}` : '';
    return {
      instanceId: instance.id,
      ...(damaged.length > 0 ? { outcome: 'warning' as const } : {}),
      detail:
        `restore of ${instance.id} to ${latest ? 'the latest restorable time' : drill.targetTime} requested${from} (${instance.status}); P = ${instance.restorePointAt ?? 'not reported'}${instance.restorePointSource ? ` (${instance.restorePointSource})` : ''}` +
        (damaged.length > 0
          ? `; damaged backup records were skipped, so ${instance.sourceBackup ? `backup ${instance.sourceBackup}` : 'an older intact backup'} was used instead: ${damaged.join('; ')}`
          : ''),
    };
  });
}

export async function describeRestore({ state, deps }: StepContext) {
  const drill = need(state.drill, 'drill');
  const restored = need(state.restore, 'restore');
  return timed(deps, async (now) => {
    const instance = await deps.recovery.describeInstance(drill.instanceId);
    const elapsedSeconds = Math.round((now.getTime() - Date.parse(restored.startedAt)) / 1000);
    if (instance === null) {
      throw new RestoreFailedError(`the restored instance ${drill.instanceId} does not exist`, {
        instanceId: drill.instanceId,
        status: null,
        elapsedSeconds,
      });
    }
    if (instance.status === 'failed') {
      throw new RestoreFailedError(
        `the restore of ${drill.instanceId} failed: ${instance.failureReason ?? 'no reason given'}`,
        { instanceId: drill.instanceId, status: instance.status, elapsedSeconds },
      );
    }
    const limit = deps.settings.restoreTimeoutSeconds;
    if (instance.status !== 'available' && elapsedSeconds > limit) {
      throw new RestoreTimeoutError(
        `${drill.instanceId} is still ${instance.status} after ${elapsedSeconds} s (limit ${limit} s)`,
        { instanceId: drill.instanceId, status: instance.status, elapsedSeconds, limitSeconds: limit },
      );
    }
    const polls = (state.restoreStatus?.polls ?? 0) + 1;
    return {
      status: instance.status,
      pollSeconds: nextPollSeconds(elapsedSeconds),
      polls,
      elapsedSeconds,
      restorePointAt: instance.restorePointAt,
      restorePointSource: instance.restorePointSource,
      endpoint: instance.endpoint,
      detail: `${drill.instanceId} is ${instance.status} after ${elapsedSeconds} s (${polls} look${polls === 1 ? '' : 's'})`,
    };
  });
}

async function describeOrFail(deps: DrillDeps, instanceId: string): Promise<InstanceDescription> {
  const instance = await deps.recovery.describeInstance(instanceId);
  if (instance?.status !== 'available') {
    throw new RestoreFailedError(`the restored instance ${instanceId} is not available`, {
      instanceId,
      status: instance?.status ?? null,
    });
  }
  return instance;
}

export async function connect({ state, deps }: StepContext) {
  const drill = need(state.drill, 'drill');
  return timed(deps, async () => {
    const instance = await describeOrFail(deps, drill.instanceId);
    const { secretRef, connection } = await deps.secrets.writeConnection(drill.drillId, instance);
    return {
      secretRef,
      ...connection,
      detail: `connection of ${connection.user}@${connection.host}:${connection.port}/${connection.database} written to the drill secret`,
    };
  });
}
