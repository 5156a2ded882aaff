/**
 * Rows of the audit trail (`AuditLog`), written as BT-CTS writes them: who (userId), what
 * (action, entityType, entityId), the state before and after, and the request's origin.
 */
import type pg from 'pg';
import { newId } from './ids.ts';

export interface AuditEntry {
  readonly userId: string | null;
  readonly action: string;
  readonly entityType: string;
  readonly entityId?: string | null;
  readonly businessDate?: Date | null;
  readonly branchCode?: string | null;
  readonly beforeState?: unknown;
  readonly afterState?: unknown;
  readonly metadata?: unknown;
  readonly ipAddress?: string | null;
  readonly sessionId?: string | null;
}

const json = (value: unknown) => (value === undefined ? null : JSON.stringify(value));

export async function writeAudit(db: pg.Pool | pg.ClientBase, entry: AuditEntry): Promise<void> {
  await db.query(
    `INSERT INTO "AuditLog" ("id", "userId", "action", "entityType", "entityId", "businessDate", "branchCode",
                             "beforeState", "afterState", "metadata", "ipAddress", "sessionId")
     VALUES ($1, $2, $3, $4, $5, ($6::timestamptz AT TIME ZONE 'UTC'), $7, $8::jsonb, $9::jsonb, $10::jsonb, $11, $12)`,
    [
      newId(),
      entry.userId,
      entry.action,
      entry.entityType,
      entry.entityId ?? null,
      entry.businessDate?.toISOString() ?? null,
      entry.branchCode ?? null,
      json(entry.beforeState),
      json(entry.afterState),
      json(entry.metadata),
      entry.ipAddress ?? null,
      entry.sessionId ?? null,
    ],
  );
}
