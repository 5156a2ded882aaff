/**
 * The artifacts function's rights (write `artifacts/` of the backup bucket) and the custom
 * resource that runs it on every deployment whose artifacts changed.
 */
import { type CustomResource, Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import type { AppArtifacts } from '../artifacts.ts';
import { acknowledgeWildcardResource } from '../nag.ts';
import type { BackupFunctionEntry } from './backup-function.ts';
import { functionResource } from './provider.ts';

export const ARTIFACTS_ENTRY: BackupFunctionEntry = {
  id: 'Artifacts',
  file: 'functions/artifacts.ts',
  timeout: Duration.minutes(2),
  description:
    'recovery-drill: stores the app artifacts (.env.example, Prisma migrations, schema) with checksums',
  starReason: 'Only X-Ray.',
};

/** The statements of the artifacts role. */
export function grantArtifacts(role: iam.Role, bucket: s3.IBucket, bucketKey: kms.IKey): void {
  role.addToPolicy(
    new iam.PolicyStatement({
      sid: 'StoreArtifacts',
      actions: ['s3:PutObject', 's3:GetObject'],
      resources: [bucket.arnForObjects('artifacts/*')],
    }),
  );
  role.addToPolicy(
    new iam.PolicyStatement({
      // HeadObject answers 404 for a missing manifest only to a caller that may list the
      // bucket; without it S3 answers 403 and the idempotency check would fail.
      sid: 'FindStoredArtifacts',
      actions: ['s3:ListBucket'],
      resources: [bucket.bucketArn],
    }),
  );
  role.addToPolicy(
    new iam.PolicyStatement({
      sid: 'EncryptArtifacts',
      actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
      resources: [bucketKey.keyArn],
    }),
  );
}

/** Why the artifacts role's object ARN ends in a wildcard. */
export function acknowledgeArtifactsRole(role: iam.Role, bucket: s3.IBucket): void {
  acknowledgeWildcardResource(
    role,
    bucket.arnForObjects('artifacts/*'),
    'Artifact keys are artifacts/<version>/<path of each migration>, known only at run time; limited to the artifacts/ prefix.',
  );
}

/**
 * Stores the artifacts on every deployment whose artifacts changed (`ArtifactsUpload`): the
 * custom resource's properties change with the artifacts version, so CloudFormation runs it then.
 */
export function artifactsUpload(
  scope: Construct,
  fn: lambda.IFunction,
  artifacts: AppArtifacts,
  logRetention: logs.RetentionDays,
): CustomResource {
  return functionResource(scope, {
    prefix: 'Artifacts',
    id: 'ArtifactsUpload',
    fn,
    logRetention,
    purpose: 'the artifacts upload',
    resourceType: 'Custom::RecoveryDrillArtifacts',
    properties: { version: artifacts.version, files: artifacts.manifest.length },
  });
}
