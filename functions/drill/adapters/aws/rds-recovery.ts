/**
 * The drill's database port over Amazon RDS: point-in-time restore of the source into a new,
 * private, tagged instance with its own RDS-managed master secret, and a delete that refuses any
 * instance a drill did not create, whatever IAM would allow.
 */
import {
  type DBInstance,
  DeleteDBInstanceCommand,
  DescribeDBInstanceAutomatedBackupsCommand,
  DescribeDBInstancesCommand,
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

const INSTANCE_ID = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

export interface RdsRecoveryOptions {
  readonly region: string;
  readonly sourceDbInstanceId: string;
  /** config `drill.instancePrefix`: every drill instance is named `<prefix>-…`; delete refuses others. */
  readonly instancePrefix: string;
  readonly instanceClass: string;
  /** Isolated subnets for the drill instance; null refuses restores (the default group may be public). */
  readonly dbSubnetGroupName: string | null;
  readonly vpcSecurityGroupIds: readonly string[];
}

function isNotFound(error: unknown): boolean {
  return (
    (error as Error).name === 'DBInstanceNotFoundFault' || (error as Error).name === 'DBInstanceNotFound'
  );
}

/** The source instance, or undefined. */
async function describeDbInstance(rds: RdsApi, id: string): Promise<DBInstance | undefined> {
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
  };
}

export class RdsRecovery implements DatabaseRecoveryPort {
  constructor(
    private readonly rds: RdsApi,
    private readonly options: RdsRecoveryOptions,
    private readonly now: () => Date = () => new Date(),
  ) {}

  restorableWindow(): Promise<{ earliest: Date | null; latest: Date | null }> {
    return restorableWindowOf(this.rds, this.options.sourceDbInstanceId);
  }

  private isDrillName(instanceId: string): boolean {
    return (
      instanceId.startsWith(`${this.options.instancePrefix}-`) &&
      instanceId !== this.options.sourceDbInstanceId
    );
  }

  /**
   * Checks everything before calling RDS (RDS itself refuses a time outside the window, but only
   * after a quota and IAM check, and its message does not name the window), then restores.
   */
  async restoreToPointInTime(request: RestoreRequest): Promise<InstanceDescription> {
    const { instanceId, targetTime, tags } = request;
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
    // P, known before RDS is asked: a restore to a time at or before the source's
    // LatestRestorableTime holds every commit up to that time (design.md, Definitions).
    let restoreTime: Date | undefined;
    let restorePointAt: Date;
    let restorePointSource: RestorePointSource;
    if (targetTime === 'latest') {
      const source = await describeDbInstance(this.rds, this.options.sourceDbInstanceId);
      if (!source) throw new NotFoundError('instance', this.options.sourceDbInstanceId);
      const latest = source.LatestRestorableTime;
      if (!(latest instanceof Date) || Number.isNaN(latest.getTime())) {
        throw new RestoreTimeOutOfRangeError(
          'latest',
          `a source that reports a LatestRestorableTime (${this.options.sourceDbInstanceId} reports none: are automated backups on?)`,
        );
      }
      // With UseLatestRestorableTime RDS restores at least this far (what was restorable when it
      // was asked). Recorded now: the RPO of a "latest" drill is the source's log-upload lag.
      restorePointAt = latest;
      restorePointSource = 'latest-restorable-time';
    } else {
      if (!(targetTime instanceof Date) || Number.isNaN(targetTime.getTime())) {
        throw new InputError('targetTime', String(targetTime), 'a valid time or "latest"');
      }
      const window = await this.restorableWindow();
      const earliest = window.earliest ? toIsoUtc(window.earliest.getTime()) : 'unknown';
      const latest = window.latest ? toIsoUtc(window.latest.getTime()) : 'unknown';
      const of = `the restorable window [${earliest}, ${latest}] of ${this.options.sourceDbInstanceId}`;
      const outside =
        outsideWindow(targetTime, window, {
          earliest: of,
          latest: of,
          // Without a LatestRestorableTime nothing proves the target's commits are in the logs.
          latestRequired: `a time within ${of}: the source reports no LatestRestorableTime (are automated backups on?)`,
        }) ??
        (targetTime > this.now()
          ? `a time not in the future (now is ${toIsoUtc(this.now().getTime())}), within ${of}`
          : null);
      if (outside) throw new RestoreTimeOutOfRangeError(toIsoUtc(targetTime.getTime()), outside);
      restoreTime = targetTime;
      restorePointAt = targetTime;
      restorePointSource = 'requested-time';
    }
    const allTags = {
      ...tags,
      [SOURCE_TAG]: this.options.sourceDbInstanceId,
      [TARGET_TIME_TAG]: restoreTime ? toIsoUtc(restoreTime.getTime()) : 'latest',
      [RESTORE_POINT_TAG]: toIsoUtc(restorePointAt.getTime()),
      [RESTORE_POINT_SOURCE_TAG]: restorePointSource,
    };
    const out = await this.rds.send(
      new RestoreDBInstanceToPointInTimeCommand({
        SourceDBInstanceIdentifier: this.options.sourceDbInstanceId,
        TargetDBInstanceIdentifier: instanceId,
        ...(restoreTime ? { RestoreTime: restoreTime } : { UseLatestRestorableTime: true }),
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
        Tags: recordToTags(allTags),
      }),
    );
    // The answer may carry no tags: the ones just sent are the instance's.
    const restored = out.DBInstance ?? { DBInstanceIdentifier: instanceId };
    return describeRdsInstance(
      restored.TagList?.length ? restored : { ...restored, TagList: recordToTags(allTags) },
    );
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
