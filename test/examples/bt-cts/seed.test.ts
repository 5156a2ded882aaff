import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS_DIR, migrateDeploy } from '../../../examples/bt-cts/apps/api/src/migrate.ts';
import { verifyPassword } from '../../../examples/bt-cts/apps/api/src/passwords.ts';
import { seed } from '../../../examples/bt-cts/apps/api/src/seed.ts';
import { InputError } from '../../../functions/core/errors.ts';
import { createTemporaryCluster } from '../../../functions/local/cluster.ts';
import { postgresProcessesUnder } from '../../support/postgres.ts';
import { createDatabase, query } from './support.ts';

type Cluster = Awaited<ReturnType<typeof createTemporaryCluster>>;
let cluster: Cluster;

const CRITICAL_TABLES = ['User', 'Account', 'Transaction', 'AuditLog'] as const;

async function migrated(): Promise<string> {
  const url = await createDatabase(cluster);
  await migrateDeploy(url, { migrationsDir: MIGRATIONS_DIR });
  return url;
}

async function count(url: string, sql: string, params: unknown[] = []): Promise<number> {
  const [row] = await query<{ n: string }>(url, sql, params);
  return Number(row?.n);
}

beforeAll(async () => {
  cluster = await createTemporaryCluster();
});

afterAll(async () => {
  await cluster?.destroy();
  if (cluster) expect(postgresProcessesUnder(cluster.dataDir)).toEqual([]);
});

describe('seed', () => {
  let url: string;
  const adminPassword = 'seed-admin-password';

  beforeAll(async () => {
    url = await migrated();
    await seed(url, { adminPassword });
  });

  it('creates thousands of accounts and their transactions by default', async () => {
    expect(await count(url, 'SELECT count(*) AS n FROM "Account"')).toBe(5000);
    expect(await count(url, 'SELECT count(*) AS n FROM "Transaction"')).toBe(100_000);
    expect(await count(url, 'SELECT count(DISTINCT "holderName") AS n FROM "Account"')).toBeGreaterThan(100);
  });

  it('writes an audit trail: every account opened, high-value postings and business days', async () => {
    const actions = await query<{ action: string; n: string }>(
      url,
      'SELECT "action", count(*) AS n FROM "AuditLog" GROUP BY "action" ORDER BY "action"',
    );
    const byAction = Object.fromEntries(actions.map((a) => [a.action, Number(a.n)]));
    expect(byAction.ACCOUNT_OPENED).toBe(5000);
    expect(byAction.USER_CREATED).toBe(7);
    expect(byAction.DAY_OPENED).toBe(31);
    expect(byAction.HIGH_VALUE_POSTED).toBe(
      await count(url, 'SELECT count(*) AS n FROM "Transaction" WHERE "amount" >= 1500'),
    );
  });

  it('opens today as the only OPEN business day, after 30 closed ones', async () => {
    const days = await query<{ businessDate: string; status: string }>(
      url,
      `SELECT "businessDate"::text AS "businessDate", "status" FROM "DayState" ORDER BY "businessDate"`,
    );
    const [today] = await query<{ date: string }>(url, 'SELECT current_date::text AS date');
    expect(days).toHaveLength(31);
    expect(days.filter((d) => d.status === 'OPEN')).toEqual([{ businessDate: today?.date, status: 'OPEN' }]);
  });

  it('stores the admin password as a scrypt hash that verifies', async () => {
    const [admin] = await query<{ passwordHash: string; role: string }>(
      url,
      `SELECT "passwordHash", "role" FROM "User" WHERE "username" = 'admin'`,
    );
    expect(admin?.role).toBe('ADMIN');
    expect(admin?.passwordHash).toMatch(/^scrypt\$/);
    expect(admin?.passwordHash).not.toContain(adminPassword);
    expect(await verifyPassword(adminPassword, admin?.passwordHash ?? '')).toBe(true);
    expect(await verifyPassword('another-password', admin?.passwordHash ?? '')).toBe(false);
  });

  it('keeps the books consistent: balances are the sum of postings, no orphans, the foreign key in place', async () => {
    expect(
      await count(
        url,
        `SELECT count(*) AS n FROM "Account" a
           LEFT JOIN (SELECT "accountId", sum(CASE WHEN "type" = 'CREDIT' THEN "amount" ELSE -"amount" END) AS total
                        FROM "Transaction" GROUP BY "accountId") s ON s."accountId" = a."id"
          WHERE a."balance" <> coalesce(s.total, 0)`,
      ),
    ).toBe(0);
    expect(
      await count(
        url,
        `SELECT count(*) AS n FROM "Transaction" t WHERE NOT EXISTS (SELECT 1 FROM "Account" a WHERE a."id" = t."accountId")`,
      ),
    ).toBe(0);
    const [fk] = await query<{ convalidated: boolean }>(
      url,
      `SELECT convalidated FROM pg_constraint WHERE conname = 'Transaction_accountId_fkey'`,
    );
    expect(fk?.convalidated).toBe(true);
  });

  it('dates every row in the past, with the newest transaction within the last hour', async () => {
    for (const table of CRITICAL_TABLES)
      expect(
        await count(url, `SELECT count(*) AS n FROM "${table}" WHERE "createdAt" > now() AT TIME ZONE 'UTC'`),
        table,
      ).toBe(0);
    const [range] = await query<{ newest: Date; oldest: Date }>(
      url,
      `SELECT max("createdAt") AS newest, min("createdAt") AS oldest FROM "Transaction"`,
    );
    expect(Date.now() - (range?.newest.getTime() ?? 0)).toBeLessThan(60 * 60_000);
    expect(Date.now() - (range?.oldest.getTime() ?? 0)).toBeGreaterThan(60 * 86_400_000);
  });

  it('refuses to seed a database that already holds accounts and changes nothing', async () => {
    await expect(seed(url, { adminPassword })).rejects.toThrow(/already holds 5000 accounts/);
    expect(await count(url, 'SELECT count(*) AS n FROM "Account"')).toBe(5000);
    expect(await count(url, 'SELECT count(*) AS n FROM "User"')).toBe(7);
  });
});

describe('seed options', () => {
  it('scales to the requested number of accounts and transactions', async () => {
    const url = await migrated();
    const result = await seed(url, {
      adminPassword: 'seed-admin-password',
      accounts: 40,
      transactionsPerAccount: 3,
    });
    expect(result).toMatchObject({ users: 7, accounts: 40, transactions: 120, dayStates: 31 });
    expect(await count(url, 'SELECT count(*) AS n FROM "Transaction"')).toBe(120);
  });

  it.each([
    ['adminPassword', { adminPassword: 'short' }],
    ['accounts', { adminPassword: 'long-enough-password', accounts: 0 }],
    ['transactionsPerAccount', { adminPassword: 'long-enough-password', transactionsPerAccount: 1.5 }],
  ])('refuses a bad %s, names it and creates nothing', async (field, options) => {
    const url = await migrated();
    const error = await seed(url, options).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).field).toBe(field);
    // A rejected password is never echoed back.
    expect((error as InputError).message).not.toContain('short');
    expect(await count(url, 'SELECT count(*) AS n FROM "User"')).toBe(0);
  });
});
