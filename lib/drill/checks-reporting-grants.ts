/**
 * The checks and reporting functions' rights. Checks: the drill secret (read, and the login check
 * keeps the admin's session in it for the later checks), the admin password, the captured
 * artifacts, describe drill instances. Reporting: reports in the bucket, escalations to the topic.
 */
import { Aws, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { Config } from '../../functions/core/config.ts';
import { acknowledgeWildcardResource } from '../nag.ts';
import { allow } from './control-grants.ts';

export interface ChecksTargets {
  readonly config: Pick<Config, 'source' | 'drill' | 'smoke'>;
  readonly drillSecret: secretsmanager.ISecret;
  /** The drill secret's key. */
  readonly key: kms.IKey;
  readonly bucket: s3.IBucket;
  readonly bucketKey: kms.IKey;
}

export function grantChecks(checks: lambda.Function, targets: ChecksTargets): void {
  const { config, drillSecret, key } = targets;
  const partition = Aws.PARTITION;
  const account = Aws.ACCOUNT_ID;
  // The drill's region (the region of its data).
  const region = Stack.of(checks).region;
  const prefix = config.drill.instancePrefix;
  const drillDbs = `arn:${partition}:rds:${region}:${account}:db:${prefix}-*`;
  // checks: the drill secret (read, and the login check keeps the admin's session in it for the
  // later checks), the admin password, the captured artifacts, describe drill instances.
  allow(checks, 'ReadDrillSecret', ['secretsmanager:GetSecretValue'], [drillSecret.secretArn]);
  allow(checks, 'KeepSmokeSessionInDrillSecret', ['secretsmanager:PutSecretValue'], [drillSecret.secretArn]);
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
  allow(checks, 'ReadCapturedArtifacts', ['s3:GetObject'], [targets.bucket.arnForObjects('artifacts/*')]);
  allow(checks, 'DecryptBackupBucket', ['kms:Decrypt'], [targets.bucketKey.keyArn]);
  acknowledgeWildcardResource(
    checks.role as iam.Role,
    targets.bucket.arnForObjects('artifacts/*'),
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
}

export interface ReportingTargets {
  readonly bucket: s3.IBucket;
  readonly bucketKey: kms.IKey;
  readonly topic: sns.ITopic;
  readonly topicKey?: kms.IKey;
}

export function grantReporting(reporting: lambda.Function, props: ReportingTargets): void {
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
}
