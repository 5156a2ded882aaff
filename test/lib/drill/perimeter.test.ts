/**
 * The drill's perimeter in the synthesized template: the rule that cleans up after an execution
 * that ended TIMED_OUT, ABORTED or FAILED (its pattern and target), and the state machine's ECS
 * rights confined to the drill cluster, and the KMS rights for a source encrypted with a customer key.
 */
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../../lib/app.ts';
import { TASKS_OF_OTHER_CLUSTERS_SID } from '../../../lib/drill/task-scope.ts';
import { appFiles, makeApp, makeConfig, makeTree, removeDir } from '../fixtures.ts';

type Resource = { Type: string; Properties: Record<string, unknown> };

describe('drill perimeter', () => {
  let repo: string;
  let template: Template;
  let stateMachineId: string;
  let clusterId: string;

  beforeAll(() => {
    repo = makeTree(appFiles());
    const { stack } = buildApp(makeConfig(repo), { baseDir: repo, app: makeApp() });
    template = Template.fromStack(stack);
    stateMachineId = Object.keys(template.findResources('AWS::StepFunctions::StateMachine'))[0] as string;
    clusterId = Object.keys(template.findResources('AWS::ECS::Cluster'))[0] as string;
  });
  afterAll(() => removeDir(repo));

  it('invokes the abort cleanup when a drill execution ends TIMED_OUT, ABORTED or FAILED, and for no other machine', () => {
    const rules = Object.values(
      template.findResources('AWS::Events::Rule') as Record<string, Resource>,
    ).filter((r) =>
      (r.Properties.EventPattern as { source?: string[] } | undefined)?.source?.includes('aws.states'),
    );
    expect(rules).toHaveLength(1);
    const rule = rules[0] as Resource;
    expect(rule.Properties.EventPattern).toEqual({
      source: ['aws.states'],
      'detail-type': ['Step Functions Execution Status Change'],
      detail: { stateMachineArn: [{ Ref: stateMachineId }], status: ['TIMED_OUT', 'ABORTED', 'FAILED'] },
    });
    const [target] = rule.Properties.Targets as { Arn: { 'Fn::GetAtt': [string, string] } }[];
    const fn = template.findResources('AWS::Lambda::Function')[
      target?.Arn['Fn::GetAtt'][0] as string
    ] as Resource;
    expect(fn.Properties.Description).toMatch(/cleans up after a drill execution that ended TIMED_OUT/);
    // Its settings name the machine whose executions it cleans up after, and the drill cluster.
    const settings = JSON.stringify(fn.Properties.Environment);
    expect(settings).toContain('\\"fn\\":\\"drillAbortCleanup\\"');
    expect(settings).toContain(JSON.stringify({ Ref: stateMachineId }));
    expect(settings).toContain(JSON.stringify({ 'Fn::GetAtt': [clusterId, 'Arn'] }));
  });

  it('gives every endpoint of the drill VPC a policy that names only what the drill uses, X-Ray included', () => {
    const endpoints = Object.entries(
      template.findResources('AWS::EC2::VPCEndpoint') as Record<string, Resource>,
    );
    const byService = new Map<string, { Statement: Record<string, unknown>[] }>();
    for (const [id, endpoint] of endpoints) {
      const doc = endpoint.Properties.PolicyDocument as { Statement: Record<string, unknown>[] } | undefined;
      expect(doc, `policy of ${id}`).toBeDefined();
      const service = id.replace(/^DrillVpc/, '').replace(/[0-9A-F]{8}$/, '');
      byService.set(service, doc as { Statement: Record<string, unknown>[] });
      for (const st of doc?.Statement ?? []) {
        expect(st.Effect).toBe('Allow');
        for (const action of [st.Action].flat() as string[]) expect(action, id).not.toMatch(/\*/);
      }
    }
    expect([...byService.keys()].sort()).toEqual(
      ['Ecr', 'EcrDocker', 'Logs', 'Rds', 'S3', 'SecretsManager', 'XRay'].sort(),
    );
    const bucketId = Object.keys(template.findResources('AWS::S3::Bucket')).find((id) =>
      id.startsWith('BackupStoreBucket'),
    );
    const s3 = JSON.stringify(byService.get('S3'));
    expect(s3).toContain(`"${bucketId}","Arn"`);
    expect(s3).toContain('/artifacts/*');
    expect(s3).toContain('-starport-layer-bucket/*');
    expect(s3).not.toMatch(/s3:Put|s3:Delete/);
    const secrets = byService.get('SecretsManager')?.Statement ?? [];
    const secretIds = Object.keys(template.findResources('AWS::SecretsManager::Secret'));
    expect(secrets.map((st) => st.Resource)).toEqual([{ Ref: secretIds[0] }]);
    expect(JSON.stringify(byService.get('EcrDocker'))).toContain(':repository/bt-cts-api');
  });

  it('denies the state machine stopping or describing tasks outside the drill cluster', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Sid: TASKS_OF_OTHER_CLUSTERS_SID,
            Effect: 'Deny',
            Action: ['ecs:DescribeTasks', 'ecs:StopTask'],
            Resource: '*',
            Condition: { ArnNotEquals: { 'ecs:cluster': { 'Fn::GetAtt': [clusterId, 'Arn'] } } },
          },
        ]),
      },
      Roles: [{ Ref: Match.stringLikeRegexp('^DrillStateMachineRole') }],
    });
  });
});

type Statement = {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
};

/** Every statement of the identity policies attached to roles whose logical id starts with `rolePrefix`. */
function statementsOf(template: Template, rolePrefix: string): Statement[] {
  return Object.values(template.findResources('AWS::IAM::Policy') as Record<string, Resource>)
    .filter((p) => (p.Properties.Roles as { Ref: string }[]).some((r) => r.Ref.startsWith(rolePrefix)))
    .flatMap((p) => (p.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
}

const kmsStatements = (statements: Statement[]) =>
  statements.filter((st) => [st.Action].flat().some((a) => a.startsWith('kms:')));

describe('KMS for a source encrypted with a customer key', () => {
  const KEY = 'arn:aws:kms:eu-west-1:123456789012:key/11111111-aaaa-bbbb-cccc-222222222222';
  let repo: string;
  let withKey: Template;
  let withoutKey: Template;

  beforeAll(() => {
    repo = makeTree(appFiles());
    const source = { dbInstanceIdentifier: 'bt-cts-prod', region: 'eu-west-1' };
    withKey = Template.fromStack(
      buildApp(makeConfig(repo, { source: { ...source, kmsKeyArn: KEY } }), { baseDir: repo, app: makeApp() })
        .stack,
    );
    withoutKey = Template.fromStack(
      buildApp(makeConfig(repo, { source }), { baseDir: repo, app: makeApp() }).stack,
    );
  });
  afterAll(() => removeDir(repo));

  it('lets the control function restore with the source key through RDS of the source region only, and grant it only to what RDS creates', () => {
    const statements = kmsStatements(statementsOf(withKey, 'DrillControlRole'));
    const onSourceKey = statements.filter((st) => JSON.stringify(st.Resource).includes(KEY));
    expect(onSourceKey).toEqual([
      {
        Sid: 'RestoreWithSourceKeyThroughRds',
        Effect: 'Allow',
        Action: [
          'kms:Decrypt',
          'kms:DescribeKey',
          'kms:GenerateDataKey',
          'kms:GenerateDataKeyWithoutPlaintext',
        ],
        Resource: KEY,
        Condition: { StringEquals: { 'kms:ViaService': 'rds.eu-west-1.amazonaws.com' } },
      },
      {
        Sid: 'RestoreWithSourceKeyGrantForRdsResource',
        Effect: 'Allow',
        Action: 'kms:CreateGrant',
        Resource: KEY,
        Condition: {
          StringEquals: { 'kms:ViaService': 'rds.eu-west-1.amazonaws.com' },
          Bool: { 'kms:GrantIsForAWSResource': 'true' },
        },
      },
    ]);
  });

  it('narrows the snapshot copy to the configured source key (no longer any key of the region)', () => {
    const statements = kmsStatements(statementsOf(withKey, 'BackupsSnapshotRole'));
    // Only the copy key (known by alias in the copy region) is still named by a key/* resource.
    expect(
      statements.filter((st) => JSON.stringify(st.Resource).includes(':key/*')).map((st) => st.Sid),
    ).toEqual(['EncryptCopyWithIsolationKey']);
    expect(statements.filter((st) => st.Resource === KEY).map((st) => [st.Sid, st.Action])).toEqual([
      ['ReadSourceSnapshotKeyThroughRds', 'kms:DescribeKey'],
      ['ReadSourceSnapshotKeyGrantForRdsResource', 'kms:CreateGrant'],
    ]);
  });

  it('gives no other role of the drill any right on the source key', () => {
    for (const role of ['DrillChecksRole', 'DrillReportingRole', 'DrillStartRole', 'DrillAbortCleanupRole']) {
      expect(JSON.stringify(statementsOf(withKey, role)), role).not.toContain(KEY);
    }
  });

  it('without source.kmsKeyArn (aws/rds or unencrypted) the control function gets no KMS right beyond the drill secret key', () => {
    const statements = kmsStatements(statementsOf(withoutKey, 'DrillControlRole'));
    expect(statements.map((st) => st.Sid)).toEqual(['EncryptDrillSecret']);
    // The snapshot copy keeps its right on any source-region key through RDS (backward compatible).
    const snapshot = kmsStatements(statementsOf(withoutKey, 'BackupsSnapshotRole'));
    expect(snapshot.find((st) => st.Sid === 'ReadSourceSnapshotKeyThroughRds')?.Condition).toEqual({
      StringLike: { 'kms:ViaService': 'rds.*.amazonaws.com' },
    });
  });
});

describe('hardened app and migrate containers', () => {
  let repo: string;
  const containerOf = (template: Template) => {
    const [td] = Object.values(
      template.findResources('AWS::ECS::TaskDefinition') as Record<string, Resource>,
    );
    const containers = td?.Properties.ContainerDefinitions as Record<string, unknown>[];
    expect(containers).toHaveLength(1);
    return { td: td as Resource, container: containers[0] as Record<string, unknown> };
  };
  const templateWith = (overrides: Parameters<typeof makeConfig>[1]) =>
    Template.fromStack(buildApp(makeConfig(repo, overrides), { baseDir: repo, app: makeApp() }).stack);

  beforeAll(() => {
    repo = makeTree(appFiles());
  });
  afterAll(() => removeDir(repo));

  it('by default runs the one container (app and migrate) as uid 1000, read-only, with a writable task volume at /tmp', () => {
    const { td, container } = containerOf(templateWith({}));
    expect(container.User).toBe('1000');
    expect(container.ReadonlyRootFilesystem).toBe(true);
    expect(container.MountPoints).toEqual([{ ContainerPath: '/tmp', ReadOnly: false, SourceVolume: 'tmp' }]);
    expect(td.Properties.Volumes).toEqual([{ Name: 'tmp' }]);
    expect(container.Environment).toEqual([
      { Name: 'PORT', Value: '4000' },
      { Name: 'HOME', Value: '/tmp' },
      { Name: 'TMPDIR', Value: '/tmp' },
    ]);
  });

  it('runs as the configured app.user', () => {
    const { container } = containerOf(templateWith({ app: { user: 'node:node' } }));
    expect(container.User).toBe('node:node');
  });

  it('with drill.hardenContainers off runs the image as it is: its own user, a writable root, no volume', () => {
    const { td, container } = containerOf(templateWith({ drill: { hardenContainers: false } }));
    expect(container.User).toBeUndefined();
    expect(container.ReadonlyRootFilesystem).toBeUndefined();
    expect(container.MountPoints).toBeUndefined();
    expect(td.Properties.Volumes).toBeUndefined();
    expect(container.Environment).toEqual([{ Name: 'PORT', Value: '4000' }]);
  });
});

describe('endpoints: created, or the routes drill.network already has', () => {
  let repo: string;
  const network = {
    vpcId: 'vpc-0abc1234',
    availabilityZones: ['eu-west-1a', 'eu-west-1b'],
    subnetIds: ['subnet-0aaa1111', 'subnet-0bbb2222'],
  };
  const templateWith = (drill: Record<string, unknown>) =>
    Template.fromStack(buildApp(makeConfig(repo, { drill }), { baseDir: repo, app: makeApp() }).stack);
  const endpointsOf = (template: Template) =>
    Object.values(template.findResources('AWS::EC2::VPCEndpoint') as Record<string, Resource>);

  beforeAll(() => {
    repo = makeTree(appFiles());
  });
  afterAll(() => removeDir(repo));

  it('creates, by default in drill.network too, the six interface endpoints with their policies, one subnet per zone, open to the app and the checks only', () => {
    const template = templateWith({ network });
    const endpoints = endpointsOf(template);
    expect(endpoints.map((e) => e.Properties.VpcEndpointType)).toEqual(Array(6).fill('Interface'));
    const groups = Object.entries(
      template.findResources('AWS::EC2::SecurityGroup') as Record<string, Resource>,
    );
    const [endpointSgId] = groups.find(([id]) => id.startsWith('DrillEndpointSg')) ?? [];
    const appSgId = groups.find(([id]) => id.startsWith('DrillAppSg'))?.[0];
    const checksSgId = groups.find(([id]) => id.startsWith('DrillChecksSg'))?.[0];
    for (const endpoint of endpoints) {
      expect(endpoint.Properties.VpcId).toBe('vpc-0abc1234');
      expect(endpoint.Properties.SubnetIds).toEqual(['subnet-0aaa1111', 'subnet-0bbb2222']);
      expect(endpoint.Properties.PrivateDnsEnabled).toBe(true);
      expect(endpoint.Properties.SecurityGroupIds).toEqual([{ 'Fn::GetAtt': [endpointSgId, 'GroupId'] }]);
      expect(endpoint.Properties.PolicyDocument).toBeDefined();
    }
    const services = endpoints.map((e) => JSON.stringify(e.Properties.ServiceName));
    for (const service of ['secretsmanager', 'ecr.api', 'ecr.dkr', 'logs', 'rds', 'xray'])
      expect(services.some((s) => s.includes(`.${service}"`))).toBe(true);
    const ingress = Object.values(
      template.findResources('AWS::EC2::SecurityGroupIngress') as Record<string, Resource>,
    ).filter((r) => JSON.stringify(r.Properties.GroupId).includes(endpointSgId as string));
    expect(ingress.map((r) => [r.Properties.FromPort, r.Properties.SourceSecurityGroupId]).sort()).toEqual(
      [
        [443, { 'Fn::GetAtt': [appSgId, 'GroupId'] }],
        [443, { 'Fn::GetAtt': [checksSgId, 'GroupId'] }],
      ].sort(),
    );
  });

  it('with endpoints "existing" creates no endpoint and no endpoint security group: the network routes the drill', () => {
    const template = templateWith({ network: { ...network, endpoints: 'existing' } });
    expect(endpointsOf(template)).toEqual([]);
    expect(
      Object.keys(template.findResources('AWS::EC2::SecurityGroup')).filter((id) =>
        id.startsWith('DrillEndpointSg'),
      ),
    ).toEqual([]);
    expect(Object.keys(template.findResources('AWS::EC2::VPC'))).toEqual([]);
  });

  it('leaves no unacknowledged cdk-nag finding in either mode', () => {
    for (const endpoints of ['create', 'existing'] as const) {
      const app = makeApp();
      buildApp(makeConfig(repo, { drill: { network: { ...network, endpoints } } }), { baseDir: repo, app });
      expect(
        new AwsSolutionsChecks().validateScope(app).violations.map((v) => v.ruleName),
        endpoints,
      ).toEqual([]);
    }
  });

  it('without drill.network creates the drill VPC with the S3 gateway and the six interface endpoints', () => {
    const types = endpointsOf(templateWith({})).map((e) => e.Properties.VpcEndpointType);
    expect(types.sort()).toEqual(['Gateway', ...Array(6).fill('Interface')].sort());
  });
});
