/**
 * The RPO watch (runbook "Objectives": RPO < 1 hour): every few minutes, how far behind the
 * point-in-time restore is in each location (the source's `LatestRestorableTime`; in the copy
 * region, when replication is on, the replicated automated backups' `RestoreWindow.LatestTime`)
 * and how old the newest managed snapshot is there. Over the limit: BACKUP_STALE for that
 * location, once per incident (source and copy region are separate incidents, so on-call knows
 * which restore point is at risk); when it clears, one "recovered" message.
 */
import { type DBSnapshot, DescribeDBInstancesCommand } from '@aws-sdk/client-rds';
import { createEscalation } from '../../core/escalations.ts';
import { incidentId } from '../../core/messages.ts';
import { replicatedBackup } from '../aws/automated-backups.ts';
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

/** Where a restore point lives: the source region, or the isolated copy region. */
export type BackupLocation = 'source' | 'copy';

/** One location's freshness and its incident. */
export interface LocationCheck {
  readonly location: BackupLocation;
  readonly region: string;
  /**
   * Newest point a point-in-time restore reaches there; null when it is unknown or not watched
   * (the copy region without replication: only its snapshots are).
   */
  readonly latestRestorableTime: string | null;
  readonly lagMinutes: number | null;
  /** True when this location's point-in-time restore is watched (always for the source). */
  readonly watchesRestoreWindow: boolean;
  /** Why this location is stale (empty when it is not). */
  readonly reasons: string[];
  readonly stale: boolean;
  readonly incident: 'opened' | 'continuing' | 'resolved' | 'none';
  readonly published: boolean;
}

/** The outcome of one check, as returned by the function (visible in a manual invoke). */
export interface RpoCheck {
  readonly checkedAt: string;
  readonly latestRestorableTime: string | null;
  readonly lagMinutes: number | null;
  readonly targetMinutes: number;
  readonly snapshots: RegionSnapshotAge[];
  /** Why backups are stale, every location's (empty when they are not). */
  readonly reasons: string[];
  readonly stale: boolean;
  /** Each location's check and incident: source first, then the copy region. */
  readonly locations: LocationCheck[];
  /**
   * What happened to the incidents, the most notable of the locations': `opened` (escalated),
   * `resolved` (recovered sent), `continuing` (already told), `none`.
   */
  readonly incident: 'opened' | 'continuing' | 'resolved' | 'none';
  /** True when this run published a message (an escalation or a recovery). */
  readonly published: boolean;
}

/**
 * The incident's subject per location: the source instance for the source (as it always was), the
 * instance at the copy region for the copy. Two databases, or two locations, never silence each other.
 */
export function locationSubject(
  sourceDbInstanceId: string,
  location: BackupLocation,
  copyRegion: string,
): string {
  return location === 'source' ? sourceDbInstanceId : `${sourceDbInstanceId}@${copyRegion}`;
}

/** One incident per source instance and location. */
export function incidentKey(
  sourceDbInstanceId: string,
  location: BackupLocation = 'source',
  copyRegion = '',
): string {
  return incidentId('BACKUP_STALE', locationSubject(sourceDbInstanceId, location, copyRegion));
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

async function restorableTime(
  deps: RpoMonitorDeps,
): Promise<{ time: Date | null | 'missing'; arn: string | null }> {
  try {
    const out = await deps.sourceRds.send(
      new DescribeDBInstancesCommand({ DBInstanceIdentifier: deps.env.sourceDbInstanceId }),
    );
    const instance = out.DBInstances?.[0];
    if (!instance) return { time: 'missing', arn: null };
    return { time: instance.LatestRestorableTime ?? null, arn: instance.DBInstanceArn ?? null };
  } catch (error) {
    if ((error as Error).name === 'DBInstanceNotFoundFault') return { time: 'missing', arn: null };
    throw error;
  }
}

/**
 * The source instance's ARN, also when the source is gone (its replicated backups outlive it): the
 * escalation topic lives in the source account and partition, so its ARN gives both.
 */
function sourceArnOf(env: RpoMonitorEnv, known: string | null): string {
  if (known) return known;
  const [, partition = 'aws', , , account = ''] = env.topicArn.split(':');
  return `arn:${partition}:rds:${env.sourceRegion}:${account}:db:${env.sourceDbInstanceId}`;
}

/** The replicated restore window's newest point in the copy region, or why there is none. */
async function replicatedRestorableTime(
  deps: RpoMonitorDeps,
  sourceArn: string,
): Promise<{ time: Date } | { why: string }> {
  const { env } = deps;
  const backup = await replicatedBackup(deps.copyRds, sourceArn);
  if (!backup || !['replicating', 'active', 'pending'].includes(backup.Status ?? '')) {
    return {
      why: `no replicated automated backups of ${env.sourceDbInstanceId} in ${env.copyRegion} (copy)${backup ? ` (status ${backup.Status})` : ''}: replication is off, stopped or not started; the snapshot function starts it`,
    };
  }
  const latest = backup.RestoreWindow?.LatestTime;
  if (!latest)
    return {
      why: `the replicated automated backups of ${env.sourceDbInstanceId} in ${env.copyRegion} (copy) have no restore window yet (status ${backup.Status})`,
    };
  return { time: latest };
}

/** One check: measure, publish the metrics, open or close each location's incident. */
export async function runRpoMonitor(_event: unknown, deps: RpoMonitorDeps): Promise<RpoCheck> {
  const { env, metrics, logger } = deps;
  const now = (deps.now ?? (() => new Date()))();
  const target = env.rpoTargetMinutes;
  const reasonsOf: Record<BackupLocation, string[]> = { source: [], copy: [] };
  const lagOf = (time: Date) => Math.max(0, minutes(now.getTime() - time.getTime()));

  const source = await restorableTime(deps);
  const lrt = source.time;
  let lagMinutes: number | null = null;
  if (lrt === 'missing') {
    reasonsOf.source.push(`source instance ${env.sourceDbInstanceId} not found in ${env.sourceRegion}`);
  } else if (lrt === null) {
    reasonsOf.source.push(
      `source instance ${env.sourceDbInstanceId} has no LatestRestorableTime: automated backups are off (backup retention 0) or not started`,
    );
  } else {
    lagMinutes = lagOf(lrt);
    metrics.addMetric('RestorableTimeLag', 'Seconds', Math.round(lagMinutes * 60));
    metrics.addMetric('RestorableLagMinutes', 'None', lagMinutes);
    metrics.addMetric('RestorableLagMinutes', 'None', lagMinutes, {
      location: 'source',
      region: env.sourceRegion,
    });
    if (lagMinutes > target) {
      reasonsOf.source.push(
        `LatestRestorableTime ${lrt.toISOString()} lags ${lagMinutes} min behind now, over the RPO target of ${target} min`,
      );
    }
  }

  let copyRestorable: Date | null = null;
  let copyLag: number | null = null;
  if (env.pitrReplication) {
    const replicated = await replicatedRestorableTime(deps, sourceArnOf(env, source.arn));
    if ('why' in replicated) reasonsOf.copy.push(replicated.why);
    else {
      copyRestorable = replicated.time;
      copyLag = lagOf(replicated.time);
      metrics.addMetric('RestorableLagMinutes', 'None', copyLag, {
        location: 'copy',
        region: env.copyRegion,
      });
      if (copyLag > target) {
        reasonsOf.copy.push(
          `the replicated restore window in ${env.copyRegion} (copy) ends at ${replicated.time.toISOString()}, ${copyLag} min behind now, over the RPO target of ${target} min`,
        );
      }
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
    const [sourceListing, copyListing] = await Promise.all([
      listManualSnapshots(deps.sourceRds, env.sourceRegion, options),
      listManualSnapshots(deps.copyRds, env.copyRegion, options),
    ]);
    sourceOurs = ours(requireComplete(sourceListing));
    copyOurs = ours(requireComplete(copyListing));
  }
  const limitMinutes = SNAPSHOT_INTERVAL_MINUTES + target;
  const snapshots: RegionSnapshotAge[] = (
    [
      ['source', env.sourceRegion, sourceOurs],
      ['copy', env.copyRegion, copyOurs],
    ] as const
  ).map(([label, region, list]) => {
    const newest = newestAvailable(list);
    const age = newest?.SnapshotCreateTime ? lagOf(newest.SnapshotCreateTime) : null;
    if (age === null)
      reasonsOf[label].push(
        `no available managed snapshot of ${env.sourceDbInstanceId} in ${region} (${label})`,
      );
    else {
      metrics.addMetric(
        label === 'source' ? 'NewestSnapshotAgeSourceRegion' : 'NewestSnapshotAgeCopyRegion',
        'Seconds',
        Math.round(age * 60),
      );
      metrics.addMetric('NewestSnapshotAgeMinutes', 'None', age, { location: label, region });
      if (age > limitMinutes) {
        reasonsOf[label].push(
          `newest managed snapshot in ${region} (${label}), ${newest?.DBSnapshotIdentifier}, is ${age} min old, over ${limitMinutes} min (a day plus the RPO target)`,
        );
      }
    }
    return { label, region, newestId: newest?.DBSnapshotIdentifier ?? null, ageMinutes: age, limitMinutes };
  });

  const reasons = [...reasonsOf.source, ...reasonsOf.copy];
  const stale = reasons.length > 0;
  metrics.addMetric('BackupStale', 'Count', stale ? 1 : 0);
  for (const location of ['source', 'copy'] as const)
    metrics.addMetric('BackupStale', 'Count', reasonsOf[location].length > 0 ? 1 : 0, { location });
  const drillAge = await daysSinceLastPassedDrill(deps.ddb, env.stateTable, env.environment, now);
  metrics.addMetric('DaysSinceLastPassedDrill', 'None', drillAge.days);

  const incidents: FoldingTarget = {
    sns: deps.sns,
    ddb: deps.ddb,
    topicArn: env.topicArn,
    table: env.stateTable,
    environment: env.environment,
  };
  const measured: Record<BackupLocation, { region: string; restorable: Date | null; lag: number | null }> = {
    source: { region: env.sourceRegion, restorable: lrt instanceof Date ? lrt : null, lag: lagMinutes },
    copy: { region: env.copyRegion, restorable: copyRestorable, lag: copyLag },
  };
  const locations: LocationCheck[] = [];
  for (const location of ['source', 'copy'] as const) {
    const m = measured[location];
    const snapshot = snapshots.find((s) => s.label === location);
    const watches = location === 'source' || env.pitrReplication;
    const evidence = {
      location,
      region: m.region,
      latestRestorableTime: m.restorable?.toISOString() ?? null,
      lagMinutes: m.lag,
      targetMinutes: target,
      newestSnapshot: snapshot?.newestId ?? null,
      snapshotAgeMinutes: snapshot?.ageMinutes ?? null,
    };
    const outcome = await foldLocation(deps, incidents, location, reasonsOf[location], evidence, now);
    locations.push({
      location,
      region: m.region,
      latestRestorableTime: evidence.latestRestorableTime,
      lagMinutes: m.lag,
      watchesRestoreWindow: watches,
      reasons: reasonsOf[location],
      stale: reasonsOf[location].length > 0,
      ...outcome,
    });
  }
  if (stale) logger.warn('backups are stale', { reasons });
  const rank = ['opened', 'resolved', 'continuing', 'none'] as const;
  const incident = rank.find((r) => locations.some((l) => l.incident === r)) ?? 'none';
  return {
    checkedAt: now.toISOString(),
    latestRestorableTime: lrt instanceof Date ? lrt.toISOString() : null,
    lagMinutes,
    targetMinutes: target,
    snapshots,
    reasons,
    stale,
    locations,
    incident,
    published: locations.some((l) => l.published),
  };
}

/** What a location is called in a message: on-call must know which restore point is at risk. */
function locationLabel(env: RpoMonitorEnv, location: BackupLocation): string {
  return location === 'source' ? `source region ${env.sourceRegion}` : `copy region ${env.copyRegion}`;
}

/** Opens, folds or closes one location's BACKUP_STALE incident. */
async function foldLocation(
  deps: RpoMonitorDeps,
  incidents: FoldingTarget,
  location: BackupLocation,
  reasons: string[],
  evidence: Record<string, string | number | null>,
  now: Date,
): Promise<Pick<LocationCheck, 'incident' | 'published'>> {
  const { env, logger } = deps;
  const subject = locationSubject(env.sourceDbInstanceId, location, env.copyRegion);
  const jobId = `rpo-monitor/${subject}`;
  const where = locationLabel(env, location);
  if (reasons.length > 0) {
    const folded = await escalateFolded(
      incidents,
      subject,
      createEscalation('BACKUP_STALE', jobId, `In the ${where}: ${reasons.join('; ')}`, evidence),
      now,
    );
    logger.warn(`backups in the ${where} are stale`, {
      location,
      reasons,
      incidentOpenedAt: folded.openedAt,
      observations: folded.observations,
    });
    if (!folded.published) return { incident: 'continuing', published: false };
    return { incident: folded.opened ? 'opened' : 'continuing', published: true };
  }
  const lag = evidence.lagMinutes;
  const { closed, published } = await foldResolution(
    incidents,
    subject,
    'BACKUP_STALE',
    (incident) => ({
      class: 'BACKUP_STALE',
      id: jobId,
      message:
        `Backups in the ${where} are within the RPO target again (restorable-time lag ${lag ?? 'not watched'}${lag === null ? '' : ' min'}, target ${env.rpoTargetMinutes} min). ` +
        `The incident opened at ${incident.openedAt} is closed after ${incident.observations} stale check(s).`,
      evidence: { ...evidence, incidentOpenedAt: incident.openedAt, resolvedAt: now.toISOString() },
    }),
    now,
  );
  if (!closed) return { incident: 'none', published: false };
  logger.info(`backups in the ${where} are fresh again: incident resolved`, {
    location,
    openedAt: closed.openedAt,
  });
  return { incident: 'resolved', published };
}
