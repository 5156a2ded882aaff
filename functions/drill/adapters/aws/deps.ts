/**
 * Wires the drill's steps to AWS for the Lambda functions: the configuration the stack bundled
 * beside the code, the environment the stack set, and one SDK client per service, built once per
 * cold start.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ECSClient } from '@aws-sdk/client-ecs';
import { RDSClient } from '@aws-sdk/client-rds';
import { S3Client } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { type DrillConfig, decodeSettings, type FunctionSettings } from '../../../core/settings.ts';
import type { DynamoApi } from '../../../shared/aws/incidents.ts';
import type { SnsApi } from '../../../shared/aws/notify.ts';
import type { RdsApi } from '../../../shared/aws/rds-snapshots.ts';
import type { S3Api } from '../../../shared/aws/s3-objects.ts';
import { traced } from '../../../shared/powertools.ts';
import type { DrillDeps } from '../../ports/drill-deps.ts';
import { AuthWriteFailedError } from '../../ports/errors.ts';
import { type EcsApi, EcsAppRunner } from './ecs-app-runner.ts';
import { type DrillEnv, drillEnvOf } from './env.ts';
import { AWS_DRILL_FROM, regionOfData } from './rds-origins.ts';
import { RdsRecovery } from './rds-recovery.ts';
import { reportKeys, S3ArtifactSource, S3ReportStore } from './s3-stores.ts';
import { type SecretsApi, SecretsManagerDrillSecret } from './secret-store.ts';
import { SnsNotifier } from './sns-notifier.ts';

export interface AwsClients {
  /** Folds drill escalations into incidents when the state table is configured (source region). */
  readonly ddb?: DynamoApi;
  /** RDS in the drill's region (the region of its data). */
  readonly rds: RdsApi;
  /** RDS in the source region, when the drill runs elsewhere (the source's resource id). */
  readonly sourceRds?: RdsApi;
  readonly secrets: SecretsApi;
  readonly ecs: EcsApi;
  /** S3 in the source region: the backup bucket's reports. */
  readonly s3: S3Api;
  /** S3 in the drill's region, when it differs: the artifacts the checks read there. */
  readonly artifactsS3?: S3Api;
  /** SNS in the source region: the escalation topic. */
  readonly sns: SnsApi;
}

/**
 * One client per service, instrumented for X-Ray: RDS, Secrets Manager, ECS (and the artifacts'
 * S3) in the drill's region; the backup bucket, topic and state table in the source region.
 */
export function createAwsClients(region: string, sourceRegion: string = region): AwsClients {
  const elsewhere = region !== sourceRegion;
  return {
    ddb: traced(new DynamoDBClient({ region: sourceRegion })),
    rds: traced(new RDSClient({ region })),
    ...(elsewhere ? { sourceRds: traced(new RDSClient({ region: sourceRegion })) } : {}),
    secrets: traced(new SecretsManagerClient({ region })),
    ecs: traced(new ECSClient({ region })),
    s3: traced(new S3Client({ region: sourceRegion })),
    ...(elsewhere ? { artifactsS3: traced(new S3Client({ region })) } : {}),
    sns: traced(new SNSClient({ region: sourceRegion })),
  };
}

/**
 * The admin password for the login smoke check, read once from Secrets Manager (a plain string,
 * or JSON with a `password` key).
 */
export function adminPasswordReader(secrets: SecretsApi, secretId: string | null): () => Promise<string> {
  let cached: Promise<string> | undefined;
  return () => {
    if (secretId === null) {
      return Promise.reject(
        new AuthWriteFailedError(
          'smoke.adminPasswordSecret is not set: an AWS drill cannot log in as the admin without the Secrets Manager secret holding its password',
        ),
      );
    }
    cached ??= secrets.send(new GetSecretValueCommand({ SecretId: secretId })).then((out) => {
      const text = out.SecretString ?? '';
      let password: unknown = text;
      try {
        const parsed = JSON.parse(text) as unknown;
        if (parsed && typeof parsed === 'object') password = (parsed as { password?: unknown }).password;
      } catch {
        // a plain string secret: the password itself
      }
      if (typeof password !== 'string' || password === '') {
        throw new AuthWriteFailedError(
          `the secret ${secretId} (smoke.adminPasswordSecret) holds no password (a string, or JSON with "password")`,
        );
      }
      return password;
    });
    cached.catch(() => {
      cached = undefined;
    });
    return cached;
  };
}

export interface AwsDrillDepsArgs {
  readonly config: DrillConfig;
  readonly env: DrillEnv;
  readonly clients: AwsClients;
  readonly now?: () => Date;
  /** ECS start polling (tests shorten it). */
  readonly appStart?: { readonly timeoutSeconds?: number; readonly pollSeconds?: number };
}

export function buildAwsDrillDeps({
  config,
  env,
  clients,
  now = () => new Date(),
  appStart,
}: AwsDrillDepsArgs): DrillDeps {
  return {
    settings: {
      config,
      mode: 'aws',
      restoreTimeoutSeconds: config.drill.restoreTimeoutMinutes * 60,
      keepInstance: false,
    },
    recovery: new RdsRecovery(
      clients.rds,
      {
        region: env.region,
        ...(env.region !== config.source.region
          ? { source: { region: config.source.region, rds: clients.sourceRds ?? clients.rds } }
          : {}),
        // This drill serves the origins whose data lives in its region.
        servesFrom: AWS_DRILL_FROM.filter((from) => regionOfData(from, config) === env.region),
        sourceDbInstanceId: config.source.dbInstanceIdentifier,
        instancePrefix: config.drill.instancePrefix,
        instanceClass: config.drill.instanceClass,
        dbSubnetGroupName: env.dbSubnetGroupName,
        vpcSecurityGroupIds: env.dbSecurityGroupIds,
      },
      now,
    ),
    secrets: new SecretsManagerDrillSecret(clients.secrets, clients.rds, env.drillSecretArn),
    app: new EcsAppRunner(clients.ecs, {
      stagingBaseUrl: config.app.stagingBaseUrl,
      port: config.app.port,
      task: env.app,
      ...(appStart?.timeoutSeconds !== undefined ? { startTimeoutSeconds: appStart.timeoutSeconds } : {}),
      ...(appStart?.pollSeconds !== undefined ? { pollSeconds: appStart.pollSeconds } : {}),
    }),
    artifacts: new S3ArtifactSource(
      clients.artifactsS3 ?? clients.s3,
      env.artifactsBucket,
      config.app.migrationsDir,
    ),
    reports: new S3ReportStore(clients.s3, env.bucket),
    notifier: new SnsNotifier(
      clients.sns,
      env.topicArn,
      config.environment,
      (drillId) => `s3://${env.bucket}/${reportKeys(drillId).markdown}`,
      {
        source: config.source.dbInstanceIdentifier,
        ...(env.stateTable && clients.ddb
          ? {
              folding: {
                ddb: clients.ddb,
                table: env.stateTable,
                subjectKey: `drill#${config.source.dbInstanceIdentifier}`,
              },
            }
          : {}),
        logs: env.logGroupName
          ? `https://${env.region}.console.aws.amazon.com/cloudwatch/home?region=${env.region}#logsV2:log-groups/log-group/${encodeURIComponent(env.logGroupName)}`
          : null,
      },
    ),
    adminPassword: adminPasswordReader(clients.secrets, config.smoke.adminPasswordSecret),
    now,
  };
}

/** The drill functions' settings (`RECOVERY_DRILL_SETTINGS`), decoded once at cold start. */
export function drillSettings(processEnv: NodeJS.ProcessEnv = process.env): FunctionSettings<'drill'> {
  return decodeSettings('drill', processEnv);
}

/** Everything a drill function needs, from its settings; throws at cold start when they are wrong. */
export function coldStartDeps(settings: FunctionSettings<'drill'> = drillSettings()): DrillDeps {
  const { config } = settings;
  const env = drillEnvOf(settings);
  return buildAwsDrillDeps({ config, env, clients: createAwsClients(env.region, config.source.region) });
}
