/**
 * Fills a freshly migrated database with a bank's worth of data: a drill proves little against
 * empty tables, and RPO/integrity checks need rows spread over time up to the present. Everything
 * is generated in SQL (`generate_series`) in one transaction, so thousands of accounts and a
 * hundred thousand transactions take seconds, and a failed seed leaves nothing behind.
 *
 * CLI: `DATABASE_URL=... SEED_ADMIN_PASSWORD=... node --import tsx apps/api/src/seed.ts`.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { InputError } from '../../../../../functions/core/errors.ts';
import { createClient, describeError } from './db.ts';
import { hashPassword } from './passwords.ts';

export interface SeedOptions {
  /** Password of the `admin` user the drill logs in as. */
  readonly adminPassword: string;
  /** Number of accounts. @default 5000 */
  readonly accounts?: number;
  /** Transactions generated per account, spread over the last 90 days up to now. @default 20 */
  readonly transactionsPerAccount?: number;
  /** Days of closed business days before today's open one. @default 30 */
  readonly businessDays?: number;
}

export interface SeedResult {
  readonly users: number;
  readonly accounts: number;
  readonly transactions: number;
  readonly auditLogs: number;
  readonly dayStates: number;
  readonly durationMs: number;
}

export const ADMIN_USERNAME = 'admin';
const TELLERS = 5;

/** Splits a block of text on white space (names) or on new lines (phrases). */
const words = (text: string) => text.trim().split(/\s+/);
const lines = (text: string) => text.trim().split(/\s*\n\s*/);

const FIRST_NAMES = words(`
  Noa Avi Maya Daniel Tamar Yosef Sarah David Leah Ariel Hannah Jonathan Rachel Michael Dana
  Eitan Shira Omer Yael Adam Emma Lucas Olivia Mateo Sofia Liam Amelia Noah Isabella Ethan`);
const LAST_NAMES = words(`
  Cohen Levi Mizrahi Peretz Biton Dahan Avraham Friedman Azoulay Katz Shapiro Goldberg Rosen Klein
  Weiss Martin Garcia Muller Rossi Novak Jensen Silva Kowalski Dubois Hansen Smith Brown Taylor Walker Wright`);
const DESCRIPTIONS = lines(`
  Salary
  Card payment
  ATM withdrawal
  Incoming transfer
  Outgoing transfer
  Standing order
  Interest
  Utility bill
  Mortgage instalment
  Cash deposit`);

function sqlArray(values: readonly string[]): string {
  return `ARRAY[${values.map((v) => `'${v.replace(/'/g, "''")}'`).join(',')}]::text[]`;
}

function integerOption(field: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
    throw new InputError(field, value, `expected an integer from ${min} to ${max}`);
  return value;
}

/**
 * Seeds users (an `admin` with the given password, tellers, an auditor), accounts, their
 * transactions and balances, an audit trail and the business-day states (today OPEN). Refuses a
 * database that already holds accounts rather than mixing two seeds.
 */
export async function seed(databaseUrl: string, options: SeedOptions): Promise<SeedResult> {
  if (typeof options.adminPassword !== 'string' || options.adminPassword.length < 8)
    // The value itself is never echoed: it is a password.
    throw new InputError(
      'adminPassword',
      typeof options.adminPassword === 'string' ? '(hidden)' : typeof options.adminPassword,
      'expected a string of at least 8 characters',
    );
  const accounts = integerOption('accounts', options.accounts, 5000, 1, 10_000_000);
  const perAccount = integerOption('transactionsPerAccount', options.transactionsPerAccount, 20, 0, 10_000);
  const businessDays = integerOption('businessDays', options.businessDays, 30, 0, 3650);

  const started = performance.now();
  const adminHash = await hashPassword(options.adminPassword);
  // Tellers and the auditor exist for realism; nobody knows their random passwords.
  const staffHashes = await Promise.all(
    Array.from({ length: TELLERS + 1 }, () => hashPassword(crypto.randomUUID())),
  );

  const client = createClient(databaseUrl, 'bt-cts-seed');
  await client.connect();
  try {
    await client.query('BEGIN');
    const existing = await client.query<{ n: string }>('SELECT count(*) AS n FROM "Account"');
    const n = Number(existing.rows[0]?.n ?? 0);
    if (n > 0) throw new Error(`seed: the database already holds ${n} accounts; refusing to seed it twice`);

    // Users: created long ago, so every later row is newer than its actor.
    await client.query(
      `INSERT INTO "User" ("username", "displayName", "passwordHash", "role", "createdAt", "updatedAt")
       VALUES ($1, 'Operations Admin', $2, 'ADMIN', now() - interval '400 days', now() - interval '400 days')`,
      [ADMIN_USERNAME, adminHash],
    );
    await client.query(
      `INSERT INTO "User" ("username", "displayName", "passwordHash", "role", "createdAt", "updatedAt")
       SELECT CASE WHEN g <= $2 THEN 'teller' || lpad(g::text, 2, '0') ELSE 'auditor' END,
              CASE WHEN g <= $2 THEN 'Teller ' || g ELSE 'Internal Audit' END,
              ($1::text[])[g],
              (CASE WHEN g <= $2 THEN 'TELLER' ELSE 'AUDITOR' END)::"Role",
              now() - interval '380 days', now() - interval '380 days'
         FROM generate_series(1, $2 + 1) AS g`,
      [staffHashes, TELLERS],
    );

    // Accounts: opened between 30 days and ~2 years ago.
    await client.query(
      `INSERT INTO "Account" ("number", "holderName", "type", "status", "currency", "balance", "createdAt", "updatedAt")
       SELECT 'BT' || lpad(g::text, 10, '0'),
              (${sqlArray(FIRST_NAMES)})[1 + (g * 7) % ${FIRST_NAMES.length}] || ' ' ||
                (${sqlArray(LAST_NAMES)})[1 + (g * 13 + g / ${FIRST_NAMES.length}) % ${LAST_NAMES.length}],
              (CASE WHEN g % 10 < 6 THEN 'CHECKING' WHEN g % 10 < 9 THEN 'SAVINGS' ELSE 'LOAN' END)::"AccountType",
              (CASE WHEN g % 97 = 0 THEN 'FROZEN' WHEN g % 251 = 0 THEN 'CLOSED' ELSE 'ACTIVE' END)::"AccountStatus",
              (ARRAY['EUR','EUR','USD','GBP','ILS'])[1 + g % 5],
              0, opened, opened
         FROM generate_series(1, $1::int) AS g,
              LATERAL (SELECT date_trunc('milliseconds', now() - make_interval(days => 91 + (g * 37) % 700,
                                                                         secs => (g * 7919) % 86400)) AS opened) AS o`,
      [accounts],
    );

    // Transactions: for each account, one per slice of the last 90 days, the newest close to now.
    // The foreign key is checked once for the whole set (as pg_restore does) instead of row by row,
    // which more than halves the seed; inside this transaction nobody sees the table without it.
    await client.query('ALTER TABLE "Transaction" DROP CONSTRAINT "Transaction_accountId_fkey"');
    await client.query(
      `INSERT INTO "Transaction" ("accountId", "type", "amount", "reference", "description", "valueDate", "createdAt")
       SELECT s."accountId",
              (CASE WHEN random() < 0.55 THEN 'CREDIT' ELSE 'DEBIT' END)::"TransactionType",
              round((5 + random() * random() * 4000)::numeric, 2),
              'SEED-' || s."accountId" || '-' || s.g,
              (${sqlArray(DESCRIPTIONS)})[1 + floor(random() * ${DESCRIPTIONS.length})::int],
              s.at::date,
              s.at
         FROM (SELECT a."id" AS "accountId", g,
                      date_trunc('milliseconds', now() - ((g - 1 + random()) * interval '90 days' / $1::int)) AS at
                 FROM "Account" a CROSS JOIN generate_series(1, $1::int) AS g) AS s`,
      [perAccount],
    );
    await client.query(
      `ALTER TABLE "Transaction" ADD CONSTRAINT "Transaction_accountId_fkey" FOREIGN KEY ("accountId")
       REFERENCES "Account"("id") ON DELETE RESTRICT ON UPDATE CASCADE`,
    );
    await client.query(
      `UPDATE "Account" a
          SET "balance" = s.total, "updatedAt" = s.last
         FROM (SELECT "accountId",
                      sum(CASE WHEN "type" = 'CREDIT' THEN "amount" ELSE -"amount" END) AS total,
                      max("createdAt") AS last
                 FROM "Transaction" GROUP BY "accountId") AS s
        WHERE a."id" = s."accountId"`,
    );

    // Audit trail: users and accounts created, high-value postings, every business day opened and closed.
    await client.query(
      `INSERT INTO "AuditLog" ("actor", "action", "entity", "entityId", "details", "createdAt")
       SELECT 'system', 'USER_CREATED', 'User', u."id"::text, jsonb_build_object('username', u."username", 'role', u."role"), u."createdAt"
         FROM "User" u`,
    );
    await client.query(
      `INSERT INTO "AuditLog" ("actor", "action", "entity", "entityId", "details", "createdAt")
       SELECT 'teller' || lpad((1 + a."id" % ${TELLERS})::text, 2, '0'), 'ACCOUNT_OPENED', 'Account', a."id"::text,
              jsonb_build_object('number', a."number", 'type', a."type", 'currency', a."currency"), a."createdAt"
         FROM "Account" a`,
    );
    await client.query(
      `INSERT INTO "AuditLog" ("actor", "action", "entity", "entityId", "details", "createdAt")
       SELECT 'system', 'HIGH_VALUE_POSTED', 'Transaction', t."id"::text,
              jsonb_build_object('accountId', t."accountId", 'amount', t."amount", 'reference', t."reference"), t."createdAt"
         FROM "Transaction" t WHERE t."amount" >= 1500`,
    );

    // Business days: closed ones before today, today open (opened at 07:00 UTC, or now if earlier).
    await client.query(
      `INSERT INTO "DayState" ("businessDate", "status", "openedAt", "openedBy", "closedAt", "createdAt", "updatedAt")
       SELECT d::date, 'CLOSED', d + interval '7 hours', 'admin', d + interval '18 hours',
              d + interval '7 hours', d + interval '18 hours'
         FROM generate_series(current_date - $1::int, current_date - 1, interval '1 day') AS d`,
      [businessDays],
    );
    await client.query(
      `INSERT INTO "DayState" ("businessDate", "status", "openedAt", "openedBy", "createdAt", "updatedAt")
       SELECT current_date, 'OPEN', at, 'admin', at, at
         FROM (SELECT date_trunc('milliseconds', least(current_date + interval '7 hours', now()::timestamp)) AS at) AS o`,
    );
    await client.query(
      `INSERT INTO "AuditLog" ("actor", "action", "entity", "entityId", "details", "createdAt")
       SELECT 'admin', 'DAY_OPENED', 'DayState', d."id"::text, jsonb_build_object('businessDate', d."businessDate"), d."openedAt"
         FROM "DayState" d
       UNION ALL
       SELECT 'admin', 'DAY_CLOSED', 'DayState', d."id"::text, jsonb_build_object('businessDate', d."businessDate"), d."closedAt"
         FROM "DayState" d WHERE d."closedAt" IS NOT NULL`,
    );

    const counts = await client.query<
      Record<'users' | 'accounts' | 'transactions' | 'auditLogs' | 'dayStates', string>
    >(
      `SELECT (SELECT count(*) FROM "User") AS users,
              (SELECT count(*) FROM "Account") AS accounts,
              (SELECT count(*) FROM "Transaction") AS transactions,
              (SELECT count(*) FROM "AuditLog") AS "auditLogs",
              (SELECT count(*) FROM "DayState") AS "dayStates"`,
    );
    await client.query('COMMIT');
    const row = counts.rows[0];
    return {
      users: Number(row?.users),
      accounts: Number(row?.accounts),
      transactions: Number(row?.transactions),
      auditLogs: Number(row?.auditLogs),
      dayStates: Number(row?.dayStates),
      durationMs: Math.round(performance.now() - started),
    };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    await client.end().catch(() => {});
  }
}

async function main(): Promise<number> {
  const databaseUrl = process.env.DATABASE_URL;
  const adminPassword = process.env.SEED_ADMIN_PASSWORD;
  if (!databaseUrl || !adminPassword) {
    console.error('seed: DATABASE_URL and SEED_ADMIN_PASSWORD must be set');
    return 2;
  }
  const accounts = process.env.SEED_ACCOUNTS ? Number(process.env.SEED_ACCOUNTS) : undefined;
  try {
    const result = await seed(databaseUrl, { adminPassword, accounts });
    console.log(
      `seeded ${result.users} users, ${result.accounts} accounts, ${result.transactions} transactions, ` +
        `${result.auditLogs} audit rows, ${result.dayStates} business days in ${result.durationMs} ms`,
    );
    return 0;
  } catch (error) {
    console.error(`seed: ${describeError(error)}`);
    return error instanceof InputError ? 2 : 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = await main();
}
