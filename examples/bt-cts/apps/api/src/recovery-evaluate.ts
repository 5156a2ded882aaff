/**
 * The app's own RPO/RTO verdict (`POST /api/admin/ops/recovery-evaluate`), computed as BT-CTS
 * computes it, so a drill against the stand-in records the same numbers it would get from the
 * real app:
 *   RPO = backupCompletedAt − restorePointAt      (what the restore point is behind the backup moment)
 *   RTO = restoreCompletedAt − backupCompletedAt  (from that moment until the service was back)
 * in minutes rounded to 2 decimals; a negative one is refused. A target is met when the measured
 * minutes are at most the target.
 */
import { z } from 'zod';

/**
 * The payload as BT-CTS validates it: the three times are ISO-8601 UTC with a `Z` (an offset such
 * as `+02:00` is refused), the targets numbers (numeric strings too) above 0, 60 and 30 by default.
 */
export const recoveryEvaluateSchema = z.object({
  backupCompletedAt: z.iso.datetime(),
  restorePointAt: z.iso.datetime(),
  restoreCompletedAt: z.iso.datetime(),
  targetRpoMinutes: z.coerce.number().positive().default(60),
  targetRtoMinutes: z.coerce.number().positive().default(30),
});

export type RecoveryEvaluateInput = z.output<typeof recoveryEvaluateSchema>;

export interface RecoveryEvaluation {
  readonly measured: { readonly rpoMinutes: number; readonly rtoMinutes: number };
  readonly target: { readonly rpoMinutes: number; readonly rtoMinutes: number };
  readonly pass: { readonly rpo: boolean; readonly rto: boolean };
  readonly overallPass: boolean;
}

/** Why a valid payload still cannot be evaluated: the times are in an impossible order. */
export type RecoveryEvaluateRefusal = 'INVALID_SEQUENCE_RPO_NEGATIVE' | 'INVALID_SEQUENCE_RTO_NEGATIVE';

/** Minutes between two instants, rounded to 2 decimals as the app answers them. */
function minutesBetween(later: string, earlier: string): number {
  // `+ 0` turns a -0 (a tiny negative rounded away) into 0.
  return Number(((Date.parse(later) - Date.parse(earlier)) / 60_000).toFixed(2)) + 0;
}

export function evaluateRecovery(
  input: RecoveryEvaluateInput,
): { ok: true; evaluation: RecoveryEvaluation } | { ok: false; error: RecoveryEvaluateRefusal } {
  const rpoMinutes = minutesBetween(input.backupCompletedAt, input.restorePointAt);
  const rtoMinutes = minutesBetween(input.restoreCompletedAt, input.backupCompletedAt);
  // On the rounded value, as the app does: -0.004 minutes rounds to 0 and passes.
  if (rpoMinutes < 0) return { ok: false, error: 'INVALID_SEQUENCE_RPO_NEGATIVE' };
  if (rtoMinutes < 0) return { ok: false, error: 'INVALID_SEQUENCE_RTO_NEGATIVE' };
  const pass = { rpo: rpoMinutes <= input.targetRpoMinutes, rto: rtoMinutes <= input.targetRtoMinutes };
  return {
    ok: true,
    evaluation: {
      measured: { rpoMinutes, rtoMinutes },
      target: { rpoMinutes: input.targetRpoMinutes, rtoMinutes: input.targetRtoMinutes },
      pass,
      overallPass: pass.rpo && pass.rto,
    },
  };
}
