/**
 * `BackupFunctions`: the four backup functions (snapshot, artifacts, prune, RPO monitor) with
 * their state, rights, schedules and failure handling. This file composes; each function's rights
 * live beside it (`snapshot.ts`, `artifacts.ts`, `prune.ts`, `rpo-monitor.ts`), the shared state
 * in `state.ts`, the schedules in `schedules.ts`. Every construct is created in this scope under
 * the id it always had, so a deployed stack updates in place.
 */
import { Aws, type CustomResource, RemovalPolicy, Token } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as events from 'aws-cdk-lib/aws-events';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as scheduler from 'aws-cdk-lib/aws-scheduler';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { type Config, ConfigError, checkConfigSections } from '../../functions/core/config.ts';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../../functions/core/contracts.ts';
import { type AppArtifacts, copyArtifactsCommands } from '../artifacts.ts';
import { PROJECT_ROOT } from '../function.ts';
import { withDefaults } from '../props.ts';
import { settingsEnvironment } from '../settings.ts';
import { ARTIFACTS_ENTRY, acknowledgeArtifactsRole, artifactsUpload, grantArtifacts } from './artifacts.ts';
import {
  type BackupFunction,
  type BackupFunctionName,
  type BackupFunctionWiring,
  createBackupFunction,
} from './backup-function.ts';
import { snapshotGrants } from './managed-snapshots.ts';
import { functionResource } from './provider.ts';
import { acknowledgePruneRole, grantPrune, PRUNE_ENTRY } from './prune.ts';
import { acknowledgeRpoMonitorRole, grantRpoMonitor, RPO_MONITOR_ENTRY } from './rpo-monitor.ts';
import { createBackupSchedules } from './schedules.ts';
import {
  acknowledgeExportRole,
  acknowledgeSnapshotRole,
  createExportRole,
  grantSnapshot,
  SNAPSHOT_ENTRY,
  type SnapshotGrantProps,
} from './snapshot.ts';
import { createBackupState } from './state.ts';

export type { BackupFunctionName } from './backup-function.ts';

/** The sections of the configuration the backup functions run with (encoded into their settings). */
export const BACKUP_SECTIONS = [
  'environment',
  'source',
  'isolation',
  'retention',
  'targets',
  'schedules',
] as const;

export interface BackupFunctionsProps {
  /**
   * The validated configuration (`loadConfig()`), or the sections of it named in
   * {@link BACKUP_SECTIONS}: the functions' settings and schedules come from it, with the
   * schema's defaults; a bad value is refused naming its config path.
   */
  readonly config: Pick<Config, (typeof BACKUP_SECTIONS)[number]>;
  /**
   * KMS key ARN or alias ARN in `isolation.copyRegion` that encrypts the copies: the configured
   * `isolation.copyKmsKeyArn`, or the alias of the key the isolation stack creates.
   */
  readonly copyKmsKeyArn: string;
  /** Holds artifacts, prune plans and exports. */
  readonly bucket: s3.IBucket;
  /** The bucket's KMS key (also encrypts exports). */
  readonly bucketKey: kms.IKey;
  /** Escalation topic. */
  readonly topic: sns.ITopic;
  /**
   * KMS key of the escalation topic; publishers need it.
   * @default - the topic is not encrypted with a customer-managed key
   */
  readonly topicKey?: kms.IKey;
  /** The app's artifacts read at synth: copied into the artifacts function's code. */
  readonly artifacts: AppArtifacts;
  /**
   * Retention of every function's log group.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Folder with `package-lock.json` and `functions/<entry>.ts`.
   * @default PROJECT_ROOT - this repository
   */
  readonly projectRoot?: string;
  /**
   * What happens to the state table and the queue key when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** What the construct decides itself (the configuration's defaults live in its schema). */
const DEFAULTS = {
  logRetention: logs.RetentionDays.ONE_YEAR,
  projectRoot: PROJECT_ROOT,
  removalPolicy: RemovalPolicy.RETAIN,
};

/** Powertools' own variables: the names every function logs and publishes under. */
const POWERTOOLS_ENVIRONMENT = {
  POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
  POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
};

/** The backup functions, their schedules and triggers, and the incident state table. */
export class BackupFunctions extends Construct {
  readonly functions: Readonly<Record<BackupFunctionName, nodejs.NodejsFunction>>;
  readonly roles: Readonly<Record<BackupFunctionName, iam.Role>>;
  readonly logGroups: Readonly<Record<BackupFunctionName, logs.LogGroup>>;
  /** DynamoDB table (partition key `pk`) remembering open incidents ("escalate once per incident"). */
  readonly stateTable: dynamodb.Table;
  /** Failed asynchronous invocations (Lambda on-failure, Scheduler and EventBridge dead letters). */
  readonly failureQueue: sqs.Queue;
  /** Encrypts the state table and the failure queue. */
  readonly key: kms.Key;
  /** Role `export.rds.amazonaws.com` assumes to write Parquet exports under `exports/`. */
  readonly exportRole: iam.Role;
  /** Role EventBridge Scheduler assumes to invoke the functions. */
  readonly schedulerRole: iam.Role;
  readonly schedules: Readonly<
    Record<'snapshot' | 'artifacts' | 'prune' | 'rpoCheck', scheduler.CfnSchedule>
  >;
  /** Runs the snapshot function when RDS reports a managed manual snapshot created. */
  readonly snapshotCreatedRule: events.Rule;
  /** Stores the artifacts on every deployment whose artifacts changed. */
  readonly artifactsUpload: CustomResource;
  /**
   * Sets up the replication of the source's automated backups to the copy region on deploy (the
   * snapshot function keeps it daily). Present when `isolation.pitrReplication` applies.
   */
  readonly pitrReplication?: CustomResource;

  constructor(scope: Construct, id: string, props: BackupFunctionsProps) {
    super(scope, id);
    const p = withDefaults(DEFAULTS, props);
    const { config } = p;
    checkConfigSections(config, BACKUP_SECTIONS);
    checkCopyKey(p.copyKmsKeyArn, config.isolation.copyRegion);
    const sourceRegion = config.source.region;
    const copyRegion = config.isolation.copyRegion;

    const account = Aws.ACCOUNT_ID;
    // RDS replicates automated backups to another region only (the functions decide the same way).
    const replicates = config.isolation.pitrReplication && copyRegion !== sourceRegion;
    const grants = snapshotGrants(config.source.dbInstanceIdentifier, sourceRegion, copyRegion);

    const state = createBackupState(this, p.topic, p.removalPolicy, account);
    this.key = state.key;
    this.stateTable = state.stateTable;
    this.failureQueue = state.failureQueue;
    this.exportRole = createExportRole(this, p.bucket, p.bucketKey, account);

    const shared = { topicArn: p.topic.topicArn, stateTable: this.stateTable.tableName };
    const environment = (settings: Record<string, string>) => ({ ...settings, ...POWERTOOLS_ENVIRONMENT });
    const wiring: BackupFunctionWiring = {
      projectRoot: p.projectRoot,
      logRetention: p.logRetention,
      topic: p.topic,
      ...(p.topicKey ? { topicKey: p.topicKey } : {}),
      failureQueue: this.failureQueue,
      queueKey: this.key,
    };
    const snapshot = createBackupFunction(
      this,
      'snapshot',
      SNAPSHOT_ENTRY,
      environment(
        settingsEnvironment(this, 'snapshot', config, {
          ...shared,
          copyKmsKeyArn: p.copyKmsKeyArn,
          bucket: p.bucket.bucketName,
          exportRoleArn: this.exportRole.roleArn,
          exportKmsKeyArn: p.bucketKey.keyArn,
          artifactsVersion: p.artifacts.version,
        }),
      ),
      wiring,
    );
    const artifacts = createBackupFunction(
      this,
      'artifacts',
      ARTIFACTS_ENTRY,
      environment(
        settingsEnvironment(this, 'artifacts', config, {
          ...shared,
          bucket: p.bucket.bucketName,
          artifactsVersion: p.artifacts.version,
        }),
      ),
      wiring,
      (outputDir) => copyArtifactsCommands(p.artifacts, outputDir),
    );
    const prune = createBackupFunction(
      this,
      'prune',
      PRUNE_ENTRY,
      environment(settingsEnvironment(this, 'prune', config, { ...shared, bucket: p.bucket.bucketName })),
      wiring,
    );
    const rpoMonitor = createBackupFunction(
      this,
      'rpoMonitor',
      RPO_MONITOR_ENTRY,
      environment(settingsEnvironment(this, 'rpoMonitor', config, shared)),
      wiring,
    );
    const all: Record<BackupFunctionName, BackupFunction> = { snapshot, artifacts, prune, rpoMonitor };
    const pick = <T>(f: (b: BackupFunction) => T) =>
      Object.fromEntries(Object.entries(all).map(([name, b]) => [name, f(b)])) as Record<
        BackupFunctionName,
        T
      >;
    this.functions = pick((b) => b.fn);
    this.roles = pick((b) => b.role);
    this.logGroups = pick((b) => b.logGroup);

    const snapshotGrant: SnapshotGrantProps = {
      grants,
      sourceRegion,
      copyRegion,
      copyKmsKeyArn: p.copyKmsKeyArn,
      sourceKmsKeyArn: config.source.kmsKeyArn,
      ...(config.isolation.copyAccountId !== null ? { copyAccountId: config.isolation.copyAccountId } : {}),
      exportToS3: config.isolation.exportToS3,
      pitrReplication: replicates,
      exportRole: this.exportRole,
      bucketKey: p.bucketKey,
    };
    grantSnapshot(snapshot.role, snapshotGrant);
    grantArtifacts(artifacts.role, p.bucket, p.bucketKey);
    grantPrune(prune.role, grants, p.bucket, p.bucketKey);
    grantRpoMonitor(
      rpoMonitor.role,
      grants,
      this.stateTable,
      this.key,
      sourceRegion,
      replicates ? copyRegion : null,
    );
    acknowledgeSnapshotRole(snapshot.role, snapshotGrant);
    acknowledgePruneRole(prune.role, grants, p.bucket);
    acknowledgeRpoMonitorRole(rpoMonitor.role, grants, replicates ? copyRegion : null);
    acknowledgeArtifactsRole(artifacts.role, p.bucket);
    acknowledgeExportRole(this.exportRole, p.bucket);

    const backupSchedules = createBackupSchedules(
      this,
      this.functions,
      config.schedules,
      { queue: this.failureQueue, key: this.key },
      grants.managedPrefix,
      account,
    );
    this.schedulerRole = backupSchedules.schedulerRole;
    this.schedules = backupSchedules.schedules;
    this.snapshotCreatedRule = backupSchedules.snapshotCreatedRule;

    this.artifactsUpload = artifactsUpload(this, artifacts.fn, p.artifacts, p.logRetention);
    if (replicates) {
      this.pitrReplication = functionResource(this, {
        prefix: 'PitrReplication',
        id: 'PitrReplication',
        fn: snapshot.fn,
        logRetention: p.logRetention,
        purpose: 'the point-in-time replication setup',
        resourceType: 'Custom::RecoveryDrillPitrReplication',
        // Run again when what the replication is made of changes (it then reports a drift).
        properties: { source: config.source.dbInstanceIdentifier, copyRegion, copyKey: p.copyKmsKeyArn },
      });
      // The snapshot function's rights must be in place before CloudFormation runs it.
      this.pitrReplication.node.addDependency(snapshot.role);
    }
  }
}

/**
 * The copy key the stack resolved (the configured one, or the isolation stack's alias, a token):
 * it must be a key of the copy region, as RDS encrypts a copy with a key of its own region.
 * @throws ConfigError naming `isolation.copyKmsKeyArn`.
 */
function checkCopyKey(arn: string, copyRegion: string): void {
  if (Token.isUnresolved(arn)) return;
  const region = /^arn:aws[a-z-]*:kms:([a-z0-9-]+):[^:]+:(key|alias)\/.+$/.exec(arn)?.[1];
  if (region === copyRegion) return;
  throw new ConfigError([
    {
      path: 'isolation.copyKmsKeyArn',
      value: JSON.stringify(arn),
      expected:
        region === undefined
          ? 'a KMS key or alias ARN'
          : `a key in isolation.copyRegion ${copyRegion} (RDS encrypts a copy with a key of the copy's region)`,
    },
  ]);
}
