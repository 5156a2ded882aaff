/**
 * `RecoveryDrillCopyAccountStack`: deployed in `isolation.copyAccountId`, in `isolation.copyRegion`.
 * The source account shares its copies there; this stack's function copies each into a snapshot
 * this account owns, encrypted with this account's key, and keeps them by the same retention
 * planner. Its role is the only one this stack creates with `rds:DeleteDBSnapshot`, limited to
 * the managed ids of this source and to snapshots tagged managed; the source account has no
 * right at all here (RDS snapshots take no resource policy, so no other account can be allowed).
 * Failures are told to this account's own escalation topic: a compromised source account cannot
 * silence them.
 */
import { Aws, Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { type Config, ConfigError } from '../functions/core/config.ts';
import {
  MANAGED_TAG,
  MANAGED_TAG_VALUE,
  METRICS_NAMESPACE,
  managedSnapshotPrefix,
  SERVICE_NAME,
} from '../functions/core/contracts.ts';
import { EscalationTopic } from './escalation-topic.ts';
import { functionLogsAndRole, PROJECT_ROOT, projectFunction } from './function.ts';
import { acknowledgeWildcardResource } from './nag.ts';
import { settingsEnvironment } from './settings.ts';

/** How often the copy account looks for newly shared snapshots (the source copies daily). */
export const COPY_ACCOUNT_SCHEDULE = Duration.hours(6);

/** The sections of the configuration the stack is built from. */
export const COPY_ACCOUNT_SECTIONS = [
  'environment',
  'source',
  'isolation',
  'retention',
  'targets',
  'notifications',
] as const;

export interface RecoveryDrillCopyAccountStackProps extends StackProps {
  /** The validated configuration, or the sections of it named in {@link COPY_ACCOUNT_SECTIONS}. */
  readonly config: Pick<Config, (typeof COPY_ACCOUNT_SECTIONS)[number]>;
  /**
   * Folder with `package-lock.json` and `functions/`.
   * @default - this repository
   */
  readonly projectRoot?: string;
  /**
   * What happens to the key when the stack is deleted.
   * @default RemovalPolicy.RETAIN - the copies encrypted with it would become unreadable
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** The isolation account's copies, key, job and escalation topic. */
export class RecoveryDrillCopyAccountStack extends Stack {
  readonly key: kms.Key;
  readonly fn: nodejs.NodejsFunction;
  readonly role: iam.Role;
  readonly escalation: EscalationTopic;
  readonly schedule: events.Rule;

  constructor(scope: Construct, id: string, props: RecoveryDrillCopyAccountStackProps) {
    super(scope, id, props);
    const { config } = props;
    const { copyAccountId, sourceAccountId, copyRegion } = config.isolation;
    if (copyAccountId === null || sourceAccountId === null) {
      throw new ConfigError([
        {
          path: copyAccountId === null ? 'isolation.copyAccountId' : 'isolation.sourceAccountId',
          value: 'null',
          expected: 'a 12-digit AWS account id: the copy account stack needs both accounts',
        },
      ]);
    }
    const partition = Aws.PARTITION;
    const source = config.source.dbInstanceIdentifier;
    const prefix = managedSnapshotPrefix(source);

    this.key = new kms.Key(this, 'CopyAccountKey', {
      description: `recovery-drill (${config.environment}): encrypts the isolation account's own copies of ${source}'s snapshots`,
      enableKeyRotation: true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    this.escalation = new EscalationTopic(this, 'Escalation', {
      // Emails only: a Slack workspace or a webhook is authorised in the source account.
      config: { notifications: { ...config.notifications, slack: null, webhookUrl: null } },
      slackConfigurationName: `recovery-drill-${config.environment}-isolation`,
    });

    const description =
      'recovery-drill: copies the shared snapshots into snapshots the isolation account owns';
    const { logGroup, role } = functionLogsAndRole(
      this,
      'IsolatedCopies',
      description,
      logs.RetentionDays.ONE_YEAR,
    );
    this.role = role;
    const ownSnapshots = `arn:${partition}:rds:${copyRegion}:${Aws.ACCOUNT_ID}:snapshot:${prefix}*`;
    const sharedSnapshots = `arn:${partition}:rds:${copyRegion}:${sourceAccountId}:snapshot:${prefix}*`;
    const anyOwnSnapshot = `arn:${partition}:rds:${copyRegion}:${Aws.ACCOUNT_ID}:snapshot:*`;
    const sourceAccountKeys = `arn:${partition}:kms:${copyRegion}:${sourceAccountId}:key/*`;
    const requestTagged = { StringEquals: { [`aws:RequestTag/${MANAGED_TAG}`]: MANAGED_TAG_VALUE } };
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ListOwnAndSharedSnapshots',
        actions: ['rds:DescribeDBSnapshots'],
        resources: [anyOwnSnapshot, sharedSnapshots],
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'CopySharedSnapshotIntoOwnTagged',
        actions: ['rds:CopyDBSnapshot'],
        resources: [sharedSnapshots, ownSnapshots],
        conditions: requestTagged,
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'TagOnCreate',
        actions: ['rds:AddTagsToResource'],
        resources: [ownSnapshots],
        conditions: requestTagged,
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'DeleteOnlyOwnManagedCopies',
        actions: ['rds:DeleteDBSnapshot'],
        resources: [ownSnapshots],
        conditions: { StringEquals: { [`aws:ResourceTag/${MANAGED_TAG}`]: MANAGED_TAG_VALUE } },
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'EncryptCopiesWithOwnKey',
        actions: ['kms:CreateGrant', 'kms:DescribeKey'],
        resources: [this.key.keyArn],
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ReadSharedSnapshotKeyThroughRds',
        actions: ['kms:CreateGrant', 'kms:DescribeKey'],
        resources: [sourceAccountKeys],
        conditions: { StringLike: { 'kms:ViaService': 'rds.*.amazonaws.com' } },
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'Escalate',
        actions: ['sns:Publish'],
        resources: [this.escalation.topic.topicArn],
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'EscalateEncrypted',
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [this.escalation.key.keyArn],
      }),
    );
    const managedReason = `Managed snapshot ids are ${prefix}<YYYY-MM-DD>, the date varies; copying and tagging require the ${MANAGED_TAG}=true tag on the request, deleting requires it on the snapshot; limited to this account's own snapshots of this source (and, to read and copy, the ones the source account ${sourceAccountId} shares).`;
    acknowledgeWildcardResource(role, ownSnapshots, managedReason);
    acknowledgeWildcardResource(role, sharedSnapshots, managedReason);
    acknowledgeWildcardResource(
      role,
      anyOwnSnapshot,
      'rds:DescribeDBSnapshots only: listing the own copies for retention happens before any id is known; read-only.',
    );
    acknowledgeWildcardResource(
      role,
      sourceAccountKeys,
      "The source account's copy key is not known to this account; kms:ViaService limits its use to RDS copying a shared snapshot for this function.",
    );
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'X-Ray tracing of the isolated copies function: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions.',
    });

    this.fn = projectFunction(this, 'IsolatedCopies', {
      entry: 'functions/isolated-copies.ts',
      projectRoot: props.projectRoot ?? PROJECT_ROOT,
      description,
      timeout: Duration.minutes(5),
      role,
      logGroup,
      environment: {
        ...settingsEnvironment(this, 'isolatedCopies', config, {
          topicArn: this.escalation.topic.topicArn,
          kmsKeyArn: this.key.keyArn,
        }),
        POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      },
      retryAttempts: 2,
    });
    this.fn.node.addDependency(role);

    this.schedule = new events.Rule(this, 'Schedule', {
      description: 'recovery-drill: look for newly shared snapshots to copy',
      schedule: events.Schedule.rate(COPY_ACCOUNT_SCHEDULE),
      targets: [new targets.LambdaFunction(this.fn, { retryAttempts: 2 })],
    });

    const alarm = new cloudwatch.Alarm(this, 'IsolatedCopiesErrorsAlarm', {
      alarmDescription: `recovery-drill ${config.environment}: the isolation account's copy function failed. Read its log group and the BACKUP_FAILED escalation on this account's topic.`,
      metric: this.fn.metricErrors({ period: Duration.hours(1), statistic: 'Sum' }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(new cloudwatchActions.SnsAction(this.escalation.topic));

    // The copy account's own view of freshness: the source account cannot see (or silence) it.
    const staleAfterMinutes = 24 * 60 + config.targets.rpoMinutes;
    const stale = new cloudwatch.Alarm(this, 'NewestIsolatedCopyAgeAlarm', {
      alarmDescription: `recovery-drill ${config.environment}: the isolation account's newest own copy of ${source} is older than a day plus the RPO target (${staleAfterMinutes} min), or the copy function stopped reporting. Check that the source account still shares its copies with this account and the function's log.`,
      metric: new cloudwatch.Metric({
        namespace: METRICS_NAMESPACE,
        metricName: 'NewestSnapshotAgeMinutes',
        dimensionsMap: {
          service: SERVICE_NAME,
          environment: config.environment,
          location: 'isolation-account',
          region: copyRegion,
        },
        statistic: 'Maximum',
        period: COPY_ACCOUNT_SCHEDULE,
      }),
      threshold: staleAfterMinutes,
      evaluationPeriods: 2,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    stale.addAlarmAction(new cloudwatchActions.SnsAction(this.escalation.topic));
    stale.addOkAction(new cloudwatchActions.SnsAction(this.escalation.topic));
  }
}
