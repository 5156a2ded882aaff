/**
 * The heartbeat job (every minute by default, `heartbeat.mode: "function"`): one beat into the
 * source's `<schema>.heartbeat` as the heartbeat role, and the trim. A restore then proves its
 * point by data: the newest beat at or before T is a commit the copy holds.
 *
 * A failed beat throws: the function's Errors metric feeds the heartbeat alarm, which tells
 * on-call once when beats stop and once when they resume. Nothing is published per failure (a
 * minute-by-minute job would flood the topic), and the next scheduled beat is the retry.
 */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type pg from 'pg';
import type { HeartbeatEnv } from '../env.ts';
import { HeartbeatError, writeHeartbeat } from '../heartbeat-db.ts';
import type { JobLogger, JobMetrics } from '../powertools.ts';

/** The only part of a Secrets Manager client used, so tests pass a moto client. */
export type SecretsApi = Pick<SecretsManagerClient, 'send'>;

/** Where the heartbeat connects: read once, kept for the warm container, forgotten after a failure. */
export interface HeartbeatConnection {
  /** The role's client configuration (TLS on); read from Secrets Manager on first use only. */
  config(): Promise<pg.ClientConfig>;
  /** Drops the cached secret: the next beat reads it again (a rotated password heals itself). */
  forget(): void;
}

/** Everything the job touches, passed in so tests run it against moto and a real PostgreSQL. */
export interface HeartbeatDeps {
  readonly env: HeartbeatEnv;
  readonly connection: HeartbeatConnection;
  readonly logger: JobLogger;
  readonly metrics: JobMetrics;
}

/** What one run returns (visible in a manual invoke). */
export interface HeartbeatRun {
  /** The beat's time, the database server's clock, ISO 8601. */
  readonly at: string;
  readonly trimmed: number;
  readonly schema: string;
}

/** How long a beat may take: connecting and each statement (a stuck lock must not pile up runs). */
const TIMEOUT_MS = 10_000;

/**
 * The heartbeat role's secret as a `pg` client configuration: `{username, password, host, port,
 * dbname}` (the keys RDS secrets use), TLS as libpq's `sslmode=require` (encrypted; the RDS CA is
 * not among Node's public CAs, as the drill's own checks). Messages name the secret and the
 * missing keys, never a value.
 * @throws HeartbeatError when the secret is not such a JSON object.
 */
export function heartbeatClientConfig(secretId: string, secretString: string | undefined): pg.ClientConfig {
  let value: Record<string, unknown> | null = null;
  try {
    const parsed = JSON.parse(secretString ?? '') as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
      value = parsed as Record<string, unknown>;
  } catch {
    // reported below
  }
  if (!value) throw new HeartbeatError('connect', `the secret ${secretId} does not hold a JSON object`);
  const port = typeof value.port === 'string' && /^\d+$/.test(value.port) ? Number(value.port) : value.port;
  const problems: string[] = [];
  for (const key of ['username', 'password', 'host', 'dbname'] as const) {
    if (typeof value[key] !== 'string' || value[key] === '') problems.push(`${key} (a non-empty string)`);
  }
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535)
    problems.push('port (a number from 1 to 65535)');
  if (problems.length > 0)
    throw new HeartbeatError(
      'connect',
      `the secret ${secretId} lacks ${problems.join(', ')}: it must hold {"username", "password", "host", "port", "dbname"} of the heartbeat role`,
    );
  return {
    host: value.host as string,
    port: port as number,
    user: value.username as string,
    password: value.password as string,
    database: value.dbname as string,
    ssl: { rejectUnauthorized: false },
    application_name: 'recovery-drill-heartbeat',
    connectionTimeoutMillis: TIMEOUT_MS,
    statement_timeout: TIMEOUT_MS,
    query_timeout: TIMEOUT_MS,
  };
}

/** A {@link HeartbeatConnection} over Secrets Manager: one GetSecretValue per cold start (or after a failure). */
export function secretConnection(secrets: SecretsApi, secretId: string): HeartbeatConnection {
  let cached: Promise<pg.ClientConfig> | null = null;
  return {
    config() {
      cached ??= secrets
        .send(new GetSecretValueCommand({ SecretId: secretId }))
        .then((out) => heartbeatClientConfig(secretId, out.SecretString));
      // A failed read is not kept: the next beat tries again.
      cached.catch(() => {
        cached = null;
      });
      return cached;
    },
    forget() {
      cached = null;
    },
  };
}

/** One beat: read the (cached) secret, connect over TLS, insert and trim. Throws on any failure. */
export async function runHeartbeat(_event: unknown, deps: HeartbeatDeps): Promise<HeartbeatRun> {
  const { env, logger, metrics } = deps;
  try {
    const config = await deps.connection.config();
    const beat = await writeHeartbeat(config, { schema: env.schema, retentionDays: env.retentionDays });
    metrics.addMetric('HeartbeatWritten', 'Count', 1);
    metrics.addMetric('HeartbeatTrimmed', 'Count', beat.trimmed);
    logger.info('heartbeat written', {
      at: beat.at.toISOString(),
      trimmed: beat.trimmed,
      source: env.sourceDbInstanceId,
    });
    return { at: beat.at.toISOString(), trimmed: beat.trimmed, schema: env.schema };
  } catch (error) {
    // The password may have been rotated, the host moved: read the secret again next time.
    deps.connection.forget();
    const e = error as Error;
    metrics.addMetric('HeartbeatWritten', 'Count', 0);
    logger.error('heartbeat not written', {
      source: env.sourceDbInstanceId,
      secret: env.secretId,
      error: `${e.name}: ${e.message}`,
    });
    throw error;
  }
}
