/**
 * `Heartbeat` (deployed only with `heartbeat.mode: "function"`): a scheduled function in the
 * source's own network that writes one row a minute into `<schema>.heartbeat` as a role that may
 * only insert and trim. After a restore the newest beat at or before T proves, by data, how much
 * the copy holds. The subnets and security groups are imported by id (synth stays offline); the
 * role may read that one secret and nothing else of Secrets Manager.
 *
 * A failed beat throws and is counted: an alarm tells on-call once when beats keep failing and
 * once when they resume. Nothing publishes per failure, and a failed beat is not retried (the
 * next one a minute later is the retry).
 */
import { Arn, ArnFormat, Aws, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import {
  type Config,
  ConfigError,
  type ConfigProblem,
  checkConfigSections,
} from '../functions/core/config.ts';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../functions/core/contracts.ts';
import { functionLogsAndRole, PROJECT_ROOT, projectFunction, vpcAttachStatement } from './function.ts';
import { withDefaults } from './props.ts';
import { settingsEnvironment } from './settings.ts';

/** The sections of the configuration the heartbeat runs with (encoded into its settings). */
export const HEARTBEAT_SECTIONS = ['environment', 'source', 'heartbeat', 'schedules'] as const;

export interface HeartbeatProps {
  /**
   * The validated configuration, or the sections of it named in {@link HEARTBEAT_SECTIONS}:
   * `heartbeat.secretName` (the role's secret, by name: the role may read `<name>-??????`; or by
   * full ARN), `source.network` (where the function runs), `heartbeat.schedule`/`retentionDays`/
   * `schema`, and `schedules.timezone`.
   */
  readonly config: Pick<Config, (typeof HEARTBEAT_SECTIONS)[number]>;
  /** Role EventBridge Scheduler assumes (the backup functions' one): allowed to invoke this function. */
  readonly schedulerRole: iam.IRole;
  /** Undeliverable scheduled invocations go here (the backup functions' failure queue). */
  readonly failureQueueArn: string;
  /** The alarm notifies here, on ALARM and again on OK. */
  readonly topic: sns.ITopic;
  /**
   * Retention of the function's log group (one line a minute).
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Folder with `package-lock.json` and `functions/heartbeat.ts`.
   * @default PROJECT_ROOT - this repository
   */
  readonly projectRoot?: string;
}

/** What the construct decides itself (the configuration's defaults live in its schema). */
const DEFAULTS = {
  logRetention: logs.RetentionDays.ONE_MONTH,
  projectRoot: PROJECT_ROOT,
};

/** Failed beats in a row (5-minute periods with an error) before the alarm tells on-call. */
export const HEARTBEAT_FAILING_PERIODS = 3;

/** The heartbeat function, its schedule, its role and its alarm. */
export class Heartbeat extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
  readonly schedule: scheduler.CfnSchedule;
  /** Beats keep failing: the drill's data-proven bound is going stale. */
  readonly alarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: HeartbeatProps) {
    super(scope, id);
    const p = withDefaults(DEFAULTS, props);
    const { config } = p;
    checkConfigSections(config, HEARTBEAT_SECTIONS);
    const { secretName, schedule } = config.heartbeat;
    const network = config.source.network;
    const missing: ConfigProblem[] = [];
    if (secretName === null)
      missing.push({
        path: 'heartbeat.secretName',
        value: 'null',
        expected: 'the secret of the heartbeat role',
      });
    if (network === null)
      missing.push({
        path: 'source.network',
        value: 'null',
        expected: "{ subnetIds, securityGroupIds } of the source database's network",
      });
    if (secretName === null || network === null) throw new ConfigError(missing);
    const environment = config.environment;
    const sourceDbInstanceId = config.source.dbInstanceIdentifier;

    const description = 'recovery-drill: writes the heartbeat row that proves a restore point by data';
    const { logGroup, role } = functionLogsAndRole(this, 'Function', description, p.logRetention);
    const secretArn = secretResource(this, secretName);
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ReadHeartbeatRoleSecret',
        actions: ['secretsmanager:GetSecretValue'],
        resources: [secretArn],
      }),
    );
    role.addToPolicy(vpcAttachStatement('AttachToSourceSubnets'));
    const fn = projectFunction(this, 'Function', {
      entry: 'functions/heartbeat.ts',
      projectRoot: p.projectRoot,
      description,
      timeout: Duration.seconds(30),
      role,
      logGroup,
      environment: {
        ...settingsEnvironment(this, 'heartbeat', config, {}),
        POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      },
      // The next beat is the retry: a late one proves nothing more and doubles the load.
      retryAttempts: 0,
      maxEventAge: Duration.minutes(1),
    });
    // The subnets and groups are the source's, known by id only: no VPC lookup, so synth stays
    // offline (the L2 wants an IVpc for these; the function itself needs only the ids).
    const cfn = fn.node.defaultChild as lambda.CfnFunction;
    cfn.vpcConfig = {
      subnetIds: [...network.subnetIds],
      securityGroupIds: [...network.securityGroupIds],
    };
    // Lambda checks the ENI permissions of the role when the function is created in a VPC.
    fn.node.addDependency(role);
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'X-Ray (xray:PutTraceSegments/PutTelemetryRecords) and ec2:DescribeNetworkInterfaces accept no resource ARN, and the other ENI actions a function in a VPC needs (ec2:Create/DeleteNetworkInterface, ec2:Assign/UnassignPrivateIpAddresses) act on network interfaces Lambda creates at run time, whose ids no policy can name in advance; no other statement of the heartbeat function is on every resource.',
    });

    props.schedulerRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'InvokeHeartbeat',
        actions: ['lambda:InvokeFunction'],
        resources: [fn.functionArn],
      }),
    );
    this.schedule = new scheduler.CfnSchedule(this, 'Schedule', {
      description: 'recovery-drill: heartbeat, one row a minute in the source',
      scheduleExpression: schedule,
      scheduleExpressionTimezone: config.schedules.timezone,
      flexibleTimeWindow: { mode: 'OFF' },
      state: 'ENABLED',
      target: {
        arn: fn.functionArn,
        roleArn: props.schedulerRole.roleArn,
        input: '{}',
        deadLetterConfig: { arn: p.failureQueueArn },
        retryPolicy: { maximumEventAgeInSeconds: 60, maximumRetryAttempts: 2 },
      },
    });

    this.alarm = new cloudwatch.Alarm(this, 'FailingAlarm', {
      alarmDescription: `recovery-drill ${environment}: heartbeats into ${sourceDbInstanceId} keep failing (${HEARTBEAT_FAILING_PERIODS} periods of 5 minutes with errors). A drill whose target falls in this gap cannot prove its restore point by data and fails RPO_BREACHED. Read the heartbeat function's log: the secret (${secretName}), the role's password and LOGIN, the security groups and the route to Secrets Manager are the usual causes.`,
      metric: fn.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }),
      threshold: 1,
      evaluationPeriods: HEARTBEAT_FAILING_PERIODS,
      datapointsToAlarm: HEARTBEAT_FAILING_PERIODS,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const action = new cloudwatchActions.SnsAction(props.topic);
    this.alarm.addAlarmAction(action);
    this.alarm.addOkAction(action);

    this.function = fn;
    this.role = role;
    this.logGroup = logGroup;
  }
}

/** What the stack lends the heartbeat: the scheduler's role, its dead-letter queue, the topic. */
export interface HeartbeatWiring {
  readonly schedulerRole: iam.IRole;
  readonly failureQueueArn: string;
  readonly topic: sns.ITopic;
  /** @default PROJECT_ROOT */
  readonly projectRoot?: string;
}

/**
 * The heartbeat of the configuration: a `Heartbeat` when `heartbeat.mode` is `function`, else
 * undefined (`none`: drills report the engine's RPO only; `pg_cron`: the database beats itself).
 * @throws ConfigError naming `heartbeat.secretName` or `source.network` when mode `function` lacks
 *   them (parseConfig refuses that already; a hand-built Config is checked here too).
 */
export function configuredHeartbeat(
  scope: Construct,
  id: string,
  config: Pick<Config, (typeof HEARTBEAT_SECTIONS)[number]>,
  wiring: HeartbeatWiring,
): Heartbeat | undefined {
  if (config.heartbeat.mode !== 'function') return undefined;
  return new Heartbeat(scope, id, { config, ...wiring });
}

/** The IAM resource of the secret: a full ARN as given, or the name with Secrets Manager's 6-character suffix. */
function secretResource(scope: Construct, secretName: string): string {
  if (secretName.startsWith('arn:')) return secretName;
  return Arn.format({
    partition: Aws.PARTITION,
    service: 'secretsmanager',
    region: Stack.of(scope).region,
    account: Aws.ACCOUNT_ID,
    resource: 'secret',
    resourceName: `${secretName}-??????`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}
