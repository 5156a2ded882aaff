/**
 * Login and logout with BT-CTS's rules. A login answers `{id, role, branchCode}` and the session
 * (kept by express-session in the `session` table) is the credential: there is no token. Five
 * wrong passwords in a row lock the user for 15 minutes (403 `LOCKED`, even with the right
 * password); a user not yet approved gets 403 `PENDING_APPROVAL`; a good login resets the count
 * and writes an `AUTH_LOGIN_SUCCESS` audit row.
 */
import { Router } from 'express';
import type pg from 'pg';
import { z } from 'zod';
import { writeAudit } from '../audit.ts';
import { requestContext, requireAuth, type SessionUser, type UserRole } from '../auth.ts';
import { utc } from '../db.ts';
import { handle, type Log } from '../http.ts';
import { dummyHash, verifyPassword } from '../passwords.ts';

/** Failed logins in a row that lock a user, and for how long. */
export const LOCKOUT_FAILURES = 5;
export const LOCKOUT_MS = 15 * 60_000;

const loginSchema = z.object({
  username: z.string().min(3),
  password: z.string().min(8),
});

interface UserRow {
  id: string;
  username: string;
  passwordHash: string;
  role: UserRole;
  status: string;
  branchCode: string | null;
  lockedUntil: Date | null;
}

export function authRouter(pool: pg.Pool, log: Log): Router {
  const router = Router();

  router.post(
    '/login',
    handle(async (req, res) => {
      const parsed = loginSchema.safeParse(req.body);
      if (!parsed.success) {
        res.status(400).json({ error: 'INVALID_INPUT', details: z.flattenError(parsed.error) });
        return;
      }
      const { username, password } = parsed.data;
      const found = await pool.query<UserRow>(
        `SELECT "id", "username", "passwordHash", "role", "status", "branchCode", "lockedUntil"
           FROM "User" WHERE "username" = $1`,
        [username],
      );
      const user = found.rows[0];
      if (!user) {
        // The same work as a wrong password, so the answer's timing does not tell who exists.
        await verifyPassword(password, await dummyHash());
        res.status(401).json({ error: 'INVALID_CREDENTIALS' });
        return;
      }
      if (user.lockedUntil && user.lockedUntil.getTime() > Date.now()) {
        res.status(403).json({ error: 'LOCKED' });
        return;
      }
      if (!(await verifyPassword(password, user.passwordHash))) {
        const failed = await pool.query<{ failedLoginCount: number }>(
          `UPDATE "User"
              SET "failedLoginCount" = "failedLoginCount" + 1,
                  "lockedUntil" = CASE WHEN "failedLoginCount" + 1 >= $2 THEN ${utc('$3')} ELSE NULL END,
                  "updatedAt" = CURRENT_TIMESTAMP
            WHERE "id" = $1
          RETURNING "failedLoginCount"`,
          [user.id, LOCKOUT_FAILURES, new Date(Date.now() + LOCKOUT_MS).toISOString()],
        );
        const count = failed.rows[0]?.failedLoginCount ?? 0;
        if (count >= LOCKOUT_FAILURES)
          log({ level: 'warn', msg: 'user locked after failed logins', userId: user.id, failures: count });
        res.status(401).json({ error: 'INVALID_CREDENTIALS' });
        return;
      }
      if (user.status !== 'ACTIVE') {
        res.status(403).json({ error: 'PENDING_APPROVAL' });
        return;
      }
      await pool.query(
        `UPDATE "User" SET "failedLoginCount" = 0, "lockedUntil" = NULL, "updatedAt" = CURRENT_TIMESTAMP
          WHERE "id" = $1`,
        [user.id],
      );
      // The audit row first: a login the trail cannot record does not open a session.
      await writeAudit(pool, {
        userId: user.id,
        action: 'AUTH_LOGIN_SUCCESS',
        entityType: 'USER',
        entityId: user.id,
        afterState: { role: user.role, branchCode: user.branchCode },
        ...requestContext(req),
      });
      const sessionUser: SessionUser = {
        id: user.id,
        role: user.role,
        branchCode: user.branchCode,
        status: user.status,
      };
      // express-session writes the session to the store when the answer ends, and sets the cookie.
      req.session.user = sessionUser;
      log({ level: 'info', msg: 'login', userId: user.id, role: user.role });
      res.status(200).json({ id: user.id, role: user.role, branchCode: user.branchCode });
    }),
  );

  // Who the session belongs to: a read that needs the session the login wrote (the drill's proof
  // that the session store kept it).
  router.get(
    '/me',
    requireAuth,
    handle(async (req, res) => {
      const id = req.session.user?.id;
      const { rows } = await pool.query<{
        id: string;
        fullName: string;
        role: string;
        status: string;
        branchCode: string | null;
      }>('SELECT id, "fullName", role, status, "branchCode" FROM "User" WHERE id = $1', [id]);
      const user = rows[0];
      if (!user) {
        res.status(404).json({ error: 'NOT_FOUND' });
        return;
      }
      res.status(200).json(user);
    }),
  );

  router.post(
    '/logout',
    requireAuth,
    handle(async (req, res) => {
      const userId = req.session.user?.id ?? null;
      await writeAudit(pool, {
        userId,
        action: 'AUTH_LOGOUT',
        entityType: 'USER',
        entityId: userId,
        ...requestContext(req),
      });
      await new Promise<void>((resolve, reject) =>
        req.session.destroy((error: unknown) => (error ? reject(error) : resolve())),
      );
      res.status(204).end();
    }),
  );

  return router;
}
