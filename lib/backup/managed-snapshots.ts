/**
 * The ARNs and conditions the backup roles grant on, built once from the source and the two
 * regions: every managed snapshot id starts with `rd-<source>-` and every managed snapshot carries
 * the managed tag (both from `functions/core/contracts.ts`, the names the functions use).
 */
import { Aws } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { MANAGED_TAG, MANAGED_TAG_VALUE, managedSnapshotPrefix } from '../../functions/core/contracts.ts';

/** Resources and conditions of the snapshot, prune and RPO roles. */
export interface SnapshotGrants {
  /** `rd-<source>-`: managed snapshot ids. */
  readonly managedPrefix: string;
  /** The source instance in the source and the copy region (DescribeDBSnapshots names the instance). */
  readonly dbArns: string[];
  readonly sourceDbArn: string;
  /** Every snapshot in both regions: listing happens before any id is known. */
  readonly anySnapshotArns: string[];
  /** Managed snapshots in both regions. */
  readonly managedSnapshotArns: string[];
  readonly managedSourceSnapshotArn: string;
  readonly managedCopySnapshotArn: string;
  /** Creating and copying must tag the request managed. */
  readonly requestTagged: Record<string, Record<string, string>>;
  /** Deleting and sharing require the snapshot to be tagged managed. */
  readonly resourceTagged: Record<string, Record<string, string>>;
}

export function snapshotGrants(sourceId: string, sourceRegion: string, copyRegion: string): SnapshotGrants {
  const partition = Aws.PARTITION;
  const account = Aws.ACCOUNT_ID;
  const managedPrefix = managedSnapshotPrefix(sourceId);
  const regions = [sourceRegion, copyRegion];
  return {
    managedPrefix,
    dbArns: regions.map((r) => `arn:${partition}:rds:${r}:${account}:db:${sourceId}`),
    sourceDbArn: `arn:${partition}:rds:${sourceRegion}:${account}:db:${sourceId}`,
    anySnapshotArns: regions.map((r) => `arn:${partition}:rds:${r}:${account}:snapshot:*`),
    managedSnapshotArns: regions.map(
      (r) => `arn:${partition}:rds:${r}:${account}:snapshot:${managedPrefix}*`,
    ),
    managedSourceSnapshotArn: `arn:${partition}:rds:${sourceRegion}:${account}:snapshot:${managedPrefix}*`,
    managedCopySnapshotArn: `arn:${partition}:rds:${copyRegion}:${account}:snapshot:${managedPrefix}*`,
    requestTagged: { StringEquals: { [`aws:RequestTag/${MANAGED_TAG}`]: MANAGED_TAG_VALUE } },
    resourceTagged: { StringEquals: { [`aws:ResourceTag/${MANAGED_TAG}`]: MANAGED_TAG_VALUE } },
  };
}

/** Why `rds:DescribeDBSnapshots` on every snapshot cannot be narrower (shared by three roles). */
export const ANY_SNAPSHOT_REASON =
  'rds:DescribeDBSnapshots only: finding the newest snapshot and listing for retention happen before any snapshot id is known; read-only.';

/**
 * Why the managed snapshot ARNs end in a wildcard (shared by the snapshot and prune roles).
 * @param untagged what the role may also do on them without the tag (said, so the reason is whole).
 */
export function managedSnapshotReason(managedPrefix: string, untagged = 'reading their tags'): string {
  return `Managed snapshot ids are ${managedPrefix}<YYYY-MM-DD>, the date varies; creating and copying also require the ${MANAGED_TAG}=true tag on the request, deleting and sharing require it on the snapshot; ${untagged} needs no tag.`;
}

/** `rds:DescribeDBSnapshots` on the source and every snapshot (see {@link ANY_SNAPSHOT_REASON}). */
export function readSnapshotsStatement(grants: SnapshotGrants, sid = 'ReadSnapshots'): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid,
    actions: ['rds:DescribeDBSnapshots'],
    resources: [...grants.dbArns, ...grants.anySnapshotArns],
  });
}

/** `rds:ListTagsForResource` on managed snapshots only. */
export function readManagedTagsStatement(grants: SnapshotGrants): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid: 'ReadTagsOfManagedSnapshots',
    actions: ['rds:ListTagsForResource'],
    resources: grants.managedSnapshotArns,
  });
}

/** `rds:DescribeDBInstances` on the source instance only. */
export function describeSourceStatement(grants: SnapshotGrants, sid: string): iam.PolicyStatement {
  return new iam.PolicyStatement({
    sid,
    actions: ['rds:DescribeDBInstances'],
    resources: [grants.sourceDbArn],
  });
}
