/**
 * The prune function's rights: list both regions, delete only managed snapshots (by id prefix in
 * IAM, by tag in IAM and again in code), write each plan under `prune/` for the audit trail.
 */
import { Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { acknowledgeWildcardResource } from '../nag.ts';
import type { BackupFunctionEntry } from './backup-function.ts';
import {
  ANY_SNAPSHOT_REASON,
  managedSnapshotReason,
  readManagedTagsStatement,
  readSnapshotsStatement,
  type SnapshotGrants,
} from './managed-snapshots.ts';

export const PRUNE_ENTRY: BackupFunctionEntry = {
  id: 'Prune',
  file: 'functions/prune.ts',
  timeout: Duration.minutes(5),
  description: 'recovery-drill: prunes managed snapshots to the daily/monthly retention',
  starReason: 'Only X-Ray.',
};

/** The statements of the prune role. */
export function grantPrune(
  role: iam.Role,
  grants: SnapshotGrants,
  bucket: s3.IBucket,
  bucketKey: kms.IKey,
): void {
  role.addToPolicy(readSnapshotsStatement(grants, 'ListSnapshots'));
  role.addToPolicy(readManagedTagsStatement(grants));
  role.addToPolicy(
    new iam.PolicyStatement({
      sid: 'DeleteOnlyManagedSnapshots',
      actions: ['rds:DeleteDBSnapshot'],
      resources: grants.managedSnapshotArns,
      conditions: grants.resourceTagged,
    }),
  );
  role.addToPolicy(
    new iam.PolicyStatement({
      sid: 'WritePrunePlans',
      actions: ['s3:PutObject'],
      resources: [bucket.arnForObjects('prune/*')],
    }),
  );
  role.addToPolicy(
    new iam.PolicyStatement({
      sid: 'EncryptPrunePlans',
      actions: ['kms:GenerateDataKey'],
      resources: [bucketKey.keyArn],
    }),
  );
}

/** Why each wildcard resource of the prune role cannot be narrower. */
export function acknowledgePruneRole(role: iam.Role, grants: SnapshotGrants, bucket: s3.IBucket): void {
  for (const arn of grants.managedSnapshotArns)
    acknowledgeWildcardResource(role, arn, managedSnapshotReason(grants.managedPrefix));
  for (const arn of grants.anySnapshotArns) acknowledgeWildcardResource(role, arn, ANY_SNAPSHOT_REASON);
  acknowledgeWildcardResource(
    role,
    bucket.arnForObjects('prune/*'),
    'One plan per run at prune/<ISO time>.json for the audit trail; limited to the prune/ prefix, write only.',
  );
}
