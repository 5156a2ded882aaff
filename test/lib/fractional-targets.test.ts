/**
 * Targets in fractions of a minute, as the configuration allows, end to end: the config is
 * accepted, the stack synthesizes with them (alarm thresholds, each function's settings), and every
 * function the stack deploys boots its handler module from the environment the stack gives it in a
 * fresh process (a cold start), decoding the same settings.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../functions/core/config.ts';
import { buildApp } from '../../lib/app.ts';
import { PROJECT_ROOT } from '../../lib/function.ts';
import { appFiles, makeApp, makeConfig, makeTree, removeDir, settingsOf } from './fixtures.ts';

const run = promisify(execFile);

type Resource = { Type: string; Properties: Record<string, unknown> };

/** Each function the stack deploys, by its construct path prefix, and the entry it bundles. */
const ENTRIES: Record<string, string> = {
  BackupsSnapshot: 'functions/snapshot.ts',
  BackupsArtifacts: 'functions/artifacts.ts',
  BackupsPrune: 'functions/prune.ts',
  BackupsRpoMonitor: 'functions/rpo-monitor.ts',
  DrillControl: 'functions/drill-control.ts',
  DrillChecks: 'functions/drill-checks.ts',
  DrillReporting: 'functions/drill-reporting.ts',
  DrillStart: 'functions/drill-start.ts',
  DrillAbortCleanup: 'functions/drill-abort-cleanup.ts',
  HeartbeatFunction: 'functions/heartbeat.ts',
};

const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';

/** A plausible deploy-time value for a token, by the type of the resource it points at. */
function resolveToken(value: unknown, resources: Record<string, Resource>): string {
  if (typeof value === 'string') return value;
  const token = value as Record<string, unknown>;
  if ('Fn::Join' in token) {
    const [separator, parts] = token['Fn::Join'] as [string, unknown[]];
    return parts.map((part) => resolveToken(part, resources)).join(separator);
  }
  const pseudo: Record<string, string> = {
    'AWS::Partition': 'aws',
    'AWS::Region': REGION,
    'AWS::AccountId': ACCOUNT,
    'AWS::URLSuffix': 'amazonaws.com',
  };
  const [id, attribute] =
    'Ref' in token ? [token.Ref as string, 'Ref'] : (token['Fn::GetAtt'] as [string, string]);
  if (pseudo[id]) return pseudo[id];
  const type = resources[id]?.Type;
  const name = id.toLowerCase().slice(0, 40);
  const hex = [...id]
    .reduce((h, c) => (h * 31 + c.charCodeAt(0)) >>> 0, 7)
    .toString(16)
    .padStart(8, '0');
  switch (type) {
    case 'AWS::EC2::Subnet':
      return `subnet-${hex}`;
    case 'AWS::EC2::VPC':
      return `vpc-${hex}`;
    case 'AWS::EC2::SecurityGroup':
      return `sg-${hex}`;
    case 'AWS::SNS::Topic':
      return `arn:aws:sns:${REGION}:${ACCOUNT}:${name}`;
    case 'AWS::S3::Bucket':
      return name;
    case 'AWS::DynamoDB::Table':
      return attribute === 'Arn' ? `arn:aws:dynamodb:${REGION}:${ACCOUNT}:table/${name}` : name;
    case 'AWS::SecretsManager::Secret':
      return `arn:aws:secretsmanager:${REGION}:${ACCOUNT}:secret:${name}-AbCdEf`;
    case 'AWS::StepFunctions::StateMachine':
      return `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:${name}`;
    case 'AWS::ECS::Cluster':
      return `arn:aws:ecs:${REGION}:${ACCOUNT}:cluster/${name}`;
    case 'AWS::ECS::TaskDefinition':
      return `arn:aws:ecs:${REGION}:${ACCOUNT}:task-definition/${name}:1`;
    case 'AWS::IAM::Role':
      return `arn:aws:iam::${ACCOUNT}:role/${name}`;
    case 'AWS::KMS::Key':
      return `arn:aws:kms:${REGION}:${ACCOUNT}:key/0a1b2c3d-4e5f-6789-abcd-ef0123456789`;
    case 'AWS::Logs::LogGroup':
      return attribute === 'Arn' ? `arn:aws:logs:${REGION}:${ACCOUNT}:log-group:${name}:*` : name;
    default:
      return name;
  }
}

let repo: string;
let config: Config;
let template: Template;

beforeAll(() => {
  repo = makeTree(appFiles());
  config = makeConfig(repo, {
    targets: { rpoMinutes: 0.5, rtoMinutes: 2.5 },
    // Every function the stack can deploy boots, the heartbeat's too.
    source: { network: { subnetIds: ['subnet-0aaa1111'], securityGroupIds: ['sg-0bbb2222'] } },
    heartbeat: { mode: 'function', secretName: 'bt-cts/heartbeat' },
  });
  template = Template.fromStack(buildApp(config, { baseDir: repo, app: makeApp() }).stack);
});
afterAll(() => removeDir(repo));

describe('fractional targets', () => {
  it('are kept as fractions in the alarm thresholds and the settings of the RPO monitor and the drill', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { Threshold: 0.5 });
    const functions = template.findResources('AWS::Lambda::Function') as Record<string, Resource>;
    const settingsById = (prefix: string) => {
      const entry = Object.entries(functions).find(([id]) => new RegExp(`^${prefix}[0-9A-F]{8}$`).test(id));
      expect(entry, prefix).toBeDefined();
      return settingsOf((entry as [string, Resource])[1]);
    };
    expect(settingsById('BackupsRpoMonitor').config.targets).toEqual({ rpoMinutes: 0.5, rtoMinutes: 2.5 });
    expect(settingsById('DrillChecks').config.targets).toEqual({ rpoMinutes: 0.5, rtoMinutes: 2.5 });
  });

  it('boot every deployed function from the environment the stack gives it', async () => {
    const resources = template.toJSON().Resources as Record<string, Resource>;
    const functions = Object.entries(template.findResources('AWS::Lambda::Function')).filter(
      // CDK's own: the custom resource framework and the cross-region reference writer (no settings of ours).
      ([id]) => !id.includes('Providerframework') && !id.startsWith('CustomCrossRegionExport'),
    ) as [string, Resource][];
    const booted: string[] = [];
    for (const [logicalId, fn] of functions) {
      const prefix = Object.keys(ENTRIES).find((p) => new RegExp(`^${p}[0-9A-F]{8}$`).test(logicalId));
      expect(prefix, `entry of the deployed function ${logicalId}`).toBeDefined();
      const variables = (fn.Properties.Environment as { Variables?: Record<string, unknown> } | undefined)
        ?.Variables;
      const env: Record<string, string> = {
        PATH: process.env.PATH ?? '',
        AWS_REGION: REGION,
        AWS_ACCESS_KEY_ID: 'boot-test',
        AWS_SECRET_ACCESS_KEY: 'boot-test',
        POWERTOOLS_TRACE_ENABLED: 'false',
      };
      for (const [name, value] of Object.entries(variables ?? {})) env[name] = resolveToken(value, resources);
      const entry = ENTRIES[prefix as string] as string;
      const script = `const m = await import(${JSON.stringify(join(PROJECT_ROOT, entry))}); if (typeof m.handler !== 'function') throw new Error('no handler'); console.log('BOOTED');`;
      const { stdout } = await run(
        process.execPath,
        ['--import', 'tsx', '--input-type=module', '-e', script],
        {
          cwd: PROJECT_ROOT,
          env,
        },
      ).catch((error: { stderr?: string; message: string }) => {
        throw new Error(`${entry} failed at cold start: ${error.stderr ?? error.message}`);
      });
      expect(stdout).toContain('BOOTED');
      booted.push(entry);
    }
    expect(booted.sort()).toEqual(Object.values(ENTRIES).sort());
  });
});
