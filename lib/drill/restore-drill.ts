/**
 * The restore drill in AWS: a private network for the drill instance and the app, the drill-owned
 * secret, the app's ECS task (migrate and serve), the drill's Lambda functions, the state machine,
 * and the quarterly schedule that starts it.
 */
import { Aws, CfnOutput, Duration, RemovalPolicy, SecretValue, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as rds from 'aws-cdk-lib/aws-rds';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { splitCommand } from '../../functions/core/command.ts';
import type { Config } from '../../functions/core/config.ts';
import { BUNDLED_CONFIG_FILE } from '../../functions/drill/aws/deps.ts';
import { DRILL_ID_TAG } from '../../functions/ports/database-recovery.ts';
import { createDrillFunction, type DrillFunctionSpec } from './drill-function.ts';
import { DEFAULT_STEP_TIMEOUT, DrillStateMachine } from './drill-state-machine.ts';

export interface RestoreDrillProps {
  /** The validated configuration; bundled beside each drill function. */
  readonly config: Config;
  readonly bucket: s3.IBucket;
  readonly bucketKey: kms.IKey;
  readonly topic: sns.ITopic;
  readonly topicKey?: kms.IKey;
  /** Encrypts the drill secret and the drill's log groups. */
  readonly key: kms.IKey;
  /** Folder with `package-lock.json` and `functions/`. */
  readonly projectRoot: string;
  /**
   * Retention of every log group of the drill.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;
  /** Queue for failed asynchronous invocations of the start function. */
  readonly failureQueueArn?: string;
}

const POSTGRES_PORT = 5432;

export class RestoreDrill extends Construct {
  readonly vpc: ec2.IVpc;
  readonly stateMachine: DrillStateMachine;
  readonly functions: Readonly<Record<'control' | 'checks' | 'reporting' | 'start', lambda.Function>>;
  readonly drillSecret: secretsmanager.Secret;
  readonly cluster: ecs.Cluster;
  readonly appTask: ecs.FargateTaskDefinition;

  constructor(scope: Construct, id: string, props: RestoreDrillProps) {
    super(scope, id);
    const { config } = props;
    const image = config.app.image;
    if (image === null) {
      throw new Error(
        'app.image: the drill runs the app\'s migrate command and the app itself from its container image; set app.image (e.g. "123456789012.dkr.ecr.eu-west-1.amazonaws.com/bt-cts-api:1.4.2")',
      );
    }
    const retention = props.logRetention ?? logs.RetentionDays.ONE_YEAR;
    const partition = Aws.PARTITION;
    const account = Aws.ACCOUNT_ID;
    const region = config.source.region;
    const prefix = config.drill.instancePrefix;

    // --- network --------------------------------------------------------------------------------
    const network = config.drill.network;
    if (network) {
      this.vpc = ec2.Vpc.fromVpcAttributes(this, 'Vpc', {
        vpcId: network.vpcId,
        availabilityZones: network.availabilityZones,
        isolatedSubnetIds: network.subnetIds,
      });
    } else {
      const vpc = new ec2.Vpc(this, 'Vpc', {
        maxAzs: 2,
        natGateways: 0,
        subnetConfiguration: [{ name: 'drill', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 }],
        flowLogs: {
          rejected: {
            destination: ec2.FlowLogDestination.toCloudWatchLogs(
              new logs.LogGroup(this, 'FlowLogs', { retention, removalPolicy: RemovalPolicy.RETAIN }),
            ),
            trafficType: ec2.FlowLogTrafficType.REJECT,
          },
        },
      });
      // No internet: the tasks and the checks function reach AWS through endpoints only.
      vpc.addGatewayEndpoint('S3', { service: ec2.GatewayVpcEndpointAwsService.S3 });
      for (const [name, service] of [
        ['SecretsManager', ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER],
        ['Ecr', ec2.InterfaceVpcEndpointAwsService.ECR],
        ['EcrDocker', ec2.InterfaceVpcEndpointAwsService.ECR_DOCKER],
        ['Logs', ec2.InterfaceVpcEndpointAwsService.CLOUDWATCH_LOGS],
        ['Rds', ec2.InterfaceVpcEndpointAwsService.RDS],
      ] as const) {
        vpc.addInterfaceEndpoint(name, { service, privateDnsEnabled: true });
      }
      this.vpc = vpc;
    }
    const subnets: ec2.SubnetSelection = { subnetType: ec2.SubnetType.PRIVATE_ISOLATED };

    const dbSg = new ec2.SecurityGroup(this, 'DatabaseSg', {
      vpc: this.vpc,
      description:
        'recovery-drill: the restored drill instance (PostgreSQL from the app and the checks only)',
      allowAllOutbound: false,
    });
    const appSg = new ec2.SecurityGroup(this, 'AppSg', {
      vpc: this.vpc,
      description: 'recovery-drill: the app and migrate tasks (to the drill database and AWS endpoints)',
      allowAllOutbound: false,
    });
    const checksSg = new ec2.SecurityGroup(this, 'ChecksSg', {
      vpc: this.vpc,
      description: 'recovery-drill: the checks function (to the drill database, the app and AWS endpoints)',
      allowAllOutbound: false,
    });
    dbSg.addIngressRule(appSg, ec2.Port.tcp(POSTGRES_PORT), 'app and migrate tasks');
    dbSg.addIngressRule(checksSg, ec2.Port.tcp(POSTGRES_PORT), 'drift and integrity checks');
    appSg.addIngressRule(checksSg, ec2.Port.tcp(config.app.port), 'smoke checks');
    appSg.addEgressRule(dbSg, ec2.Port.tcp(POSTGRES_PORT), 'the drill database');
    checksSg.addEgressRule(dbSg, ec2.Port.tcp(POSTGRES_PORT), 'the drill database');
    checksSg.addEgressRule(appSg, ec2.Port.tcp(config.app.port), 'the app under test');
    for (const sg of [appSg, checksSg]) {
      // The subnets have no route to the internet: HTTPS reaches only the VPC endpoints.
      sg.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(443), 'AWS APIs through the VPC endpoints');
    }

    const subnetGroup = new rds.SubnetGroup(this, 'DatabaseSubnets', {
      vpc: this.vpc,
      vpcSubnets: subnets,
      description: 'recovery-drill: isolated subnets the drill instance is restored into',
      removalPolicy: RemovalPolicy.DESTROY,
    });

    // --- the drill secret: written per drill, blanked at cleanup ------------------------------
    this.drillSecret = new secretsmanager.Secret(this, 'DrillSecret', {
      description: 'recovery-drill: connection of the running drill database (blank between drills)',
      encryptionKey: props.key,
      secretStringValue: SecretValue.unsafePlainText('{"cleared":true}'),
    });
    Validations.of(this.drillSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The drill secret holds the credentials of a short-lived drill instance; every drill overwrites it and cleanup blanks it, so there is nothing long-lived to rotate.',
    });

    // --- the app's task: migrate (command override) and serve ---------------------------------
    this.cluster = new ecs.Cluster(this, 'Cluster', {
      vpc: this.vpc,
      containerInsightsV2: ecs.ContainerInsights.ENABLED,
    });
    const taskLogs = new logs.LogGroup(this, 'AppTaskLogs', {
      retention,
      encryptionKey: props.key,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.appTask = new ecs.FargateTaskDefinition(this, 'AppTask', { cpu: 512, memoryLimitMiB: 1024 });
    const container = this.appTask.addContainer('app', {
      image: ecs.ContainerImage.fromRegistry(image),
      essential: true,
      portMappings: [{ containerPort: config.app.port }],
      environment: { PORT: String(config.app.port) },
      secrets: { DATABASE_URL: ecs.Secret.fromSecretsManager(this.drillSecret, 'DATABASE_URL') },
      logging: ecs.LogDrivers.awsLogs({ streamPrefix: 'drill', logGroup: taskLogs }),
    });

    // --- functions ----------------------------------------------------------------------------------
    const configDocument = JSON.stringify(config);
    const make = (spec: DrillFunctionSpec) =>
      createDrillFunction(this, spec, {
        projectRoot: props.projectRoot,
        logRetention: retention,
        logKey: props.key,
        bundledFiles: { [BUNDLED_CONFIG_FILE]: configDocument },
      });
    const environment = {
      BACKUP_BUCKET: props.bucket.bucketName,
      TOPIC_ARN: props.topic.topicArn,
      DRILL_SECRET_ARN: this.drillSecret.secretArn,
      DRILL_DB_SUBNET_GROUP: subnetGroup.subnetGroupName,
      DRILL_DB_SECURITY_GROUP_IDS: dbSg.securityGroupId,
      ECS_CLUSTER_ARN: this.cluster.clusterArn,
      APP_TASK_DEFINITION_ARN: this.appTask.taskDefinitionArn,
      APP_SUBNET_IDS: this.vpc.isolatedSubnets.map((s) => s.subnetId).join(','),
      APP_SECURITY_GROUP_IDS: appSg.securityGroupId,
    };
    const stepTimeout = Duration.seconds(Math.min(900, config.smoke.readyBudgetSeconds + 120));
    const control = make({
      id: 'Control',
      entry: 'functions/drill-control.ts',
      description: 'recovery-drill: validate, restore, wait, write the drill secret, start the app, clean up',
      timeout: stepTimeout,
      environment,
    });
    const checks = make({
      id: 'Checks',
      entry: 'functions/drill-checks.ts',
      description:
        'recovery-drill: drift, smoke, integrity and RPO/RTO checks against the drill database and app',
      timeout: stepTimeout,
      environment,
      vpc: { vpc: this.vpc, subnets, securityGroups: [checksSg] },
    });
    const reporting = make({
      id: 'Reporting',
      entry: 'functions/drill-reporting.ts',
      description: 'recovery-drill: writes the drill report to the backup bucket and publishes escalations',
      timeout: Duration.minutes(2),
      environment,
    });

    // control: RDS restore into drill-named, drill-tagged instances only; delete only those.
    const db = (name: string) => `arn:${partition}:rds:${region}:${account}:db:${name}`;
    const drillDbs = db(`${prefix}-*`);
    const requestTagged = { Null: { [`aws:RequestTag/${DRILL_ID_TAG}`]: 'false' } };
    const resourceTagged = { Null: { [`aws:ResourceTag/${DRILL_ID_TAG}`]: 'false' } };
    control.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'DescribeSourceAndDrillInstances',
        actions: ['rds:DescribeDBInstances'],
        resources: [db(config.source.dbInstanceIdentifier), drillDbs],
      }),
    );
    control.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ReadRestorableWindow',
        actions: ['rds:DescribeDBInstanceAutomatedBackups'],
        resources: [
          `arn:${partition}:rds:${region}:${account}:auto-backup:*`,
          db(config.source.dbInstanceIdentifier),
        ],
      }),
    );
    control.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'RestoreIntoTaggedDrillInstance',
        actions: ['rds:RestoreDBInstanceToPointInTime', 'rds:AddTagsToResource'],
        resources: [
          db(config.source.dbInstanceIdentifier),
          drillDbs,
          `arn:${partition}:rds:${region}:${account}:subgrp:${subnetGroup.subnetGroupName}`,
          `arn:${partition}:rds:${region}:${account}:pg:*`,
          `arn:${partition}:rds:${region}:${account}:og:*`,
        ],
        conditions: requestTagged,
      }),
    );
    control.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'DeleteOnlyDrillTaggedInstances',
        actions: ['rds:DeleteDBInstance'],
        resources: [drillDbs],
        conditions: resourceTagged,
      }),
    );
    control.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ReadDrillInstanceMasterSecret',
        actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
        resources: [`arn:${partition}:secretsmanager:${region}:${account}:secret:rds!db-*`],
        conditions: { StringLike: { 'secretsmanager:ResourceTag/aws:rds:primaryDBInstanceArn': drillDbs } },
      }),
    );
    this.drillSecret.grantWrite(control);
    this.drillSecret.grantRead(control);
    control.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'RunAndStopAppTask',
        actions: ['ecs:RunTask'],
        resources: [this.appTask.taskDefinitionArn],
        conditions: { ArnEquals: { 'ecs:cluster': this.cluster.clusterArn } },
      }),
    );
    control.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'FollowAndStopAppTasks',
        actions: ['ecs:DescribeTasks', 'ecs:StopTask', 'ecs:ListTasks'],
        resources: [
          `arn:${partition}:ecs:${region}:${account}:task/${this.cluster.clusterName}/*`,
          `arn:${partition}:ecs:${region}:${account}:container-instance/${this.cluster.clusterName}/*`,
        ],
        conditions: { ArnEquals: { 'ecs:cluster': this.cluster.clusterArn } },
      }),
    );
    control.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'PassAppTaskRoles',
        actions: ['iam:PassRole'],
        resources: [this.appTask.taskRole.roleArn, this.appTask.obtainExecutionRole().roleArn],
      }),
    );

    // checks: the drill secret, the admin password, the captured artifacts, describe drill instances.
    this.drillSecret.grantRead(checks);
    checks.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'DescribeDrillInstances',
        actions: ['rds:DescribeDBInstances'],
        resources: [drillDbs],
      }),
    );
    props.bucket.grantRead(checks, 'artifacts/*');
    if (config.smoke.adminPasswordSecret) {
      const secret = config.smoke.adminPasswordSecret.startsWith('arn:')
        ? secretsmanager.Secret.fromSecretCompleteArn(this, 'AdminPassword', config.smoke.adminPasswordSecret)
        : secretsmanager.Secret.fromSecretNameV2(this, 'AdminPassword', config.smoke.adminPasswordSecret);
      secret.grantRead(checks);
    }

    // reporting: reports in the bucket, escalations to the topic.
    props.bucket.grantPut(reporting, 'reports/*');
    props.bucket.grantRead(reporting, 'reports/*');
    props.topic.grantPublish(reporting);

    // --- the state machine ----------------------------------------------------------------------
    this.stateMachine = new DrillStateMachine(this, 'StateMachine', {
      functions: { control, checks, reporting },
      migrateTask: {
        cluster: this.cluster,
        taskDefinition: this.appTask,
        containerDefinition: container,
        command: splitCommand(config.app.migrateCommand),
        subnets,
        securityGroups: [appSg],
      },
      timeout: Duration.minutes(config.drill.timeoutMinutes),
      stepTimeout:
        stepTimeout.toSeconds() > DEFAULT_STEP_TIMEOUT.toSeconds() ? stepTimeout : DEFAULT_STEP_TIMEOUT,
      logKey: props.key,
      logRetention: retention,
    });

    // --- start: quarterly schedule and by hand ---------------------------------------------------
    const start = make({
      id: 'Start',
      entry: 'functions/drill-start.ts',
      description: 'recovery-drill: validates a drill request and starts the drill (one at a time)',
      timeout: Duration.minutes(1),
      environment: { STATE_MACHINE_ARN: this.stateMachine.stateMachine.stateMachineArn },
    });
    this.stateMachine.stateMachine.grantStartExecution(start);
    start.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'RefuseWhileADrillRuns',
        actions: ['states:ListExecutions'],
        resources: [this.stateMachine.stateMachine.stateMachineArn],
      }),
    );
    start.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ReadRestorableWindow',
        actions: ['rds:DescribeDBInstances', 'rds:DescribeDBInstanceAutomatedBackups'],
        resources: [
          db(config.source.dbInstanceIdentifier),
          `arn:${partition}:rds:${region}:${account}:auto-backup:*`,
        ],
      }),
    );
    const schedulerRole = new iam.Role(this, 'ScheduleRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': account } },
      }),
      description: 'recovery-drill: EventBridge Scheduler starts the quarterly drill',
    });
    start.grantInvoke(schedulerRole);
    new scheduler.CfnSchedule(this, 'QuarterlyDrill', {
      description: 'recovery-drill: the quarterly restore drill (runbook "Quarterly Recovery Drill")',
      scheduleExpression: config.schedules.drill,
      scheduleExpressionTimezone: config.schedules.timezone,
      flexibleTimeWindow: { mode: 'OFF' },
      target: {
        arn: start.functionArn,
        roleArn: schedulerRole.roleArn,
        input: JSON.stringify({ reason: 'quarterly drill (schedule)', requestedBy: 'schedule' }),
        retryPolicy: { maximumRetryAttempts: 2, maximumEventAgeInSeconds: 3600 },
        ...(props.failureQueueArn ? { deadLetterConfig: { arn: props.failureQueueArn } } : {}),
      },
    });

    this.functions = { control, checks, reporting, start };
    new CfnOutput(this, 'DrillStateMachineArn', {
      description: 'Start a drill by hand: recovery-drill start (or aws stepfunctions start-execution)',
      value: this.stateMachine.stateMachine.stateMachineArn,
    });
  }
}
