import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  CreateSecretCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { HEARTBEAT_ROLE, heartbeatSetupSql } from '../../functions/core/heartbeat.ts';
import { giveToServer, serverUser } from '../../functions/local/binaries.ts';
import type { StartedCluster } from '../../functions/local/cluster.ts';
import { createTemporaryCluster } from '../../functions/local/temporary-cluster.ts';
import { heartbeatClientConfig } from '../../functions/shared/jobs/heartbeat.ts';
import { MOTO_CREDENTIALS } from '../support/moto.ts';
import { postgresProcessesUnder } from '../support/postgres.ts';
import { clientConfig, SOURCE_REGION, settingsVariable, uniqueId, useMotoClients } from './fixtures.ts';

const aws = useMotoClients();
const SCHEMA = 'recovery_drill';
const FIRST_PASSWORD = 'first-heartbeat-password';
const ROTATED_PASSWORD = 'rotated-heartbeat-password';

afterEach(() => {
  vi.unstubAllEnvs();
  vi.restoreAllMocks();
  vi.resetModules();
});

function lambdaContext(): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'recovery-drill-heartbeat',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:recovery-drill-heartbeat',
    memoryLimitInMB: '256',
    awsRequestId: '0b7f3c2e-1d2a-4c55-9e0f-5a6b7c8d9e0f',
    logGroupName: '/aws/lambda/recovery-drill-heartbeat',
    logStreamName: '2026/12/01/[$LATEST]abcdef',
    getRemainingTimeInMillis: () => 30_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

async function query<T extends pg.QueryResultRow>(
  url: string,
  sql: string,
  values: unknown[] = [],
): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql, values)).rows;
  } finally {
    await client.end();
  }
}

/** A self-signed certificate the server user can read: the server then speaks TLS as RDS does. */
async function tlsFiles(): Promise<{ dir: string; cert: string; key: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'rd-heartbeat-tls-'));
  const cert = join(dir, 'server.crt');
  const key = join(dir, 'server.key');
  await promisify(execFile)('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    '/CN=127.0.0.1',
    '-keyout',
    key,
    '-out',
    cert,
  ]);
  await chmod(dir, 0o711);
  await chmod(key, 0o600);
  const user = await serverUser();
  await giveToServer(cert, user);
  await giveToServer(key, user);
  return { dir, cert, key };
}

/** Everything written to stdout and stderr while the handler runs (the Powertools logs and EMF). */
function captureOutput(): string[] {
  const written: string[] = [];
  for (const stream of [process.stdout, process.stderr]) {
    const original = stream.write.bind(stream) as (...args: unknown[]) => boolean;
    vi.spyOn(stream, 'write').mockImplementation(((chunk: string | Uint8Array, ...rest: unknown[]) => {
      written.push(String(chunk));
      return original(chunk, ...rest);
    }) as typeof stream.write);
  }
  return written;
}

describe('heartbeat function handler, against moto and a PostgreSQL that speaks TLS', () => {
  let cluster: StartedCluster & { destroy(): Promise<void> };
  let tls: { dir: string; cert: string; key: string };
  let secrets: SecretsManagerClient;
  let appUrl: string;

  beforeAll(async () => {
    tls = await tlsFiles();
    cluster = await createTemporaryCluster({
      settings: { ssl: 'on', ssl_cert_file: tls.cert, ssl_key_file: tls.key },
    });
    await query(cluster.url('postgres'), 'CREATE DATABASE btcts');
    appUrl = cluster.url('btcts');
    await query(appUrl, heartbeatSetupSql({ schema: SCHEMA, retentionDays: 3 }));
    await query(appUrl, `ALTER ROLE ${HEARTBEAT_ROLE} WITH LOGIN PASSWORD '${FIRST_PASSWORD}'`);
    // The heartbeat role may connect over TLS only: a beat written proves the function used it.
    const hba = join(cluster.dataDir, 'pg_hba.conf');
    await writeFile(hba, `hostnossl all ${HEARTBEAT_ROLE} 0.0.0.0/0 reject\n${await readFile(hba, 'utf8')}`);
    await query(cluster.url('postgres'), 'SELECT pg_reload_conf()');
  });
  afterAll(async () => {
    const dataDir = cluster?.dataDir;
    await cluster?.destroy();
    if (tls) await rm(tls.dir, { recursive: true, force: true });
    if (dataDir) expect(postgresProcessesUnder(dataDir)).toEqual([]);
  });

  /** The heartbeat role's secret as the DBA stores it: the keys RDS secrets use. */
  function roleSecretValue(password: string, overrides: Record<string, unknown> = {}): string {
    return JSON.stringify({
      username: HEARTBEAT_ROLE,
      password,
      host: '127.0.0.1',
      port: cluster.port,
      dbname: 'btcts',
      engine: 'postgres',
      ...overrides,
    });
  }

  async function createRoleSecret(
    password: string,
    overrides: Record<string, unknown> = {},
  ): Promise<string> {
    secrets ??= new SecretsManagerClient(clientConfig(aws.moto.endpoint, SOURCE_REGION));
    const name = `bt-cts/heartbeat-${uniqueId()}`;
    await secrets.send(
      new CreateSecretCommand({ Name: name, SecretString: roleSecretValue(password, overrides) }),
    );
    return name;
  }

  function stubHeartbeatEnv(heartbeat: Record<string, unknown>) {
    const all: Record<string, string> = {
      AWS_ENDPOINT_URL: aws.moto.endpoint,
      AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey,
      AWS_REGION: SOURCE_REGION,
      POWERTOOLS_SERVICE_NAME: 'recovery-drill',
      POWERTOOLS_METRICS_NAMESPACE: 'RecoveryDrill',
      POWERTOOLS_TRACE_ENABLED: 'false',
      ...settingsVariable('heartbeat', { heartbeat: { schema: SCHEMA, retentionDays: 3, ...heartbeat } }, {}),
    };
    for (const [name, value] of Object.entries(all)) vi.stubEnv(name, value);
  }

  it('refuses a connection of the heartbeat role without TLS (what makes the next test prove TLS)', async () => {
    const url = new URL(appUrl);
    url.username = HEARTBEAT_ROLE;
    url.password = FIRST_PASSWORD;
    await expect(query(url.toString(), 'SELECT 1')).rejects.toThrow(/no encryption|pg_hba\.conf rejects/);
  });

  it('writes a real beat over TLS through its middy handler, with the EMF metric and no password in any line', async () => {
    const secretId = await createRoleSecret(FIRST_PASSWORD);
    stubHeartbeatEnv({ secretName: secretId });
    const written = captureOutput();
    const before = new Date(Date.now() - 60_000);

    const { handler } = await import('../../functions/heartbeat.ts');
    const result = await handler({}, lambdaContext());

    expect(result).toMatchObject({ schema: SCHEMA, trimmed: 0 });
    const at = new Date(result.at);
    expect(at.getTime()).toBeGreaterThan(before.getTime());
    const rows = await query<{ at: Date }>(
      appUrl,
      `SELECT at FROM ${SCHEMA}.heartbeat WHERE date_trunc('milliseconds', at) = $1`,
      [at],
    );
    expect(rows).toHaveLength(1);
    const emf = written
      .flatMap((line) => line.split('\n'))
      .filter((line) => line.includes('"_aws"'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(emf.find((blob) => 'HeartbeatWritten' in blob)).toMatchObject({
      service: 'recovery-drill',
      environment: 'test',
      HeartbeatWritten: 1,
    });
    expect(written.find((line) => line.includes('heartbeat written'))).toContain(
      '"function_request_id":"0b7f3c2e-1d2a-4c55-9e0f-5a6b7c8d9e0f"',
    );
    expect(written.join('')).not.toContain(FIRST_PASSWORD);
  });

  it('reads the secret once per cold start, and again after a failed beat (a rotated password heals itself)', async () => {
    const secretId = await createRoleSecret(FIRST_PASSWORD);
    stubHeartbeatEnv({ secretName: secretId });
    const written = captureOutput();
    const { handler } = await import('../../functions/heartbeat.ts');
    await handler({}, lambdaContext());

    // The secret changes, the container does not notice: the cached secret still works.
    await secrets.send(
      new PutSecretValueCommand({
        SecretId: secretId,
        SecretString: roleSecretValue('garbage', { port: 1 }),
      }),
    );
    await handler({}, lambdaContext());

    // Rotation: the database and the secret get a new password; the cached one now fails once.
    await query(appUrl, `ALTER ROLE ${HEARTBEAT_ROLE} WITH PASSWORD '${ROTATED_PASSWORD}'`);
    try {
      await secrets.send(
        new PutSecretValueCommand({ SecretId: secretId, SecretString: roleSecretValue(ROTATED_PASSWORD) }),
      );
      await expect(handler({}, lambdaContext())).rejects.toMatchObject({
        name: 'HeartbeatError',
        message: expect.stringMatching(/password authentication failed for user "recovery_drill_heartbeat"/),
      });
      const healed = await handler({}, lambdaContext());
      const rows = await query(
        appUrl,
        `SELECT at FROM ${SCHEMA}.heartbeat WHERE date_trunc('milliseconds', at) = $1`,
        [new Date(healed.at)],
      );
      expect(rows).toHaveLength(1);
    } finally {
      await query(appUrl, `ALTER ROLE ${HEARTBEAT_ROLE} WITH PASSWORD '${FIRST_PASSWORD}'`);
    }
    const output = written.join('');
    expect(output).toContain('heartbeat not written');
    for (const password of [FIRST_PASSWORD, ROTATED_PASSWORD]) expect(output).not.toContain(password);
  });

  it('fails a beat naming the secret and its missing keys, never a value', async () => {
    const secretId = await createRoleSecret(FIRST_PASSWORD, { host: undefined, port: 'five' });
    stubHeartbeatEnv({ secretName: secretId });
    const written = captureOutput();
    const { handler } = await import('../../functions/heartbeat.ts');
    await expect(handler({}, lambdaContext())).rejects.toThrow(
      `the secret ${secretId} lacks host (a non-empty string), port (a number from 1 to 65535)`,
    );
    expect(written.join('')).not.toContain(FIRST_PASSWORD);
  });

  it('fails at cold start naming the config path its settings lack', async () => {
    stubHeartbeatEnv({});
    const loading = import('../../functions/heartbeat.ts');
    await expect(loading).rejects.toMatchObject({ name: 'SettingsError' });
    await expect(loading).rejects.toThrow(
      'invalid RECOVERY_DRILL_SETTINGS for the heartbeat function (redeploy the stack, or encode it with lib/): ' +
        'heartbeat.secretName: expected the secret of the heartbeat role; got null',
    );
  });

  it('turns an RDS-style secret into a TLS client configuration', () => {
    const config = heartbeatClientConfig(
      'bt-cts/heartbeat',
      JSON.stringify({ username: 'u', password: 'p', host: 'db.example', port: '5432', dbname: 'btcts' }),
    );
    expect(config).toMatchObject({
      host: 'db.example',
      port: 5432,
      user: 'u',
      database: 'btcts',
      ssl: { rejectUnauthorized: false },
    });
    expect(() => heartbeatClientConfig('bt-cts/heartbeat', 'password=p')).toThrow(
      'the secret bt-cts/heartbeat does not hold a JSON object',
    );
  });
});
