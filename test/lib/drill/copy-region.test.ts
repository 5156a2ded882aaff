/**
 * Drills from the isolated copy run in the region of their data (issue 14 item 3): one drill
 * construct, a drill stack per region. Template assertions on both regions' drill stacks, the
 * schedule that feeds the rotation, and the one-region case (copy region = source region).
 */
import { Match, Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { managedSnapshotPrefix } from '../../../functions/core/contracts.ts';
import { buildApp } from '../../../lib/app.ts';
import { imageInRegion } from '../../../lib/copy-region-drill-stack.ts';
import { appFiles, makeApp, makeConfig, makeTree, removeDir, settingsOf } from '../fixtures.ts';

type Resources = Record<string, { Type: string; Properties: Record<string, unknown> }>;

/** Every statement of every policy in the template, flattened to text per statement. */
function statements(template: Template): { sid: string; text: string }[] {
  const out: { sid: string; text: string }[] = [];
  for (const r of Object.values(template.toJSON().Resources as Resources)) {
    if (r.Type !== 'AWS::IAM::Policy') continue;
    const doc = r.Properties.PolicyDocument as { Statement: { Sid?: string }[] };
    for (const s of doc.Statement) out.push({ sid: s.Sid ?? '', text: JSON.stringify(s) });
  }
  return out;
}

describe('drill stacks per region', () => {
  let repo: string;
  let source: Template;
  let copy: Template;
  let stackNames: string[];

  beforeAll(() => {
    repo = makeTree(appFiles());
    const built = buildApp(makeConfig(repo), { baseDir: repo, app: makeApp() });
    expect(built.copyRegionStack).toBeDefined();
    stackNames = built.app.node.children.map((c) => c.node.id).sort();
    source = Template.fromStack(built.stack);
    copy = Template.fromStack(built.copyRegionStack as NonNullable<typeof built.copyRegionStack>);
    expect(built.stack.region).toBe('eu-west-1');
    expect(built.copyRegionStack?.region).toBe('eu-central-1');
  });
  afterAll(() => removeDir(repo));

  it('synthesizes a drill stack in each region, named with the environment', () => {
    expect(stackNames).toEqual([
      'RecoveryDrillCopyRegionStack-test',
      'RecoveryDrillIsolationStack-test',
      'RecoveryDrillStack-test',
    ]);
  });

  it('deploys the whole drill in the copy region: VPC, cluster, checks function, state machine', () => {
    copy.resourceCountIs('AWS::EC2::VPC', 1);
    copy.resourceCountIs('AWS::ECS::Cluster', 1);
    copy.resourceCountIs('AWS::StepFunctions::StateMachine', 1);
    copy.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineName: 'RecoveryDrillCopyRegionDrill-test',
    });
    copy.hasResourceProperties('AWS::Lambda::Function', {
      Description: Match.stringLikeRegexp('drift, smoke, integrity'),
      VpcConfig: Match.objectLike({ SubnetIds: Match.anyValue() }),
    });
    // No schedule of its own: the source region's start function starts it by name.
    copy.resourceCountIs('AWS::Scheduler::Schedule', 0);
    source.resourceCountIs('AWS::StepFunctions::StateMachine', 1);
    source.resourceCountIs('AWS::EC2::VPC', 1);
  });

  it("pulls the app from the copy region's registry", () => {
    const [td] = Object.values(copy.findResources('AWS::ECS::TaskDefinition'));
    expect(JSON.stringify(td)).toContain('.dkr.ecr.eu-central-1.');
    expect(JSON.stringify(td)).not.toContain('eu-west-1');
    expect(imageInRegion('ghcr.io/acme/api:1', 'eu-central-1')).toBe('ghcr.io/acme/api:1');
  });

  it('restores in the copy region from the replicated backups and the managed copies only', () => {
    const all = statements(copy);
    const pitr = all.find((s) => s.sid === 'RestoreIntoTaggedDrillInstance');
    expect(pitr?.text).toContain(':rds:eu-central-1:');
    expect(pitr?.text).toContain(':auto-backup:*');
    // Never the source instance itself: a drill from the copy must not need the source.
    expect(pitr?.text).not.toContain(':db:bt-cts-prod"');
    const snap = all.find((s) => s.sid === 'RestoreSnapshotCopyIntoTaggedDrillInstance');
    expect(snap?.text).toContain(`:rds:eu-central-1:`);
    expect(snap?.text).toContain(`snapshot:${managedSnapshotPrefix('bt-cts-prod')}*`);
    expect(snap?.text).toContain('aws:RequestTag/recovery-drill:drill-id');
    expect(all.some((s) => s.sid === 'RestoreEncryptedSnapshotCopy')).toBe(true);
    // The source region's drill restores only the source.
    const sourceSids = statements(source).map((s) => s.sid);
    expect(sourceSids).toContain('RestoreIntoTaggedDrillInstance');
    expect(sourceSids).not.toContain('RestoreSnapshotCopyIntoTaggedDrillInstance');
  });

  it("tells the copy region's functions their region and artifacts; reports stay in the source bucket", () => {
    const fns = Object.values(copy.findResources('AWS::Lambda::Function')) as never[];
    const checks = fns.find((f) =>
      String((f as { Properties: { Description?: string } }).Properties.Description).includes('drift, smoke'),
    );
    const settings = settingsOf(checks as never);
    expect(settings.resources.drillRegion).toBe('eu-central-1');
    expect(JSON.stringify(settings.resources.artifactsBucket)).toContain('ArtifactsCopy');
    // The backup bucket of the source region, by a cross-region reference.
    expect(JSON.stringify(settings.resources.bucket)).not.toContain('ArtifactsCopy');
    copy.resourceCountIs('Custom::RecoveryDrillArtifacts', 1);
  });

  it('schedules the quarterly drill with its scheduled time, and lets it start the copy region machine', () => {
    source.hasResourceProperties('AWS::Scheduler::Schedule', {
      Target: Match.objectLike({
        Input: Match.serializedJson(Match.objectLike({ scheduledAt: '<aws.scheduler.scheduled-time>' })),
      }),
    });
    const start = statements(source).find((s) => s.sid === 'StartCopyRegionDrill');
    expect(start?.text).toContain(':states:eu-central-1:');
    expect(start?.text).toContain(':stateMachine:RecoveryDrillCopyRegionDrill-test');
  });
});

describe('one region for the source and its copy', () => {
  let repo: string;
  beforeAll(() => {
    repo = makeTree(appFiles());
  });
  afterAll(() => removeDir(repo));

  it('builds no copy region stack: the one drill serves every origin', () => {
    const config = makeConfig(repo, {
      isolation: { copyRegion: 'eu-west-1', copyAccountId: '210987654321', sourceAccountId: '123456789012' },
    });
    const built = buildApp(config, { baseDir: repo, app: makeApp() });
    expect(built.copyRegionStack).toBeUndefined();
    const sids = statements(Template.fromStack(built.stack)).map((s) => s.sid);
    expect(sids).toContain('RestoreSnapshotCopyIntoTaggedDrillInstance');
    expect(sids).not.toContain('StartCopyRegionDrill');
  });
});
