/**
 * `BackupFunctions`: the four backup functions (snapshot, artifacts, prune, RPO monitor) with
 * their state, rights, schedules and failure handling. This file composes; each function's rights
 * live beside it (`snapshot.ts`, `artifacts.ts`, `prune.ts`, `rpo-monitor.ts`), the shared state
 * in `state.ts`, the schedules in `schedules.ts`. Every construct is created in this scope under
 * the id it always had, so a deployed stack updates in place.
 */
import { Aws, type CustomResource, RemovalPolicy } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as events from 'aws-cdk-lib/aws-events';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { InputError } from '../../functions/core/errors.ts';
import { scheduleExpressionProblem } from '../../functions/core/schedule.ts';
import { type AppArtifacts, copyArtifactsCommands } from '../artifacts.ts';
import { PROJECT_ROOT } from '../function.ts';
import { checkInteger, checkNumber, checkPattern, withDefaults } from '../props.ts';
import { ARTIFACTS_ENTRY, acknowledgeArtifactsRole, artifactsUpload, grantArtifacts } from './artifacts.ts';
import {
  type BackupFunction,
  type BackupFunctionName,
  type BackupFunctionWiring,
  createBackupFunction,
} from './backup-function.ts';
import { snapshotGrants } from './managed-snapshots.ts';
import { acknowledgePruneRole, grantPrune, PRUNE_ENTRY } from './prune.ts';
import { acknowledgeRpoMonitorRole, grantRpoMonitor, RPO_MONITOR_ENTRY } from './rpo-monitor.ts';
import { createBackupSchedules } from './schedules.ts';
import {
  acknowledgeExportRole,
  acknowledgeSnapshotRole,
  createExportRole,
  grantSnapshot,
  SNAPSHOT_ENTRY,
  type SnapshotGrantProps,
} from './snapshot.ts';
import { createBackupState } from './state.ts';

export type { BackupFunctionName } from './backup-function.ts';

export interface RetentionSettings {
  /** Daily restore points kept. @default 35 */
  readonly daily?: number;
  /** Monthly restore points kept. @default 12 */
  readonly monthly?: number;
  /** Safety cap on deletions per prune run. @default 20 */
  readonly maxDeletionsPerRun?: number;
  /** Plan and report, delete nothing. @default false */
  readonly dryRun?: boolean;
}

export interface ScheduleSettings {
  /** Daily snapshot (and artifact capture). @default 'cron(0 3 * * ? *)' */
  readonly snapshot?: string;
  /** RPO monitor. @default 'rate(15 minutes)' */
  readonly rpoCheck?: string;
  /** Retention pruning. @default 'cron(30 4 * * ? *)' */
  readonly prune?: string;
  /** Time zone of the cron expressions (IANA name). @default 'UTC' */
  readonly timezone?: string;
}

export interface BackupFunctionsProps {
  /** Name shown in every escalation (`ENVIRONMENT`). */
  readonly environment: string;
  /** The RDS instance (engine postgres) to protect. */
  readonly sourceDbInstanceId: string;
  /** Region of the source instance; must be this stack's region. */
  readonly sourceRegion: string;
  /** Region of the isolated copies. */
  readonly copyRegion: string;
  /** KMS key ARN or alias ARN in `copyRegion` that encrypts the copies. */
  readonly copyKmsKeyArn: string;
  /**
   * Account the copies are shared with (`ModifyDBSnapshotAttribute`).
   * @default - copies are not shared
   */
  readonly copyAccountId?: string;
  /**
   * Also export each daily snapshot to the bucket's `exports/` prefix as Parquet (not restorable).
   * @default false
   */
  readonly exportToS3?: boolean;
  /** Holds artifacts, prune plans and exports. */
  readonly bucket: s3.IBucket;
  /** The bucket's KMS key (also encrypts exports). */
  readonly bucketKey: kms.IKey;
  /** Escalation topic. */
  readonly topic: sns.ITopic;
  /**
   * KMS key of the escalation topic; publishers need it.
   * @default - the topic is not encrypted with a customer-managed key
   */
  readonly topicKey?: kms.IKey;
  /** The app's artifacts read at synth: copied into the artifacts function's code. */
  readonly artifacts: AppArtifacts;
  /** @default - the runbook's 35 daily, 12 monthly, 20 deletions per run, not dry-run */
  readonly retention?: RetentionSettings;
  /**
   * RPO target in minutes (more than 0, at most 1440; fractions allowed): the monitor escalates `BACKUP_STALE` past it.
   * @default 60
   */
  readonly rpoTargetMinutes?: number;
  /** @default - the configuration's default schedules */
  readonly schedules?: ScheduleSettings;
  /**
   * Retention of every function's log group.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Folder with `package-lock.json` and `functions/<entry>.ts`.
   * @default PROJECT_ROOT - this repository
   */
  readonly projectRoot?: string;
  /**
   * What happens to the state table and the queue key when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

const RETENTION_DEFAULTS = { daily: 35, monthly: 12, maxDeletionsPerRun: 20, dryRun: false };
const SCHEDULE_DEFAULTS = {
  snapshot: 'cron(0 3 * * ? *)',
  rpoCheck: 'rate(15 minutes)',
  prune: 'cron(30 4 * * ? *)',
  timezone: 'UTC',
};
const DEFAULTS = {
  exportToS3: false,
  rpoTargetMinutes: 60,
  logRetention: logs.RetentionDays.ONE_YEAR,
  projectRoot: PROJECT_ROOT,
  removalPolicy: RemovalPolicy.RETAIN,
};

const REGION = /^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$/;
const DB_IDENTIFIER = /^[a-zA-Z][a-zA-Z0-9]*(-[a-zA-Z0-9]+)*$/;

/** The backup functions, their schedules and triggers, and the incident state table. */
export class BackupFunctions extends Construct {
  readonly functions: Readonly<Record<BackupFunctionName, nodejs.NodejsFunction>>;
  readonly roles: Readonly<Record<BackupFunctionName, iam.Role>>;
  readonly logGroups: Readonly<Record<BackupFunctionName, logs.LogGroup>>;
  /** DynamoDB table (partition key `pk`) remembering open incidents ("escalate once per incident"). */
  readonly stateTable: dynamodb.Table;
  /** Failed asynchronous invocations (Lambda on-failure, Scheduler and EventBridge dead letters). */
  readonly failureQueue: sqs.Queue;
  /** Encrypts the state table and the failure queue. */
  readonly key: kms.Key;
  /** Role `export.rds.amazonaws.com` assumes to write Parquet exports under `exports/`. */
  readonly exportRole: iam.Role;
  /** Role EventBridge Scheduler assumes to invoke the functions. */
  readonly schedulerRole: iam.Role;
  readonly schedules: Readonly<
    Record<'snapshot' | 'artifacts' | 'prune' | 'rpoCheck', scheduler.CfnSchedule>
  >;
  /** Runs the snapshot function when RDS reports a managed manual snapshot created. */
  readonly snapshotCreatedRule: events.Rule;
  /** Stores the artifacts on every deployment whose artifacts changed. */
  readonly artifactsUpload: CustomResource;

  constructor(scope: Construct, id: string, props: BackupFunctionsProps) {
    super(scope, id);
    const p = withDefaults(DEFAULTS, props);
    const retention = withDefaults(RETENTION_DEFAULTS, props.retention ?? {});
    const schedules = withDefaults(SCHEDULE_DEFAULTS, props.schedules ?? {});
    validate(p, retention, schedules);

    const account = Aws.ACCOUNT_ID;
    const sourceId = p.sourceDbInstanceId;
    const grants = snapshotGrants(sourceId, p.sourceRegion, p.copyRegion);

    const state = createBackupState(this, p.topic, p.removalPolicy, account);
    this.key = state.key;
    this.stateTable = state.stateTable;
    this.failureQueue = state.failureQueue;
    this.exportRole = createExportRole(this, p.bucket, p.bucketKey, account);

    const common: Record<string, string> = {
      ENVIRONMENT: p.environment,
      TOPIC_ARN: p.topic.topicArn,
      SOURCE_DB_INSTANCE_ID: sourceId,
      SOURCE_REGION: p.sourceRegion,
      COPY_REGION: p.copyRegion,
      POWERTOOLS_SERVICE_NAME: 'recovery-drill',
      POWERTOOLS_METRICS_NAMESPACE: 'RecoveryDrill',
      STATE_TABLE: this.stateTable.tableName,
    };
    const wiring: BackupFunctionWiring = {
      projectRoot: p.projectRoot,
      logRetention: p.logRetention,
      topic: p.topic,
      ...(p.topicKey ? { topicKey: p.topicKey } : {}),
      failureQueue: this.failureQueue,
      queueKey: this.key,
    };
    const snapshot = createBackupFunction(
      this,
      'snapshot',
      SNAPSHOT_ENTRY,
      {
        ...common,
        COPY_KMS_KEY_ID: p.copyKmsKeyArn,
        COPY_ACCOUNT_ID: p.copyAccountId ?? '',
        EXPORT_ENABLED: String(p.exportToS3),
        BACKUP_BUCKET: p.bucket.bucketName,
        EXPORT_ROLE_ARN: this.exportRole.roleArn,
        EXPORT_KMS_KEY_ID: p.bucketKey.keyArn,
        ARTIFACTS_VERSION: p.artifacts.version,
      },
      wiring,
    );
    const artifacts = createBackupFunction(
      this,
      'artifacts',
      ARTIFACTS_ENTRY,
      { ...common, BACKUP_BUCKET: p.bucket.bucketName, ARTIFACTS_VERSION: p.artifacts.version },
      wiring,
      (outputDir) => copyArtifactsCommands(p.artifacts, outputDir),
    );
    const prune = createBackupFunction(
      this,
      'prune',
      PRUNE_ENTRY,
      {
        ...common,
        RETENTION_DAILY: String(retention.daily),
        RETENTION_MONTHLY: String(retention.monthly),
        MAX_DELETIONS_PER_RUN: String(retention.maxDeletionsPerRun),
        DRY_RUN: String(retention.dryRun),
        BACKUP_BUCKET: p.bucket.bucketName,
      },
      wiring,
    );
    const rpoMonitor = createBackupFunction(
      this,
      'rpoMonitor',
      RPO_MONITOR_ENTRY,
      { ...common, RPO_TARGET_MINUTES: String(p.rpoTargetMinutes) },
      wiring,
    );
    const all: Record<BackupFunctionName, BackupFunction> = { snapshot, artifacts, prune, rpoMonitor };
    const pick = <T>(f: (b: BackupFunction) => T) =>
      Object.fromEntries(Object.entries(all).map(([name, b]) => [name, f(b)])) as Record<
        BackupFunctionName,
        T
      >;
    this.functions = pick((b) => b.fn);
    this.roles = pick((b) => b.role);
    this.logGroups = pick((b) => b.logGroup);

    const snapshotGrant: SnapshotGrantProps = {
      grants,
      sourceRegion: p.sourceRegion,
      copyRegion: p.copyRegion,
      copyKmsKeyArn: p.copyKmsKeyArn,
      ...(p.copyAccountId !== undefined ? { copyAccountId: p.copyAccountId } : {}),
      exportToS3: p.exportToS3,
      exportRole: this.exportRole,
      bucketKey: p.bucketKey,
    };
    grantSnapshot(snapshot.role, snapshotGrant);
    grantArtifacts(artifacts.role, p.bucket, p.bucketKey);
    grantPrune(prune.role, grants, p.bucket, p.bucketKey);
    grantRpoMonitor(rpoMonitor.role, grants, this.stateTable, this.key, p.sourceRegion);
    acknowledgeSnapshotRole(snapshot.role, snapshotGrant);
    acknowledgePruneRole(prune.role, grants, p.bucket);
    acknowledgeRpoMonitorRole(rpoMonitor.role, grants);
    acknowledgeArtifactsRole(artifacts.role, p.bucket);
    acknowledgeExportRole(this.exportRole, p.bucket);

    const backupSchedules = createBackupSchedules(
      this,
      this.functions,
      schedules,
      { queue: this.failureQueue, key: this.key },
      grants.managedPrefix,
      account,
    );
    this.schedulerRole = backupSchedules.schedulerRole;
    this.schedules = backupSchedules.schedules;
    this.snapshotCreatedRule = backupSchedules.snapshotCreatedRule;

    this.artifactsUpload = artifactsUpload(this, artifacts.fn, p.artifacts, p.logRetention);
  }
}

function validate(
  p: BackupFunctionsProps & typeof DEFAULTS,
  retention: typeof RETENTION_DEFAULTS,
  schedules: typeof SCHEDULE_DEFAULTS,
): void {
  checkPattern(
    'BackupFunctions.environment',
    p.environment,
    /^[a-z0-9-]{1,32}$/,
    'expected [a-z0-9-], 1-32 characters',
  );
  checkPattern(
    'BackupFunctions.sourceDbInstanceId',
    p.sourceDbInstanceId,
    DB_IDENTIFIER,
    'expected an RDS DB instance identifier',
  );
  checkPattern(
    'BackupFunctions.sourceRegion',
    p.sourceRegion,
    REGION,
    'expected an AWS region such as "eu-west-1"',
  );
  checkPattern(
    'BackupFunctions.copyRegion',
    p.copyRegion,
    REGION,
    'expected an AWS region such as "eu-central-1"',
  );
  checkPattern(
    'BackupFunctions.copyKmsKeyArn',
    p.copyKmsKeyArn,
    /^arn:aws[a-z-]*:kms:[a-z0-9-]+:[^:]+:(key|alias)\/.+$/,
    'expected a KMS key or alias ARN',
  );
  const copyArnRegion = /^arn:[^:]+:kms:([a-z0-9-]+):/.exec(p.copyKmsKeyArn)?.[1];
  if (copyArnRegion !== undefined && copyArnRegion !== p.copyRegion) {
    throw new InputError(
      'BackupFunctions.copyKmsKeyArn',
      p.copyKmsKeyArn,
      `expected a key in copyRegion ${p.copyRegion} (RDS encrypts a copy with a key of the copy's region)`,
    );
  }
  if (p.copyAccountId !== undefined) {
    checkPattern(
      'BackupFunctions.copyAccountId',
      p.copyAccountId,
      /^\d{12}$/,
      'expected a 12-digit AWS account id',
    );
  }
  if (p.sourceRegion === p.copyRegion && p.copyAccountId === undefined) {
    throw new InputError(
      'BackupFunctions.copyRegion',
      p.copyRegion,
      'expected a region other than sourceRegion (or a copyAccountId): a copy beside the original is not isolated',
    );
  }
  checkInteger('BackupFunctions.retention.daily', retention.daily, 1, 3650);
  checkInteger('BackupFunctions.retention.monthly', retention.monthly, 0, 1200);
  checkInteger('BackupFunctions.retention.maxDeletionsPerRun', retention.maxDeletionsPerRun, 0, 1000);
  checkNumber('BackupFunctions.rpoTargetMinutes', p.rpoTargetMinutes, 0, 24 * 60);
  for (const key of ['snapshot', 'rpoCheck', 'prune'] as const) {
    const problem = scheduleExpressionProblem(schedules[key]);
    if (problem) {
      throw new InputError(
        `BackupFunctions.schedules.${key}`,
        schedules[key],
        `expected an EventBridge schedule expression: ${problem}`,
      );
    }
  }
  if (!isTimeZone(schedules.timezone)) {
    throw new InputError(
      'BackupFunctions.schedules.timezone',
      schedules.timezone,
      'expected an IANA time zone such as "UTC" or "Europe/Zurich"',
    );
  }
}

function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}
