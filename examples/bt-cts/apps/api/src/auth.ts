/**
 * Who may call what, as BT-CTS decides it: the session (express-session, cookie `connect.sid`)
 * carries the user logged in; a route needs a session (401 `UNAUTHENTICATED`) and, for some, one
 * of a few roles (403 `FORBIDDEN`). The role is the one at login: the session is not re-read
 * from the database on every request, exactly as the real app does.
 */
import type { NextFunction, Request, Response } from 'express';

export const USER_ROLES = ['NONE', 'ADMIN', 'BRANCH_MANAGER', 'TELLER'] as const;
export type UserRole = (typeof USER_ROLES)[number];

/** What a session remembers of its user. */
export interface SessionUser {
  readonly id: string;
  readonly role: UserRole;
  readonly branchCode: string | null;
  readonly status: string;
}

declare module 'express-session' {
  interface SessionData {
    user?: SessionUser;
  }
}

export function requireAuth(req: Request, res: Response, next: NextFunction): void {
  if (!req.session.user) {
    res.status(401).json({ error: 'UNAUTHENTICATED' });
    return;
  }
  next();
}

export function requireRole(roles: readonly UserRole[]) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const user = req.session.user;
    if (!user) {
      res.status(401).json({ error: 'UNAUTHENTICATED' });
      return;
    }
    if (!roles.includes(user.role)) {
      res.status(403).json({ error: 'FORBIDDEN' });
      return;
    }
    next();
  };
}

/** The audit trail's view of a request: where it came from and which session made it. */
export function requestContext(req: Request): { ipAddress: string | null; sessionId: string | null } {
  return { ipAddress: req.ip ?? null, sessionId: req.sessionID ?? null };
}
