/**
 * A steady trickle of writes (a posted transaction, its balance update and its audit row, with
 * `createdAt` = now()) while the source runs, so a drill measures RPO against live traffic rather
 * than a database that stopped changing hours ago. It survives a database restart (reconnects)
 * and stops cleanly on SIGTERM/SIGINT or when the parent that spawned it says so.
 *
 * CLI: `DATABASE_URL=... TRICKLE_INTERVAL_MS=1000 node --import tsx apps/api/src/trickle.ts`.
 */
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type pg from 'pg';
import { createClient, describeError } from './db.ts';

export interface TrickleOptions {
  /** Pause between writes. @default 1000 */
  readonly intervalMs?: number;
  /** One JSON object per event (start, outage, recovery, stop). @default none */
  readonly log?: (event: Record<string, unknown>) => void;
}

export interface Trickle {
  /** Transactions written so far. */
  readonly written: () => number;
  /** Finishes the write in flight, disconnects; idempotent. */
  stop(): Promise<void>;
}

/** One posting in one statement: a transaction on a random active account, its balance, its audit row. */
const WRITE = `
WITH pick AS (
  SELECT "id" FROM (
    (SELECT "id" FROM "Account"
      WHERE "status" = 'ACTIVE' AND "id" >= (SELECT floor(random() * max("id"))::int + 1 FROM "Account")
      ORDER BY "id" LIMIT 1)
    UNION ALL
    (SELECT "id" FROM "Account" WHERE "status" = 'ACTIVE' ORDER BY "id" LIMIT 1)
  ) AS candidates LIMIT 1
), posted AS (
  INSERT INTO "Transaction" ("accountId", "type", "amount", "reference", "description", "valueDate", "createdAt")
  SELECT pick."id",
         (CASE WHEN random() < 0.5 THEN 'CREDIT' ELSE 'DEBIT' END)::"TransactionType",
         round((1 + random() * 500)::numeric, 2),
         $1, 'Card payment', current_date, CURRENT_TIMESTAMP
    FROM pick
  RETURNING "id", "accountId", "type", "amount", "reference"
), balance AS (
  UPDATE "Account" a
     SET "balance" = a."balance" + CASE WHEN posted."type" = 'CREDIT' THEN posted."amount" ELSE -posted."amount" END,
         "updatedAt" = CURRENT_TIMESTAMP
    FROM posted WHERE a."id" = posted."accountId"
)
INSERT INTO "AuditLog" ("actor", "action", "entity", "entityId", "details", "createdAt")
SELECT 'trickle', 'TRANSACTION_POSTED', 'Transaction', posted."id"::text,
       jsonb_build_object('accountId', posted."accountId", 'amount', posted."amount", 'reference', posted."reference"),
       CURRENT_TIMESTAMP
  FROM posted`;

export function startTrickle(databaseUrl: string, options: TrickleOptions = {}): Trickle {
  const intervalMs = options.intervalMs ?? 1000;
  if (!Number.isInteger(intervalMs) || intervalMs < 10 || intervalMs > 3_600_000)
    throw new Error(`intervalMs: expected an integer from 10 to 3600000; got ${JSON.stringify(intervalMs)}`);
  const log = options.log ?? (() => {});

  let client: pg.Client | null = null;
  let written = 0;
  let stopping = false;
  let outage = false;
  let timer: NodeJS.Timeout | null = null;
  let inFlight: Promise<void> = Promise.resolve();

  async function dropClient(): Promise<void> {
    const old = client;
    client = null;
    await old?.end().catch(() => {});
  }

  async function writeOnce(): Promise<void> {
    try {
      if (!client) {
        const fresh = createClient(databaseUrl, 'bt-cts-trickle');
        // A connection that dies between writes must not crash the process: the next write reconnects.
        fresh.on('error', () => {
          if (client === fresh) client = null;
        });
        await fresh.connect();
        client = fresh;
      }
      const result = await client.query(WRITE, [`TRK-${randomUUID()}`]);
      written += result.rowCount ?? 0;
      if (outage) {
        outage = false;
        log({ level: 'info', msg: 'database reachable again, writing' });
      }
    } catch (error) {
      if (!outage) {
        outage = true;
        log({ level: 'warn', msg: 'write failed; retrying', error: describeError(error) });
      }
      await dropClient();
    }
  }

  function schedule(): void {
    if (stopping) return;
    timer = setTimeout(() => {
      timer = null;
      inFlight = writeOnce().then(schedule);
    }, intervalMs);
  }

  log({ level: 'info', msg: 'trickle started', intervalMs });
  inFlight = writeOnce().then(schedule);

  let stopped: Promise<void> | undefined;
  return {
    written: () => written,
    stop() {
      stopped ??= (async () => {
        stopping = true;
        if (timer) clearTimeout(timer);
        await inFlight;
        await dropClient();
        log({ level: 'info', msg: 'trickle stopped', written });
      })();
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
