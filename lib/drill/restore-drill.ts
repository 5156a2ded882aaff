/**
 * The restore drill in AWS: a private network for the drill instance and the app, the drill-owned
 * secret, the app's ECS task (migrate and serve), the drill's Lambda functions, the state machine,
 * and the quarterly schedule that starts it.
 */
import { Aws, Duration, RemovalPolicy, SecretValue, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecr from 'aws-cdk-lib/aws-ecr';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
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
import { BUNDLED_CONFIG_FILE } from '../../functions/drill/adapters/aws/deps.ts';
import { DRILL_ID_TAG } from '../../functions/drill/ports/database-recovery.ts';
import { acknowledgeWildcardResource } from '../nag.ts';
import { createDrillFunction, type DrillFunctionSpec } from './drill-function.ts';
import { DEFAULT_STEP_TIMEOUT, DrillStateMachine } from './drill-state-machine.ts';

export interface RestoreDrillProps {
  /** The validated configuration; bundled beside each drill function. */
  readonly config: Config;
  readonly bucket: s3.IBucket;
  readonly bucketKey: kms.IKey;
  readonly topic: sns.ITopic;
  readonly topicKey?: kms.IKey;
  /** Role EventBridge Scheduler assumes (it may already send to the dead-letter queue). */
  readonly schedulerRole: iam.IRole;
  /** Folder with `package-lock.json` and `functions/`. */
  readonly projectRoot: string;
  /**
   * Retention of every log group of the drill.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;
  /** Dead-letter queue of the quarterly schedule (the scheduler role must be able to send to it). */
  readonly failureQueueArn?: string;
}

const POSTGRES_PORT = 5432;

const ECR_IMAGE =
  /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/([^:@]+)(?::([^@]+))?(?:@(.+))?$/;

/** An ECR image gets a pull grant for the task's execution role; any other registry is pulled as is. */
function containerImage(scope: Construct, image: string): ecs.ContainerImage {
  const ecrImage = ECR_IMAGE.exec(image);
  if (!ecrImage) return ecs.ContainerImage.fromRegistry(image);
  const [, account, region, name, tag, digest] = ecrImage;
  const repository = ecr.Repository.fromRepositoryAttributes(scope, 'AppRepository', {
    repositoryName: name as string,
    repositoryArn: `arn:aws:ecr:${region}:${account}:repository/${name}`,
  });
  return ecs.ContainerImage.fromEcrRepository(repository, digest ?? tag ?? 'latest');
}

/** One exact statement on a function's role: no grant helper, so no wildcard action sneaks in. */
function allow(
  fn: lambda.IFunction,
  sid: string,
  actions: string[],
  resources: string[],
  conditions?: Record<string, unknown>,
): void {
  fn.addToRolePolicy(
    new iam.PolicyStatement({ sid, actions, resources, ...(conditions ? { conditions } : {}) }),
  );
}

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
    if (image === null)
      throw new Error('RestoreDrill: config.app.image is required (buildApp checks it first)');
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
      Validations.of(vpc).acknowledge({
        id: 'AwsSolutions-EC23',
        reason:
          "The interface endpoints admit HTTPS from the drill VPC's own CIDR (a token cdk-nag cannot evaluate); the VPC has no internet route.",
      });
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
    for (const sg of [dbSg, appSg, checksSg]) {
      Validations.of(sg).acknowledge({
        id: 'AwsSolutions-EC23',
        reason:
          "cdk-nag cannot evaluate these rules (they name other security groups by reference); every ingress rule of the drill names one of the drill's own security groups, never an address range.",
      });
    }
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
    const key = new kms.Key(this, 'SecretKey', {
      description:
        "recovery-drill: encrypts the drill secret (connection of the running drill database, the smoke checks' login session)",
      enableKeyRotation: true,
    });
    this.drillSecret = new secretsmanager.Secret(this, 'DrillSecret', {
      description:
        "recovery-drill: connection of the running drill database and the smoke checks' login session (blank between drills)",
      encryptionKey: key,
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
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.appTask = new ecs.FargateTaskDefinition(this, 'AppTask', { cpu: 512, memoryLimitMiB: 1024 });
    Validations.of(this.appTask).acknowledge({
      id: 'AwsSolutions-ECS2',
      reason:
        'The only plain environment variable is PORT (the listening port); the connection comes from the drill secret.',
    });
    const container = this.appTask.addContainer('app', {
      image: containerImage(this, image),
      essential: true,
      portMappings: [{ containerPort: config.app.port }],
      environment: { PORT: String(config.app.port) },
      secrets: { DATABASE_URL: ecs.Secret.fromSecretsManager(this.drillSecret, 'DATABASE_URL') },
      logging: ecs.LogDrivers.awsLogs({ streamPrefix: 'drill', logGroup: taskLogs }),
    });

    Validations.of(this.appTask.obtainExecutionRole()).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'ecr:GetAuthorizationToken, which every image pull from ECR needs, accepts no resource ARN; the pull itself is limited to the app repository.',
    });

    // --- functions ----------------------------------------------------------------------------------
    const configDocument = JSON.stringify(config);
    const make = (spec: DrillFunctionSpec) =>
      createDrillFunction(this, spec, {
        projectRoot: props.projectRoot,
        logRetention: retention,
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
    // RDS creates (and deletes) each drill instance's managed master secret on the caller's behalf.
    allow(
      control,
      'ManageDrillInstanceMasterSecret',
      ['secretsmanager:CreateSecret', 'secretsmanager:TagResource', 'secretsmanager:DeleteSecret'],
      [`arn:${partition}:secretsmanager:${region}:${account}:secret:rds!db-*`],
    );
    allow(
      control,
      'WriteAndBlankDrillSecret',
      ['secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue', 'secretsmanager:DescribeSecret'],
      [this.drillSecret.secretArn],
    );
    allow(control, 'EncryptDrillSecret', ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'], [key.keyArn]);
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

    const controlRole = control.role as iam.Role;
    for (const [resource, reason] of [
      [
        drillDbs,
        `Drill instances are named "${prefix}-<drill id>" at run time; deleting them also requires the drill-id tag.`,
      ],
      [
        `arn:${partition}:rds:${region}:${account}:auto-backup:*`,
        'The automated-backup ARN of the source has a generated id; only Describe is allowed on it.',
      ],
      [
        `arn:${partition}:rds:${region}:${account}:pg:*`,
        "A point-in-time restore uses the source's parameter group, whose name is not part of the configuration; the restore must carry the drill-id tag.",
      ],
      [
        `arn:${partition}:rds:${region}:${account}:og:*`,
        "A point-in-time restore uses the source's option group, whose name is not part of the configuration; the restore must carry the drill-id tag.",
      ],
      [
        `arn:${partition}:secretsmanager:${region}:${account}:secret:rds!db-*`,
        'RDS names the managed master secret of each drill instance at random; the statement is limited by its aws:rds:primaryDBInstanceArn tag to drill instances.',
      ],
      [
        `arn:${partition}:ecs:${region}:${account}:task/${this.cluster.clusterName}/*`,
        'App tasks get their ids at run time; the statement is limited to the drill cluster.',
      ],
      [
        `arn:${partition}:ecs:${region}:${account}:container-instance/${this.cluster.clusterName}/*`,
        'ListTasks is authorized on container instances of the drill cluster (Fargate has none; kept to the cluster).',
      ],
    ] as const) {
      acknowledgeWildcardResource(controlRole, resource, reason);
    }

    // checks: the drill secret (read, and the login check keeps the admin's session in it for the
    // later checks), the admin password, the captured artifacts, describe drill instances.
    allow(checks, 'ReadDrillSecret', ['secretsmanager:GetSecretValue'], [this.drillSecret.secretArn]);
    allow(
      checks,
      'KeepSmokeSessionInDrillSecret',
      ['secretsmanager:PutSecretValue'],
      [this.drillSecret.secretArn],
    );
    allow(checks, 'DecryptDrillSecret', ['kms:Decrypt'], [key.keyArn]);
    allow(checks, 'EncryptDrillSecret', ['kms:GenerateDataKey'], [key.keyArn]);
    checks.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'DescribeDrillInstances',
        actions: ['rds:DescribeDBInstances'],
        resources: [drillDbs],
      }),
    );
    acknowledgeWildcardResource(
      checks.role as iam.Role,
      drillDbs,
      `Drill instances are named "${prefix}-<drill id>" at run time; the checks only describe them.`,
    );
    allow(checks, 'ReadCapturedArtifacts', ['s3:GetObject'], [props.bucket.arnForObjects('artifacts/*')]);
    allow(checks, 'DecryptBackupBucket', ['kms:Decrypt'], [props.bucketKey.keyArn]);
    acknowledgeWildcardResource(
      checks.role as iam.Role,
      props.bucket.arnForObjects('artifacts/*'),
      'The checks read the app artifacts captured with the backups (artifacts/<version>/...): the version is known only at run time.',
    );
    if (config.smoke.adminPasswordSecret) {
      const name = config.smoke.adminPasswordSecret;
      // A secret name matches its ARN with Secrets Manager's 6-character suffix.
      const arn = name.startsWith('arn:')
        ? name
        : `arn:${partition}:secretsmanager:${region}:${account}:secret:${name}-??????`;
      allow(checks, 'ReadAdminPassword', ['secretsmanager:GetSecretValue'], [arn]);
      if (!name.startsWith('arn:')) {
        acknowledgeWildcardResource(
          checks.role as iam.Role,
          arn,
          `smoke.adminPasswordSecret names the secret "${name}"; "-??????" is the random suffix Secrets Manager appends to its ARN, so it matches that one secret only.`,
        );
      }
    }

    // reporting: reports in the bucket, escalations to the topic.
    allow(
      reporting,
      'WriteReports',
      ['s3:PutObject', 's3:GetObject'],
      [props.bucket.arnForObjects('reports/*')],
    );
    // Without list rights S3 answers 403 for a missing object: the first drill could not tell
    // "no history index yet" from a denial, and the index would never be started.
    allow(reporting, 'SeeWhetherTheHistoryIndexExists', ['s3:ListBucket'], [props.bucket.bucketArn], {
      StringEquals: { 's3:prefix': 'reports/index.json' },
    });
    allow(reporting, 'EncryptReports', ['kms:GenerateDataKey', 'kms:Decrypt'], [props.bucketKey.keyArn]);
    acknowledgeWildcardResource(
      reporting.role as iam.Role,
      props.bucket.arnForObjects('reports/*'),
      'Each drill writes its own reports/<drill id>/ folder; the drill id exists only at run time.',
    );
    allow(reporting, 'Escalate', ['sns:Publish'], [props.topic.topicArn]);
    if (props.topicKey)
      allow(reporting, 'EscalateEncrypted', ['kms:GenerateDataKey', 'kms:Decrypt'], [props.topicKey.keyArn]);

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
      logRetention: retention,
    });

    // Notifications link the execution's log group.
    reporting.addEnvironment('DRILL_LOG_GROUP', this.stateMachine.logGroup.logGroupName);

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
    const schedulerRole = props.schedulerRole;
    schedulerRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'StartQuarterlyDrill',
        actions: ['lambda:InvokeFunction'],
        resources: [start.functionArn],
      }),
    );
    new scheduler.CfnSchedule(this, 'QuarterlyDrill', {
      description: 'recovery-drill: the quarterly restore drill (runbook "Quarterly Recovery Drill")',
      scheduleExpression: config.schedules.drill,
      scheduleExpressionTimezone: config.schedules.timezone,
      flexibleTimeWindow: { mode: 'OFF' },
      state: 'ENABLED',
      target: {
        arn: start.functionArn,
        roleArn: schedulerRole.roleArn,
        input: JSON.stringify({ reason: 'quarterly drill (schedule)', requestedBy: 'schedule' }),
        retryPolicy: { maximumRetryAttempts: 3, maximumEventAgeInSeconds: 3600 },
        ...(props.failureQueueArn ? { deadLetterConfig: { arn: props.failureQueueArn } } : {}),
      },
    });

    acknowledgeWildcardResource(
      start.role as iam.Role,
      `arn:${partition}:rds:${region}:${account}:auto-backup:*`,
      'The automated-backup ARN of the source has a generated id; only Describe is allowed on it (the restorable window).',
    );
    this.functions = { control, checks, reporting, start };
  }
}
