/**
 * A database with BT-CTS's critical tables as the integrity step reads them (design.md, "Its
 * schema"): `User`, `Account`, `Transaction` referencing both, `AuditLog`, each row stamped
 * `createdAt` at insert. Our own minimal schema (not the example app's), so the RPO tests do not
 * depend on the example app's migrations.
 */
import pg from 'pg';

export const CRITICAL_TABLES = ['User', 'Account', 'Transaction', 'AuditLog'] as const;

const SCHEMA = `
CREATE TABLE "User" (
  id serial PRIMARY KEY,
  username text NOT NULL UNIQUE,
  "createdAt" timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE "Account" (
  id serial PRIMARY KEY,
  name text NOT NULL,
  "createdAt" timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE "Transaction" (
  id serial PRIMARY KEY,
  "accountId" int NOT NULL REFERENCES "Account" (id),
  "userId" int NOT NULL REFERENCES "User" (id),
  amount numeric(14, 2) NOT NULL,
  "createdAt" timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE "AuditLog" (
  id serial PRIMARY KEY,
  actor text NOT NULL,
  action text NOT NULL,
  "createdAt" timestamptz NOT NULL DEFAULT now()
);
`;

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Creates the four tables in the database at `url`. */
export function createCriticalTables(url: string): Promise<void> {
  return withClient(url, async (c) => {
    await c.query(SCHEMA);
  });
}

/**
 * One branch's worth of business in one transaction: a user, an account, a transaction of theirs
 * and an audit row, all stamped by the server at commit (`createdAt` default), or `at` when given
 * (a copy whose last write lies that far back).
 */
export function writeBusiness(url: string, label: string, at?: Date): Promise<void> {
  return withClient(url, async (c) => {
    const stamp = at ? at.toISOString() : null;
    await c.query('BEGIN');
    const user = await c.query<{ id: number }>(
      `INSERT INTO "User" (username, "createdAt") VALUES ($1, COALESCE($2::timestamptz, now())) RETURNING id`,
      [`teller-${label}`, stamp],
    );
    const account = await c.query<{ id: number }>(
      `INSERT INTO "Account" (name, "createdAt") VALUES ($1, COALESCE($2::timestamptz, now())) RETURNING id`,
      [`account-${label}`, stamp],
    );
    await c.query(
      `INSERT INTO "Transaction" ("accountId", "userId", amount, "createdAt") VALUES ($1, $2, 100.25, COALESCE($3::timestamptz, now()))`,
      [account.rows[0]?.id, user.rows[0]?.id, stamp],
    );
    await c.query(
      `INSERT INTO "AuditLog" (actor, action, "createdAt") VALUES ($1, 'DEPOSIT', COALESCE($2::timestamptz, now()))`,
      [`teller-${label}`, stamp],
    );
    await c.query('COMMIT');
  });
}

/** Every row of the critical tables, per table, in id order: to compare a copy with its source. */
export function criticalRows(url: string): Promise<Record<string, unknown[]>> {
  return withClient(url, async (c) => {
    await c.query("SET TIME ZONE 'UTC'");
    const out: Record<string, unknown[]> = {};
    for (const table of CRITICAL_TABLES)
      out[table] = (await c.query(`SELECT * FROM "${table}" ORDER BY id`)).rows;
    return out;
  });
}
