import { Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { describe, expect, it } from 'vitest';
import { InputError } from '../../../functions/core/errors.ts';
import { BackupFunctions, type BackupFunctionsProps } from '../../../lib/backup/backup-functions.ts';
import { BackupStore } from '../../../lib/backup-store.ts';
import { RecoveryDrillIsolationStack } from '../../../lib/isolation-stack.ts';
import { makeApp, refusalOf } from '../fixtures.ts';

// Props are validated before any function is bundled, so these cases need no Lambda entry.
function refusal(overrides: Partial<BackupFunctionsProps>): InputError {
  const stack = new Stack(makeApp(), 'Test', { env: { region: 'eu-west-1' } });
  const store = new BackupStore(stack, 'Store');
  const props: BackupFunctionsProps = {
    environment: 'test',
    sourceDbInstanceId: 'bt-cts-prod',
    sourceRegion: 'eu-west-1',
    copyRegion: 'eu-central-1',
    copyKmsKeyArn: 'arn:aws:kms:eu-central-1:123456789012:alias/recovery-drill-snapshot-copies',
    bucket: store.bucket,
    bucketKey: store.key,
    topic: new sns.Topic(stack, 'Topic'),
    artifacts: { root: '/nonexistent', manifest: [], version: 'v1' },
    ...overrides,
  };
  return refusalOf(InputError, () => new BackupFunctions(stack, 'Backups', props));
}

describe('backup functions props', () => {
  it('fails when sourceDbInstanceId is not an RDS identifier', () => {
    const error = refusal({ sourceDbInstanceId: 'bt_cts' });
    expect(error.field).toBe('BackupFunctions.sourceDbInstanceId');
    expect(error.message).toContain('"bt_cts"');
  });

  it('fails when copyRegion is the source region and no copy account isolates the copies', () => {
    const error = refusal({
      copyRegion: 'eu-west-1',
      copyKmsKeyArn: 'arn:aws:kms:eu-west-1:123456789012:alias/recovery-drill-snapshot-copies',
    });
    expect(error.field).toBe('BackupFunctions.copyRegion');
    expect(error.message).toContain('not isolated');
  });

  it('fails when copyKmsKeyArn is a key of another region than copyRegion', () => {
    const error = refusal({ copyKmsKeyArn: 'arn:aws:kms:us-east-1:123456789012:key/abcd' });
    expect(error.field).toBe('BackupFunctions.copyKmsKeyArn');
    expect(error.message).toContain('eu-central-1');
    expect(error.message).toContain('arn:aws:kms:us-east-1:123456789012:key/abcd');
  });

  it('fails when copyKmsKeyArn is not a KMS key or alias ARN', () => {
    expect(refusal({ copyKmsKeyArn: 'arn:aws:s3:::bucket' }).field).toBe('BackupFunctions.copyKmsKeyArn');
  });

  it('fails when copyAccountId is not 12 digits', () => {
    const error = refusal({ copyAccountId: '1234' });
    expect(error.field).toBe('BackupFunctions.copyAccountId');
    expect(error.message).toContain('"1234"');
  });

  it('fails when retention.daily is 0', () => {
    const error = refusal({ retention: { daily: 0 } });
    expect(error.field).toBe('BackupFunctions.retention.daily');
    expect(error.message).toContain('got 0');
  });

  it('fails when retention.maxDeletionsPerRun is above 1000', () => {
    expect(refusal({ retention: { maxDeletionsPerRun: 1001 } }).field).toBe(
      'BackupFunctions.retention.maxDeletionsPerRun',
    );
  });

  it('fails when rpoTargetMinutes is 0', () => {
    expect(refusal({ rpoTargetMinutes: 0 }).field).toBe('BackupFunctions.rpoTargetMinutes');
  });

  it('fails when a schedule is not an EventBridge expression, saying why', () => {
    const error = refusal({ schedules: { prune: 'cron(30 4 * * *)' } });
    expect(error.field).toBe('BackupFunctions.schedules.prune');
    expect(error.message).toContain('6 fields');
    expect(error.message).toContain('"cron(30 4 * * *)"');
  });

  it('fails when sourceRegion is not an AWS region', () => {
    const error = refusal({ sourceRegion: 'Ireland' });
    expect(error.field).toBe('BackupFunctions.sourceRegion');
    expect(error.message).toContain('"Ireland"');
  });

  it('fails when copyRegion is not an AWS region', () => {
    expect(refusal({ copyRegion: 'eu-central' }).field).toBe('BackupFunctions.copyRegion');
  });

  it('fails when retention.monthly is negative', () => {
    expect(refusal({ retention: { monthly: -1 } }).field).toBe('BackupFunctions.retention.monthly');
  });

  it('fails when the RPO check schedule has a zero rate', () => {
    expect(refusal({ schedules: { rpoCheck: 'rate(0 minutes)' } }).field).toBe(
      'BackupFunctions.schedules.rpoCheck',
    );
  });

  it('fails when the snapshot schedule is not an expression at all', () => {
    expect(refusal({ schedules: { snapshot: 'daily at 3' } }).field).toBe(
      'BackupFunctions.schedules.snapshot',
    );
  });

  it('fails when the schedules time zone is unknown', () => {
    const error = refusal({ schedules: { timezone: 'Mars/Olympus' } });
    expect(error.field).toBe('BackupFunctions.schedules.timezone');
    expect(error.message).toContain('"Mars/Olympus"');
  });

  it('fails when environment is not a lower-case name', () => {
    expect(refusal({ environment: 'Production' }).field).toBe('BackupFunctions.environment');
  });
});

describe('isolation stack props', () => {
  it('fails when copyAccountId is not 12 digits', () => {
    expect(() => new RecoveryDrillIsolationStack(makeApp(), 'Iso', { copyAccountId: 'acct-1' })).toThrow(
      'RecoveryDrillIsolationStack.copyAccountId: expected a 12-digit AWS account id; got "acct-1"',
    );
  });

  it('lets the copy account use the key when copies are shared with it', () => {
    const stack = new RecoveryDrillIsolationStack(makeApp(), 'Iso', {
      env: { region: 'eu-central-1' },
      copyAccountId: '210987654321',
    });
    const policy = JSON.stringify(Template.fromStack(stack).findResources('AWS::KMS::Key'));
    expect(policy).toContain('210987654321');
    expect(policy).toContain('kms:CreateGrant');
  });
});
