/**
 * Factories for the backup-function tests: SDK clients pointed at moto, a source instance, an
 * escalation topic read back through SQS, a KMS alias in the copy region, an Object Lock bucket
 * with SSE-KMS, and recorders for logs and metrics. Every call makes fresh objects.
 */
import { randomUUID } from 'node:crypto';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateAliasCommand, CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { CreateDBInstanceCommand, CreateDBSnapshotCommand, RDSClient, type Tag } from '@aws-sdk/client-rds';
import {
  CreateBucketCommand,
  PutBucketEncryptionCommand,
  PutObjectLockConfigurationCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { CreateTopicCommand, SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll } from 'vitest';
import { parseConfig } from '../../functions/core/config.ts';
import {
  encodeSettings,
  SETTINGS_VARIABLE,
  type SettingsFunction,
  type SettingsResources,
} from '../../functions/core/settings.ts';
import type { ArtifactsEnv, PruneEnv, RpoMonitorEnv, SnapshotEnv } from '../../functions/shared/env.ts';
import type { JobLogger, JobMetrics } from '../../functions/shared/powertools.ts';
import { MOTO_ACCOUNT_ID, MOTO_CREDENTIALS, type Moto, startMoto } from '../support/moto.ts';

export const SOURCE_REGION = 'eu-west-1';
export const COPY_REGION = 'eu-central-1';

/** A unique, valid RDS identifier per test, so tests sharing one moto never see each other's data. */
export function uniqueId(prefix = 'btcts'): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

export function clientConfig(endpoint: string, region: string) {
  return { endpoint, region, credentials: MOTO_CREDENTIALS };
}

export function motoClients(endpoint: string, regions = { source: SOURCE_REGION, copy: COPY_REGION }) {
  return {
    sourceRds: new RDSClient(clientConfig(endpoint, regions.source)),
    copyRds: new RDSClient(clientConfig(endpoint, regions.copy)),
    sns: new SNSClient(clientConfig(endpoint, SOURCE_REGION)),
    sqs: new SQSClient(clientConfig(endpoint, SOURCE_REGION)),
    s3: new S3Client({ ...clientConfig(endpoint, SOURCE_REGION), forcePathStyle: true }),
    copyKms: new KMSClient(clientConfig(endpoint, regions.copy)),
    sourceKms: new KMSClient(clientConfig(endpoint, SOURCE_REGION)),
    ddb: new DynamoDBClient(clientConfig(endpoint, SOURCE_REGION)),
  };
}
export type MotoClients = ReturnType<typeof motoClients>;

export async function createSourceInstance(rds: RDSClient, id: string): Promise<void> {
  await rds.send(
    new CreateDBInstanceCommand({
      DBInstanceIdentifier: id,
      Engine: 'postgres',
      DBInstanceClass: 'db.t4g.micro',
      AllocatedStorage: 20,
      MasterUsername: 'app',
      MasterUserPassword: 'not-a-real-password',
      BackupRetentionPeriod: 35,
    }),
  );
}

/** A manual snapshot made outside recovery-drill (optionally with tags). */
export async function createForeignSnapshot(
  rds: RDSClient,
  instanceId: string,
  id: string,
  tags: Tag[] = [],
) {
  await rds.send(
    new CreateDBSnapshotCommand({ DBInstanceIdentifier: instanceId, DBSnapshotIdentifier: id, Tags: tags }),
  );
}

/** The copy key with the alias the isolation stack creates; returns the alias ARN and the key ARN. */
export async function createCopyKey(kms: KMSClient, region = COPY_REGION) {
  const key = await kms.send(new CreateKeyCommand({ Description: 'recovery-drill test copy key' }));
  const aliasName = `alias/recovery-drill-snapshot-copies-${randomUUID().slice(0, 8)}`;
  await kms.send(new CreateAliasCommand({ AliasName: aliasName, TargetKeyId: key.KeyMetadata?.KeyId }));
  return {
    aliasArn: `arn:aws:kms:${region}:${MOTO_ACCOUNT_ID}:${aliasName}`,
    keyArn: key.KeyMetadata?.Arn ?? '',
  };
}

export interface SnsMessage {
  readonly subject: string;
  readonly message: string;
  readonly attributes: Record<string, string>;
  /** `message` parsed (the `default` JSON every machine subscriber gets). */
  readonly body: Record<string, unknown>;
}

/** An escalation topic with an SQS subscription: what on-call would have received. */
export async function createTopicWithInbox(clients: MotoClients) {
  const name = uniqueId('escalations');
  const topic = await clients.sns.send(new CreateTopicCommand({ Name: name }));
  const queue = await clients.sqs.send(new CreateQueueCommand({ QueueName: name }));
  const attributes = await clients.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queue.QueueUrl, AttributeNames: ['QueueArn'] }),
  );
  await clients.sns.send(
    new SubscribeCommand({
      TopicArn: topic.TopicArn,
      Protocol: 'sqs',
      Endpoint: attributes.Attributes?.QueueArn,
    }),
  );
  const queueUrl = queue.QueueUrl ?? '';
  return {
    topicArn: topic.TopicArn ?? '',
    /** Every message delivered since the last call (and removes them). */
    async drain(): Promise<SnsMessage[]> {
      const out: SnsMessage[] = [];
      for (;;) {
        const batch = await clients.sqs.send(
          new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
        );
        const messages = batch.Messages ?? [];
        if (messages.length === 0) return out;
        for (const m of messages) {
          const envelope = JSON.parse(m.Body ?? '{}') as {
            Subject: string;
            Message: string;
            MessageAttributes?: Record<string, { Value: string }>;
          };
          out.push({
            subject: envelope.Subject,
            message: envelope.Message,
            attributes: Object.fromEntries(
              Object.entries(envelope.MessageAttributes ?? {}).map(([k, v]) => [k, v.Value]),
            ),
            body: JSON.parse(envelope.Message) as Record<string, unknown>,
          });
        }
        await clients.sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })),
          }),
        );
      }
    },
  };
}

/** A backup bucket as the stack makes it: Object Lock (governance, 35 days) and SSE-KMS by default. */
export async function createBackupBucket(clients: MotoClients) {
  const bucket = uniqueId('backups');
  const key = await clients.sourceKms.send(new CreateKeyCommand({ Description: 'backup bucket key' }));
  await clients.s3.send(
    new CreateBucketCommand({
      Bucket: bucket,
      ObjectLockEnabledForBucket: true,
      CreateBucketConfiguration: { LocationConstraint: SOURCE_REGION },
    }),
  );
  await clients.s3.send(
    new PutObjectLockConfigurationCommand({
      Bucket: bucket,
      ObjectLockConfiguration: {
        ObjectLockEnabled: 'Enabled',
        Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 35 } },
      },
    }),
  );
  await clients.s3.send(
    new PutBucketEncryptionCommand({
      Bucket: bucket,
      ServerSideEncryptionConfiguration: {
        Rules: [
          {
            ApplyServerSideEncryptionByDefault: {
              SSEAlgorithm: 'aws:kms',
              KMSMasterKeyID: key.KeyMetadata?.Arn,
            },
            BucketKeyEnabled: true,
          },
        ],
      },
    }),
  );
  return { bucket, keyArn: key.KeyMetadata?.Arn ?? '' };
}

export async function createStateTable(ddb: DynamoDBClient): Promise<string> {
  const name = uniqueId('state');
  await ddb.send(
    new CreateTableCommand({
      TableName: name,
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  return name;
}

export interface Recorded {
  readonly logs: { level: string; message: string; extra: Record<string, unknown> }[];
  readonly metrics: { name: string; unit: string; value: number; dimensions: Record<string, string> }[];
  readonly logger: JobLogger;
  readonly metricsSink: JobMetrics;
  /** Every value published under `name`, whatever its extra dimensions. */
  metric(name: string): number[];
  /** The values published under `name` with exactly these extra dimensions (`{}`: none). */
  metricWith(name: string, dimensions: Record<string, string>): number[];
}

/** Collects what a job logs and measures, so tests can assert on it. */
export function recorder(): Recorded {
  const logs: Recorded['logs'] = [];
  const metrics: Recorded['metrics'] = [];
  const log = (level: string) => (message: string, extra?: Record<string, unknown>) => {
    logs.push({ level, message, extra: extra ?? {} });
  };
  return {
    logs,
    metrics,
    logger: { info: log('info'), warn: log('warn'), error: log('error') },
    metricsSink: {
      addMetric: (name, unit, value, dimensions) =>
        metrics.push({ name, unit, value, dimensions: { ...(dimensions ?? {}) } }),
    },
    metric: (name) => metrics.filter((m) => m.name === name).map((m) => m.value),
    metricWith: (name, dimensions) =>
      metrics
        .filter((m) => m.name === name && JSON.stringify(m.dimensions) === JSON.stringify(dimensions))
        .map((m) => m.value),
  };
}

const base = (sourceDbInstanceId: string, topicArn: string) => ({
  environment: 'test',
  topicArn,
  sourceDbInstanceId,
  sourceRegion: SOURCE_REGION,
  copyRegion: COPY_REGION,
});

export function snapshotEnv(
  sourceDbInstanceId: string,
  topicArn: string,
  overrides: Partial<SnapshotEnv> = {},
): SnapshotEnv {
  return {
    ...base(sourceDbInstanceId, topicArn),
    copyKmsKeyId: `arn:aws:kms:${COPY_REGION}:${MOTO_ACCOUNT_ID}:alias/recovery-drill-snapshot-copies`,
    copyAccountId: null,
    export: null,
    artifactsVersion: 'a'.repeat(64),
    // moto does not implement StartDBInstanceAutomatedBackupsReplication: the tests that need it turn it on.
    pitrReplication: false,
    ...overrides,
  };
}

export function artifactsEnv(
  bucket: string,
  topicArn: string,
  overrides: Partial<ArtifactsEnv> = {},
): ArtifactsEnv {
  return { ...base('btcts', topicArn), bucket, artifactsVersion: 'b'.repeat(64), ...overrides };
}

export function pruneEnv(
  sourceDbInstanceId: string,
  topicArn: string,
  bucket: string,
  overrides: Partial<PruneEnv> = {},
): PruneEnv {
  return {
    ...base(sourceDbInstanceId, topicArn),
    retentionDaily: 35,
    retentionMonthly: 12,
    maxDeletionsPerRun: 20,
    dryRun: false,
    bucket,
    ...overrides,
  };
}

export function rpoMonitorEnv(
  sourceDbInstanceId: string,
  topicArn: string,
  stateTable: string,
  overrides: Partial<RpoMonitorEnv> = {},
): RpoMonitorEnv {
  return {
    ...base(sourceDbInstanceId, topicArn),
    rpoTargetMinutes: 60,
    stateTable,
    // moto reports no replicated automated backups: the tests that watch them turn it on.
    pitrReplication: false,
    ...overrides,
  };
}

/**
 * One moto_server for the calling test file, started before its tests and stopped after them,
 * with SDK clients pointed at it. Read `moto` and `clients` inside tests and hooks only.
 */
export function useMotoClients(): { moto: Moto; clients: MotoClients } {
  const context = {} as { moto: Moto; clients: MotoClients };
  beforeAll(async () => {
    context.moto = await startMoto();
    context.clients = motoClients(context.moto.endpoint);
  });
  afterAll(async () => {
    await context.moto?.stop();
  });
  return context;
}

/**
 * `RECOVERY_DRILL_SETTINGS` as the stack encodes it for `fn`, from a configuration of the test
 * source (sections in `overrides` merged over it) and the resources given.
 */
export function settingsVariable<F extends SettingsFunction>(
  fn: F,
  overrides: Record<string, Record<string, unknown> | string>,
  resources: SettingsResources<F>,
): Record<string, string> {
  const document: Record<string, Record<string, unknown> | string> = {
    environment: 'test',
    source: { dbInstanceIdentifier: 'bt-cts-prod', region: SOURCE_REGION },
    isolation: { copyRegion: COPY_REGION },
  };
  for (const [key, value] of Object.entries(overrides)) {
    const current = document[key];
    document[key] =
      typeof value === 'object' && typeof current === 'object' ? { ...current, ...value } : value;
  }
  return { [SETTINGS_VARIABLE]: encodeSettings(fn, parseConfig(document), resources) };
}
