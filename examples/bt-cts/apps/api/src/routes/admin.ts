/**
 * Admin operations: `POST /api/admin/ops/recovery-evaluate`, the app's own RPO/RTO verdict
 * (runbook step 8), for an ADMIN session only. Each evaluation is kept in the audit trail.
 */
import { Router } from 'express';
import type pg from 'pg';
import { writeAudit } from '../audit.ts';
import { requestContext, requireRole } from '../auth.ts';
import { handle } from '../http.ts';
import { evaluateRecovery, recoveryEvaluateSchema } from '../recovery-evaluate.ts';

export function adminRouter(pool: pg.Pool): Router {
  const router = Router();
  router.post(
    '/ops/recovery-evaluate',
    requireRole(['ADMIN']),
    handle(async (req, res) => {
      const parsed = recoveryEvaluateSchema.safeParse(req.body);
      if (!parsed.success) {
        res.status(400).json({ error: 'INVALID_INPUT' });
        return;
      }
      const outcome = evaluateRecovery(parsed.data);
      if (!outcome.ok) {
        res.status(400).json({ error: outcome.error });
        return;
      }
      await writeAudit(pool, {
        userId: req.session.user?.id ?? null,
        action: 'OPS_RECOVERY_EVALUATE',
        entityType: 'OPS',
        metadata: { ...parsed.data, ...outcome.evaluation },
        ...requestContext(req),
      });
      res.status(200).json(outcome.evaluation);
    }),
  );
  return router;
}
