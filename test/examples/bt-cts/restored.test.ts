import { readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PENDING_MIGRATION, provisionSource } from '../../../examples/bt-cts/apps/api/src/provision.ts';
import { parseConfig } from '../../../functions/core/config.ts';
import { LocalRecovery } from '../../../functions/local/local-recovery.ts';
import { postgresProcessesUnder } from '../../support/postgres.ts';
import { type AppProcess, passwordOf, query, runApp, startApp, stopAllApps, waitFor } from './support.ts';

// The whole path the runbook walks, on the local engine: a provisioned source (one migration
// behind), a full backup, writes after it, a point-in-time restore to the latest archived commit,
// then the app against the restored copy: readiness reports the drift, migrate deploy fixes it,
// the smoke checks pass and the write after the backup is there.

const INSTANCE = 'recovery-drill-btcts-test';
let root: string;
let recovery: LocalRecovery;
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

async function get(base: string, path: string, token?: string) {
  const response = await fetch(`${base}${path}`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'btcts-restored-'));
  // Under root, PostgreSQL runs as the OS user postgres, which must be able to reach the state folder.
  await chmod(root, 0o755);
  recovery = new LocalRecovery({
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
    `INSERT INTO "AuditLog" ("actor", "action", "entity") VALUES ('test', 'AFTER_BACKUP', 'Test') RETURNING "createdAt"`,
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
  const restored = await recovery.restoreToPointInTime({
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
  await recovery?.deleteInstance(INSTANCE).catch(() => undefined);
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

  it('reports the pending migration as not ready, applies it with migrate deploy, then passes every smoke check', async () => {
    const { app, base } = await startApi(restoredUrl);
    try {
      expect((await get(base, '/health')).status).toBe(200);
      const before = await get(base, '/health/ready');
      expect(before.status).toBe(503);
      expect(before.body.pending).toEqual([PENDING_MIGRATION]);

      const migrate = await runApp('migrate.ts', { DATABASE_URL: restoredUrl });
      expect(migrate.code, migrate.output).toBe(0);
      expect(migrate.output).toContain(`applied ${PENDING_MIGRATION}`);
      expect((await get(base, '/health/ready')).status).toBe(200);

      const password = await recovery.adminPassword();
      const login = await fetch(`${base}/api/auth/login`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'admin', password }),
      });
      expect(login.status).toBe(200);
      const { token, sessionId } = (await login.json()) as { token: string; sessionId: string };
      expect(await query(restoredUrl, 'SELECT 1 FROM "Session" WHERE "id" = $1', [sessionId])).toHaveLength(
        1,
      );

      const search = await get(base, '/api/accounts?search=a', token);
      expect(search.status).toBe(200);
      expect(search.body.count).toBeGreaterThan(0);
      const day = await get(base, '/api/day/current', token);
      expect(day.status).toBe(200);
      expect(day.body.status).toBe('OPEN');
    } finally {
      expect(await app.stop(), app.output()).toBe(0);
    }
    expect(app.output()).not.toContain(passwordOf(restoredUrl));
  });
});
