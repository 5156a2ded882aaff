/**
 * The integrity check on its own, against a real PostgreSQL: each check (present, not empty, no
 * orphans through any foreign key touching a critical table, nothing after T but the drill's own
 * writes) found in a database that really has the fault, and a quiet database not mistaken for a
 * damaged one.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkIntegrity, type IntegrityOptions } from '../../../functions/drill/integrity.ts';
import { createTemporaryCluster } from '../../../functions/local/temporary-cluster.ts';

type Cluster = Awaited<ReturnType<typeof createTemporaryCluster>>;

/** Our own small schema with BT-CTS's shape: the four critical tables, Transaction referencing two. */
const SCHEMA = `
CREATE TABLE "User" ("id" text PRIMARY KEY, "createdAt" timestamp(3) NOT NULL);
CREATE TABLE "Account" ("id" text PRIMARY KEY, "createdAt" timestamp(3) NOT NULL);
CREATE TABLE "Transaction" (
  "id" text PRIMARY KEY,
  "accountId" text NOT NULL REFERENCES "Account" ("id"),
  "tellerUserId" text NOT NULL REFERENCES "User" ("id"),
  "createdAt" timestamp(3) NOT NULL);
CREATE TABLE "AuditLog" ("id" text PRIMARY KEY, "createdAt" timestamp(3) NOT NULL);
INSERT INTO "User" VALUES ('u1', '2026-11-25 10:00:00');
INSERT INTO "Account" VALUES ('a1', '2026-11-25 10:00:00'), ('a2', '2026-11-25 11:00:00');
INSERT INTO "Transaction" VALUES ('t1', 'a1', 'u1', '2026-11-26 01:00:00');
INSERT INTO "AuditLog" VALUES ('l1', '2026-11-26 02:00:00');
`;

const TABLES = ['User', 'Account', 'Transaction', 'AuditLog'];
/** T of these tests: every seeded row is older. */
const T = new Date('2026-11-26T03:00:00.000Z');

describe('integrity check', () => {
  let cluster: Cluster;
  let counter = 0;

  beforeAll(async () => {
    cluster = await createTemporaryCluster();
    const admin = new pg.Client({ connectionString: cluster.url('postgres') });
    await admin.connect();
    try {
      await admin.query('CREATE DATABASE critical');
      const client = new pg.Client({ connectionString: cluster.url('critical') });
      await client.connect();
      await client.query(SCHEMA);
      await client.end();
    } finally {
      await admin.end();
    }
  }, 60_000);

  afterAll(async () => {
    await cluster?.destroy();
  });

  /** A fresh copy of the seeded database, changed by `sql` (constraints bypassed, as a bad restore would). */
  async function database(sql = ''): Promise<string> {
    counter += 1;
    const name = `copy${counter}`;
    const admin = new pg.Client({ connectionString: cluster.url('postgres') });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${name} TEMPLATE critical`);
    } finally {
      await admin.end();
    }
    if (sql) {
      const client = new pg.Client({ connectionString: cluster.url(name) });
      await client.connect();
      try {
        await client.query(`SET session_replication_role = replica; ${sql}`);
      } finally {
        await client.end();
      }
    }
    return cluster.url(name);
  }

  const check = (url: string, options: Partial<IntegrityOptions> = {}) =>
    checkIntegrity(url, {
      tables: TABLES,
      timestampColumn: 'createdAt',
      notAfter: T,
      drillWritesFrom: null,
      ...options,
    });

  it('passes a whole database and reports its newest row, informational only', async () => {
    const result = await check(await database());
    expect(result.problems).toEqual([]);
    expect(result.newestRowAt).toBe('2026-11-26T02:00:00.000Z');
    expect(result.tables.map((t) => [t.table, t.present, t.empty, t.rowsNewerThanTarget])).toEqual([
      ['User', true, false, 0],
      ['Account', true, false, 0],
      ['Transaction', true, false, 0],
      ['AuditLog', true, false, 0],
    ]);
  });

  it('passes a quiet database whose newest row is a day older than T', async () => {
    const result = await check(await database(), { notAfter: new Date('2026-11-27T03:00:00.000Z') });
    expect(result.problems).toEqual([]);
  });

  it.each([
    ['missing', 'DROP TABLE "AuditLog"', 'table "AuditLog" is missing'],
    ['empty', 'DELETE FROM "AuditLog"', 'table "AuditLog" is empty'],
    [
      'orphaned',
      `INSERT INTO "Transaction" VALUES ('t2', 'a-gone', 'u1', '2026-11-26 01:30:00')`,
      'table "Transaction" has 1 row(s) whose accountId reference a missing "Account" row',
    ],
    [
      'orphaned by a deleted parent',
      `DELETE FROM "User" WHERE "id" = 'u1'`,
      'table "Transaction" has 1 row(s) whose tellerUserId reference a missing "User" row',
    ],
    [
      'holding a row after T',
      `INSERT INTO "AuditLog" VALUES ('l2', '2026-11-26 04:00:00')`,
      'table "AuditLog" holds 1 row(s) created after 2026-11-26T03:00:00.000Z, where the restore was to stop (not written by the drill)',
    ],
  ])('finds a critical table %s', async (_what, sql, problem) => {
    const result = await check(await database(sql));
    expect(result.problems).toContain(problem);
  });

  it('leaves out rows the drill wrote itself, from its start until the check', async () => {
    const drillStart = new Date(Date.now() - 60_000);
    const url = await database(`INSERT INTO "AuditLog" VALUES ('login', now() AT TIME ZONE 'UTC')`);
    expect((await check(url)).problems).toHaveLength(1);
    expect((await check(url, { drillWritesFrom: drillStart })).problems).toEqual([]);
  });

  it('says no row could be checked against T when no critical table has the timestamp column', async () => {
    const result = await check(await database(), { timestampColumn: 'insertedAt' });
    expect(result.problems).toEqual([
      'no critical table has a "insertedAt" value (integrity.timestampColumn): no row could be checked against T',
    ]);
  });
});
