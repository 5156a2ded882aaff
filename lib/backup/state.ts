/**
 * What the backup functions share: the key that encrypts their state, the incident table
 * ("escalate once per incident") and the queue of invocations that failed for good, with the
 * alarm that tells on-call about the queue. Everything is created in the caller's scope, under the
 * construct ids it always had (a construct id is a contract: renaming one replaces the resource).
 */
import { Duration, type RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';

/** The key, the incident table and the failure queue. */
export interface BackupState {
  /** Encrypts the state table and the failure queue. */
  readonly key: kms.Key;
  /** DynamoDB table (partition key `pk`) remembering open incidents. */
  readonly stateTable: dynamodb.Table;
  /** Failed asynchronous invocations (Lambda on-failure, Scheduler and EventBridge dead letters). */
  readonly failureQueue: sqs.Queue;
}

/** Creates the key (`Key`), the table (`StateTable`), the queue (`FailedInvocations`) and its alarm. */
export function createBackupState(
  scope: Construct,
  topic: sns.ITopic,
  removalPolicy: RemovalPolicy,
  account: string,
): BackupState {
  const key = new kms.Key(scope, 'Key', {
    description: 'recovery-drill: encrypts the incident state table and the failed-invocation queue',
    enableKeyRotation: true,
    removalPolicy,
  });
  // EventBridge delivers the RDS event rule's dead letters to the encrypted queue itself.
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'AllowEventBridgeDeadLetters',
      principals: [new iam.ServicePrincipal('events.amazonaws.com')],
      actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
      resources: ['*'],
      conditions: { StringEquals: { 'aws:SourceAccount': account } },
    }),
  );

  const stateTable = new dynamodb.Table(scope, 'StateTable', {
    partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
    encryptionKey: key,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    removalPolicy,
  });

  const failureQueue = new sqs.Queue(scope, 'FailedInvocations', {
    encryption: sqs.QueueEncryption.KMS,
    encryptionMasterKey: key,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
  Validations.of(failureQueue).acknowledge({
    id: 'AwsSolutions-SQS3',
    reason:
      'This queue is itself the dead-letter destination of the backup functions, their schedules and the RDS event rule; an alarm on its depth escalates to the SNS topic, so a queue behind it would only hide failures one level deeper.',
  });
  const alarm = new cloudwatch.Alarm(scope, 'FailedInvocationsAlarm', {
    alarmDescription:
      'recovery-drill: a backup function invocation failed for good (see the FailedInvocations queue); check the function logs, then the runbook',
    metric: failureQueue.metricApproximateNumberOfMessagesVisible({
      period: Duration.minutes(5),
      statistic: 'Maximum',
    }),
    threshold: 1,
    evaluationPeriods: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  alarm.addAlarmAction(new cloudwatchActions.SnsAction(topic));
  return { key, stateTable, failureQueue };
}

/**
 * Lets a Lambda asynchronous invocation's failure record go to a queue without CDK's grant,
 * which would add `kms:GenerateDataKey*`/`kms:ReEncrypt*` wildcard actions; the role gets the
 * exact actions instead (see `allowSendTo`).
 */
export class QueueFailureDestination implements lambda.IDestination {
  constructor(private readonly queue: sqs.IQueue) {}

  bind(): lambda.DestinationConfig {
    return { destination: this.queue.queueArn };
  }
}

/** Lets a role (a function's, the scheduler's) put a message on the encrypted failure queue, exactly. */
export function allowSendTo(role: iam.Role, queue: sqs.IQueue, key: kms.IKey, sid: string): void {
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
