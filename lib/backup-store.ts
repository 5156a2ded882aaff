/**
 * The isolated, encrypted place the runbook asks for ("store backups in an isolated location with
 * access controls and encryption at rest"): the backup bucket that holds the app's artifacts, the
 * prune audit trail and the optional Parquet exports, under a customer-managed key and Object Lock
 * so that nobody (including a compromised deploy role in GOVERNANCE mode without the bypass
 * permission) can quietly delete a restore's evidence.
 */
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { type Config, checkConfigSections } from '../functions/core/config.ts';
import { checkInteger, configDefaults, withDefaults } from './props.ts';

export interface BackupStoreProps {
  /**
   * The configuration's `backupBucket` section (Object Lock mode and days, how long replaced
   * versions are kept), validated against the schema: a bad value is refused naming its config
   * path (`backupBucket.objectLockDays`).
   * @default - the schema's defaults: GOVERNANCE, 35 days (the runbook's 35 daily restore points), 400 days
   */
  readonly config?: Pick<Config, 'backupBucket'>;
  /**
   * Days the server access logs of the backup bucket are kept (1-36500).
   * @default 365
   */
  readonly accessLogExpirationDays?: number;
  /**
   * What happens to the key and the buckets when the stack is deleted.
   * @default RemovalPolicy.RETAIN - backups outlive the stack that made them
   */
  readonly removalPolicy?: RemovalPolicy;
}

const DEFAULTS = {
  accessLogExpirationDays: 365,
  removalPolicy: RemovalPolicy.RETAIN,
};

/** Backup bucket, its customer-managed key and its access-log bucket. */
export class BackupStore extends Construct {
  /** Encrypts the backup bucket (SSE-KMS) and the snapshot exports; rotated yearly. */
  readonly key: kms.Key;
  readonly bucket: s3.Bucket;
  /** Receives the backup bucket's server access logs (SSE-S3: log delivery cannot use SSE-KMS). */
  readonly accessLogsBucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: BackupStoreProps = {}) {
    super(scope, id);
    const p = withDefaults(DEFAULTS, props);
    const { backupBucket } = props.config ?? configDefaults('backupBucket');
    checkConfigSections({ backupBucket }, ['backupBucket'], 'BackupStore');
    checkInteger('BackupStore.accessLogExpirationDays', p.accessLogExpirationDays, 1, 36500);

    this.key = new kms.Key(this, 'Key', {
      description: 'recovery-drill: encrypts the backup bucket and snapshot exports',
      enableKeyRotation: true,
      removalPolicy: p.removalPolicy,
    });

    this.accessLogsBucket = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      lifecycleRules: [
        {
          id: 'expire-access-logs',
          expiration: Duration.days(p.accessLogExpirationDays),
          noncurrentVersionExpiration: Duration.days(1),
        },
      ],
      removalPolicy: p.removalPolicy,
    });
    Validations.of(this.accessLogsBucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'This bucket is the destination of the backup bucket server access logs; logging it into itself would loop and another log bucket would only move the question.',
    });

    const retention = Duration.days(backupBucket.objectLockDays);
    this.bucket = new s3.Bucket(this, 'Bucket', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: this.key,
      bucketKeyEnabled: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      versioned: true,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      objectLockEnabled: true,
      objectLockDefaultRetention:
        backupBucket.objectLockMode === 'COMPLIANCE'
          ? s3.ObjectLockRetention.compliance(retention)
          : s3.ObjectLockRetention.governance(retention),
      lifecycleRules: [
        {
          id: 'expire-noncurrent-versions',
          noncurrentVersionExpiration: Duration.days(backupBucket.noncurrentVersionExpirationDays),
          abortIncompleteMultipartUploadAfter: Duration.days(7),
        },
      ],
      serverAccessLogsBucket: this.accessLogsBucket,
      serverAccessLogsPrefix: 'backup-bucket/',
      removalPolicy: p.removalPolicy,
    });
  }
}
