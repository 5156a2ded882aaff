/**
 * Fills a freshly migrated database with a bank's worth of data: a drill proves little against
 * empty tables, and the RPO and integrity checks need rows spread over time up to the present.
 * Like BT-CTS's own seed it creates the admin from `ADMIN_*` variables; beside it, branches with
 * their managers and tellers, the account loads of yesterday and today (accounts are loaded
 * afresh every business day, and the account search lists only today's load), the tellers'
 * postings with running balances, the business days, and the audit trail the app writes for all
 * of that. Everything is generated in SQL in one transaction: 100 000 postings take seconds, and a
 * failed seed leaves nothing behind.
 *
 * CLI (cwd `examples/bt-cts`):
 *   `DATABASE_URL=... ADMIN_USERNAME=admin ADMIN_PASSWORD=... node --import tsx apps/api/src/seed.ts`
 * also reads ADMIN_BRANCH_CODE, ADMIN_BRANCH_NAME, ADMIN_FULL_NAME, ADMIN_EMPLOYEE_ID, SEED_ACCOUNTS
 * and SEED_TRANSACTIONS_PER_ACCOUNT. Exit 0 seeded, 1 failed, 2 bad or missing input.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { InputError } from '../../../../../functions/core/errors.ts';
import { localMidnight } from './business-day.ts';
import { createClient, describeError, utc } from './db.ts';
import { newId, SQL_NEW_ID } from './ids.ts';
import { hashPassword } from './passwords.ts';

export interface SeedOptions {
  /** Password of the admin the drill logs in as (BT-CTS's login wants at least 8 characters). */
  readonly adminPassword: string;
  /** @default 'admin' */
  readonly adminUsername?: string;
  /** The admin's branch, the first of the seeded branches. @default '0001' */
  readonly adminBranchCode?: string;
  /** @default 'Head Office' */
  readonly adminBranchName?: string;
  /** @default 'Operations Admin' */
  readonly adminFullName?: string;
  /** @default '0000' */
  readonly adminEmployeeId?: string;
  /** Branches, the admin's included; each gets a manager and two tellers. @default 4 */
  readonly branches?: number;
  /** Accounts, each loaded twice: yesterday and today. @default 5000 */
  readonly accounts?: number;
  /** Postings per account, spread over yesterday's business hours and today up to now. @default 20 */
  readonly transactionsPerAccount?: number;
  /** Closed business days before today (yesterday included). @default 30 */
  readonly businessDays?: number;
}

export interface SeedResult {
  readonly branches: number;
  readonly users: number;
  /** Account rows: one per account and load (yesterday's and today's). */
  readonly accounts: number;
  readonly transactions: number;
  readonly auditLogs: number;
  readonly dayCycles: number;
  readonly durationMs: number;
}

export const DEFAULT_ADMIN_USERNAME = 'admin';
const DEFAULTS = {
  adminBranchCode: '0001',
  adminBranchName: 'Head Office',
  adminFullName: 'Operations Admin',
  adminEmployeeId: '0000',
};
/** Cost of the staff's hashes: nobody knows their random passwords, so the seed need not pay 12. */
const STAFF_COST = 8;

/** Splits a block of text on white space (names) or on new lines (phrases). */
const words = (text: string) => text.trim().split(/\s+/);
const lines = (text: string) => text.trim().split(/\s*\n\s*/);

const FIRST_NAMES = words(`
  Noa Avi Maya Daniel Tamar Yosef Sarah David Leah Ariel Hannah Jonathan Rachel Michael Dana
  Eitan Shira Omer Yael Adam Emma Lucas Olivia Mateo Sofia Liam Amelia Noah Isabella Ethan`);
const LAST_NAMES = words(`
  Cohen Levi Mizrahi Peretz Biton Dahan Avraham Friedman Azoulay Katz Shapiro Goldberg Rosen Klein
  Weiss Martin Garcia Muller Rossi Novak Jensen Silva Kowalski Dubois Hansen Smith Brown Taylor Walker Wright`);
const BRANCH_NAMES = lines(`
  Harbour Road
  Old City
  University Square
  Market Street
  Riverside
  North Gate
  Station Plaza
  Hillcrest`);
const NOTES = lines(`
  Cash deposit
  Cash withdrawal
  Salary cheque
  Rent
  Pension
  Cheque deposit
  Counter withdrawal
  Standing order refund`);

function sqlArray(values: readonly string[]): string {
  return `ARRAY[${values.map((v) => `'${v.replace(/'/g, "''")}'`).join(',')}]::text[]`;
}

function integerOption(field: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max)
    throw new InputError(field, value, `expected an integer from ${min} to ${max}`);
  return value;
}

function textOption(
  field: string,
  value: unknown,
  fallback: string,
  pattern: RegExp,
  expected: string,
): string {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !pattern.test(value)) throw new InputError(field, value, expected);
  return value;
}

/** Seed options with their defaults applied. */
export interface ResolvedSeedOptions {
  readonly adminPassword: string;
  readonly adminUsername: string;
  readonly adminBranchCode: string;
  readonly adminBranchName: string;
  readonly adminFullName: string;
  readonly adminEmployeeId: string;
  readonly branches: number;
  readonly accounts: number;
  readonly perAccount: number;
  readonly businessDays: number;
}

/** Checks every option (an InputError naming the first bad one) and applies the defaults. */
export function resolveSeedOptions(options: SeedOptions): ResolvedSeedOptions {
  if (typeof options.adminPassword !== 'string' || options.adminPassword.length < 8)
    // The value itself is never echoed: it is a password.
    throw new InputError(
      'adminPassword',
      typeof options.adminPassword === 'string' ? '(hidden)' : typeof options.adminPassword,
      'expected a string of at least 8 characters (BT-CTS refuses shorter passwords at login)',
    );
  return {
    adminPassword: options.adminPassword,
    adminUsername: textOption(
      'adminUsername',
      options.adminUsername,
      DEFAULT_ADMIN_USERNAME,
      /^[A-Za-z0-9._@-]{3,64}$/,
      'expected 3 to 64 letters, digits or . _ @ - (BT-CTS refuses shorter usernames at login)',
    ),
    adminBranchCode: textOption(
      'adminBranchCode',
      options.adminBranchCode,
      DEFAULTS.adminBranchCode,
      /^[A-Za-z0-9]{1,16}$/,
      'expected 1 to 16 letters or digits',
    ),
    adminBranchName: textOption(
      'adminBranchName',
      options.adminBranchName,
      DEFAULTS.adminBranchName,
      /^\S.{0,99}$/,
      'expected a name of 1 to 100 characters',
    ),
    adminFullName: textOption(
      'adminFullName',
      options.adminFullName,
      DEFAULTS.adminFullName,
      /^\S.{1,99}$/,
      'expected a name of 2 to 100 characters',
    ),
    adminEmployeeId: textOption(
      'adminEmployeeId',
      options.adminEmployeeId,
      DEFAULTS.adminEmployeeId,
      /^[A-Za-z0-9-]{2,32}$/,
      'expected 2 to 32 letters, digits or -',
    ),
    branches: integerOption('branches', options.branches, 4, 1, BRANCH_NAMES.length + 1),
    accounts: integerOption('accounts', options.accounts, 5000, 1, 1_000_000),
    perAccount: integerOption('transactionsPerAccount', options.transactionsPerAccount, 20, 0, 1000),
    businessDays: integerOption('businessDays', options.businessDays, 30, 1, 3650),
  };
}

/** The admin's branch first, then codes 0001, 0002, ... that it does not already use. */
function branchCodes(adminCode: string, count: number): string[] {
  const codes = [adminCode];
  for (let n = 1; codes.length < count; n++) {
    const code = String(n).padStart(4, '0');
    if (code !== adminCode) codes.push(code);
  }
  return codes;
}

interface StaffRow {
  readonly id: string;
  readonly username: string;
  readonly fullName: string;
  readonly employeeId: string;
  readonly role: 'BRANCH_MANAGER' | 'TELLER' | 'NONE';
  readonly status: 'ACTIVE' | 'PENDING_APPROVAL';
  readonly branchCode: string;
  /** Posts at the counter (managers and tellers), numbered 1..3 within the branch. */
  readonly counter: number | null;
}

function staffOf(codes: readonly string[]): StaffRow[] {
  const staff: StaffRow[] = [];
  let employee = 1000;
  const person = () => {
    employee += 1;
    const first = FIRST_NAMES[(employee * 7) % FIRST_NAMES.length];
    const last = LAST_NAMES[(employee * 13) % LAST_NAMES.length];
    return { fullName: `${first} ${last}`, employeeId: String(employee) };
  };
  for (const code of codes) {
    staff.push({
      id: newId(),
      username: `manager.${code}`,
      ...person(),
      role: 'BRANCH_MANAGER',
      status: 'ACTIVE',
      branchCode: code,
      counter: 1,
    });
    for (const n of [1, 2])
      staff.push({
        id: newId(),
        username: `teller.${code}.${n}`,
        ...person(),
        role: 'TELLER',
        status: 'ACTIVE',
        branchCode: code,
        counter: n + 1,
      });
  }
  // Someone who registered and waits for approval: no role yet, cannot log in.
  staff.push({
    id: newId(),
    username: `applicant.${codes[0]}`,
    ...person(),
    role: 'NONE',
    status: 'PENDING_APPROVAL',
    branchCode: codes[0] ?? DEFAULTS.adminBranchCode,
    counter: null,
  });
  return staff;
}

const HOUR = 3_600_000;

/**
 * Seeds branches, the admin (ADMIN, ACTIVE) and staff, yesterday's and today's account loads, the
 * postings with balances that add up, the business days (today OPEN) and the audit trail. Refuses
 * a database that already holds accounts rather than mixing two seeds; the admin, like BT-CTS's
 * seed does, is created or brought back to ADMIN/ACTIVE with the given password.
 */
export async function seed(databaseUrl: string, options: SeedOptions): Promise<SeedResult> {
  const o = resolveSeedOptions(options);
  const started = performance.now();
  const codes = branchCodes(o.adminBranchCode, o.branches);
  const branchNames = [o.adminBranchName, ...BRANCH_NAMES.slice(0, o.branches - 1)];
  const staff = staffOf(codes);
  const adminHash = await hashPassword(o.adminPassword);
  const staffHashes: string[] = [];
  // One at a time: bcryptjs runs on this thread, so parallel hashes would take as long.
  for (let i = 0; i < staff.length; i++)
    staffHashes.push(await hashPassword(crypto.randomUUID(), STAFF_COST));

  // Times, in the process's time zone as the app sees days, sent to PostgreSQL as instants.
  const now = new Date();
  const today = localMidnight(0, now);
  const yesterday = localMidnight(-1, now);
  // Yesterday: loaded and opened at 06:00, postings until 17:00, closed at 18:00.
  const yesterdayOpen = new Date(yesterday.getTime() + 6 * HOUR);
  const yesterdayWindow = 11 * HOUR;
  // Today: loaded and opened at 06:00 (or now, when the seed runs earlier), postings until now.
  const todayOpen = new Date(Math.min(today.getTime() + 6 * HOUR, now.getTime()));
  const todayWindow = now.getTime() - todayOpen.getTime();
  const closedDays = Array.from({ length: o.businessDays }, (_, i) =>
    localMidnight(i - o.businessDays, now).toISOString(),
  );

  const client = createClient(databaseUrl, 'bt-cts-seed');
  await client.connect();
  try {
    await client.query('BEGIN');
    const existing = await client.query<{ n: string }>('SELECT count(*) AS n FROM "Account"');
    const n = Number(existing.rows[0]?.n ?? 0);
    if (n > 0) throw new Error(`seed: the database already holds ${n} accounts; refusing to seed it twice`);

    await client.query(
      `INSERT INTO "Branch" ("branchCode", "branchName", "status", "createdAt", "updatedAt")
       SELECT code, name, 'ACTIVE', ${utc('$3')} - interval '420 days', ${utc('$3')} - interval '420 days'
         FROM unnest($1::text[], $2::text[]) AS b(code, name)
       ON CONFLICT ("branchCode") DO UPDATE
         SET "branchName" = EXCLUDED."branchName", "status" = 'ACTIVE', "updatedAt" = ${utc('$3')}`,
      [codes, branchNames, now.toISOString()],
    );
    const admin = await client.query<{ id: string }>(
      `INSERT INTO "User" ("id", "username", "passwordHash", "fullName", "employeeId", "role", "status",
                           "branchCode", "createdAt", "updatedAt")
       VALUES ($1, $2, $3, $4, $5, 'ADMIN', 'ACTIVE', $6, ${utc('$7')} - interval '400 days', ${utc('$7')} - interval '400 days')
       ON CONFLICT ("username") DO UPDATE
         SET "passwordHash" = EXCLUDED."passwordHash", "fullName" = EXCLUDED."fullName",
             "employeeId" = EXCLUDED."employeeId", "role" = 'ADMIN', "status" = 'ACTIVE',
             "branchCode" = EXCLUDED."branchCode", "failedLoginCount" = 0, "lockedUntil" = NULL,
             "updatedAt" = ${utc('$7')}
       RETURNING "id"`,
      [
        newId(),
        o.adminUsername,
        adminHash,
        o.adminFullName,
        o.adminEmployeeId,
        o.adminBranchCode,
        now.toISOString(),
      ],
    );
    const adminId = admin.rows[0]?.id;
    await client.query(
      `INSERT INTO "User" ("id", "username", "passwordHash", "fullName", "employeeId", "role", "status",
                           "branchCode", "createdAt", "updatedAt")
       SELECT id, username, hash, name, employee, role::"UserRole", status::"UserStatus", branch,
              ${utc('$9')} - make_interval(days => 380 - ord::int), ${utc('$9')} - make_interval(days => 380 - ord::int)
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
              WITH ORDINALITY AS s(id, username, hash, name, employee, role, status, branch, ord)`,
      [
        staff.map((s) => s.id),
        staff.map((s) => s.username),
        staffHashes,
        staff.map((s) => s.fullName),
        staff.map((s) => s.employeeId),
        staff.map((s) => s.role),
        staff.map((s) => s.status),
        staff.map((s) => s.branchCode),
        now.toISOString(),
      ],
    );
    const counters = staff.filter((s) => s.counter !== null);
    await client.query(
      `CREATE TEMP TABLE seed_counter ON COMMIT DROP AS
       SELECT * FROM unnest($1::text[], $2::text[], $3::int[]) AS c("branchCode", "userId", n)`,
      [counters.map((s) => s.branchCode), counters.map((s) => s.id), counters.map((s) => s.counter)],
    );

    // The accounts: what stays the same from one day's load to the next.
    await client.query(
      `CREATE TEMP TABLE seed_account ON COMMIT DROP AS
       SELECT g,
              ($2::text[])[1 + (g - 1) % cardinality($2::text[])] AS "branchCode",
              lpad(g::text, 7, '0') AS "accountKey",
              (${sqlArray(FIRST_NAMES)})[1 + (g * 7) % ${FIRST_NAMES.length}] || ' ' ||
                (${sqlArray(LAST_NAMES)})[1 + (g * 13 + g / ${FIRST_NAMES.length}) % ${LAST_NAMES.length}] AS "accountName",
              CASE WHEN g % 53 = 0 THEN 'NO DEBITS: COURT ORDER'
                   WHEN g % 89 = 0 THEN 'FROZEN: HOLDER DECEASED' END AS "operationRestrictions",
              CASE WHEN g % 37 = 0 THEN round((500 + random() * 20000)::numeric, 2) ELSE 0 END AS liens,
              CASE WHEN g % 11 = 0 THEN 'VIP' WHEN g % 29 = 0 THEN 'PAYROLL' END AS markers,
              CASE WHEN g % 7 = 0 THEN round((random() * 2000)::numeric, 2) ELSE 0 END AS "heldBalance",
              round((random() * random() * 80000)::numeric, 2) AS deposits,
              CASE WHEN g % 5 = 0 THEN round((random() * 150000)::numeric, 2) ELSE 0 END AS loans,
              round((1000 + random() * 30000)::numeric, 2) AS cushion
         FROM generate_series(1, $1::int) AS g`,
      [o.accounts, codes],
    );
    // The postings: spread over yesterday's business hours and today's so far. A restricted
    // account or one with a lien takes deposits only, as the app refuses withdrawals from them.
    await client.query(
      `CREATE TEMP TABLE seed_posting ON COMMIT DROP AS
       SELECT p.g, p.i, p.day,
              date_trunc('milliseconds', CASE WHEN p.day = 0 THEN ${utc('$3')} + p.x * interval '1 millisecond'
                                              ELSE ${utc('$5')} + (p.x - $4::float8) * interval '1 millisecond' END) AS at,
              (CASE WHEN a."operationRestrictions" IS NOT NULL OR a.liens > 0 OR random() < 0.55
                    THEN 'DEPOSIT' ELSE 'WITHDRAWAL' END)::"TransactionType" AS type,
              round((5 + random() * random() * 4000)::numeric, 2) AS amount,
              (${sqlArray(NOTES)})[1 + floor(random() * ${NOTES.length})::int] AS note,
              1 + (p.g + p.i) % 3 AS counter
         FROM (SELECT g, i, x, CASE WHEN x < $4::float8 THEN 0 ELSE 1 END AS day
                 FROM (SELECT g, i, (i - 1 + random()) * ($4::float8 + $6::float8) / $2::int AS x
                         FROM generate_series(1, $1::int) AS g CROSS JOIN generate_series(1, $2::int) AS i) AS r
              ) AS p
         JOIN seed_account a USING (g)`,
      [
        o.accounts,
        Math.max(o.perAccount, 1),
        yesterdayOpen.toISOString(),
        yesterdayWindow,
        todayOpen.toISOString(),
        todayWindow,
      ],
    );
    if (o.perAccount === 0) await client.query('TRUNCATE seed_posting');

    // Each day's load: yesterday opens with enough to cover every withdrawal, today opens with
    // yesterday's closing balance; the version counts the postings, as the app bumps it on each.
    await client.query(
      `CREATE TEMP TABLE seed_load ON COMMIT DROP AS
       WITH s AS (
         SELECT a.g, a.cushion,
                coalesce(sum(CASE WHEN p.type = 'WITHDRAWAL' THEN p.amount END), 0) AS withdrawn,
                coalesce(sum(CASE WHEN p.day = 0 THEN CASE WHEN p.type = 'DEPOSIT' THEN p.amount ELSE -p.amount END END), 0) AS d0,
                coalesce(sum(CASE WHEN p.day = 1 THEN CASE WHEN p.type = 'DEPOSIT' THEN p.amount ELSE -p.amount END END), 0) AS d1,
                count(p.i) FILTER (WHERE p.day = 0) AS n0, count(p.i) FILTER (WHERE p.day = 1) AS n1,
                max(p.at) FILTER (WHERE p.day = 0) AS last0, max(p.at) FILTER (WHERE p.day = 1) AS last1
           FROM seed_account a LEFT JOIN seed_posting p USING (g) GROUP BY a.g, a.cushion)
       SELECT ${SQL_NEW_ID} AS id, s.g, 0 AS day, ${utc('$1')} AS "loadedDate", ${utc('$2')} AS "loadedAt",
              s.cushion + s.withdrawn AS opening, s.cushion + s.withdrawn + s.d0 AS current,
              1 + s.n0 AS version, coalesce(s.last0, ${utc('$2')}) AS "updatedAt"
         FROM s
       UNION ALL
       SELECT ${SQL_NEW_ID}, s.g, 1, ${utc('$3')}, ${utc('$4')},
              s.cushion + s.withdrawn + s.d0, s.cushion + s.withdrawn + s.d0 + s.d1,
              1 + s.n1, coalesce(s.last1, ${utc('$4')})
         FROM s`,
      [yesterday.toISOString(), yesterdayOpen.toISOString(), today.toISOString(), todayOpen.toISOString()],
    );
    await client.query(
      `INSERT INTO "Account" ("id", "branchCode", "loadedDate", "accountKey", "fullAccountNumber", "accountName",
                              "openingBalance", "currentBalance", "heldBalance", "deposits", "loans", "liens",
                              "operationRestrictions", "markers", "version", "createdAt", "updatedAt")
       SELECT l.id, a."branchCode", l."loadedDate", a."accountKey", a."branchCode" || '-' || a."accountKey",
              a."accountName", l.opening, l.current, a."heldBalance", a.deposits, a.loans, a.liens,
              a."operationRestrictions", a.markers, l.version, l."loadedAt", l."updatedAt"
         FROM seed_load l JOIN seed_account a USING (g)`,
    );

    // Foreign keys are checked once for the whole set (as pg_restore does) rather than row by
    // row; inside this transaction nobody sees the table without them.
    await client.query(
      'ALTER TABLE "Transaction" DROP CONSTRAINT "Transaction_accountId_fkey", DROP CONSTRAINT "Transaction_tellerUserId_fkey"',
    );
    await client.query(
      `INSERT INTO "Transaction" ("id", "transactionId", "businessDate", "branchCode", "accountId", "accountKey",
                                  "tellerUserId", "type", "status", "amount", "balanceBefore", "balanceAfter",
                                  "referenceNote", "createdAt")
       SELECT ${SQL_NEW_ID},
              'TXN-' || a."branchCode" || '-' || to_char(l."loadedDate", 'YYYYMMDD') || '-' ||
                lpad((row_number() OVER (PARTITION BY a."branchCode", p.day ORDER BY p.at, p.g, p.i))::text, 6, '0'),
              l."loadedDate", a."branchCode", l.id, a."accountKey", c."userId", p.type, 'COMPLETED', p.amount,
              l.opening + coalesce(sum(CASE WHEN p.type = 'DEPOSIT' THEN p.amount ELSE -p.amount END)
                OVER (PARTITION BY p.g, p.day ORDER BY p.at, p.i ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0),
              l.opening + sum(CASE WHEN p.type = 'DEPOSIT' THEN p.amount ELSE -p.amount END)
                OVER (PARTITION BY p.g, p.day ORDER BY p.at, p.i ROWS UNBOUNDED PRECEDING),
              p.note, p.at
         FROM seed_posting p
         JOIN seed_account a USING (g)
         JOIN seed_load l ON l.g = p.g AND l.day = p.day
         JOIN seed_counter c ON c."branchCode" = a."branchCode" AND c.n = p.counter`,
    );
    await client.query(
      `ALTER TABLE "Transaction"
         ADD CONSTRAINT "Transaction_accountId_fkey" FOREIGN KEY ("accountId") REFERENCES "Account"("id") ON DELETE RESTRICT ON UPDATE CASCADE,
         ADD CONSTRAINT "Transaction_tellerUserId_fkey" FOREIGN KEY ("tellerUserId") REFERENCES "User"("id") ON DELETE RESTRICT ON UPDATE CASCADE`,
    );

    // Business days: the closed ones up to yesterday, today open.
    await client.query(
      `INSERT INTO "DayCycle" ("businessDate", "state", "branchesLoaded", "totalAccountsLoaded", "ledgerRecordCount",
                               "openedAt", "openedById", "closedAt", "closedById", "createdAt", "updatedAt")
       SELECT d, 'CLOSED'::"DayState", $2::int, $3::int, $3::int, d + interval '6 hours', $4, d + interval '18 hours', $4,
              d + interval '6 hours', d + interval '18 hours'
         FROM (SELECT (day::timestamptz AT TIME ZONE 'UTC') AS d FROM unnest($1::text[]) AS day) AS days
       UNION ALL
       SELECT ${utc('$5')}, 'OPEN'::"DayState", $2::int, $3::int, $3::int, ${utc('$6')}, $4, NULL, NULL, ${utc('$6')}, ${utc('$6')}`,
      [closedDays, codes.length, o.accounts, adminId, today.toISOString(), todayOpen.toISOString()],
    );

    // The audit trail the app writes: staff approved, each business day's transitions, each posting.
    await client.query(
      `INSERT INTO "AuditLog" ("id", "userId", "action", "entityType", "entityId", "branchCode", "afterState", "createdAt")
       SELECT ${SQL_NEW_ID}, $1, 'USER_APPROVE', 'USER', u."id", u."branchCode",
              jsonb_build_object('role', u."role", 'status', u."status", 'branchCode', u."branchCode"),
              u."createdAt" + interval '1 day'
         FROM "User" u WHERE u."status" = 'ACTIVE' AND u."id" <> $1`,
      [adminId],
    );
    await client.query(
      `INSERT INTO "AuditLog" ("id", "userId", "action", "entityType", "entityId", "businessDate",
                               "beforeState", "afterState", "createdAt")
       SELECT ${SQL_NEW_ID}, $1, t.action, 'DAY_CYCLE', to_char(d."businessDate", 'YYYY-MM-DD'), d."businessDate",
              jsonb_build_object('state', t.before), jsonb_build_object('state', t.after), t.at
         FROM "DayCycle" d
        CROSS JOIN LATERAL (VALUES
              ('DAY_OPEN', 'LOADING', 'OPEN', d."openedAt"),
              ('DAY_CLOSE_INIT', 'OPEN', 'CLOSING', d."closedAt" - interval '1 hour'),
              ('DAY_RECONCILE_START', 'CLOSING', 'RECONCILING', d."closedAt" - interval '30 minutes'),
              ('DAY_CLOSE_CONFIRM', 'RECONCILING', 'CLOSED', d."closedAt")) AS t(action, before, after, at)
        WHERE t.at IS NOT NULL`,
      [adminId],
    );
    await client.query(
      `INSERT INTO "AuditLog" ("id", "userId", "action", "entityType", "entityId", "businessDate", "branchCode",
                               "beforeState", "afterState", "metadata", "createdAt")
       SELECT ${SQL_NEW_ID}, t."tellerUserId", 'TRANSACTION_CREATE', 'TRANSACTION', t."transactionId", t."businessDate",
              t."branchCode", jsonb_build_object('balance', t."balanceBefore"), jsonb_build_object('balance', t."balanceAfter"),
              jsonb_build_object('accountKey', t."accountKey", 'type', t."type", 'amount', t."amount"), t."createdAt"
         FROM "Transaction" t`,
    );

    const counts = await client.query<
      Record<'branches' | 'users' | 'accounts' | 'transactions' | 'auditLogs' | 'dayCycles', string>
    >(
      `SELECT (SELECT count(*) FROM "Branch") AS branches,
              (SELECT count(*) FROM "User") AS users,
              (SELECT count(*) FROM "Account") AS accounts,
              (SELECT count(*) FROM "Transaction") AS transactions,
              (SELECT count(*) FROM "AuditLog") AS "auditLogs",
              (SELECT count(*) FROM "DayCycle") AS "dayCycles"`,
    );
    await client.query('COMMIT');
    const row = counts.rows[0];
    return {
      branches: Number(row?.branches),
      users: Number(row?.users),
      accounts: Number(row?.accounts),
      transactions: Number(row?.transactions),
      auditLogs: Number(row?.auditLogs),
      dayCycles: Number(row?.dayCycles),
      durationMs: Math.round(performance.now() - started),
    };
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    await client.end().catch(() => {});
  }
}

function envInteger(name: string): number | undefined {
  const value = process.env[name];
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isInteger(n)) throw new InputError(name, value, 'expected an integer');
  return n;
}

async function main(): Promise<number> {
  const env = process.env;
  const databaseUrl = env.DATABASE_URL;
  const adminPassword = env.ADMIN_PASSWORD;
  if (!databaseUrl || !adminPassword) {
    console.error(
      `seed: ${!databaseUrl ? 'DATABASE_URL' : 'ADMIN_PASSWORD'} is not set ` +
        '(expected DATABASE_URL=postgresql://USER:PASSWORD@HOST:PORT/DB and ADMIN_PASSWORD, at least 8 characters)',
    );
    return 2;
  }
  const optional = (name: string) => (env[name] === undefined || env[name] === '' ? undefined : env[name]);
  try {
    const result = await seed(databaseUrl, {
      adminPassword,
      adminUsername: optional('ADMIN_USERNAME'),
      adminBranchCode: optional('ADMIN_BRANCH_CODE'),
      adminBranchName: optional('ADMIN_BRANCH_NAME'),
      adminFullName: optional('ADMIN_FULL_NAME'),
      adminEmployeeId: optional('ADMIN_EMPLOYEE_ID'),
      accounts: envInteger('SEED_ACCOUNTS'),
      transactionsPerAccount: envInteger('SEED_TRANSACTIONS_PER_ACCOUNT'),
    });
    console.log(
      `seeded ${result.branches} branches, ${result.users} users, ${result.accounts} account rows ` +
        `(yesterday's and today's loads), ${result.transactions} transactions, ${result.auditLogs} audit rows, ` +
        `${result.dayCycles} business days in ${result.durationMs} ms`,
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
