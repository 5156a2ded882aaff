import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PENDING_MIGRATION, provisionSource } from '../../../examples/bt-cts/apps/api/src/provision.ts';
import { createTemporaryCluster, freePort } from '../../../functions/local/cluster.ts';
import { postgresProcessesUnder } from '../../support/postgres.ts';
import {
  type AppProcess,
  createDatabase,
  passwordOf,
  query,
  runApp,
  startApp,
  stopAllApps,
} from './support.ts';

type Cluster = Awaited<ReturnType<typeof createTemporaryCluster>>;

const ADMIN_PASSWORD = 'Tr0ub4dor&3-drill';
let cluster: Cluster;

interface Api {
  readonly app: AppProcess;
  readonly base: string;
  readonly databaseUrl: string;
}

/** A provisioned source (one migration behind) and the API on a free port against it. */
async function startApi(databaseUrl: string): Promise<Api> {
  const app = startApp('server.ts', { DATABASE_URL: databaseUrl, PORT: '0' });
  const line = await app.waitForLine(/"msg":"listening"/);
  const { port } = JSON.parse(line) as { port: number };
  return { app, base: `http://127.0.0.1:${port}`, databaseUrl };
}

async function provisioned(): Promise<string> {
  const url = await createDatabase(cluster);
  await provisionSource(url, { adminPassword: ADMIN_PASSWORD, accounts: 300, transactionsPerAccount: 5 });
  return url;
}

async function call(
  api: Api,
  path: string,
  init: { method?: string; body?: unknown; token?: string } = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${api.base}${path}`, {
    method: init.method ?? 'GET',
    headers: {
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(init.token ? { authorization: `Bearer ${init.token}` } : {}),
    },
    body:
      init.body === undefined
        ? undefined
        : typeof init.body === 'string'
          ? init.body
          : JSON.stringify(init.body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function login(api: Api, password = ADMIN_PASSWORD) {
  return call(api, '/api/auth/login', { method: 'POST', body: { username: 'admin', password } });
}

async function countRows(url: string, table: string): Promise<number> {
  const [row] = await query<{ n: string }>(url, `SELECT count(*) AS n FROM "${table}"`);
  return Number(row?.n);
}

function evaluatePayload(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    backupCompletedAt: '2026-11-26T09:40:00Z',
    restorePointAt: '2026-11-26T10:00:00Z',
    restoreCompletedAt: '2026-11-26T10:25:30Z',
    targetRpoMinutes: 60,
    targetRtoMinutes: 30,
    ...overrides,
  };
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

describe('BT-CTS API', () => {
  let api: Api;

  beforeAll(async () => {
    api = await startApi(await provisioned());
  });

  it('answers GET /health with 200 while the process is up', async () => {
    const health = await call(api, '/health');
    expect(health.status).toBe(200);
    expect(health.body.status).toBe('ok');
  });

  it('answers GET /health/ready with 503 naming the pending migration, and 200 once migrate deploy ran', async () => {
    const before = await call(api, '/health/ready');
    expect(before.status).toBe(503);
    expect(before.body.pending).toEqual([PENDING_MIGRATION]);
    expect(before.body.reason).toContain(`migrations pending: ${PENDING_MIGRATION}`);

    const migrate = await runApp('migrate.ts', { DATABASE_URL: api.databaseUrl });
    expect(migrate.code, migrate.output).toBe(0);

    const after = await call(api, '/health/ready');
    expect(after.status).toBe(200);
    expect(after.body.status).toBe('ready');
  });

  it('logs the admin in, writing a Session row and a LOGIN audit row', async () => {
    const sessionsBefore = await countRows(api.databaseUrl, 'Session');
    const response = await login(api);
    expect(response.status).toBe(200);
    expect(response.body.token).toEqual(expect.any(String));
    expect(response.body.tokenType).toBe('Bearer');
    expect(await countRows(api.databaseUrl, 'Session')).toBe(sessionsBefore + 1);
    const [session] = await query<{ id: string; tokenHash: string; expiresAt: Date }>(
      api.databaseUrl,
      `SELECT "id", "tokenHash", "expiresAt" FROM "Session" WHERE "id" = $1`,
      [response.body.sessionId],
    );
    // Only a hash of the token is stored: a copy of the database cannot be used to log in.
    expect(session?.tokenHash).toMatch(/^[0-9a-f]{64}$/);
    expect(session?.tokenHash).not.toContain(String(response.body.token));
    const audit = await query(
      api.databaseUrl,
      `SELECT 1 FROM "AuditLog" WHERE "action" = 'LOGIN' AND "entityId" = $1`,
      [response.body.sessionId],
    );
    expect(audit).toHaveLength(1);
  });

  it('answers 401 to a wrong password or an unknown user and writes no session', async () => {
    const sessionsBefore = await countRows(api.databaseUrl, 'Session');
    const wrong = await login(api, 'not-the-password');
    const unknown = await call(api, '/api/auth/login', {
      method: 'POST',
      body: { username: 'nobody', password: ADMIN_PASSWORD },
    });
    expect([wrong.status, unknown.status]).toEqual([401, 401]);
    expect(wrong.body).toEqual(unknown.body);
    expect(await countRows(api.databaseUrl, 'Session')).toBe(sessionsBefore);
  });

  it.each([
    ['username', { password: 'x' }],
    ['password', { username: 'admin', password: '' }],
  ])('answers 400 naming %s when a login field is missing', async (field, body) => {
    const response = await call(api, '/api/auth/login', { method: 'POST', body });
    expect(response.status).toBe(400);
    expect(response.body.error).toMatch(new RegExp(`^${field}:`));
  });

  it('answers 400 to a login body that is not JSON', async () => {
    const response = await call(api, '/api/auth/login', { method: 'POST', body: '{"username":' });
    expect(response.status).toBe(400);
    expect(response.body.error).toMatch(/^body:/);
  });

  it('refuses account search without a session, with an unknown token or with an expired session', async () => {
    const without = await call(api, '/api/accounts?search=a');
    const bogus = await call(api, '/api/accounts?search=a', { token: 'not-a-session' });
    const { body } = await login(api);
    await query(
      api.databaseUrl,
      `UPDATE "Session" SET "expiresAt" = now() - interval '1 minute' WHERE "id" = $1`,
      [body.sessionId],
    );
    const expired = await call(api, '/api/accounts?search=a', { token: String(body.token) });
    expect([without.status, bogus.status, expired.status]).toEqual([401, 401, 401]);
  });

  it('finds accounts by holder name or number with a session', async () => {
    const { body } = await login(api);
    const token = String(body.token);
    const byName = await call(api, '/api/accounts?search=cohen', { token });
    expect(byName.status).toBe(200);
    const accounts = byName.body.accounts as { holderName: string; number: string; balance: string }[];
    expect(accounts.length).toBeGreaterThan(0);
    expect(accounts.length).toBeLessThanOrEqual(20);
    for (const account of accounts) expect(account.holderName.toLowerCase()).toContain('cohen');
    expect(accounts[0]?.balance).toMatch(/^-?\d+\.\d{2}$/);

    const byNumber = await call(api, '/api/accounts?search=BT0000000042', { token });
    expect((byNumber.body.accounts as { number: string }[]).map((a) => a.number)).toEqual(['BT0000000042']);

    const wildcard = await call(api, '/api/accounts?search=%25', { token });
    expect(wildcard.body.count).toBe(0);
  });

  it("reads today's business day as OPEN from GET /api/day/current", async () => {
    const day = await call(api, '/api/day/current');
    expect(day.status).toBe(200);
    const [today] = await query<{ date: string }>(api.databaseUrl, 'SELECT current_date::text AS date');
    expect(day.body).toMatchObject({ businessDate: today?.date, status: 'OPEN' });
    expect(Date.parse(String(day.body.openedAt))).toBeLessThanOrEqual(Date.now());
  });

  it('evaluates RPO as restorePointAt - backupCompletedAt and RTO as restoreCompletedAt - restorePointAt', async () => {
    const response = await call(api, '/api/admin/ops/recovery-evaluate', {
      method: 'POST',
      body: evaluatePayload(),
    });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      rpo: { measuredMinutes: 20, targetMinutes: 60, passed: true },
      rto: { measuredMinutes: 25.5, targetMinutes: 30, passed: true },
      passed: true,
    });
  });

  it('fails the targets the measured times exceed', async () => {
    const response = await call(api, '/api/admin/ops/recovery-evaluate', {
      method: 'POST',
      body: evaluatePayload({
        backupCompletedAt: '2026-11-26T08:30:00+00:00',
        restoreCompletedAt: '2026-11-26T12:30:00+02:00',
      }),
    });
    expect(response.status).toBe(200);
    expect(response.body).toMatchObject({
      rpo: { measuredMinutes: 90, passed: false },
      rto: { measuredMinutes: 30, passed: true },
      passed: false,
    });
  });

  it.each([
    ['backupCompletedAt', { backupCompletedAt: 'yesterday' }],
    ['restorePointAt', { restorePointAt: '2026-11-26T10:00:00' }],
    ['restoreCompletedAt', { restoreCompletedAt: '2026-02-30T10:00:00Z' }],
    ['targetRpoMinutes', { targetRpoMinutes: 0 }],
    ['targetRtoMinutes', { targetRtoMinutes: '30' }],
    ['restorePointAt', { restorePointAt: '2026-11-26T09:00:00Z' }],
    ['restoreCompletedAt', { restoreCompletedAt: '2026-11-26T09:59:00Z' }],
  ])('answers 400 naming %s when it is invalid', async (field, overrides) => {
    const response = await call(api, '/api/admin/ops/recovery-evaluate', {
      method: 'POST',
      body: evaluatePayload(overrides),
    });
    expect(response.status).toBe(400);
    expect(response.body.field).toBe(field);
    expect(response.body.error).toMatch(new RegExp(`^${field}: `));
  });

  it('answers 404 for an unknown path and 405 for a known path with the wrong method', async () => {
    expect((await call(api, '/api/nothing')).status).toBe(404);
    expect((await call(api, '/api/auth/login')).status).toBe(405);
  });

  it('stops cleanly on SIGTERM and never printed the connection string or a password', async () => {
    expect(await api.app.stop(), api.app.output()).toBe(0);
    const output = api.app.output();
    expect(output).toContain('"msg":"stopped"');
    expect(output).not.toContain(passwordOf(api.databaseUrl));
    expect(output).not.toContain(ADMIN_PASSWORD);
  });
});

describe('BT-CTS API when the database misbehaves', () => {
  it('answers 503 on readiness and login while the database cannot be reached, and 200 on /health', async () => {
    const url = new URL(cluster.url('postgres'));
    url.port = String(await freePort());
    const api = await startApi(url.toString());
    try {
      expect((await call(api, '/health')).status).toBe(200);
      const ready = await call(api, '/health/ready');
      expect(ready.status).toBe(503);
      expect(ready.body.reason).toMatch(/^database unavailable/);
      expect((await login(api)).status).toBe(503);
    } finally {
      expect(await api.app.stop(), api.app.output()).toBe(0);
    }
    expect(api.app.output()).not.toContain(passwordOf(url.toString()));
  });

  it('answers 500 when the session write fails and 503 when the database is read-only', async () => {
    const databaseUrl = await provisioned();
    const api = await startApi(databaseUrl);
    try {
      await query(
        databaseUrl,
        `CREATE FUNCTION broken_session() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'session store broken'; END $$;
         CREATE TRIGGER broken_session BEFORE INSERT ON "Session" FOR EACH ROW EXECUTE FUNCTION broken_session();`,
      );
      const broken = await login(api);
      expect(broken.status).toBe(500);
      expect(broken.body.error).toContain('session store broken');
      await query(databaseUrl, 'DROP TRIGGER broken_session ON "Session"');

      const database = new URL(databaseUrl).pathname.slice(1);
      await query(databaseUrl, `ALTER DATABASE ${database} SET default_transaction_read_only = on`);
      await query(
        databaseUrl,
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()',
        [database],
      );
      // Each pooled connection that was terminated fails one request (503, connection lost) before
      // the pool drops it; at most the pool's size of them.
      let readOnly = await login(api);
      for (let attempt = 0; attempt < 5 && !String(readOnly.body.error).includes('25006'); attempt++)
        readOnly = await login(api);
      expect(readOnly.status).toBe(503);
      expect(readOnly.body.error).toMatch(/read-only transaction.*25006/);
      expect(await countRows(databaseUrl, 'Session')).toBe(0);
    } finally {
      expect(await api.app.stop(), api.app.output()).toBe(0);
    }
  });

  it('answers 503 on readiness when an applied migration was modified afterwards', async () => {
    const databaseUrl = await provisioned();
    const migrate = await runApp('migrate.ts', { DATABASE_URL: databaseUrl });
    expect(migrate.code, migrate.output).toBe(0);
    await query(
      databaseUrl,
      `UPDATE "_prisma_migrations" SET checksum = repeat('0', 64) WHERE migration_name = $1`,
      [PENDING_MIGRATION],
    );
    const api = await startApi(databaseUrl);
    try {
      const ready = await call(api, '/health/ready');
      expect(ready.status).toBe(503);
      expect(ready.body.modified).toEqual([PENDING_MIGRATION]);
    } finally {
      expect(await api.app.stop(), api.app.output()).toBe(0);
    }
  });
});
