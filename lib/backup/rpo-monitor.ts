/**
 * The RPO monitor's rights: read the source's restorable time and the snapshots of both regions,
 * and remember open incidents in the state table (through DynamoDB only).
 */
import { Duration } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { acknowledgeWildcardResource } from '../nag.ts';
import type { BackupFunctionEntry } from './backup-function.ts';
import {
  ANY_SNAPSHOT_REASON,
  describeSourceStatement,
  readSnapshotsStatement,
  type SnapshotGrants,
} from './managed-snapshots.ts';
import { REPLICATED_BACKUPS_REASON, replicatedBackupsArn } from './snapshot.ts';

export const RPO_MONITOR_ENTRY: BackupFunctionEntry = {
  id: 'RpoMonitor',
  file: 'functions/rpo-monitor.ts',
  timeout: Duration.minutes(1),
  description:
    'recovery-drill: escalates when the restorable-time lag or the newest snapshot exceeds the RPO',
  starReason: 'Only X-Ray.',
};

/** The statements of the RPO monitor's role. */
export function grantRpoMonitor(
  role: iam.Role,
  grants: SnapshotGrants,
  stateTable: dynamodb.ITable,
  stateKey: kms.IKey,
  sourceRegion: string,
  /** The copy region, when the replicated restore window there is watched too. */
  replicatedIn: string | null = null,
): void {
  role.addToPolicy(describeSourceStatement(grants, 'ReadRestorableTime'));
  if (replicatedIn !== null) {
    role.addToPolicy(
      new iam.PolicyStatement({
        sid: 'ReadReplicatedRestoreWindow',
        actions: ['rds:DescribeDBInstanceAutomatedBackups'],
        resources: [...grants.dbArns, replicatedBackupsArn(replicatedIn)],
      }),
    );
  }
  role.addToPolicy(readSnapshotsStatement(grants));
  role.addToPolicy(
    new iam.PolicyStatement({
      sid: 'RememberIncidents',
      actions: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
      resources: [stateTable.tableArn],
    }),
  );
  role.addToPolicy(
    new iam.PolicyStatement({
      sid: 'RememberIncidentsEncrypted',
      actions: ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey', 'kms:DescribeKey'],
      resources: [stateKey.keyArn],
      conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${sourceRegion}.amazonaws.com` } },
    }),
  );
}

/** Why each wildcard resource of the RPO monitor's role cannot be narrower. */
export function acknowledgeRpoMonitorRole(
  role: iam.Role,
  grants: SnapshotGrants,
  replicatedIn: string | null = null,
): void {
  if (replicatedIn !== null)
    acknowledgeWildcardResource(role, replicatedBackupsArn(replicatedIn), REPLICATED_BACKUPS_REASON);
  for (const arn of grants.anySnapshotArns) acknowledgeWildcardResource(role, arn, ANY_SNAPSHOT_REASON);
}
