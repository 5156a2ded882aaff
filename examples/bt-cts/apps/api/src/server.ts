/**
 * The BT-CTS API stand-in: Express 4 with cookie sessions that express-session keeps in
 * PostgreSQL through connect-pg-simple (table `session`, which the store creates when the app
 * starts, as in BT-CTS: it is not a migration), and the endpoints the runbook smoke-tests with
 * BT-CTS's paths, auth rules and answers.
 *
 * CLI (cwd `examples/bt-cts`):
 *   `DATABASE_URL=... PORT=4000 SESSION_SECRET=... node --import tsx apps/api/src/server.ts`
 * `PORT` defaults to 4000 (0 picks a free port), `LISTEN_HOST` to 127.0.0.1, `SESSION_SECRET` to a
 * development secret (with a warning). "Today" is the process's local day: run with `TZ=UTC` for
 * the same business dates everywhere. Logs are JSON lines on stdout; they never contain the
 * DATABASE_URL, a password or a session cookie.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import connectPgSimple from 'connect-pg-simple';
import express, { type NextFunction, type Request, type Response } from 'express';
import session from 'express-session';
import type pg from 'pg';
import { createPool, describeError, isUnavailable } from './db.ts';
import type { Log } from './http.ts';
import { accountsRouter } from './routes/accounts.ts';
import { adminRouter } from './routes/admin.ts';
import { authRouter } from './routes/auth.ts';
import { dayRouter } from './routes/day.ts';
import { healthRouter } from './routes/health.ts';

/** The port BT-CTS's `.env.example` gives. */
export const DEFAULT_PORT = 4000;
/** A session lives 15 minutes after login, as in BT-CTS. */
export const SESSION_MAX_AGE_MS = 15 * 60_000;
/** The session store's table (connect-pg-simple's default name). */
export const SESSION_TABLE = 'session';
const DEV_SESSION_SECRET = 'bt-cts-stand-in-development-only';

export interface ServerOptions {
  readonly databaseUrl: string;
  /** 0 picks a free port (the `listening` log line and `port` say which). */
  readonly port: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** Signs the session cookie. @default a development secret, with a warning in the log */
  readonly sessionSecret?: string;
  /** One JSON object per event; default: JSON lines on stdout. */
  readonly log?: Log;
}

export interface RunningServer {
  readonly port: number;
  /** Stops accepting, lets requests in flight finish, stops the session store, closes the pools. */
  close(): Promise<void>;
}

function jsonLog(event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), ...event })}\n`);
}

/** The error body-parser raises for a body that is not JSON or too large (it carries a status). */
function clientError(error: unknown): { status: number; code: string } | null {
  const e = error as { status?: unknown; type?: unknown } | null;
  if (typeof e?.status !== 'number' || e.status < 400 || e.status >= 500) return null;
  if (e.type === 'entity.parse.failed') return { status: 400, code: 'INVALID_JSON' };
  if (e.type === 'entity.too.large') return { status: 413, code: 'PAYLOAD_TOO_LARGE' };
  return { status: e.status, code: 'BAD_REQUEST' };
}

/** The request's full path without its query (`req.path` is relative to the router that took it). */
function pathOf(req: Request): string {
  return req.originalUrl.split('?')[0] ?? '/';
}

/** The Express app over its two pools (the app's queries, the session store's), as BT-CTS wires it. */
export function createApp(pool: pg.Pool, store: session.Store, sessionSecret: string, log: Log) {
  const app = express();
  app.disable('x-powered-by');
  app.use((req, res, next) => {
    const started = performance.now();
    res.on('finish', () => {
      log({
        level: res.statusCode >= 500 ? 'error' : 'info',
        msg: 'request',
        method: req.method,
        // The path only: a query string may hold a customer's name.
        path: pathOf(req),
        status: res.statusCode,
        ms: Math.round(performance.now() - started),
      });
    });
    next();
  });
  app.use(express.json({ limit: '64kb' }));
  app.use(
    session({
      store,
      secret: sessionSecret,
      resave: false,
      saveUninitialized: false,
      cookie: { httpOnly: true, sameSite: 'lax', secure: false, maxAge: SESSION_MAX_AGE_MS },
    }),
  );
  app.use(healthRouter(pool, store));
  app.use('/api/auth', authRouter(pool, log));
  app.use('/api/admin', adminRouter(pool));
  app.use('/api', accountsRouter(pool));
  app.use('/api', dayRouter(pool));
  app.use((_req, res) => {
    res.status(404).json({ error: 'NOT_FOUND' });
  });
  app.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
    const detail = describeError(error);
    if (res.headersSent) {
      // express-session reports a failed session write after the answer went out (BT-CTS too):
      // the client got its 200, and its next request finds no session.
      log({ level: 'error', msg: 'failed after the answer was sent', path: pathOf(req), error: detail });
      if (!res.writableEnded) res.end();
      return;
    }
    const client = clientError(error);
    if (client) {
      res.status(client.status).json({ error: client.code });
      return;
    }
    const unavailable = isUnavailable(error);
    log({ level: 'error', msg: 'request failed', method: req.method, path: pathOf(req), error: detail });
    res
      .status(unavailable ? 503 : 500)
      .json({ error: unavailable ? 'DATABASE_UNAVAILABLE' : 'INTERNAL_ERROR' });
  });
  return app;
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const log = options.log ?? jsonLog;
  const host = options.host ?? '127.0.0.1';
  let sessionSecret = options.sessionSecret;
  if (!sessionSecret) {
    log({
      level: 'warn',
      msg: 'SESSION_SECRET is not set: signing session cookies with a development secret',
    });
    sessionSecret = DEV_SESSION_SECRET;
  }
  const pools = {
    app: createPool(options.databaseUrl, 'bt-cts-api', { statement_timeout: 10_000 }),
    sessions: createPool(options.databaseUrl, 'bt-cts-sessions', { statement_timeout: 10_000 }),
  };
  // An idle client dies when the database restarts; the next query reconnects. Without a listener
  // the pool's 'error' event would crash the process.
  for (const [name, pool] of Object.entries(pools))
    pool.on('error', (error) =>
      log({ level: 'warn', msg: 'idle database connection lost', pool: name, error: describeError(error) }),
    );
  const PgStore = connectPgSimple(session);
  const store = new PgStore({
    pool: pools.sessions,
    tableName: SESSION_TABLE,
    createTableIfMissing: true,
    errorLog: (...args: unknown[]) =>
      log({
        level: 'warn',
        msg: 'session store',
        error: describeError(args.find((a) => a instanceof Error) ?? args.join(' ')),
      }),
  });
  // The store creates its table on its first query: make that query now, at start, so the table
  // is there before the first request. A failure here is not fatal: readiness reports it.
  await new Promise<void>((resolveProbe) => {
    store.get('startup-probe', (error) => {
      if (error)
        log({ level: 'warn', msg: 'session store not usable at start', error: describeError(error) });
      else log({ level: 'info', msg: 'session store ready', table: SESSION_TABLE });
      resolveProbe();
    });
  });

  const app = createApp(pools.app, store, sessionSecret, log);
  const server = await new Promise<Server>((resolveListen, rejectListen) => {
    const listening = app.listen(options.port, host, () => {
      listening.off('error', rejectListen);
      resolveListen(listening);
    });
    listening.once('error', rejectListen);
  }).catch(async (error: unknown) => {
    store.close();
    await Promise.all([pools.app.end(), pools.sessions.end()]);
    throw error;
  });
  const port = (server.address() as AddressInfo).port;
  log({ level: 'info', msg: 'listening', host, port });

  let closing: Promise<void> | undefined;
  return {
    port,
    close() {
      closing ??= (async () => {
        await new Promise<void>((resolveClose) => {
          server.close(() => resolveClose());
          server.closeIdleConnections();
        });
        store.close();
        await Promise.all([pools.app.end(), pools.sessions.end()]);
      })();
      return closing;
    },
  };
}

function envPort(value: string | undefined): number {
  if (value === undefined || value === '') return DEFAULT_PORT;
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
  // Signals are taken from the start: one that arrives while the server starts stops it once it has.
  let running: RunningServer | undefined;
  let requested: string | null = null;
  const shutdown = (server: RunningServer, signal: string) => {
    jsonLog({ level: 'info', msg: 'shutting down', signal });
    // Requests in flight get 10 s; then the process goes regardless.
    setTimeout(() => process.exit(1), 10_000).unref();
    server.close().then(
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
  const onSignal = (signal: string) => {
    if (requested !== null) return;
    requested = signal;
    if (running) shutdown(running, signal);
  };
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  process.once('SIGINT', () => onSignal('SIGINT'));
  try {
    running = await startServer({
      databaseUrl,
      port: envPort(process.env.PORT),
      // Not HOST: some shells set HOST to the machine's name, which would move the listener off loopback.
      host: process.env.LISTEN_HOST || '127.0.0.1',
      sessionSecret: process.env.SESSION_SECRET || undefined,
    });
  } catch (error) {
    jsonLog({ level: 'error', msg: 'cannot start', error: describeError(error) });
    process.exit(2);
  }
  if (requested !== null) shutdown(running, requested);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  await main();
}
