import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { provisionSource } from '../../../examples/bt-cts/apps/api/src/provision.ts';
import { type StartedCluster, startCluster } from '../../../functions/local/cluster.ts';
import { createTemporaryCluster } from '../../../functions/local/temporary-cluster.ts';
import { postgresProcessesUnder } from '../../support/postgres.ts';
import {
  createDatabase,
  midnight,
  passwordOf,
  query,
  runApp,
  startApp,
  stopAllApps,
  waitFor,
} from './support.ts';

type Cluster = Awaited<ReturnType<typeof createTemporaryCluster>>;
let cluster: Cluster;
const dataDirs: string[] = [];

async function provisioned(on: StartedCluster): Promise<string> {
  const url = await createDatabase(on);
  await provisionSource(url, {
    adminPassword: 'trickle-admin-password',
    accounts: 50,
    transactionsPerAccount: 2,
  });
  return url;
}

/** Postings made after `since` (the trickle's; the seed's are all older). */
async function trickled(url: string, since: Date): Promise<number> {
  const [row] = await query<{ n: string }>(
    url,
    `SELECT count(*) AS n FROM "Transaction" WHERE "createdAt" >= $1`,
    [since.toISOString()],
  );
  return Number(row?.n);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  cluster = await createTemporaryCluster();
  dataDirs.push(cluster.dataDir);
});

afterAll(async () => {
  const strays = await stopAllApps();
  await cluster?.destroy();
  expect(strays).toBe(0);
  for (const dataDir of dataDirs) expect(postgresProcessesUnder(dataDir)).toEqual([]);
});

describe('trickle writer', () => {
  it("posts on today's load as a teller would: running balance, version, branch sequence and audit row", async () => {
    const url = await provisioned(cluster);
    const started = new Date(Date.now() - 1000);
    const trickle = startApp('trickle.ts', { DATABASE_URL: url, TRICKLE_INTERVAL_MS: '50' });
    try {
      await waitFor(async () => (await trickled(url, started)) >= 8, { what: 'eight trickled postings' });
    } finally {
      expect(await trickle.stop()).toBe(0);
    }
    const rows = await query<{
      transactionId: string;
      businessDate: Date;
      loadedDate: Date;
      createdAt: Date;
      tellerBranch: string;
      branchCode: string;
      audited: boolean;
    }>(
      url,
      `SELECT t."transactionId", t."businessDate", a."loadedDate", t."createdAt", u."branchCode" AS "tellerBranch", t."branchCode",
              EXISTS (SELECT 1 FROM "AuditLog" l WHERE l."action" = 'TRANSACTION_CREATE' AND l."entityId" = t."transactionId") AS audited
         FROM "Transaction" t JOIN "Account" a ON a."id" = t."accountId" JOIN "User" u ON u."id" = t."tellerUserId"
        WHERE t."createdAt" >= $1`,
      [started.toISOString()],
    );
    for (const row of rows) {
      expect(row.audited).toBe(true);
      expect(row.businessDate).toEqual(midnight(0));
      expect(row.loadedDate).toEqual(midnight(0));
      expect(row.tellerBranch).toBe(row.branchCode);
      expect(row.createdAt.getTime()).toBeLessThanOrEqual(Date.now());
    }
    // The sequence continues the seed's: unique, and without gaps per branch and day.
    const sequences = await query<{ branchCode: string; n: string; top: number }>(
      url,
      `SELECT "branchCode", count(*) AS n, max(substring("transactionId" FROM '-([0-9]+)$')::int) AS top
         FROM "Transaction" WHERE "businessDate" = $1 GROUP BY 1`,
      [midnight(0).toISOString()],
    );
    for (const s of sequences) expect(s.top).toBe(Number(s.n));
    // The books still add up: balance = opening + postings, and each posting chains on the last.
    const [books] = await query<{ off: string; broken: string }>(
      url,
      `SELECT (SELECT count(*) FROM "Account" a
                 LEFT JOIN (SELECT "accountId", sum(CASE WHEN "type" = 'DEPOSIT' THEN "amount" ELSE -"amount" END) AS total
                              FROM "Transaction" GROUP BY "accountId") s ON s."accountId" = a."id"
                WHERE a."currentBalance" <> a."openingBalance" + coalesce(s.total, 0)) AS off,
              (SELECT count(*) FROM (
                 SELECT t."balanceBefore", a."openingBalance",
                        lag(t."balanceAfter") OVER (PARTITION BY t."accountId" ORDER BY t."createdAt", t."transactionId") AS previous
                   FROM "Transaction" t JOIN "Account" a ON a."id" = t."accountId") c
                WHERE c."balanceBefore" <> coalesce(c.previous, c."openingBalance")) AS broken`,
    );
    expect([Number(books?.off), Number(books?.broken)]).toEqual([0, 0]);
    expect(
      (
        await query(url, `SELECT 1 FROM "Transaction" WHERE "balanceAfter" < 0 AND "createdAt" >= $1`, [
          started.toISOString(),
        ])
      ).length,
    ).toBe(0);
  });

  it("loads today's accounts and opens the day when the newest load is older (a source running for days)", async () => {
    const url = await provisioned(cluster);
    // What a source seeded yesterday looks like today: no load, no day cycle for today.
    const today = midnight(0).toISOString();
    await query(url, `DELETE FROM "Transaction" WHERE "businessDate" = $1`, [today]);
    await query(url, `DELETE FROM "Account" WHERE "loadedDate" = $1`, [today]);
    await query(url, `DELETE FROM "DayCycle" WHERE "businessDate" = $1`, [today]);
    await query(url, `UPDATE "DayCycle" SET "state" = 'OPEN', "closedAt" = NULL WHERE "businessDate" = $1`, [
      midnight(-1).toISOString(),
    ]);
    const started = new Date(Date.now() - 1000);
    const trickle = startApp('trickle.ts', { DATABASE_URL: url, TRICKLE_INTERVAL_MS: '50' });
    try {
      await trickle.waitForLine(/"msg":"new business day: accounts loaded".*"accounts":50/);
      await waitFor(async () => (await trickled(url, started)) >= 3, { what: 'postings on the new load' });
    } finally {
      expect(await trickle.stop()).toBe(0);
    }
    const [carried] = await query<{ n: string }>(
      url,
      `SELECT count(*) AS n FROM "Account" t JOIN "Account" y
           ON y."accountKey" = t."accountKey" AND y."branchCode" = t."branchCode" AND y."loadedDate" = $2
        WHERE t."loadedDate" = $1 AND t."openingBalance" = y."currentBalance"`,
      [midnight(0).toISOString(), midnight(-1).toISOString()],
    );
    expect(Number(carried?.n)).toBe(50);
    const days = await query<{ businessDate: Date; state: string; totalAccountsLoaded: number }>(
      url,
      `SELECT "businessDate", "state", "totalAccountsLoaded" FROM "DayCycle" WHERE "businessDate" >= $1 ORDER BY 1`,
      [midnight(-1).toISOString()],
    );
    expect(days).toEqual([
      { businessDate: midnight(-1), state: 'CLOSED', totalAccountsLoaded: 50 },
      { businessDate: midnight(0), state: 'OPEN', totalAccountsLoaded: 50 },
    ]);
    const posted = await query<{ businessDate: Date }>(
      url,
      `SELECT DISTINCT "businessDate" FROM "Transaction" WHERE "createdAt" >= $1`,
      [started.toISOString()],
    );
    expect(posted).toEqual([{ businessDate: midnight(0) }]);
    // A second writer (or a restart) loads nothing more.
    const again = startApp('trickle.ts', { DATABASE_URL: url, TRICKLE_INTERVAL_MS: '50' });
    await again.waitForLine(/"msg":"trickle started"/);
    await sleep(300);
    expect(await again.stop()).toBe(0);
    expect(again.output()).not.toContain('new business day');
    const [loads] = await query<{ n: string }>(
      url,
      `SELECT count(*) AS n FROM "Account" WHERE "loadedDate" = $1`,
      [midnight(0).toISOString()],
    );
    expect(Number(loads?.n)).toBe(50);
  });

  it('stops on SIGTERM with exit code 0 and writes nothing afterwards', async () => {
    const url = await provisioned(cluster);
    const started = new Date(Date.now() - 1000);
    const trickle = startApp('trickle.ts', { DATABASE_URL: url, TRICKLE_INTERVAL_MS: '20' });
    await waitFor(async () => (await trickled(url, started)) >= 3, { what: 'three trickled postings' });
    expect(await trickle.stop()).toBe(0);
    expect(trickle.output()).toContain('"msg":"trickle stopped"');
    expect(trickle.output()).not.toContain(passwordOf(url));
    const after = await trickled(url, started);
    await sleep(300);
    expect(await trickled(url, started)).toBe(after);
  });

  it('exits when the parent that spawned it closes the IPC channel', async () => {
    const url = await provisioned(cluster);
    const trickle = startApp('trickle.ts', { DATABASE_URL: url, TRICKLE_INTERVAL_MS: '50' }, { ipc: true });
    await trickle.waitForLine(/"msg":"trickle started"/);
    trickle.child.disconnect();
    expect(await trickle.exited()).toBe(0);
    expect(trickle.output()).toContain('parent gone');
  });

  it('reconnects and keeps writing after the database restarts', async () => {
    const own = await createTemporaryCluster();
    dataDirs.push(own.dataDir);
    let restarted: StartedCluster | undefined;
    try {
      const url = await provisioned(own);
      const started = new Date(Date.now() - 1000);
      const trickle = startApp('trickle.ts', { DATABASE_URL: url, TRICKLE_INTERVAL_MS: '50' });
      try {
        await waitFor(async () => (await trickled(url, started)) >= 2, {
          what: 'trickled postings before the restart',
        });
        await own.stop();
        await trickle.waitForLine(/"msg":"write failed; retrying"/);
        restarted = await startCluster({ dataDir: own.dataDir, password: passwordOf(url), port: own.port });
        const before = await trickled(url, started);
        await trickle.waitForLine(/"msg":"database reachable again, writing"/);
        await waitFor(async () => (await trickled(url, started)) > before, {
          what: 'writes after the restart',
        });
      } finally {
        expect(await trickle.stop()).toBe(0);
      }
    } finally {
      await restarted?.stop();
      await own.destroy();
    }
  });

  it('exits 2 naming TRICKLE_INTERVAL_MS when it is not a number of milliseconds', async () => {
    const run = await runApp('trickle.ts', { DATABASE_URL: cluster.url(), TRICKLE_INTERVAL_MS: 'soon' });
    expect(run.code).toBe(2);
    expect(run.output).toContain('TRICKLE_INTERVAL_MS');
    expect(run.output).not.toContain(passwordOf(cluster.url()));
  });
});
