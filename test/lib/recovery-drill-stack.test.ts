import { Match, Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../functions/core/config.ts';
import { buildApp } from '../../lib/app.ts';
import { readAppArtifacts } from '../../lib/artifacts.ts';
import { appFiles, makeApp, makeConfig, makeTree, removeDir, settingsOf } from './fixtures.ts';

type Statement = {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: Record<string, Record<string, unknown>>;
  Sid?: string;
};
type Resource = { Type: string; Properties: Record<string, unknown>; DeletionPolicy?: string };

const FUNCTION_IDS = ['Snapshot', 'Artifacts', 'Prune', 'RpoMonitor'] as const;

function build(config: Config, repo: string) {
  const built = buildApp(config, { baseDir: repo, app: makeApp() });
  return {
    template: Template.fromStack(built.stack),
    isolation: built.isolationStack ? Template.fromStack(built.isolationStack) : undefined,
  };
}

/** The backup functions (not the custom resource framework) by construct id. */
function functionsOf(template: Template): Record<(typeof FUNCTION_IDS)[number], Resource> {
  const all = template.findResources('AWS::Lambda::Function') as Record<string, Resource>;
  const found = {} as Record<(typeof FUNCTION_IDS)[number], Resource>;
  for (const id of FUNCTION_IDS) {
    const match = Object.entries(all).filter(([logicalId]) =>
      new RegExp(`^Backups${id}[0-9A-F]{8}$`).test(logicalId),
    );
    expect(match, `function ${id}`).toHaveLength(1);
    found[id] = (match[0] as [string, Resource])[1];
  }
  return found;
}

function envOf(fn: Resource): Record<string, unknown> {
  return (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
}

/** Every statement of every identity policy (inline role policies and AWS::IAM::Policy), by role construct. */
function statementsByRole(template: Template): Record<string, Statement[]> {
  const out: Record<string, Statement[]> = {};
  for (const [id, policy] of Object.entries(
    template.findResources('AWS::IAM::Policy') as Record<string, Resource>,
  )) {
    const roles = policy.Properties.Roles as { Ref: string }[];
    for (const role of roles) {
      out[role.Ref] = [
        ...(out[role.Ref] ?? []),
        ...((policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement ?? []),
      ];
    }
    expect(id).toBeTruthy();
  }
  return out;
}

function actionsOf(statement: Statement): string[] {
  return Array.isArray(statement.Action) ? statement.Action : [statement.Action];
}

function roleIdOf(template: Template, prefix: string): string {
  const ids = Object.keys(template.findResources('AWS::IAM::Role')).filter((id) =>
    new RegExp(`^${prefix}[0-9A-F]{8}$`).test(id),
  );
  expect(ids, prefix).toHaveLength(1);
  return ids[0] as string;
}

/**
 * CDK's own cross-region reference machinery (`crossRegionReferences`: the copy region's drill
 * reads the backup bucket, topic and state table of this stack through SSM parameters it writes):
 * its provider function and role are built by aws-cdk-lib, with the basic execution managed policy
 * and Lambda's default log group, and cannot be configured. It is the one exception, by its id.
 */
function isCrossRegionExportProvider(logicalId: string): boolean {
  return logicalId.startsWith('CustomCrossRegionExportWriterCustomResourceProvider');
}

describe('recovery drill stack', () => {
  let repo: string;
  let config: Config;
  let template: Template;
  let isolation: Template | undefined;

  beforeAll(() => {
    repo = makeTree(appFiles());
    config = makeConfig(repo, {
      schedules: {
        snapshot: 'cron(15 2 * * ? *)',
        prune: 'cron(45 5 * * ? *)',
        rpoCheck: 'rate(10 minutes)',
        timezone: 'Europe/Zurich',
      },
      retention: { daily: 40, monthly: 13, maxDeletionsPerRun: 7, dryRun: true },
      targets: { rpoMinutes: 45 },
      backupBucket: { objectLockMode: 'COMPLIANCE', objectLockDays: 40 },
    });
    ({ template, isolation } = build(config, repo));
  });
  afterAll(() => removeDir(repo));

  it('runs every function on nodejs24.x (the newest runtime), arm64, 256 MB, with active tracing', () => {
    for (const fn of Object.values(functionsOf(template))) {
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        MemorySize: 256,
        TracingConfig: { Mode: 'Active' },
        Handler: 'index.handler',
      });
    }
  });

  it('gives each function its settings in one variable: its sections of the configuration and its resources', () => {
    const fns = functionsOf(template);
    const expected: Record<(typeof FUNCTION_IDS)[number], { sections: string[]; resources: string[] }> = {
      Snapshot: {
        sections: ['environment', 'source', 'isolation'],
        resources: [
          'topicArn',
          'stateTable',
          'copyKmsKeyArn',
          'bucket',
          'exportRoleArn',
          'exportKmsKeyArn',
          'artifactsVersion',
        ],
      },
      Artifacts: {
        sections: ['environment', 'source', 'isolation'],
        resources: ['topicArn', 'stateTable', 'bucket', 'artifactsVersion'],
      },
      Prune: {
        sections: ['environment', 'source', 'isolation', 'retention'],
        resources: ['topicArn', 'stateTable', 'bucket'],
      },
      RpoMonitor: {
        sections: ['environment', 'source', 'isolation', 'targets'],
        resources: ['topicArn', 'stateTable'],
      },
    };
    for (const id of FUNCTION_IDS) {
      const fn = fns[id] as Resource;
      expect(Object.keys(envOf(fn)).sort(), id).toEqual(
        ['POWERTOOLS_METRICS_NAMESPACE', 'POWERTOOLS_SERVICE_NAME', 'RECOVERY_DRILL_SETTINGS'].sort(),
      );
      expect(envOf(fn)).toMatchObject({
        POWERTOOLS_SERVICE_NAME: 'recovery-drill',
        POWERTOOLS_METRICS_NAMESPACE: 'RecoveryDrill',
      });
      const settings = settingsOf(fn);
      expect(Object.keys(settings.config), id).toEqual(expected[id].sections);
      expect(Object.keys(settings.resources), id).toEqual(expected[id].resources);
      expect(settings.config).toMatchObject({
        environment: 'test',
        source: { dbInstanceIdentifier: 'bt-cts-prod', region: 'eu-west-1' },
        isolation: { copyRegion: 'eu-central-1', copyAccountId: null, exportToS3: false },
      });
      expect(settings.resources.topicArn).toMatch(/^<EscalationTopic/);
    }
    expect(settingsOf(fns.Prune as Resource).config.retention).toEqual({
      daily: 40,
      monthly: 13,
      maxDeletionsPerRun: 7,
      dryRun: true,
    });
    expect(settingsOf(fns.RpoMonitor as Resource).config.targets).toMatchObject({ rpoMinutes: 45 });
  });

  it('tags snapshots and artifacts with the SHA-256 version of the artifacts manifest', () => {
    const version = readAppArtifacts(config.app, repo).version;
    expect(version).toMatch(/^[0-9a-f]{64}$/);
    const fns = functionsOf(template);
    expect(settingsOf(fns.Snapshot as Resource).resources.artifactsVersion).toBe(version);
    expect(settingsOf(fns.Artifacts as Resource).resources.artifactsVersion).toBe(version);
    template.hasResourceProperties('Custom::RecoveryDrillArtifacts', { version, files: 5 });
  });

  it('names the isolation stack key by its alias in the copy region as the copy key', () => {
    expect(settingsOf(functionsOf(template).Snapshot).resources.copyKmsKeyArn).toBe(
      'arn:<AWS::Partition>:kms:eu-central-1:<AWS::AccountId>:alias/recovery-drill-snapshot-copies-test',
    );
  });

  it('keeps the logs of every function (and the custom resource framework) for one year', () => {
    const groups = Object.values(template.findResources('AWS::Logs::LogGroup') as Record<string, Resource>);
    // 4 backup functions + the custom resource frameworks (artifacts, PITR replication) + the drill
    // (5 functions with the abort cleanup, state machine, app task, VPC flow logs).
    expect(groups).toHaveLength(14);
    for (const group of groups) expect(group.Properties.RetentionInDays).toBe(365);
    for (const [id, fn] of Object.entries(
      template.findResources('AWS::Lambda::Function') as Record<string, Resource>,
    )) {
      if (isCrossRegionExportProvider(id)) continue;
      expect(fn.Properties.LoggingConfig).toMatchObject({ LogGroup: { Ref: expect.any(String) } });
    }
  });

  it('sends every failed asynchronous invocation to the encrypted, TLS-only failure queue, which alarms on the topic', () => {
    const queues = template.findResources('AWS::SQS::Queue') as Record<string, Resource>;
    const [queueId, queue] = Object.entries(queues)[0] as [string, Resource];
    expect(Object.keys(queues)).toHaveLength(1);
    expect(queue.Properties.KmsMasterKeyId).toEqual({
      'Fn::GetAtt': [expect.stringMatching(/^BackupsKey/), 'Arn'],
    });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [{ Ref: queueId }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    const configs = Object.values(
      template.findResources('AWS::Lambda::EventInvokeConfig') as Record<string, Resource>,
    );
    expect(configs).toHaveLength(4);
    for (const config of configs) {
      expect(config.Properties.DestinationConfig).toEqual({
        OnFailure: { Destination: { 'Fn::GetAtt': [queueId, 'Arn'] } },
      });
    }
    const topicId = Object.keys(template.findResources('AWS::SNS::Topic'))[0];
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } }],
      AlarmActions: [{ Ref: topicId }],
      Threshold: 1,
    });
  });

  it('schedules snapshot, artifacts, prune and RPO check with the configured expressions and time zone', () => {
    const fns = template.findResources('AWS::Lambda::Function') as Record<string, Resource>;
    const byTarget: Record<string, string[]> = {};
    const queueId = Object.keys(template.findResources('AWS::SQS::Queue'))[0];
    for (const schedule of Object.values(
      template.findResources('AWS::Scheduler::Schedule') as Record<string, Resource>,
    )) {
      const target = schedule.Properties.Target as {
        Arn: { 'Fn::GetAtt': [string, string] };
        DeadLetterConfig: unknown;
        RetryPolicy: unknown;
        Input: string;
      };
      const fnId = target.Arn['Fn::GetAtt'][0];
      expect(fns[fnId], fnId).toBeDefined();
      if (fnId.startsWith('DrillStart')) continue; // the quarterly drill: test/lib/drill
      const name = FUNCTION_IDS.find((id) => new RegExp(`^Backups${id}[0-9A-F]{8}$`).test(fnId)) ?? fnId;
      byTarget[name] = [...(byTarget[name] ?? []), schedule.Properties.ScheduleExpression as string];
      expect(schedule.Properties.ScheduleExpressionTimezone).toBe('Europe/Zurich');
      expect(schedule.Properties.State).toBe('ENABLED');
      expect(target.DeadLetterConfig).toEqual({ Arn: { 'Fn::GetAtt': [queueId, 'Arn'] } });
      expect(target.RetryPolicy).toEqual({ MaximumEventAgeInSeconds: 3600, MaximumRetryAttempts: 3 });
      expect(JSON.parse(target.Input)).toEqual({});
    }
    expect(byTarget).toEqual({
      Snapshot: ['cron(15 2 * * ? *)'],
      Artifacts: ['cron(15 2 * * ? *)'],
      Prune: ['cron(45 5 * * ? *)'],
      RpoMonitor: ['rate(10 minutes)'],
    });
  });

  it('runs the snapshot function when RDS reports a managed snapshot of the source created', () => {
    const snapshotId = Object.keys(template.findResources('AWS::Lambda::Function')).find((id) =>
      /^BackupsSnapshot[0-9A-F]{8}$/.test(id),
    );
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.rds'],
        'detail-type': ['RDS DB Snapshot Event'],
        detail: { SourceIdentifier: [{ prefix: 'rd-bt-cts-prod-' }], EventID: ['RDS-EVENT-0042'] },
      },
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [snapshotId, 'Arn'] },
          DeadLetterConfig: {
            Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^BackupsFailedInvocations'), 'Arn'] },
          },
          RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 7200 },
        }),
      ],
    });
  });

  it('grants no wildcard action and attaches no managed policy to any role', () => {
    for (const [role, statements] of Object.entries(statementsByRole(template))) {
      for (const statement of statements) {
        for (const action of actionsOf(statement)) expect(action, `${role}: ${action}`).not.toContain('*');
      }
    }
    for (const [id, role] of Object.entries(
      template.findResources('AWS::IAM::Role') as Record<string, Resource>,
    )) {
      if (isCrossRegionExportProvider(id)) continue;
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
      expect(role.Properties.Policies).toBeUndefined();
    }
  });

  it('allows deleting snapshots only when they carry recovery-drill:managed=true', () => {
    const destructive = Object.values(statementsByRole(template))
      .flat()
      .filter((s) => actionsOf(s).some((a) => /^rds:(Delete|Modify)DBSnapshot/.test(a)));
    expect(destructive.length).toBeGreaterThan(0);
    for (const statement of destructive) {
      expect(statement.Condition).toEqual({
        StringEquals: { 'aws:ResourceTag/recovery-drill:managed': 'true' },
      });
    }
  });

  it('allows creating, copying and tagging snapshots only with recovery-drill:managed=true on the request', () => {
    const creating = Object.entries(statementsByRole(template))
      .filter(([roleId]) => roleId.startsWith('Backups'))
      .flatMap(([, statements]) => statements)
      .filter((s) => actionsOf(s).some((a) => /^rds:(Create|Copy|AddTags)/.test(a)));
    expect(creating.flatMap(actionsOf).sort()).toEqual([
      'rds:AddTagsToResource',
      'rds:CopyDBSnapshot',
      'rds:CreateDBSnapshot',
    ]);
    for (const statement of creating) {
      expect(statement.Condition).toEqual({
        StringEquals: { 'aws:RequestTag/recovery-drill:managed': 'true' },
      });
    }
  });

  it('gives destructive RDS actions to the prune function alone', () => {
    const byRole = statementsByRole(template);
    for (const id of FUNCTION_IDS) {
      const actions = (byRole[roleIdOf(template, `Backups${id}Role`)] ?? []).flatMap(actionsOf);
      expect(actions.includes('rds:DeleteDBSnapshot'), id).toBe(id === 'Prune');
    }
  });

  it('keeps incident state in a KMS-encrypted table with point-in-time recovery, keyed by pk', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: {
        SSEEnabled: true,
        SSEType: 'KMS',
        KMSMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^BackupsKey'), 'Arn'] },
      },
    });
  });

  it('rotates every KMS key of the stack', () => {
    const keys = Object.values(template.findResources('AWS::KMS::Key') as Record<string, Resource>);
    // backup bucket, escalation topic, backup functions' state, drill secret
    expect(keys).toHaveLength(4);
    for (const key of keys) expect(key.Properties.EnableKeyRotation).toBe(true);
  });

  it('uses the configured Object Lock mode and days for the backup bucket', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      ObjectLockConfiguration: {
        ObjectLockEnabled: 'Enabled',
        Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 40 } },
      },
    });
  });

  it('lets the RDS export service write only under exports/ of the backup bucket', () => {
    const roleId = roleIdOf(template, 'BackupsExportRole');
    const role = template.findResources('AWS::IAM::Role')[roleId] as Resource;
    expect(role.Properties.AssumeRolePolicyDocument).toMatchObject({
      Statement: [{ Action: 'sts:AssumeRole', Principal: { Service: 'export.rds.amazonaws.com' } }],
    });
    const objectStatements = (statementsByRole(template)[roleId] ?? []).filter((s) =>
      actionsOf(s).includes('s3:PutObject'),
    );
    expect(objectStatements).toHaveLength(1);
    expect(JSON.stringify(objectStatements[0]?.Resource)).toContain('/exports/*');
  });

  it('does not let the snapshot function export or share while both are off', () => {
    const actions = (statementsByRole(template)[roleIdOf(template, 'BackupsSnapshotRole')] ?? []).flatMap(
      actionsOf,
    );
    expect(actions).not.toContain('rds:StartExportTask');
    expect(actions).not.toContain('iam:PassRole');
    expect(actions).not.toContain('rds:ModifyDBSnapshotAttribute');
  });

  it('outputs the bucket, topic and state table names', () => {
    const outputs = template.findOutputs('*');
    expect(Object.keys(outputs).sort()).toEqual([
      'BackupBucketName',
      'DrillStateMachineArn',
      'EscalationTopicArn',
      'StateTableName',
    ]);
  });

  it('creates the copy key with rotation and its alias in the isolation stack', () => {
    expect(isolation).toBeDefined();
    isolation?.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    isolation?.hasResourceProperties('AWS::KMS::Alias', {
      AliasName: 'alias/recovery-drill-snapshot-copies-test',
    });
  });
});

describe('recovery drill stack with export, a copy account and a configured copy key', () => {
  let repo: string;
  let template: Template;
  let isolation: Template | undefined;
  const copyKey = 'arn:aws:kms:eu-central-1:210987654321:key/11111111-2222-3333-4444-555555555555';

  beforeAll(() => {
    repo = makeTree(appFiles());
    const config = makeConfig(repo, {
      isolation: {
        copyRegion: 'eu-central-1',
        copyAccountId: '210987654321',
        sourceAccountId: '123456789012',
        copyKmsKeyArn: copyKey,
        exportToS3: true,
      },
      notifications: {
        emails: [],
        slack: { workspaceId: 'T0123ABCDE', channelId: 'C0123ABCDE' },
        webhookUrl: 'https://hooks.example.com/x',
      },
    });
    ({ template, isolation } = build(config, repo));
  });
  afterAll(() => removeDir(repo));

  it('builds no isolation stack and encrypts copies with the configured key', () => {
    expect(isolation).toBeUndefined();
    const settings = settingsOf(functionsOf(template).Snapshot);
    expect(settings.resources.copyKmsKeyArn).toBe(copyKey);
    expect(settings.config.isolation).toMatchObject({ copyAccountId: '210987654321', exportToS3: true });
    const statements = statementsByRole(template)[roleIdOf(template, 'BackupsSnapshotRole')] ?? [];
    expect(statements).toContainEqual(
      expect.objectContaining({ Action: ['kms:CreateGrant', 'kms:DescribeKey'], Resource: copyKey }),
    );
  });

  it('lets the snapshot function share only managed copies with the copy account', () => {
    const statements = statementsByRole(template)[roleIdOf(template, 'BackupsSnapshotRole')] ?? [];
    const share = statements.filter((s) => actionsOf(s).includes('rds:ModifyDBSnapshotAttribute'));
    expect(share).toHaveLength(1);
    expect(share[0]?.Condition).toEqual({
      StringEquals: { 'aws:ResourceTag/recovery-drill:managed': 'true' },
    });
    expect(JSON.stringify(share[0]?.Resource)).toContain(':rds:eu-central-1:');
  });

  it('lets the snapshot function pass the export role to the RDS export service only', () => {
    const statements = statementsByRole(template)[roleIdOf(template, 'BackupsSnapshotRole')] ?? [];
    const pass = statements.filter((s) => actionsOf(s).includes('iam:PassRole'));
    expect(pass).toHaveLength(1);
    expect(pass[0]?.Resource).toEqual({ 'Fn::GetAtt': [roleIdOf(template, 'BackupsExportRole'), 'Arn'] });
    expect(pass[0]?.Condition).toEqual({
      StringEquals: { 'iam:PassedToService': 'export.rds.amazonaws.com' },
    });
    expect(statements.flatMap(actionsOf)).toContain('rds:StartExportTask');
  });

  it('sends escalations to Slack and the webhook', () => {
    template.resourceCountIs('AWS::Chatbot::SlackChannelConfiguration', 1);
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'https',
      Endpoint: 'https://hooks.example.com/x',
    });
  });
});
