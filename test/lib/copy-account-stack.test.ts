/**
 * The isolation account's stack, synthesized into the app when `isolation.copyAccountId` is set:
 * its template (own key, function, schedule, topic, alarm, environment-carrying name), cdk-nag
 * passing (synth throws on an unacknowledged finding), and its role evaluated by the offline IAM
 * simulator: every call the function's code makes (derived from the code, as for the source
 * account's roles) is allowed on what it needs, and deleting anything it does not own and manage
 * is denied.
 */
import { runSimulation } from '@cloud-copilot/iam-simulate';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type * as iam from 'aws-cdk-lib/aws-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../functions/core/config.ts';
import { ConfigError, parseConfig } from '../../functions/core/config.ts';
import { MANAGED_TAG, MANAGED_TAG_VALUE } from '../../functions/core/contracts.ts';
import { snapshotIdFor } from '../../functions/core/snapshot-naming.ts';
import { buildApp, type RecoveryDrillApp } from '../../lib/app.ts';
import { PROJECT_ROOT } from '../../lib/function.ts';
import { appFiles, makeApp, makeConfig, makeTree, removeDir } from './fixtures.ts';
import { bundleFiles, CallGraph, callsOfEntry } from './iam/sdk-calls.ts';
import { type Template as CfnTemplate, Deployment } from './iam/template-policies.ts';

const SOURCE_ACCOUNT = '123456789012';
const COPY_ACCOUNT = '210987654321';
const COPY_REGION = 'eu-central-1';
const ENTRY = 'functions/isolated-copies.ts';

interface Need {
  readonly action: string;
  readonly resource: string;
  readonly account?: string;
  readonly context?: Record<string, string | string[]>;
}

describe('the isolation account stack', () => {
  let repo: string;
  let config: Config;
  let built: RecoveryDrillApp;
  let template: Template;
  let deployment: Deployment;
  let roleId: string;

  const snapshotArn = (account: string, id: string) => `arn:aws:rds:${COPY_REGION}:${account}:snapshot:${id}`;

  /** The overall decision, and this account's identity policies' own (what a cross-account call needs here). */
  async function decide(need: Need): Promise<{ overall: string; identity: string | undefined }> {
    const resourcePolicy = deployment.resourcePolicyFor(need.resource);
    const result = await runSimulation(
      {
        identityPolicies: deployment.identityPolicies(roleId),
        serviceControlPolicies: [],
        resourceControlPolicies: [],
        ...(resourcePolicy ? { resourcePolicy } : {}),
        request: {
          principal: `arn:aws:iam::${COPY_ACCOUNT}:role/${deployment.nameOf(roleId)}`,
          action: need.action,
          resource: { resource: need.resource, accountId: need.account ?? COPY_ACCOUNT },
          contextVariables: { 'aws:SecureTransport': 'true', ...(need.context ?? {}) },
        },
      } as Parameters<typeof runSimulation>[0],
      {},
    );
    if (result.resultType === 'error') throw new Error(JSON.stringify(result.errors));
    const analysis = (result as { result?: { analysis?: { identityAnalysis?: { result?: string } } } }).result
      ?.analysis;
    return { overall: result.overallResult as string, identity: analysis?.identityAnalysis?.result };
  }

  beforeAll(() => {
    repo = makeTree(appFiles());
    config = makeConfig(repo, {
      environment: 'staging',
      isolation: { copyRegion: COPY_REGION, copyAccountId: COPY_ACCOUNT, sourceAccountId: SOURCE_ACCOUNT },
    });
    built = buildApp(config, { baseDir: repo, app: makeApp() });
    // Synthesis runs cdk-nag over every stack: an unacknowledged finding throws here.
    const assembly = built.app.synth();
    const stack = built.copyAccountStack;
    if (!stack) throw new Error('no copy account stack');
    template = Template.fromStack(stack);
    deployment = new Deployment(
      assembly.getStackByName(stack.stackName).template as CfnTemplate,
      COPY_REGION,
      COPY_ACCOUNT,
    );
    roleId = stack.getLogicalId(stack.role.node.defaultChild as iam.CfnRole);
  }, 300_000);

  afterAll(() => removeDir(repo));

  it('is deployed in the copy account and region, named for the environment', () => {
    const stack = built.copyAccountStack;
    expect(stack?.stackName).toBe('RecoveryDrillCopyAccountStack-staging');
    expect(stack?.account).toBe(COPY_ACCOUNT);
    expect(stack?.region).toBe(COPY_REGION);
  });

  it('has its own rotating key, a schedule, its own topic and an errors alarm', () => {
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      Description: Match.stringLikeRegexp("isolation account's own copies"),
    });
    template.hasResource('AWS::KMS::Key', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(6 hours)' });
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@example.com',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Errors',
      AlarmActions: [Match.anyValue()],
    });
  });

  it('alarms on its own topic when its newest copy is older than a day plus the RPO target', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'RecoveryDrill',
      MetricName: 'NewestSnapshotAgeMinutes',
      Dimensions: Match.arrayWith([
        { Name: 'environment', Value: 'staging' },
        { Name: 'location', Value: 'isolation-account' },
        { Name: 'region', Value: COPY_REGION },
      ]),
      Threshold: 24 * 60 + 60,
      Period: 6 * 3600,
      TreatMissingData: 'breaching',
      AlarmActions: [Match.anyValue()],
      OKActions: [Match.anyValue()],
    });
  });

  it('refuses a copy account without the source account, naming the field', () => {
    const parse = () =>
      parseConfig({
        environment: 'staging',
        source: { dbInstanceIdentifier: 'bt-cts-prod', region: 'eu-west-1' },
        isolation: { copyRegion: COPY_REGION, copyAccountId: COPY_ACCOUNT },
      });
    expect(parse).toThrow(ConfigError);
    expect(parse).toThrow(/isolation\.sourceAccountId/);
  });

  it('builds no such stack without a copy account', () => {
    const other = buildApp(makeConfig(repo), { baseDir: repo, app: makeApp() });
    expect(other.copyAccountStack).toBeUndefined();
  });

  it('allows every call its code makes, on what it needs', async () => {
    const bundle = await bundleFiles(PROJECT_ROOT, ENTRY);
    const graph = new CallGraph(PROJECT_ROOT, bundle);
    const calls = callsOfEntry(graph, ENTRY, bundle).map((c) => `${c.client}:${c.command}`);
    const id = snapshotIdFor(config.source.dbInstanceIdentifier, '2026-12-01');
    const own = snapshotArn(COPY_ACCOUNT, id);
    const shared = snapshotArn(SOURCE_ACCOUNT, id);
    const requestTagged = { [`aws:RequestTag/${MANAGED_TAG}`]: MANAGED_TAG_VALUE };
    const keyId = deployment.idsOf('AWS::KMS::Key').find((k) => /CopyAccountKey/.test(k)) as string;
    const topicId = deployment.idsOf('AWS::SNS::Topic')[0] as string;
    const topicKeyId = deployment.idsOf('AWS::KMS::Key').find((k) => k !== keyId) as string;
    const needs: Record<string, Need[]> = {
      'client-rds:DescribeDBSnapshotsCommand': [
        { action: 'rds:DescribeDBSnapshots', resource: own },
        { action: 'rds:DescribeDBSnapshots', resource: shared, account: SOURCE_ACCOUNT },
      ],
      'client-rds:CopyDBSnapshotCommand': [
        { action: 'rds:CopyDBSnapshot', resource: shared, account: SOURCE_ACCOUNT, context: requestTagged },
        { action: 'rds:CopyDBSnapshot', resource: own, context: requestTagged },
        { action: 'rds:AddTagsToResource', resource: own, context: requestTagged },
        { action: 'kms:CreateGrant', resource: deployment.getAtt(keyId, 'Arn') },
        {
          action: 'kms:CreateGrant',
          resource: `arn:aws:kms:${COPY_REGION}:${SOURCE_ACCOUNT}:key/0b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0`,
          account: SOURCE_ACCOUNT,
          context: { 'kms:ViaService': `rds.${COPY_REGION}.amazonaws.com` },
        },
      ],
      'client-rds:DeleteDBSnapshotCommand': [
        {
          action: 'rds:DeleteDBSnapshot',
          resource: own,
          context: { [`aws:ResourceTag/${MANAGED_TAG}`]: MANAGED_TAG_VALUE },
        },
      ],
      'client-sns:PublishCommand': [
        { action: 'sns:Publish', resource: deployment.ref(topicId) },
        { action: 'kms:GenerateDataKey', resource: deployment.getAtt(topicKeyId, 'Arn') },
      ],
    };
    expect(calls.sort()).toEqual(Object.keys(needs).sort());
    const refused: string[] = [];
    for (const call of calls) {
      for (const need of needs[call] ?? []) {
        // A resource of the source account is allowed there by sharing (the snapshot's restore
        // attribute) and its key policy, which the simulator does not model: for those, this
        // account's identity policies must allow the call, the part this stack controls.
        const decision = await decide(need);
        const ok =
          need.account === SOURCE_ACCOUNT ? decision.identity === 'Allowed' : decision.overall === 'Allowed';
        if (!ok) refused.push(`${call}: ${need.action} on ${need.resource} → ${JSON.stringify(decision)}`);
      }
    }
    expect(refused).toEqual([]);
  });

  it('denies deleting anything but its own managed copies', async () => {
    const id = snapshotIdFor(config.source.dbInstanceIdentifier, '2026-12-01');
    const managed = { [`aws:ResourceTag/${MANAGED_TAG}`]: MANAGED_TAG_VALUE };
    const denied: Need[] = [
      { action: 'rds:DeleteDBSnapshot', resource: snapshotArn(COPY_ACCOUNT, id) },
      {
        action: 'rds:DeleteDBSnapshot',
        resource: snapshotArn(COPY_ACCOUNT, 'manual-before-upgrade'),
        context: managed,
      },
      {
        action: 'rds:DeleteDBSnapshot',
        resource: snapshotArn(SOURCE_ACCOUNT, id),
        account: SOURCE_ACCOUNT,
        context: managed,
      },
      { action: 'rds:ModifyDBSnapshotAttribute', resource: snapshotArn(COPY_ACCOUNT, id), context: managed },
      {
        action: 'kms:ScheduleKeyDeletion',
        resource: deployment.getAtt(deployment.idsOf('AWS::KMS::Key')[0] as string, 'Arn'),
      },
    ];
    const allowed: string[] = [];
    for (const need of denied) {
      const decision = await decide(need);
      if (decision.overall === 'Allowed' || decision.identity === 'Allowed')
        allowed.push(`${need.action} on ${need.resource}`);
    }
    expect(allowed).toEqual([]);
  });
});
