/**
 * The drill secret over Secrets Manager: one stack-owned secret that the ECS task definitions (the
 * migrate task and the app) reference, so the connection reaches them without ever appearing in
 * execution input or output, ECS overrides or logs. A drill fills it from the restored instance's
 * own RDS-managed master secret, the login smoke check adds the admin's session for the later
 * checks (separate invocations), and cleanup blanks it all.
 */

import { DescribeDBInstancesCommand } from '@aws-sdk/client-rds';
import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { RdsApi } from '../../../shared/aws/rds-snapshots.ts';
import type { InstanceDescription } from '../../ports/database-recovery.ts';
import type { ConnectionInfo, DrillSecretStore } from '../../ports/drill-deps.ts';
import { SecretError } from '../../ports/errors.ts';

export type SecretsApi = Pick<SecretsManagerClient, 'send'>;

/** What the drill secret holds while a drill runs (the keys the app's task definition maps to env). */
export interface DrillSecretValue {
  readonly DATABASE_URL: string;
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly password: string;
  readonly dbname: string;
  readonly drillId: string;
  /** The admin's serialized login session, added by the login smoke check (cookie jar or token). */
  readonly session?: string;
}

/** The libpq mode Prisma and psql read from `DATABASE_URL`: encrypted (RDS forces TLS by default). */
const SSL_QUERY = 'sslmode=require';

/** Reads a secret's string as JSON; the message names the secret, never its value. */
async function readJsonSecret(secrets: SecretsApi, secretId: string): Promise<Record<string, unknown>> {
  const out = await secrets.send(new GetSecretValueCommand({ SecretId: secretId }));
  try {
    const parsed = JSON.parse(out.SecretString ?? '') as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
      return parsed as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new SecretError(`the secret ${secretId} does not hold a JSON object`);
}

export class SecretsManagerDrillSecret implements DrillSecretStore {
  /**
   * @param drillSecretArn the stack's drill secret (env `DRILL_SECRET_ARN`).
   * @param rds reads the restored instance's `MasterUserSecret`, `MasterUsername` and `DBName`.
   */
  constructor(
    private readonly secrets: SecretsApi,
    private readonly rds: RdsApi,
    private readonly drillSecretArn: string,
  ) {}

  async writeConnection(
    drillId: string,
    instance: InstanceDescription,
  ): Promise<{ secretRef: string; connection: ConnectionInfo }> {
    const out = await this.rds.send(new DescribeDBInstancesCommand({ DBInstanceIdentifier: instance.id }));
    const described = out.DBInstances?.[0];
    const masterSecretArn = described?.MasterUserSecret?.SecretArn;
    if (!masterSecretArn) {
      throw new SecretError(
        `the restored instance ${instance.id} has no RDS-managed master secret (MasterUserSecret): it must be restored with ManageMasterUserPassword, and the drill reads no other password`,
      );
    }
    const secretStatus = described?.MasterUserSecret?.SecretStatus;
    if (secretStatus && secretStatus !== 'active') {
      throw new SecretError(
        `the master secret of ${instance.id} is ${secretStatus}, not active yet: RDS creates it with the instance`,
      );
    }
    const endpoint =
      instance.endpoint ??
      (described?.Endpoint?.Address && described.Endpoint.Port
        ? { host: described.Endpoint.Address, port: described.Endpoint.Port }
        : null);
    if (!endpoint) throw new SecretError(`the restored instance ${instance.id} has no endpoint yet`);
    const master = await readJsonSecret(this.secrets, masterSecretArn);
    const username = typeof master.username === 'string' ? master.username : described?.MasterUsername;
    const password = master.password;
    if (typeof username !== 'string' || typeof password !== 'string' || password === '') {
      throw new SecretError(
        `the master secret ${masterSecretArn} of ${instance.id} holds no username and password`,
      );
    }
    const dbname = described?.DBName ?? 'postgres';
    const value: DrillSecretValue = {
      DATABASE_URL: `postgresql://${encodeURIComponent(username)}:${encodeURIComponent(password)}@${endpoint.host}:${endpoint.port}/${encodeURIComponent(dbname)}?${SSL_QUERY}`,
      host: endpoint.host,
      port: endpoint.port,
      username,
      password,
      dbname,
      drillId,
    };
    await this.secrets.send(
      new PutSecretValueCommand({ SecretId: this.drillSecretArn, SecretString: JSON.stringify(value) }),
    );
    return {
      secretRef: this.drillSecretArn,
      connection: { host: endpoint.host, port: endpoint.port, database: dbname, user: username },
    };
  }

  /**
   * The URL for the drill's own `pg` checks. `uselibpqcompat` makes node-postgres read
   * `sslmode=require` as libpq does (encrypt) rather than as verify-full against the public CAs,
   * which do not include the RDS CA.
   */
  async connectionUrl(secretRef: string): Promise<string> {
    const value = await this.connected(secretRef);
    return `${value.DATABASE_URL}&uselibpqcompat=true`;
  }

  /**
   * Adds the smoke checks' login session to the secret (read, then written back whole: the
   * connection keys the app's task definition maps stay as they are).
   */
  async writeSession(secretRef: string, session: string): Promise<void> {
    const value = await this.connected(secretRef);
    await this.secrets.send(
      new PutSecretValueCommand({
        SecretId: this.drillSecretArn,
        SecretString: JSON.stringify({ ...value, session }),
      }),
    );
  }

  async readSession(secretRef: string): Promise<string | null> {
    const { session } = await this.connected(secretRef);
    return typeof session === 'string' ? session : null;
  }

  /** The secret's value while it holds a drill's connection. */
  private async connected(secretRef: string): Promise<Record<string, unknown>> {
    if (secretRef !== this.drillSecretArn) {
      throw new SecretError(`${secretRef} is not the drill secret of this stack`);
    }
    const value = await readJsonSecret(this.secrets, secretRef);
    if (typeof value.DATABASE_URL !== 'string') {
      throw new SecretError(`the drill secret holds no connection (cleared: ${value.cleared === true})`);
    }
    return value;
  }

  /**
   * Blanks the secret, the session with it (the stack owns it; the drill only empties it), unless
   * it holds another drill's connection: the abort cleanup of an older execution may run while a
   * newer drill uses the secret, and must not cut that drill off. Idempotent. Secrets Manager has
   * no conditional write, so a drill that writes its connection between this read and the blanking
   * (milliseconds, while drills run one at a time) could still be blanked.
   */
  async clear(drillId: string): Promise<boolean> {
    let holder: unknown;
    try {
      holder = (await readJsonSecret(this.secrets, this.drillSecretArn)).drillId;
    } catch (error) {
      // Not a JSON object: no drill's connection, nothing of anyone's to keep.
      if (!(error instanceof SecretError)) throw error;
    }
    if (typeof holder === 'string' && holder !== drillId) return false;
    await this.secrets.send(
      new PutSecretValueCommand({
        SecretId: this.drillSecretArn,
        SecretString: JSON.stringify({ cleared: true }),
      }),
    );
    return true;
  }
}
