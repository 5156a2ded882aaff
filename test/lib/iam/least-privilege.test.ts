/**
 * Least privilege, proven offline: the synthesized stack's roles and resource policies evaluated by
 * an IAM simulator (`@cloud-copilot/iam-simulate`). The calls each function makes are derived from
 * its code (sdk-calls.ts: its bundle's files, the SDK commands its code reaches); the state
 * machine's from its synthesized definition (the ASL's service integrations); the ECS execution
 * role's from the task definition. Each call must be allowed on the resources it needs (the
 * NEEDS table says which: the one hand-written part, checked to cover exactly the derived calls),
 * and the calls in DENIED must be denied.
 *
 * What the simulator cannot evaluate, and this test therefore does not claim: service control
 * policies and permission boundaries of the target account (none are modelled), and calls that
 * AWS services make with their own service-linked roles.
 */
import { runSimulation } from '@cloud-copilot/iam-simulate';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../../functions/core/config.ts';
import { MANAGED_TAG, MANAGED_TAG_VALUE, managedSnapshotPrefix } from '../../../functions/core/contracts.ts';
import { snapshotIdFor } from '../../../functions/core/snapshot-naming.ts';
import { drillInstanceId } from '../../../functions/drill/drill-id.ts';
import { DRILL_ID_TAG } from '../../../functions/drill/ports/database-recovery.ts';
import { buildApp } from '../../../lib/app.ts';
import { ENTRY_METADATA, PROJECT_ROOT } from '../../../lib/function.ts';
import { deploymentName } from '../../../lib/names.ts';
import type { RecoveryDrillStack } from '../../../lib/recovery-drill-stack.ts';
import { appFiles, makeApp, makeConfig, makeTree, removeDir } from '../fixtures.ts';
import { bundleFiles, CallGraph, callsOfEntry, type SdkCall } from './sdk-calls.ts';
import { ACCOUNT, Deployment, type Template } from './template-policies.ts';

type Decision = 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';

/** One authorization request: what AWS checks for a call. */
interface Need {
  readonly action: string;
  readonly resource: string;
  readonly context?: Record<string, string | string[]>;
  /** Why the call needs it (shown when it is refused). */
  readonly why?: string;
  /** The account that owns the resource. @default ACCOUNT - the source account */
  readonly account?: string;
}

/** The resource names of the imagined deployment that the needs and the denials are written in. */
interface World {
  readonly region: string;
  readonly copyRegion: string;
  readonly sourceDb: string;
  readonly drillDb: string;
  readonly drillId: string;
  readonly drillSubnetGroup: string;
  readonly drillMasterSecret: string;
  readonly drillSecret: string;
  readonly bucket: string;
  readonly bucketKey: string;
  readonly topic: string;
  readonly topicKey: string | null;
  readonly stateTable: string;
  readonly stateKey: string;
  readonly cluster: string;
  readonly taskDefinition: string;
  readonly taskRole: string;
  readonly executionRole: string;
  readonly stateMachine: string;
  readonly managedSnapshot: string;
  readonly managedCopy: string;
  readonly exportRole: string;
  /** The drill secret's key. */
  readonly drillKey: string;
  /** `source.kmsKeyArn`: the customer key the source (and so each drill instance) is encrypted with. */
  readonly sourceKey: string;
  /** The copy key as IAM sees it (a key ARN; the stack names it by alias). */
  readonly copyKey: string;
  readonly copyKeyAlias: string;
  /** The replicated automated backups of the source in the copy region. */
  readonly replicatedBackups: string;
  /** The isolation account, and one of its own copies. */
  readonly copyAccount: string;
  readonly copyAccountSnapshot: string;
  /** The drill state machine in the copy region (started by name from the source region). */
  readonly copyStateMachine: string;
}

const arn = (w: World, service: string, resource: string, region = w.region) =>
  `arn:aws:${service}:${region}:${ACCOUNT}:${resource}`;

const drillTagged = (w: World) => ({ [`aws:RequestTag/${DRILL_ID_TAG}`]: w.drillId });
const managedTagged = { [`aws:RequestTag/${MANAGED_TAG}`]: MANAGED_TAG_VALUE };
/** A KMS request RDS makes with the caller's rights, in `region`. */
const viaRds = (region: string) => ({ 'kms:ViaService': `rds.${region}.amazonaws.com` });
/** A grant RDS creates for the instance or snapshot it makes. */
const rdsGrant = (region: string) => ({ ...viaRds(region), 'kms:GrantIsForAWSResource': 'true' });

/**
 * What each derived call needs, per entry file: `<client>:<Command>` → the authorization requests
 * AWS makes for it (the command's action on each resource it names, and the actions AWS documents
 * as required beside it, e.g. the tags a create call carries).
 */
/**
 * The source region's drill serves only the source: a drill from the isolated copy runs in the copy
 * region's stack (its calls are simulated in copy-region.test.ts); here they are refused in code
 * (RdsRecovery.servesFrom) before AWS is asked, and this stack's roles hold no right for them.
 */
const copyRegionOnly = (): Need[] => [];

const NEEDS: Record<string, Record<string, (w: World) => Need[]>> = {
  'functions/drill-control.ts': {
    'client-rds:DescribeDBSnapshotsCommand': copyRegionOnly,
    'client-rds:RestoreDBInstanceFromDBSnapshotCommand': copyRegionOnly,
    'client-rds:DescribeDBInstancesCommand': (w) => [
      { action: 'rds:DescribeDBInstances', resource: w.sourceDb },
      { action: 'rds:DescribeDBInstances', resource: w.drillDb },
    ],
    'client-rds:DescribeDBInstanceAutomatedBackupsCommand': (w) => [
      { action: 'rds:DescribeDBInstanceAutomatedBackups', resource: w.sourceDb },
    ],
    'client-rds:RestoreDBInstanceToPointInTimeCommand': (w) => [
      { action: 'rds:RestoreDBInstanceToPointInTime', resource: w.sourceDb, context: drillTagged(w) },
      { action: 'rds:RestoreDBInstanceToPointInTime', resource: w.drillDb, context: drillTagged(w) },
      {
        action: 'rds:RestoreDBInstanceToPointInTime',
        resource: arn(w, 'rds', `subgrp:${w.drillSubnetGroup}`),
        context: drillTagged(w),
        why: 'the drill subnet group',
      },
      { action: 'rds:AddTagsToResource', resource: w.drillDb, context: drillTagged(w) },
      {
        action: 'secretsmanager:CreateSecret',
        resource: w.drillMasterSecret,
        context: { 'aws:RequestTag/aws:rds:primaryDBInstanceArn': w.drillDb },
        why: 'ManageMasterUserPassword: RDS creates the master secret with the caller’s rights',
      },
      {
        action: 'secretsmanager:TagResource',
        resource: w.drillMasterSecret,
        context: { 'aws:RequestTag/aws:rds:primaryDBInstanceArn': w.drillDb },
      },
      // The source's customer key: RDS restores and writes the drill instance with it.
      ...['kms:DescribeKey', 'kms:Decrypt', 'kms:GenerateDataKey', 'kms:GenerateDataKeyWithoutPlaintext'].map(
        (action) => ({
          action,
          resource: w.sourceKey,
          context: viaRds(w.region),
          why: 'RDS uses the source key with the caller’s rights',
        }),
      ),
      {
        action: 'kms:CreateGrant',
        resource: w.sourceKey,
        context: rdsGrant(w.region),
        why: 'the drill instance’s grant on the source key',
      },
    ],
    'client-rds:DeleteDBInstanceCommand': (w): Need[] => [
      {
        action: 'rds:DeleteDBInstance',
        resource: w.drillDb,
        context: { [`aws:ResourceTag/${DRILL_ID_TAG}`]: w.drillId },
      },
      {
        action: 'secretsmanager:DeleteSecret',
        resource: w.drillMasterSecret,
        context: { 'aws:ResourceTag/aws:rds:primaryDBInstanceArn': w.drillDb },
        why: 'RDS deletes the managed master secret with the instance',
      },
    ],
    'client-secrets-manager:GetSecretValueCommand': (w) => [
      {
        action: 'secretsmanager:GetSecretValue',
        resource: w.drillMasterSecret,
        context: { 'aws:ResourceTag/aws:rds:primaryDBInstanceArn': w.drillDb },
      },
      { action: 'secretsmanager:GetSecretValue', resource: w.drillSecret },
      { action: 'kms:Decrypt', resource: w.drillKey },
    ],
    'client-secrets-manager:PutSecretValueCommand': (w) => [
      { action: 'secretsmanager:PutSecretValue', resource: w.drillSecret },
      { action: 'kms:GenerateDataKey', resource: w.drillKey },
    ],
    'client-ecs:RunTaskCommand': (w) => [
      { action: 'ecs:RunTask', resource: w.taskDefinition, context: { 'ecs:cluster': w.cluster } },
      { action: 'iam:PassRole', resource: w.taskRole },
      { action: 'iam:PassRole', resource: w.executionRole },
    ],
    'client-ecs:DescribeTasksCommand': (w) => [
      { action: 'ecs:DescribeTasks', resource: taskIn(w, w.cluster), context: { 'ecs:cluster': w.cluster } },
    ],
    'client-ecs:StopTaskCommand': (w) => [
      { action: 'ecs:StopTask', resource: taskIn(w, w.cluster), context: { 'ecs:cluster': w.cluster } },
    ],
    'client-ecs:ListTasksCommand': (w) => [
      {
        action: 'ecs:ListTasks',
        resource: arn(w, 'ecs', `container-instance/${clusterName(w.cluster)}/0123456789abcdef`),
        context: { 'ecs:cluster': w.cluster },
      },
    ],
  },
  'functions/drill-abort-cleanup.ts': {
    'client-rds:DescribeDBInstancesCommand': (w) => [
      { action: 'rds:DescribeDBInstances', resource: w.drillDb },
    ],
    'client-rds:DeleteDBInstanceCommand': (w): Need[] => [
      {
        action: 'rds:DeleteDBInstance',
        resource: w.drillDb,
        context: { [`aws:ResourceTag/${DRILL_ID_TAG}`]: w.drillId },
      },
      {
        action: 'secretsmanager:DeleteSecret',
        resource: w.drillMasterSecret,
        context: { 'aws:ResourceTag/aws:rds:primaryDBInstanceArn': w.drillDb },
      },
    ],
    'client-secrets-manager:GetSecretValueCommand': (w) => [
      {
        action: 'secretsmanager:GetSecretValue',
        resource: w.drillSecret,
        why: 'whose drill the secret holds',
      },
      { action: 'kms:Decrypt', resource: w.drillKey },
    ],
    'client-secrets-manager:PutSecretValueCommand': (w) => [
      { action: 'secretsmanager:PutSecretValue', resource: w.drillSecret },
      { action: 'kms:GenerateDataKey', resource: w.drillKey },
    ],
    'client-ecs:ListTasksCommand': (w) => [
      {
        action: 'ecs:ListTasks',
        resource: arn(w, 'ecs', `container-instance/${clusterName(w.cluster)}/0123456789abcdef`),
        context: { 'ecs:cluster': w.cluster },
      },
    ],
    'client-ecs:StopTaskCommand': (w) => [
      { action: 'ecs:StopTask', resource: taskIn(w, w.cluster), context: { 'ecs:cluster': w.cluster } },
    ],
    'client-sns:PublishCommand': (w) => [
      { action: 'sns:Publish', resource: w.topic },
      ...(w.topicKey ? [{ action: 'kms:GenerateDataKey', resource: w.topicKey }] : []),
    ],
  },
  'functions/drill-checks.ts': {
    'client-rds:DescribeDBInstancesCommand': (w) => [
      { action: 'rds:DescribeDBInstances', resource: w.drillDb },
    ],
    'client-s3:GetObjectCommand': (w) => [
      { action: 's3:GetObject', resource: `arn:aws:s3:::${w.bucket}/artifacts/1.4.2/manifest.json` },
      { action: 'kms:Decrypt', resource: w.bucketKey },
    ],
    'client-secrets-manager:GetSecretValueCommand': (w) => [
      { action: 'secretsmanager:GetSecretValue', resource: w.drillSecret },
      { action: 'kms:Decrypt', resource: w.drillKey },
    ],
    'client-secrets-manager:PutSecretValueCommand': (w) => [
      { action: 'secretsmanager:PutSecretValue', resource: w.drillSecret },
      { action: 'kms:GenerateDataKey', resource: w.drillKey },
    ],
  },
  'functions/drill-reporting.ts': {
    'client-s3:GetObjectCommand': (w) => [
      { action: 's3:GetObject', resource: `arn:aws:s3:::${w.bucket}/reports/index.json` },
      { action: 'kms:Decrypt', resource: w.bucketKey },
    ],
    'client-s3:PutObjectCommand': (w) => [
      { action: 's3:PutObject', resource: `arn:aws:s3:::${w.bucket}/reports/${w.drillId}/report.json` },
      { action: 'kms:GenerateDataKey', resource: w.bucketKey },
    ],
    'client-sns:PublishCommand': (w) => [
      { action: 'sns:Publish', resource: w.topic },
      ...(w.topicKey ? [{ action: 'kms:GenerateDataKey', resource: w.topicKey }] : []),
    ],
    'client-dynamodb:PutItemCommand': (w) => [{ action: 'dynamodb:PutItem', resource: w.stateTable }],
    'client-dynamodb:UpdateItemCommand': (w) => [{ action: 'dynamodb:UpdateItem', resource: w.stateTable }],
  },
  'functions/drill-start.ts': {
    'client-rds:DescribeDBSnapshotsCommand': (w) => [
      {
        action: 'rds:DescribeDBSnapshots',
        resource: arn(w, 'rds', 'snapshot:*', w.copyRegion),
        why: "the snapshot copies' window, before a drill from the isolated snapshot starts",
      },
    ],
    'client-rds:DescribeDBInstancesCommand': (w) => [
      { action: 'rds:DescribeDBInstances', resource: w.sourceDb },
    ],
    'client-rds:DescribeDBInstanceAutomatedBackupsCommand': (w) => [
      { action: 'rds:DescribeDBInstanceAutomatedBackups', resource: w.sourceDb },
      {
        action: 'rds:DescribeDBInstanceAutomatedBackups',
        resource: arn(w, 'rds', 'auto-backup:ab-replicated-1234', w.copyRegion),
        why: 'the replicated backups window, before a drill from the isolated region starts',
      },
    ],
    'client-sfn:ListExecutionsCommand': (w) => [
      { action: 'states:ListExecutions', resource: w.stateMachine },
      {
        action: 'states:ListExecutions',
        resource: w.copyStateMachine,
        why: 'one drill at a time in either region',
      },
    ],
    'client-sfn:StartExecutionCommand': (w) => [
      { action: 'states:StartExecution', resource: w.stateMachine },
      {
        action: 'states:StartExecution',
        resource: w.copyStateMachine,
        why: 'a drill from the isolated copy',
      },
    ],
  },
  'functions/snapshot.ts': {
    'client-rds:DescribeDBInstancesCommand': (w) => [
      { action: 'rds:DescribeDBInstances', resource: w.sourceDb },
    ],
    'client-rds:DescribeDBInstanceAutomatedBackupsCommand': (w) => [
      { action: 'rds:DescribeDBInstanceAutomatedBackups', resource: w.sourceDb },
      { action: 'rds:DescribeDBInstanceAutomatedBackups', resource: w.replicatedBackups },
    ],
    'client-rds:StartDBInstanceAutomatedBackupsReplicationCommand': (w) => [
      { action: 'rds:StartDBInstanceAutomatedBackupsReplication', resource: w.sourceDb },
      { action: 'rds:StartDBInstanceAutomatedBackupsReplication', resource: w.replicatedBackups },
      {
        action: 'kms:CreateGrant',
        resource: w.copyKey,
        context: { 'kms:ResourceAliases': [w.copyKeyAlias] },
        why: 'RDS encrypts the replicated backups with the copy key',
      },
    ],
    'client-kms:DescribeKeyCommand': (w) => [
      {
        action: 'kms:DescribeKey',
        resource: w.copyKey,
        context: { 'kms:ResourceAliases': [w.copyKeyAlias] },
      },
    ],
    'client-rds:CreateDBSnapshotCommand': (w) => [
      { action: 'rds:CreateDBSnapshot', resource: w.sourceDb, context: managedTagged },
      { action: 'rds:CreateDBSnapshot', resource: w.managedSnapshot, context: managedTagged },
      { action: 'rds:AddTagsToResource', resource: w.managedSnapshot, context: managedTagged },
    ],
    'client-rds:CopyDBSnapshotCommand': (w) => [
      { action: 'rds:CopyDBSnapshot', resource: w.managedSnapshot, context: managedTagged },
      { action: 'rds:CopyDBSnapshot', resource: w.managedCopy, context: managedTagged },
      { action: 'rds:AddTagsToResource', resource: w.managedCopy, context: managedTagged },
      {
        action: 'kms:DescribeKey',
        resource: w.sourceKey,
        context: viaRds(w.region),
        why: 'the source snapshot’s key',
      },
      { action: 'kms:CreateGrant', resource: w.sourceKey, context: rdsGrant(w.region) },
      ...['kms:DescribeKey', 'kms:CreateGrant'].map((action) => ({
        action,
        resource: w.copyKey,
        context: { 'kms:ResourceAliases': [w.copyKeyAlias] },
        why: 'the copy key, known by its alias',
      })),
    ],
    'client-rds:DescribeAccountAttributesCommand': () => [
      { action: 'rds:DescribeAccountAttributes', resource: '*' },
    ],
    'client-rds:DescribeDBSnapshotAttributesCommand': (w) => [
      { action: 'rds:DescribeDBSnapshotAttributes', resource: w.managedCopy },
    ],
    'client-rds:DescribeDBSnapshotsCommand': (w) => [
      { action: 'rds:DescribeDBSnapshots', resource: w.sourceDb },
      { action: 'rds:DescribeDBSnapshots', resource: w.managedSnapshot },
      { action: 'rds:DescribeDBSnapshots', resource: w.managedCopy },
    ],
    'client-rds:ModifyDBSnapshotAttributeCommand': (w) => [
      {
        action: 'rds:ModifyDBSnapshotAttribute',
        resource: w.managedCopy,
        context: { [`aws:ResourceTag/${MANAGED_TAG}`]: MANAGED_TAG_VALUE },
      },
    ],
    'client-rds:StartExportTaskCommand': (w) => [
      { action: 'rds:StartExportTask', resource: w.managedSnapshot },
      {
        action: 'iam:PassRole',
        resource: w.exportRole,
        context: { 'iam:PassedToService': 'export.rds.amazonaws.com' },
      },
    ],
    'client-sns:PublishCommand': (w) => [{ action: 'sns:Publish', resource: w.topic }],
  },
  'functions/prune.ts': {
    'client-rds:DescribeDBSnapshotsCommand': (w) => [
      { action: 'rds:DescribeDBSnapshots', resource: w.sourceDb },
      { action: 'rds:DescribeDBSnapshots', resource: w.managedCopy },
    ],
    'client-rds:DeleteDBSnapshotCommand': (w) => [
      {
        action: 'rds:DeleteDBSnapshot',
        resource: w.managedSnapshot,
        context: { [`aws:ResourceTag/${MANAGED_TAG}`]: MANAGED_TAG_VALUE },
      },
      {
        action: 'rds:DeleteDBSnapshot',
        resource: w.managedCopy,
        context: { [`aws:ResourceTag/${MANAGED_TAG}`]: MANAGED_TAG_VALUE },
      },
    ],
    'client-s3:PutObjectCommand': (w) => [
      { action: 's3:PutObject', resource: `arn:aws:s3:::${w.bucket}/prune/2026-12-01T03:00:00.000Z.json` },
      { action: 'kms:GenerateDataKey', resource: w.bucketKey },
    ],
    'client-sns:PublishCommand': (w) => [{ action: 'sns:Publish', resource: w.topic }],
  },
  'functions/artifacts.ts': {
    'client-s3:GetObjectCommand': (w) => [
      { action: 's3:GetObject', resource: `arn:aws:s3:::${w.bucket}/artifacts/1.4.2/manifest.json` },
      { action: 'kms:Decrypt', resource: w.bucketKey },
    ],
    'client-s3:ListObjectsV2Command': (w) => [
      { action: 's3:ListBucket', resource: `arn:aws:s3:::${w.bucket}` },
    ],
    'client-s3:PutObjectCommand': (w) => [
      { action: 's3:PutObject', resource: `arn:aws:s3:::${w.bucket}/artifacts/1.4.2/manifest.json` },
      { action: 'kms:GenerateDataKey', resource: w.bucketKey },
    ],
    'client-sns:PublishCommand': (w) => [{ action: 'sns:Publish', resource: w.topic }],
  },
  'functions/rpo-monitor.ts': {
    'client-rds:DescribeDBInstancesCommand': (w) => [
      { action: 'rds:DescribeDBInstances', resource: w.sourceDb },
    ],
    'client-rds:DescribeDBInstanceAutomatedBackupsCommand': (w) => [
      { action: 'rds:DescribeDBInstanceAutomatedBackups', resource: w.sourceDb },
      { action: 'rds:DescribeDBInstanceAutomatedBackups', resource: w.replicatedBackups },
    ],
    'client-rds:DescribeDBSnapshotsCommand': (w) => [
      { action: 'rds:DescribeDBSnapshots', resource: w.sourceDb },
      { action: 'rds:DescribeDBSnapshots', resource: w.managedCopy },
    ],
    'client-dynamodb:GetItemCommand': (w) => [{ action: 'dynamodb:GetItem', resource: w.stateTable }],
    'client-dynamodb:PutItemCommand': (w) => [{ action: 'dynamodb:PutItem', resource: w.stateTable }],
    'client-dynamodb:UpdateItemCommand': (w) => [{ action: 'dynamodb:UpdateItem', resource: w.stateTable }],
    'client-sns:PublishCommand': (w) => [{ action: 'sns:Publish', resource: w.topic }],
  },
};

function clusterName(clusterArn: string): string {
  return clusterArn.split('/').pop() as string;
}

/**
 * A key the stack does not hold (the source's customer key, the isolation stack's copy key) is
 * given KMS's default key policy, which lets the account's IAM policies decide: without a key
 * policy KMS allows nothing, whatever the role says. (README: the source key's policy must
 * delegate to the account's IAM policies, as the default does.)
 */
function keyPolicyOutsideStack(resource: string): { Version: string; Statement: unknown[] } | undefined {
  const key = /^arn:aws:kms:[a-z0-9-]+:(\d{12}):key\//.exec(resource);
  if (!key) return undefined;
  return {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${key[1]}:root` }, Action: 'kms:*', Resource: '*' },
    ],
  };
}

/** A customer key of the source's region that is not the source's. */
function otherKey(w: World): string {
  return arn(w, 'kms', 'key/99999999-8888-7777-6666-555555555555');
}

function taskIn(w: World, clusterArn: string): string {
  return arn(w, 'ecs', `task/${clusterName(clusterArn)}/0123456789abcdef0123456789abcdef`);
}

/** Calls that must be denied, by role (construct path of the role in the stack). */
const DENIED: { role: string; what: string; need: (w: World) => Need }[] = [
  ...[
    'Drill/Control',
    'Drill/Checks',
    'Drill/Reporting',
    'Drill/Start',
    'Backups/Snapshot',
    'Backups/Prune',
  ].flatMap((role) => [
    {
      role,
      what: 'delete the source instance',
      need: (w: World) => ({
        action: 'rds:DeleteDBInstance',
        resource: w.sourceDb,
        context: { [`aws:ResourceTag/${DRILL_ID_TAG}`]: w.drillId },
      }),
    },
    {
      role,
      what: 'modify the source instance',
      need: (w: World) => ({ action: 'rds:ModifyDBInstance', resource: w.sourceDb }),
    },
    {
      role,
      what: 'write to another bucket',
      need: () => ({ action: 's3:PutObject', resource: 'arn:aws:s3:::someone-elses-bucket/x.json' }),
    },
    {
      role,
      what: 'read a secret that is not the drill’s',
      need: (w: World) => ({
        action: 'secretsmanager:GetSecretValue',
        resource: arn(w, 'secretsmanager', 'secret:prod/bt-cts/db-AbCdEf'),
      }),
    },
    {
      role,
      what: 'delete a secret that is not the drill’s',
      need: (w: World) => ({
        action: 'secretsmanager:DeleteSecret',
        resource: arn(w, 'secretsmanager', 'secret:prod/bt-cts/db-AbCdEf'),
      }),
    },
    {
      role,
      what: 'delete a snapshot the project does not manage',
      need: (w: World) => ({
        action: 'rds:DeleteDBSnapshot',
        resource: arn(w, 'rds', 'snapshot:manual-before-upgrade'),
      }),
    },
  ]),
  {
    role: 'Drill/Control',
    what: 'delete a drill-named instance without the drill-id tag',
    need: (w) => ({ action: 'rds:DeleteDBInstance', resource: w.drillDb }),
  },
  {
    role: 'Drill/Control',
    what: 'read the production instance’s RDS-managed master secret',
    need: (w) => ({
      action: 'secretsmanager:GetSecretValue',
      resource: arn(w, 'secretsmanager', 'secret:rds!db-00000000-prod-AbCdEf'),
      context: { 'aws:ResourceTag/aws:rds:primaryDBInstanceArn': w.sourceDb },
    }),
  },
  {
    role: 'Drill/Control',
    what: 'delete the production instance’s RDS-managed master secret',
    need: (w) => ({
      action: 'secretsmanager:DeleteSecret',
      resource: arn(w, 'secretsmanager', 'secret:rds!db-00000000-prod-AbCdEf'),
      context: { 'aws:ResourceTag/aws:rds:primaryDBInstanceArn': w.sourceDb },
    }),
  },
  ...['Drill/Control', 'Drill/StateMachine', 'Drill/AbortCleanup'].flatMap((role) =>
    (['ecs:StopTask', 'ecs:DescribeTasks'] as const).map((action) => ({
      role,
      what: `${action} on a task of another cluster`,
      need: (w: World) => ({
        action,
        resource: taskIn(w, arn(w, 'ecs', 'cluster/production')),
        context: { 'ecs:cluster': arn(w, 'ecs', 'cluster/production') },
      }),
    })),
  ),
  // The source's customer key: through RDS only, for the restore and the copy only.
  ...(['kms:Decrypt', 'kms:GenerateDataKey', 'kms:CreateGrant'] as const).flatMap((action) => [
    {
      role: 'Drill/Control',
      what: `${action} with the source key directly, not through RDS`,
      need: (w: World) => ({ action, resource: w.sourceKey }),
    },
    {
      role: 'Drill/Control',
      what: `${action} with the source key through another service (Secrets Manager)`,
      need: (w: World) => ({
        action,
        resource: w.sourceKey,
        context: { 'kms:ViaService': `secretsmanager.${w.region}.amazonaws.com` },
      }),
    },
    {
      role: 'Drill/Control',
      what: `${action} with the source key through RDS of another region`,
      need: (w: World) => ({ action, resource: w.sourceKey, context: rdsGrant('us-east-1') }),
    },
    {
      role: 'Drill/Control',
      what: `${action} through RDS with a key that is not the source's`,
      need: (w: World) => ({ action, resource: otherKey(w), context: rdsGrant(w.region) }),
    },
  ]),
  {
    role: 'Drill/Control',
    what: 'grant the source key to a principal of its choosing (not for an AWS resource)',
    need: (w) => ({
      action: 'kms:CreateGrant',
      resource: w.sourceKey,
      context: { ...viaRds(w.region), 'kms:GrantIsForAWSResource': 'false' },
    }),
  },
  {
    role: 'Backups/Snapshot',
    what: 'decrypt with the source key (the copy only describes it and grants RDS)',
    need: (w) => ({ action: 'kms:Decrypt', resource: w.sourceKey, context: viaRds(w.region) }),
  },
  {
    role: 'Backups/Snapshot',
    what: 'grant through RDS a key that is not the source’s (source.kmsKeyArn narrows the copy to it)',
    need: (w) => ({ action: 'kms:CreateGrant', resource: otherKey(w), context: rdsGrant(w.region) }),
  },
  ...[
    'Drill/Checks',
    'Drill/Reporting',
    'Drill/Start',
    'Drill/AbortCleanup',
    'Backups/Prune',
    'Backups/RpoMonitor',
    'Backups/Artifacts',
  ].flatMap((role) =>
    (['kms:Decrypt', 'kms:CreateGrant'] as const).map((action) => ({
      role,
      what: `${action} with the source key, even through RDS`,
      need: (w: World) => ({ action, resource: w.sourceKey, context: rdsGrant(w.region) }),
    })),
  ),
  // The isolation account's own copies: no role of the source account may delete them, tags or not.
  ...[
    'Drill/Control',
    'Drill/Checks',
    'Drill/Reporting',
    'Drill/Start',
    'Drill/AbortCleanup',
    'Drill/StateMachine',
    'Backups/Snapshot',
    'Backups/Prune',
    'Backups/RpoMonitor',
    'Backups/Artifacts',
  ].map((role) => ({
    role,
    what: 'delete a snapshot the isolation account owns',
    need: (w: World): Need => ({
      action: 'rds:DeleteDBSnapshot',
      resource: w.copyAccountSnapshot,
      account: w.copyAccount,
      context: { [`aws:ResourceTag/${MANAGED_TAG}`]: MANAGED_TAG_VALUE },
    }),
  })),
  {
    role: 'Backups/Prune',
    what: 'delete a snapshot named like a managed one but not tagged managed',
    need: (w) => ({ action: 'rds:DeleteDBSnapshot', resource: w.managedSnapshot }),
  },
];

type AslTask = { Type: string; Resource?: string; Parameters?: Record<string, unknown> };

/**
 * What each Step Functions service integration the definition uses needs (AWS's "IAM policies for
 * integrated services"): the call, and for `.sync` the calls Step Functions makes to follow it.
 */
const INTEGRATIONS: Record<string, (task: AslTask, w: World, taskRoles: string[]) => Need[]> = {
  'arn:aws:states:::lambda:invoke': (task) => [
    { action: 'lambda:InvokeFunction', resource: String(task.Parameters?.FunctionName) },
  ],
  'lambda-direct': (task) => [{ action: 'lambda:InvokeFunction', resource: String(task.Resource) }],
  'arn:aws:states:::ecs:runTask.sync': (task, w, taskRoles) => {
    const cluster = String(task.Parameters?.Cluster);
    return [
      {
        action: 'ecs:RunTask',
        // The definition names the family; IAM authorizes the revision's ARN.
        resource: String(task.Parameters?.TaskDefinition).startsWith('arn:')
          ? String(task.Parameters?.TaskDefinition)
          : arn(w, 'ecs', `task-definition/${task.Parameters?.TaskDefinition}:1`),
        context: { 'ecs:cluster': cluster },
      },
      { action: 'ecs:DescribeTasks', resource: taskIn(w, cluster), context: { 'ecs:cluster': cluster } },
      { action: 'ecs:StopTask', resource: taskIn(w, cluster), context: { 'ecs:cluster': cluster } },
      ...['events:PutTargets', 'events:PutRule', 'events:DescribeRule'].map((action) => ({
        action,
        resource: arn(w, 'events', 'rule/StepFunctionsGetEventsForECSTaskRule'),
        why: 'Step Functions follows a .sync ECS task through its managed rule',
      })),
      ...taskRoles.map((role) => ({ action: 'iam:PassRole', resource: role })),
    ];
  },
};

/** Every Task state of a definition (the drill has no Parallel or Map states; they would be walked too). */
function taskStates(definition: {
  States: Record<string, AslTask & { Branches?: { States: Record<string, AslTask> }[] }>;
}): AslTask[] {
  const out: AslTask[] = [];
  for (const state of Object.values(definition.States)) {
    if (state.Type === 'Task') out.push(state);
    for (const branch of state.Branches ?? []) out.push(...taskStates(branch as never));
  }
  return out;
}

describe('least privilege, simulated offline', () => {
  let repo: string;
  let config: Config;
  let stack: RecoveryDrillStack;
  let deployment: Deployment;
  let world: World;
  /** Role logical id by construct path of its function (e.g. `Drill/Control`). */
  const roleIds = new Map<string, string>();
  const entries = new Map<string, string>();
  const derived = new Map<string, SdkCall[]>();
  let graph: CallGraph;
  const bundles = new Map<string, string[]>();

  const value = (token: unknown): string => String(deployment.resolve(stack.resolve(token)));

  async function decide(roleId: string, need: Need): Promise<Decision> {
    const roleArn = `arn:aws:iam::${ACCOUNT}:role/${deployment.nameOf(roleId)}`;
    const resourcePolicy =
      deployment.resourcePolicyFor(need.resource) ?? keyPolicyOutsideStack(need.resource);
    const result = await runSimulation(
      {
        identityPolicies: deployment.identityPolicies(roleId),
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        ...(resourcePolicy ? { resourcePolicy } : {}),
        request: {
          principal: roleArn,
          action: need.action,
          resource: { resource: need.resource, accountId: need.account ?? ACCOUNT },
          contextVariables: { 'aws:SecureTransport': 'true', ...(need.context ?? {}) },
        },
      } as Parameters<typeof runSimulation>[0],
      {},
    );
    if (result.resultType === 'error') {
      throw new Error(
        `the simulator cannot evaluate ${need.action} on ${need.resource}: ${JSON.stringify(result.errors)}`,
      );
    }
    return result.overallResult as Decision;
  }

  beforeAll(async () => {
    repo = makeTree(appFiles());
    // Sharing with an isolation account and exporting to S3 on: their calls are in the code too.
    // The source encrypted with a customer key: the restore's and the copy's KMS calls are simulated.
    config = makeConfig(repo, {
      source: {
        dbInstanceIdentifier: 'bt-cts-prod',
        region: 'eu-west-1',
        kmsKeyArn: `arn:aws:kms:eu-west-1:${ACCOUNT}:key/11111111-aaaa-bbbb-cccc-222222222222`,
      },
      isolation: { copyAccountId: '210987654321', sourceAccountId: ACCOUNT, exportToS3: true },
    });
    const built = buildApp(config, { baseDir: repo, app: makeApp() });
    stack = built.stack;
    const assembly = built.app.synth();
    deployment = new Deployment(
      assembly.getStackByName(stack.stackName).template as Template,
      config.source.region,
    );
    for (const node of stack.node.findAll()) {
      const entry = node.node.metadata.find((m) => m.type === ENTRY_METADATA)?.data as string | undefined;
      if (!entry) continue;
      const fn = node as lambda.Function;
      const path = fn.node.path.split('/').slice(1).join('/');
      roleIds.set(path, stack.getLogicalId((fn.role as iam.Role).node.defaultChild as iam.CfnRole));
      entries.set(path, entry);
    }
    roleIds.set(
      'Drill/StateMachine',
      stack.getLogicalId(stack.drill.stateMachine.stateMachine.role.node.defaultChild as iam.CfnRole),
    );
    for (const entry of new Set(entries.values())) bundles.set(entry, await bundleFiles(PROJECT_ROOT, entry));
    graph = new CallGraph(PROJECT_ROOT, [...new Set([...bundles.values()].flat())]);
    for (const entry of bundles.keys())
      derived.set(entry, callsOfEntry(graph, entry, bundles.get(entry) ?? []));

    const drillId = 'drill-20261201t100000z-ab12';
    const drillDb = arn(
      { region: config.source.region } as World,
      'rds',
      `db:${drillInstanceId(config.drill.instancePrefix, drillId)}`,
    );
    const w0 = { region: config.source.region } as World;
    const day = '2026-12-01';
    const snap = snapshotIdFor(config.source.dbInstanceIdentifier, day);
    expect(snap.startsWith(managedSnapshotPrefix(config.source.dbInstanceIdentifier))).toBe(true);
    world = {
      region: config.source.region,
      copyRegion: config.isolation.copyRegion,
      sourceDb: arn(w0, 'rds', `db:${config.source.dbInstanceIdentifier}`),
      drillDb,
      drillId,
      drillSubnetGroup: deployment.ref(deployment.idsOf('AWS::RDS::DBSubnetGroup')[0] as string),
      drillMasterSecret: arn(
        w0,
        'secretsmanager',
        'secret:rds!db-11111111-2222-3333-4444-555555555555-AbCdEf',
      ),
      drillSecret: value(stack.drill.drillSecret.secretArn),
      bucket: value(stack.store.bucket.bucketName),
      bucketKey: value(stack.store.key.keyArn),
      topic: value(stack.escalation.topic.topicArn),
      topicKey: stack.escalation.key ? value(stack.escalation.key.keyArn) : null,
      stateTable: value(stack.backups.stateTable.tableArn),
      stateKey: value(stack.backups.key.keyArn),
      cluster: value(stack.drill.cluster.clusterArn),
      taskDefinition: value(stack.drill.appTask.taskDefinitionArn),
      taskRole: value(stack.drill.appTask.taskRole.roleArn),
      executionRole: value(stack.drill.appTask.obtainExecutionRole().roleArn),
      stateMachine: value(stack.drill.stateMachine.stateMachine.stateMachineArn),
      managedSnapshot: arn(w0, 'rds', `snapshot:${snap}`),
      managedCopy: arn(w0, 'rds', `snapshot:${snap}`, config.isolation.copyRegion),
      exportRole: value(stack.backups.exportRole.roleArn),
      drillKey: value(stack.drill.drillSecret.encryptionKey?.keyArn),
      sourceKey: config.source.kmsKeyArn as string,
      copyKey: arn(w0, 'kms', 'key/33333333-dddd-eeee-ffff-444444444444', config.isolation.copyRegion),
      copyKeyAlias: deploymentName(config.environment, 'copyKeyAlias'),
      replicatedBackups: arn(
        w0,
        'rds',
        'auto-backup:ab-abcdefghijklmnopqrstuvwxyz1',
        config.isolation.copyRegion,
      ),
      copyAccount: '210987654321',
      copyAccountSnapshot: `arn:aws:rds:${config.isolation.copyRegion}:210987654321:snapshot:${snap}`,
      copyStateMachine: arn(
        w0,
        'states',
        'stateMachine:RecoveryDrillCopyRegionDrill-test',
        config.isolation.copyRegion,
      ),
    };
  }, 600_000);

  afterAll(() => removeDir(repo));

  it('finds every function of the stack, with its entry file and role', () => {
    expect([...entries.keys()].sort()).toEqual(
      [
        'Backups/Artifacts',
        'Backups/Prune',
        'Backups/RpoMonitor',
        'Backups/Snapshot',
        'Drill/AbortCleanup',
        'Drill/Checks',
        'Drill/Control',
        'Drill/Reporting',
        'Drill/Start',
      ].sort(),
    );
  });

  it('reaches every SDK command site from some function whose bundle holds it', () => {
    const unreached: string[] = [];
    for (const files of new Set(bundles.values())) {
      for (const [file, calls] of graph.commandSites(new Set(files))) {
        const holders = [...bundles].filter(([, other]) => other.includes(file)).map(([entry]) => entry);
        const reached = new Set(
          holders.flatMap((entry) => (derived.get(entry) ?? []).map((c) => `${c.client}:${c.command}`)),
        );
        for (const call of calls)
          if (!reached.has(`${call.client}:${call.command}`)) unreached.push(`${call.command} in ${file}`);
      }
    }
    expect([...new Set(unreached)]).toEqual([]);
  });

  it('has a need for exactly the calls each function’s code makes', () => {
    // Every entry's difference at once (not only the first entry's).
    const differences: string[] = [];
    for (const [entry, calls] of derived) {
      const made = calls.map((c) => `${c.client}:${c.command}`);
      const needed = Object.keys(NEEDS[entry] ?? {});
      for (const call of made) if (!needed.includes(call)) differences.push(`${entry}: no need for ${call}`);
      for (const need of needed)
        if (!made.includes(need)) differences.push(`${entry}: ${need} is never made`);
    }
    expect(differences).toEqual([]);
  });

  it('allows every call each function makes, on the resources it needs', async () => {
    const refused: string[] = [];
    for (const [path, entry] of entries) {
      const roleId = roleIds.get(path) as string;
      for (const call of derived.get(entry) ?? []) {
        const needs = NEEDS[entry]?.[`${call.client}:${call.command}`]?.(world) ?? [];
        for (const need of needs) {
          const decision = await decide(roleId, need);
          if (decision !== 'Allowed')
            refused.push(
              `${path} ${call.command}: ${need.action} on ${need.resource} → ${decision}${need.why ? ` (${need.why})` : ''}`,
            );
        }
      }
    }
    expect(refused).toEqual([]);
  });

  it('allows every service integration of the state machine’s definition, on its resources', async () => {
    const [smId] = deployment.idsOf('AWS::StepFunctions::StateMachine');
    const definition = JSON.parse(
      String(deployment.resolve(deployment.template.Resources[smId as string]?.Properties?.DefinitionString)),
    );
    const [tdId] = deployment.idsOf('AWS::ECS::TaskDefinition');
    const td = deployment.template.Resources[tdId as string]?.Properties ?? {};
    const taskRoles = [td.TaskRoleArn, td.ExecutionRoleArn].map((r) => String(deployment.resolve(r)));
    const tasks = taskStates(definition);
    expect(tasks.length).toBeGreaterThan(0);
    const refused: string[] = [];
    for (const task of tasks) {
      // A function ARN as the resource is Lambda's direct integration (payloadResponseOnly).
      const resource = String(task.Resource);
      const rule =
        INTEGRATIONS[/^arn:aws:lambda:[^:]+:\d+:function:/.test(resource) ? 'lambda-direct' : resource];
      if (!rule) throw new Error(`no IAM rule for the integration ${task.Resource}: add it to INTEGRATIONS`);
      for (const need of rule(task, world, taskRoles)) {
        const decision = await decide(roleIds.get('Drill/StateMachine') as string, need);
        if (decision !== 'Allowed')
          refused.push(`${task.Resource}: ${need.action} on ${need.resource} → ${decision}`);
      }
    }
    expect(refused).toEqual([]);
  });

  it('denies what no function may do', async () => {
    const allowed: string[] = [];
    for (const denial of DENIED) {
      const roleId = roleIds.get(denial.role);
      expect(roleId, denial.role).toBeDefined();
      const need = denial.need(world);
      const decision = await decide(roleId as string, need);
      if (decision === 'Allowed')
        allowed.push(`${denial.role} may ${denial.what} (${need.action} on ${need.resource})`);
    }
    expect(allowed).toEqual([]);
  });
});
