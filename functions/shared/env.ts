/**
 * The backup functions' environment (set by the CDK stack), read once at cold start. A function
 * with a missing or malformed variable must fail at initialisation, naming the variable, rather
 * than half-work at 03:00 and fail on the first call that needs the value.
 */

import { SECRET_ID_PATTERN } from '../core/heartbeat.ts';

/** A missing or malformed environment variable: a deployment problem, not a runtime one. */
export class EnvironmentError extends Error {
  /** Every problem found, so a broken deployment is fixed in one go. */
  readonly problems: readonly string[];

  constructor(problems: readonly string[], options?: ErrorOptions) {
    super(`invalid Lambda environment (check the stack): ${problems.join('; ')}`, options);
    this.name = 'EnvironmentError';
    this.problems = problems;
  }
}

type Env = Readonly<Record<string, string | undefined>>;

const REGION = /^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$/;
const DB_IDENTIFIER = /^[a-zA-Z][a-zA-Z0-9]*(-[a-zA-Z0-9]+)*$/;
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** Collects every problem of one environment before failing, instead of stopping at the first. */
class Reader {
  readonly problems: string[] = [];

  constructor(private readonly env: Env) {}

  private bad(name: string, raw: string | undefined, expected: string): void {
    this.problems.push(
      raw === undefined || raw === ''
        ? `${name} is not set (expected ${expected})`
        : `${name}=${JSON.stringify(raw)}: expected ${expected}`,
    );
  }

  string(name: string, pattern: RegExp, expected: string): string {
    const raw = this.env[name];
    if (raw === undefined || !pattern.test(raw)) {
      this.bad(name, raw, expected);
      return '';
    }
    return raw;
  }

  /** A variable that may be set to the empty string on purpose ('' = none). */
  optional(name: string, pattern: RegExp, expected: string): string | null {
    const raw = this.env[name];
    if (raw === undefined) {
      this.bad(name, raw, `${expected}, or '' for none`);
      return null;
    }
    if (raw === '') return null;
    if (!pattern.test(raw)) this.bad(name, raw, `${expected}, or '' for none`);
    return raw;
  }

  boolean(name: string): boolean {
    const raw = this.env[name];
    if (raw !== 'true' && raw !== 'false') {
      this.bad(name, raw, "'true' or 'false'");
      return false;
    }
    return raw === 'true';
  }

  integer(name: string, min: number, max: number): number {
    const raw = this.env[name];
    const value = raw !== undefined && /^\d+$/.test(raw) ? Number(raw) : Number.NaN;
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      this.bad(name, raw, `an integer from ${min} to ${max}`);
      return min;
    }
    return value;
  }

  /** A decimal number in (above, max]: targets may be fractions of a minute, as the config allows. */
  number(name: string, above: number, max: number): number {
    const raw = this.env[name];
    const value = raw !== undefined && /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : Number.NaN;
    if (!Number.isFinite(value) || value <= above || value > max) {
      this.bad(name, raw, `a number greater than ${above} and at most ${max}`);
      return max;
    }
    return value;
  }

  region(name: string): string {
    return this.string(name, REGION, 'an AWS region such as "eu-west-1"');
  }

  arn(name: string, service: string): string {
    return this.string(
      name,
      new RegExp(`^arn:aws[a-z-]*:${service}:[a-z0-9-]*:\\d{12}:.+$`),
      `an ARN of ${service} ("arn:aws:${service}:...")`,
    );
  }

  bucket(name: string): string {
    return this.string(name, BUCKET, 'an S3 bucket name');
  }

  done<T>(value: T): T {
    if (this.problems.length > 0) throw new EnvironmentError(this.problems);
    return value;
  }
}

/** What every backup function needs: who it protects and where it escalates. */
export interface BaseEnv {
  /** config.environment, shown in every escalation. */
  readonly environment: string;
  readonly topicArn: string;
  readonly sourceDbInstanceId: string;
  readonly sourceRegion: string;
  readonly copyRegion: string;
}

function readBase(r: Reader): BaseEnv {
  return {
    environment: r.string(
      'ENVIRONMENT',
      /^[a-z0-9-]{1,32}$/,
      'the configured environment name ([a-z0-9-], 1-32)',
    ),
    topicArn: r.arn('TOPIC_ARN', 'sns'),
    sourceDbInstanceId: r.string('SOURCE_DB_INSTANCE_ID', DB_IDENTIFIER, 'an RDS DB instance identifier'),
    sourceRegion: r.region('SOURCE_REGION'),
    copyRegion: r.region('COPY_REGION'),
  };
}

/** The version of the captured artifacts: lands in S3 keys and snapshot tags, so keep it key- and tag-safe. */
const ARTIFACTS_VERSION = /^[A-Za-z0-9._-]{1,128}$/;
const ARTIFACTS_EXPECTED = 'the artifacts version (the SHA-256 computed at synth; [A-Za-z0-9._-], 1-128)';

/** What the snapshot function needs to copy, share, export and tag. */
export interface SnapshotEnv extends BaseEnv {
  /** KMS key (or alias) ARN in the copy region. */
  readonly copyKmsKeyId: string;
  /** Account the copy is shared with; null = none. */
  readonly copyAccountId: string | null;
  /** Export each snapshot to S3 as Parquet; the bucket, role and key are set only then. */
  readonly export: { readonly bucket: string; readonly roleArn: string; readonly kmsKeyId: string } | null;
  readonly artifactsVersion: string;
}

/** @throws EnvironmentError naming every missing or malformed variable. */
export function readSnapshotEnv(env: Env = process.env): SnapshotEnv {
  const r = new Reader(env);
  const base = readBase(r);
  const copyKmsKeyId = r.arn('COPY_KMS_KEY_ID', 'kms');
  const copyAccountId = r.optional('COPY_ACCOUNT_ID', /^\d{12}$/, 'a 12-digit AWS account id');
  const exportEnabled = r.boolean('EXPORT_ENABLED');
  const exportTo = exportEnabled
    ? {
        bucket: r.bucket('BACKUP_BUCKET'),
        roleArn: r.arn('EXPORT_ROLE_ARN', 'iam'),
        kmsKeyId: r.arn('EXPORT_KMS_KEY_ID', 'kms'),
      }
    : null;
  const artifactsVersion = r.string('ARTIFACTS_VERSION', ARTIFACTS_VERSION, ARTIFACTS_EXPECTED);
  return r.done({ ...base, copyKmsKeyId, copyAccountId, export: exportTo, artifactsVersion });
}

/** What the artifacts function needs to store the bundled artifacts. */
export interface ArtifactsEnv extends BaseEnv {
  /** The backup bucket (in the source region). */
  readonly bucket: string;
  readonly artifactsVersion: string;
}

/** @throws EnvironmentError naming every missing or malformed variable. */
export function readArtifactsEnv(env: Env = process.env): ArtifactsEnv {
  const r = new Reader(env);
  const base = readBase(r);
  return r.done({
    ...base,
    bucket: r.bucket('BACKUP_BUCKET'),
    artifactsVersion: r.string('ARTIFACTS_VERSION', ARTIFACTS_VERSION, ARTIFACTS_EXPECTED),
  });
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

/** @throws EnvironmentError naming every missing or malformed variable. */
export function readPruneEnv(env: Env = process.env): PruneEnv {
  const r = new Reader(env);
  const base = readBase(r);
  return r.done({
    ...base,
    retentionDaily: r.integer('RETENTION_DAILY', 1, 3650),
    retentionMonthly: r.integer('RETENTION_MONTHLY', 0, 1200),
    maxDeletionsPerRun: r.integer('MAX_DELETIONS_PER_RUN', 0, 1000),
    dryRun: r.boolean('DRY_RUN'),
    bucket: r.bucket('BACKUP_BUCKET'),
  });
}

/** The RPO target and where open incidents are remembered. */
export interface RpoMonitorEnv extends BaseEnv {
  readonly rpoTargetMinutes: number;
  /** DynamoDB table (partition key `pk`) that remembers open incidents. */
  readonly stateTable: string;
}

/** @throws EnvironmentError naming every missing or malformed variable. */
export function readRpoMonitorEnv(env: Env = process.env): RpoMonitorEnv {
  const r = new Reader(env);
  const base = readBase(r);
  return r.done({
    ...base,
    rpoTargetMinutes: r.number('RPO_TARGET_MINUTES', 0, 24 * 60),
    stateTable: r.string('STATE_TABLE', /^[a-zA-Z0-9_.-]{3,255}$/, 'a DynamoDB table name'),
  });
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

/** @throws EnvironmentError naming every missing or malformed variable. */
export function readHeartbeatEnv(env: Env = process.env): HeartbeatEnv {
  const r = new Reader(env);
  return r.done({
    environment: r.string(
      'ENVIRONMENT',
      /^[a-z0-9-]{1,32}$/,
      'the configured environment name ([a-z0-9-], 1-32)',
    ),
    sourceDbInstanceId: r.string('SOURCE_DB_INSTANCE_ID', DB_IDENTIFIER, 'an RDS DB instance identifier'),
    secretId: r.string('HEARTBEAT_SECRET_ID', SECRET_ID_PATTERN, 'a Secrets Manager secret name or ARN'),
    schema: r.string('HEARTBEAT_SCHEMA', /^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'a SQL identifier'),
    retentionDays: r.integer('HEARTBEAT_RETENTION_DAYS', 1, 365),
  });
}
