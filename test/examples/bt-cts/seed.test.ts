import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS_DIR, migrateDeploy } from '../../../examples/bt-cts/apps/api/src/migrate.ts';
import { verifyPassword } from '../../../examples/bt-cts/apps/api/src/passwords.ts';
import { provisionSource } from '../../../examples/bt-cts/apps/api/src/provision.ts';
import { seed } from '../../../examples/bt-cts/apps/api/src/seed.ts';
import { InputError } from '../../../functions/core/errors.ts';
import { checkIntegrity } from '../../../functions/drill/integrity.ts';
import { createTemporaryCluster } from '../../../functions/local/temporary-cluster.ts';
import { postgresProcessesUnder } from '../../support/postgres.ts';
import { createDatabase, midnight, passwordOf, query, runApp, stopAllApps } from './support.ts';

type Cluster = Awaited<ReturnType<typeof createTemporaryCluster>>;
let cluster: Cluster;

const CRITICAL_TABLES = ['User', 'Account', 'Transaction', 'AuditLog'];
const CUID = /^c[0-9a-z]{24}$/;

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
  const strays = await stopAllApps();
  await cluster?.destroy();
  expect(strays).toBe(0);
  if (cluster) expect(postgresProcessesUnder(cluster.dataDir)).toEqual([]);
});

describe('seed at its default volume', () => {
  let url: string;
  const adminPassword = 'seed-admin-password';

  beforeAll(async () => {
    url = await migrated();
    await seed(url, { adminPassword });
  }, 120_000);

  it('loads 5000 accounts twice (yesterday and today) and posts 100 000 transactions', async () => {
    const loads = await query<{ loadedDate: Date; n: string }>(
      url,
      `SELECT "loadedDate", count(*) AS n FROM "Account" GROUP BY 1 ORDER BY 1`,
    );
    expect(loads.map((l) => [l.loadedDate.toISOString(), Number(l.n)])).toEqual([
      [midnight(-1).toISOString(), 5000],
      [midnight(0).toISOString(), 5000],
    ]);
    expect(await count(url, 'SELECT count(*) AS n FROM "Transaction"')).toBe(100_000);
    expect(await count(url, 'SELECT count(DISTINCT "accountName") AS n FROM "Account"')).toBeGreaterThan(100);
    // The same accounts each day: today's load opens at yesterday's closing balance.
    expect(
      await count(
        url,
        `SELECT count(*) AS n FROM "Account" t JOIN "Account" y
             ON y."accountKey" = t."accountKey" AND y."branchCode" = t."branchCode" AND y."loadedDate" = $2
          WHERE t."loadedDate" = $1 AND t."openingBalance" = y."currentBalance"`,
        [midnight(0).toISOString(), midnight(-1).toISOString()],
      ),
    ).toBe(5000);
  });

  it('creates the admin as BT-CTS does: ADMIN, ACTIVE, in its branch, with a bcrypt hash that verifies', async () => {
    const [admin] = await query<{
      passwordHash: string;
      role: string;
      status: string;
      branchCode: string;
      failedLoginCount: number;
    }>(
      url,
      `SELECT "passwordHash", "role", "status", "branchCode", "failedLoginCount" FROM "User" WHERE "username" = 'admin'`,
    );
    expect(admin).toMatchObject({ role: 'ADMIN', status: 'ACTIVE', branchCode: '0001', failedLoginCount: 0 });
    expect(admin?.passwordHash).toMatch(/^\$2b\$12\$/);
    expect(await verifyPassword(adminPassword, admin?.passwordHash ?? '')).toBe(true);
    expect(await verifyPassword('another-password', admin?.passwordHash ?? '')).toBe(false);
  });

  it('staffs every branch with a manager and two tellers, and leaves one applicant pending', async () => {
    const staff = await query<{ branchCode: string; role: string; status: string; n: string }>(
      url,
      `SELECT "branchCode", "role", "status", count(*) AS n FROM "User" WHERE "username" <> 'admin'
        GROUP BY 1, 2, 3 ORDER BY 1, 2, 3`,
    );
    const branches = await query<{ branchCode: string }>(
      url,
      `SELECT "branchCode" FROM "Branch" WHERE "status" = 'ACTIVE' ORDER BY 1`,
    );
    expect(branches.map((b) => b.branchCode)).toEqual(['0001', '0002', '0003', '0004']);
    expect(staff.map((s) => [s.branchCode, s.role, s.status, Number(s.n)])).toEqual([
      ['0001', 'NONE', 'PENDING_APPROVAL', 1],
      ['0001', 'BRANCH_MANAGER', 'ACTIVE', 1],
      ['0001', 'TELLER', 'ACTIVE', 2],
      ['0002', 'BRANCH_MANAGER', 'ACTIVE', 1],
      ['0002', 'TELLER', 'ACTIVE', 2],
      ['0003', 'BRANCH_MANAGER', 'ACTIVE', 1],
      ['0003', 'TELLER', 'ACTIVE', 2],
      ['0004', 'BRANCH_MANAGER', 'ACTIVE', 1],
      ['0004', 'TELLER', 'ACTIVE', 2],
    ]);
  });

  it('keeps the books: every balance is its opening plus its postings, each posting chains on the last', async () => {
    // currentBalance = openingBalance + deposits - withdrawals, per account and day's load.
    expect(
      await count(
        url,
        `SELECT count(*) AS n FROM "Account" a
           LEFT JOIN (SELECT "accountId", sum(CASE WHEN "type" = 'DEPOSIT' THEN "amount" ELSE -"amount" END) AS total
                        FROM "Transaction" GROUP BY "accountId") s ON s."accountId" = a."id"
          WHERE a."currentBalance" <> a."openingBalance" + coalesce(s.total, 0)`,
      ),
    ).toBe(0);
    // Each posting's balanceBefore is the previous posting's balanceAfter (the opening for the first).
    expect(
      await count(
        url,
        `SELECT count(*) AS n FROM (
           SELECT t."balanceBefore", t."balanceAfter", t."type", t."amount", a."openingBalance",
                  lag(t."balanceAfter") OVER (PARTITION BY t."accountId" ORDER BY t."createdAt", t."transactionId") AS previous
             FROM "Transaction" t JOIN "Account" a ON a."id" = t."accountId") c
          WHERE c."balanceBefore" <> coalesce(c.previous, c."openingBalance")
             OR c."balanceAfter" <> c."balanceBefore" + CASE WHEN c."type" = 'DEPOSIT' THEN c."amount" ELSE -c."amount" END`,
      ),
    ).toBe(0);
    // No balance goes below zero, and no withdrawal touches an account the app would block.
    expect(await count(url, `SELECT count(*) AS n FROM "Transaction" WHERE "balanceAfter" < 0`)).toBe(0);
    expect(
      await count(
        url,
        `SELECT count(*) AS n FROM "Transaction" t JOIN "Account" a ON a."id" = t."accountId"
          WHERE t."type" = 'WITHDRAWAL' AND (a."operationRestrictions" IS NOT NULL OR a."liens" > 0)`,
      ),
    ).toBe(0);
    // Each posting belongs to its account's business day and was made by a teller of that branch.
    expect(
      await count(
        url,
        `SELECT count(*) AS n FROM "Transaction" t
           JOIN "Account" a ON a."id" = t."accountId"
           JOIN "User" u ON u."id" = t."tellerUserId"
          WHERE t."businessDate" <> a."loadedDate" OR t."branchCode" <> a."branchCode"
             OR t."accountKey" <> a."accountKey" OR u."branchCode" <> t."branchCode"
             OR u."role" NOT IN ('TELLER', 'BRANCH_MANAGER')`,
      ),
    ).toBe(0);
  });

  it("numbers each branch's postings of a day as BT-CTS does: TXN-<branch>-<yyyymmdd>-<nnnnnn>", async () => {
    const ids = await query<{ transactionId: string; branchCode: string; day: string }>(
      url,
      `SELECT "transactionId", "branchCode", to_char("businessDate", 'YYYYMMDD') AS day FROM "Transaction"`,
    );
    for (const { transactionId, branchCode, day } of ids.slice(0, 2000))
      expect(transactionId).toMatch(new RegExp(`^TXN-${branchCode}-${day}-\\d{6}$`));
    expect(new Set(ids.map((i) => i.transactionId)).size).toBe(ids.length);
  });

  it('opens today as the only OPEN business day, after 30 closed ones with their audit trail', async () => {
    const days = await query<{ businessDate: Date; state: string; totalAccountsLoaded: number }>(
      url,
      `SELECT "businessDate", "state", "totalAccountsLoaded" FROM "DayCycle" ORDER BY "businessDate"`,
    );
    expect(days).toHaveLength(31);
    expect(days.at(-1)).toEqual({ businessDate: midnight(0), state: 'OPEN', totalAccountsLoaded: 5000 });
    expect(days.at(0)?.businessDate).toEqual(midnight(-30));
    expect(days.slice(0, -1).every((d) => d.state === 'CLOSED')).toBe(true);
    const actions = await query<{ action: string; n: string }>(
      url,
      'SELECT "action", count(*) AS n FROM "AuditLog" GROUP BY "action" ORDER BY "action"',
    );
    expect(Object.fromEntries(actions.map((a) => [a.action, Number(a.n)]))).toEqual({
      DAY_CLOSE_CONFIRM: 30,
      DAY_CLOSE_INIT: 30,
      DAY_OPEN: 31,
      DAY_RECONCILE_START: 30,
      TRANSACTION_CREATE: 100_000,
      USER_APPROVE: 12,
    });
  });

  it('gives every row a cuid-like text id and validates both foreign keys of Transaction', async () => {
    for (const table of CRITICAL_TABLES)
      expect(
        await count(url, `SELECT count(*) AS n FROM "${table}" WHERE "id" !~ $1`, [CUID.source]),
        table,
      ).toBe(0);
    const fks = await query<{ conname: string; convalidated: boolean }>(
      url,
      `SELECT conname, convalidated FROM pg_constraint WHERE conrelid = '"Transaction"'::regclass AND contype = 'f' ORDER BY 1`,
    );
    expect(fks).toEqual([
      { conname: 'Transaction_accountId_fkey', convalidated: true },
      { conname: 'Transaction_tellerUserId_fkey', convalidated: true },
    ]);
  });

  it('dates every row in the past, the newest posting within the last hour (unless the day just began)', async () => {
    for (const table of CRITICAL_TABLES)
      expect(
        await count(url, `SELECT count(*) AS n FROM "${table}" WHERE "createdAt" > now() AT TIME ZONE 'UTC'`),
        table,
      ).toBe(0);
    const [range] = await query<{ newest: Date; oldest: Date }>(
      url,
      `SELECT max("createdAt") AS newest, min("createdAt") AS oldest FROM "Transaction"`,
    );
    const sinceOpen = Date.now() - Math.min(midnight(0).getTime() + 6 * 3_600_000, Date.now());
    if (sinceOpen > 3_600_000) expect(Date.now() - (range?.newest.getTime() ?? 0)).toBeLessThan(3_600_000);
    expect(range?.oldest.getTime()).toBeGreaterThanOrEqual(midnight(-1).getTime() + 6 * 3_600_000);
  });

  it("passes the drill's own integrity check (text ids, every foreign key, no row after now)", async () => {
    const result = await checkIntegrity(url, {
      tables: CRITICAL_TABLES,
      timestampColumn: 'createdAt',
      notAfter: new Date(),
      drillWritesFrom: null,
    });
    expect(result.problems).toEqual([]);
    expect(result.tables.find((t) => t.table === 'Transaction')?.orphans).toEqual([]);
  });

  it('refuses to seed a database that already holds accounts and changes nothing', async () => {
    await expect(seed(url, { adminPassword })).rejects.toThrow(/already holds 10000 accounts/);
    expect(await count(url, 'SELECT count(*) AS n FROM "Account"')).toBe(10_000);
    expect(await count(url, 'SELECT count(*) AS n FROM "User"')).toBe(14);
  });
});

describe('seed options and command line', () => {
  it('scales to the requested volume and finds orphans through text ids once a foreign key is bypassed', async () => {
    const url = await migrated();
    const result = await seed(url, {
      adminPassword: 'seed-admin-password',
      accounts: 40,
      transactionsPerAccount: 3,
    });
    expect(result).toMatchObject({ branches: 4, users: 14, accounts: 80, transactions: 120, dayCycles: 31 });
    // A posting whose account is gone (written with the constraints bypassed, as a bad restore might leave it).
    await query(
      url,
      `SET session_replication_role = replica;
       UPDATE "Transaction" SET "accountId" = 'cmissingaccount0000000000' WHERE "id" = (SELECT min("id") FROM "Transaction");`,
    );
    const integrity = await checkIntegrity(url, {
      tables: CRITICAL_TABLES,
      timestampColumn: 'createdAt',
      notAfter: new Date(),
      drillWritesFrom: null,
    });
    expect(integrity.problems).toEqual([
      'table "Transaction" has 1 row(s) whose accountId reference a missing "Account" row',
    ]);
  });

  it('reads the admin and its branch from ADMIN_* variables, like BT-CTS, and prints no secret', async () => {
    const url = await migrated();
    const password = 'cli-admin-password-42';
    const run = await runApp('seed.ts', {
      DATABASE_URL: url,
      ADMIN_USERNAME: 'ops.lead',
      ADMIN_PASSWORD: password,
      ADMIN_BRANCH_CODE: '0420',
      ADMIN_BRANCH_NAME: 'Operations Centre',
      ADMIN_FULL_NAME: 'Ops Lead',
      ADMIN_EMPLOYEE_ID: '7007',
      SEED_ACCOUNTS: '30',
      SEED_TRANSACTIONS_PER_ACCOUNT: '2',
    });
    expect(run.code, run.output).toBe(0);
    expect(run.output).toMatch(/seeded 4 branches, 14 users, 60 account rows/);
    expect(run.output).not.toContain(password);
    expect(run.output).not.toContain(passwordOf(url));
    const [admin] = await query<{ passwordHash: string }>(
      url,
      `SELECT u."passwordHash" FROM "User" u JOIN "Branch" b ON b."branchCode" = u."branchCode"
        WHERE u."username" = 'ops.lead' AND u."role" = 'ADMIN' AND u."status" = 'ACTIVE' AND u."fullName" = 'Ops Lead'
          AND u."employeeId" = '7007' AND b."branchCode" = '0420' AND b."branchName" = 'Operations Centre'`,
    );
    expect(await verifyPassword(password, admin?.passwordHash ?? '')).toBe(true);
    expect(await count(url, `SELECT count(*) AS n FROM "User" WHERE "username" = 'admin'`)).toBe(0);
    // Seeding twice is refused, exit 1.
    const again = await runApp('seed.ts', { DATABASE_URL: url, ADMIN_PASSWORD: password });
    expect(again.code).toBe(1);
    expect(again.output).toContain('refusing to seed it twice');
  });

  it.each([
    ['ADMIN_PASSWORD', {}, 'ADMIN_PASSWORD is not set'],
    ['a short ADMIN_PASSWORD', { ADMIN_PASSWORD: 'short' }, 'adminPassword: expected a string of at least 8'],
    [
      'a bad ADMIN_BRANCH_CODE',
      { ADMIN_PASSWORD: 'long-enough', ADMIN_BRANCH_CODE: 'no spaces' },
      'adminBranchCode',
    ],
    ['a bad SEED_ACCOUNTS', { ADMIN_PASSWORD: 'long-enough', SEED_ACCOUNTS: 'many' }, 'SEED_ACCOUNTS'],
  ])('exits 2 on %s, names it, never echoes a password and creates nothing', async (_what, env, message) => {
    const url = await migrated();
    const run = await runApp('seed.ts', { DATABASE_URL: url, ...env });
    expect(run.code).toBe(2);
    expect(run.output).toContain(message);
    expect(run.output).not.toContain('"short"');
    expect(await count(url, 'SELECT count(*) AS n FROM "User"')).toBe(0);
  });

  it.each([
    ['adminPassword', { adminPassword: 'short' }],
    ['adminUsername', { adminPassword: 'long-enough-password', adminUsername: 'x' }],
    ['accounts', { adminPassword: 'long-enough-password', accounts: 0 }],
    ['transactionsPerAccount', { adminPassword: 'long-enough-password', transactionsPerAccount: 1.5 }],
  ])('refuses a bad %s, names it and creates nothing', async (field, options) => {
    const url = await migrated();
    const error = await seed(url, options).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).field).toBe(field);
    // A rejected password is never echoed back.
    expect((error as InputError).message).not.toContain('"short"');
    expect(await count(url, 'SELECT count(*) AS n FROM "User"')).toBe(0);
  });

  it('provisions the source one migration behind, and refuses bad options before migrating anything', async () => {
    const url = await createDatabase(cluster);
    await expect(provisionSource(url, { adminPassword: 'short' })).rejects.toBeInstanceOf(InputError);
    expect(await query(url, `SELECT to_regclass('"_prisma_migrations"') AS t`)).toEqual([{ t: null }]);
    const result = await provisionSource(url, {
      adminPassword: 'provision-password',
      adminUsername: 'drill.admin',
      accounts: 20,
      transactionsPerAccount: 1,
    });
    expect(result.seed.accounts).toBe(40);
    expect(result.migrations.applied).not.toContain(result.pendingMigration);
    expect(
      await count(
        url,
        `SELECT count(*) AS n FROM "User" WHERE "username" = 'drill.admin' AND "role" = 'ADMIN'`,
      ),
    ).toBe(1);
  });
});
