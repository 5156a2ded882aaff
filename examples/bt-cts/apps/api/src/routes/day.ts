/**
 * Today's business day (`GET /api/day/current`). Like BT-CTS it *upserts* the row: the first
 * read of a day creates it (CLOSED, nothing loaded), so this read is a write, and a database
 * that refuses writes fails it.
 */
import { Router } from 'express';
import type pg from 'pg';
import { requireAuth } from '../auth.ts';
import { startOfToday } from '../business-day.ts';
import { utc } from '../db.ts';
import { handle } from '../http.ts';

interface DayRow {
  businessDate: Date;
  state: string;
  branchesLoaded: number;
  totalAccountsLoaded: number;
  ledgerRecordCount: number;
}

export function dayRouter(pool: pg.Pool): Router {
  const router = Router();
  router.get(
    '/day/current',
    requireAuth,
    handle(async (_req, res) => {
      const result = await pool.query<DayRow>(
        `INSERT INTO "DayCycle" ("businessDate", "updatedAt") VALUES (${utc('$1')}, CURRENT_TIMESTAMP)
         ON CONFLICT ("businessDate") DO UPDATE SET "businessDate" = EXCLUDED."businessDate"
         RETURNING "businessDate", "state", "branchesLoaded", "totalAccountsLoaded", "ledgerRecordCount"`,
        [startOfToday().toISOString()],
      );
      const day = result.rows[0];
      if (!day) throw new Error('the day cycle upsert returned no row');
      res.status(200).json({
        businessDate: day.businessDate.toISOString(),
        state: day.state,
        branchesLoaded: day.branchesLoaded,
        totalAccountsLoaded: day.totalAccountsLoaded,
        ledgerRecordCount: day.ledgerRecordCount,
      });
    }),
  );
  return router;
}
