/**
 * The faults that break the restored database, against a real PostgreSQL: each finds what it
 * breaks through the configuration and the catalog (a schema shaped like BT-CTS's: text ids, a
 * connect-pg-simple session table, DayCycle, Prisma's migration records), breaks it for real, and
 * the drill's own checks (a session write, the integrity check) see the damage. A configuration
 * naming what the database does not have is refused with the field and what it needs.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Config, parseConfig } from '../../../functions/core/config.ts';
import {
  applyDatabaseFault,
  sessionFaultProblem,
} from '../../../functions/drill/drivers/local/fault-appliers.ts';
import { faultCatalogProblem } from '../../../functions/drill/drivers/local/fault-targets.ts';
import {
  FAULTS,
  FaultMissedError,
  type FaultName,
  faultConfigProblem,
} from '../../../functions/drill/drivers/local/faults.ts';
import { checkIntegrity } from '../../../functions/drill/integrity.ts';
import { createTemporaryCluster } from '../../../functions/local/temporary-cluster.ts';

type Cluster = Awaited<ReturnType<typeof createTemporaryCluster>>;

/** A small schema with BT-CTS's shape (our own SQL): text ids, enums, a session store table. */
const TEXT_ID_SCHEMA = `
CREATE TYPE "DayState" AS ENUM ('CLOSED', 'LOADING', 'OPEN');
CREATE TABLE "Branch" ("branchCode" text PRIMARY KEY, "createdAt" timestamp(3) NOT NULL DEFAULT now());
CREATE TABLE "User" (
  "id" text PRIMARY KEY, "username" text NOT NULL UNIQUE,
  "branchCode" text REFERENCES "Branch" ("branchCode"),
  "createdAt" timestamp(3) NOT NULL DEFAULT now());
CREATE TABLE "DayCycle" ("businessDate" timestamp(3) PRIMARY KEY, "state" "DayState" NOT NULL DEFAULT 'CLOSED',
  "createdAt" timestamp(3) NOT NULL DEFAULT now());
CREATE TABLE "Account" (
  "id" text PRIMARY KEY, "accountKey" text NOT NULL,
  "branchCode" text NOT NULL REFERENCES "Branch" ("branchCode") ON UPDATE CASCADE ON DELETE RESTRICT,
  "loadedDate" timestamp(3) NOT NULL, "createdAt" timestamp(3) NOT NULL DEFAULT now());
CREATE TABLE "Transaction" (
  "id" text PRIMARY KEY,
  "accountId" text NOT NULL REFERENCES "Account" ("id") ON UPDATE CASCADE ON DELETE RESTRICT,
  "tellerUserId" text NOT NULL REFERENCES "User" ("id") ON UPDATE CASCADE ON DELETE RESTRICT,
  "amount" numeric(15, 2) NOT NULL, "createdAt" timestamp(3) NOT NULL DEFAULT now());
CREATE TABLE "AuditLog" ("id" text PRIMARY KEY, "action" text NOT NULL, "createdAt" timestamp(3) NOT NULL DEFAULT now());
CREATE TABLE "session" ("sid" varchar NOT NULL PRIMARY KEY, "sess" json NOT NULL, "expire" timestamp(6) NOT NULL);
CREATE TABLE "_prisma_migrations" (
  "id" varchar(36) PRIMARY KEY, "checksum" varchar(64) NOT NULL, "finished_at" timestamptz,
  "migration_name" varchar(255) NOT NULL, "logs" text, "rolled_back_at" timestamptz,
  "started_at" timestamptz NOT NULL DEFAULT now(), "applied_steps_count" integer NOT NULL DEFAULT 0);
INSERT INTO "_prisma_migrations" VALUES
  ('m1', repeat('a', 64), now(), '20260101000000_init', NULL, NULL, now(), 1),
  ('m2', repeat('b', 64), now(), '20260102000000_add_account', NULL, NULL, now(), 1);
INSERT INTO "Branch" VALUES ('0001', now() - interval '2 days');
INSERT INTO "User" VALUES ('u1', 'admin', '0001', now() - interval '2 days');
INSERT INTO "DayCycle" VALUES (date_trunc('day', now()), 'OPEN', now() - interval '1 hour');
INSERT INTO "Account" VALUES ('a1', 'K1', '0001', date_trunc('day', now()), now() - interval '1 hour'),
                             ('a2', 'K2', '0001', date_trunc('day', now()), now() - interval '1 hour');
INSERT INTO "Transaction" VALUES ('t1', 'a1', 'u1', 10, now() - interval '30 minutes');
INSERT INTO "AuditLog" VALUES ('l1', 'AUTH_LOGIN_SUCCESS', now() - interval '10 minutes');
INSERT INTO "session" VALUES ('s1', '{}', now() + interval '1 hour');
`;

/** The same relations with integer ids (serial keys), as many apps have them. */
const INTEGER_ID_SCHEMA = `
CREATE TABLE "User" ("id" serial PRIMARY KEY, "createdAt" timestamptz NOT NULL DEFAULT now());
CREATE TABLE "Account" ("id" serial PRIMARY KEY, "createdAt" timestamptz NOT NULL DEFAULT now());
CREATE TABLE "Transaction" ("id" serial PRIMARY KEY, "accountId" integer NOT NULL REFERENCES "Account" ("id"),
  "createdAt" timestamptz NOT NULL DEFAULT now());
CREATE TABLE "AuditLog" ("id" bigserial PRIMARY KEY, "createdAt" timestamptz NOT NULL DEFAULT now());
INSERT INTO "User" DEFAULT VALUES; INSERT INTO "Account" DEFAULT VALUES; INSERT INTO "Account" DEFAULT VALUES;
INSERT INTO "Transaction" ("accountId") VALUES (1), (2); INSERT INTO "AuditLog" DEFAULT VALUES;
`;

function config(overrides: { smoke?: object; integrity?: object; app?: object } = {}): Config {
  return parseConfig({
    source: { dbInstanceIdentifier: 'bt-cts-prod', region: 'eu-west-1' },
    isolation: { copyRegion: 'eu-central-1' },
    ...overrides,
  });
}

describe('faults that break the restored database', () => {
  let cluster: Cluster;
  let counter = 0;
  const clients: pg.Client[] = [];

  /** A fresh database from one of the templates, and a client on it. */
  async function database(template: 'text_ids' | 'integer_ids'): Promise<{ client: pg.Client; url: string }> {
    counter += 1;
    const name = `db${counter}`;
    const admin = new pg.Client({ connectionString: cluster.url('postgres') });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${name} TEMPLATE ${template}`);
    } finally {
      await admin.end();
    }
    const url = cluster.url(name);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    clients.push(client);
    return { client, url };
  }

  beforeAll(async () => {
    cluster = await createTemporaryCluster();
    const admin = new pg.Client({ connectionString: cluster.url('postgres') });
    await admin.connect();
    try {
      for (const [name, schema] of [
        ['text_ids', TEXT_ID_SCHEMA],
        ['integer_ids', INTEGER_ID_SCHEMA],
      ] as const) {
        await admin.query(`CREATE DATABASE ${name}`);
        const client = new pg.Client({ connectionString: cluster.url(name) });
        await client.connect();
        await client.query(schema);
        await client.end();
      }
    } finally {
      await admin.end();
    }
  }, 60_000);

  afterAll(async () => {
    for (const client of clients) await client.end().catch(() => undefined);
    await cluster?.destroy();
  });

  const integrityOf = (url: string, cfg: Config) =>
    checkIntegrity(url, {
      tables: cfg.integrity.criticalTables,
      timestampColumn: cfg.integrity.timestampColumn,
      notAfter: new Date(),
      drillWritesFrom: null,
    });

  it('finds nothing missing in a database shaped like BT-CTS with the default configuration', async () => {
    const { client } = await database('text_ids');
    for (const fault of Object.keys(FAULTS) as FaultName[])
      expect(await faultCatalogProblem(fault, client, config()), fault).toBeNull();
  });

  it.each([
    [
      'search-failure',
      { smoke: { accountSearchTable: 'Accounts' } },
      /smoke\.accountSearchTable = "Accounts".*does not have/,
    ],
    ['day-read-failure', { smoke: { dayStateTable: 'DayState' } }, /smoke\.dayStateTable = "DayState"/],
    ['integrity-orphan', { integrity: { criticalTables: ['AuditLog'] } }, /foreign key.*\["AuditLog"\]/],
    [
      'integrity-future-row',
      { integrity: { timestampColumn: 'insertedAt' } },
      /integrity\.timestampColumn = "insertedAt"/,
    ],
  ] as const)(
    'refuses %s when the catalog lacks what it needs, naming the field',
    async (fault, overrides, needs) => {
      const { client } = await database('text_ids');
      expect(await faultCatalogProblem(fault, client, config(overrides))).toMatch(needs);
    },
  );

  it('refuses migration-failure without Prisma migration records, and a session "table" that is a view', async () => {
    const { client } = await database('integer_ids');
    expect(await faultCatalogProblem('migration-failure', client, config())).toMatch(/_prisma_migrations/);
    // connect-pg-simple creates its table when the app starts: a source without it can still take the fault.
    expect(await faultCatalogProblem('login-failure', client, config())).toBeNull();
    await client.query('CREATE VIEW "session" AS SELECT 1 AS sid');
    expect(await faultCatalogProblem('ready-503', client, config())).toMatch(
      /smoke\.sessionTable = "session".*a view/,
    );
  });

  it('refuses the faults that act on the local app when app.stagingBaseUrl is set', () => {
    const staging = config({ app: { stagingBaseUrl: 'https://staging.example.com' } });
    for (const fault of [
      'ready-503',
      'login-failure',
      'search-failure',
      'day-read-failure',
      'evaluate-down',
    ] as const)
      expect(faultConfigProblem(fault, staging), fault).toMatch(/app\.stagingBaseUrl/);
    expect(faultConfigProblem('integrity-orphan', staging)).toBeNull();
    expect(faultConfigProblem('ready-503', config())).toBeNull();
  });

  it('login-failure makes the session table refuse new and updated sessions, and names the trigger', async () => {
    const { client } = await database('text_ids');
    const detail = await applyDatabaseFault('login-failure', client, config());
    expect(detail).toMatch(
      /trigger recovery_drill_fault on table "session" \(smoke\.sessionTable\) refuses INSERT, UPDATE/,
    );
    // What connect-pg-simple does on a login: an upsert of the session row.
    await expect(
      client.query(
        `INSERT INTO "session" (sess, expire, sid) VALUES ('{}', now(), 's2') ON CONFLICT (sid) DO UPDATE SET sess = excluded.sess`,
      ),
    ).rejects.toThrow(/recovery-drill --inject login-failure: INSERT on "session" refused/);
    await expect(client.query(`UPDATE "session" SET expire = now() WHERE sid = 's1'`)).rejects.toThrow(
      /UPDATE/,
    );
    expect((await client.query('SELECT count(*)::int AS n FROM "session"')).rows[0].n).toBe(1);
    await client.query(`DELETE FROM "session" WHERE sid = 's1'`);
  });

  it('ready-503 also refuses the probe session being destroyed', async () => {
    const { client } = await database('text_ids');
    expect(await applyDatabaseFault('ready-503', client, config())).toMatch(/refuses INSERT, UPDATE, DELETE/);
    await expect(client.query(`DELETE FROM "session" WHERE sid = 's1'`)).rejects.toThrow(
      /DELETE on "session" refused/,
    );
  });

  it('puts the trigger on the session table the moment the app creates it, and says when it never does', async () => {
    const { client, url } = await database('integer_ids');
    const cfg = config();
    const detail = await applyDatabaseFault('ready-503', client, cfg);
    expect(detail).toMatch(
      /event trigger recovery_drill_fault_attach puts it there the moment the app creates the table/,
    );
    expect(await sessionFaultProblem(client, cfg)).toMatch(
      /table "session" \(smoke\.sessionTable\) never appeared in the restored database while the app ran/,
    );
    // What connect-pg-simple does on the first session it stores: its table, in one simple query, then the upsert.
    const app = new pg.Client({ connectionString: url });
    await app.connect();
    try {
      await app.query(`CREATE TABLE "session" ("sid" varchar NOT NULL COLLATE "default", "sess" json NOT NULL, "expire" timestamp(6) NOT NULL) WITH (OIDS=FALSE);
        ALTER TABLE "session" ADD CONSTRAINT "session_pkey" PRIMARY KEY ("sid") NOT DEFERRABLE INITIALLY IMMEDIATE;
        CREATE INDEX "IDX_session_expire" ON "session" ("expire");`);
      await expect(
        app.query(
          `INSERT INTO "session" (sess, expire, sid) SELECT '{}', to_timestamp(2000000000), 'health:1' ON CONFLICT (sid) DO UPDATE SET sess = excluded.sess`,
        ),
      ).rejects.toThrow(/recovery-drill --inject ready-503: INSERT on "session" refused/);
    } finally {
      await app.end();
    }
    expect(await sessionFaultProblem(client, cfg)).toBeNull();
  });

  it.each([
    ['search-failure', 'Account', 'smoke.accountSearchTable'],
    ['day-read-failure', 'DayCycle', 'smoke.dayStateTable'],
  ] as const)('%s renames the configured table away', async (fault, table, field) => {
    const { client } = await database('text_ids');
    const detail = await applyDatabaseFault(fault, client, config());
    expect(detail).toBe(`table "${table}" (${field}) renamed to "${table}_recovery_drill_fault"`);
    await expect(client.query(`SELECT * FROM "${table}"`)).rejects.toThrow(/does not exist/);
    expect(
      (await client.query(`SELECT count(*)::int AS n FROM "${table}_recovery_drill_fault"`)).rows[0].n,
    ).toBeGreaterThan(0);
  });

  it('reports what is missing when the part to break is gone by the time the fault acts', async () => {
    const { client } = await database('integer_ids');
    await expect(applyDatabaseFault('day-read-failure', client, config())).rejects.toThrow(FaultMissedError);
    await expect(applyDatabaseFault('day-read-failure', client, config())).rejects.toThrow(
      'table "DayCycle" (smoke.dayStateTable) is not in the restored database',
    );
    await expect(applyDatabaseFault('migration-failure', client, config())).rejects.toThrow(
      /_prisma_migrations/,
    );
  });

  it.each(['text_ids', 'integer_ids'] as const)(
    'integrity-orphan breaks a foreign key found in the catalog (%s), and the integrity check finds it',
    async (template) => {
      const { client, url } = await database(template);
      const cfg = config();
      expect((await integrityOf(url, cfg)).problems.filter((p) => p.includes('reference'))).toEqual([]);
      const detail = await applyDatabaseFault('integrity-orphan', client, cfg);
      // Between two critical tables first: Transaction → Account.
      expect(detail).toMatch(
        /^one "Transaction" row's "accountId" set to .+, which no "Account"\."id" holds \(foreign key Transaction_accountId_fkey bypassed/,
      );
      const problems = (await integrityOf(url, cfg)).problems;
      expect(problems).toContain(
        'table "Transaction" has 1 row(s) whose accountId reference a missing "Account" row',
      );
    },
  );

  it('integrity-future-row dates a row of the first critical table with the timestamp column a day ahead', async () => {
    const { client, url } = await database('text_ids');
    const cfg = config();
    const detail = await applyDatabaseFault('integrity-future-row', client, cfg);
    expect(detail).toMatch(
      /^one "User" row's "createdAt" \(integrity\.timestampColumn\) set to \d{4}-\d\d-\d\d \d\d:\d\d/,
    );
    const problems = (await integrityOf(url, cfg)).problems;
    expect(
      problems.some((p) =>
        /^table "User" holds 1 row\(s\) created after .*, where the restore was to stop/.test(p),
      ),
    ).toBe(true);
  });

  it("migration-failure erases the newest migration's record and refuses schema changes but Prisma's own", async () => {
    const { client } = await database('text_ids');
    const detail = await applyDatabaseFault('migration-failure', client, config());
    expect(detail).toMatch(/record of migration 20260102000000_add_account erased.*recovery_drill_fault_ddl/);
    const names = (await client.query('SELECT migration_name FROM "_prisma_migrations"')).rows.map(
      (r) => r.migration_name,
    );
    expect(names).toEqual(['20260101000000_init']);
    // What a migrate deploy does first still works...
    await client.query(`CREATE TABLE IF NOT EXISTS "_prisma_migrations" ("id" varchar(36) PRIMARY KEY)`);
    await client.query(
      `INSERT INTO "_prisma_migrations" (id, checksum, migration_name) VALUES ('m3', repeat('c', 64), '20260102000000_add_account')`,
    );
    // ...re-applying the migration does not, even one written to be re-runnable.
    await expect(client.query('CREATE TABLE IF NOT EXISTS "Extra" (id int)')).rejects.toThrow(
      /recovery-drill --inject migration-failure: schema change refused \(CREATE TABLE\)/,
    );
    await expect(client.query('ALTER TABLE "Account" ADD COLUMN "closedAt" timestamp(3)')).rejects.toThrow(
      /ALTER TABLE/,
    );
  });
});
