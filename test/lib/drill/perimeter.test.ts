/**
 * The drill's perimeter in the synthesized template: the rule that cleans up after an execution
 * that ended TIMED_OUT, ABORTED or FAILED (its pattern and target), and the state machine's ECS
 * rights confined to the drill cluster.
 */
import { Match, Template } from 'aws-cdk-lib/assertions';
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
