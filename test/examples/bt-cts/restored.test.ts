import { readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PENDING_MIGRATION, provisionSource } from '../../../examples/bt-cts/apps/api/src/provision.ts';
import { parseConfig } from '../../../functions/core/config.ts';
import { LocalEngine } from '../../../functions/local/engine.ts';
import { postgresProcessesUnder } from '../../support/postgres.ts';
import {
  type AppProcess,
  CookieClient,
  fields,
  midnight,
  passwordOf,
  query,
  runApp,
  startApp,
  stopAllApps,
  waitFor,
} from './support.ts';

// The whole path the runbook walks, on the local engine: a provisioned source (one migration
// behind), a full backup, writes after it, a point-in-time restore to the latest archived commit,
// then the app against the restored copy: ready at once (readiness checks the database and the
// session store, not migrations), migrate deploy applies the drift, the smoke checks pass over a
// real session and the write after the backup is there.

const INSTANCE = 'recovery-drill-btcts-test';
let root: string;
let recovery: LocalEngine;
let restoredUrl: string;
let markerAt: Date;

function config() {
  const committed = JSON.parse(readFileSync(resolve('recovery-drill.config.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  return parseConfig({ ...committed, local: { stateDir: join(root, 'state'), archiveTimeoutSeconds: 60 } });
}

async function startApi(databaseUrl: string): Promise<{ app: AppProcess; base: string }> {
  const app = startApp('server.ts', { DATABASE_URL: databaseUrl, PORT: '0' });
  const { port } = JSON.parse(await app.waitForLine(/"msg":"listening"/)) as { port: number };
  return { app, base: `http://127.0.0.1:${port}` };
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'btcts-restored-'));
  // Under root, PostgreSQL runs as the OS user postgres, which must be able to reach the state folder.
  await chmod(root, 0o755);
  recovery = new LocalEngine({
    config: config(),
    baseDir: root,
    trickle: false,
    // The real provisioning, at a smaller volume: this file is about the app, not the seed.
    provision: (url, { adminPassword }) =>
      provisionSource(url, { adminPassword, accounts: 300, transactionsPerAccount: 5 }),
  });
  await recovery.startSource();
  await recovery.createSnapshot('btcts-test-backup', {});
  const sourceUrl = await recovery.sourceUrl();
  if (!sourceUrl) throw new Error('the source is not running');
  const [marker] = await query<{ createdAt: Date }>(
    sourceUrl,
    `INSERT INTO "AuditLog" ("id", "action", "entityType") VALUES ('ctestafterbackup000000000', 'AFTER_BACKUP', 'TEST')
     RETURNING "createdAt"`,
  );
  markerAt = marker?.createdAt ?? new Date();
  // Archive the segment holding the marker now instead of after archive_timeout.
  await query(sourceUrl.replace(/\/[^/]*$/, '/postgres'), 'SELECT pg_switch_wal()');
  await waitFor(
    async () => ((await recovery.restorableWindow()).latest?.getTime() ?? 0) >= markerAt.getTime(),
    {
      what: 'the write after the backup to be archived',
      timeoutMs: 30_000,
    },
  );
  const restored = await recovery.recovery.restoreToPointInTime({
    instanceId: INSTANCE,
    targetTime: 'latest',
    tags: { 'recovery-drill:drill-id': 'btcts-test' },
  });
  expect(restored.status).toBe('available');
  const url = await recovery.instanceUrl(INSTANCE);
  if (!url) throw new Error('the restored instance has no URL');
  restoredUrl = url;
}, 240_000);

afterAll(async () => {
  const strays = await stopAllApps();
  await recovery?.recovery.deleteInstance(INSTANCE).catch(() => undefined);
  await recovery?.stopSource();
  await recovery?.cleanup();
  if (root) {
    expect(postgresProcessesUnder(root)).toEqual([]);
    await rm(root, { recursive: true, force: true });
  }
  expect(strays).toBe(0);
}, 120_000);

describe('BT-CTS API against a restored database', () => {
  it('holds the write made after the backup', async () => {
    const rows = await query(restoredUrl, `SELECT 1 FROM "AuditLog" WHERE "action" = 'AFTER_BACKUP'`);
    expect(rows).toHaveLength(1);
  });

  it('is ready before and after migrate deploy applies the pending migration, then passes every smoke check', async () => {
    const { app, base } = await startApi(restoredUrl);
    try {
      const client = new CookieClient(base);
      expect((await client.call('/health')).status).toBe(200);
      // Readiness does not look at migrations, as in BT-CTS: the drill's drift check does.
      expect((await client.call('/health/ready')).status).toBe(200);
      const migrate = await runApp('migrate.ts', { DATABASE_URL: restoredUrl });
      expect(migrate.code, migrate.output).toBe(0);
      expect(migrate.output).toContain(`applied ${PENDING_MIGRATION}`);
      expect((await client.call('/health/ready')).status).toBe(200);

      const password = (await recovery.adminPassword()) ?? '';
      const login = await client.login('admin', password);
      expect([login.status, fields(login.body).role]).toEqual([200, 'ADMIN']);
      expect(client.cookie).toMatch(/^connect\.sid=/);

      // Restored the same day it was seeded: today's load is there to be found.
      const search = await client.call('/api/accounts/search?q=a');
      expect(search.status).toBe(200);
      expect((search.body as unknown[]).length).toBeGreaterThan(0);
      const day = await client.call('/api/day/current');
      expect([day.status, fields(day.body).businessDate, fields(day.body).state]).toEqual([
        200,
        midnight(0).toISOString(),
        'OPEN',
      ]);
      const evaluate = await client.call('/api/admin/ops/recovery-evaluate', {
        body: {
          backupCompletedAt: new Date().toISOString(),
          restorePointAt: markerAt.toISOString(),
          restoreCompletedAt: new Date().toISOString(),
        },
      });
      expect([evaluate.status, fields(evaluate.body).overallPass]).toEqual([200, true]);
    } finally {
      expect(await app.stop(), app.output()).toBe(0);
    }
    expect(app.output()).not.toContain(passwordOf(restoredUrl));
  });
});
