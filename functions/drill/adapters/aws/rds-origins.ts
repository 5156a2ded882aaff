/**
 * Where an AWS drill's data comes from (`drill.from`) and what of it can be restored, read over
 * Amazon RDS: the region of each origin, the source's point-in-time window, the source's automated
 * backups replicated to the copy region, and the managed snapshot copies there. The restore
 * adapter (rds-recovery.ts), the start function and the CLI all read the origins through it.
 */
import {
  type DBInstance,
  type DBInstanceAutomatedBackup,
  type DBSnapshot,
  DescribeDBInstanceAutomatedBackupsCommand,
  DescribeDBInstancesCommand,
} from '@aws-sdk/client-rds';
import { DRILL_FROM_BY_ENGINE, type DrillFrom } from '../../../core/drill-input.ts';
import { toIsoUtc } from '../../../core/time.ts';
import { isOurs, listManualSnapshots, type RdsApi, tagsToRecord } from '../../../shared/aws/rds-snapshots.ts';
import { NotFoundError, RestoreTimeOutOfRangeError } from '../../ports/database-recovery.ts';

/** Where an AWS drill takes its data from (config `drill.from`). */
export type AwsDrillFrom = Exclude<DrillFrom, 'isolated'>;
/** The origins an AWS drill can restore from. */
export const AWS_DRILL_FROM = DRILL_FROM_BY_ENGINE.aws as readonly AwsDrillFrom[];

/** The region a drill from `from` runs in: the region of its data. */
export function regionOfData(
  from: AwsDrillFrom,
  config: {
    readonly source: { readonly region: string };
    readonly isolation: { readonly copyRegion: string };
  },
): string {
  return from === 'source' ? config.source.region : config.isolation.copyRegion;
}

/** Whether RDS answered that the instance does not exist (moto and RDS name it differently). */
export function isNotFound(error: unknown): boolean {
  return (
    (error as Error).name === 'DBInstanceNotFoundFault' || (error as Error).name === 'DBInstanceNotFound'
  );
}

/** The instance (the source, or a drill's), or undefined when it does not exist. */
export async function describeDbInstance(rds: RdsApi, id: string): Promise<DBInstance | undefined> {
  try {
    const out = await rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: id }));
    return out.DBInstances?.[0];
  } catch (error) {
    if (isNotFound(error)) return undefined;
    throw error;
  }
}

/**
 * Earliest and latest restorable time of the source: latest from the instance
 * (`LatestRestorableTime`), earliest from its automated backups' `RestoreWindow`. Exported for the
 * start function and the CLI, which check a requested target before starting anything.
 */
export async function restorableWindowOf(
  rds: RdsApi,
  sourceDbInstanceId: string,
): Promise<{ earliest: Date | null; latest: Date | null }> {
  const source = await describeDbInstance(rds, sourceDbInstanceId);
  if (!source) throw new NotFoundError('instance', sourceDbInstanceId);
  const latest = source.LatestRestorableTime ?? null;
  const out = await rds.send(
    new DescribeDBInstanceAutomatedBackupsCommand({ DBInstanceIdentifier: sourceDbInstanceId }),
  );
  // Only the current instance's backups (a deleted namesake's retained backups have another resource id).
  const earliest = (out.DBInstanceAutomatedBackups ?? [])
    .filter((b) => !source.DbiResourceId || !b.DbiResourceId || b.DbiResourceId === source.DbiResourceId)
    .map((b) => b.RestoreWindow?.EarliestTime)
    .filter((t): t is Date => t instanceof Date)
    .sort((a, b) => a.getTime() - b.getTime())[0];
  return { earliest: earliest ?? null, latest };
}

/**
 * The source's automated backups replicated to the client's region (`StartDBInstanceAutomatedBackupsReplication`),
 * found by the source's `DbiResourceId` (a deleted namesake's backups have another one).
 * @throws NotFoundError when the source does not exist; RestoreTimeOutOfRangeError when nothing is replicated.
 */
export async function replicatedBackupsOf(
  dataRds: RdsApi,
  dataRegion: string,
  source: { readonly rds: RdsApi; readonly id: string },
): Promise<DBInstanceAutomatedBackup> {
  const instance = await describeDbInstance(source.rds, source.id);
  if (!instance) throw new NotFoundError('instance', source.id);
  const resourceId = instance.DbiResourceId;
  if (!resourceId) {
    throw new RestoreTimeOutOfRangeError(
      'latest',
      `a source that reports its DbiResourceId (${source.id} reports none): the replicated backups in ${dataRegion} are found by it`,
    );
  }
  const out = await dataRds.send(
    new DescribeDBInstanceAutomatedBackupsCommand({
      Filters: [{ Name: 'dbi-resource-id', Values: [resourceId] }],
    }),
  );
  const backups = (out.DBInstanceAutomatedBackups ?? []).filter(
    (b) => b.DbiResourceId === resourceId && b.DBInstanceAutomatedBackupsArn,
  );
  const usable = backups.find((b) => b.Status !== 'pending' && b.Status !== 'creating') ?? null;
  if (!usable) {
    throw new RestoreTimeOutOfRangeError(
      'latest',
      `automated backups of ${source.id} (${resourceId}) replicated to ${dataRegion}${backups.length > 0 ? `: they are still ${backups[0]?.Status}` : ': none found (is isolation replication set up? DescribeDBInstanceAutomatedBackups in that region lists them)'}`,
    );
  }
  return usable;
}

/** When a snapshot's data was taken: a copy keeps the original's time in `OriginalSnapshotCreateTime`. */
export function snapshotTakenAt(snapshot: DBSnapshot): Date | null {
  const at = snapshot.OriginalSnapshotCreateTime ?? snapshot.SnapshotCreateTime;
  return at instanceof Date && !Number.isNaN(at.getTime()) ? at : null;
}

/**
 * The managed copies of the source's snapshots in the client's region that can be restored
 * (available, tagged as ours), oldest first by the time their data was taken.
 * @throws Error when the listing is incomplete: a partial view could pick an older copy.
 */
export async function restorableCopiesOf(
  rds: RdsApi,
  region: string,
  sourceDbInstanceId: string,
): Promise<{ snapshot: DBSnapshot; takenAt: Date }[]> {
  const listing = await listManualSnapshots(rds, region);
  if (!listing.complete) {
    throw new Error(
      `the snapshot copies in ${region} could not all be listed (${listing.error}): refusing to pick one from a partial view`,
    );
  }
  return listing.snapshots
    .filter((s) => s.Status === 'available' && isOurs(tagsToRecord(s.TagList), sourceDbInstanceId))
    .map((snapshot) => ({ snapshot, takenAt: snapshotTakenAt(snapshot) }))
    .filter((c): c is { snapshot: DBSnapshot; takenAt: Date } => c.takenAt !== null)
    .sort((a, b) => a.takenAt.getTime() - b.takenAt.getTime());
}

/**
 * The restorable window of the data a drill from `from` restores, read in the region of that
 * data (`rds`, `region`): the source's PITR window, the replicated backups' window, or the span
 * of the managed snapshot copies (each restores to the moment it was taken). For the start
 * function and the CLI, which check a request before starting anything, and the adapter.
 */
export async function restorableWindowFrom(
  from: AwsDrillFrom,
  where: {
    readonly rds: RdsApi;
    readonly region: string;
    /** The source region's client (the source's resource id): `rds` when the same region. */
    readonly sourceRds: RdsApi;
    readonly sourceDbInstanceId: string;
  },
): Promise<{ earliest: Date | null; latest: Date | null }> {
  const id = where.sourceDbInstanceId;
  if (from === 'isolated-region') {
    const backups = await replicatedBackupsOf(where.rds, where.region, { rds: where.sourceRds, id });
    return {
      earliest: backups.RestoreWindow?.EarliestTime ?? null,
      latest: backups.RestoreWindow?.LatestTime ?? null,
    };
  }
  if (from === 'isolated-snapshot') {
    // A snapshot restores to the moment it was taken: the window spans the copies' moments.
    const copies = await restorableCopiesOf(where.rds, where.region, id);
    return { earliest: copies[0]?.takenAt ?? null, latest: copies.at(-1)?.takenAt ?? null };
  }
  return restorableWindowOf(where.rds, id);
}

/**
 * The copy a snapshot drill restores: the newest one for `latest`, else the newest taken at or
 * before the target (a later one would hold commits after T).
 * @throws RestoreTimeOutOfRangeError naming the copies there are, when none fits.
 */
export async function copyFor(
  rds: RdsApi,
  region: string,
  sourceDbInstanceId: string,
  targetTime: Date | 'latest',
): Promise<{ snapshot: DBSnapshot; takenAt: Date }> {
  const copies = await restorableCopiesOf(rds, region, sourceDbInstanceId);
  const fitting =
    targetTime === 'latest' ? copies : copies.filter((c) => c.takenAt.getTime() <= targetTime.getTime());
  const chosen = fitting.at(-1);
  if (chosen) return chosen;
  const value = targetTime === 'latest' ? 'latest' : toIsoUtc(targetTime.getTime());
  throw new RestoreTimeOutOfRangeError(
    value,
    copies.length === 0
      ? `a managed snapshot copy of ${sourceDbInstanceId} in ${region}: there is none available (has the snapshot function copied one yet?)`
      : `a time at or after the oldest snapshot copy of ${sourceDbInstanceId} in ${region}, taken ${toIsoUtc((copies[0] as { takenAt: Date }).takenAt.getTime())}`,
  );
}
