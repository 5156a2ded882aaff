/**
 * Liveness and readiness. Readiness is what BT-CTS checks: the database answers `SELECT 1`, and
 * the session store takes a write, a read back and a delete of a probe session (logins need
 * exactly that). It does not look at migrations.
 */
import { randomBytes } from 'node:crypto';
import { Router } from 'express';
import type session from 'express-session';
import type pg from 'pg';
import { describeError } from '../db.ts';
import { handle } from '../http.ts';

const PROBE_TTL_MS = 60_000;

function storeCall<T>(call: (done: (error: unknown, value?: T) => void) => void): Promise<T | undefined> {
  return new Promise((resolve, reject) => {
    call((error, value) => (error ? reject(error) : resolve(value)));
  });
}

/** Set, get and destroy a probe session; throws when any of the three fails or the read finds nothing. */
async function probeSessionStore(store: session.Store): Promise<void> {
  const sid = `health:${Date.now()}:${randomBytes(6).toString('hex')}`;
  const cookie = {
    originalMaxAge: PROBE_TTL_MS,
    expires: new Date(Date.now() + PROBE_TTL_MS),
    httpOnly: true,
    secure: false,
    path: '/',
  };
  await storeCall<void>((done) => store.set(sid, { cookie } as session.SessionData, done));
  const read = await storeCall<session.SessionData | null>((done) => store.get(sid, done));
  await storeCall<void>((done) => store.destroy(sid, done));
  if (!read) throw new Error('SESSION_STORE_READBACK_FAILED');
}

export function healthRouter(pool: pg.Pool, store: session.Store): Router {
  const router = Router();
  router.get('/health', (_req, res) => {
    res.status(200).json({ status: 'ok' });
  });
  router.get(
    '/health/ready',
    handle(async (_req, res) => {
      const checks = {
        database: { healthy: false, error: null as string | null },
        sessionStore: { healthy: false, mode: null as string | null, error: null as string | null },
      };
      try {
        await pool.query('SELECT 1');
        checks.database.healthy = true;
      } catch (error) {
        checks.database.error = describeError(error);
      }
      try {
        await probeSessionStore(store);
        checks.sessionStore.healthy = true;
        checks.sessionStore.mode = 'configured';
      } catch (error) {
        checks.sessionStore.error = describeError(error);
      }
      const ready = checks.database.healthy && checks.sessionStore.healthy;
      res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not_ready', checks });
    }),
  );
  return router;
}
