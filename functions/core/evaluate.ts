/**
 * RPO and RTO of one drill, measured with the definitions in design.md ("Definitions"), so that
 * the AWS drill, the local drill and the report all compute the same numbers the same way.
 *
 * - RPO measured (data-loss window) = targetTime T − restorePointAt P.
 * - RTO measured = readyAt (every smoke check passed) − startedAt (drill start).
 * A measured value passes when it is at most its target (the escalation is "over target").
 */
import { InputError } from './errors.ts';
import { ISO_WITH_ZONE_EXPECTED, minutesBetween, parseIsoWithZone, toIsoUtc } from './time.ts';

/** The runbook's objectives (config `targets`): the limits a drill is measured against. */
export interface Targets {
  rpoMinutes: number;
  rtoMinutes: number;
}

/** The moments a drill observed; everything is measured from these four (five) timestamps. */
export interface EvaluationInput {
  /** T: the moment the drill restored to (a concrete time: "latest" resolved at drill start). */
  targetTime: string;
  /** P: the newest moment whose committed data the restored database holds. */
  restorePointAt: string;
  startedAt: string;
  /** When every smoke check passed; null when the drill never got there. */
  readyAt: string | null;
  /** Newest timestamp found in the restored critical tables (cross-check of P). */
  newestRowAt?: string | null;
  targets: Targets;
}

/**
 * Body of the app's `POST /api/admin/ops/recovery-evaluate` (runbook restore step 8), mapped so the
 * app's own arithmetic (BT-CTS: RPO = backupCompletedAt − restorePointAt, RTO = restoreCompletedAt −
 * backupCompletedAt, both rounded to 2 decimals) measures what `evaluateRecovery` measures
 * (design.md, Definitions). Times are ISO 8601 UTC with `Z`, the only form the app accepts.
 */
export interface RecoveryEvaluatePayload {
  /** T, the moment RPO and RTO are measured from. */
  backupCompletedAt: string;
  /** P, the restore point; never after T (a P after T is counted as no loss, so the app sees 0 too, not a negative RPO it refuses). */
  restorePointAt: string;
  /** readyAt: every smoke check passed. */
  restoreCompletedAt: string;
  targetRpoMinutes: number;
  targetRtoMinutes: number;
}

/** Our verdict on a drill's RPO and RTO, with the numbers an auditor checks it by. */
export interface Evaluation {
  rpoMinutes: number;
  rtoMinutes: number | null;
  rpo: { measuredMinutes: number; targetMinutes: number; passed: boolean };
  /** Not passed when the drill never became ready (`measuredMinutes` null). */
  rto: { measuredMinutes: number | null; targetMinutes: number; passed: boolean };
  /** T − newestRowAt: how far the newest critical row lies behind the target (cross-check). */
  newestRowLagMinutes: number | null;
  warnings: string[];
  /** Null when the drill never became ready: there is no restore completion to report. */
  recoveryEvaluatePayload: RecoveryEvaluatePayload | null;
}

function instant(field: string, value: unknown): number {
  const ms = parseIsoWithZone(value);
  if (ms === null) throw new InputError(field, value, ISO_WITH_ZONE_EXPECTED);
  return ms;
}

function target(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)
    throw new InputError(field, value, 'a positive number of minutes');
  return value;
}

/**
 * Measures a drill against its targets.
 * @throws InputError naming the field when a time is unreadable, readyAt precedes startedAt or a
 *   target is not a positive number.
 */
export function evaluateRecovery(input: EvaluationInput): Evaluation {
  const t = instant('targetTime', input.targetTime);
  const p = instant('restorePointAt', input.restorePointAt);
  const started = instant('startedAt', input.startedAt);
  const ready = input.readyAt === null ? null : instant('readyAt', input.readyAt);
  const newestRow =
    input.newestRowAt === null || input.newestRowAt === undefined
      ? null
      : instant('newestRowAt', input.newestRowAt);
  const rpoTarget = target('targets.rpoMinutes', input.targets?.rpoMinutes);
  const rtoTarget = target('targets.rtoMinutes', input.targets?.rtoMinutes);
  if (ready !== null && ready < started)
    throw new InputError('readyAt', input.readyAt, `a time at or after startedAt (${input.startedAt})`);

  const warnings: string[] = [];
  let rpoMinutes = minutesBetween(p, t);
  if (rpoMinutes < 0) {
    warnings.push(
      `restorePointAt (${toIsoUtc(p)}) is after targetTime (${toIsoUtc(t)}): the restored data is newer than ` +
        'asked for; RPO counted as 0. Check that the restore used the requested target time.',
    );
    rpoMinutes = 0;
  }
  const rtoMinutes = ready === null ? null : minutesBetween(started, ready);

  let newestRowLagMinutes: number | null = null;
  if (newestRow !== null) {
    newestRowLagMinutes = minutesBetween(newestRow, t);
    if (newestRow > p)
      warnings.push(
        `newest critical row (${toIsoUtc(newestRow)}) is after the restore point (${toIsoUtc(p)}): ` +
          'the restore point is understated or rows carry future timestamps.',
      );
    if (newestRowLagMinutes > rpoTarget)
      warnings.push(
        `newest critical row is ${newestRowLagMinutes} min older than the target time (RPO target ${rpoTarget} min): ` +
          'either the source was quiet or writes are missing from the backup; compare with the source database.',
      );
  }

  return {
    rpoMinutes,
    rtoMinutes,
    rpo: { measuredMinutes: rpoMinutes, targetMinutes: rpoTarget, passed: rpoMinutes <= rpoTarget },
    rto: {
      measuredMinutes: rtoMinutes,
      targetMinutes: rtoTarget,
      passed: rtoMinutes !== null && rtoMinutes <= rtoTarget,
    },
    newestRowLagMinutes,
    warnings,
    recoveryEvaluatePayload:
      ready === null
        ? null
        : {
            backupCompletedAt: toIsoUtc(t),
            restorePointAt: toIsoUtc(Math.min(p, t)),
            restoreCompletedAt: toIsoUtc(ready),
            targetRpoMinutes: rpoTarget,
            targetRtoMinutes: rtoTarget,
          },
  };
}
