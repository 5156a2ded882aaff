import { ArnFormat, Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { DrillInputError } from '../../functions/core/drill-input.ts';
import {
  type DrillFunctionGroup,
  type DrillStepKey,
  type DrillTaskStep,
  drillStep,
  failurePath,
  WAIT_FOR_RESTORE_STATE,
} from '../../functions/core/drill-steps.ts';
import { InputError } from '../../functions/core/errors.ts';
import { acknowledgeWildcardResource, wildcardResourceFinding } from '../nag.ts';

/** Where and how the app's migrate command runs: an ECS Fargate task of the app's image. */
export interface MigrateTaskProps {
  readonly cluster: ecs.ICluster;
  readonly taskDefinition: ecs.TaskDefinition;
  readonly containerDefinition: ecs.ContainerDefinition;
  /** The migrate command, as the container's command (`sh -c` is added by the caller when needed). */
  readonly command: readonly string[];
  readonly subnets: ec2.SubnetSelection;
  readonly securityGroups: readonly ec2.ISecurityGroup[];
}

export interface DrillStateMachineProps {
  /**
   * Physical name (a machine started by name from another region).
   * @default - generated
   */
  readonly stateMachineName?: string;
  /** The drill's Lambda functions, by permission group (the step registry's `runner`, `functions/core/drill-steps.ts`). */
  readonly functions: Readonly<Record<DrillFunctionGroup, lambda.IFunction>>;
  readonly migrateTask: MigrateTaskProps;
  /** Overall limit of one execution (config `drill.timeoutMinutes`). */
  readonly timeout: Duration;
  /** Longest a Lambda-backed step may run (the ready check waits up to its budget). */
  readonly stepTimeout: Duration;
  /**
   * Encrypts the execution log group.
   * @default - CloudWatch Logs' own encryption
   */
  readonly logKey?: kms.IKey;
  /**
   * Retention of the execution log group.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * The restore drill: one Standard, JSONPath state machine that runs in AWS and, through
 * `aws-local-stepfunctions`, on one machine. Every step from the restore on has a `Catch` that
 * records its error under `$.failures.<step>` and goes to cleanup, so a failure never leaves a
 * drill resource behind; the report and notification follow cleanup on every path.
 */
export class DrillStateMachine extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: DrillStateMachineProps) {
    super(scope, id);
    if (!Token.isUnresolved(props.timeout.toSeconds()) && props.timeout.toSeconds() < 600) {
      throw new Error(
        `DrillStateMachine: timeout must be at least 10 minutes, got ${props.timeout.toHumanString()}`,
      );
    }
    if (props.migrateTask.command.length === 0) {
      throw new Error('DrillStateMachine: migrateTask.command must not be empty');
    }

    // Every Task state's name, function, payload and result path come from the step registry.
    const invoke = (step: DrillTaskStep) => {
      const spec = drillStep(step);
      return new tasks.LambdaInvoke(this, spec.state, {
        stateName: spec.state,
        lambdaFunction: props.functions[spec.runner],
        payload: sfn.TaskInput.fromObject({
          step: spec.key,
          'state.$': '$',
          'execution.$': '$$.Execution.Name',
          'executionArn.$': '$$.Execution.Id',
        }),
        payloadResponseOnly: true,
        resultPath: spec.resultPath,
        taskTimeout: sfn.Timeout.duration(props.stepTimeout),
      });
    };

    const cleanup = invoke('cleanup');
    const report = invoke('report');
    const notify = invoke('notify');
    const passed = new sfn.Succeed(this, 'Drill passed');
    const failed = new sfn.Fail(this, 'Drill failed', {
      error: 'DrillFailed',
      cause: 'The drill failed: its report and escalations say what was observed and what to do.',
    });
    const notifyFailed = new sfn.Fail(this, 'Notification failed', {
      error: 'NotifyFailed',
      cause:
        'The drill ran but its report or notification could not be delivered: see the execution history.',
    });
    cleanup.addCatch(report, { resultPath: failurePath('cleanup') });
    report.addCatch(notify, { resultPath: failurePath('report') });
    notify.addCatch(notifyFailed, { resultPath: failurePath('notify') });
    cleanup
      .next(report)
      .next(notify)
      .next(
        new sfn.Choice(this, 'Drill passed?')
          .when(
            sfn.Condition.and(
              sfn.Condition.isPresent('$.report.passed'),
              sfn.Condition.booleanEquals('$.report.passed', true),
            ),
            passed,
          )
          .otherwise(failed),
      );

    /** A step whose failure is recorded and sends the drill to cleanup. */
    const guarded = <T extends sfn.TaskStateBase>(task: T, step: DrillStepKey): T => {
      task.addCatch(cleanup, { resultPath: failurePath(step) });
      return task;
    };

    const validate = invoke('validate');
    const refused = new sfn.Fail(this, 'Input refused', {
      error: DrillInputError.errorName,
      causePath: '$.refusal.Cause',
    });
    validate.addCatch(refused, {
      errors: [DrillInputError.errorName, InputError.errorName],
      resultPath: '$.refusal',
    });
    // Any other failure of validation (e.g. the restorable window could not be read) still reports.
    validate.addCatch(report, { resultPath: failurePath('validate') });

    const restore = guarded(invoke('restore'), 'restore');
    const waitForRestore = new sfn.Wait(this, WAIT_FOR_RESTORE_STATE, {
      stateName: WAIT_FOR_RESTORE_STATE,
      time: sfn.WaitTime.secondsPath('$.restoreStatus.pollSeconds'),
    });
    const describeRestore = guarded(invoke('describeRestore'), 'describeRestore');
    const connect = guarded(invoke('connect'), 'connect');
    const detectDrift = guarded(invoke('detectDrift'), 'detectDrift');

    const migrateSpec = drillStep('runMigrations');
    const runMigrations = new tasks.EcsRunTask(this, migrateSpec.state, {
      stateName: migrateSpec.state,
      integrationPattern: sfn.IntegrationPattern.RUN_JOB,
      cluster: props.migrateTask.cluster,
      taskDefinition: props.migrateTask.taskDefinition,
      launchTarget: new tasks.EcsFargateLaunchTarget(),
      assignPublicIp: false,
      subnets: props.migrateTask.subnets,
      securityGroups: [...props.migrateTask.securityGroups],
      // Only the command: the connection reaches the container from the drill secret, never here.
      containerOverrides: [
        {
          containerDefinition: props.migrateTask.containerDefinition,
          command: [...props.migrateTask.command],
        },
      ],
      resultSelector: {
        'exitCode.$': '$.Containers[0].ExitCode',
        'stoppedReason.$': '$.StoppedReason',
        'taskArn.$': '$.TaskArn',
      },
      resultPath: migrateSpec.resultPath,
      taskTimeout: sfn.Timeout.duration(props.stepTimeout),
    });
    guarded(runMigrations, 'runMigrations');
    const verifyMigration = guarded(invoke('verifyMigration'), 'verifyMigration');

    const startApp = guarded(invoke('startApp'), 'startApp');
    const smokeHealth = guarded(invoke('smokeHealth'), 'smokeHealth');
    const smokeReady = guarded(invoke('smokeReady'), 'smokeReady');
    const smokeLogin = guarded(invoke('smokeLogin'), 'smokeLogin');
    const smokeSearch = guarded(invoke('smokeSearch'), 'smokeSearch');
    const smokeDay = guarded(invoke('smokeDay'), 'smokeDay');
    const integrity = guarded(invoke('integrity'), 'integrity');
    const evaluate = guarded(invoke('evaluate'), 'evaluate');

    startApp
      .next(smokeHealth)
      .next(smokeReady)
      .next(smokeLogin)
      .next(smokeSearch)
      .next(smokeDay)
      .next(integrity)
      .next(evaluate)
      .next(cleanup);

    const dryRunDone = new sfn.Succeed(this, 'Dry run: nothing restored');
    validate.next(
      new sfn.Choice(this, 'Dry run?')
        .when(sfn.Condition.booleanEquals('$.drill.dryRun', true), dryRunDone)
        .otherwise(restore),
    );

    // Poll right after the restore call (the local engine restores synchronously), then wait
    // adaptively: the describe step chooses the next pause (see functions/core/polling.ts).
    restore
      .next(describeRestore)
      .next(
        new sfn.Choice(this, 'Restore available?')
          .when(sfn.Condition.stringEquals('$.restoreStatus.status', 'available'), connect)
          .otherwise(waitForRestore.next(describeRestore)),
      );
    connect
      .next(detectDrift)
      .next(
        new sfn.Choice(this, 'Migrations pending?')
          .when(sfn.Condition.booleanEquals('$.drift.needsMigrate', true), runMigrations)
          .otherwise(startApp),
      );
    runMigrations.next(verifyMigration).next(startApp);

    this.logGroup = new logs.LogGroup(this, 'ExecutionLogs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_YEAR,
      encryptionKey: props.logKey,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      stateMachineType: sfn.StateMachineType.STANDARD,
      ...(props.stateMachineName ? { stateMachineName: props.stateMachineName } : {}),
      queryLanguage: sfn.QueryLanguage.JSON_PATH,
      definitionBody: sfn.DefinitionBody.fromChainable(validate),
      timeout: props.timeout,
      tracingEnabled: true,
      logs: { destination: this.logGroup, level: sfn.LogLevel.ALL, includeExecutionData: true },
      comment:
        'recovery-drill restore drill: restore, migrate, smoke-test, check integrity, measure RPO/RTO, report, clean up',
    });
    const role = this.stateMachine.role;
    for (const fn of Object.values(props.functions)) {
      acknowledgeWildcardResource(
        role,
        `${fn.functionArn}:*`,
        'Step Functions may invoke the drill function and its versions (aws-cdk-lib LambdaInvoke grants both); nothing else.',
      );
    }
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'X-Ray tracing and the CloudWatch Logs delivery actions of a state machine (logs:CreateLogDelivery and friends) accept no resource ARN; ecs:StopTask and ecs:DescribeTasks, which the .sync migrate task needs on task ids known only at run time, are granted on * by aws-cdk-lib and confined to the drill cluster by an explicit deny (DenyTasksOfOtherClusters, condition ecs:cluster).',
    });
    Validations.of(role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${wildcardTaskDefinitionFinding(this, props.migrateTask.taskDefinition)}]`,
      reason:
        "The migrate task may run any revision of the drill's own app task definition (aws-cdk-lib EcsRunTask grants the family).",
    });
  }
}

export const DEFAULT_STEP_TIMEOUT = Duration.minutes(15);

/**
 * cdk-nag's rendering of the `<task definition family>:*` resource EcsRunTask grants (built the way
 * aws-cdk-lib builds it: the task definition ARN without its revision).
 */
function wildcardTaskDefinitionFinding(scope: Construct, taskDefinition: ecs.TaskDefinition): string {
  const stack = Stack.of(scope);
  const parts = stack.splitArn(taskDefinition.taskDefinitionArn, ArnFormat.SLASH_RESOURCE_NAME);
  const family = stack.formatArn({ ...parts, resourceName: parts.resourceName?.split(':')[0] });
  const id = wildcardResourceFinding(scope, `${family}:*`);
  return id.slice('AwsSolutions-IAM5[Resource::'.length, -1);
}
