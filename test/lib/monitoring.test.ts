import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, parseConfig } from '../../functions/core/config.ts';
import type { InputError } from '../../functions/core/errors.ts';
import { buildApp } from '../../lib/app.ts';
import { Monitoring, type MonitoringProps } from '../../lib/monitoring.ts';
import { appFiles, makeApp, makeConfig, makeTree, refusalOf, removeDir } from './fixtures.ts';

type Resource = { Type: string; Properties: Record<string, unknown> };
type Widget = {
  type: string;
  properties: {
    title?: string;
    metrics?: unknown[][];
    annotations?: { horizontal?: { value: number; label?: string; yAxis?: string }[] };
  };
};

/** The monitoring's sections of a configuration as `loadConfig` gives it, targets replaced by hand. */
function monitoringConfig(targets: Record<string, unknown> = {}): MonitoringProps['config'] {
  const valid = parseConfig({
    environment: 'prod',
    source: { dbInstanceIdentifier: 'bt-cts-prod', region: 'eu-west-1' },
    isolation: { copyRegion: 'eu-central-1' },
    targets: { rpoMinutes: 45, rtoMinutes: 90 },
  });
  return { ...valid, targets: { ...valid.targets, ...targets } } as MonitoringProps['config'];
}

/** A small stack with a Monitoring over stand-in parts (no bundling: these are inline functions). */
function monitoredStack(overrides: Partial<MonitoringProps> = {}) {
  const stack = new Stack(makeApp(), 'Test', { env: { region: 'eu-west-1', account: '123456789012' } });
  const topic = new sns.Topic(stack, 'Topic');
  const stateMachine = new sfn.StateMachine(stack, 'Machine', {
    definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(stack, 'Pass')),
  });
  const fn = (id: string) =>
    new lambda.Function(stack, id, {
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = async () => {}'),
    });
  const reporting = fn('Reporting');
  const key = new kms.Key(stack, 'TableKey');
  const table = new dynamodb.Table(stack, 'State', {
    partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
    encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
    encryptionKey: key,
  });
  const monitoring = new Monitoring(stack, 'Monitoring', {
    config: monitoringConfig(),
    topic,
    stateMachine,
    functions: { snapshot: fn('Snapshot'), drillReporting: reporting },
    passedDrillRecord: { table, tableKey: key, reportingFunction: reporting },
    ...overrides,
  });
  return {
    stack,
    monitoring,
    template: Template.fromStack(stack),
    topicId: stack.getLogicalId(topic.node.defaultChild as sns.CfnTopic),
  };
}

/** The dashboard body as JSON: tokens (ARNs, names) become the text TOKEN inside their strings. */
function dashboardWidgets(template: Template): Widget[] {
  const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard')) as Resource[];
  expect(dashboards).toHaveLength(1);
  const body = dashboards[0]?.Properties.DashboardBody as string | { 'Fn::Join': [string, unknown[]] };
  const text =
    typeof body === 'string'
      ? body
      : body['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : 'TOKEN')).join('');
  return (JSON.parse(text) as { widgets: Widget[] }).widgets;
}

function widget(widgets: Widget[], title: RegExp): Widget {
  const found = widgets.filter((w) => title.test(w.properties.title ?? ''));
  expect(found, `widget ${title}`).toHaveLength(1);
  return found[0] as Widget;
}

const toTopic = (topicId: string) => ({
  AlarmActions: [{ Ref: topicId }],
  OKActions: [{ Ref: topicId }],
});

describe('monitoring', () => {
  it('draws RPO and RTO per drill against their targets as horizontal annotations', () => {
    const widgets = dashboardWidgets(monitoredStack().template);
    const rpo = widget(widgets, /^RPO per drill/);
    expect(rpo.properties.annotations?.horizontal).toEqual([expect.objectContaining({ value: 45 })]);
    expect(JSON.stringify(rpo.properties.metrics)).toContain(
      '"RecoveryDrill","RpoMinutes","environment","prod"',
    );
    const rto = widget(widgets, /^RTO per drill/);
    expect(rto.properties.annotations?.horizontal).toEqual([expect.objectContaining({ value: 90 })]);
    expect(JSON.stringify(rto.properties.metrics)).toContain('"RtoMinutes"');
  });

  it('draws lag against the RPO target, snapshot age per region, job outcomes and the drill age', () => {
    const widgets = dashboardWidgets(monitoredStack().template);
    const lag = widget(widgets, /^Restorable-time lag/);
    expect(lag.properties.annotations?.horizontal?.[0]?.value).toBe(45);
    const age = widget(widgets, /^Newest snapshot age/);
    expect(age.properties.annotations?.horizontal?.[0]?.value).toBe(24 * 60 + 45);
    expect(JSON.stringify(age.properties.metrics)).toContain('"region","eu-central-1"');
    expect(JSON.stringify(age.properties.metrics)).toContain('"region","eu-west-1"');
    const jobs = widget(widgets, /^Job outcomes/);
    for (const job of ['snapshot', 'prune', 'artifacts', 'abortCleanup']) {
      expect(JSON.stringify(jobs.properties.metrics)).toContain(`"job","${job}"`);
    }
    const drill = widget(widgets, /^Drill outcome/);
    expect(drill.properties.annotations?.horizontal).toEqual([
      expect.objectContaining({ value: 100, yAxis: 'right' }),
    ]);
  });

  it('alarms on the copy region’s replicated restore window and draws the lag per location', () => {
    const { template, topicId } = monitoredStack();
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'RecoveryDrill',
      MetricName: 'RestorableLagMinutes',
      Dimensions: Match.arrayWith([
        { Name: 'location', Value: 'copy' },
        { Name: 'region', Value: 'eu-central-1' },
      ]),
      Threshold: 45,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'breaching',
      AlarmDescription: Match.stringLikeRegexp('copy region eu-central-1.*BACKUP_STALE'),
      ...toTopic(topicId),
    });
    const lag = JSON.stringify(widget(dashboardWidgets(template), /^Restorable-time lag/).properties.metrics);
    expect(lag).toContain('"location","source","region","eu-west-1"');
    expect(lag).toContain('"location","copy","region","eu-central-1"');
  });

  it('has no copy-region lag alarm or line when replication is off', () => {
    const config = { ...monitoringConfig() };
    const off = { ...config, isolation: { ...config.isolation, pitrReplication: false } };
    const { template } = monitoredStack({ config: off });
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')) as Resource[];
    expect(alarms.filter((a) => JSON.stringify(a.Properties.Dimensions ?? []).includes('"copy"'))).toEqual(
      [],
    );
    const lag = JSON.stringify(widget(dashboardWidgets(template), /^Restorable-time lag/).properties.metrics);
    expect(lag).not.toContain('"location","copy"');
  });

  it('alarms to the topic when a drill execution fails or times out', () => {
    const { template, topicId } = monitoredStack();
    for (const metricName of ['ExecutionsFailed', 'ExecutionsTimedOut']) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/States',
        MetricName: metricName,
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        ...toTopic(topicId),
      });
    }
  });

  it('alarms when the restorable-time lag is over the RPO target', () => {
    const { template, topicId } = monitoredStack();
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'RecoveryDrill',
      MetricName: 'RestorableLagMinutes',
      Dimensions: Match.arrayWith([{ Name: 'environment', Value: 'prod' }]),
      Statistic: 'Maximum',
      Threshold: 45,
      ComparisonOperator: 'GreaterThanThreshold',
      ...toTopic(topicId),
    });
  });

  it('alarms when no drill passed for 100 days, and when the watch measuring it falls silent', () => {
    const { template, topicId } = monitoredStack();
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'RecoveryDrill',
      MetricName: 'DaysSinceLastPassedDrill',
      Dimensions: [
        { Name: 'environment', Value: 'prod' },
        { Name: 'service', Value: 'recovery-drill' },
      ],
      Threshold: 100,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'breaching',
      ...toTopic(topicId),
    });
  });

  it('keeps every alarm within what CloudWatch evaluates: at most one day of periods', () => {
    const alarms = Object.values(
      monitoredStack().template.findResources('AWS::CloudWatch::Alarm'),
    ) as Resource[];
    expect(alarms.length).toBeGreaterThan(0);
    for (const alarm of alarms) {
      const { Period, EvaluationPeriods } = alarm.Properties as { Period: number; EvaluationPeriods: number };
      expect(Period * EvaluationPeriods).toBeLessThanOrEqual(86_400);
    }
  });

  it('alarms on each job failure and each function error', () => {
    const { template, topicId } = monitoredStack();
    for (const job of ['snapshot', 'prune', 'artifacts']) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        MetricName: 'JobFailed',
        Dimensions: Match.arrayWith([{ Name: 'job', Value: job }]),
        Statistic: 'Sum',
        Threshold: 1,
        ...toTopic(topicId),
      });
    }
    const errors = template.findResources('AWS::CloudWatch::Alarm', {
      Properties: { Namespace: 'AWS/Lambda', MetricName: 'Errors', ...toTopic(topicId) },
    });
    expect(Object.keys(errors)).toHaveLength(2);
  });

  it('lets the reporting function record a passed drill in the state table, and nothing more', () => {
    const { template } = monitoredStack();
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Sid: 'RecordPassedDrill', Action: ['dynamodb:PutItem', 'dynamodb:UpdateItem'] }),
          Match.objectLike({
            Sid: 'RecordPassedDrillEncrypted',
            Condition: { StringEquals: { 'kms:ViaService': 'dynamodb.eu-west-1.amazonaws.com' } },
          }),
        ]),
      },
    });
  });

  it('refuses a target out of range naming its config path, and a prop out of range naming the prop', () => {
    const refused = refusalOf(ConfigError, () =>
      monitoredStack({ config: monitoringConfig({ rpoMinutes: 0, rtoMinutes: 24 * 60 + 1 }) }),
    );
    expect(refused.problems.map((p) => p.path)).toEqual(['targets.rpoMinutes', 'targets.rtoMinutes']);
    expect(refused.message).toContain('targets.rpoMinutes');
    expect(() => monitoredStack({ config: monitoringConfig({ rpoMinutes: 0.5 }) })).not.toThrow();
    try {
      monitoredStack({ maxDaysWithoutPassedDrill: 1000 });
    } catch (error) {
      expect((error as InputError).field).toBe('Monitoring.maxDaysWithoutPassedDrill');
      expect((error as InputError).message).toContain('1000');
      return;
    }
    throw new Error('expected maxDaysWithoutPassedDrill 1000 to be refused');
  });
});

describe('monitoring in the stack', () => {
  let repo: string | undefined;
  beforeAll(() => {
    repo = makeTree(appFiles());
  });
  afterAll(() => removeDir(repo));

  it('watches every backup and drill function with the configured targets, alarming to the escalation topic', () => {
    const config = makeConfig(repo as string, { targets: { rpoMinutes: 30, rtoMinutes: 120 } });
    const built = buildApp(config, { baseDir: repo as string, app: makeApp() });
    const template = Template.fromStack(built.stack);
    const topicId = built.stack.getLogicalId(built.stack.escalation.topic.node.defaultChild as sns.CfnTopic);
    const widgets = dashboardWidgets(template);
    expect(widget(widgets, /^RPO per drill/).properties.annotations?.horizontal?.[0]?.value).toBe(30);
    expect(widget(widgets, /^RTO per drill/).properties.annotations?.horizontal?.[0]?.value).toBe(120);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'RestorableLagMinutes',
      Threshold: 30,
      Dimensions: Match.arrayWith([{ Name: 'environment', Value: 'test' }]),
      ...toTopic(topicId),
    });
    const errors = template.findResources('AWS::CloudWatch::Alarm', {
      Properties: { Namespace: 'AWS/Lambda', MetricName: 'Errors', ...toTopic(topicId) },
    });
    expect(Object.keys(errors)).toHaveLength(9);
    // The cleanup after an aborted drill: its function's errors and its CLEANUP_FAILED escalations.
    const abortCleanupId = Object.keys(template.findResources('AWS::Lambda::Function')).find((id) =>
      id.startsWith('DrillAbortCleanup'),
    );
    expect(
      Object.values(errors).filter((a) =>
        JSON.stringify(a).includes(JSON.stringify({ Ref: abortCleanupId })),
      ),
    ).toHaveLength(1);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'JobFailed',
      Dimensions: Match.arrayWith([{ Name: 'job', Value: 'abortCleanup' }]),
      AlarmDescription: Match.stringLikeRegexp('cleanup after an aborted drill execution failed'),
      ...toTopic(topicId),
    });
  });
});
