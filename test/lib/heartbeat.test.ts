import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Config, ConfigError, parseConfig } from '../../functions/core/config.ts';
import { readHeartbeatEnv } from '../../functions/shared/env.ts';
import { buildApp } from '../../lib/app.ts';
import { Heartbeat, type HeartbeatProps } from '../../lib/heartbeat.ts';
import { appFiles, makeApp, makeConfig, makeTree, refusalOf, removeDir } from './fixtures.ts';

type Resource = { Type: string; Properties: Record<string, unknown>; DependsOn?: string[] };
type Statement = { Sid?: string; Action: string | string[]; Resource: unknown; Effect: string };

const NETWORK = {
  subnetIds: ['subnet-0aaa1111', 'subnet-0bbb2222'],
  securityGroupIds: ['sg-0ccc3333'],
};

function heartbeatFunctions(template: Template): [string, Resource][] {
  return Object.entries(template.findResources('AWS::Lambda::Function') as Record<string, Resource>).filter(
    ([id]) => id.startsWith('HeartbeatFunction'),
  );
}

function statementsOfRole(template: Template, rolePrefix: string): Statement[] {
  const roleIds = Object.keys(template.findResources('AWS::IAM::Role')).filter((id) =>
    id.startsWith(rolePrefix),
  );
  expect(roleIds, rolePrefix).toHaveLength(1);
  const statements: Statement[] = [];
  for (const policy of Object.values(
    template.findResources('AWS::IAM::Policy') as Record<string, Resource>,
  )) {
    const roles = policy.Properties.Roles as { Ref: string }[];
    if (roles.some((r) => r.Ref === roleIds[0]))
      statements.push(...(policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
  }
  return statements;
}

describe('heartbeat construct', () => {
  let repo: string;
  let config: Config;
  let template: Template;

  beforeAll(() => {
    repo = makeTree(appFiles());
    config = makeConfig(repo, {
      source: { network: NETWORK },
      heartbeat: { mode: 'function', secretName: 'bt-cts/heartbeat', retentionDays: 5, schema: 'beats' },
    });
    template = Template.fromStack(buildApp(config, { baseDir: repo, app: makeApp() }).stack);
  });
  afterAll(() => removeDir(repo));

  it('runs one function in the source subnets and security groups, by id', () => {
    const functions = heartbeatFunctions(template);
    expect(functions).toHaveLength(1);
    const [, fn] = functions[0] as [string, Resource];
    expect(fn.Properties.VpcConfig).toEqual({
      SubnetIds: NETWORK.subnetIds,
      SecurityGroupIds: NETWORK.securityGroupIds,
    });
    const variables = (fn.Properties.Environment as { Variables: Record<string, string> }).Variables;
    expect(variables).toMatchObject({ POWERTOOLS_METRICS_NAMESPACE: 'RecoveryDrill' });
    // The function reads exactly what the stack encoded from the configuration.
    expect(readHeartbeatEnv(variables)).toEqual({
      environment: 'test',
      sourceDbInstanceId: 'bt-cts-prod',
      secretId: 'bt-cts/heartbeat',
      schema: 'beats',
      retentionDays: 5,
    });
    // Created after its role's policy: Lambda checks the ENI permissions at creation.
    expect(fn.DependsOn?.some((id) => id.startsWith('HeartbeatFunctionRoleDefaultPolicy'))).toBe(true);
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: functions[0]?.[0] },
      MaximumRetryAttempts: 0,
      MaximumEventAgeInSeconds: 60,
    });
  });

  it('schedules it every minute through EventBridge Scheduler, with the failure queue as dead letters', () => {
    const [fnId] = heartbeatFunctions(template)[0] as [string, Resource];
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(1 minute)',
      Target: {
        Arn: { 'Fn::GetAtt': [fnId, 'Arn'] },
        DeadLetterConfig: {
          Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^BackupsFailedInvocations'), 'Arn'] },
        },
      },
    });
    const scheduler = statementsOfRole(template, 'BackupsSchedulerRole');
    expect(scheduler.find((s) => s.Sid === 'InvokeHeartbeat')).toMatchObject({
      Action: 'lambda:InvokeFunction',
      Resource: { 'Fn::GetAtt': [fnId, 'Arn'] },
    });
  });

  it('lets its role read that one secret and nothing else of Secrets Manager', () => {
    const statements = statementsOfRole(template, 'HeartbeatFunctionRole');
    const secretStatements = statements.filter((s) =>
      [s.Action].flat().some((action) => action.startsWith('secretsmanager:')),
    );
    expect(secretStatements).toHaveLength(1);
    expect(secretStatements[0]?.Action).toBe('secretsmanager:GetSecretValue');
    expect(secretStatements[0]?.Resource).toEqual({
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          ':secretsmanager:eu-west-1:',
          { Ref: 'AWS::AccountId' },
          ':secret:bt-cts/heartbeat-??????',
        ],
      ],
    });
    const actions = statements.flatMap((s) => [s.Action].flat()).sort();
    expect(actions).toEqual(
      [
        'ec2:AssignPrivateIpAddresses',
        'ec2:CreateNetworkInterface',
        'ec2:DeleteNetworkInterface',
        'ec2:DescribeNetworkInterfaces',
        'ec2:UnassignPrivateIpAddresses',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        'secretsmanager:GetSecretValue',
        'xray:PutTelemetryRecords',
        'xray:PutTraceSegments',
      ].sort(),
    );
  });

  it('alarms on beats that keep failing, on the escalation topic, on ALARM and on OK', () => {
    const [fnId] = heartbeatFunctions(template)[0] as [string, Resource];
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'Errors',
      Namespace: 'AWS/Lambda',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: fnId } }],
      EvaluationPeriods: 3,
      DatapointsToAlarm: 3,
      Threshold: 1,
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^EscalationTopic') }],
      OKActions: [{ Ref: Match.stringLikeRegexp('^EscalationTopic') }],
      AlarmDescription: Match.stringLikeRegexp('RPO_BREACHED'),
    });
  });

  it('deploys no heartbeat function when the mode is none or pg_cron', () => {
    for (const mode of ['none', 'pg_cron'] as const) {
      const built = buildApp(makeConfig(repo, { heartbeat: { mode } }), { baseDir: repo, app: makeApp() });
      expect(built.stack.heartbeat).toBeUndefined();
      expect(heartbeatFunctions(Template.fromStack(built.stack))).toEqual([]);
      const schedules = Template.fromStack(built.stack).findResources('AWS::Scheduler::Schedule');
      expect(Object.keys(schedules).some((id) => id.startsWith('Heartbeat'))).toBe(false);
    }
  });

  it('builds with zero unacknowledged cdk-nag findings', () => {
    const app = makeApp();
    buildApp(config, { baseDir: repo, app });
    const report = new AwsSolutionsChecks().validateScope(app);
    expect(report.violations.map((v) => v.ruleName)).toEqual([]);
    expect(report.success).toBe(true);
  });

  it('scopes the role to exactly the ARN when the secret is given by ARN', () => {
    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!db-0a1b2c3d-AbCdEf';
    const stack = new Stack(new App(), 'S', { env: { region: 'eu-west-1' } });
    new Heartbeat(stack, 'Heartbeat', props(stack, { heartbeat: { secretName: arn } }));
    const statements = statementsOfRole(Template.fromStack(stack), 'HeartbeatFunctionRole');
    expect(statements.find((s) => s.Sid === 'ReadHeartbeatRoleSecret')?.Resource).toBe(arn);
  });

  it('refuses a bad configuration naming the config path and the value', () => {
    const cases: [Record<string, Record<string, unknown>>, string, RegExp][] = [
      [
        { source: { network: { subnetIds: [], securityGroupIds: ['sg-0ccc3333'] } } },
        'source.network.subnetIds',
        /expected/,
      ],
      [
        { source: { network: { subnetIds: ['subnet-1'], securityGroupIds: ['sg-0ccc3333'] } } },
        'source.network.subnetIds[0]',
        /expected a subnet id such as "subnet-0abc1234"; got "subnet-1"/,
      ],
      [
        { heartbeat: { schedule: 'every minute' } },
        'heartbeat.schedule',
        /expected an EventBridge schedule expression/,
      ],
      [{ heartbeat: { retentionDays: 0 } }, 'heartbeat.retentionDays', /got 0/],
      [
        { heartbeat: { secretName: 'two words' } },
        'heartbeat.secretName',
        /expected a Secrets Manager secret name or ARN/,
      ],
      [
        { heartbeat: { secretName: null } },
        'heartbeat.secretName',
        /the Secrets Manager secret of the heartbeat role/,
      ],
    ];
    for (const [override, path, message] of cases) {
      const stack = new Stack(new App(), 'S', { env: { region: 'eu-west-1' } });
      const error = refusalOf(ConfigError, () => new Heartbeat(stack, 'Heartbeat', props(stack, override)));
      expect(error.problems.map((p) => p.path)).toEqual([path]);
      expect(error.message).toMatch(message);
      // Refused before anything was made: the construct holds no resource.
      expect(stack.node.tryFindChild('Heartbeat')?.node.children).toEqual([]);
    }
  });
});

/** The heartbeat's sections of a configuration as `loadConfig` gives it, with sections replaced by hand. */
function heartbeatConfig(override: Record<string, Record<string, unknown>>): HeartbeatProps['config'] {
  const valid = parseConfig({
    environment: 'test',
    source: { dbInstanceIdentifier: 'bt-cts-prod', region: 'eu-west-1', network: NETWORK },
    isolation: { copyRegion: 'eu-central-1' },
    heartbeat: { mode: 'function', secretName: 'bt-cts/heartbeat' },
  });
  return {
    environment: valid.environment,
    schedules: valid.schedules,
    source: { ...valid.source, ...override.source },
    heartbeat: { ...valid.heartbeat, ...override.heartbeat },
  } as HeartbeatProps['config'];
}

function props(stack: Stack, override: Record<string, Record<string, unknown>> = {}): HeartbeatProps {
  return {
    config: heartbeatConfig(override),
    schedulerRole: new iam.Role(stack, `Scheduler${stack.node.children.length}`, {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com'),
    }),
    failureQueueArn: 'arn:aws:sqs:eu-west-1:123456789012:failed',
    topic: new sns.Topic(stack, `Topic${stack.node.children.length}`),
  };
}
