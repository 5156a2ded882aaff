import { describe, expect, it } from 'vitest';
import {
  EnvironmentError,
  readArtifactsEnv,
  readPruneEnv,
  readRpoMonitorEnv,
  readSnapshotEnv,
} from '../../../functions/shared/env.ts';

/** The variables every backup function gets from the stack. */
function commonEnv(): Record<string, string> {
  return {
    ENVIRONMENT: 'production',
    TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:recovery-drill-escalations',
    SOURCE_DB_INSTANCE_ID: 'btcts-prod',
    SOURCE_REGION: 'eu-west-1',
    COPY_REGION: 'eu-central-1',
    POWERTOOLS_SERVICE_NAME: 'recovery-drill',
    POWERTOOLS_METRICS_NAMESPACE: 'RecoveryDrill',
    STATE_TABLE: 'RecoveryDrillStack-StateTable-1ABC',
  };
}

function snapshotVariables(): Record<string, string> {
  return {
    ...commonEnv(),
    COPY_KMS_KEY_ID: 'arn:aws:kms:eu-central-1:123456789012:alias/recovery-drill-snapshot-copies',
    COPY_ACCOUNT_ID: '',
    EXPORT_ENABLED: 'false',
    BACKUP_BUCKET: 'recoverydrillstack-backupbucket-1abc',
    EXPORT_ROLE_ARN: 'arn:aws:iam::123456789012:role/export',
    EXPORT_KMS_KEY_ID: 'arn:aws:kms:eu-west-1:123456789012:key/1234',
    ARTIFACTS_VERSION: 'f'.repeat(64),
  };
}

function problemsOf(read: () => unknown): readonly string[] {
  try {
    read();
  } catch (error) {
    if (error instanceof EnvironmentError) return error.problems;
    throw error;
  }
  return [];
}

describe('function environment', () => {
  it('reads the snapshot environment the stack sets', () => {
    expect(readSnapshotEnv(snapshotVariables())).toEqual({
      environment: 'production',
      topicArn: 'arn:aws:sns:eu-west-1:123456789012:recovery-drill-escalations',
      sourceDbInstanceId: 'btcts-prod',
      sourceRegion: 'eu-west-1',
      copyRegion: 'eu-central-1',
      copyKmsKeyId: 'arn:aws:kms:eu-central-1:123456789012:alias/recovery-drill-snapshot-copies',
      copyAccountId: null,
      export: null,
      artifactsVersion: 'f'.repeat(64),
    });
  });

  it('reads the export settings and the copy account only when they are set', () => {
    const env = readSnapshotEnv({
      ...snapshotVariables(),
      EXPORT_ENABLED: 'true',
      COPY_ACCOUNT_ID: '210987654321',
    });
    expect(env.copyAccountId).toBe('210987654321');
    expect(env.export).toEqual({
      bucket: 'recoverydrillstack-backupbucket-1abc',
      roleArn: 'arn:aws:iam::123456789012:role/export',
      kmsKeyId: 'arn:aws:kms:eu-west-1:123456789012:key/1234',
    });
    const { EXPORT_ROLE_ARN: _dropped, ...withoutRole } = snapshotVariables();
    expect(readSnapshotEnv(withoutRole).export).toBeNull();
    expect(problemsOf(() => readSnapshotEnv({ ...withoutRole, EXPORT_ENABLED: 'true' }))).toEqual([
      'EXPORT_ROLE_ARN is not set (expected an ARN of iam ("arn:aws:iam:..."))',
    ]);
  });

  it('names every missing or malformed variable at once', () => {
    const { TOPIC_ARN: _topic, ...rest } = commonEnv();
    const problems = problemsOf(() =>
      readPruneEnv({
        ...rest,
        SOURCE_REGION: 'Ireland',
        RETENTION_DAILY: '0',
        RETENTION_MONTHLY: '12',
        MAX_DELETIONS_PER_RUN: '-1',
        DRY_RUN: 'yes',
        BACKUP_BUCKET: 'bucket',
      }),
    );
    expect(problems).toEqual([
      'TOPIC_ARN is not set (expected an ARN of sns ("arn:aws:sns:..."))',
      'SOURCE_REGION="Ireland": expected an AWS region such as "eu-west-1"',
      'RETENTION_DAILY="0": expected an integer from 1 to 3650',
      'MAX_DELETIONS_PER_RUN="-1": expected an integer from 0 to 1000',
      "DRY_RUN=\"yes\": expected 'true' or 'false'",
    ]);
  });

  it('reads the artifacts and RPO monitor environments', () => {
    expect(
      readArtifactsEnv({ ...commonEnv(), BACKUP_BUCKET: 'backups-1', ARTIFACTS_VERSION: 'abc' }),
    ).toMatchObject({
      bucket: 'backups-1',
      artifactsVersion: 'abc',
    });
    expect(readRpoMonitorEnv({ ...commonEnv(), RPO_TARGET_MINUTES: '60' })).toMatchObject({
      rpoTargetMinutes: 60,
      stateTable: 'RecoveryDrillStack-StateTable-1ABC',
    });
    // Fractions of a minute, as the config allows (targets.rpoMinutes: 0.5).
    expect(readRpoMonitorEnv({ ...commonEnv(), RPO_TARGET_MINUTES: '0.5' }).rpoTargetMinutes).toBe(0.5);
    for (const bad of ['0', '-1', '1e3', '1441', 'sixty'])
      expect(problemsOf(() => readRpoMonitorEnv({ ...commonEnv(), RPO_TARGET_MINUTES: bad }))).toEqual([
        `RPO_TARGET_MINUTES=${JSON.stringify(bad)}: expected a number greater than 0 and at most 1440`,
      ]);
    expect(
      problemsOf(() =>
        readArtifactsEnv({ ...commonEnv(), BACKUP_BUCKET: 'backups-1', ARTIFACTS_VERSION: '../x' }),
      ),
    ).toEqual([
      'ARTIFACTS_VERSION="../x": expected the artifacts version (the SHA-256 computed at synth; [A-Za-z0-9._-], 1-128)',
    ]);
  });
});
