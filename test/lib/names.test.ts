import type { App } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../functions/core/config.ts';
import { buildApp } from '../../lib/app.ts';
import { DEPLOYMENT_NAMES, deploymentName } from '../../lib/names.ts';
import { appFiles, makeApp, makeConfig, makeTree, refusalOf, removeDir, settingsOf } from './fixtures.ts';

type Resource = { Type: string; Properties?: Record<string, unknown> };
type Template = { Resources: Record<string, Resource> };

/**
 * Properties ending in `Name` that are no physical name in the account and region: a role's
 * inline policy name is the role's own, an endpoint's service name is AWS's, a metric's name is
 * dimensioned by environment, a topic's display name is the sender label of its emails (the
 * subjects name the environment).
 */
const NOT_PHYSICAL = new Set([
  'AWS::SNS::Topic.DisplayName',
  'AWS::IAM::Policy.PolicyName',
  'AWS::EC2::VPCEndpoint.ServiceName',
  'AWS::CloudWatch::Alarm.MetricName',
]);

/** Every literal `…Name` property of the templates, as `Type.Property=value` (tokens are generated names). */
function physicalNames(templates: Template[]): string[] {
  const names: string[] = [];
  for (const template of templates) {
    for (const resource of Object.values(template.Resources)) {
      for (const [key, value] of Object.entries(resource.Properties ?? {})) {
        const property = `${resource.Type}.${key}`;
        if (!key.endsWith('Name') || typeof value !== 'string' || NOT_PHYSICAL.has(property)) continue;
        names.push(`${property}=${value}`);
      }
    }
  }
  return names;
}

const duplicates = (values: string[]) => values.filter((v, i) => values.indexOf(v) !== i);

describe('names carry the environment (lib/names.ts)', () => {
  it('keeps production on the names it had, suffixes every other environment, and carries it where it always did', () => {
    expect(deploymentName('production', 'drillStack')).toBe('RecoveryDrillStack');
    expect(deploymentName('production', 'isolationStack')).toBe('RecoveryDrillIsolationStack');
    expect(deploymentName('production', 'copyKeyAlias')).toBe('alias/recovery-drill-snapshot-copies');
    expect(deploymentName('production', 'dashboard')).toBe('recovery-drill-production');
    expect(deploymentName('production', 'slackConfiguration')).toBe('recovery-drill-production');
    for (const what of Object.keys(DEPLOYMENT_NAMES) as (keyof typeof DEPLOYMENT_NAMES)[]) {
      expect(deploymentName('staging', what)).toBe(`${DEPLOYMENT_NAMES[what]}-staging`);
    }
  });
});

describe('two environments in one CDK app', () => {
  let repo: string;
  let app: App;
  let templates: Record<string, Template>;
  let stackNames: string[];

  const slack = { workspaceId: 'T0123ABCD', channelId: 'C0123ABCD' };
  const configOf = (environment: string) =>
    makeConfig(repo, { environment, notifications: { emails: ['oncall@example.com'], slack } });

  beforeAll(() => {
    repo = makeTree(appFiles());
    app = makeApp();
    buildApp(configOf('staging'), { baseDir: repo, app });
    buildApp(configOf('production'), { baseDir: repo, app });
    const assembly = app.synth();
    stackNames = assembly.stacks.map((s) => s.stackName);
    templates = Object.fromEntries(assembly.stacks.map((s) => [s.stackName, s.template as Template]));
  });
  afterAll(() => removeDir(repo));

  it('synthesizes six stacks with six names (main, isolation key, copy region drill), production keeping its own', () => {
    expect(stackNames.sort()).toEqual([
      'RecoveryDrillCopyRegionStack',
      'RecoveryDrillCopyRegionStack-staging',
      'RecoveryDrillIsolationStack',
      'RecoveryDrillIsolationStack-staging',
      'RecoveryDrillStack',
      'RecoveryDrillStack-staging',
    ]);
  });

  it('gives no two resources the same physical name: aliases, dashboards, Slack configurations', () => {
    const names = physicalNames(Object.values(templates));
    expect(duplicates(names)).toEqual([]);
    expect(names).toEqual(
      expect.arrayContaining([
        'AWS::KMS::Alias.AliasName=alias/recovery-drill-snapshot-copies',
        'AWS::KMS::Alias.AliasName=alias/recovery-drill-snapshot-copies-staging',
        'AWS::CloudWatch::Dashboard.DashboardName=recovery-drill-production',
        'AWS::CloudWatch::Dashboard.DashboardName=recovery-drill-staging',
        'AWS::Chatbot::SlackChannelConfiguration.ConfigurationName=recovery-drill-production',
        'AWS::Chatbot::SlackChannelConfiguration.ConfigurationName=recovery-drill-staging',
      ]),
    );
  });

  it("points each environment's functions at its own copy key alias", () => {
    const copyKeys = ['RecoveryDrillStack', 'RecoveryDrillStack-staging'].map((name) => {
      const fns = Object.entries(templates[name]?.Resources ?? {}).filter(
        ([id, r]) => r.Type === 'AWS::Lambda::Function' && id.startsWith('BackupsSnapshot'),
      );
      expect(fns).toHaveLength(1);
      return settingsOf(fns[0]?.[1] as { Properties: Record<string, unknown> }).resources.copyKmsKeyArn;
    });
    expect(copyKeys).toEqual([
      'arn:<AWS::Partition>:kms:eu-central-1:<AWS::AccountId>:alias/recovery-drill-snapshot-copies',
      'arn:<AWS::Partition>:kms:eu-central-1:<AWS::AccountId>:alias/recovery-drill-snapshot-copies-staging',
    ]);
  });

  it('checks both environments with cdk-nag once: zero unacknowledged findings', () => {
    const report = new AwsSolutionsChecks().validateScope(app);
    expect(report.violations.map((v) => v.ruleName)).toEqual([]);
  });

  it('refuses an environment built into the app twice, naming the field and the value', () => {
    const error = refusalOf(ConfigError, () => buildApp(configOf('staging'), { baseDir: repo, app }));
    expect(error.message).toContain('environment: an environment not yet built into this app');
    expect(error.message).toContain('got "staging"');
  });
});
