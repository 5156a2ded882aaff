/**
 * The point-in-time replication of the source's automated backups to the copy region, kept by the
 * snapshot job: set up or checked on each scheduled run and by the stack's custom resource on
 * deploy, a drift or an impossible replication escalated as a warning.
 */
import { createEscalation } from '../../core/escalations.ts';
import { utcDay } from '../../core/snapshot-naming.ts';
import { describeReplication, ensureReplication, type ReplicationOutcome } from '../aws/automated-backups.ts';
import { escalateOrLog } from '../aws/notify.ts';
import type { SnapshotDeps } from './snapshot.ts';

/** What a CloudFormation custom resource (through `custom-resources.Provider`) sends. */
export interface ReplicationResourceEvent {
  readonly RequestType: 'Create' | 'Update' | 'Delete';
  readonly PhysicalResourceId?: string;
}

/** The Provider framework's answer: the resource id and attributes for `Fn::GetAtt`. */
export interface ReplicationResourceResponse {
  readonly PhysicalResourceId: string;
  readonly Data?: Record<string, string>;
}

/** Whether the function was invoked as the stack's custom resource rather than by a schedule or event. */
export function isCustomResourceEvent(event: unknown): event is ReplicationResourceEvent {
  return typeof event === 'object' && event !== null && 'RequestType' in event;
}

/**
 * The stack's custom resource: on deploy the replication is set up at once (the RPO monitor would
 * otherwise report the copy region stale until the next scheduled run). Deleting the resource
 * stops nothing: the replicated backups are the isolated restore point, and they outlive the stack
 * as the copy key does. A drift or an impossible replication does not fail the deploy: it is
 * escalated, and the RPO monitor keeps reporting the copy region until it is fixed.
 */
export async function replicationResource(
  event: ReplicationResourceEvent,
  deps: SnapshotDeps,
): Promise<ReplicationResourceResponse> {
  const physicalId = `recovery-drill-pitr-replication-${deps.env.sourceDbInstanceId}-${deps.env.copyRegion}`;
  if (event.RequestType === 'Delete') {
    deps.logger.info('custom resource deleted: the replication and its replicated backups are kept', {
      copyRegion: deps.env.copyRegion,
    });
    return { PhysicalResourceId: event.PhysicalResourceId ?? physicalId };
  }
  const now = (deps.now ?? (() => new Date()))();
  const outcome = await keepReplication(deps, utcDay(now));
  return {
    PhysicalResourceId: physicalId,
    Data: {
      Status: outcome?.status ?? 'off',
      Detail: outcome ? describeReplication(outcome) : 'replication is off or not possible in one region',
    },
  };
}

/**
 * Sets up or checks the replication of the source's automated backups to the copy region. A
 * drift (another retention, key or region) is reported as a warning and left unchanged: RDS can
 * only change them by stopping the replication, which discards the replicated restore window.
 */
export async function keepReplication(deps: SnapshotDeps, date: string): Promise<ReplicationOutcome | null> {
  const { env, logger, metrics } = deps;
  if (!env.pitrReplication) return null;
  if (!deps.copyKms)
    throw new Error('the snapshot job needs a KMS client in the copy region (copyKms) to replicate');
  const outcome = await ensureReplication(
    { sourceRds: deps.sourceRds, copyRds: deps.copyRds, copyKms: deps.copyKms },
    {
      sourceDbInstanceId: env.sourceDbInstanceId,
      copyRegion: env.copyRegion,
      copyKmsKeyId: env.copyKmsKeyId,
    },
  );
  const detail = describeReplication(outcome);
  metrics.addMetric('PitrReplicationStarted', 'Count', outcome.status === 'started' ? 1 : 0);
  metrics.addMetric('PitrReplicationDrift', 'Count', outcome.status === 'drift' ? 1 : 0);
  if (outcome.status === 'started' || outcome.status === 'in-sync') {
    logger.info(`point-in-time replication to ${env.copyRegion}: ${detail}`, { status: outcome.status });
    return outcome;
  }
  logger.warn(`point-in-time replication to ${env.copyRegion}: ${detail}`, { status: outcome.status });
  const escalation = {
    ...createEscalation(
      'BACKUP_FAILED',
      `snapshot/${env.sourceDbInstanceId}/${date}`,
      `point-in-time replication of ${env.sourceDbInstanceId} to ${env.copyRegion}: ${detail}`,
      {
        source: env.sourceDbInstanceId,
        copyRegion: env.copyRegion,
        replication: outcome.status,
        ...(outcome.status === 'drift'
          ? Object.fromEntries(
              outcome.drift.map((d) => [`drift.${d.field}`, `${d.actual} (expected ${d.expected})`]),
            )
          : {}),
      },
    ),
    // Nothing is lost yet: the RPO monitor pages (BACKUP_STALE) when the copy region's window lags.
    severity: 'warning' as const,
  };
  await escalateOrLog(deps, escalation);
  return outcome;
}
