import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../../functions/core/config.ts';
import {
  decodeSettings,
  encodeSettings,
  SETTINGS_VARIABLE,
  SettingsError,
} from '../../../../functions/core/settings.ts';
import { drillEnvOf } from '../../../../functions/drill/adapters/aws/env.ts';

const config = (app: Record<string, unknown> = {}) =>
  parseConfig({
    source: { dbInstanceIdentifier: 'bt-cts-prod', region: 'eu-west-1' },
    isolation: { copyRegion: 'eu-central-1' },
    app,
  });

const complete = () => ({
  bucket: 'recovery-drill-backups-123',
  topicArn: 'arn:aws:sns:eu-west-1:123456789012:escalations',
  drillSecretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:drill-AbCdEf',
  dbSubnetGroupName: 'recovery-drill-isolated',
  dbSecurityGroupIds: ['sg-0123456789abcdef0'],
  clusterArn: 'arn:aws:ecs:eu-west-1:123456789012:cluster/recovery-drill' as string | null,
  taskDefinitionArn: 'arn:aws:ecs:eu-west-1:123456789012:task-definition/app:3' as string | null,
  appSubnetIds: ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1'],
  appSecurityGroupIds: ['sg-0123456789abcdef1'],
  logGroupName: null as string | null,
  stateTable: 'state' as string | null,
  drillRegion: null as string | null,
  artifactsBucket: null as string | null,
});

const decoded = (cfg: ReturnType<typeof config>, resources: ReturnType<typeof complete>) =>
  decodeSettings('drill', { [SETTINGS_VARIABLE]: encodeSettings('drill', cfg, resources) });

describe('drill function settings', () => {
  it('gives the adapters the resources the stack created', () => {
    const env = drillEnvOf(decoded(config(), complete()));
    expect(env.app?.subnetIds).toEqual(['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1']);
    expect(env.dbSecurityGroupIds).toEqual(['sg-0123456789abcdef0']);
    expect(env.stateTable).toBe('state');
    expect(env.logGroupName).toBeNull();
  });

  it('needs the app task only when no staging URL is smoke-tested', () => {
    const without = { ...complete(), clusterArn: null, taskDefinitionArn: null };
    expect(
      drillEnvOf(decoded(config({ stagingBaseUrl: 'https://staging.example.com' }), without)).app,
    ).toBeNull();
    expect(() => drillEnvOf(decoded(config(), without))).toThrow(SettingsError);
    expect(() => drillEnvOf(decoded(config(), without))).toThrow('resource clusterArn');
  });

  it('names a resource of the wrong kind', () => {
    const bad = { ...complete(), dbSecurityGroupIds: 'sg-0123456789abcdef0' as unknown as string[] };
    expect(() => decoded(config(), bad)).toThrow('resource dbSecurityGroupIds: expected a list of strings');
  });
});
