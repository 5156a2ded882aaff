import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { describe, expect, it } from 'vitest';
import { type Config, ConfigError, parseConfig } from '../../../functions/core/config.ts';
import { BackupFunctions } from '../../../lib/backup/backup-functions.ts';
import { BackupStore } from '../../../lib/backup-store.ts';
import { RecoveryDrillIsolationStack } from '../../../lib/isolation-stack.ts';
import { makeApp, refusalOf } from '../fixtures.ts';

const COPY_KEY = 'arn:aws:kms:eu-central-1:123456789012:alias/recovery-drill-snapshot-copies';

/** A configuration as `loadConfig` gives it, with one section replaced by hand (as a caller of the construct might). */
function handMade(section: Partial<Record<keyof Config, unknown>>): Config {
  const valid = parseConfig({
    environment: 'test',
    source: { dbInstanceIdentifier: 'bt-cts-prod', region: 'eu-west-1' },
    isolation: { copyRegion: 'eu-central-1' },
  });
  const merged: Record<string, unknown> = { ...valid };
  for (const [key, value] of Object.entries(section)) {
    const current = merged[key];
    merged[key] =
      typeof value === 'object' && value !== null && typeof current === 'object'
        ? { ...current, ...value }
        : value;
  }
  return merged as unknown as Config;
}

// The configuration is checked before any function is bundled, so these cases need no Lambda entry.
function refusal(section: Partial<Record<keyof Config, unknown>>, copyKmsKeyArn = COPY_KEY): ConfigError {
  const stack = new Stack(makeApp(), 'Test', { env: { region: 'eu-west-1' } });
  const store = new BackupStore(stack, 'Store');
  return refusalOf(
    ConfigError,
    () =>
      new BackupFunctions(stack, 'Backups', {
        config: handMade(section),
        copyKmsKeyArn,
        bucket: store.bucket,
        bucketKey: store.key,
        topic: new sns.Topic(stack, 'Topic'),
        artifacts: { root: '/nonexistent', manifest: [], version: 'v1' },
      }),
  );
}

const paths = (error: ConfigError) => error.problems.map((p) => p.path);

describe('backup functions configuration', () => {
  it('fails naming source.dbInstanceIdentifier when it is not an RDS identifier', () => {
    const error = refusal({ source: { dbInstanceIdentifier: 'bt_cts' } });
    expect(paths(error)).toEqual(['source.dbInstanceIdentifier']);
    expect(error.message).toContain('"bt_cts"');
  });

  it('fails naming isolation.copyRegion when the copies stay beside the source', () => {
    const error = refusal(
      { isolation: { copyRegion: 'eu-west-1' } },
      'arn:aws:kms:eu-west-1:123456789012:alias/recovery-drill-snapshot-copies',
    );
    expect(paths(error)).toEqual(['isolation.copyRegion']);
    expect(error.message).toContain('not isolated');
  });

  it('fails naming isolation.copyKmsKeyArn when the key is of another region than the copies', () => {
    const error = refusal({}, 'arn:aws:kms:us-east-1:123456789012:key/abcd');
    expect(paths(error)).toEqual(['isolation.copyKmsKeyArn']);
    expect(error.message).toContain('eu-central-1');
    expect(error.message).toContain('arn:aws:kms:us-east-1:123456789012:key/abcd');
    expect(paths(refusal({}, 'arn:aws:s3:::bucket'))).toEqual(['isolation.copyKmsKeyArn']);
  });

  it('fails naming isolation.copyAccountId when it is not 12 digits', () => {
    const error = refusal({ isolation: { copyAccountId: '1234' } });
    expect(paths(error)).toEqual(['isolation.copyAccountId']);
    expect(error.message).toContain('"1234"');
  });

  it('fails naming each retention field out of range, with its value', () => {
    const error = refusal({ retention: { daily: 0, monthly: -1, maxDeletionsPerRun: 1001 } });
    expect(paths(error)).toEqual(['retention.daily', 'retention.monthly', 'retention.maxDeletionsPerRun']);
    expect(error.message).toContain('retention.daily');
    expect(error.message).toContain('got 0');
  });

  it('fails naming targets.rpoMinutes when it is 0, and accepts a fraction of a minute', () => {
    expect(paths(refusal({ targets: { rpoMinutes: 0 } }))).toEqual(['targets.rpoMinutes']);
    expect(() => refusal({ targets: { rpoMinutes: 0.5 } })).toThrow('nothing was refused');
  });

  it('fails naming the schedule that is not an EventBridge expression, saying why', () => {
    const error = refusal({ schedules: { prune: 'cron(30 4 * * *)' } });
    expect(paths(error)).toEqual(['schedules.prune']);
    expect(error.message).toContain('6 fields');
    expect(error.message).toContain('"cron(30 4 * * *)"');
    expect(paths(refusal({ schedules: { rpoCheck: 'rate(0 minutes)' } }))).toEqual(['schedules.rpoCheck']);
    expect(paths(refusal({ schedules: { snapshot: 'daily at 3' } }))).toEqual(['schedules.snapshot']);
  });

  it('fails naming schedules.timezone when it is not an IANA time zone', () => {
    const error = refusal({ schedules: { timezone: 'Mars/Olympus' } });
    expect(paths(error)).toEqual(['schedules.timezone']);
    expect(error.message).toContain('"Mars/Olympus"');
  });

  it('fails naming source.region and environment when they are malformed', () => {
    expect(paths(refusal({ source: { region: 'Ireland' } }))).toEqual(['source.region']);
    expect(paths(refusal({ environment: 'Production' }))).toEqual(['environment']);
  });
});

describe('isolation stack props', () => {
  it('fails when copyAccountId is not 12 digits', () => {
    expect(() => new RecoveryDrillIsolationStack(makeApp(), 'Iso', { copyAccountId: 'acct-1' })).toThrow(
      'RecoveryDrillIsolationStack.copyAccountId: expected a 12-digit AWS account id; got "acct-1"',
    );
  });

  it('lets the copy account use the key when copies are shared with it, through RDS of the copy region only', () => {
    const stack = new RecoveryDrillIsolationStack(makeApp(), 'Iso', {
      env: { region: 'eu-central-1' },
      copyAccountId: '210987654321',
    });
    Template.fromStack(stack).hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          {
            Sid: 'AllowIsolationAccountToUseSharedCopies',
            Effect: 'Allow',
            Principal: {
              AWS: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::210987654321:root']] },
            },
            Action: ['kms:CreateGrant', 'kms:Decrypt', 'kms:DescribeKey'],
            Resource: '*',
            Condition: { StringEquals: { 'kms:ViaService': 'rds.eu-central-1.amazonaws.com' } },
          },
        ]),
      },
    });
  });
});
