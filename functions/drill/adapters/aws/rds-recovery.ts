/**
 * The drill's database port over Amazon RDS: a restore into a new, private, tagged instance with
 * its own RDS-managed master secret, and a delete that refuses any instance a drill did not
 * create, whatever IAM would allow. Where the data comes from (`drill.from`):
 * - `source`: point-in-time restore of the source instance, in its region;
 * - `isolated-region`: point-in-time restore from the source's automated backups replicated to
 *   the copy region (`SourceDBInstanceAutomatedBackupsArn`), in the copy region;
 * - `isolated-snapshot`: restore of the newest managed snapshot copy in the copy region.
 * The adapter's client is in the region of the data: a drill stack serves the origins of its region.
 */
import {
  type DBInstance,
  type DBInstanceAutomatedBackup,
  DeleteDBInstanceCommand,
  RestoreDBInstanceFromDBSnapshotCommand,
  RestoreDBInstanceToPointInTimeCommand,
} from '@aws-sdk/client-rds';
import { SOURCE_TAG } from '../../../core/contracts.ts';
import { outsideWindow } from '../../../core/drill-input.ts';
import { InputError } from '../../../core/errors.ts';
import { toIsoUtc } from '../../../core/time.ts';
import { type RdsApi, recordToTags, tagsToRecord } from '../../../shared/aws/rds-snapshots.ts';
import {
  type DatabaseRecoveryPort,
  DRILL_ID_TAG,
  type InstanceDescription,
  type InstanceStatus,
  NotADrillInstanceError,
  NotFoundError,
  RESTORE_POINT_SOURCES,
  type RestorePointSource,
  type RestoreRequest,
  RestoreTimeOutOfRangeError,
} from '../../ports/database-recovery.ts';
import {
  AWS_DRILL_FROM,
  type AwsDrillFrom,
  copyFor,
  describeDbInstance,
  isNotFound,
  replicatedBackupsOf,
  restorableWindowFrom,
  restorableWindowOf,
} from './rds-origins.ts';

/** Tag holding the requested target (`latest` or ISO UTC), so a describe can report it back. */
export const TARGET_TIME_TAG = 'recovery-drill:target-time';
/**
 * Tag holding P (ISO UTC): RDS does not say which commit a restore ended at, but a restore to a
 * time at or before `LatestRestorableTime` holds every commit up to it. Recorded when the restore
 * is requested, so the wait step (another invocation) reads it back from the instance.
 */
export const RESTORE_POINT_TAG = 'recovery-drill:restore-point';
/** Tag holding how P is known (a {@link RestorePointSource}). */
export const RESTORE_POINT_SOURCE_TAG = 'recovery-drill:restore-point-source';
/** Tag holding where the data came from (`drill.from`), so a describe can report it back. */
export const FROM_TAG = 'recovery-drill:from';
/** Tag holding the snapshot (or replicated backups ARN) the instance was restored from. */
export const SOURCE_BACKUP_TAG = 'recovery-drill:source-backup';

const INSTANCE_ID = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

export interface RdsRecoveryOptions {
  /** The region of the client: where the data restored lives and the drill instance is made. */
  readonly region: string;
  readonly sourceDbInstanceId: string;
  /**
   * The source region and its RDS client, when they differ from {@link region} (a drill stack in
   * the copy region): the replicated backups are found by the source's `DbiResourceId`.
   * @default - the source lives in {@link region}; only `source` drills are served
   */
  readonly source?: { readonly region: string; readonly rds: RdsApi };
  /** config `drill.instancePrefix`: every drill instance is named `<prefix>-…`; delete refuses others. */
  readonly instancePrefix: string;
  readonly instanceClass: string;
  /** Isolated subnets for the drill instance; null refuses restores (the default group may be public). */
  readonly dbSubnetGroupName: string | null;
  readonly vpcSecurityGroupIds: readonly string[];
  /**
   * The origins whose data lives in {@link region} (see {@link regionOfData}); others are refused.
   * @default ['source']
   */
  readonly servesFrom?: readonly AwsDrillFrom[];
}

const CREATING = new Set([
  'creating',
  'backing-up',
  'modifying',
  'configuring-enhanced-monitoring',
  'configuring-log-exports',
  'configuring-iam-database-auth',
  'rebooting',
  'renaming',
  'resetting-master-credentials',
  'starting',
  'upgrading',
  'maintenance',
  'storage-optimization',
]);

/** Maps an RDS instance status to the port's four; anything unusable and not in progress is a failure. */
export function mapStatus(status: string | undefined): {
  status: InstanceStatus;
  failureReason: string | null;
} {
  if (status === 'available') return { status: 'available', failureReason: null };
  if (status === 'deleting') return { status: 'deleting', failureReason: null };
  if (status === undefined || CREATING.has(status)) return { status: 'creating', failureReason: null };
  return { status: 'failed', failureReason: `RDS reports the instance as ${status}` };
}

/** P and its source from the instance's tags; null for both unless both are there and readable. */
function restorePointOf(tags: Record<string, string>): {
  restorePointAt: string | null;
  restorePointSource: RestorePointSource | null;
} {
  const at = tags[RESTORE_POINT_TAG];
  const source = tags[RESTORE_POINT_SOURCE_TAG];
  const ms = at ? Date.parse(at) : Number.NaN;
  if (Number.isNaN(ms) || !(RESTORE_POINT_SOURCES as readonly string[]).includes(source ?? ''))
    return { restorePointAt: null, restorePointSource: null };
  return { restorePointAt: toIsoUtc(ms), restorePointSource: source as RestorePointSource };
}

export function describeRdsInstance(instance: DBInstance): InstanceDescription {
  const tags = tagsToRecord(instance.TagList);
  const target = tags[TARGET_TIME_TAG];
  const { status, failureReason } = mapStatus(instance.DBInstanceStatus);
  return {
    id: instance.DBInstanceIdentifier ?? '',
    status,
    endpoint:
      instance.Endpoint?.Address && instance.Endpoint.Port
        ? { host: instance.Endpoint.Address, port: instance.Endpoint.Port }
        : null,
    tags,
    targetTime: target && target !== 'latest' ? target : null,
    ...restorePointOf(tags),
    failureReason,
    sourceBackup: tags[SOURCE_BACKUP_TAG] ?? null,
  };
}

export class RdsRecovery implements DatabaseRecoveryPort {
  constructor(
    private readonly rds: RdsApi,
    private readonly options: RdsRecoveryOptions,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** The source instance's client: this one, unless the source lives in another region. */
  private get sourceRds(): RdsApi {
    return this.options.source?.rds ?? this.rds;
  }

  /**
   * Refuses an origin whose data is not in this region: its drill runs in the region of its data.
   * @throws InputError naming `from`.
   */
  private served(from: AwsDrillFrom): void {
    const ok = (AWS_DRILL_FROM as readonly string[]).includes(from);
    if (ok && (this.options.servesFrom ?? ['source']).includes(from)) return;
    throw new InputError(
      'from',
      from,
      `one of ${(this.options.servesFrom ?? ['source']).map((f) => `"${f}"`).join(', ')}: this drill runs in ${this.options.region}${ok ? `, and a drill from "${from}" runs in the region of its data (start it with its state machine there)` : ''}`,
    );
  }

  async restorableWindow(
    from: AwsDrillFrom = 'source',
  ): Promise<{ earliest: Date | null; latest: Date | null }> {
    this.served(from);
    return restorableWindowFrom(from, {
      rds: this.rds,
      region: this.options.region,
      sourceRds: this.sourceRds,
      sourceDbInstanceId: this.options.sourceDbInstanceId,
    });
  }

  private isDrillName(instanceId: string): boolean {
    return (
      instanceId.startsWith(`${this.options.instancePrefix}-`) &&
      instanceId !== this.options.sourceDbInstanceId
    );
  }

  /**
   * Checks everything before calling RDS (RDS itself refuses a time outside the window, but only
   * after a quota and IAM check, and its message does not name the window), then restores from
   * the request's origin (`from`, default `source`).
   */
  async restoreToPointInTime(request: RestoreRequest): Promise<InstanceDescription> {
    const { instanceId, targetTime, tags } = request;
    const from = (request.from ?? 'source') as AwsDrillFrom;
    this.served(from);
    if (typeof instanceId !== 'string' || instanceId.length > 63 || !INSTANCE_ID.test(instanceId)) {
      throw new InputError(
        'instanceId',
        instanceId,
        'an RDS instance identifier (a-z, 0-9, single hyphens, at most 63)',
      );
    }
    if (!this.isDrillName(instanceId)) {
      throw new InputError(
        'instanceId',
        instanceId,
        `a name starting with "${this.options.instancePrefix}-"`,
      );
    }
    if (!tags[DRILL_ID_TAG]) {
      throw new InputError(
        'tags',
        tags,
        `a ${DRILL_ID_TAG} tag: a drill never creates an instance it could not clean up`,
      );
    }
    if (this.options.dbSubnetGroupName === null) {
      throw new InputError(
        'dbSubnetGroupName',
        null,
        'the isolated DB subnet group of the drill (DRILL_DB_SUBNET_GROUP): the default group may be public',
      );
    }
    if (targetTime !== 'latest' && (!(targetTime instanceof Date) || Number.isNaN(targetTime.getTime()))) {
      throw new InputError('targetTime', String(targetTime), 'a valid time or "latest"');
    }
    const placement = {
      DBSubnetGroupName: this.options.dbSubnetGroupName,
      VpcSecurityGroupIds: [...this.options.vpcSecurityGroupIds],
      PubliclyAccessible: false,
      DBInstanceClass: this.options.instanceClass,
      MultiAZ: false,
      DeletionProtection: false,
      // No automated backups of a throwaway instance: it is available sooner and costs less.
      BackupRetentionPeriod: 0,
      CopyTagsToSnapshot: false,
      // Its own RDS-managed secret: the source's password is never read or copied.
      ManageMasterUserPassword: true,
    };
    const tagged = (
      restoreTime: Date | undefined,
      p: Date,
      source: RestorePointSource,
      backup: string | null,
    ) => ({
      ...tags,
      [SOURCE_TAG]: this.options.sourceDbInstanceId,
      [TARGET_TIME_TAG]: restoreTime ? toIsoUtc(restoreTime.getTime()) : 'latest',
      [RESTORE_POINT_TAG]: toIsoUtc(p.getTime()),
      [RESTORE_POINT_SOURCE_TAG]: source,
      [FROM_TAG]: from,
      ...(backup ? { [SOURCE_BACKUP_TAG]: backup } : {}),
    });

    let allTags: Record<string, string>;
    let restored: DBInstance | undefined;
    if (from === 'isolated-snapshot') {
      const { snapshot, takenAt } = await copyFor(
        this.rds,
        this.options.region,
        this.options.sourceDbInstanceId,
        targetTime,
      );
      const id = snapshot.DBSnapshotIdentifier ?? '';
      // P is fixed when the snapshot was taken: T − P is what a restore of the copy loses.
      allTags = tagged(
        targetTime === 'latest' ? undefined : targetTime,
        takenAt,
        'snapshot-creation-time',
        id,
      );
      const out = await this.rds.send(
        new RestoreDBInstanceFromDBSnapshotCommand({
          DBInstanceIdentifier: instanceId,
          DBSnapshotIdentifier: snapshot.DBSnapshotArn ?? id,
          ...placement,
          Tags: recordToTags(allTags),
        }),
      );
      restored = out.DBInstance;
    } else {
      const backups =
        from === 'isolated-region'
          ? await replicatedBackupsOf(this.rds, this.options.region, {
              rds: this.sourceRds,
              id: this.options.sourceDbInstanceId,
            })
          : null;
      const { restoreTime, restorePointAt, restorePointSource } = await this.pointInTime(targetTime, backups);
      allTags = tagged(
        restoreTime,
        restorePointAt,
        restorePointSource,
        backups?.DBInstanceAutomatedBackupsArn ?? null,
      );
      const out = await this.rds.send(
        new RestoreDBInstanceToPointInTimeCommand({
          ...(backups
            ? { SourceDBInstanceAutomatedBackupsArn: backups.DBInstanceAutomatedBackupsArn }
            : { SourceDBInstanceIdentifier: this.options.sourceDbInstanceId }),
          TargetDBInstanceIdentifier: instanceId,
          ...(restoreTime ? { RestoreTime: restoreTime } : { UseLatestRestorableTime: true }),
          ...placement,
          Tags: recordToTags(allTags),
        }),
      );
      restored = out.DBInstance;
    }
    // The answer may carry no tags: the ones just sent are the instance's.
    const instance = restored ?? { DBInstanceIdentifier: instanceId };
    return describeRdsInstance(
      instance.TagList?.length ? instance : { ...instance, TagList: recordToTags(allTags) },
    );
  }

  /**
   * P of a point-in-time restore, known before RDS is asked: a restore to a time at or before the
   * latest restorable time holds every commit up to that time (design.md, Definitions). From the
   * source: its `LatestRestorableTime` and restorable window; from the replicated backups: theirs.
   */
  private async pointInTime(
    targetTime: Date | 'latest',
    backups: DBInstanceAutomatedBackup | null,
  ): Promise<{
    restoreTime: Date | undefined;
    restorePointAt: Date;
    restorePointSource: RestorePointSource;
  }> {
    const where = backups
      ? `the automated backups of ${this.options.sourceDbInstanceId} replicated to ${this.options.region}`
      : this.options.sourceDbInstanceId;
    if (targetTime === 'latest') {
      let latest: Date | undefined;
      if (backups) latest = backups.RestoreWindow?.LatestTime;
      else {
        const source = await describeDbInstance(this.rds, this.options.sourceDbInstanceId);
        if (!source) throw new NotFoundError('instance', this.options.sourceDbInstanceId);
        latest = source.LatestRestorableTime;
      }
      if (!(latest instanceof Date) || Number.isNaN(latest.getTime())) {
        throw new RestoreTimeOutOfRangeError(
          'latest',
          `a source that reports a latest restorable time (${where} reports none: are automated backups${backups ? ' and their replication' : ''} on?)`,
        );
      }
      // With UseLatestRestorableTime RDS restores at least this far (what was restorable when it
      // was asked). Recorded now: the RPO of a "latest" drill is the log-upload (and replication) lag.
      return {
        restoreTime: undefined,
        restorePointAt: latest,
        restorePointSource: backups ? 'replicated-latest-restorable-time' : 'latest-restorable-time',
      };
    }
    const window = backups
      ? {
          earliest: backups.RestoreWindow?.EarliestTime ?? null,
          latest: backups.RestoreWindow?.LatestTime ?? null,
        }
      : await restorableWindowOf(this.rds, this.options.sourceDbInstanceId);
    const earliest = window.earliest ? toIsoUtc(window.earliest.getTime()) : 'unknown';
    const latest = window.latest ? toIsoUtc(window.latest.getTime()) : 'unknown';
    const of = `the restorable window [${earliest}, ${latest}] of ${where}`;
    const outside =
      outsideWindow(targetTime, window, {
        earliest: of,
        latest: of,
        // Without a latest restorable time nothing proves the target's commits are in the logs.
        latestRequired: `a time within ${of}: no latest restorable time is reported (are automated backups on?)`,
      }) ??
      (targetTime > this.now()
        ? `a time not in the future (now is ${toIsoUtc(this.now().getTime())}), within ${of}`
        : null);
    if (outside) throw new RestoreTimeOutOfRangeError(toIsoUtc(targetTime.getTime()), outside);
    return { restoreTime: targetTime, restorePointAt: targetTime, restorePointSource: 'requested-time' };
  }

  async describeInstance(instanceId: string): Promise<InstanceDescription | null> {
    if (typeof instanceId !== 'string' || !INSTANCE_ID.test(instanceId)) return null;
    const instance = await describeDbInstance(this.rds, instanceId);
    return instance ? describeRdsInstance(instance) : null;
  }

  /** Deletes only `<prefix>-…` instances tagged {@link DRILL_ID_TAG}; no final snapshot, no retained backups. */
  async deleteInstance(instanceId: string): Promise<void> {
    const instance = await describeDbInstance(this.rds, instanceId);
    if (!instance) throw new NotFoundError('instance', instanceId);
    const tags = tagsToRecord(instance.TagList);
    if (!tags[DRILL_ID_TAG]) throw new NotADrillInstanceError(instanceId);
    if (!this.isDrillName(instanceId)) {
      const refused = new NotADrillInstanceError(instanceId);
      refused.message = `instance ${instanceId} is tagged ${DRILL_ID_TAG} but is not named "${this.options.instancePrefix}-…": refusing to delete what a drill did not create`;
      throw refused;
    }
    if (instance.DBInstanceStatus === 'deleting') return;
    try {
      await this.rds.send(
        new DeleteDBInstanceCommand({
          DBInstanceIdentifier: instanceId,
          SkipFinalSnapshot: true,
          DeleteAutomatedBackups: true,
        }),
      );
    } catch (error) {
      // Already going (another cleanup raced this one): the outcome is the same.
      if (isNotFound(error)) return;
      throw error;
    }
  }
}
