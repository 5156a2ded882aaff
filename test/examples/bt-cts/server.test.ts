import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { provisionSource } from '../../../examples/bt-cts/apps/api/src/provision.ts';
import { type RunningServer, startServer } from '../../../examples/bt-cts/apps/api/src/server.ts';
import { freePort } from '../../../functions/local/cluster.ts';
import { createTemporaryCluster } from '../../../functions/local/temporary-cluster.ts';
import { postgresProcessesUnder } from '../../support/postgres.ts';
import {
  CookieClient,
  createDatabase,
  createUser,
  fields,
  midnight,
  passwordOf,
  query,
  startApp,
  stopAllApps,
  type TestUser,
} from './support.ts';

type Cluster = Awaited<ReturnType<typeof createTemporaryCluster>>;

const ADMIN_PASSWORD = 'Tr0ub4dor&3-drill';
const SECRET = 'server-test-session-secret';
let cluster: Cluster;

interface Api {
  readonly server: RunningServer;
  readonly base: string;
  readonly databaseUrl: string;
  readonly logs: Record<string, unknown>[];
}

const servers: Api[] = [];

async function startApi(databaseUrl: string): Promise<Api> {
  const logs: Record<string, unknown>[] = [];
  const server = await startServer({
    databaseUrl,
    port: 0,
    sessionSecret: SECRET,
    log: (event) => logs.push(event),
  });
  const api = { server, base: `http://127.0.0.1:${server.port}`, databaseUrl, logs };
  servers.push(api);
  return api;
}

async function provisioned(): Promise<string> {
  const url = await createDatabase(cluster);
  await provisionSource(url, { adminPassword: ADMIN_PASSWORD, accounts: 300, transactionsPerAccount: 4 });
  return url;
}

async function countRows(url: string, sql: string, params: unknown[] = []): Promise<number> {
  const [row] = await query<{ n: string }>(url, sql, params);
  return Number(row?.n);
}

function evaluatePayload(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    backupCompletedAt: '2026-11-26T10:00:00Z',
    restorePointAt: '2026-11-26T09:40:00Z',
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
  await Promise.all(servers.map((s) => s.server.close()));
  const strays = await stopAllApps();
  await cluster?.destroy();
  expect(strays).toBe(0);
  if (cluster) expect(postgresProcessesUnder(cluster.dataDir)).toEqual([]);
});

describe('BT-CTS API over real sessions', () => {
  let api: Api;
  let admin: CookieClient;
  let adminId: string;
  let teller: TestUser;
  let manager: TestUser;
  let noRole: TestUser;

  beforeAll(async () => {
    api = await startApi(await provisioned());
    teller = await createUser(api.databaseUrl, {
      username: 'test.teller',
      role: 'TELLER',
      branchCode: '0002',
    });
    manager = await createUser(api.databaseUrl, {
      username: 'test.manager',
      role: 'BRANCH_MANAGER',
      branchCode: '0003',
    });
    noRole = await createUser(api.databaseUrl, { username: 'test.norole', role: 'NONE' });
    admin = new CookieClient(api.base);
    const login = await admin.login('admin', ADMIN_PASSWORD);
    expect(login.status).toBe(200);
    adminId = String(fields(login.body).id);
  });

  it('answers GET /health with 200 {"status":"ok"}', async () => {
    const health = await new CookieClient(api.base).call('/health');
    expect([health.status, health.body]).toEqual([200, { status: 'ok' }]);
  });

  it('is ready when SELECT 1 works and the session store takes a probe session, which it removes again', async () => {
    const ready = await new CookieClient(api.base).call('/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({
      status: 'ready',
      checks: {
        database: { healthy: true, error: null },
        sessionStore: { healthy: true, mode: 'configured', error: null },
      },
    });
    expect(
      await countRows(api.databaseUrl, `SELECT count(*) AS n FROM "session" WHERE sid LIKE 'health:%'`),
    ).toBe(0);
  });

  it("keeps sessions in connect-pg-simple's own session table, created by the store and not by a migration", async () => {
    const columns = await query<{ column_name: string; data_type: string }>(
      api.databaseUrl,
      `SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'session' ORDER BY ordinal_position`,
    );
    expect(columns).toEqual([
      { column_name: 'sid', data_type: 'character varying' },
      { column_name: 'sess', data_type: 'json' },
      { column_name: 'expire', data_type: 'timestamp without time zone' },
    ]);
    const migrations = await query<{ migration_name: string }>(
      api.databaseUrl,
      'SELECT migration_name FROM "_prisma_migrations"',
    );
    expect(migrations.length).toBeGreaterThan(0);
    expect(migrations.some((m) => /session/i.test(m.migration_name))).toBe(false);
  });

  it('logs in with {username, password}: 200 {id, role, branchCode}, an httpOnly connect.sid cookie for 15 minutes', async () => {
    const client = new CookieClient(api.base);
    const before = Date.now();
    const login = await client.login('admin', ADMIN_PASSWORD);
    expect(login.status).toBe(200);
    expect(login.body).toEqual({
      id: expect.stringMatching(/^c[0-9a-z]{24}$/),
      role: 'ADMIN',
      branchCode: '0001',
    });
    const setCookie = login.setCookie ?? '';
    expect(setCookie).toMatch(/^connect\.sid=s%3A[^;]+; Path=\/; Expires=[^;]+; HttpOnly; SameSite=Lax$/);
    const expires = Date.parse(/Expires=([^;]+)/.exec(setCookie)?.[1] ?? '');
    expect(expires).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000 + 15 * 60_000 - 1000);
    expect(expires).toBeLessThanOrEqual(Date.now() + 15 * 60_000 + 1000);

    // The session is a row of the store's table, holding the user; the audit trail has the login.
    const sid = decodeURIComponent(client.cookie?.slice('connect.sid='.length) ?? '')
      .replace(/^s:/, '')
      .split('.')[0];
    const [row] = await query<{ sess: { user: Record<string, unknown> } }>(
      api.databaseUrl,
      'SELECT sess FROM "session" WHERE sid = $1',
      [sid],
    );
    expect(row?.sess.user).toEqual({ id: adminId, role: 'ADMIN', branchCode: '0001', status: 'ACTIVE' });
    const audit = await query<{ userId: string; entityId: string; afterState: unknown }>(
      api.databaseUrl,
      `SELECT "userId", "entityId", "afterState" FROM "AuditLog" WHERE "action" = 'AUTH_LOGIN_SUCCESS' AND "sessionId" = $1`,
      [sid],
    );
    expect(audit).toEqual([
      { userId: adminId, entityId: adminId, afterState: { role: 'ADMIN', branchCode: '0001' } },
    ]);
  });

  it('signs the cookie with the session secret, so a forged or tampered cookie is no session', async () => {
    const cookie = decodeURIComponent(admin.cookie?.slice('connect.sid='.length) ?? '');
    const [, sid, signature] = /^s:([^.]+)\.(.+)$/.exec(cookie) ?? [];
    expect(signature).toBe(
      createHmac('sha256', SECRET)
        .update(sid ?? '')
        .digest('base64')
        .replace(/=+$/, ''),
    );
    const forged = `connect.sid=${encodeURIComponent(`s:${sid}.${'A'.repeat(43)}`)}`;
    const search = await admin.call('/api/accounts/search?q=a', { cookie: forged });
    expect([search.status, search.body]).toEqual([401, { error: 'UNAUTHENTICATED' }]);
  });

  it('authorizes search, day state and recovery-evaluate with the cookie, and refuses each without it', async () => {
    const anonymous = new CookieClient(api.base);
    for (const [path, body] of [
      ['/api/accounts/search?q=a', undefined],
      ['/api/day/current', undefined],
      ['/api/admin/ops/recovery-evaluate', evaluatePayload()],
      ['/api/auth/me', undefined],
    ] as const) {
      const refused = await anonymous.call(path, { body });
      expect([path, refused.status, refused.body]).toEqual([path, 401, { error: 'UNAUTHENTICATED' }]);
      const allowed = await admin.call(path, { body });
      expect([path, allowed.status]).toEqual([path, 200]);
    }
  });

  it("answers GET /api/auth/me with the session's user", async () => {
    const me = await admin.call('/api/auth/me');
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ role: 'ADMIN', status: 'ACTIVE' });
    expect(JSON.stringify(me.body)).not.toMatch(/passwordHash|\$2[ab]\$/);
  });

  it('answers a wrong password or an unknown user with 401 INVALID_CREDENTIALS and counts the failure', async () => {
    const user = await createUser(api.databaseUrl, { username: 'test.typo' });
    const client = new CookieClient(api.base);
    const wrong = await client.login(user.username, 'not-the-password');
    const unknown = await client.login('nobody-here', 'not-the-password');
    expect([wrong.status, wrong.body]).toEqual([401, { error: 'INVALID_CREDENTIALS' }]);
    expect([unknown.status, unknown.body]).toEqual([401, { error: 'INVALID_CREDENTIALS' }]);
    expect(wrong.setCookie).toBeNull();
    expect(
      await countRows(api.databaseUrl, `SELECT "failedLoginCount" AS n FROM "User" WHERE "id" = $1`, [
        user.id,
      ]),
    ).toBe(1);
    // A good login resets the count.
    expect((await client.login(user.username, user.password)).status).toBe(200);
    expect(
      await countRows(api.databaseUrl, `SELECT "failedLoginCount" AS n FROM "User" WHERE "id" = $1`, [
        user.id,
      ]),
    ).toBe(0);
  });

  it('locks a user after 5 wrong passwords for 15 minutes: 403 LOCKED even with the right one', async () => {
    const user = await createUser(api.databaseUrl, { username: 'test.lockout' });
    const client = new CookieClient(api.base);
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++)
      statuses.push((await client.login(user.username, `wrong-password-${i}`)).status);
    expect(statuses).toEqual([401, 401, 401, 401, 401]);
    const locked = await client.login(user.username, user.password);
    expect([locked.status, locked.body, locked.setCookie]).toEqual([403, { error: 'LOCKED' }, null]);
    const [row] = await query<{ lockedUntil: Date; failedLoginCount: number }>(
      api.databaseUrl,
      `SELECT "lockedUntil", "failedLoginCount" FROM "User" WHERE "id" = $1`,
      [user.id],
    );
    expect(row?.failedLoginCount).toBe(5);
    const lockMinutes = ((row?.lockedUntil.getTime() ?? 0) - Date.now()) / 60_000;
    expect(lockMinutes).toBeGreaterThan(14);
    expect(lockMinutes).toBeLessThanOrEqual(15);
    // Once the 15 minutes are over (moved into the past here), the right password works again.
    await query(
      api.databaseUrl,
      `UPDATE "User" SET "lockedUntil" = now() - interval '1 second' WHERE "id" = $1`,
      [user.id],
    );
    expect((await client.login(user.username, user.password)).status).toBe(200);
  });

  it('answers 403 PENDING_APPROVAL to a user not yet approved, and never opens its session', async () => {
    const pending = await createUser(api.databaseUrl, {
      username: 'test.pending',
      role: 'NONE',
      status: 'PENDING_APPROVAL',
    });
    const client = new CookieClient(api.base);
    const login = await client.login(pending.username, pending.password);
    expect([login.status, login.body, login.setCookie]).toEqual([403, { error: 'PENDING_APPROVAL' }, null]);
    expect((await client.login(pending.username, 'wrong-password')).status).toBe(401);
  });

  it.each([
    ['no username', { password: 'long-enough-password' }],
    ['a username under 3 characters', { username: 'ab', password: 'long-enough-password' }],
    ['a password under 8 characters', { username: 'admin', password: 'short' }],
  ])('answers 400 INVALID_INPUT to a login with %s', async (_what, body) => {
    const response = await new CookieClient(api.base).call('/api/auth/login', { body });
    expect(response.status).toBe(400);
    expect(fields(response.body).error).toBe('INVALID_INPUT');
  });

  it('answers 400 INVALID_JSON to a body that is not JSON', async () => {
    const response = await new CookieClient(api.base).call('/api/auth/login', { body: '{"username":' });
    expect([response.status, response.body]).toEqual([400, { error: 'INVALID_JSON' }]);
  });

  it('gives a role NONE user a session but 403 FORBIDDEN on search and recovery-evaluate', async () => {
    const client = new CookieClient(api.base);
    expect(fields((await client.login(noRole.username, noRole.password)).body).role).toBe('NONE');
    const search = await client.call('/api/accounts/search?q=a');
    expect([search.status, search.body]).toEqual([403, { error: 'FORBIDDEN' }]);
    expect((await client.call('/api/day/current')).status).toBe(200);
    const evaluate = await client.call('/api/admin/ops/recovery-evaluate', { body: evaluatePayload() });
    expect([evaluate.status, evaluate.body]).toEqual([403, { error: 'FORBIDDEN' }]);
  });

  it('keeps recovery-evaluate to admins: a teller or a branch manager gets 403', async () => {
    for (const user of [teller, manager]) {
      const client = new CookieClient(api.base);
      expect((await client.login(user.username, user.password)).status).toBe(200);
      const evaluate = await client.call('/api/admin/ops/recovery-evaluate', { body: evaluatePayload() });
      expect([user.username, evaluate.status, evaluate.body]).toEqual([
        user.username,
        403,
        { error: 'FORBIDDEN' },
      ]);
    }
  });

  it("searches today's load only: name, key or number, any case, at most 50, each account once", async () => {
    const byName = await admin.call('/api/accounts/search?q=COHEN');
    expect(byName.status).toBe(200);
    const accounts = byName.body as Record<string, unknown>[];
    expect(accounts.length).toBeGreaterThan(0);
    for (const account of accounts) expect(String(account.accountName)).toMatch(/cohen/i);
    // BT-CTS's answer: the account's fields, money as numbers, and two flags derived from them.
    for (const account of accounts) {
      expect(Object.keys(account).sort()).toEqual(
        [
          'accountKey',
          'accountName',
          'branchCode',
          'currentBalance',
          'fullAccountNumber',
          'hasLiens',
          'id',
          'liens',
          'markers',
          'operationRestrictions',
          'restricted',
          'version',
        ].sort(),
      );
      expect(typeof account.currentBalance).toBe('number');
      expect(account.restricted).toBe(account.operationRestrictions !== null);
      expect(account.hasLiens).toBe(Number(account.liens) > 0);
    }
    const todays = await query<{ id: string }>(
      api.databaseUrl,
      `SELECT "id" FROM "Account" WHERE "loadedDate" = $1`,
      [midnight(0).toISOString()],
    );
    const todayIds = new Set(todays.map((t) => t.id));
    expect(accounts.every((a) => todayIds.has(String(a.id)))).toBe(true);

    // The key 0000042 is in yesterday's load and today's: only today's is listed.
    const byKey = await admin.call('/api/accounts/search?q=0000042');
    expect(
      (byKey.body as Record<string, unknown>[]).map((a) => [a.accountKey, todayIds.has(String(a.id))]),
    ).toEqual([['0000042', true]]);
    const byNumber = await admin.call('/api/accounts/search?q=0002-0000042');
    expect((byNumber.body as unknown[]).length).toBe(1);
    expect((await admin.call('/api/accounts/search?q=0')).body).toHaveLength(50);
    // % and _ are matched literally, not as wildcards.
    expect((await admin.call('/api/accounts/search?q=%25')).body).toEqual([]);
  });

  it('answers 400 MISSING_QUERY to a search without a term', async () => {
    for (const path of ['/api/accounts/search', '/api/accounts/search?q=', '/api/accounts/search?q=%20%20']) {
      const response = await admin.call(path);
      expect([path, response.status, response.body]).toEqual([path, 400, { error: 'MISSING_QUERY' }]);
    }
  });

  it("scopes the search to the session's branch: a teller's own, a manager's unless asked, an admin's any", async () => {
    const branchesOf = (body: unknown) =>
      new Set((body as { branchCode: string }[]).map((a) => a.branchCode));
    const tellerClient = new CookieClient(api.base);
    await tellerClient.login(teller.username, teller.password);
    expect(branchesOf((await tellerClient.call('/api/accounts/search?q=0')).body)).toEqual(new Set(['0002']));
    expect(branchesOf((await tellerClient.call('/api/accounts/search?q=0&branchCode=0004')).body)).toEqual(
      new Set(['0002']),
    );
    const managerClient = new CookieClient(api.base);
    await managerClient.login(manager.username, manager.password);
    expect(branchesOf((await managerClient.call('/api/accounts/search?q=0')).body)).toEqual(
      new Set(['0003']),
    );
    expect(branchesOf((await managerClient.call('/api/accounts/search?q=0&branchCode=0004')).body)).toEqual(
      new Set(['0004']),
    );
    expect(branchesOf((await admin.call('/api/accounts/search?q=0')).body).size).toBeGreaterThan(1);
    expect(branchesOf((await admin.call('/api/accounts/search?q=0&branchCode=0001')).body)).toEqual(
      new Set(['0001']),
    );
  });

  it("reads today's business day, created (CLOSED, nothing loaded) by the first read of a day", async () => {
    const seeded = await admin.call('/api/day/current');
    expect([seeded.status, seeded.body]).toEqual([
      200,
      {
        businessDate: midnight(0).toISOString(),
        state: 'OPEN',
        branchesLoaded: 4,
        totalAccountsLoaded: 300,
        ledgerRecordCount: 300,
      },
    ]);
    await query(api.databaseUrl, `DELETE FROM "DayCycle" WHERE "businessDate" = $1`, [
      midnight(0).toISOString(),
    ]);
    const created = await admin.call('/api/day/current');
    expect([created.status, created.body]).toEqual([
      200,
      {
        businessDate: midnight(0).toISOString(),
        state: 'CLOSED',
        branchesLoaded: 0,
        totalAccountsLoaded: 0,
        ledgerRecordCount: 0,
      },
    ]);
    expect((await admin.call('/api/day/current')).body).toEqual(created.body);
    expect(
      await countRows(api.databaseUrl, `SELECT count(*) AS n FROM "DayCycle" WHERE "businessDate" = $1`, [
        midnight(0).toISOString(),
      ]),
    ).toBe(1);
  });

  it('evaluates RPO = backupCompletedAt - restorePointAt and RTO = restoreCompletedAt - backupCompletedAt', async () => {
    const response = await admin.call('/api/admin/ops/recovery-evaluate', { body: evaluatePayload() });
    expect([response.status, response.body]).toEqual([
      200,
      {
        measured: { rpoMinutes: 20, rtoMinutes: 25.5 },
        target: { rpoMinutes: 60, rtoMinutes: 30 },
        pass: { rpo: true, rto: true },
        overallPass: true,
      },
    ]);
    const [audit] = await query<{ userId: string; metadata: Record<string, unknown> }>(
      api.databaseUrl,
      `SELECT "userId", "metadata" FROM "AuditLog" WHERE "action" = 'OPS_RECOVERY_EVALUATE' ORDER BY "createdAt" DESC LIMIT 1`,
    );
    expect(audit).toMatchObject({
      userId: adminId,
      metadata: { restorePointAt: '2026-11-26T09:40:00Z', overallPass: true, measured: { rpoMinutes: 20 } },
    });
  });

  it('rounds to 2 decimals, uses the default targets, and fails a target the measured time exceeds', async () => {
    const response = await admin.call('/api/admin/ops/recovery-evaluate', {
      body: {
        backupCompletedAt: '2026-11-26T10:00:00Z',
        restorePointAt: '2026-11-26T08:59:59Z',
        restoreCompletedAt: '2026-11-26T10:07:20.400Z',
      },
    });
    expect([response.status, response.body]).toEqual([
      200,
      {
        measured: { rpoMinutes: 60.02, rtoMinutes: 7.34 },
        target: { rpoMinutes: 60, rtoMinutes: 30 },
        pass: { rpo: false, rto: true },
        overallPass: false,
      },
    ]);
  });

  it.each([
    ['INVALID_SEQUENCE_RPO_NEGATIVE', { restorePointAt: '2026-11-26T10:00:01Z' }],
    ['INVALID_SEQUENCE_RTO_NEGATIVE', { restoreCompletedAt: '2026-11-26T09:59:00Z' }],
    ['INVALID_INPUT', { backupCompletedAt: '2026-11-26T12:00:00+02:00' }],
    ['INVALID_INPUT', { restorePointAt: '2026-11-26T09:40:00' }],
    ['INVALID_INPUT', { targetRtoMinutes: 0 }],
    ['INVALID_INPUT', { restoreCompletedAt: undefined }],
  ])('answers 400 %s and audits nothing', async (code, overrides) => {
    const before = await countRows(
      api.databaseUrl,
      `SELECT count(*) AS n FROM "AuditLog" WHERE "action" = 'OPS_RECOVERY_EVALUATE'`,
    );
    const response = await admin.call('/api/admin/ops/recovery-evaluate', {
      body: evaluatePayload(overrides),
    });
    expect([response.status, response.body]).toEqual([400, { error: code }]);
    expect(
      await countRows(
        api.databaseUrl,
        `SELECT count(*) AS n FROM "AuditLog" WHERE "action" = 'OPS_RECOVERY_EVALUATE'`,
      ),
    ).toBe(before);
  });

  it('ends a session at logout: the cookie no longer authorizes', async () => {
    const client = new CookieClient(api.base);
    await client.login(teller.username, teller.password);
    expect((await client.call('/api/day/current')).status).toBe(200);
    expect((await client.call('/api/auth/logout', { method: 'POST' })).status).toBe(204);
    expect((await client.call('/api/day/current')).status).toBe(401);
  });

  it('answers 404 NOT_FOUND for an unknown path', async () => {
    const response = await admin.call('/api/nothing');
    expect([response.status, response.body]).toEqual([404, { error: 'NOT_FOUND' }]);
  });

  it('logs JSON events without a password, a cookie or the connection string', () => {
    const text = JSON.stringify(api.logs);
    expect(api.logs.some((e) => e.msg === 'request' && e.path === '/api/auth/login')).toBe(true);
    expect(text).not.toContain(ADMIN_PASSWORD);
    expect(text).not.toContain(teller.password);
    expect(text).not.toContain(passwordOf(api.databaseUrl));
    const sid = decodeURIComponent(admin.cookie?.slice('connect.sid='.length) ?? '').slice(2, 20);
    expect(sid.length).toBeGreaterThan(10);
    expect(text).not.toContain(sid);
    // Search terms can be customers' names: the query string is not logged.
    expect(text).not.toContain('COHEN');
  });
});

describe('BT-CTS API when its dependencies fail', () => {
  it('is not ready when the session store refuses writes, and a login then leaves no usable session', async () => {
    const databaseUrl = await provisioned();
    const api = await startApi(databaseUrl);
    await query(
      databaseUrl,
      `CREATE FUNCTION refuse_sessions() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'session store refuses writes'; END $$;
       CREATE TRIGGER refuse_sessions BEFORE INSERT OR UPDATE ON "session" FOR EACH ROW EXECUTE FUNCTION refuse_sessions();`,
    );
    const client = new CookieClient(api.base);
    const ready = await client.call('/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.body).toEqual({
      status: 'not_ready',
      checks: {
        database: { healthy: true, error: null },
        sessionStore: {
          healthy: false,
          mode: null,
          error: expect.stringContaining('session store refuses writes'),
        },
      },
    });
    // As in BT-CTS, express-session saves the session after the answer: the login looks fine, the
    // session is not there, and the next request is unauthenticated.
    const login = await client.login('admin', ADMIN_PASSWORD);
    expect(login.status).toBe(200);
    expect(login.setCookie).toMatch(/^connect\.sid=/);
    expect((await client.call('/api/day/current')).status).toBe(401);
    expect((await client.call('/api/auth/me')).status).toBe(401);
    expect(api.logs.some((e) => e.msg === 'failed after the answer was sent')).toBe(true);

    await query(databaseUrl, 'DROP TRIGGER refuse_sessions ON "session"');
    expect((await client.call('/health/ready')).status).toBe(200);
  });

  it('is not ready, and logs no one in, while the database cannot be reached; /health stays 200', async () => {
    const url = new URL(cluster.url('postgres'));
    url.port = String(await freePort());
    const api = await startApi(url.toString());
    const client = new CookieClient(api.base);
    expect((await client.call('/health')).status).toBe(200);
    const ready = await client.call('/health/ready');
    expect(ready.status).toBe(503);
    const checks = fields(fields(ready.body).checks);
    expect(fields(ready.body).status).toBe('not_ready');
    expect(fields(checks.database)).toMatchObject({
      healthy: false,
      error: expect.stringContaining('ECONNREFUSED'),
    });
    expect(fields(checks.sessionStore).healthy).toBe(false);
    const login = await client.login('admin', ADMIN_PASSWORD);
    expect([login.status, login.body]).toEqual([503, { error: 'DATABASE_UNAVAILABLE' }]);
    expect(JSON.stringify(api.logs)).not.toContain(passwordOf(url.toString()));
  });
});

describe('BT-CTS API command line', () => {
  it('reads DATABASE_URL, PORT and SESSION_SECRET, serves real sessions and stops cleanly on SIGTERM', async () => {
    const databaseUrl = await provisioned();
    const secret = 'cli-session-secret-0123456789';
    const app = startApp('server.ts', {
      DATABASE_URL: databaseUrl,
      PORT: '0',
      SESSION_SECRET: secret,
      TZ: 'UTC',
    });
    const { port } = JSON.parse(await app.waitForLine(/"msg":"listening"/)) as { port: number };
    const client = new CookieClient(`http://127.0.0.1:${port}`);
    expect((await client.login('admin', ADMIN_PASSWORD)).status).toBe(200);
    const cookie = decodeURIComponent(client.cookie?.slice('connect.sid='.length) ?? '');
    const [, sid, signature] = /^s:([^.]+)\.(.+)$/.exec(cookie) ?? [];
    expect(signature).toBe(
      createHmac('sha256', secret)
        .update(sid ?? '')
        .digest('base64')
        .replace(/=+$/, ''),
    );
    expect((await client.call('/api/day/current')).status).toBe(200);
    expect(await app.stop(), app.output()).toBe(0);
    const output = app.output();
    expect(output).toContain('"msg":"stopped"');
    expect(output).not.toContain('SESSION_SECRET is not set');
    for (const secretText of [passwordOf(databaseUrl), ADMIN_PASSWORD, secret, sid ?? 'no sid'])
      expect(output).not.toContain(secretText);
    for (const line of output.trim().split('\n')) expect(() => JSON.parse(line)).not.toThrow();
  });

  it('warns when SESSION_SECRET is missing and still starts, as BT-CTS falls back to a development secret', async () => {
    const app = startApp('server.ts', { DATABASE_URL: cluster.url('postgres'), PORT: '0' });
    await app.waitForLine(/"msg":"listening"/);
    expect(app.output()).toContain('SESSION_SECRET is not set');
    expect(await app.stop()).toBe(0);
  });

  it.each([
    ['DATABASE_URL is missing', {}, 'DATABASE_URL is not set'],
    [
      'PORT is not a port',
      { DATABASE_URL: 'postgresql://u:p@127.0.0.1:1/db', PORT: 'http' },
      'PORT: expected',
    ],
  ])('exits 2 when %s', async (_what, env, message) => {
    const app = startApp('server.ts', env);
    expect(await app.exited()).toBe(2);
    expect(app.output()).toContain(message);
  });
});
