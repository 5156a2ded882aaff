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
    expect((fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables).toMatchObject({
      STATE_MACHINE_ARN: { Ref: stateMachineId },
      ECS_CLUSTER_ARN: { 'Fn::GetAtt': [clusterId, 'Arn'] },
    });
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
