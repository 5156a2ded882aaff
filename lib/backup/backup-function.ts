/**
 * One backup function: its own log group and role, the rights every backup function has
 * (report a failed invocation to the queue, escalate to the topic), the project's bundling, and
 * its failure handling (two retries, six hours, then the failure queue).
 */
import { Duration, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { functionLogsAndRole, projectFunction } from '../function.ts';
import { allowSendTo, QueueFailureDestination } from './state.ts';

/** Names of the backup functions (also the keys of `BackupFunctions.functions`). */
export type BackupFunctionName = 'snapshot' | 'artifacts' | 'prune' | 'rpoMonitor';

/** What each function module declares about its Lambda. */
export interface BackupFunctionEntry {
  /** Construct id (a contract: renaming replaces the function). */
  readonly id: string;
  /** Entry file relative to the project root. */
  readonly file: string;
  readonly timeout: Duration;
  readonly description: string;
  /** Why the role holds `Resource: *` (IAM offers no narrower resource for these actions). */
  readonly starReason: string;
}

/** What every backup function is wired to. */
export interface BackupFunctionWiring {
  readonly projectRoot: string;
  readonly logRetention: logs.RetentionDays;
  readonly topic: sns.ITopic;
  readonly topicKey?: kms.IKey;
  readonly failureQueue: sqs.IQueue;
  /** The failure queue's key. */
  readonly queueKey: kms.IKey;
}

export interface BackupFunction {
  readonly fn: nodejs.NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
}

export function createBackupFunction(
  scope: Construct,
  name: BackupFunctionName,
  entry: BackupFunctionEntry,
  environment: Record<string, string>,
  wiring: BackupFunctionWiring,
  afterBundling?: (outputDir: string) => string[],
): BackupFunction {
  const { logGroup, role } = functionLogsAndRole(scope, entry.id, entry.description, wiring.logRetention);
  allowSendTo(role, wiring.failureQueue, wiring.queueKey, 'ReportFailedInvocation');
  role.addToPolicy(
    new iam.PolicyStatement({
      sid: 'Escalate',
      actions: ['sns:Publish'],
      resources: [wiring.topic.topicArn],
    }),
  );
  if (wiring.topicKey) {
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'EscalateEncrypted',
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [wiring.topicKey.keyArn],
      }),
    );
  }
  const fn = projectFunction(scope, entry.id, {
    entry: entry.file,
    projectRoot: wiring.projectRoot,
    description: entry.description,
    timeout: entry.timeout,
    role,
    logGroup,
    environment,
    onFailure: new QueueFailureDestination(wiring.failureQueue),
    retryAttempts: 2,
    maxEventAge: Duration.hours(6),
    afterBundling,
  });
  // Lambda checks the on-failure destination against the role's policy when it is configured.
  fn.node.addDependency(role);
  Validations.of(role).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason: `${entry.starReason} X-Ray tracing of the ${name} function: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions.`,
  });
  return { fn, role, logGroup };
}
