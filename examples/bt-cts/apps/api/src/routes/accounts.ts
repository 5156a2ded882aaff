/**
 * Account search (`GET /api/accounts/search?q=TERM`) among the accounts loaded *today*: BT-CTS
 * loads every branch's accounts afresh each business day, and a teller works on today's load
 * only, so a copy restored on a later day rightly finds nothing. A teller sees their own branch,
 * a branch manager theirs unless they ask for another (`branchCode`), an admin every branch.
 */
import { Router } from 'express';
import type pg from 'pg';
import { requireAuth, requireRole, type SessionUser } from '../auth.ts';
import { startOfToday } from '../business-day.ts';
import { utc } from '../db.ts';
import { handle } from '../http.ts';

export const SEARCH_LIMIT = 50;

function branchScope(user: SessionUser, requested: string | undefined): string | null {
  if (user.role === 'ADMIN') return requested ?? null;
  if (user.role === 'BRANCH_MANAGER') return requested ?? user.branchCode;
  return user.branchCode;
}

interface AccountRow {
  id: string;
  accountKey: string;
  fullAccountNumber: string;
  accountName: string;
  currentBalance: string;
  operationRestrictions: string | null;
  liens: string;
  markers: string | null;
  version: number;
  branchCode: string;
}

export function accountsRouter(pool: pg.Pool): Router {
  const router = Router();
  router.get(
    '/accounts/search',
    requireAuth,
    requireRole(['ADMIN', 'BRANCH_MANAGER', 'TELLER']),
    handle(async (req, res) => {
      const q = typeof req.query.q === 'string' ? req.query.q.trim() : '';
      if (!q) {
        res.status(400).json({ error: 'MISSING_QUERY' });
        return;
      }
      const requested = typeof req.query.branchCode === 'string' ? req.query.branchCode : undefined;
      // biome-ignore lint/style/noNonNullAssertion: requireAuth let the request through
      const branchCode = branchScope(req.session.user!, requested);
      // A term is matched literally: % and _ are not wildcards.
      const pattern = `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      const found = await pool.query<AccountRow>(
        `SELECT "id", "accountKey", "fullAccountNumber", "accountName", "currentBalance", "operationRestrictions",
                "liens", "markers", "version", "branchCode"
           FROM "Account"
          WHERE "loadedDate" = ${utc('$1')}
            AND ($2::text IS NULL OR "branchCode" = $2)
            AND ("accountName" ILIKE $3 OR "accountKey" ILIKE $3 OR "fullAccountNumber" ILIKE $3)
          ORDER BY "accountName", "accountKey", "branchCode"
          LIMIT ${SEARCH_LIMIT}`,
        [startOfToday().toISOString(), branchCode, pattern],
      );
      res.status(200).json(
        found.rows.map((a) => {
          const liens = Number(a.liens);
          return {
            ...a,
            currentBalance: Number(a.currentBalance),
            liens,
            restricted: Boolean(a.operationRestrictions?.trim()),
            hasLiens: liens > 0,
          };
        }),
      );
    }),
  );
  return router;
}
