/**
 * No copy left behind: an EventBridge rule on the drill state machine's executions that end
 * TIMED_OUT, ABORTED or FAILED invokes the abort-cleanup function, which runs the drill's own
 * tag-guarded cleanup for that drill id and publishes what it removed (or CLEANUP_FAILED) to the
 * escalation topic. Its role holds only the cleanup's rights: stop the drill's tasks in the drill
 * cluster, read the drill secret and blank it while it holds this drill's id, delete drill-tagged instances (and RDS's master secret with
 * them), publish to the topic.
 */
import { Aws, Duration, Stack } from 'aws-cdk-lib';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import type { Config } from '../../functions/core/config.ts';
import { ABORTED_STATUSES } from '../../functions/drill/drivers/aws/abort-cleanup.ts';
import { DRILL_ID_TAG } from '../../functions/drill/ports/database-recovery.ts';
import { acknowledgeWildcardResource } from '../nag.ts';
import { allow, RDS_PRIMARY_INSTANCE_TAG } from './control-grants.ts';

/** Construct id of the rule (a contract: tests and the README name it). */
export const ABORT_CLEANUP_RULE_ID = 'CleanUpAbortedExecutions';

export interface AbortCleanupTargets {
  readonly config: Pick<Config, 'source' | 'drill'>;
  readonly stateMachine: sfn.IStateMachine;
  readonly drillSecret: secretsmanager.ISecret;
  /** The drill secret's key. */
  readonly key: kms.IKey;
  readonly cluster: ecs.ICluster;
  readonly topic: sns.ITopic;
  readonly topicKey?: kms.IKey;
}

/** Grants `fn` the cleanup's rights and has EventBridge invoke it when an execution ends badly. */
export function cleanUpAbortedExecutions(
  scope: Construct,
  fn: lambda.Function,
  t: AbortCleanupTargets,
): events.Rule {
  const partition = Aws.PARTITION;
  const account = Aws.ACCOUNT_ID;
  // The drill's region (the region of its data).
  const region = Stack.of(fn).region;
  const prefix = t.config.drill.instancePrefix;
  const drillDbs = `arn:${partition}:rds:${region}:${account}:db:${prefix}-*`;
  const masterSecrets = `arn:${partition}:secretsmanager:${region}:${account}:secret:rds!db-*`;
  const tasks = `arn:${partition}:ecs:${region}:${account}:task/${t.cluster.clusterName}/*`;
  const containerInstances = `arn:${partition}:ecs:${region}:${account}:container-instance/${t.cluster.clusterName}/*`;
  const inCluster = { ArnEquals: { 'ecs:cluster': t.cluster.clusterArn } };

  allow(
    fn,
    'StopDrillTasks',
    ['ecs:ListTasks', 'ecs:DescribeTasks', 'ecs:StopTask'],
    [tasks, containerInstances],
    inCluster,
  );
  // Read first: the secret is blanked only while it holds this drill's id, never a newer drill's.
  allow(
    fn,
    'BlankDrillSecret',
    ['secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue'],
    [t.drillSecret.secretArn],
  );
  allow(fn, 'EncryptDrillSecret', ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'], [t.key.keyArn]);
  allow(fn, 'DescribeDrillInstances', ['rds:DescribeDBInstances'], [drillDbs]);
  allow(fn, 'DeleteOnlyDrillTaggedInstances', ['rds:DeleteDBInstance'], [drillDbs], {
    Null: { [`aws:ResourceTag/${DRILL_ID_TAG}`]: 'false' },
  });
  allow(fn, 'DeleteDrillInstanceMasterSecret', ['secretsmanager:DeleteSecret'], [masterSecrets], {
    StringLike: { [`aws:ResourceTag/${RDS_PRIMARY_INSTANCE_TAG}`]: drillDbs },
  });
  allow(fn, 'Escalate', ['sns:Publish'], [t.topic.topicArn]);
  if (t.topicKey) allow(fn, 'EscalateEncrypted', ['kms:GenerateDataKey', 'kms:Decrypt'], [t.topicKey.keyArn]);

  const role = fn.role as iam.Role;
  for (const [resource, reason] of [
    [
      drillDbs,
      `Drill instances are named "${prefix}-<drill id>" at run time; describe only, and delete only with the drill-id tag.`,
    ],
    [
      masterSecrets,
      `RDS names each drill instance's managed master secret at random; deleting it requires the ${RDS_PRIMARY_INSTANCE_TAG} tag naming a drill instance.`,
    ],
    [
      tasks,
      'Drill tasks get their ids at run time; only task ids of the drill cluster, with ecs:cluster equal to it.',
    ],
    [
      containerInstances,
      'ListTasks is authorized on container instances of the drill cluster (Fargate has none), with ecs:cluster equal to it.',
    ],
  ] as const) {
    acknowledgeWildcardResource(role, resource, reason);
  }

  return new events.Rule(scope, ABORT_CLEANUP_RULE_ID, {
    description: 'recovery-drill: a drill execution ended TIMED_OUT, ABORTED or FAILED: clean up after it',
    eventPattern: {
      source: ['aws.states'],
      detailType: ['Step Functions Execution Status Change'],
      detail: { stateMachineArn: [t.stateMachine.stateMachineArn], status: [...ABORTED_STATUSES] },
    },
    targets: [new targets.LambdaFunction(fn, { retryAttempts: 2, maxEventAge: Duration.hours(2) })],
  });
}
