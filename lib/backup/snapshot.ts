/**
 * The snapshot function's rights: create the day's snapshot of the source tagged managed, copy it
 * to the isolated region with the copy key, share the copy with the isolated account, export it
 * to the bucket; and the role RDS assumes for that export.
 */
import { Aws, Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { rdsKeyUseStatements } from '../drill/kms-grants.ts';
import { acknowledgeWildcardResource } from '../nag.ts';
import type { BackupFunctionEntry } from './backup-function.ts';
import {
  ANY_SNAPSHOT_REASON,
  describeSourceStatement,
  managedSnapshotReason,
  readManagedTagsStatement,
  readSnapshotsStatement,
  type SnapshotGrants,
} from './managed-snapshots.ts';

export const SNAPSHOT_ENTRY: BackupFunctionEntry = {
  id: 'Snapshot',
  file: 'functions/snapshot.ts',
  timeout: Duration.minutes(2),
  description: 'recovery-drill: daily snapshot, isolated copy and optional export',
  starReason:
    'rds:DescribeAccountAttributes (the manual-snapshot quota warning) accepts no resource ARN; it only reads the account quotas.',
};

/** Role `export.rds.amazonaws.com` assumes to write Parquet exports under `exports/` (`ExportRole`). */
export function createExportRole(
  scope: Construct,
  bucket: s3.IBucket,
  bucketKey: kms.IKey,
  account: string,
): iam.Role {
  const role = new iam.Role(scope, 'ExportRole', {
    description: 'recovery-drill: RDS snapshot export writes Parquet under exports/ of the backup bucket',
    assumedBy: new iam.ServicePrincipal('export.rds.amazonaws.com', {
      conditions: { StringEquals: { 'aws:SourceAccount': account } },
    }),
  });
  role.addToPolicy(
    new iam.PolicyStatement({
      actions: ['s3:PutObject', 's3:GetObject', 's3:DeleteObject'],
      resources: [bucket.arnForObjects('exports/*')],
    }),
  );
  role.addToPolicy(
    new iam.PolicyStatement({
      actions: ['s3:ListBucket', 's3:GetBucketLocation'],
      resources: [bucket.bucketArn],
    }),
  );
  role.addToPolicy(
    new iam.PolicyStatement({
      actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
      resources: [bucketKey.keyArn],
    }),
  );
  return role;
}

/** Why the export role's object ARN ends in a wildcard (acknowledged with the other backup wildcards). */
export function acknowledgeExportRole(role: iam.Role, bucket: s3.IBucket): void {
  acknowledgeWildcardResource(
    role,
    bucket.arnForObjects('exports/*'),
    'RDS names the files of each export task itself; the export role is limited to the exports/ prefix.',
  );
}

export interface SnapshotGrantProps {
  readonly grants: SnapshotGrants;
  readonly sourceRegion: string;
  readonly copyRegion: string;
  /** Key (or alias) ARN in the copy region. */
  readonly copyKmsKeyArn: string;
  /** `source.kmsKeyArn`: the source's customer-managed key, or null (AWS-managed, or not configured). */
  readonly sourceKmsKeyArn: string | null;
  /** Account the copies are shared with, when any. */
  readonly copyAccountId?: string;
  readonly exportToS3: boolean;
  /**
   * Keep the source's automated backups replicating to the copy region (config
   * `isolation.pitrReplication`, when the copy region is another region).
   */
  readonly pitrReplication: boolean;
  readonly exportRole: iam.IRole;
  readonly bucketKey: kms.IKey;
}

/** The statements of the snapshot role. */
export function grantSnapshot(role: iam.Role, p: SnapshotGrantProps): void {
  const { grants } = p;
  const partition = Aws.PARTITION;
  const account = Aws.ACCOUNT_ID;
  role.addToPolicy(
    new iam.PolicyStatement({
      sid: 'CreateTaggedSnapshotOfSource',
      actions: ['rds:CreateDBSnapshot'],
      resources: [grants.sourceDbArn, grants.managedSourceSnapshotArn],
      conditions: grants.requestTagged,
    }),
  );
  role.addToPolicy(
    new iam.PolicyStatement({
      sid: 'CopyTaggedSnapshotToIsolation',
      actions: ['rds:CopyDBSnapshot'],
      resources: [grants.managedSourceSnapshotArn, grants.managedCopySnapshotArn],
      conditions: grants.requestTagged,
    }),
  );
  role.addToPolicy(
    new iam.PolicyStatement({
      sid: 'TagOnCreate',
      actions: ['rds:AddTagsToResource'],
      resources: grants.managedSnapshotArns,
      conditions: grants.requestTagged,
    }),
  );
  role.addToPolicy(readSnapshotsStatement(grants));
  role.addToPolicy(describeSourceStatement(grants, 'ReadSource'));
  role.addToPolicy(readManagedTagsStatement(grants));
  role.addToPolicy(
    new iam.PolicyStatement({
      sid: 'ReadSnapshotQuota',
      actions: ['rds:DescribeAccountAttributes'],
      resources: ['*'],
    }),
  );
  // The copy key: its alias is all the source region knows (no cross-region references).
  const copyKey = copyKeyResource(p.copyKmsKeyArn, p.copyRegion);
  role.addToPolicy(
    new iam.PolicyStatement({
      sid: 'EncryptCopyWithIsolationKey',
      actions: ['kms:CreateGrant', 'kms:DescribeKey'],
      resources: [copyKey.resource],
      ...(copyKey.conditions ? { conditions: copyKey.conditions } : {}),
    }),
  );
  if (p.sourceKmsKeyArn !== null) {
    // The configured source key: the copy reads the source snapshot through RDS in either region.
    for (const statement of rdsKeyUseStatements({
      sid: 'ReadSourceSnapshotKey',
      key: p.sourceKmsKeyArn,
      regions: [p.sourceRegion, p.copyRegion],
      actions: ['kms:DescribeKey'],
    }))
      role.addToPolicy(statement);
  } else {
    // source.kmsKeyArn not configured: the source's key (if it is a customer key) is unknown to
    // the stack, so any key of the source region, used by RDS on our behalf only. Kept so that the
    // copies of a source encrypted with a customer key go on after an upgrade; configuring the key
    // narrows this to it.
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ReadSourceSnapshotKeyThroughRds',
        actions: ['kms:CreateGrant', 'kms:DescribeKey'],
        resources: [`arn:${partition}:kms:${p.sourceRegion}:${account}:key/*`],
        conditions: { StringLike: { 'kms:ViaService': 'rds.*.amazonaws.com' } },
      }),
    );
  }
  if (p.pitrReplication) {
    const autoBackups = replicatedBackupsArn(p.copyRegion);
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ReplicateSourceBackupsToIsolation',
        // RDS authorizes the source instance and the replicated backups it creates in the copy region.
        actions: ['rds:StartDBInstanceAutomatedBackupsReplication'],
        resources: [grants.sourceDbArn, autoBackups],
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ReadReplicatedBackups',
        actions: ['rds:DescribeDBInstanceAutomatedBackups'],
        resources: [...grants.dbArns, autoBackups],
      }),
    );
  }
  if (p.copyAccountId !== undefined) {
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ReadSharingOfManagedCopies',
        actions: ['rds:DescribeDBSnapshotAttributes'],
        resources: [grants.managedCopySnapshotArn],
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ShareManagedCopyWithIsolationAccount',
        actions: ['rds:ModifyDBSnapshotAttribute'],
        resources: [grants.managedCopySnapshotArn],
        conditions: grants.resourceTagged,
      }),
    );
  }
  if (p.exportToS3) {
    role.addToPolicy(
      new iam.PolicyStatement({
        // Only the project's own snapshots of the source (the export task names its source ARN).
        sid: 'ExportSnapshotToBucket',
        actions: ['rds:StartExportTask'],
        resources: [grants.managedSourceSnapshotArn],
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'PassExportRole',
        actions: ['iam:PassRole'],
        resources: [p.exportRole.roleArn],
        conditions: { StringEquals: { 'iam:PassedToService': 'export.rds.amazonaws.com' } },
      }),
    );
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'EncryptExport',
        actions: ['kms:CreateGrant', 'kms:DescribeKey'],
        resources: [p.bucketKey.keyArn],
      }),
    );
  }
}

/**
 * The replicated automated backups in the copy region: RDS names them `auto-backup:ab-<random>`
 * when replication starts, so no narrower ARN is known before.
 */
export function replicatedBackupsArn(copyRegion: string): string {
  return `arn:${Aws.PARTITION}:rds:${copyRegion}:${Aws.ACCOUNT_ID}:auto-backup:*`;
}

/** Why the replicated backups' ARN ends in a wildcard (the snapshot and RPO monitor roles). */
export const REPLICATED_BACKUPS_REASON =
  'RDS names the replicated automated backups (auto-backup:ab-<random>) when replication starts; the ARN is limited to this account and the copy region, and the calls to reading them and starting the replication of the source instance.';

/** Why each wildcard resource of the snapshot role cannot be narrower. */
export function acknowledgeSnapshotRole(role: iam.Role, p: SnapshotGrantProps): void {
  if (p.pitrReplication)
    acknowledgeWildcardResource(role, replicatedBackupsArn(p.copyRegion), REPLICATED_BACKUPS_REASON);
  for (const arn of p.grants.managedSnapshotArns)
    acknowledgeWildcardResource(
      role,
      arn,
      managedSnapshotReason(
        p.grants.managedPrefix,
        p.exportToS3 ? 'reading their tags and exporting them to the backup bucket' : 'reading their tags',
      ),
    );
  for (const arn of p.grants.anySnapshotArns) acknowledgeWildcardResource(role, arn, ANY_SNAPSHOT_REASON);
  const copyKey = copyKeyResource(p.copyKmsKeyArn, p.copyRegion);
  if (copyKey.conditions) {
    acknowledgeWildcardResource(
      role,
      copyKey.resource,
      `The copy key is known to this region only by its alias (it lives in ${p.copyRegion}); kms:ResourceAliases limits the statement to that one key.`,
    );
  }
  if (p.sourceKmsKeyArn === null) {
    acknowledgeWildcardResource(
      role,
      `arn:${Aws.PARTITION}:kms:${p.sourceRegion}:${Aws.ACCOUNT_ID}:key/*`,
      "source.kmsKeyArn is not configured, so the source instance's key is not known to the stack: CreateGrant and DescribeKey on any key of the source region, only when RDS makes the call (kms:ViaService rds.*). Configuring source.kmsKeyArn replaces this with that one key.",
    );
  }
}

/** IAM resource (and condition) for the copy key, which may be given as a key ARN or an alias ARN. */
export function copyKeyResource(
  arn: string,
  region: string,
): { resource: string; conditions?: Record<string, Record<string, string>> } {
  const alias = /^arn:[^:]+:kms:[^:]*:[^:]*:(alias\/.+)$/.exec(arn);
  if (!alias) return { resource: arn };
  // IAM evaluates a key's permissions on the key ARN, never the alias ARN: match by alias instead.
  return {
    resource: `arn:${Aws.PARTITION}:kms:${region}:${Aws.ACCOUNT_ID}:key/*`,
    conditions: { 'ForAnyValue:StringEquals': { 'kms:ResourceAliases': alias[1] ?? '' } },
  };
}
