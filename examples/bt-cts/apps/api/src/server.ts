/**
 * The BT-CTS API stand-in: the endpoints the runbook smoke-tests after a restore, over plain
 * `node:http` and `pg`. Readiness is honest about what a restore leaves behind: it stays 503 while
 * the database does not answer, is still read-only in recovery, or has migrations pending.
 *
 * CLI: `DATABASE_URL=... PORT=3000 node --import tsx apps/api/src/server.ts` (cwd `examples/bt-cts`).
 * Logs are JSON lines on stdout; they never contain the DATABASE_URL, a password or a token.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type pg from 'pg';
import { sha256Hex } from '../../../../../functions/shared/checksums.ts';
import { createPool, describeError, isUnavailable } from './db.ts';
import { type LocalMigration, MIGRATIONS_DIR, migrationStatus, readMigrations } from './migrate.ts';
import { dummyHash, verifyPassword } from './passwords.ts';
import { evaluateRecovery } from './recovery-evaluate.ts';

export interface ServerOptions {
  readonly databaseUrl: string;
  /** 0 picks a free port (the `listening` log line and `port` say which). */
  readonly port: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** @default the app's own migrations folder */
  readonly migrationsDir?: string;
  /** @default 480 */
  readonly sessionTtlMinutes?: number;
  /** One JSON object per event; default: JSON lines on stdout. */
  readonly log?: (event: Record<string, unknown>) => void;
}

export interface RunningServer {
  readonly port: number;
  /** Stops accepting, lets requests in flight finish, closes the pool. */
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 64 * 1024;
const SEARCH_LIMIT_DEFAULT = 20;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

function jsonLog(event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...event })}\n`);
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
  });
  res.end(text);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `body: larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') throw new HttpError(400, 'body: expected a JSON object; got nothing');
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 'body: expected a JSON object; got text that is not JSON');
  }
}

/** A database failure as the API reports it: 503 when the database cannot serve now, 500 otherwise. */
function databaseFailure(what: string, error: unknown): HttpError {
  const detail = describeError(error);
  return isUnavailable(error)
    ? new HttpError(503, `${what}: database unavailable: ${detail}`)
    : new HttpError(500, `${what}: ${detail}`);
}

interface SessionUser {
  readonly userId: number;
  readonly username: string;
  readonly role: string;
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const log = options.log ?? jsonLog;
  const host = options.host ?? '127.0.0.1';
  const ttlMinutes = options.sessionTtlMinutes ?? 480;
  const migrations: LocalMigration[] = await readMigrations(options.migrationsDir ?? MIGRATIONS_DIR);
  const pool = createPool(options.databaseUrl, 'bt-cts-api', { statement_timeout: 10_000 });
  // An idle client dies when the database restarts; the next query reconnects. Without a listener
  // the pool's 'error' event would crash the process.
  pool.on('error', (error) =>
    log({ level: 'warn', msg: 'idle database connection lost', error: describeError(error) }),
  );

  /**
   * A pooled client for one piece of work. A connection that breaks while checked out (between
   * two queries) emits 'error' with nobody listening, which would crash the process: listen for it
   * here, and destroy the client instead of pooling it when it broke.
   */
  async function withClient<T>(what: string, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      throw databaseFailure(what, error);
    }
    let broken: unknown;
    const onError = (error: unknown) => {
      broken = error;
    };
    client.on('error', onError);
    try {
      return await fn(client);
    } catch (error) {
      if (isUnavailable(error)) broken ??= error;
      throw error instanceof HttpError ? error : databaseFailure(what, broken ?? error);
    } finally {
      client.removeListener('error', onError);
      client.release(
        broken instanceof Error ? broken : broken === undefined ? undefined : new Error(String(broken)),
      );
    }
  }

  async function authenticate(req: IncomingMessage): Promise<SessionUser> {
    const header = req.headers.authorization ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match?.[1])
      throw new HttpError(401, 'authorization: expected "Bearer <session token>" from /api/auth/login');
    const tokenHash = sha256Hex(match[1]);
    const result = await withClient('session lookup', (c) =>
      c.query<{ userId: number; username: string; role: string }>(
        `SELECT s."userId", u."username", u."role"
           FROM "Session" s JOIN "User" u ON u."id" = s."userId"
          WHERE s."tokenHash" = $1 AND s."revokedAt" IS NULL AND s."expiresAt" > now() AND u."active"`,
        [tokenHash],
      ),
    );
    const row = result.rows[0];
    if (!row) throw new HttpError(401, 'authorization: session unknown, expired or revoked; log in again');
    return { userId: row.userId, username: row.username, role: row.role };
  }

  async function ready(): Promise<{ status: number; body: Record<string, unknown> }> {
    try {
      return await withClient('readiness', async (client) => {
        const recovery = await client.query<{ inRecovery: boolean }>(
          'SELECT pg_is_in_recovery() AS "inRecovery"',
        );
        if (recovery.rows[0]?.inRecovery)
          return {
            status: 503,
            body: { status: 'not-ready', reason: 'database is still in recovery (read-only)' },
          };
        const drift = await migrationStatus(client, migrations);
        const problems: string[] = [];
        if (drift.failed.length > 0) problems.push(`failed migrations: ${drift.failed.join(', ')}`);
        if (drift.modified.length > 0)
          problems.push(
            `migrations modified after they were applied: ${drift.modified.map((m) => m.name).join(', ')}`,
          );
        if (drift.pending.length > 0) problems.push(`migrations pending: ${drift.pending.join(', ')}`);
        if (problems.length > 0)
          return {
            status: 503,
            body: {
              status: 'not-ready',
              reason: problems.join('; '),
              pending: drift.pending,
              failed: drift.failed,
              modified: drift.modified.map((m) => m.name),
            },
          };
        return { status: 200, body: { status: 'ready', migrations: migrations.length } };
      });
    } catch (error) {
      // Not ready, whatever the database did: readiness never answers 500.
      const message =
        error instanceof HttpError ? error.message.replace(/^readiness: /, '') : describeError(error);
      return { status: 503, body: { status: 'not-ready', reason: message } };
    }
  }

  async function login(req: IncomingMessage): Promise<{ status: number; body: Record<string, unknown> }> {
    const body = await readJson(req);
    const input = (body !== null && typeof body === 'object' ? body : {}) as Record<string, unknown>;
    for (const field of ['username', 'password'] as const) {
      const value = input[field];
      if (typeof value !== 'string' || value.length === 0)
        throw new HttpError(400, `${field}: expected a non-empty string`, { field });
    }
    const username = input.username as string;
    const password = input.password as string;
    const userAgent =
      typeof req.headers['user-agent'] === 'string' ? req.headers['user-agent'].slice(0, 200) : null;

    const found = await withClient('login', (c) =>
      c.query<{ id: number; username: string; displayName: string; role: string; passwordHash: string }>(
        `SELECT "id", "username", "displayName", "role", "passwordHash" FROM "User" WHERE "username" = $1 AND "active"`,
        [username],
      ),
    );
    const user = found.rows[0];
    const valid = await verifyPassword(password, user?.passwordHash ?? (await dummyHash()));
    if (!user || !valid) {
      await withClient('login audit', (c) =>
        c.query(
          `INSERT INTO "AuditLog" ("actor", "action", "entity", "entityId", "details") VALUES ($1, 'LOGIN_FAILED', 'User', $2, NULL)`,
          [username.slice(0, 100), user ? String(user.id) : null],
        ),
      ).catch(() => {});
      return { status: 401, body: { error: 'invalid username or password' } };
    }

    const token = randomBytes(32).toString('base64url');
    const sessionId = randomUUID();
    const session = await withClient('session write', async (c) => {
      await c.query('BEGIN');
      try {
        const inserted = await c.query<{ expiresAt: Date }>(
          `INSERT INTO "Session" ("id", "userId", "tokenHash", "userAgent", "expiresAt", "updatedAt")
           VALUES ($1, $2, $3, $4, CURRENT_TIMESTAMP + make_interval(mins => $5), CURRENT_TIMESTAMP)
           RETURNING "expiresAt"`,
          [sessionId, user.id, sha256Hex(token), userAgent, ttlMinutes],
        );
        await c.query(
          `INSERT INTO "AuditLog" ("actor", "action", "entity", "entityId", "details")
           VALUES ($1, 'LOGIN', 'Session', $2, jsonb_build_object('userId', $3::int))`,
          [user.username, sessionId, user.id],
        );
        await c.query('COMMIT');
        return inserted.rows[0];
      } catch (error) {
        await c.query('ROLLBACK').catch(() => {});
        throw error;
      }
    });
    log({ level: 'info', msg: 'login', username: user.username, sessionId });
    return {
      status: 200,
      body: {
        token,
        tokenType: 'Bearer',
        sessionId,
        expiresAt: session?.expiresAt.toISOString() ?? null,
        user: { id: user.id, username: user.username, displayName: user.displayName, role: user.role },
      },
    };
  }

  async function searchAccounts(req: IncomingMessage, url: URL) {
    await authenticate(req);
    const search = url.searchParams.get('search') ?? '';
    if (search.length > 100)
      throw new HttpError(400, `search: expected at most 100 characters; got ${search.length}`);
    const limitText = url.searchParams.get('limit');
    const limit = limitText === null ? SEARCH_LIMIT_DEFAULT : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100)
      throw new HttpError(400, `limit: expected an integer from 1 to 100; got ${JSON.stringify(limitText)}`);
    const escaped = search.replace(/[\\%_]/g, (c) => `\\${c}`);
    const result = await withClient('account search', (c) =>
      c.query(
        `SELECT "id", "number", "holderName", "type", "status", "currency", "balance"::text AS "balance", "createdAt"
           FROM "Account"
          WHERE $1 = '' OR "number" ILIKE $2 OR "holderName" ILIKE $3
          ORDER BY "number"
          LIMIT $4`,
        [search, `${escaped}%`, `%${escaped}%`, limit],
      ),
    );
    return { status: 200, body: { search, count: result.rows.length, accounts: result.rows } };
  }

  async function currentDay() {
    const result = await withClient('day state', (c) =>
      c.query(
        `SELECT "businessDate", "status", "openedAt", "openedBy", "closedAt"
           FROM "DayState" ORDER BY "businessDate" DESC LIMIT 1`,
      ),
    );
    const day = result.rows[0];
    if (!day) return { status: 404, body: { error: 'no business day has been opened' } };
    return { status: 200, body: day as Record<string, unknown> };
  }

  async function recoveryEvaluate(req: IncomingMessage) {
    const outcome = evaluateRecovery(await readJson(req));
    if (!outcome.ok) {
      const [first] = outcome.problems;
      return {
        status: 400,
        body: {
          error: first?.message ?? 'invalid payload',
          field: first?.field ?? null,
          problems: outcome.problems,
        },
      };
    }
    return { status: 200, body: { ...outcome.result } };
  }

  type Handler = (req: IncomingMessage, url: URL) => Promise<{ status: number; body: unknown }>;
  const routes: Record<string, Handler> = {
    'GET /health': async () => ({
      status: 200,
      body: { status: 'ok', uptimeSeconds: Math.round(process.uptime()) },
    }),
    'GET /health/ready': () => ready(),
    'POST /api/auth/login': (req) => login(req),
    'GET /api/accounts': (req, url) => searchAccounts(req, url),
    'GET /api/day/current': () => currentDay(),
    'POST /api/admin/ops/recovery-evaluate': (req) => recoveryEvaluate(req),
  };
  const paths = new Set(Object.keys(routes).map((key) => key.slice(key.indexOf(' ') + 1)));

  const server: Server = createServer((req, res) => {
    const started = performance.now();
    const url = new URL(req.url ?? '/', 'http://localhost');
    const handler = routes[`${req.method} ${url.pathname}`];
    const respond = (status: number, body: unknown) => {
      send(res, status, body);
      const level = status >= 500 ? 'error' : 'info';
      log({
        level,
        msg: 'request',
        method: req.method,
        path: url.pathname,
        status,
        ms: Math.round(performance.now() - started),
      });
    };
    if (!handler) {
      if (paths.has(url.pathname))
        respond(405, { error: `method ${req.method} not allowed on ${url.pathname}` });
      else respond(404, { error: `no route ${req.method} ${url.pathname}` });
      return;
    }
    handler(req, url).then(
      ({ status, body }) => respond(status, body),
      (error: unknown) => {
        if (error instanceof HttpError) respond(error.status, { error: error.message, ...error.extra });
        else respond(500, { error: describeError(error) });
      },
    );
  });

  await new Promise<void>((resolveListen, rejectListen) => {
    server.once('error', rejectListen);
    server.listen(options.port, host, () => {
      server.off('error', rejectListen);
      resolveListen();
    });
  });
  const port = (server.address() as AddressInfo).port;
  log({ level: 'info', msg: 'listening', host, port, migrations: migrations.length });

  let closing: Promise<void> | undefined;
  return {
    port,
    close() {
      closing ??= (async () => {
        await new Promise<void>((resolveClose) => {
          server.close(() => resolveClose());
          server.closeIdleConnections();
        });
        await pool.end();
      })();
      return closing;
    },
  };
}

function envPort(value: string | undefined): number {
  if (value === undefined || value === '') return 3000;
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`PORT: expected an integer from 0 to 65535; got ${JSON.stringify(value)}`);
  return port;
}

async function main(): Promise<void> {
  const databaseUrl = process.env.DATABASE_URL;
  if (!databaseUrl) {
    jsonLog({
      level: 'error',
      msg: 'DATABASE_URL is not set (expected postgresql://USER:PASSWORD@HOST:PORT/DB)',
    });
    process.exitCode = 2;
    return;
  }
  let running: RunningServer;
  try {
    const ttl = process.env.SESSION_TTL_MINUTES ? Number(process.env.SESSION_TTL_MINUTES) : undefined;
    if (ttl !== undefined && (!Number.isInteger(ttl) || ttl < 1))
      throw new Error(
        `SESSION_TTL_MINUTES: expected a positive integer; got ${JSON.stringify(process.env.SESSION_TTL_MINUTES)}`,
      );
    running = await startServer({
      databaseUrl,
      port: envPort(process.env.PORT),
      // Not HOST: some shells set HOST to the machine's name, which would move the listener off loopback.
      host: process.env.LISTEN_HOST || '127.0.0.1',
      sessionTtlMinutes: ttl,
      migrationsDir: process.env.MIGRATIONS_DIR ? resolve(process.env.MIGRATIONS_DIR) : undefined,
    });
  } catch (error) {
    jsonLog({ level: 'error', msg: 'cannot start', error: describeError(error) });
    process.exitCode = 2;
    return;
  }
  const shutdown = (signal: string) => {
    jsonLog({ level: 'info', msg: 'shutting down', signal });
    // Requests in flight get 10 s; then the process goes regardless.
    setTimeout(() => process.exit(1), 10_000).unref();
    running.close().then(
      () => {
        jsonLog({ level: 'info', msg: 'stopped' });
        process.exit(0);
      },
      (error: unknown) => {
        jsonLog({ level: 'error', msg: 'shutdown failed', error: describeError(error) });
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  await main();
}
