/**
 * Fixtures for the AWS drill adapters against moto: SDK clients for one moto server, the default
 * VPC's subnet and security group (ECS tasks need real ones), a source instance and a configuration.
 */

import { CreateClusterCommand, ECSClient, RegisterTaskDefinitionCommand } from '@aws-sdk/client-ecs';
import { CreateDBInstanceCommand, RDSClient } from '@aws-sdk/client-rds';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { type Config, type ConfigInput, parseConfig } from '../../../../functions/core/config.ts';
import type { StepOutcome } from '../../../../functions/core/escalations.ts';
import { evaluateRecovery } from '../../../../functions/core/evaluate.ts';
import type { DrillReport } from '../../../../functions/core/report.ts';
import { buildReport } from '../../../../functions/core/report.ts';
import { MOTO_CREDENTIALS } from '../../../support/moto.ts';

export const REGION = 'eu-west-1';

export function motoClients(endpoint: string, region = REGION) {
  const base = { endpoint, region, credentials: MOTO_CREDENTIALS };
  return {
    rds: new RDSClient(base),
    secrets: new SecretsManagerClient(base),
    ecs: new ECSClient(base),
    s3: new S3Client({ ...base, forcePathStyle: true }),
    sns: new SNSClient(base),
    sqs: new SQSClient(base),
    sfn: new SFNClient(base),
  };
}

/** A drill configuration for the tests (small, valid, defaults elsewhere). */
export function drillConfig(overrides: Partial<ConfigInput> = {}): Config {
  return parseConfig({
    environment: 'test',
    source: { dbInstanceIdentifier: 'bt-cts-prod', region: REGION },
    isolation: { copyRegion: 'eu-central-1' },
    ...overrides,
  });
}

/** The source instance, with an RDS-managed master secret like a production one. */
export async function createSource(rds: RDSClient, id = 'bt-cts-prod'): Promise<void> {
  await rds.send(
    new CreateDBInstanceCommand({
      DBInstanceIdentifier: id,
      Engine: 'postgres',
      DBInstanceClass: 'db.t4g.medium',
      MasterUsername: 'btcts',
      ManageMasterUserPassword: true,
      AllocatedStorage: 20,
      DBName: 'btcts',
    }),
  );
}

export async function createBucket(s3: S3Client, bucket: string): Promise<void> {
  await s3.send(
    new CreateBucketCommand({ Bucket: bucket, CreateBucketConfiguration: { LocationConstraint: REGION } }),
  );
}

/** The stack-owned drill secret (empty until a drill writes it). */
export async function createDrillSecret(
  secrets: SecretsManagerClient,
  name = 'recovery-drill/drill-connection',
) {
  const out = await secrets.send(new CreateSecretCommand({ Name: name, SecretString: '{"cleared":true}' }));
  return out.ARN as string;
}

/**
 * One EC2 Query API call to moto (there is no EC2 client among the project's packages): moto reads
 * the service from the credential scope and does not check signatures.
 */
async function ec2Query(endpoint: string, action: string, region = REGION): Promise<string> {
  const response = await fetch(endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `AWS4-HMAC-SHA256 Credential=testing/20260101/${region}/ec2/aws4_request, SignedHeaders=host, Signature=0`,
    },
    body: `Action=${action}&Version=2016-11-15`,
  });
  return response.text();
}

/** The default VPC's first subnet and its default security group in moto. */
export async function defaultNetwork(
  endpoint: string,
  region = REGION,
): Promise<{ subnetId: string; securityGroupId: string }> {
  const subnetId = /<subnetId>([^<]+)</.exec(await ec2Query(endpoint, 'DescribeSubnets', region))?.[1];
  const securityGroupId = /<groupId>([^<]+)</.exec(
    await ec2Query(endpoint, 'DescribeSecurityGroups', region),
  )?.[1];
  if (!subnetId || !securityGroupId) throw new Error('moto returned no default subnet or security group');
  return { subnetId, securityGroupId };
}

/** A finished drill's report: passed, or failed with the given failed step. */
export function drillReport(
  drillId: string,
  { failedStep }: { failedStep?: StepOutcome['name'] } = {},
): DrillReport {
  const start = Date.parse('2026-11-26T06:00:00Z');
  const at = (min: number) => new Date(start + min * 60_000).toISOString();
  const steps: StepOutcome[] = [
    { name: 'validate', startedAt: at(0), endedAt: at(1), outcome: 'passed', detail: 'restoring to latest' },
    {
      name: failedStep ?? 'restore',
      startedAt: at(1),
      endedAt: at(2),
      outcome: failedStep ? 'failed' : 'passed',
      detail: failedStep ? 'IntegrityError: table "Account" has 3 orphaned rows' : 'restored',
    },
  ];
  return buildReport({
    drillId,
    targetTime: at(0),
    restorePointAt: at(0),
    startedAt: at(0),
    readyAt: failedStep ? null : at(10),
    endedAt: at(12),
    targets: { rpoMinutes: 60, rtoMinutes: 30 },
    steps,
    evaluation: failedStep
      ? null
      : evaluateRecovery({
          targetTime: at(0),
          restorePointAt: at(0),
          startedAt: at(0),
          readyAt: at(10),
          newestRowAt: at(0),
          targets: { rpoMinutes: 60, rtoMinutes: 30 },
        }),
    environment: 'test',
    mode: 'aws',
  });
}

/** An instance that is not a drill's (no managed secret), optionally tagged. */
export async function createPlainInstance(rds: RDSClient, id: string, tags: Record<string, string> = {}) {
  await rds.send(
    new CreateDBInstanceCommand({
      DBInstanceIdentifier: id,
      Engine: 'postgres',
      DBInstanceClass: 'db.t4g.medium',
      MasterUsername: 'x',
      MasterUserPassword: 'not-a-real-password',
      AllocatedStorage: 20,
      Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
    }),
  );
}

/** An ECS cluster and a Fargate task definition of the app, as the stack creates them. */
export async function createAppTask(ecs: ECSClient, network: { subnetId: string; securityGroupId: string }) {
  const cluster = await ecs.send(new CreateClusterCommand({ clusterName: 'recovery-drill' }));
  const definition = await ecs.send(
    new RegisterTaskDefinitionCommand({
      family: 'bt-cts-app',
      networkMode: 'awsvpc',
      requiresCompatibilities: ['FARGATE'],
      cpu: '256',
      memory: '512',
      containerDefinitions: [
        { name: 'app', image: 'bt-cts:latest', memory: 512, portMappings: [{ containerPort: 3000 }] },
      ],
    }),
  );
  return {
    clusterArn: cluster.cluster?.clusterArn as string,
    taskDefinitionArn: definition.taskDefinition?.taskDefinitionArn as string,
    subnetIds: [network.subnetId],
    securityGroupIds: [network.securityGroupId],
  };
}

/**
 * The environment a Lambda entry sees, pointed at moto: SDK endpoint and dummy keys, quiet
 * Powertools, plus the entry's own variables (its `RECOVERY_DRILL_SETTINGS`). Returns a restore function.
 */
export function useLambdaEnvironment(endpoint: string, own: Record<string, string>): () => void {
  const saved = { ...process.env };
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: endpoint,
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey,
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    ...own,
  });
  return () => {
    process.env = saved;
  };
}
