/**
 * The app's own RPO/RTO verdict (`POST /api/admin/ops/recovery-evaluate`, runbook step 8). It is
 * BT-CTS's view, recorded beside recovery-drill's, so it computes from its payload alone:
 *   RPO = restorePointAt − backupCompletedAt   (data written after the backup point is lost)
 *   RTO = restoreCompletedAt − restorePointAt  (time from the moment restored to until service)
 * A target is met when the measured minutes are at most the target.
 */

export interface RecoveryEvaluateRequest {
  readonly backupCompletedAt: string;
  readonly restorePointAt: string;
  readonly restoreCompletedAt: string;
  readonly targetRpoMinutes: number;
  readonly targetRtoMinutes: number;
}

export interface Verdict {
  readonly measuredMinutes: number;
  readonly targetMinutes: number;
  readonly passed: boolean;
}

export interface RecoveryEvaluateResult {
  readonly rpo: Verdict;
  readonly rto: Verdict;
  readonly passed: boolean;
  readonly formula: { readonly rpo: string; readonly rto: string };
}

export interface FieldProblem {
  readonly field: string;
  readonly message: string;
}

const ISO_WITH_ZONE =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-](\d{2}):(\d{2}))$/;

/** Epoch ms of an ISO-8601 time with an explicit zone; null for anything else (no local-time guessing, no Feb 30). */
export function parseTimestamp(value: unknown): number | null {
  if (typeof value !== 'string') return null;
  const m = ISO_WITH_ZONE.exec(value);
  if (!m) return null;
  const [year, month, day, hour, minute, second, offH, offM] = m.slice(1).map((v) => Number(v ?? 0));
  if (month === undefined || day === undefined || year === undefined) return null;
  const lastDay = new Date(Date.UTC(year, month, 0)).getUTCDate();
  if (month < 1 || month > 12 || day < 1 || day > lastDay) return null;
  if ((hour ?? 0) > 23 || (minute ?? 0) > 59 || (second ?? 0) > 59 || (offH ?? 0) > 23 || (offM ?? 0) > 59)
    return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : ms;
}

function show(value: unknown): string {
  const json = JSON.stringify(value);
  if (json === undefined) return 'nothing';
  return json.length > 80 ? `${json.slice(0, 77)}...` : json;
}

const round = (minutes: number) => Math.round(minutes * 1000) / 1000;

/**
 * Validates the payload field by field (every problem, each naming its field and value) and
 * computes the verdicts.
 */
export function evaluateRecovery(
  body: unknown,
): { ok: true; result: RecoveryEvaluateResult } | { ok: false; problems: FieldProblem[] } {
  const problems: FieldProblem[] = [];
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    return {
      ok: false,
      problems: [{ field: 'body', message: `body: expected a JSON object; got ${show(body)}` }],
    };
  const input = body as Record<string, unknown>;

  const times: Record<string, number> = {};
  for (const field of ['backupCompletedAt', 'restorePointAt', 'restoreCompletedAt'] as const) {
    const ms = parseTimestamp(input[field]);
    if (ms === null)
      problems.push({
        field,
        message: `${field}: expected an ISO-8601 time with a zone, e.g. "2026-11-26T03:00:00Z"; got ${show(input[field])}`,
      });
    else times[field] = ms;
  }
  const targets: Record<string, number> = {};
  for (const field of ['targetRpoMinutes', 'targetRtoMinutes'] as const) {
    const value = input[field];
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > 525_600)
      problems.push({
        field,
        message: `${field}: expected a number of minutes above 0 (at most a year); got ${show(value)}`,
      });
    else targets[field] = value;
  }

  const backup = times.backupCompletedAt;
  const point = times.restorePointAt;
  const completed = times.restoreCompletedAt;
  if (backup !== undefined && point !== undefined && point < backup)
    problems.push({
      field: 'restorePointAt',
      message: `restorePointAt: must not be before backupCompletedAt (${show(input.backupCompletedAt)}); got ${show(input.restorePointAt)}`,
    });
  if (point !== undefined && completed !== undefined && completed < point)
    problems.push({
      field: 'restoreCompletedAt',
      message: `restoreCompletedAt: must not be before restorePointAt (${show(input.restorePointAt)}); got ${show(input.restoreCompletedAt)}`,
    });

  const rpoTarget = targets.targetRpoMinutes;
  const rtoTarget = targets.targetRtoMinutes;
  if (
    problems.length > 0 ||
    backup === undefined ||
    point === undefined ||
    completed === undefined ||
    rpoTarget === undefined ||
    rtoTarget === undefined
  )
    return { ok: false, problems };

  const rpoMinutes = round((point - backup) / 60_000);
  const rtoMinutes = round((completed - point) / 60_000);
  const rpo = { measuredMinutes: rpoMinutes, targetMinutes: rpoTarget, passed: rpoMinutes <= rpoTarget };
  const rto = { measuredMinutes: rtoMinutes, targetMinutes: rtoTarget, passed: rtoMinutes <= rtoTarget };
  return {
    ok: true,
    result: {
      rpo,
      rto,
      passed: rpo.passed && rto.passed,
      formula: {
        rpo: 'restorePointAt - backupCompletedAt',
        rto: 'restoreCompletedAt - restorePointAt',
      },
    },
  };
}
