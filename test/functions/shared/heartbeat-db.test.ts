import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEARTBEAT_ROLE, heartbeatSetupSql, heartbeatStatements } from '../../../functions/core/heartbeat.ts';
import type { StartedCluster } from '../../../functions/local/cluster.ts';
import { createTemporaryCluster } from '../../../functions/local/temporary-cluster.ts';
import {
  ensureHeartbeatTable,
  HeartbeatError,
  newestHeartbeat,
  writeHeartbeat,
} from '../../../functions/shared/heartbeat-db.ts';
import { postgresProcessesUnder } from '../../support/postgres.ts';

const SCHEMA = 'recovery_drill';
const ROLE_PASSWORD = 'heartbeat-role-password-for-tests';

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

function asRole(cluster: StartedCluster, database: string): string {
  const url = new URL(cluster.url(database));
  url.username = HEARTBEAT_ROLE;
  url.password = ROLE_PASSWORD;
  return url.toString();
}

describe('heartbeat SQL and its writer and reader, against PostgreSQL', () => {
  let cluster: StartedCluster & { destroy(): Promise<void> };
  let ownerUrl: string;
  let roleUrl: string;
  let canLoginBeforeDba: boolean | undefined;

  beforeAll(async () => {
    cluster = await createTemporaryCluster();
    await withClient(cluster.url('postgres'), (c) => c.query('CREATE DATABASE btcts'));
    ownerUrl = cluster.url('btcts');
    await withClient(ownerUrl, async (c) => {
      // An app table the heartbeat role must never read.
      await c.query('CREATE TABLE "Account" (id int PRIMARY KEY, balance numeric)');
      await c.query(`INSERT INTO "Account" VALUES (1, 100)`);
      const sql = heartbeatSetupSql({ schema: SCHEMA, retentionDays: 3 });
      await c.query(sql);
      // Idempotent: a second run changes nothing and fails on nothing.
      await c.query(sql);
      const role = await c.query<{ rolcanlogin: boolean }>(
        'SELECT rolcanlogin FROM pg_roles WHERE rolname = $1',
        [HEARTBEAT_ROLE],
      );
      canLoginBeforeDba = role.rows[0]?.rolcanlogin;
      await c.query(`ALTER ROLE ${HEARTBEAT_ROLE} WITH LOGIN PASSWORD '${ROLE_PASSWORD}'`);
      // Running it again after the DBA's ALTER ROLE keeps the password and LOGIN.
      await c.query(sql);
    });
    roleUrl = asRole(cluster, 'btcts');
  });
  afterAll(async () => {
    const dataDir = cluster?.dataDir;
    await cluster?.destroy();
    if (dataDir) expect(postgresProcessesUnder(dataDir)).toEqual([]);
  });

  it('creates the role without LOGIN, the table with its one column, and grants exactly insert, delete and select on at', async () => {
    expect(canLoginBeforeDba).toBe(false);
    await withClient(cluster.url('postgres'), async (c) => {
      await c.query('CREATE DATABASE fresh');
    });
    await withClient(cluster.url('fresh'), async (c) => {
      // The role exists cluster-wide already: the DO block must skip creating it.
      await c.query(heartbeatSetupSql({ schema: 'beats', retentionDays: 3 }));
      const columns = await c.query(
        `SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = 'beats' AND table_name = 'heartbeat'`,
      );
      expect(columns.rows).toEqual([{ column_name: 'at', data_type: 'timestamp with time zone' }]);
      const grants = await c.query(
        `SELECT privilege_type FROM information_schema.role_table_grants
          WHERE grantee = $1 AND table_schema = 'beats' ORDER BY 1`,
        [HEARTBEAT_ROLE],
      );
      expect(grants.rows.map((r) => r.privilege_type)).toEqual(['DELETE', 'INSERT']);
      const columnGrants = await c.query(
        `SELECT column_name, privilege_type FROM information_schema.column_privileges
          WHERE grantee = $1 AND table_schema = 'beats' AND privilege_type = 'SELECT'`,
        [HEARTBEAT_ROLE],
      );
      expect(columnGrants.rows).toEqual([{ column_name: 'at', privilege_type: 'SELECT' }]);
    });
    const fresh = await withClient(cluster.url('postgres'), (c) =>
      c.query('SELECT rolcanlogin FROM pg_roles WHERE rolname = $1', [HEARTBEAT_ROLE]),
    );
    // The DBA's LOGIN from beforeAll survived the script running in another database.
    expect(fresh.rows).toEqual([{ rolcanlogin: true }]);
  });

  it('lets the role insert a beat and trim old ones, as the writer does', async () => {
    const old = new Date('2026-01-01T00:00:00Z');
    await writeHeartbeat(roleUrl, { schema: SCHEMA, retentionDays: 3, now: old });
    const beat = await writeHeartbeat(roleUrl, { schema: SCHEMA, retentionDays: 3 });
    expect(beat.trimmed).toBeGreaterThanOrEqual(1);
    expect(Math.abs(beat.at.getTime() - Date.now())).toBeLessThan(5 * 60_000);
    const rows = await withClient(ownerUrl, (c) =>
      c.query<{ at: Date }>(`SELECT at FROM ${SCHEMA}.heartbeat WHERE at = $1`, [old]),
    );
    expect(rows.rows).toEqual([]);
  });

  it('needs the select on at: without it PostgreSQL refuses the trim and the insert with its conflict target', async () => {
    await withClient(cluster.url('postgres'), (c) => c.query('CREATE DATABASE noselect'));
    await withClient(cluster.url('noselect'), async (c) => {
      await c.query(heartbeatSetupSql({ schema: SCHEMA, retentionDays: 3 }));
      await c.query(`REVOKE SELECT (at) ON ${SCHEMA}.heartbeat FROM ${HEARTBEAT_ROLE}`);
    });
    const statements = heartbeatStatements({ schema: SCHEMA, retentionDays: 3 });
    await withClient(asRole(cluster, 'noselect'), async (c) => {
      await expect(c.query(statements.insert)).rejects.toThrow(/permission denied for table heartbeat/);
      await expect(c.query(statements.trim)).rejects.toThrow(/permission denied for table heartbeat/);
      // A bare insert needs no SELECT: the grant is there for the trim and ON CONFLICT (at) only.
      await c.query(`INSERT INTO ${SCHEMA}.heartbeat (at) VALUES (now())`);
    });
  });

  it('runs the printed plain statements as the role', async () => {
    const statements = heartbeatStatements({ schema: SCHEMA, retentionDays: 3 });
    await withClient(roleUrl, async (c) => {
      await c.query(statements.insert);
      await c.query(statements.trim);
    });
  });

  it('refuses the role anything else: other tables, updates, truncation, dropping, creating in the schema', async () => {
    await withClient(roleUrl, async (c) => {
      const refused = async (sql: string, pattern: RegExp) => {
        await expect(c.query(sql)).rejects.toThrow(pattern);
      };
      await refused('SELECT * FROM "Account"', /permission denied for table Account/);
      await refused('UPDATE "Account" SET balance = 0', /permission denied for table Account/);
      await refused(`UPDATE ${SCHEMA}.heartbeat SET at = now()`, /permission denied for table heartbeat/);
      await refused(`TRUNCATE ${SCHEMA}.heartbeat`, /permission denied for table heartbeat/);
      await refused(`DROP TABLE ${SCHEMA}.heartbeat`, /must be owner of table heartbeat/);
      await refused(`CREATE TABLE ${SCHEMA}.other (x int)`, /permission denied for schema recovery_drill/);
      await refused(`ALTER TABLE ${SCHEMA}.heartbeat ADD COLUMN x int`, /must be owner of table heartbeat/);
    });
    const account = await withClient(ownerUrl, (c) => c.query('SELECT balance FROM "Account"'));
    expect(account.rows).toEqual([{ balance: '100' }]);
  });

  it('reads the newest beat at or before T, and the count up to it', async () => {
    await withClient(cluster.url('postgres'), (c) => c.query('CREATE DATABASE reader'));
    const url = cluster.url('reader');
    await ensureHeartbeatTable(url, { schema: SCHEMA });
    await ensureHeartbeatTable(url, { schema: SCHEMA });
    const times = [
      '2026-03-02T05:57:00Z',
      '2026-03-02T05:58:00Z',
      '2026-03-02T05:59:00Z',
      '2026-03-02T06:01:00Z',
    ];
    for (const t of times) await writeHeartbeat(url, { schema: SCHEMA, retentionDays: 3, now: new Date(t) });
    const reading = await newestHeartbeat(url, {
      schema: SCHEMA,
      notAfter: new Date('2026-03-02T06:00:00Z'),
    });
    expect(reading).toEqual({ configured: true, newest: new Date('2026-03-02T05:59:00Z'), count: 3 });
    const exact = await newestHeartbeat(url, { schema: SCHEMA, notAfter: new Date('2026-03-02T05:58:00Z') });
    expect(exact).toEqual({ configured: true, newest: new Date('2026-03-02T05:58:00Z'), count: 2 });
    const before = await newestHeartbeat(url, { schema: SCHEMA, notAfter: new Date('2026-03-01T00:00:00Z') });
    expect(before).toEqual({ configured: true, newest: null, count: 0 });
  });

  it('trims beats older than the retention before the new beat, and keeps the rest', async () => {
    await withClient(cluster.url('postgres'), (c) => c.query('CREATE DATABASE trim'));
    const url = cluster.url('trim');
    await ensureHeartbeatTable(url, { schema: SCHEMA });
    for (const t of ['2026-03-01T00:00:00Z', '2026-03-03T23:59:00Z', '2026-03-04T00:00:00Z'])
      await writeHeartbeat(url, { schema: SCHEMA, retentionDays: 3, now: new Date(t) });
    const beat = await writeHeartbeat(url, {
      schema: SCHEMA,
      retentionDays: 3,
      now: new Date('2026-03-07T00:00:00Z'),
    });
    expect(beat).toEqual({ at: new Date('2026-03-07T00:00:00Z'), trimmed: 2 });
    const left = await withClient(url, (c) =>
      c.query<{ at: Date }>(`SELECT at FROM ${SCHEMA}.heartbeat ORDER BY at`),
    );
    expect(left.rows.map((r) => r.at.toISOString())).toEqual([
      '2026-03-04T00:00:00.000Z',
      '2026-03-07T00:00:00.000Z',
    ]);
    // A beat of exactly the same time is not an error (ON CONFLICT DO NOTHING).
    expect(
      await writeHeartbeat(url, { schema: SCHEMA, retentionDays: 3, now: new Date('2026-03-07T00:00:00Z') }),
    ).toEqual({
      at: new Date('2026-03-07T00:00:00Z'),
      trimmed: 0,
    });
  });

  it('reports a database without the table as not configured', async () => {
    const reading = await newestHeartbeat(cluster.url('postgres'), { schema: SCHEMA, notAfter: new Date() });
    expect(reading).toEqual({ configured: false, newest: null, count: 0 });
  });

  it('uses a connected client without closing it', async () => {
    await withClient(ownerUrl, async (client) => {
      await writeHeartbeat(client, { schema: SCHEMA, retentionDays: 3 });
      const reading = await newestHeartbeat(client, {
        schema: SCHEMA,
        notAfter: new Date(Date.now() + 60_000),
      });
      expect(reading.configured).toBe(true);
      expect(reading.count).toBeGreaterThanOrEqual(1);
      expect((await client.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    });
  });

  it('fails naming the table when it is missing, and never shows the password', async () => {
    const url = cluster.url('postgres');
    const password = new URL(url).password;
    const error = await writeHeartbeat(url, { schema: SCHEMA, retentionDays: 3 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HeartbeatError);
    expect((error as HeartbeatError).operation).toBe('write');
    expect((error as Error).message).toContain('"recovery_drill"."heartbeat"');
    expect((error as Error).message).toMatch(/does not exist/);
    expect((error as Error).message).not.toContain(password);
  });

  it('fails to connect with a clear error and no password in it', async () => {
    const wrong = new URL(roleUrl);
    wrong.password = 'not-the-password';
    const error = await writeHeartbeat(wrong.toString(), { schema: SCHEMA, retentionDays: 3 }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(HeartbeatError);
    expect((error as HeartbeatError).operation).toBe('connect');
    expect((error as Error).message).toMatch(
      /password authentication failed for user "recovery_drill_heartbeat"/,
    );
    expect((error as Error).message).not.toContain('not-the-password');
    const read = await newestHeartbeat(wrong.toString(), { schema: SCHEMA, notAfter: new Date() }).catch(
      (e: unknown) => e,
    );
    expect(read).toBeInstanceOf(HeartbeatError);
  });

  it('refuses a schema that is not a plain identifier before connecting', async () => {
    await expect(
      writeHeartbeat(ownerUrl, { schema: 'x"; DROP TABLE "Account', retentionDays: 3 }),
    ).rejects.toThrow(/heartbeat\.schema: expected a SQL identifier/);
    await expect(writeHeartbeat(ownerUrl, { schema: SCHEMA, retentionDays: 0 })).rejects.toThrow(
      /retentionDays: expected an integer from 1 to 365/,
    );
  });
});
