import { describe, expect, it } from 'vitest';
import { type Config, parseConfig } from '../../../functions/core/config.ts';
import { encodeSettings, SETTINGS_VARIABLE, SettingsError } from '../../../functions/core/settings.ts';
import {
  readArtifactsEnv,
  readHeartbeatEnv,
  readPruneEnv,
  readRpoMonitorEnv,
  readSnapshotEnv,
} from '../../../functions/shared/env.ts';

function config(overrides: Record<string, unknown> = {}): Config {
  return parseConfig({
    environment: 'production',
    source: { dbInstanceIdentifier: 'btcts-prod', region: 'eu-west-1' },
    isolation: { copyRegion: 'eu-central-1' },
    ...overrides,
  });
}

const shared = () => ({
  topicArn: 'arn:aws:sns:eu-west-1:123456789012:recovery-drill-escalations',
  stateTable: 'RecoveryDrillStack-StateTable-1ABC',
});

function snapshotResources() {
  return {
    ...shared(),
    copyKmsKeyArn: 'arn:aws:kms:eu-central-1:123456789012:alias/recovery-drill-snapshot-copies',
    bucket: 'recoverydrillstack-backupbucket-1abc',
    exportRoleArn: 'arn:aws:iam::123456789012:role/export',
    exportKmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:key/1234',
    artifactsVersion: 'f'.repeat(64),
  };
}

const settings = (text: string) => ({ [SETTINGS_VARIABLE]: text });

describe('backup function settings', () => {
  it('reads the snapshot settings the stack encodes', () => {
    expect(readSnapshotEnv(settings(encodeSettings('snapshot', config(), snapshotResources())))).toEqual({
      environment: 'production',
      topicArn: 'arn:aws:sns:eu-west-1:123456789012:recovery-drill-escalations',
      sourceDbInstanceId: 'btcts-prod',
      sourceRegion: 'eu-west-1',
      copyRegion: 'eu-central-1',
      copyKmsKeyId: 'arn:aws:kms:eu-central-1:123456789012:alias/recovery-drill-snapshot-copies',
      copyAccountId: null,
      export: null,
      artifactsVersion: 'f'.repeat(64),
      pitrReplication: true,
    });
  });

  it('replicates only when asked and when the copy region is another region', () => {
    const snapshotWith = (isolation: Record<string, unknown>) =>
      readSnapshotEnv(settings(encodeSettings('snapshot', config({ isolation }), snapshotResources())));
    expect(snapshotWith({ copyRegion: 'eu-central-1', pitrReplication: false }).pitrReplication).toBe(false);
    expect(
      snapshotWith({
        copyRegion: 'eu-west-1',
        copyAccountId: '210987654321',
        sourceAccountId: '123456789012',
      }).pitrReplication,
    ).toBe(false);
    const rpo = readRpoMonitorEnv(
      settings(encodeSettings('rpoMonitor', config({ isolation: { copyRegion: 'eu-central-1' } }), shared())),
    );
    expect(rpo.pitrReplication).toBe(true);
  });

  it('reads the export settings and the copy account only when the configuration sets them', () => {
    const env = readSnapshotEnv(
      settings(
        encodeSettings(
          'snapshot',
          config({
            isolation: {
              copyRegion: 'eu-central-1',
              copyAccountId: '210987654321',
              sourceAccountId: '123456789012',
              exportToS3: true,
            },
          }),
          snapshotResources(),
        ),
      ),
    );
    expect(env.copyAccountId).toBe('210987654321');
    expect(env.export).toEqual({
      bucket: 'recoverydrillstack-backupbucket-1abc',
      roleArn: 'arn:aws:iam::123456789012:role/export',
      kmsKeyId: 'arn:aws:kms:eu-west-1:123456789012:key/1234',
    });
  });

  it('reads the retention policy, the RPO target in fractions of a minute and the artifacts bucket', () => {
    const prune = readPruneEnv(
      settings(
        encodeSettings('prune', config({ retention: { daily: 7, dryRun: true } }), {
          ...shared(),
          bucket: 'backups-1',
        }),
      ),
    );
    expect(prune).toMatchObject({
      retentionDaily: 7,
      retentionMonthly: 12,
      maxDeletionsPerRun: 20,
      dryRun: true,
      bucket: 'backups-1',
    });
    const rpo = readRpoMonitorEnv(
      settings(encodeSettings('rpoMonitor', config({ targets: { rpoMinutes: 0.5 } }), shared())),
    );
    expect(rpo).toMatchObject({ rpoTargetMinutes: 0.5, stateTable: 'RecoveryDrillStack-StateTable-1ABC' });
    expect(
      readArtifactsEnv(
        settings(
          encodeSettings('artifacts', config(), { ...shared(), bucket: 'b-1', artifactsVersion: 'abc' }),
        ),
      ),
    ).toMatchObject({ bucket: 'b-1', artifactsVersion: 'abc' });
  });

  it('refuses the heartbeat without the role secret, naming heartbeat.secretName', () => {
    const text = encodeSettings('heartbeat', config(), {});
    expect(() => readHeartbeatEnv(settings(text))).toThrow(SettingsError);
    expect(() => readHeartbeatEnv(settings(text))).toThrow('heartbeat.secretName');
    const withSecret = encodeSettings(
      'heartbeat',
      config({ heartbeat: { secretName: 'bt-cts/heartbeat', retentionDays: 5 } }),
      {},
    );
    expect(readHeartbeatEnv(settings(withSecret))).toEqual({
      environment: 'production',
      sourceDbInstanceId: 'btcts-prod',
      secretId: 'bt-cts/heartbeat',
      schema: 'recovery_drill',
      retentionDays: 5,
    });
  });

  it("refuses another function's settings", () => {
    const text = encodeSettings('rpoMonitor', config(), shared());
    expect(() => readPruneEnv(settings(text))).toThrow('encoded for "rpoMonitor", not prune');
  });
});
