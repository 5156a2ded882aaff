/**
 * The backup functions' settings as their jobs use them, decoded once at cold start from the one
 * variable the stack sets (`RECOVERY_DRILL_SETTINGS`, `core/settings.ts`). A function whose
 * settings are missing or were encoded by other sources fails at initialisation, naming the config
 * path or the resource, rather than half-work at 03:00 and fail on the first call that needs them.
 */
import type { Config } from '../core/config.ts';
import {
  type ConfigSlice,
  decodeSettings,
  SettingsError,
  type SettingsFunction,
  type SettingsResources,
} from '../core/settings.ts';

type Env = Readonly<Record<string, string | undefined>>;

/** What every backup function needs: who it protects and where it escalates. */
export interface BaseEnv {
  /** config.environment, shown in every escalation. */
  readonly environment: string;
  readonly topicArn: string;
  readonly sourceDbInstanceId: string;
  readonly sourceRegion: string;
  readonly copyRegion: string;
}

/** What the snapshot function needs to copy, share, export and tag. */
export interface SnapshotEnv extends BaseEnv {
  /** KMS key (or alias) ARN in the copy region. */
  readonly copyKmsKeyId: string;
  /** Account the copy is shared with; null = none. */
  readonly copyAccountId: string | null;
  /** Export each snapshot to S3 as Parquet; the bucket, role and key are set only then. */
  readonly export: { readonly bucket: string; readonly roleArn: string; readonly kmsKeyId: string } | null;
  readonly artifactsVersion: string;
  /**
   * Keep the source's automated backups replicating to the copy region (`isolation.pitrReplication`,
   * and only when the copy region is another region: RDS replicates across regions only).
   */
  readonly pitrReplication: boolean;
}

/** What the artifacts function needs to store the bundled artifacts. */
export interface ArtifactsEnv extends BaseEnv {
  /** The backup bucket (in the source region). */
  readonly bucket: string;
  readonly artifactsVersion: string;
}

/** The retention policy as the stack passes it (config `retention.*`). */
export interface PruneEnv extends BaseEnv {
  readonly retentionDaily: number;
  readonly retentionMonthly: number;
  readonly maxDeletionsPerRun: number;
  readonly dryRun: boolean;
  /** Every plan is written here (`prune/<ISO time>.json`) for the audit trail. */
  readonly bucket: string;
}

/** The RPO target and where open incidents are remembered. */
export interface RpoMonitorEnv extends BaseEnv {
  readonly rpoTargetMinutes: number;
  /** DynamoDB table (partition key `pk`) that remembers open incidents. */
  readonly stateTable: string;
  /** Watch the replicated restore window in the copy region too (see {@link SnapshotEnv.pitrReplication}). */
  readonly pitrReplication: boolean;
}

/** What the copy account's function needs: whose shared snapshots, its own key, the retention. */
export interface IsolatedCopiesEnv extends BaseEnv {
  /** The only account whose shared snapshots are adopted (`isolation.sourceAccountId`). */
  readonly sourceAccountId: string;
  /** The copy account's key (its copies are encrypted with it). */
  readonly kmsKeyArn: string;
  readonly retentionDaily: number;
  readonly retentionMonthly: number;
  readonly maxDeletionsPerRun: number;
  readonly dryRun: boolean;
}

/** What the heartbeat function needs: whose heartbeat, the role's secret, the table and its retention. */
export interface HeartbeatEnv {
  /** config.environment: the metrics' `environment` dimension. */
  readonly environment: string;
  /** Shown in the logs, so a beat that fails names the database it is for. */
  readonly sourceDbInstanceId: string;
  /** config.heartbeat.secretName: the heartbeat role's `{username, password, host, port, dbname}`. */
  readonly secretId: string;
  readonly schema: string;
  readonly retentionDays: number;
}

function baseOf(config: Pick<Config, 'environment' | 'source' | 'isolation'>, topicArn: string): BaseEnv {
  return {
    environment: config.environment,
    topicArn,
    sourceDbInstanceId: config.source.dbInstanceIdentifier,
    sourceRegion: config.source.region,
    copyRegion: config.isolation.copyRegion,
  };
}

/** Replication is asked for and possible: the copy region is another region than the source's. */
function replicates(config: Pick<Config, 'source' | 'isolation'>): boolean {
  return config.isolation.pitrReplication && config.isolation.copyRegion !== config.source.region;
}

function decode<F extends SettingsFunction>(fn: F, env: Env) {
  return decodeSettings(fn, env) as { config: ConfigSlice<F>; resources: SettingsResources<F> };
}

/** @throws SettingsError naming every problem of the snapshot function's settings. */
export function readSnapshotEnv(env: Env = process.env): SnapshotEnv {
  const { config, resources } = decode('snapshot', env);
  return {
    ...baseOf(config, resources.topicArn),
    copyKmsKeyId: resources.copyKmsKeyArn,
    copyAccountId: config.isolation.copyAccountId,
    export: config.isolation.exportToS3
      ? { bucket: resources.bucket, roleArn: resources.exportRoleArn, kmsKeyId: resources.exportKmsKeyArn }
      : null,
    artifactsVersion: resources.artifactsVersion,
    pitrReplication: replicates(config),
  };
}

/** @throws SettingsError naming every problem of the artifacts function's settings. */
export function readArtifactsEnv(env: Env = process.env): ArtifactsEnv {
  const { config, resources } = decode('artifacts', env);
  return {
    ...baseOf(config, resources.topicArn),
    bucket: resources.bucket,
    artifactsVersion: resources.artifactsVersion,
  };
}

/** @throws SettingsError naming every problem of the prune function's settings. */
export function readPruneEnv(env: Env = process.env): PruneEnv {
  const { config, resources } = decode('prune', env);
  return {
    ...baseOf(config, resources.topicArn),
    retentionDaily: config.retention.daily,
    retentionMonthly: config.retention.monthly,
    maxDeletionsPerRun: config.retention.maxDeletionsPerRun,
    dryRun: config.retention.dryRun,
    bucket: resources.bucket,
  };
}

/** @throws SettingsError naming every problem of the RPO monitor's settings. */
export function readRpoMonitorEnv(env: Env = process.env): RpoMonitorEnv {
  const { config, resources } = decode('rpoMonitor', env);
  return {
    ...baseOf(config, resources.topicArn),
    rpoTargetMinutes: config.targets.rpoMinutes,
    stateTable: resources.stateTable,
    pitrReplication: replicates(config),
  };
}

/** @throws SettingsError naming every problem of the copy account function's settings. */
export function readIsolatedCopiesEnv(env: Env = process.env): IsolatedCopiesEnv {
  const { config, resources } = decode('isolatedCopies', env);
  const sourceAccountId = config.isolation.sourceAccountId;
  if (sourceAccountId === null)
    throw new SettingsError('isolatedCopies', [
      'isolation.sourceAccountId: expected the 12-digit account of the source; got null',
    ]);
  return {
    ...baseOf(config, resources.topicArn),
    sourceAccountId,
    kmsKeyArn: resources.kmsKeyArn,
    retentionDaily: config.retention.daily,
    retentionMonthly: config.retention.monthly,
    maxDeletionsPerRun: config.retention.maxDeletionsPerRun,
    dryRun: config.retention.dryRun,
  };
}

/** @throws SettingsError naming every problem of the heartbeat's settings (a secret is required). */
export function readHeartbeatEnv(env: Env = process.env): HeartbeatEnv {
  const { config } = decode('heartbeat', env);
  const secretId = config.heartbeat.secretName;
  if (secretId === null)
    throw new SettingsError('heartbeat', [
      'heartbeat.secretName: expected the secret of the heartbeat role; got null',
    ]);
  return {
    environment: config.environment,
    sourceDbInstanceId: config.source.dbInstanceIdentifier,
    secretId,
    schema: config.heartbeat.schema,
    retentionDays: config.heartbeat.retentionDays,
  };
}
