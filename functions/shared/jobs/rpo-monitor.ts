/**
 * The RPO watch (runbook "Objectives": RPO < 1 hour): every few minutes, how far behind the
 * source's point-in-time restore is (`LatestRestorableTime`) and how old the newest managed
 * snapshot is in the source and the isolated region. Over the limit: BACKUP_STALE, once per
 * incident; when it clears, one "recovered" message.
 */
import { type DBSnapshot, DescribeDBInstancesCommand } from '@aws-sdk/client-rds';
import { createEscalation } from '../../core/escalations.ts';
import { incidentId } from '../../core/messages.ts';
import type { DynamoApi } from '../aws/incidents.ts';
import { escalateFolded, type FoldingTarget, foldResolution, type SnsApi } from '../aws/notify.ts';
import {
  isOurs,
  listManualSnapshots,
  type PageRetry,
  type RdsApi,
  type SnapshotListing,
  tagsToRecord,
} from '../aws/rds-snapshots.ts';
import type { RpoMonitorEnv } from '../env.ts';
import type { JobLogger, JobMetrics } from '../powertools.ts';
import { daysSinceLastPassedDrill } from './last-passed-drill.ts';

/** Everything the job touches, passed in so tests run it against moto. */
export interface RpoMonitorDeps {
  readonly env: RpoMonitorEnv;
  readonly sourceRds: RdsApi;
  readonly copyRds: RdsApi;
  readonly ddb: DynamoApi;
  readonly sns: SnsApi;
  readonly logger: JobLogger;
  readonly metrics: JobMetrics;
  readonly now?: () => Date;
  readonly pageRetry?: PageRetry;
}

/** Snapshots are daily: the newest may be a day old plus the RPO target before it counts as stale. */
export const SNAPSHOT_INTERVAL_MINUTES = 24 * 60;

/** How fresh the isolated and the local restore points are. */
export interface RegionSnapshotAge {
  readonly label: 'source' | 'copy';
  readonly region: string;
  /** Newest available managed snapshot, or null when there is none. */
  readonly newestId: string | null;
  readonly ageMinutes: number | null;
  readonly limitMinutes: number;
}

/** The outcome of one check, as returned by the function (visible in a manual invoke). */
export interface RpoCheck {
  readonly checkedAt: string;
  readonly latestRestorableTime: string | null;
  readonly lagMinutes: number | null;
  readonly targetMinutes: number;
  readonly snapshots: RegionSnapshotAge[];
  /** Why backups are stale (empty when they are not). */
  readonly reasons: string[];
  readonly stale: boolean;
  /** What happened to the incident: `opened` (escalated), `continuing` (already told), `resolved` (recovered sent). */
  readonly incident: 'opened' | 'continuing' | 'resolved' | 'none';
  /** True when this run published a message (an escalation or a recovery). */
  readonly published: boolean;
}

/** One incident per source instance, so two protected databases never silence each other. */
export function incidentKey(sourceDbInstanceId: string): string {
  return incidentId('BACKUP_STALE', sourceDbInstanceId);
}

const minutes = (ms: number) => Math.round((ms / 60_000) * 100) / 100;

function newestAvailable(snapshots: DBSnapshot[]): DBSnapshot | undefined {
  let newest: DBSnapshot | undefined;
  for (const s of snapshots) {
    if (s.Status !== 'available' || !s.SnapshotCreateTime) continue;
    if (!newest?.SnapshotCreateTime || s.SnapshotCreateTime > newest.SnapshotCreateTime) newest = s;
  }
  return newest;
}

function requireComplete(listing: SnapshotListing): SnapshotListing {
  // Unknown is not stale: fail the run (its failure destination and alarm report it) rather than page wrongly.
  if (!listing.complete)
    throw new Error(`could not list the manual snapshots in ${listing.region}: ${listing.error}`);
  return listing;
}

async function restorableTime(deps: RpoMonitorDeps): Promise<Date | null | 'missing'> {
  try {
    const out = await deps.sourceRds.send(
      new DescribeDBInstancesCommand({ DBInstanceIdentifier: deps.env.sourceDbInstanceId }),
    );
    const instance = out.DBInstances?.[0];
    if (!instance) return 'missing';
    return instance.LatestRestorableTime ?? null;
  } catch (error) {
    if ((error as Error).name === 'DBInstanceNotFoundFault') return 'missing';
    throw error;
  }
}

/** One check: measure, publish the metrics, open or close the incident. */
export async function runRpoMonitor(_event: unknown, deps: RpoMonitorDeps): Promise<RpoCheck> {
  const { env, metrics, logger } = deps;
  const now = (deps.now ?? (() => new Date()))();
  const reasons: string[] = [];
  const target = env.rpoTargetMinutes;

  const lrt = await restorableTime(deps);
  let lagMinutes: number | null = null;
  if (lrt === 'missing') {
    reasons.push(`source instance ${env.sourceDbInstanceId} not found in ${env.sourceRegion}`);
  } else if (lrt === null) {
    reasons.push(
      `source instance ${env.sourceDbInstanceId} has no LatestRestorableTime: automated backups are off (backup retention 0) or not started`,
    );
  } else {
    lagMinutes = Math.max(0, minutes(now.getTime() - lrt.getTime()));
    metrics.addMetric('RestorableTimeLag', 'Seconds', Math.round(lagMinutes * 60));
    metrics.addMetric('RestorableLagMinutes', 'None', lagMinutes);
    if (lagMinutes > target) {
      reasons.push(
        `LatestRestorableTime ${lrt.toISOString()} lags ${lagMinutes} min behind now, over the RPO target of ${target} min`,
      );
    }
  }

  const options = deps.pageRetry ? { retry: deps.pageRetry } : {};
  const ours = (l: SnapshotListing) =>
    l.snapshots.filter((s) => isOurs(tagsToRecord(s.TagList), env.sourceDbInstanceId));
  let sourceOurs: DBSnapshot[];
  let copyOurs: DBSnapshot[];
  if (env.sourceRegion === env.copyRegion) {
    const all = ours(requireComplete(await listManualSnapshots(deps.sourceRds, env.sourceRegion, options)));
    copyOurs = all.filter((s) => (s.DBSnapshotIdentifier ?? '').endsWith('-copy'));
    sourceOurs = all.filter((s) => !(s.DBSnapshotIdentifier ?? '').endsWith('-copy'));
  } else {
    const [source, copy] = await Promise.all([
      listManualSnapshots(deps.sourceRds, env.sourceRegion, options),
      listManualSnapshots(deps.copyRds, env.copyRegion, options),
    ]);
    sourceOurs = ours(requireComplete(source));
    copyOurs = ours(requireComplete(copy));
  }
  const limitMinutes = SNAPSHOT_INTERVAL_MINUTES + target;
  const snapshots: RegionSnapshotAge[] = (
    [
      ['source', env.sourceRegion, sourceOurs],
      ['copy', env.copyRegion, copyOurs],
    ] as const
  ).map(([label, region, list]) => {
    const newest = newestAvailable(list);
    const age = newest?.SnapshotCreateTime
      ? Math.max(0, minutes(now.getTime() - newest.SnapshotCreateTime.getTime()))
      : null;
    if (age === null)
      reasons.push(`no available managed snapshot of ${env.sourceDbInstanceId} in ${region} (${label})`);
    else {
      metrics.addMetric(
        label === 'source' ? 'NewestSnapshotAgeSourceRegion' : 'NewestSnapshotAgeCopyRegion',
        'Seconds',
        Math.round(age * 60),
      );
      metrics.addMetric('NewestSnapshotAgeMinutes', 'None', age, { location: label, region });
      if (age > limitMinutes) {
        reasons.push(
          `newest managed snapshot in ${region} (${label}), ${newest?.DBSnapshotIdentifier}, is ${age} min old, over ${limitMinutes} min (a day plus the RPO target)`,
        );
      }
    }
    return { label, region, newestId: newest?.DBSnapshotIdentifier ?? null, ageMinutes: age, limitMinutes };
  });

  const stale = reasons.length > 0;
  metrics.addMetric('BackupStale', 'Count', stale ? 1 : 0);
  const drillAge = await daysSinceLastPassedDrill(deps.ddb, env.stateTable, env.environment, now);
  metrics.addMetric('DaysSinceLastPassedDrill', 'None', drillAge.days);
  const jobId = `rpo-monitor/${env.sourceDbInstanceId}`;
  const evidence = {
    latestRestorableTime: lrt instanceof Date ? lrt.toISOString() : null,
    lagMinutes,
    targetMinutes: target,
    ...Object.fromEntries(snapshots.map((s) => [`${s.label}.newestSnapshot`, s.newestId])),
    ...Object.fromEntries(snapshots.map((s) => [`${s.label}.ageMinutes`, s.ageMinutes])),
  };
  const base = {
    checkedAt: now.toISOString(),
    latestRestorableTime: evidence.latestRestorableTime,
    lagMinutes,
    targetMinutes: target,
    snapshots,
    reasons,
    stale,
  };

  // One incident per source, folded as every escalation is (notify.ts): told once, then counted.
  const incidents: FoldingTarget = {
    sns: deps.sns,
    ddb: deps.ddb,
    topicArn: env.topicArn,
    table: env.stateTable,
    environment: env.environment,
  };
  if (stale) {
    const folded = await escalateFolded(
      incidents,
      env.sourceDbInstanceId,
      createEscalation('BACKUP_STALE', jobId, reasons.join('; '), evidence),
      now,
    );
    logger.warn('backups are stale', {
      reasons,
      incidentOpenedAt: folded.openedAt,
      observations: folded.observations,
    });
    if (!folded.published) return { ...base, incident: 'continuing', published: false };
    return { ...base, incident: folded.opened ? 'opened' : 'continuing', published: true };
  }

  const { closed, published } = await foldResolution(
    incidents,
    env.sourceDbInstanceId,
    'BACKUP_STALE',
    (incident) => ({
      class: 'BACKUP_STALE',
      id: jobId,
      message:
        `Backups are within the RPO target again (restorable-time lag ${lagMinutes} min, target ${target} min). ` +
        `The incident opened at ${incident.openedAt} is closed after ${incident.observations} stale check(s).`,
      evidence: { ...evidence, incidentOpenedAt: incident.openedAt, resolvedAt: now.toISOString() },
    }),
    now,
  );
  if (!closed) return { ...base, incident: 'none', published: false };
  logger.info('backups are fresh again: incident resolved', { openedAt: closed.openedAt });
  return { ...base, incident: 'resolved', published };
}
