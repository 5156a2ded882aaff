/**
 * `Detect schema drift` and `Verify migrations`: what the restored database recorded in
 * `_prisma_migrations` against the migrations the app shipped with the backup; after the migrate
 * command (`Run migrations`, an ECS task), its exit and the drift left.
 */
import { type DriftReport, describeDrift, detectDrift } from '../../core/drift.ts';
import type { DrillDeps } from '../ports/drill-deps.ts';
import type { Evidence } from '../ports/errors.ts';
import { MigrationDriftError, MigrationFailedError } from '../ports/errors.ts';
import { readAppliedMigrationsAt } from '../prisma.ts';
import { type DrillState, need, type StepContext, timed } from './context.ts';

async function currentDrift(state: DrillState, deps: DrillDeps) {
  const drill = need(state.drill, 'drill');
  const connection = need(state.connection, 'connection');
  const url = await deps.secrets.connectionUrl(connection.secretRef);
  const instance = await deps.recovery.describeInstance(drill.instanceId);
  const [applied, shipped] = await Promise.all([
    readAppliedMigrationsAt(url),
    deps.artifacts.migrations(instance),
  ]);
  return { drift: detectDrift(applied, shipped.migrations), source: shipped.source };
}

/** The drift in numbers, and the names where they are few enough to read. */
function driftEvidence(drift: DriftReport): Evidence {
  const names = (list: readonly string[]) => (list.length > 0 ? list.slice(0, 5).join(', ') : null);
  return {
    pending: drift.pending.length,
    failed: drift.failed.length,
    modified: drift.modified.length,
    unknown: drift.unknown.length,
    ...(drift.failed.length > 0 ? { failedMigrations: names(drift.failed) } : {}),
    ...(drift.modified.length > 0 ? { modifiedMigrations: names(drift.modified.map((m) => m.name)) } : {}),
  };
}

export async function detectDriftStep({ state, deps }: StepContext) {
  return timed(deps, async () => {
    const { drift, source } = await currentDrift(state, deps);
    if (drift.blocking) {
      throw new MigrationDriftError(
        `schema drift that migrate deploy cannot fix: ${describeDrift(drift)} (migrations from ${source})`,
        { ...driftEvidence(drift), migrationsFrom: source },
      );
    }
    return { ...drift, source, detail: `${describeDrift(drift)} (migrations from ${source})` };
  });
}

export async function verifyMigration({ state, deps }: StepContext) {
  const task = need(state.migrateTask, 'migrate task result');
  const before = need(state.drift, 'drift');
  return timed(deps, async () => {
    if (task.exitCode !== 0) {
      throw new MigrationFailedError(
        `the migrate command exited ${task.exitCode ?? 'without an exit code'}${task.stoppedReason ? ` (${task.stoppedReason})` : ''} while applying ${before.pending.join(', ')}`,
        {
          exitCode: task.exitCode,
          stoppedReason: task.stoppedReason,
          pending: before.pending.join(', '),
          ...(task.taskArn ? { taskArn: task.taskArn } : {}),
        },
      );
    }
    const { drift } = await currentDrift(state, deps);
    if (drift.pending.length > 0 || drift.blocking) {
      throw new MigrationFailedError(
        `the migrate command exited 0 but the schema still drifts: ${describeDrift(drift)}`,
        { exitCode: 0, ...driftEvidence(drift) },
      );
    }
    return {
      exitCode: 0,
      applied: [...before.pending],
      detail: `applied ${before.pending.join(', ')}; no drift left`,
    };
  });
}
