import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { provisionSource } from '../../../examples/bt-cts/apps/api/src/provision.ts';
import {
  createTemporaryCluster,
  type StartedCluster,
  startCluster,
} from '../../../functions/local/cluster.ts';
import { postgresProcessesUnder } from '../../support/postgres.ts';
import { createDatabase, passwordOf, query, runApp, startApp, stopAllApps, waitFor } from './support.ts';

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

async function trickled(url: string): Promise<number> {
  const [row] = await query<{ n: string }>(
    url,
    `SELECT count(*) AS n FROM "Transaction" WHERE "reference" LIKE 'TRK-%'`,
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
  it('posts a transaction, its balance and its audit row at each interval, dated now', async () => {
    const url = await provisioned(cluster);
    const started = Date.now();
    const trickle = startApp('trickle.ts', { DATABASE_URL: url, TRICKLE_INTERVAL_MS: '50' });
    try {
      await waitFor(async () => (await trickled(url)) >= 5, { what: 'five trickled transactions' });
    } finally {
      expect(await trickle.stop()).toBe(0);
    }
    const rows = await query<{ createdAt: Date; audited: boolean }>(
      url,
      `SELECT t."createdAt",
              EXISTS (SELECT 1 FROM "AuditLog" l WHERE l."action" = 'TRANSACTION_POSTED' AND l."entityId" = t."id"::text) AS audited
         FROM "Transaction" t WHERE t."reference" LIKE 'TRK-%'`,
    );
    for (const row of rows) {
      expect(row.audited).toBe(true);
      expect(row.createdAt.getTime()).toBeGreaterThanOrEqual(started - 1000);
      expect(row.createdAt.getTime()).toBeLessThanOrEqual(Date.now());
    }
    const [books] = await query<{ off: string }>(
      url,
      `SELECT count(*) AS off FROM "Account" a
         JOIN (SELECT "accountId", sum(CASE WHEN "type" = 'CREDIT' THEN "amount" ELSE -"amount" END) AS total
                 FROM "Transaction" GROUP BY "accountId") s ON s."accountId" = a."id"
        WHERE a."balance" <> s.total`,
    );
    expect(Number(books?.off)).toBe(0);
  });

  it('stops on SIGTERM with exit code 0 and writes nothing afterwards', async () => {
    const url = await provisioned(cluster);
    const trickle = startApp('trickle.ts', { DATABASE_URL: url, TRICKLE_INTERVAL_MS: '20' });
    await waitFor(async () => (await trickled(url)) >= 3, { what: 'three trickled transactions' });
    expect(await trickle.stop()).toBe(0);
    expect(trickle.output()).toContain('"msg":"trickle stopped"');
    expect(trickle.output()).not.toContain(passwordOf(url));
    const after = await trickled(url);
    await sleep(300);
    expect(await trickled(url)).toBe(after);
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
      const trickle = startApp('trickle.ts', { DATABASE_URL: url, TRICKLE_INTERVAL_MS: '50' });
      try {
        await waitFor(async () => (await trickled(url)) >= 2, {
          what: 'trickled transactions before the restart',
        });
        await own.stop();
        await trickle.waitForLine(/"msg":"write failed; retrying"/);
        restarted = await startCluster({ dataDir: own.dataDir, password: passwordOf(url), port: own.port });
        const before = await trickled(url);
        await trickle.waitForLine(/"msg":"database reachable again, writing"/);
        await waitFor(async () => (await trickled(url)) > before, { what: 'writes after the restart' });
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
