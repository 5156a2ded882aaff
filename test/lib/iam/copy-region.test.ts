/**
 * The copy region's drill roles (RecoveryDrillCopyRegionStack), simulated offline with
 * `@cloud-copilot/iam-simulate` as least-privilege.test.ts does for the source region's stack: the
 * restore calls a drill from the isolated copy makes are allowed in the copy region, and what must
 * never happen there is denied (deleting a non-drill instance, deleting a snapshot copy, restoring
 * without the drill tag or into a name that is not a drill's, restoring a snapshot the project does
 * not manage).
 */
import { runSimulation } from '@cloud-copilot/iam-simulate';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../../functions/core/config.ts';
import { snapshotIdFor } from '../../../functions/core/snapshot-naming.ts';
import { drillInstanceId } from '../../../functions/drill/drill-id.ts';
import { DRILL_ID_TAG } from '../../../functions/drill/ports/database-recovery.ts';
import { buildApp } from '../../../lib/app.ts';
import type { RecoveryDrillCopyRegionStack } from '../../../lib/copy-region-drill-stack.ts';
import { ENTRY_METADATA } from '../../../lib/function.ts';
import { appFiles, makeApp, makeConfig, makeTree, removeDir } from '../fixtures.ts';
import { ACCOUNT, Deployment, type Template } from './template-policies.ts';

type Decision = 'Allowed' | 'ExplicitlyDenied' | 'ImplicitlyDenied';
interface Need {
  readonly action: string;
  readonly resource: string;
  readonly context?: Record<string, string | string[]>;
  /** A resource policy from another stack (the copy key's, in the isolation stack). */
  readonly resourcePolicy?: unknown;
}

/** The copy key's policy as the isolation stack creates it (CDK's default: the account's IAM decides). */
const COPY_KEY_POLICY = {
  Version: '2012-10-17',
  Statement: [
    { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' },
  ],
};

const COPY = 'eu-central-1';
const SOURCE = 'eu-west-1';
const rds = (resource: string, region = COPY) => `arn:aws:rds:${region}:${ACCOUNT}:${resource}`;
const DRILL_ID = 'drill-20261201t100000z-ab12';
const tagged = { [`aws:RequestTag/${DRILL_ID_TAG}`]: DRILL_ID };

describe('least privilege of the copy region drill, simulated offline', () => {
  let repo: string;
  let config: Config;
  let stack: RecoveryDrillCopyRegionStack;
  let deployment: Deployment;
  const roleIds = new Map<string, string>();
  let drillDb: string;
  let subnetGroup: string;
  let managedCopy: string;

  async function decide(role: string, need: Need): Promise<Decision> {
    const roleId = roleIds.get(role);
    if (!roleId) throw new Error(`no role ${role} in the copy region stack`);
    const resourcePolicy = need.resourcePolicy ?? deployment.resourcePolicyFor(need.resource);
    const result = await runSimulation(
      {
        identityPolicies: deployment.identityPolicies(roleId),
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        ...(resourcePolicy ? { resourcePolicy } : {}),
        request: {
          principal: `arn:aws:iam::${ACCOUNT}:role/${deployment.nameOf(roleId)}`,
          action: need.action,
          resource: { resource: need.resource, accountId: ACCOUNT },
          contextVariables: { 'aws:SecureTransport': 'true', ...(need.context ?? {}) },
        },
      } as Parameters<typeof runSimulation>[0],
      {},
    );
    if (result.resultType === 'error')
      throw new Error(`cannot evaluate ${need.action} on ${need.resource}: ${JSON.stringify(result.errors)}`);
    return result.overallResult as Decision;
  }

  beforeAll(() => {
    repo = makeTree(appFiles());
    config = makeConfig(repo);
    const built = buildApp(config, { baseDir: repo, app: makeApp() });
    stack = built.copyRegionStack as RecoveryDrillCopyRegionStack;
    deployment = new Deployment(built.app.synth().getStackByName(stack.stackName).template as Template, COPY);
    for (const node of stack.node.findAll()) {
      if (!node.node.metadata.some((m) => m.type === ENTRY_METADATA)) continue;
      const fn = node as lambda.Function;
      roleIds.set(
        fn.node.path.split('/').slice(1).join('/'),
        stack.getLogicalId((fn.role as iam.Role).node.defaultChild as iam.CfnRole),
      );
    }
    drillDb = rds(`db:${drillInstanceId(config.drill.instancePrefix, DRILL_ID)}`);
    subnetGroup = rds(`subgrp:${deployment.ref(deployment.idsOf('AWS::RDS::DBSubnetGroup')[0] as string)}`);
    managedCopy = rds(`snapshot:${snapshotIdFor(config.source.dbInstanceIdentifier, '2026-12-01')}`);
  }, 600_000);
  afterAll(() => removeDir(repo));

  it('finds the drill functions of the copy region (no start function: the source region starts it)', () => {
    expect([...roleIds.keys()].sort()).toEqual([
      'Artifacts',
      'Drill/AbortCleanup',
      'Drill/Checks',
      'Drill/Control',
      'Drill/Reporting',
    ]);
  });

  it('allows the restore calls of a drill from the isolated copy, in the copy region', async () => {
    const allowed: Need[] = [
      // isolated-region: find the replicated backups by the source's resource id, restore from them.
      {
        action: 'rds:DescribeDBInstances',
        resource: rds(`db:${config.source.dbInstanceIdentifier}`, SOURCE),
      },
      { action: 'rds:DescribeDBInstanceAutomatedBackups', resource: rds('auto-backup:ab-replicated-1234') },
      {
        action: 'rds:RestoreDBInstanceToPointInTime',
        resource: rds('auto-backup:ab-replicated-1234'),
        context: tagged,
      },
      { action: 'rds:RestoreDBInstanceToPointInTime', resource: drillDb, context: tagged },
      { action: 'rds:RestoreDBInstanceToPointInTime', resource: subnetGroup, context: tagged },
      // isolated-snapshot: list the copies, restore the newest managed one.
      { action: 'rds:DescribeDBSnapshots', resource: rds('snapshot:*') },
      { action: 'rds:RestoreDBInstanceFromDBSnapshot', resource: managedCopy, context: tagged },
      { action: 'rds:RestoreDBInstanceFromDBSnapshot', resource: drillDb, context: tagged },
      { action: 'rds:RestoreDBInstanceFromDBSnapshot', resource: subnetGroup, context: tagged },
      { action: 'rds:AddTagsToResource', resource: drillDb, context: tagged },
      {
        action: 'kms:CreateGrant',
        resource: `arn:aws:kms:${COPY}:${ACCOUNT}:key/11111111-2222-3333-4444-555555555555`,
        context: { 'kms:ResourceAliases': ['alias/recovery-drill-snapshot-copies-test'] },
        resourcePolicy: COPY_KEY_POLICY,
      },
      // Cleanup of its own instance.
      {
        action: 'rds:DeleteDBInstance',
        resource: drillDb,
        context: { [`aws:ResourceTag/${DRILL_ID_TAG}`]: DRILL_ID },
      },
    ];
    const refused: string[] = [];
    for (const need of allowed) {
      const decision = await decide('Drill/Control', need);
      if (decision !== 'Allowed') refused.push(`${need.action} on ${need.resource} → ${decision}`);
    }
    expect(refused).toEqual([]);
  });

  it('denies what no copy region role may do', async () => {
    const roles = [...roleIds.keys()];
    const denied: { roles: string[]; what: string; need: Need }[] = [
      {
        roles,
        what: 'delete a non-drill instance in the copy region',
        need: {
          action: 'rds:DeleteDBInstance',
          resource: rds('db:bt-cts-prod-replica'),
          context: { [`aws:ResourceTag/${DRILL_ID_TAG}`]: DRILL_ID },
        },
      },
      {
        roles,
        what: 'delete a snapshot copy',
        need: {
          action: 'rds:DeleteDBSnapshot',
          resource: managedCopy,
          context: { 'aws:ResourceTag/recovery-drill:managed': 'true' },
        },
      },
      {
        roles,
        what: 'modify the source instance',
        need: {
          action: 'rds:ModifyDBInstance',
          resource: rds(`db:${config.source.dbInstanceIdentifier}`, SOURCE),
        },
      },
      {
        roles: ['Drill/Control'],
        what: 'restore a snapshot copy without the drill tag',
        need: { action: 'rds:RestoreDBInstanceFromDBSnapshot', resource: managedCopy },
      },
      {
        roles: ['Drill/Control'],
        what: 'restore into an instance that is not named as a drill’s',
        need: {
          action: 'rds:RestoreDBInstanceFromDBSnapshot',
          resource: rds('db:bt-cts-prod-2'),
          context: tagged,
        },
      },
      {
        roles: ['Drill/Control'],
        what: 'restore a snapshot the project does not manage',
        need: {
          action: 'rds:RestoreDBInstanceFromDBSnapshot',
          resource: rds('snapshot:someone-elses'),
          context: tagged,
        },
      },
    ];
    const allowed: string[] = [];
    for (const denial of denied)
      for (const role of denial.roles)
        if ((await decide(role, denial.need)) === 'Allowed')
          allowed.push(`${role} may ${denial.what} (${denial.need.action} on ${denial.need.resource})`);
    expect(allowed).toEqual([]);
  });
});
