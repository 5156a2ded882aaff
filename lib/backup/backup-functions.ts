import { fileURLToPath } from 'node:url';
import { Aws, CustomResource, Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventsTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { InputError } from '../functions/core/errors.ts';
import { scheduleExpressionProblem } from '../functions/core/schedule.ts';
import { type AppArtifacts, copyArtifactsCommands } from './artifacts.ts';
import { functionLogsAndRole, projectFunction } from './function.ts';
import { acknowledgeWildcardResource } from './nag.ts';
import { checkInteger, checkNumber, checkPattern, withDefaults } from './props.ts';

/** Tag every snapshot we create or copy carries; the only snapshots we may delete or modify. */
export const MANAGED_TAG_KEY = 'recovery-drill:managed';
export const MANAGED_TAG_VALUE = 'true';

/** Folder holding `package-lock.json` and `functions/`: where the entries are bundled from. */
export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));

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

/** Lambda entries and their names in construct ids (a construct id is a contract: renaming replaces). */
export type BackupFunctionName = 'snapshot' | 'artifacts' | 'prune' | 'rpoMonitor';

const ENTRIES: Record<
  BackupFunctionName,
  { id: string; file: string; timeout: Duration; description: string }
> = {
  snapshot: {
    id: 'Snapshot',
    file: 'functions/snapshot.ts',
    timeout: Duration.minutes(2),
    description: 'recovery-drill: daily snapshot, isolated copy and optional export',
  },
  artifacts: {
    id: 'Artifacts',
    file: 'functions/artifacts.ts',
    timeout: Duration.minutes(2),
    description:
      'recovery-drill: stores the app artifacts (.env.example, Prisma migrations, schema) with checksums',
  },
  prune: {
    id: 'Prune',
    file: 'functions/prune.ts',
    timeout: Duration.minutes(5),
    description: 'recovery-drill: prunes managed snapshots to the daily/monthly retention',
  },
  rpoMonitor: {
    id: 'RpoMonitor',
    file: 'functions/rpo-monitor.ts',
    timeout: Duration.minutes(1),
    description:
      'recovery-drill: escalates when the restorable-time lag or the newest snapshot exceeds the RPO',
  },
};

/** Why each function's role holds `Resource: *` (IAM offers no narrower resource for these actions). */
const STAR_REASONS: Record<BackupFunctionName, string> = {
  snapshot:
    'rds:DescribeAccountAttributes (the manual-snapshot quota warning) and, with exports on, rds:StartExportTask/DescribeExportTasks accept no resource ARN.',
  artifacts: 'Only X-Ray.',
  prune: 'Only X-Ray.',
  rpoMonitor: 'Only X-Ray.',
};

/**
 * Lets a Lambda asynchronous invocation's failure record go to a queue without CDK's grant,
 * which would add `kms:GenerateDataKey*`/`kms:ReEncrypt*` wildcard actions; the role gets the
 * exact actions instead (see `allowSendTo`).
 */
class QueueFailureDestination implements lambda.IDestination {
  constructor(private readonly queue: sqs.IQueue) {}

  bind(): lambda.DestinationConfig {
    return { destination: this.queue.queueArn };
  }
}

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

    const partition = Aws.PARTITION;
    const account = Aws.ACCOUNT_ID;
    const sourceId = p.sourceDbInstanceId;
    const managedPrefix = `rd-${sourceId}-`;
    const regions = [p.sourceRegion, p.copyRegion];
    const dbArns = regions.map((r) => `arn:${partition}:rds:${r}:${account}:db:${sourceId}`);
    const sourceDbArn = `arn:${partition}:rds:${p.sourceRegion}:${account}:db:${sourceId}`;
    const anySnapshotArns = regions.map((r) => `arn:${partition}:rds:${r}:${account}:snapshot:*`);
    const managedSnapshotArns = regions.map(
      (r) => `arn:${partition}:rds:${r}:${account}:snapshot:${managedPrefix}*`,
    );
    const managedSourceSnapshotArn = `arn:${partition}:rds:${p.sourceRegion}:${account}:snapshot:${managedPrefix}*`;
    const managedCopySnapshotArn = `arn:${partition}:rds:${p.copyRegion}:${account}:snapshot:${managedPrefix}*`;
    const requestTagged = { StringEquals: { [`aws:RequestTag/${MANAGED_TAG_KEY}`]: MANAGED_TAG_VALUE } };
    const resourceTagged = { StringEquals: { [`aws:ResourceTag/${MANAGED_TAG_KEY}`]: MANAGED_TAG_VALUE } };

    // --- encryption key, state table, failure queue -------------------------------------------
    this.key = new kms.Key(this, 'Key', {
      description: 'recovery-drill: encrypts the incident state table and the failed-invocation queue',
      enableKeyRotation: true,
      removalPolicy: p.removalPolicy,
    });
    // EventBridge delivers the RDS event rule's dead letters to the encrypted queue itself.
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowEventBridgeDeadLetters',
        principals: [new iam.ServicePrincipal('events.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': account } },
      }),
    );

    this.stateTable = new dynamodb.Table(this, 'StateTable', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: this.key,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: p.removalPolicy,
    });

    this.failureQueue = new sqs.Queue(this, 'FailedInvocations', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: this.key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.failureQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself the dead-letter destination of the backup functions, their schedules and the RDS event rule; an alarm on its depth escalates to the SNS topic, so a queue behind it would only hide failures one level deeper.',
    });
    const alarm = new cloudwatch.Alarm(this, 'FailedInvocationsAlarm', {
      alarmDescription:
        'recovery-drill: a backup function invocation failed for good (see the FailedInvocations queue); check the function logs, then the runbook',
      metric: this.failureQueue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(5),
        statistic: 'Maximum',
      }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(new cloudwatchActions.SnsAction(p.topic));

    // --- RDS export role -------------------------------------------------------------------------
    this.exportRole = new iam.Role(this, 'ExportRole', {
      description: 'recovery-drill: RDS snapshot export writes Parquet under exports/ of the backup bucket',
      assumedBy: new iam.ServicePrincipal('export.rds.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': account } },
      }),
    });
    this.exportRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:PutObject', 's3:GetObject', 's3:DeleteObject'],
        resources: [p.bucket.arnForObjects('exports/*')],
      }),
    );
    this.exportRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['s3:ListBucket', 's3:GetBucketLocation'],
        resources: [p.bucket.bucketArn],
      }),
    );
    this.exportRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [p.bucketKey.keyArn],
      }),
    );

    // --- functions ---------------------------------------------------------------------------------
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
    const environments: Record<BackupFunctionName, Record<string, string>> = {
      snapshot: {
        ...common,
        COPY_KMS_KEY_ID: p.copyKmsKeyArn,
        COPY_ACCOUNT_ID: p.copyAccountId ?? '',
        EXPORT_ENABLED: String(p.exportToS3),
        BACKUP_BUCKET: p.bucket.bucketName,
        EXPORT_ROLE_ARN: this.exportRole.roleArn,
        EXPORT_KMS_KEY_ID: p.bucketKey.keyArn,
        ARTIFACTS_VERSION: p.artifacts.version,
      },
      artifacts: { ...common, BACKUP_BUCKET: p.bucket.bucketName, ARTIFACTS_VERSION: p.artifacts.version },
      prune: {
        ...common,
        RETENTION_DAILY: String(retention.daily),
        RETENTION_MONTHLY: String(retention.monthly),
        MAX_DELETIONS_PER_RUN: String(retention.maxDeletionsPerRun),
        DRY_RUN: String(retention.dryRun),
        BACKUP_BUCKET: p.bucket.bucketName,
      },
      rpoMonitor: { ...common, RPO_TARGET_MINUTES: String(p.rpoTargetMinutes) },
    };

    const functions = {} as Record<BackupFunctionName, nodejs.NodejsFunction>;
    const roles = {} as Record<BackupFunctionName, iam.Role>;
    const logGroups = {} as Record<BackupFunctionName, logs.LogGroup>;
    for (const name of Object.keys(ENTRIES) as BackupFunctionName[]) {
      const entry = ENTRIES[name];
      const { logGroup, role } = functionLogsAndRole(this, entry.id, entry.description, p.logRetention);
      allowSendTo(role, this.failureQueue, this.key, 'ReportFailedInvocation');
      role.addToPolicy(
        new iam.PolicyStatement({ sid: 'Escalate', actions: ['sns:Publish'], resources: [p.topic.topicArn] }),
      );
      if (p.topicKey) {
        role.addToPolicy(
          new iam.PolicyStatement({
            sid: 'EscalateEncrypted',
            actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
            resources: [p.topicKey.keyArn],
          }),
        );
      }
      const fn = projectFunction(this, entry.id, {
        entry: entry.file,
        projectRoot: p.projectRoot,
        description: entry.description,
        timeout: entry.timeout,
        role,
        logGroup,
        environment: environments[name],
        onFailure: new QueueFailureDestination(this.failureQueue),
        retryAttempts: 2,
        maxEventAge: Duration.hours(6),
        afterBundling:
          name === 'artifacts' ? (outputDir) => copyArtifactsCommands(p.artifacts, outputDir) : undefined,
      });
      // Lambda checks the on-failure destination against the role's policy when it is configured.
      fn.node.addDependency(role);
      functions[name] = fn;
      roles[name] = role;
      logGroups[name] = logGroup;
      Validations.of(role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason: `${STAR_REASONS[name]} X-Ray tracing of the ${name} function: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions.`,
      });
    }
    this.functions = functions;
    this.roles = roles;
    this.logGroups = logGroups;

    // --- snapshot: create, tag on create, copy, share, export ---------------------------------
    const snapshotRole = roles.snapshot;
    snapshotRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'CreateTaggedSnapshotOfSource',
        actions: ['rds:CreateDBSnapshot'],
        resources: [sourceDbArn, managedSourceSnapshotArn],
        conditions: requestTagged,
      }),
    );
    snapshotRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'CopyTaggedSnapshotToIsolation',
        actions: ['rds:CopyDBSnapshot'],
        resources: [managedSourceSnapshotArn, managedCopySnapshotArn],
        conditions: requestTagged,
      }),
    );
    snapshotRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'TagOnCreate',
        actions: ['rds:AddTagsToResource'],
        resources: managedSnapshotArns,
        conditions: requestTagged,
      }),
    );
    snapshotRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ReadSnapshots',
        actions: ['rds:DescribeDBSnapshots'],
        resources: [...dbArns, ...anySnapshotArns],
      }),
    );
    snapshotRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ReadSource',
        actions: ['rds:DescribeDBInstances'],
        resources: [sourceDbArn],
      }),
    );
    snapshotRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ReadTagsOfManagedSnapshots',
        actions: ['rds:ListTagsForResource'],
        resources: managedSnapshotArns,
      }),
    );
    snapshotRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ReadSnapshotQuota',
        actions: ['rds:DescribeAccountAttributes'],
        resources: ['*'],
      }),
    );
    // The copy key: its alias is all the source region knows (no cross-region references).
    const copyKey = copyKeyResource(p.copyKmsKeyArn, p.copyRegion);
    snapshotRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'EncryptCopyWithIsolationKey',
        actions: ['kms:CreateGrant', 'kms:DescribeKey'],
        resources: [copyKey.resource],
        ...(copyKey.conditions ? { conditions: copyKey.conditions } : {}),
      }),
    );
    // The source instance's key is not known to the stack; RDS uses it on our behalf only.
    snapshotRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ReadSourceSnapshotKeyThroughRds',
        actions: ['kms:CreateGrant', 'kms:DescribeKey'],
        resources: [`arn:${partition}:kms:${p.sourceRegion}:${account}:key/*`],
        conditions: { StringLike: { 'kms:ViaService': 'rds.*.amazonaws.com' } },
      }),
    );
    if (p.copyAccountId !== undefined) {
      snapshotRole.addToPolicy(
        new iam.PolicyStatement({
          sid: 'ReadSharingOfManagedCopies',
          actions: ['rds:DescribeDBSnapshotAttributes'],
          resources: [managedCopySnapshotArn],
        }),
      );
      snapshotRole.addToPolicy(
        new iam.PolicyStatement({
          sid: 'ShareManagedCopyWithIsolationAccount',
          actions: ['rds:ModifyDBSnapshotAttribute'],
          resources: [managedCopySnapshotArn],
          conditions: resourceTagged,
        }),
      );
    }
    if (p.exportToS3) {
      snapshotRole.addToPolicy(
        new iam.PolicyStatement({
          sid: 'ExportSnapshotToBucket',
          actions: ['rds:StartExportTask', 'rds:DescribeExportTasks'],
          resources: ['*'],
        }),
      );
      snapshotRole.addToPolicy(
        new iam.PolicyStatement({
          sid: 'PassExportRole',
          actions: ['iam:PassRole'],
          resources: [this.exportRole.roleArn],
          conditions: { StringEquals: { 'iam:PassedToService': 'export.rds.amazonaws.com' } },
        }),
      );
      snapshotRole.addToPolicy(
        new iam.PolicyStatement({
          sid: 'EncryptExport',
          actions: ['kms:CreateGrant', 'kms:DescribeKey'],
          resources: [p.bucketKey.keyArn],
        }),
      );
    }

    // --- artifacts: write artifacts/ of the backup bucket -------------------------------------
    roles.artifacts.addToPolicy(
      new iam.PolicyStatement({
        sid: 'StoreArtifacts',
        actions: ['s3:PutObject', 's3:GetObject'],
        resources: [p.bucket.arnForObjects('artifacts/*')],
      }),
    );
    roles.artifacts.addToPolicy(
      new iam.PolicyStatement({
        // HeadObject answers 404 for a missing manifest only to a caller that may list the
        // bucket; without it S3 answers 403 and the idempotency check would fail.
        sid: 'FindStoredArtifacts',
        actions: ['s3:ListBucket'],
        resources: [p.bucket.bucketArn],
      }),
    );
    roles.artifacts.addToPolicy(
      new iam.PolicyStatement({
        sid: 'EncryptArtifacts',
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [p.bucketKey.keyArn],
      }),
    );

    // --- prune: list both regions, delete only managed snapshots, write the plan ---------------
    roles.prune.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ListSnapshots',
        actions: ['rds:DescribeDBSnapshots'],
        resources: [...dbArns, ...anySnapshotArns],
      }),
    );
    roles.prune.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ReadTagsOfManagedSnapshots',
        actions: ['rds:ListTagsForResource'],
        resources: managedSnapshotArns,
      }),
    );
    roles.prune.addToPolicy(
      new iam.PolicyStatement({
        sid: 'DeleteOnlyManagedSnapshots',
        actions: ['rds:DeleteDBSnapshot'],
        resources: managedSnapshotArns,
        conditions: resourceTagged,
      }),
    );
    roles.prune.addToPolicy(
      new iam.PolicyStatement({
        sid: 'WritePrunePlans',
        actions: ['s3:PutObject'],
        resources: [p.bucket.arnForObjects('prune/*')],
      }),
    );
    roles.prune.addToPolicy(
      new iam.PolicyStatement({
        sid: 'EncryptPrunePlans',
        actions: ['kms:GenerateDataKey'],
        resources: [p.bucketKey.keyArn],
      }),
    );

    // --- RPO monitor: read restorable time and snapshots, remember incidents -------------------
    roles.rpoMonitor.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ReadRestorableTime',
        actions: ['rds:DescribeDBInstances'],
        resources: [sourceDbArn],
      }),
    );
    roles.rpoMonitor.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ReadSnapshots',
        actions: ['rds:DescribeDBSnapshots'],
        resources: [...dbArns, ...anySnapshotArns],
      }),
    );
    roles.rpoMonitor.addToPolicy(
      new iam.PolicyStatement({
        sid: 'RememberIncidents',
        actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
        resources: [this.stateTable.tableArn],
      }),
    );
    roles.rpoMonitor.addToPolicy(
      new iam.PolicyStatement({
        sid: 'RememberIncidentsEncrypted',
        actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'],
        resources: [this.key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${p.sourceRegion}.amazonaws.com` } },
      }),
    );

    // --- why each remaining wildcard resource cannot be narrower -------------------------------
    for (const arn of managedSnapshotArns) {
      for (const role of [roles.snapshot, roles.prune]) {
        acknowledgeWildcardResource(
          role,
          arn,
          `Managed snapshot ids are ${managedPrefix}<YYYY-MM-DD>, the date varies; creating and copying also require the ${MANAGED_TAG_KEY}=true tag on the request, deleting and sharing require it on the snapshot.`,
        );
      }
    }
    for (const arn of anySnapshotArns) {
      for (const role of [roles.snapshot, roles.prune, roles.rpoMonitor]) {
        acknowledgeWildcardResource(
          role,
          arn,
          'rds:DescribeDBSnapshots only: finding the newest snapshot and listing for retention happen before any snapshot id is known; read-only.',
        );
      }
    }
    if (copyKey.conditions) {
      acknowledgeWildcardResource(
        roles.snapshot,
        copyKey.resource,
        `The copy key is known to this region only by its alias (it lives in ${p.copyRegion}); kms:ResourceAliases limits the statement to that one key.`,
      );
    }
    acknowledgeWildcardResource(
      roles.snapshot,
      `arn:${partition}:kms:${p.sourceRegion}:${account}:key/*`,
      "The source instance's key is not known to the stack; kms:ViaService limits its use to RDS copying the source snapshot for this function.",
    );
    acknowledgeWildcardResource(
      roles.artifacts,
      p.bucket.arnForObjects('artifacts/*'),
      'Artifact keys are artifacts/<version>/<path of each migration>, known only at run time; limited to the artifacts/ prefix.',
    );
    acknowledgeWildcardResource(
      roles.prune,
      p.bucket.arnForObjects('prune/*'),
      'One plan per run at prune/<ISO time>.json for the audit trail; limited to the prune/ prefix, write only.',
    );
    acknowledgeWildcardResource(
      this.exportRole,
      p.bucket.arnForObjects('exports/*'),
      'RDS names the files of each export task itself; the export role is limited to the exports/ prefix.',
    );

    // --- schedules -----------------------------------------------------------------------------
    this.schedulerRole = new iam.Role(this, 'SchedulerRole', {
      description: 'recovery-drill: EventBridge Scheduler invokes the backup functions',
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': account } },
      }),
    });
    this.schedulerRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'InvokeBackupFunctions',
        actions: ['lambda:InvokeFunction'],
        resources: [functions.snapshot, functions.artifacts, functions.prune, functions.rpoMonitor].map(
          (fn) => fn.functionArn,
        ),
      }),
    );
    allowSendTo(this.schedulerRole, this.failureQueue, this.key, 'DeadLetterUndeliveredInvocations');
    const schedule = (scheduleId: string, expression: string, fn: lambda.IFunction, description: string) =>
      new scheduler.CfnSchedule(this, scheduleId, {
        description,
        scheduleExpression: expression,
        scheduleExpressionTimezone: schedules.timezone,
        flexibleTimeWindow: { mode: 'OFF' },
        state: 'ENABLED',
        target: {
          arn: fn.functionArn,
          roleArn: this.schedulerRole.roleArn,
          input: '{}',
          deadLetterConfig: { arn: this.failureQueue.queueArn },
          retryPolicy: { maximumEventAgeInSeconds: 3600, maximumRetryAttempts: 3 },
        },
      });
    this.schedules = {
      snapshot: schedule(
        'SnapshotSchedule',
        schedules.snapshot,
        functions.snapshot,
        'recovery-drill: daily snapshot',
      ),
      artifacts: schedule(
        'ArtifactsSchedule',
        schedules.snapshot,
        functions.artifacts,
        'recovery-drill: daily artifact capture, with the snapshot',
      ),
      prune: schedule('PruneSchedule', schedules.prune, functions.prune, 'recovery-drill: retention pruning'),
      rpoCheck: schedule(
        'RpoCheckSchedule',
        schedules.rpoCheck,
        functions.rpoMonitor,
        'recovery-drill: RPO monitor',
      ),
    };

    // --- RDS event: a managed snapshot finished, copy it now rather than at the next run ---------
    this.snapshotCreatedRule = new events.Rule(this, 'SnapshotCreatedRule', {
      description: 'recovery-drill: a managed manual snapshot of the source finished; copy it to isolation',
      eventPattern: {
        source: ['aws.rds'],
        detailType: ['RDS DB Snapshot Event'],
        detail: {
          SourceIdentifier: [{ prefix: managedPrefix }],
          EventID: ['RDS-EVENT-0042'],
        },
      },
    });
    this.snapshotCreatedRule.addTarget(
      new eventsTargets.LambdaFunction(functions.snapshot, {
        deadLetterQueue: this.failureQueue,
        retryAttempts: 3,
        maxEventAge: Duration.hours(2),
      }),
    );

    // --- artifacts on every deployment whose artifacts changed -----------------------------------
    const providerLogs = new logs.LogGroup(this, 'ArtifactsProviderLogs', {
      retention: p.logRetention,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    const providerRole = new iam.Role(this, 'ArtifactsProviderRole', {
      description: 'recovery-drill: CloudFormation custom resource framework for the artifacts upload',
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
    });
    providerRole.addToPolicy(
      new iam.PolicyStatement({
        sid: 'WriteOwnLogs',
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [providerLogs.logGroupArn],
      }),
    );
    const provider = new cr.Provider(this, 'ArtifactsProvider', {
      onEventHandler: functions.artifacts,
      logGroup: providerLogs,
      frameworkOnEventRole: providerRole,
    });
    acknowledgeWildcardResource(
      providerRole,
      `${functions.artifacts.functionArn}:*`,
      'The custom resource framework (aws-cdk-lib Provider) grants itself invoke on the artifacts function and its versions; it invokes nothing else.',
    );
    Validations.of(provider).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'The custom resource framework function runtime is chosen by aws-cdk-lib (determineLatestNodeRuntime) and cannot be set by the caller.',
    });
    this.artifactsUpload = new CustomResource(this, 'ArtifactsUpload', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::RecoveryDrillArtifacts',
      properties: { version: p.artifacts.version, files: p.artifacts.manifest.length },
    });
  }
}

/** Lets a role (a function's, the scheduler's) put a message on the encrypted failure queue, exactly. */
function allowSendTo(role: iam.Role, queue: sqs.IQueue, key: kms.IKey, sid: string): void {
  role.addToPolicy(
    new iam.PolicyStatement({ sid, actions: ['sqs:SendMessage'], resources: [queue.queueArn] }),
  );
  role.addToPolicy(
    new iam.PolicyStatement({
      sid: `${sid}Encrypted`,
      actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
      resources: [key.keyArn],
    }),
  );
}

/** IAM resource (and condition) for the copy key, which may be given as a key ARN or an alias ARN. */
function copyKeyResource(
  arn: string,
  region: string,
): { resource: string; conditions?: Record<string, Record<string, string>> } {
  const alias = /^arn:[^:]+:kms:[^:]*:[^:]*:(alias\/.+)$/.exec(arn);
  if (!alias) return { resource: arn };
  // IAM evaluates a key's permissions on the key ARN, never the alias ARN: match by alias instead.
  return {
    resource: `arn:${Aws.PARTITION}:kms:${region}:${Aws.ACCOUNT_ID}:key/*`,
    conditions: { 'ForAnyValue:StringEquals': { 'kms:ResourceAliases': alias[1] ?? '' } },
  };
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
