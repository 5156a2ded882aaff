/**
 * A steady trickle of teller postings while the source runs, so a drill measures RPO against live
 * traffic rather than a database that stopped changing hours ago. Each write is what BT-CTS does
 * for a posting, in one statement: a `Transaction` with its running balance on a random account
 * of the newest load, the account's balance and version, and a `TRANSACTION_CREATE` audit row.
 * When a new day begins it plays the morning's operator once: today's load (yesterday's accounts
 * with their closing balances) and today's day cycle opened, so the account search keeps finding
 * today's accounts on a source that runs for days. It survives a database restart (reconnects)
 * and stops cleanly on SIGTERM/SIGINT or when the parent that spawned it says so.
 *
 * CLI: `DATABASE_URL=... TRICKLE_INTERVAL_MS=1000 node --import tsx apps/api/src/trickle.ts`
 * (cwd `examples/bt-cts`). Exit 0 stopped, 2 bad or missing input.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type pg from 'pg';
import { startPeriodicWriter } from '../../../../../functions/shared/periodic-writer.ts';
import { startOfToday } from './business-day.ts';
import { createClient, describeError, utc } from './db.ts';
import { SQL_NEW_ID } from './ids.ts';

export interface TrickleOptions {
  /** Pause between writes. @default 1000 */
  readonly intervalMs?: number;
  /** One JSON object per event (start, outage, recovery, new day, stop). @default none */
  readonly log?: (event: Record<string, unknown>) => void;
}

export interface Trickle {
  /** Transactions written so far. */
  readonly written: () => number;
  /** Finishes the write in flight, disconnects; idempotent. */
  stop(): Promise<void>;
}

/**
 * One posting. A withdrawal the app would refuse (restricted account, a lien, not enough money)
 * becomes a deposit; the posting number continues the branch's sequence of the day.
 */
const WRITE = `
WITH pick AS (
  SELECT a."id", a."branchCode", a."accountKey", a."loadedDate",
         round((1 + random() * 500)::numeric, 2) AS amount,
         CASE WHEN a."operationRestrictions" IS NOT NULL OR a."liens" > 0 OR random() < 0.55 THEN 'DEPOSIT'
              ELSE 'WITHDRAWAL' END AS wanted,
         a."currentBalance"
    FROM "Account" a
   WHERE a."loadedDate" = (SELECT max("loadedDate") FROM "Account")
   ORDER BY random() LIMIT 1
), kind AS (
  SELECT pick.*,
         (CASE WHEN pick.wanted = 'WITHDRAWAL' AND pick.amount <= pick."currentBalance" THEN 'WITHDRAWAL'
               ELSE 'DEPOSIT' END)::"TransactionType" AS type
    FROM pick
), teller AS (
  SELECT u."id" FROM "User" u, kind
   WHERE u."status" = 'ACTIVE' AND u."role" IN ('TELLER', 'BRANCH_MANAGER') AND u."branchCode" = kind."branchCode"
   ORDER BY random() LIMIT 1
), moved AS (
  UPDATE "Account" a
     SET "currentBalance" = a."currentBalance" + CASE WHEN kind.type = 'DEPOSIT' THEN kind.amount ELSE -kind.amount END,
         "version" = a."version" + 1,
         "updatedAt" = CURRENT_TIMESTAMP
    FROM kind WHERE a."id" = kind."id"
  RETURNING a."id", a."currentBalance" AS after
), posted AS (
  INSERT INTO "Transaction" ("id", "transactionId", "businessDate", "branchCode", "accountId", "accountKey",
                             "tellerUserId", "type", "status", "amount", "balanceBefore", "balanceAfter",
                             "referenceNote", "createdAt")
  SELECT ${SQL_NEW_ID},
         'TXN-' || kind."branchCode" || '-' || to_char(kind."loadedDate", 'YYYYMMDD') || '-' ||
           lpad((coalesce((SELECT max(substring(t."transactionId" FROM '-([0-9]+)$')::int) FROM "Transaction" t
                            WHERE t."branchCode" = kind."branchCode" AND t."businessDate" = kind."loadedDate"), 0) + 1)::text,
                6, '0'),
         kind."loadedDate", kind."branchCode", kind."id", kind."accountKey",
         coalesce((SELECT "id" FROM teller),
                  (SELECT "id" FROM "User" WHERE "role" = 'ADMIN' AND "status" = 'ACTIVE' ORDER BY "createdAt" LIMIT 1)),
         kind.type, 'COMPLETED', kind.amount,
         moved.after - CASE WHEN kind.type = 'DEPOSIT' THEN kind.amount ELSE -kind.amount END, moved.after,
         CASE WHEN kind.type = 'DEPOSIT' THEN 'Cash deposit' ELSE 'Cash withdrawal' END, CURRENT_TIMESTAMP
    FROM kind JOIN moved ON moved."id" = kind."id"
  RETURNING "transactionId", "tellerUserId", "businessDate", "branchCode", "accountKey", "type", "amount",
            "balanceBefore", "balanceAfter", "createdAt"
)
INSERT INTO "AuditLog" ("id", "userId", "action", "entityType", "entityId", "businessDate", "branchCode",
                        "beforeState", "afterState", "metadata", "createdAt")
SELECT ${SQL_NEW_ID}, p."tellerUserId", 'TRANSACTION_CREATE', 'TRANSACTION', p."transactionId", p."businessDate",
       p."branchCode", jsonb_build_object('balance', p."balanceBefore"), jsonb_build_object('balance', p."balanceAfter"),
       jsonb_build_object('accountKey', p."accountKey", 'type', p."type", 'amount', p."amount"), p."createdAt"
  FROM posted p`;

/** Serializes the morning load between trickle writers (and anything else that takes the same key). */
const NEW_DAY_LOCK = 72707370;

/**
 * Today's load and day cycle, when the newest load is older than today: every account of the
 * newest load again, opening at its closing balance; earlier days still open are closed; today's
 * day cycle opened (unless someone already opened it) with a `DAY_OPEN` audit row. Returns the
 * number of accounts loaded (0 when today was already loaded or there is nothing to load).
 */
async function loadToday(client: pg.Client, today: Date): Promise<number> {
  const todayIso = today.toISOString();
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [NEW_DAY_LOCK]);
    const loaded = await client.query(
      `INSERT INTO "Account" ("id", "branchCode", "loadedDate", "accountKey", "fullAccountNumber", "accountName",
                              "openingBalance", "currentBalance", "heldBalance", "deposits", "loans", "liens",
                              "operationRestrictions", "markers", "version", "createdAt", "updatedAt")
       SELECT ${SQL_NEW_ID}, a."branchCode", ${utc('$1')}, a."accountKey", a."fullAccountNumber", a."accountName",
              a."currentBalance", a."currentBalance", a."heldBalance", a."deposits", a."loans", a."liens",
              a."operationRestrictions", a."markers", 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP
         FROM "Account" a
        WHERE a."loadedDate" = (SELECT max("loadedDate") FROM "Account")
          AND a."loadedDate" < ${utc('$1')}
       ON CONFLICT ("accountKey", "branchCode", "loadedDate") DO NOTHING`,
      [todayIso],
    );
    const accounts = loaded.rowCount ?? 0;
    if (accounts > 0) {
      const admin = await client.query<{ id: string }>(
        `SELECT "id" FROM "User" WHERE "role" = 'ADMIN' AND "status" = 'ACTIVE' ORDER BY "createdAt" LIMIT 1`,
      );
      const adminId = admin.rows[0]?.id ?? null;
      await client.query(
        `UPDATE "DayCycle" SET "state" = 'CLOSED', "closedAt" = CURRENT_TIMESTAMP, "closedById" = $2,
                "updatedAt" = CURRENT_TIMESTAMP
          WHERE "businessDate" < ${utc('$1')} AND "state" <> 'CLOSED'`,
        [todayIso, adminId],
      );
      const opened = await client.query(
        `INSERT INTO "DayCycle" ("businessDate", "state", "branchesLoaded", "totalAccountsLoaded", "ledgerRecordCount",
                                 "openedAt", "openedById", "createdAt", "updatedAt")
         SELECT ${utc('$1')}, 'OPEN', count(DISTINCT "branchCode"), count(*), count(*), CURRENT_TIMESTAMP, $2,
                CURRENT_TIMESTAMP, CURRENT_TIMESTAMP
           FROM "Account" WHERE "loadedDate" = ${utc('$1')}
         ON CONFLICT ("businessDate") DO UPDATE
           SET "state" = 'OPEN', "branchesLoaded" = EXCLUDED."branchesLoaded",
               "totalAccountsLoaded" = EXCLUDED."totalAccountsLoaded", "ledgerRecordCount" = EXCLUDED."ledgerRecordCount",
               "openedAt" = EXCLUDED."openedAt", "openedById" = EXCLUDED."openedById", "updatedAt" = CURRENT_TIMESTAMP
           WHERE "DayCycle"."openedAt" IS NULL`,
        [todayIso, adminId],
      );
      if ((opened.rowCount ?? 0) > 0)
        await client.query(
          `INSERT INTO "AuditLog" ("id", "userId", "action", "entityType", "entityId", "businessDate",
                                   "beforeState", "afterState")
           VALUES (${SQL_NEW_ID}, $2, 'DAY_OPEN', 'DAY_CYCLE', to_char(${utc('$1')}, 'YYYY-MM-DD'), ${utc('$1')},
                   '{"state":"LOADING"}', '{"state":"OPEN"}')`,
          [todayIso, adminId],
        );
    }
    await client.query('COMMIT');
    return accounts;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
}

export function startTrickle(databaseUrl: string, options: TrickleOptions = {}): Trickle {
  const intervalMs = options.intervalMs ?? 1000;
  if (!Number.isInteger(intervalMs) || intervalMs < 10 || intervalMs > 3_600_000)
    throw new Error(`intervalMs: expected an integer from 10 to 3600000; got ${JSON.stringify(intervalMs)}`);
  const log = options.log ?? (() => {});

  let written = 0;
  /** The business day whose load was checked (epoch ms of its local midnight). */
  let checkedDay: number | null = null;
  log({ level: 'info', msg: 'trickle started', intervalMs });
  const writer = startPeriodicWriter({
    intervalMs,
    createClient: () => createClient(databaseUrl, 'bt-cts-trickle'),
    write: async (client) => {
      const today = startOfToday();
      if (checkedDay !== today.getTime()) {
        const accounts = await loadToday(client, today);
        if (accounts > 0)
          log({
            level: 'info',
            msg: 'new business day: accounts loaded',
            businessDate: today.toISOString(),
            accounts,
          });
        checkedDay = today.getTime();
      }
      const result = await client.query(WRITE);
      written += result.rowCount ?? 0;
    },
    log,
    messages: { failed: 'write failed; retrying', recovered: 'database reachable again, writing' },
    describeError,
  });

  let stopped: Promise<void> | undefined;
  return {
    written: () => written,
    stop() {
      stopped ??= writer.stop().then(() => log({ level: 'info', msg: 'trickle stopped', written }));
      return stopped;
    },
  };
}

function parseInterval(value: string | undefined): number {
  if (value === undefined || value === '') return 1000;
  const ms = Number(value);
  if (!Number.isInteger(ms) || ms < 10 || ms > 3_600_000)
    throw new Error(
      `TRICKLE_INTERVAL_MS: expected an integer from 10 to 3600000; got ${JSON.stringify(value)}`,
    );
  return ms;
}

function main(): void {
  const line = (event: Record<string, unknown>) =>
    process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...event })}\n`);
  const databaseUrl = process.env.DATABASE_URL;
  let intervalMs: number;
  try {
    if (!databaseUrl)
      throw new Error('DATABASE_URL is not set (expected postgresql://USER:PASSWORD@HOST:PORT/DB)');
    intervalMs = parseInterval(process.env.TRICKLE_INTERVAL_MS);
  } catch (error) {
    line({ level: 'error', msg: describeError(error) });
    process.exitCode = 2;
    return;
  }
  const trickle = startTrickle(databaseUrl, { intervalMs, log: line });
  const stop = (why: string) => {
    line({ level: 'info', msg: 'stopping', why });
    trickle.stop().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  // Spawned with an IPC channel: the parent says "stop", or its death closes the channel.
  if (process.send) {
    process.on('message', (message) => {
      if (message === 'stop') stop('parent asked');
    });
    process.once('disconnect', () => stop('parent gone'));
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main();
}
