import { createRequire } from 'node:module';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DRILL_STEP_REGISTRY, drillStep, failurePath } from '../../../functions/core/drill-steps.ts';
import { extractDefinition } from '../../../functions/drill/asl.ts';
import { buildApp } from '../../../lib/app.ts';
import { appFiles, makeApp, makeConfig, makeTree, removeDir } from '../fixtures.ts';

const validate = createRequire(import.meta.url)('asl-validator') as (definition: unknown) => {
  isValid: boolean;
  errors: unknown[];
};

type Resource = { Properties: Record<string, unknown> };
type Statement = { Action: string | string[]; Effect: string; Resource: unknown; Condition?: unknown };

describe('restore drill infrastructure', () => {
  let repo: string;
  let template: Template;

  beforeAll(() => {
    repo = makeTree(appFiles());
    const config = makeConfig(repo, {
      schedules: { drill: 'cron(0 7 ? 1,4,7,10 TUE#1 *)' },
      drill: { timeoutMinutes: 90, restoreTimeoutMinutes: 60 },
    });
    const { stack } = buildApp(config, { baseDir: repo, app: makeApp() });
    template = Template.fromStack(stack);
  });
  afterAll(() => removeDir(repo));

  function statementsOf(roleLogicalIdPrefix: string): Statement[] {
    const out: Statement[] = [];
    for (const policy of Object.values(
      template.findResources('AWS::IAM::Policy') as Record<string, Resource>,
    )) {
      const roles = policy.Properties.Roles as { Ref: string }[];
      if (!roles.some((r) => r.Ref.startsWith(roleLogicalIdPrefix))) continue;
      out.push(...((policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement ?? []));
    }
    return out;
  }
  const actions = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);

  it('runs a Standard state machine with full logging, tracing and the configured timeout', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: Match.objectLike({ Level: 'ALL', IncludeExecutionData: true }),
    });
    const definition = extractDefinition(template.toJSON() as never, { match: 'Drill' });
    expect(definition.TimeoutSeconds).toBe(90 * 60);
    expect(definition.QueryLanguage ?? 'JSONPath').toBe('JSONPath');
  });

  it('synthesizes a definition that asl-validator accepts, with every drill step present', () => {
    const definition = extractDefinition(template.toJSON() as never, { match: 'Drill' });
    expect(validate(structuredClone(definition)).errors).toEqual([]);
    const states = Object.keys((definition as { States: object }).States);
    for (const spec of DRILL_STEP_REGISTRY) expect(states).toContain(spec.state);
  });

  it('builds every Task state from its registry row: name, step key, function, result path', () => {
    const definition = extractDefinition(template.toJSON() as never, { match: 'Drill' }) as {
      States: Record<
        string,
        { Type: string; Resource?: string; Parameters?: Record<string, unknown>; ResultPath?: string }
      >;
    };
    const tasks = Object.entries(definition.States).filter(([, s]) => s.Type === 'Task');
    expect(tasks.map(([name]) => name).sort()).toEqual(DRILL_STEP_REGISTRY.map((s) => s.state).sort());
    for (const spec of DRILL_STEP_REGISTRY) {
      const state = definition.States[spec.state];
      expect(state?.ResultPath, spec.state).toBe(spec.resultPath);
      if (spec.runner === 'ecs-task') continue;
      // The function's own ARN (payloadResponseOnly): the drill function of the row's group.
      expect(state?.Resource?.toLowerCase(), spec.state).toContain(`:function:drill${spec.runner}`);
      expect(state?.Parameters?.step, spec.state).toBe(spec.key);
    }
  });

  it('sends every step from the restore on to cleanup when it fails', () => {
    const definition = extractDefinition(template.toJSON() as never, { match: 'Drill' }) as {
      States: Record<string, { Type: string; Catch?: { Next: string; ResultPath: string }[] }>;
    };
    const guarded = DRILL_STEP_REGISTRY.filter(
      (s) => !['validate', 'cleanup', 'report', 'notify'].includes(s.key),
    );
    for (const spec of guarded) {
      const state = definition.States[spec.state];
      expect(
        state?.Catch?.map((c) => c.Next),
        spec.state,
      ).toEqual(['Clean up']);
      expect(state?.Catch?.[0]?.ResultPath).toBe(failurePath(spec.key));
    }
    expect(definition.States['Clean up']?.Catch?.[0]?.Next).toBe('Write report');
  });

  it('runs migrations in the app image without a public IP and without credentials in the overrides', () => {
    const definition = extractDefinition(template.toJSON() as never, { match: 'Drill' }) as {
      States: Record<string, { Resource: string; Parameters: Record<string, unknown> }>;
    };
    const migrate = definition.States[drillStep('runMigrations').state];
    expect(migrate?.Resource).toBe('arn:aws:states:::ecs:runTask.sync');
    const parameters = JSON.stringify(migrate?.Parameters);
    // ECS assigns no public IP unless asked to (AssignPublicIp defaults to DISABLED).
    expect(parameters).not.toContain('"AssignPublicIp":"ENABLED"');
    expect(parameters).not.toMatch(/DATABASE_URL|password/i);
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: [
        Match.objectLike({
          Secrets: [Match.objectLike({ Name: 'DATABASE_URL' })],
          Environment: Match.arrayWith([{ Name: 'PORT', Value: '4000' }]),
        }),
      ],
    });
  });

  it('deletes only drill instances that carry the drill tag, and restores only with it', () => {
    const control = statementsOf('DrillControlRole');
    const deletes = control.filter((s) => actions(s).includes('rds:DeleteDBInstance'));
    expect(deletes).toHaveLength(1);
    expect(deletes[0]?.Condition).toEqual({ Null: { 'aws:ResourceTag/recovery-drill:drill-id': 'false' } });
    expect(JSON.stringify(deletes[0]?.Resource)).toContain(':db:recovery-drill-*');
    const restores = control.filter((s) => actions(s).includes('rds:RestoreDBInstanceToPointInTime'));
    expect(restores.map((s) => s.Condition)).toEqual([
      { Null: { 'aws:RequestTag/recovery-drill:drill-id': 'false' } },
    ]);
    for (const role of ['DrillControlRole', 'DrillChecksRole', 'DrillReportingRole', 'DrillStartRole']) {
      for (const statement of statementsOf(role)) {
        for (const action of actions(statement)) expect(action, `${role}: ${action}`).not.toContain('*');
      }
    }
  });

  it('lets the checks keep the login session in the drill secret, and touch no other secret', () => {
    const checks = statementsOf('DrillChecksRole');
    const drillSecret = Object.keys(template.findResources('AWS::SecretsManager::Secret')).find((id) =>
      id.includes('DrillSecret'),
    );
    const secretKey = Object.keys(template.findResources('AWS::KMS::Key')).find((id) =>
      id.includes('SecretKey'),
    );
    const onSecrets = checks.filter((s) => actions(s).some((a) => a.startsWith('secretsmanager:')));
    const onDrillSecret = onSecrets.filter(
      (s) => JSON.stringify(s.Resource) === JSON.stringify({ Ref: drillSecret }),
    );
    expect(onDrillSecret.flatMap(actions).sort()).toEqual([
      'secretsmanager:GetSecretValue',
      'secretsmanager:PutSecretValue',
    ]);
    // Writing is limited to the drill secret: no other secret statement lets the checks write.
    for (const statement of onSecrets.filter((s) => !onDrillSecret.includes(s)))
      expect(actions(statement)).toEqual(['secretsmanager:GetSecretValue']);
    const onKey = checks.filter((s) => JSON.stringify(s.Resource).includes(secretKey ?? '-'));
    expect(onKey.flatMap(actions).sort()).toEqual(['kms:Decrypt', 'kms:GenerateDataKey']);
  });

  it('opens the drill database only to the app and the checks, from their security groups', () => {
    const ingress = Object.values(
      template.findResources('AWS::EC2::SecurityGroupIngress') as Record<string, Resource>,
    );
    for (const rule of ingress) {
      expect(rule.Properties.CidrIp).toBeUndefined();
      expect(rule.Properties.SourceSecurityGroupId).toBeDefined();
    }
    const postgres = ingress.filter((r) => r.Properties.FromPort === 5432);
    expect(postgres).toHaveLength(2);
    template.hasResourceProperties('AWS::EC2::Subnet', { MapPublicIpOnLaunch: false });
    expect(Object.keys(template.findResources('AWS::EC2::InternetGateway'))).toEqual([]);
    expect(Object.keys(template.findResources('AWS::EC2::NatGateway'))).toEqual([]);
  });

  it('starts the drill quarterly with the configured expression through the start function', () => {
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(0 7 ? 1,4,7,10 TUE#1 *)',
      State: 'ENABLED',
      Target: Match.objectLike({
        Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DrillStart'), 'Arn'] },
        RetryPolicy: { MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 3 },
      }),
    });
  });

  it('outputs the state machine ARN that recovery-drill start looks up', () => {
    template.hasOutput('DrillStateMachineArn', {
      Value: { Ref: Match.stringLikeRegexp('^DrillStateMachine') },
    });
  });
});
