/**
 * When the backup functions run: EventBridge Scheduler (snapshot and artifacts daily, prune,
 * the RPO check) with the failure queue as dead letter, and the RDS event that copies a managed
 * snapshot to isolation as soon as it is finished rather than at the next run.
 */
import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as eventsTargets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { BackupFunctionName } from './backup-function.ts';
import { allowSendTo } from './state.ts';

/** The expressions of the configuration's `schedules` the backup functions run on. */
export interface BackupScheduleExpressions {
  readonly snapshot: string;
  readonly rpoCheck: string;
  readonly prune: string;
  /** IANA time zone of cron expressions. */
  readonly timezone: string;
}

export interface BackupSchedules {
  /** Role EventBridge Scheduler assumes to invoke the functions. */
  readonly schedulerRole: iam.Role;
  readonly schedules: Readonly<
    Record<'snapshot' | 'artifacts' | 'prune' | 'rpoCheck', scheduler.CfnSchedule>
  >;
  /** Runs the snapshot function when RDS reports a managed manual snapshot created. */
  readonly snapshotCreatedRule: events.Rule;
}

export function createBackupSchedules(
  scope: Construct,
  functions: Readonly<Record<BackupFunctionName, lambda.IFunction>>,
  expressions: BackupScheduleExpressions,
  failure: { readonly queue: sqs.IQueue; readonly key: kms.IKey },
  managedPrefix: string,
  account: string,
): BackupSchedules {
  const schedulerRole = new iam.Role(scope, 'SchedulerRole', {
    description: 'recovery-drill: EventBridge Scheduler invokes the backup functions',
    assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
      conditions: { StringEquals: { 'aws:SourceAccount': account } },
    }),
  });
  schedulerRole.addToPolicy(
    new iam.PolicyStatement({
      sid: 'InvokeBackupFunctions',
      actions: ['lambda:InvokeFunction'],
      resources: [functions.snapshot, functions.artifacts, functions.prune, functions.rpoMonitor].map(
        (fn) => fn.functionArn,
      ),
    }),
  );
  allowSendTo(schedulerRole, failure.queue, failure.key, 'DeadLetterUndeliveredInvocations');
  const schedule = (scheduleId: string, expression: string, fn: lambda.IFunction, description: string) =>
    new scheduler.CfnSchedule(scope, scheduleId, {
      description,
      scheduleExpression: expression,
      scheduleExpressionTimezone: expressions.timezone,
      flexibleTimeWindow: { mode: 'OFF' },
      state: 'ENABLED',
      target: {
        arn: fn.functionArn,
        roleArn: schedulerRole.roleArn,
        input: '{}',
        deadLetterConfig: { arn: failure.queue.queueArn },
        retryPolicy: { maximumEventAgeInSeconds: 3600, maximumRetryAttempts: 3 },
      },
    });
  const schedules = {
    snapshot: schedule(
      'SnapshotSchedule',
      expressions.snapshot,
      functions.snapshot,
      'recovery-drill: daily snapshot',
    ),
    artifacts: schedule(
      'ArtifactsSchedule',
      expressions.snapshot,
      functions.artifacts,
      'recovery-drill: daily artifact capture, with the snapshot',
    ),
    prune: schedule('PruneSchedule', expressions.prune, functions.prune, 'recovery-drill: retention pruning'),
    rpoCheck: schedule(
      'RpoCheckSchedule',
      expressions.rpoCheck,
      functions.rpoMonitor,
      'recovery-drill: RPO monitor',
    ),
  };

  // A managed snapshot finished: copy it now rather than at the next run.
  const snapshotCreatedRule = new events.Rule(scope, 'SnapshotCreatedRule', {
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
  snapshotCreatedRule.addTarget(
    new eventsTargets.LambdaFunction(functions.snapshot, {
      deadLetterQueue: failure.queue,
      retryAttempts: 3,
      maxEventAge: Duration.hours(2),
    }),
  );
  return { schedulerRole, schedules, snapshotCreatedRule };
}
