import { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { type Config, ConfigError } from '../../functions/core/config.ts';
import { InputError } from '../../functions/core/errors.ts';
import { BackupStore, type BackupStoreProps } from '../../lib/backup-store.ts';
import { configDefaults } from '../../lib/props.ts';
import { makeApp, refusalOf } from './fixtures.ts';

type BucketSettings = Partial<Config['backupBucket']> & Omit<BackupStoreProps, 'config'>;

/** The store built from the schema's `backupBucket` defaults with `settings` laid over them. */
function templateOf(settings: BucketSettings = {}): Template {
  const { accessLogExpirationDays, removalPolicy, ...bucket } = settings;
  const stack = new Stack(makeApp(), 'Test', { env: { region: 'eu-west-1' } });
  const backupBucket = { ...configDefaults('backupBucket').backupBucket, ...bucket };
  new BackupStore(stack, 'Store', { config: { backupBucket }, accessLogExpirationDays, removalPolicy });
  return Template.fromStack(stack);
}

/** A bad `backupBucket` value: refused with its config path. */
function configRefusal(settings: BucketSettings): ConfigError {
  return refusalOf(ConfigError, () => templateOf(settings));
}

function backupBucket(template: Template): Record<string, unknown> {
  const buckets = template.findResources('AWS::S3::Bucket', {
    Properties: { ObjectLockEnabled: true },
  });
  const [bucket] = Object.values(buckets);
  expect(Object.keys(buckets)).toHaveLength(1);
  return (bucket as { Properties: Record<string, unknown> }).Properties;
}

function refusal(settings: BucketSettings): InputError {
  return refusalOf(InputError, () => templateOf(settings));
}

describe('backup store', () => {
  it('encrypts the backup bucket with its own rotated KMS key and a bucket key', () => {
    const template = templateOf();
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    const keyId = Object.keys(template.findResources('AWS::KMS::Key'))[0];
    expect(backupBucket(template).BucketEncryption).toEqual({
      ServerSideEncryptionConfiguration: [
        {
          BucketKeyEnabled: true,
          ServerSideEncryptionByDefault: {
            SSEAlgorithm: 'aws:kms',
            KMSMasterKeyID: { 'Fn::GetAtt': [keyId, 'Arn'] },
          },
        },
      ],
    });
  });

  it('locks every object by default for the runbook 35 days in GOVERNANCE mode', () => {
    expect(backupBucket(templateOf()).ObjectLockConfiguration).toEqual({
      ObjectLockEnabled: 'Enabled',
      Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 35 } },
    });
  });

  it('takes the Object Lock mode and days from the configuration', () => {
    const bucket = backupBucket(templateOf({ objectLockMode: 'COMPLIANCE', objectLockDays: 90 }));
    expect(bucket.ObjectLockConfiguration).toMatchObject({
      Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 90 } },
    });
  });

  it("takes the schema's defaults when built without a configuration", () => {
    const stack = new Stack(makeApp(), 'Test', { env: { region: 'eu-west-1' } });
    new BackupStore(stack, 'Store');
    const bucket = backupBucket(Template.fromStack(stack));
    expect(bucket.ObjectLockConfiguration).toMatchObject({
      Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 35 } },
    });
    expect(bucket.LifecycleConfiguration).toMatchObject({
      Rules: [expect.objectContaining({ NoncurrentVersionExpiration: { NoncurrentDays: 400 } })],
    });
  });

  it('versions the bucket, blocks public access and expires old versions after the configured days', () => {
    const bucket = backupBucket(templateOf({ noncurrentVersionExpirationDays: 500 }));
    expect(bucket.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    expect(bucket.PublicAccessBlockConfiguration).toEqual({
      BlockPublicAcls: true,
      BlockPublicPolicy: true,
      IgnorePublicAcls: true,
      RestrictPublicBuckets: true,
    });
    expect(bucket.LifecycleConfiguration).toMatchObject({
      Rules: [
        expect.objectContaining({ NoncurrentVersionExpiration: { NoncurrentDays: 500 }, Status: 'Enabled' }),
      ],
    });
  });

  it('denies every request that does not use TLS on both buckets', () => {
    const template = templateOf();
    const policies = template.findResources('AWS::S3::BucketPolicy');
    expect(Object.keys(policies)).toHaveLength(2);
    for (const policy of Object.values(policies)) {
      expect(
        (policy as { Properties: { PolicyDocument: { Statement: unknown[] } } }).Properties.PolicyDocument
          .Statement,
      ).toContainEqual(
        expect.objectContaining({
          Effect: 'Deny',
          Action: 's3:*',
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          Principal: { AWS: '*' },
        }),
      );
    }
  });

  it('writes server access logs to a separate, private log bucket', () => {
    const template = templateOf();
    const logBucketId = Object.keys(
      template.findResources('AWS::S3::Bucket', { Properties: { ObjectLockEnabled: Match.absent() } }),
    )[0];
    expect(backupBucket(template).LoggingConfiguration).toEqual({
      DestinationBucketName: { Ref: logBucketId },
      LogFilePrefix: 'backup-bucket/',
    });
    template.hasResourceProperties('AWS::S3::Bucket', {
      ObjectLockEnabled: Match.absent(),
      PublicAccessBlockConfiguration: Match.objectLike({
        BlockPublicAcls: true,
        RestrictPublicBuckets: true,
      }),
    });
  });

  it('retains the key and the buckets when the stack is deleted', () => {
    const template = templateOf();
    for (const type of ['AWS::KMS::Key', 'AWS::S3::Bucket']) {
      for (const resource of Object.values(template.findResources(type))) {
        expect((resource as { DeletionPolicy: string }).DeletionPolicy).toBe('Retain');
      }
    }
  });

  it('fails when objectLockDays is 0, naming the config path and the value', () => {
    const error = configRefusal({ objectLockDays: 0 });
    expect(error.problems.map((p) => p.path)).toEqual(['backupBucket.objectLockDays']);
    expect(error.message).toContain('BackupStore is invalid');
    expect(error.message).toContain('got 0');
  });

  it('fails when objectLockDays is not a whole number', () => {
    expect(configRefusal({ objectLockDays: 1.5 }).problems[0]?.path).toBe('backupBucket.objectLockDays');
  });

  it('fails when noncurrentVersionExpirationDays is negative', () => {
    const error = configRefusal({ noncurrentVersionExpirationDays: -1 });
    expect(error.problems[0]?.path).toBe('backupBucket.noncurrentVersionExpirationDays');
    expect(error.message).toContain('got -1');
  });

  it('fails when accessLogExpirationDays is above 36500', () => {
    expect(refusal({ accessLogExpirationDays: 40000 }).field).toBe('BackupStore.accessLogExpirationDays');
  });

  it('fails when objectLockMode is not GOVERNANCE or COMPLIANCE', () => {
    const error = configRefusal({ objectLockMode: 'governance' as never });
    expect(error.problems[0]?.path).toBe('backupBucket.objectLockMode');
    expect(error.message).toContain('"governance"');
  });
});
