/**
 * The control function's rights: restore the source into drill-named, drill-tagged instances
 * only (with the source's customer key through RDS, when it has one) and delete only those, manage their RDS master secrets, write and blank the drill secret,
 * run and stop the app's task in the drill cluster.
 */
import { Aws, Stack } from 'aws-cdk-lib';
import type * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as rds from 'aws-cdk-lib/aws-rds';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type { Config } from '../../functions/core/config.ts';
import type { AwsDrillFrom } from '../../functions/drill/adapters/aws/rds-origins.ts';
import { DRILL_ID_TAG } from '../../functions/drill/ports/database-recovery.ts';
import { ANY_SNAPSHOT_REASON, managedSnapshotReason, snapshotGrants } from '../backup/managed-snapshots.ts';
import { copyKeyResource } from '../backup/snapshot.ts';
import { acknowledgeWildcardResource } from '../nag.ts';
import { rdsKeyUseStatements } from './kms-grants.ts';

/** The tag RDS puts on the master secret it manages for an instance: that instance's ARN. */
export const RDS_PRIMARY_INSTANCE_TAG = 'aws:rds:primaryDBInstanceArn';

/** One exact statement on a function's role: no grant helper, so no wildcard action sneaks in. */
export function allow(
  fn: lambda.IFunction,
  sid: string,
  actions: string[],
  resources: string[],
  conditions?: Record<string, unknown>,
): void {
  fn.addToRolePolicy(
    new iam.PolicyStatement({ sid, actions, resources, ...(conditions ? { conditions } : {}) }),
  );
}

/** What the control function acts on. */
export interface ControlTargets {
  readonly config: Pick<Config, 'source' | 'drill'>;
  readonly subnetGroup: rds.ISubnetGroup;
  readonly drillSecret: secretsmanager.ISecret;
  /** The drill secret's key. */
  readonly key: kms.IKey;
  readonly cluster: ecs.ICluster;
  readonly appTask: ecs.FargateTaskDefinition;
  /**
   * The origins this drill restores from (those whose data lives in its region).
   * @default ['source']
   */
  readonly servesFrom?: readonly AwsDrillFrom[];
  /** The key (or alias) ARN of the snapshot copies, to restore one (`isolated-snapshot`). */
  readonly copyKmsKeyArn?: string;
}

export function grantControl(control: lambda.Function, targets: ControlTargets): void {
  const { config, subnetGroup, drillSecret, key, cluster, appTask } = targets;
  const servesFrom = targets.servesFrom ?? ['source'];
  const partition = Aws.PARTITION;
  const account = Aws.ACCOUNT_ID;
  // The drill's region (the region of its data); the source instance lives in source.region.
  const region = Stack.of(control).region;
  const prefix = config.drill.instancePrefix;
  // control: RDS restore into drill-named, drill-tagged instances only; delete only those.
  const db = (name: string) => `arn:${partition}:rds:${region}:${account}:db:${name}`;
  const sourceDb = `arn:${partition}:rds:${config.source.region}:${account}:db:${config.source.dbInstanceIdentifier}`;
  const drillDbs = db(`${prefix}-*`);
  const restoreSources = [
    ...(servesFrom.includes('source') ? [sourceDb] : []),
    // The replicated automated backups (SourceDBInstanceAutomatedBackupsArn) have a generated id.
    ...(servesFrom.includes('isolated-region')
      ? [`arn:${partition}:rds:${region}:${account}:auto-backup:*`]
      : []),
  ];
  const managedCopies = snapshotGrants(
    config.source.dbInstanceIdentifier,
    config.source.region,
    region,
  ).managedCopySnapshotArn;
  const requestTagged = { Null: { [`aws:RequestTag/${DRILL_ID_TAG}`]: 'false' } };
  const resourceTagged = { Null: { [`aws:ResourceTag/${DRILL_ID_TAG}`]: 'false' } };
  control.addToRolePolicy(
    new iam.PolicyStatement({
      sid: 'DescribeSourceAndDrillInstances',
      actions: ['rds:DescribeDBInstances'],
      resources: [sourceDb, drillDbs],
    }),
  );
  control.addToRolePolicy(
    new iam.PolicyStatement({
      sid: 'ReadRestorableWindow',
      actions: ['rds:DescribeDBInstanceAutomatedBackups'],
      resources: [`arn:${partition}:rds:${region}:${account}:auto-backup:*`, sourceDb],
    }),
  );
  // A source encrypted with a customer key: the drill instance keeps that key (a point-in-time
  // restore cannot change it), so RDS uses it with the caller's rights to restore and write.
  if (config.source.kmsKeyArn !== null && servesFrom.includes('source')) {
    for (const statement of rdsKeyUseStatements({
      sid: 'RestoreWithSourceKey',
      key: config.source.kmsKeyArn,
      regions: [region],
    }))
      control.addToRolePolicy(statement);
  }
  const placement = [
    drillDbs,
    `arn:${partition}:rds:${region}:${account}:subgrp:${subnetGroup.subnetGroupName}`,
    `arn:${partition}:rds:${region}:${account}:pg:*`,
    `arn:${partition}:rds:${region}:${account}:og:*`,
  ];
  if (restoreSources.length > 0) {
    control.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'RestoreIntoTaggedDrillInstance',
        actions: ['rds:RestoreDBInstanceToPointInTime', 'rds:AddTagsToResource'],
        resources: [...restoreSources, ...placement],
        conditions: requestTagged,
      }),
    );
  }
  if (servesFrom.includes('isolated-snapshot')) {
    // The newest managed copy in this region: listed (ids unknown before), restored by its prefix.
    control.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'FindSnapshotCopies',
        actions: ['rds:DescribeDBSnapshots'],
        resources: [`arn:${partition}:rds:${region}:${account}:snapshot:*`],
      }),
    );
    control.addToRolePolicy(
      new iam.PolicyStatement({
        sid: 'RestoreSnapshotCopyIntoTaggedDrillInstance',
        actions: ['rds:RestoreDBInstanceFromDBSnapshot', 'rds:AddTagsToResource'],
        resources: [managedCopies, ...placement],
        conditions: requestTagged,
      }),
    );
    if (targets.copyKmsKeyArn) {
      // RDS reads an encrypted snapshot (and encrypts the instance) through a grant on its key.
      const copyKey = copyKeyResource(targets.copyKmsKeyArn, region);
      control.addToRolePolicy(
        new iam.PolicyStatement({
          sid: 'RestoreEncryptedSnapshotCopy',
          actions: ['kms:CreateGrant', 'kms:DescribeKey', 'kms:Decrypt', 'kms:GenerateDataKey'],
          resources: [copyKey.resource],
          ...(copyKey.conditions ? { conditions: copyKey.conditions } : {}),
        }),
      );
      if (copyKey.conditions)
        acknowledgeWildcardResource(
          control.role as iam.Role,
          copyKey.resource,
          'The snapshot copy key is known here only by its alias; kms:ResourceAliases limits the statement to that one key.',
        );
    }
  }
  control.addToRolePolicy(
    new iam.PolicyStatement({
      sid: 'DeleteOnlyDrillTaggedInstances',
      actions: ['rds:DeleteDBInstance'],
      resources: [drillDbs],
      conditions: resourceTagged,
    }),
  );
  control.addToRolePolicy(
    new iam.PolicyStatement({
      sid: 'ReadDrillInstanceMasterSecret',
      actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
      resources: [`arn:${partition}:secretsmanager:${region}:${account}:secret:rds!db-*`],
      conditions: { StringLike: { [`aws:ResourceTag/${RDS_PRIMARY_INSTANCE_TAG}`]: drillDbs } },
    }),
  );
  // RDS creates (and deletes) each drill instance's managed master secret on the caller's behalf,
  // tagging it with the instance's ARN: creation must carry a drill instance's ARN, deletion must
  // find it on the secret.
  allow(
    control,
    'CreateDrillInstanceMasterSecret',
    ['secretsmanager:CreateSecret', 'secretsmanager:TagResource'],
    [`arn:${partition}:secretsmanager:${region}:${account}:secret:rds!db-*`],
    { StringLike: { [`aws:RequestTag/${RDS_PRIMARY_INSTANCE_TAG}`]: drillDbs } },
  );
  allow(
    control,
    'DeleteDrillInstanceMasterSecret',
    ['secretsmanager:DeleteSecret'],
    [`arn:${partition}:secretsmanager:${region}:${account}:secret:rds!db-*`],
    { StringLike: { [`aws:ResourceTag/${RDS_PRIMARY_INSTANCE_TAG}`]: drillDbs } },
  );
  allow(
    control,
    'WriteAndBlankDrillSecret',
    ['secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue', 'secretsmanager:DescribeSecret'],
    [drillSecret.secretArn],
  );
  allow(control, 'EncryptDrillSecret', ['kms:Decrypt', 'kms:Encrypt', 'kms:GenerateDataKey'], [key.keyArn]);
  control.addToRolePolicy(
    new iam.PolicyStatement({
      sid: 'RunAndStopAppTask',
      actions: ['ecs:RunTask'],
      resources: [appTask.taskDefinitionArn],
      conditions: { ArnEquals: { 'ecs:cluster': cluster.clusterArn } },
    }),
  );
  control.addToRolePolicy(
    new iam.PolicyStatement({
      sid: 'FollowAndStopAppTasks',
      actions: ['ecs:DescribeTasks', 'ecs:StopTask', 'ecs:ListTasks'],
      resources: [
        `arn:${partition}:ecs:${region}:${account}:task/${cluster.clusterName}/*`,
        `arn:${partition}:ecs:${region}:${account}:container-instance/${cluster.clusterName}/*`,
      ],
      conditions: { ArnEquals: { 'ecs:cluster': cluster.clusterArn } },
    }),
  );
  control.addToRolePolicy(
    new iam.PolicyStatement({
      sid: 'PassAppTaskRoles',
      actions: ['iam:PassRole'],
      resources: [appTask.taskRole.roleArn, appTask.obtainExecutionRole().roleArn],
    }),
  );

  const controlRole = control.role as iam.Role;
  if (servesFrom.includes('isolated-snapshot')) {
    acknowledgeWildcardResource(
      controlRole,
      `arn:${partition}:rds:${region}:${account}:snapshot:*`,
      ANY_SNAPSHOT_REASON,
    );
    acknowledgeWildcardResource(
      controlRole,
      managedCopies,
      `${managedSnapshotReason(snapshotGrants(config.source.dbInstanceIdentifier, config.source.region, region).managedPrefix)} Here: restored from only, into a drill-tagged instance.`,
    );
  }
  for (const [resource, reason] of [
    [
      drillDbs,
      `Drill instances are named "${prefix}-<drill id>" at run time; deleting them also requires the drill-id tag.`,
    ],
    [
      `arn:${partition}:rds:${region}:${account}:auto-backup:*`,
      servesFrom.includes('isolated-region')
        ? 'The automated-backup ARN of the source (replicated to this region) has a generated id; Describe, and restoring from it only into a drill-tagged instance.'
        : 'The automated-backup ARN of the source has a generated id; only Describe is allowed on it.',
    ],
    [
      `arn:${partition}:rds:${region}:${account}:pg:*`,
      "A point-in-time restore uses the source's parameter group, whose name is not part of the configuration; the restore must carry the drill-id tag.",
    ],
    [
      `arn:${partition}:rds:${region}:${account}:og:*`,
      "A point-in-time restore uses the source's option group, whose name is not part of the configuration; the restore must carry the drill-id tag.",
    ],
    [
      `arn:${partition}:secretsmanager:${region}:${account}:secret:rds!db-*`,
      'RDS names the managed master secret of each drill instance at random. Every statement on it is limited by the aws:rds:primaryDBInstanceArn tag RDS sets to a drill-named instance: reading and deleting by the tag on the secret, creating and tagging by the tag on the request. No other secret of Secrets Manager is reachable.',
    ],
    [
      `arn:${partition}:ecs:${region}:${account}:task/${cluster.clusterName}/*`,
      'App tasks get their ids at run time; DescribeTasks, StopTask and ListTasks are allowed only on task ids of the drill cluster and only with ecs:cluster equal to the drill cluster.',
    ],
    [
      `arn:${partition}:ecs:${region}:${account}:container-instance/${cluster.clusterName}/*`,
      'ListTasks is authorized on container instances of the drill cluster (Fargate has none; kept to the cluster).',
    ],
  ] as const) {
    acknowledgeWildcardResource(controlRole, resource, reason);
  }
}
