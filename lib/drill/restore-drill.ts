/**
 * The restore drill in AWS: a private network for the drill instance and the app, the drill-owned
 * secret, the app's ECS task (migrate and serve), the drill's Lambda functions, the state machine,
 * and the quarterly schedule that starts it.
 */
import { Duration, Lazy, Stack } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { splitCommand } from '../../functions/core/command.ts';
import type { Config } from '../../functions/core/config.ts';
import type { AwsDrillFrom } from '../../functions/drill/adapters/aws/rds-origins.ts';
import { settingsEnvironment } from '../settings.ts';
import { cleanUpAbortedExecutions } from './abort-cleanup.ts';
import { createDrillAppTask } from './app-task.ts';
import { grantChecks, grantReporting } from './checks-reporting-grants.ts';
import { grantControl } from './control-grants.ts';
import { createDrillDatabase } from './drill-database.ts';
import { createDrillFunction, type DrillFunctionSpec } from './drill-function.ts';
import { DEFAULT_STEP_TIMEOUT, DrillStateMachine } from './drill-state-machine.ts';
import { restrictEndpoints } from './endpoint-policies.ts';
import { createDrillNetwork } from './network.ts';
import { scheduleDrillStart } from './start.ts';
import { confineTasksToCluster } from './task-scope.ts';

export interface RestoreDrillProps {
  /** The validated configuration; bundled beside each drill function. */
  readonly config: Config;
  readonly bucket: s3.IBucket;
  readonly bucketKey: kms.IKey;
  readonly topic: sns.ITopic;
  readonly topicKey?: kms.IKey;
  /**
   * Role EventBridge Scheduler assumes (it may already send to the dead-letter queue).
   * @default - no start function and no schedule: the drill is started from the source region's
   */
  readonly schedulerRole?: iam.IRole;
  /**
   * The origins this drill serves: those whose data lives in its stack's region.
   * @default ['source']
   */
  readonly servesFrom?: readonly AwsDrillFrom[];
  /**
   * The bucket (in this region) the checks read the captured artifacts from, and its key.
   * @default - the backup bucket
   */
  readonly artifacts?: { readonly bucket: s3.IBucket; readonly key: kms.IKey };
  /** The snapshot copies' key (or alias) ARN, to restore a copy (`isolated-snapshot`). */
  readonly copyKmsKeyArn?: string;
  /**
   * The container image of the app in this region.
   * @default config.app.image
   */
  readonly image?: string;
  /**
   * Physical name of the state machine, for a machine started by name from another region.
   * @default - generated
   */
  readonly stateMachineName?: string;
  /**
   * The drill state machine in `isolation.copyRegion`, started by this drill's start function for
   * a drill from the isolated copy (its ARN is built from its name: no cross-region reference).
   * @default - none: this drill serves every origin itself
   */
  readonly copyRegionStateMachineArn?: string;
  /** Folder with `package-lock.json` and `functions/`. */
  readonly projectRoot: string;
  /**
   * Retention of every log group of the drill.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;
  /** Dead-letter queue of the quarterly schedule (the scheduler role must be able to send to it). */
  readonly failureQueueArn?: string;
  /**
   * Where the reporting function records passed drills and folds drill escalations into incidents
   * (the backup functions' state table; `Monitoring` grants the writes).
   * @default - nothing is recorded, escalations are not folded
   */
  readonly stateTable?: dynamodb.ITable;
}

export class RestoreDrill extends Construct {
  readonly vpc: ec2.IVpc;
  readonly stateMachine: DrillStateMachine;
  readonly functions: Readonly<Record<'control' | 'checks' | 'reporting', lambda.Function>> & {
    /** Absent in a drill started from another region. */
    readonly start?: lambda.Function;
  };
  /** Cleans up after an execution that ended TIMED_OUT, ABORTED or FAILED. */
  readonly abortCleanup: lambda.Function;
  readonly drillSecret: secretsmanager.Secret;
  readonly cluster: ecs.Cluster;
  readonly appTask: ecs.FargateTaskDefinition;

  constructor(scope: Construct, id: string, props: RestoreDrillProps) {
    super(scope, id);
    const { config } = props;
    const image = props.image ?? config.app.image;
    if (image === null)
      throw new Error('RestoreDrill: config.app.image is required (buildApp checks it first)');
    const retention = props.logRetention ?? logs.RetentionDays.ONE_YEAR;

    const { vpc, subnets, dbSg, appSg, checksSg, endpoints } = createDrillNetwork(this, config, retention);
    this.vpc = vpc;
    const { subnetGroup, key, drillSecret } = createDrillDatabase(this, vpc, subnets);
    this.drillSecret = drillSecret;
    const {
      cluster,
      appTask,
      container,
      logGroup: appLogs,
    } = createDrillAppTask(
      this,
      vpc,
      image,
      config.app.port,
      drillSecret,
      retention,
      config.drill.hardenContainers ? { user: config.app.user } : null,
    );
    this.cluster = cluster;
    this.appTask = appTask;
    const artifacts = props.artifacts ?? { bucket: props.bucket, key: props.bucketKey };
    restrictEndpoints(endpoints, { config, bucket: artifacts.bucket, drillSecret, appLogs });

    // --- functions ----------------------------------------------------------------------------------
    const make = (spec: DrillFunctionSpec) =>
      createDrillFunction(this, spec, { projectRoot: props.projectRoot, logRetention: retention });
    const needsApp = config.app.stagingBaseUrl === null;
    const resources = {
      bucket: props.bucket.bucketName,
      topicArn: props.topic.topicArn,
      drillSecretArn: this.drillSecret.secretArn,
      dbSubnetGroupName: subnetGroup.subnetGroupName,
      dbSecurityGroupIds: [dbSg.securityGroupId],
      clusterArn: needsApp ? this.cluster.clusterArn : null,
      taskDefinitionArn: needsApp ? this.appTask.taskDefinitionArn : null,
      appSubnetIds: this.vpc.isolatedSubnets.map((s) => s.subnetId),
      appSecurityGroupIds: [appSg.securityGroupId],
      logGroupName: null,
      stateTable: null,
      // Null where it is the default (the source region, the backup bucket): Lambda's 4 KB.
      drillRegion: Stack.of(this).region === config.source.region ? null : Stack.of(this).region,
      artifactsBucket: null,
    };
    const environment = settingsEnvironment(this, 'drill', config, resources);
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
      // Only the checks read the artifacts (drift): only they are told of a bucket of this region.
      environment:
        artifacts.bucket === props.bucket
          ? environment
          : settingsEnvironment(this, 'drill', config, {
              ...resources,
              artifactsBucket: artifacts.bucket.bucketName,
            }),
      vpc: { vpc: this.vpc, subnets, securityGroups: [checksSg] },
    });
    const reporting = make({
      id: 'Reporting',
      entry: 'functions/drill-reporting.ts',
      description: 'recovery-drill: writes the drill report to the backup bucket and publishes escalations',
      timeout: Duration.minutes(2),
      // Notifications link the execution's log group (the state machine is made below).
      environment: settingsEnvironment(this, 'drill', config, {
        ...resources,
        logGroupName: Lazy.string({ produce: () => this.stateMachine.logGroup.logGroupName }),
        stateTable: props.stateTable?.tableName ?? null,
      }),
    });
    grantControl(control, {
      config,
      subnetGroup,
      drillSecret,
      key,
      cluster,
      appTask,
      ...(props.servesFrom ? { servesFrom: props.servesFrom } : {}),
      ...(props.copyKmsKeyArn ? { copyKmsKeyArn: props.copyKmsKeyArn } : {}),
    });
    grantChecks(checks, { config, drillSecret, key, bucket: artifacts.bucket, bucketKey: artifacts.key });
    grantReporting(reporting, props);

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
      ...(props.stateMachineName ? { stateMachineName: props.stateMachineName } : {}),
    });

    confineTasksToCluster(this.stateMachine.stateMachine.role, this.cluster);

    // --- no copy left behind: cleanup after an execution that timed out, was stopped or failed ---
    this.abortCleanup = make({
      id: 'AbortCleanup',
      entry: 'functions/drill-abort-cleanup.ts',
      description:
        'recovery-drill: cleans up after a drill execution that ended TIMED_OUT, ABORTED or FAILED, and says what it removed',
      timeout: stepTimeout,
      environment: settingsEnvironment(this, 'drillAbortCleanup', config, {
        ...resources,
        stateMachineArn: this.stateMachine.stateMachine.stateMachineArn,
      }),
    });
    cleanUpAbortedExecutions(this, this.abortCleanup, {
      config,
      stateMachine: this.stateMachine.stateMachine,
      drillSecret,
      key,
      cluster,
      topic: props.topic,
      ...(props.topicKey ? { topicKey: props.topicKey } : {}),
    });

    // --- start: quarterly schedule and by hand ---------------------------------------------------
    if (!props.schedulerRole) {
      this.functions = { control, checks, reporting };
      return;
    }
    const start = make({
      id: 'Start',
      entry: 'functions/drill-start.ts',
      description: 'recovery-drill: validates a drill request and starts the drill (one at a time)',
      timeout: Duration.minutes(1),
      environment: settingsEnvironment(this, 'drillStart', config, {
        stateMachineArn: this.stateMachine.stateMachine.stateMachineArn,
        copyRegionStateMachineArn: props.copyRegionStateMachineArn ?? null,
      }),
    });
    scheduleDrillStart(this, start, {
      config,
      stateMachine: this.stateMachine.stateMachine,
      schedulerRole: props.schedulerRole,
      ...(props.failureQueueArn ? { failureQueueArn: props.failureQueueArn } : {}),
      ...(props.copyRegionStateMachineArn
        ? { copyRegionStateMachineArn: props.copyRegionStateMachineArn }
        : {}),
    });
    this.functions = { control, checks, reporting, start };
  }
}
