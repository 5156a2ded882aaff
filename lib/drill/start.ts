/**
 * Starting a drill: the start function's rights (start the drill state machine in the region of
 * the drill's data, refuse while a drill runs, read the restorable window there) and the
 * quarterly schedule that invokes it with its scheduled time (which picks `schedules.drillFrom`).
 */
import { Aws } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import type { Config } from '../../functions/core/config.ts';
import { acknowledgeWildcardResource } from '../nag.ts';

/** The schedule's context attribute the start function counts scheduled drills by. */
export const SCHEDULED_TIME = '<aws.scheduler.scheduled-time>';

export interface DrillStartWiring {
  readonly config: Pick<Config, 'source' | 'schedules' | 'isolation'>;
  readonly stateMachine: sfn.StateMachine;
  /** Role EventBridge Scheduler assumes (it may already send to the dead-letter queue). */
  readonly schedulerRole: iam.IRole;
  /** Dead-letter queue of the quarterly schedule. */
  readonly failureQueueArn?: string;
  /** The drill state machine in `isolation.copyRegion` (drills from the isolated copy). */
  readonly copyRegionStateMachineArn?: string;
}

/** Grants the start function its rights and schedules it quarterly (`QuarterlyDrill`). */
export function scheduleDrillStart(scope: Construct, start: lambda.Function, wiring: DrillStartWiring): void {
  const { config, stateMachine, schedulerRole, failureQueueArn } = wiring;
  const partition = Aws.PARTITION;
  const account = Aws.ACCOUNT_ID;
  const region = config.source.region;
  stateMachine.grantStartExecution(start);
  start.addToRolePolicy(
    new iam.PolicyStatement({
      sid: 'RefuseWhileADrillRuns',
      actions: ['states:ListExecutions'],
      resources: [stateMachine.stateMachineArn],
    }),
  );
  start.addToRolePolicy(
    new iam.PolicyStatement({
      sid: 'ReadRestorableWindow',
      actions: ['rds:DescribeDBInstances', 'rds:DescribeDBInstanceAutomatedBackups'],
      resources: [
        `arn:${partition}:rds:${region}:${account}:db:${config.source.dbInstanceIdentifier}`,
        `arn:${partition}:rds:${region}:${account}:auto-backup:*`,
      ],
    }),
  );
  const copy = wiring.copyRegionStateMachineArn;
  if (copy) {
    const copyRegion = config.isolation.copyRegion;
    start.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'StartCopyRegionDrill',
        actions: ['states:StartExecution', 'states:ListExecutions'],
        resources: [copy],
      }),
    );
    start.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'ReadCopyRegionRestorableWindow',
        actions: ['rds:DescribeDBInstanceAutomatedBackups', 'rds:DescribeDBSnapshots'],
        resources: [
          `arn:${partition}:rds:${copyRegion}:${account}:auto-backup:*`,
          `arn:${partition}:rds:${copyRegion}:${account}:snapshot:*`,
        ],
      }),
    );
    acknowledgeWildcardResource(
      start.role as iam.Role,
      `arn:${partition}:rds:${copyRegion}:${account}:auto-backup:*`,
      "The replicated automated backups in the copy region have a generated id; only Describe is allowed on them (the copy's restorable window).",
    );
    acknowledgeWildcardResource(
      start.role as iam.Role,
      `arn:${partition}:rds:${copyRegion}:${account}:snapshot:*`,
      'rds:DescribeDBSnapshots only: the snapshot copies in the copy region are listed to find their window before any id is known; read-only.',
    );
  }
  schedulerRole.addToPrincipalPolicy(
    new iam.PolicyStatement({
      sid: 'StartQuarterlyDrill',
      actions: ['lambda:InvokeFunction'],
      resources: [start.functionArn],
    }),
  );
  new scheduler.CfnSchedule(scope, 'QuarterlyDrill', {
    description: 'recovery-drill: the quarterly restore drill (runbook "Quarterly Recovery Drill")',
    scheduleExpression: config.schedules.drill,
    scheduleExpressionTimezone: config.schedules.timezone,
    flexibleTimeWindow: { mode: 'OFF' },
    state: 'ENABLED',
    target: {
      arn: start.functionArn,
      roleArn: schedulerRole.roleArn,
      // The scheduled time picks the drill's origin from schedules.drillFrom (a retry, the same).
      input: JSON.stringify({
        reason: 'quarterly drill (schedule)',
        requestedBy: 'schedule',
        scheduledAt: SCHEDULED_TIME,
      }),
      retryPolicy: { maximumRetryAttempts: 3, maximumEventAgeInSeconds: 3600 },
      ...(failureQueueArn ? { deadLetterConfig: { arn: failureQueueArn } } : {}),
    },
  });

  acknowledgeWildcardResource(
    start.role as iam.Role,
    `arn:${partition}:rds:${region}:${account}:auto-backup:*`,
    'The automated-backup ARN of the source has a generated id; only Describe is allowed on it (the restorable window).',
  );
}
