/**
 * RPO and RTO of one drill, measured with the definitions in design.md ("Definitions"), so that
 * the AWS drill, the local drill and the report all compute the same numbers the same way.
 *
 * - T, targetTime: the moment RPO is measured from (a `latest` drill's start, else the chosen time).
 * - P, restorePointAt: the moment up to which the restored database holds every commit, from the
 *   engine (never the newest row: a quiet database loses nothing by being quiet).
 * - RPO measured (data-loss window) = T − P; RTO measured = readyAt − startedAt.
 * - The heartbeat, where set up, proves it by data: the newest beat at or before T in the copy is
 *   a commit it holds, so RPO ≤ T − beat. Missing or too old, it fails the RPO with the evidence.
 * A measured value passes when it is at most its target (the escalation is "over target").
 */
import { InputError } from './errors.ts';
import { ISO_WITH_ZONE_EXPECTED, MS_PER_MINUTE, minutesBetween, parseIsoWithZone, toIsoUtc } from './time.ts';

/**
 * How the engine knows P (design.md, Definitions):
 * - `latest-restorable-time`: RDS, a `latest` restore: the source's `LatestRestorableTime` read
 *   when the restore was requested (RDS restores at least that far with `UseLatestRestorableTime`).
 * - `requested-time`: a restore to a chosen time within the restorable window (RDS: at or before
 *   `LatestRestorableTime`; locally: within the archived WAL's coverage) holds every commit up to it.
 * - `archive-coverage`: local, a `latest` restore: the end of what the archive covers, the moment
 *   the engine made the source switch WAL and saw that segment archived.
 * - `replicated-latest-restorable-time`: RDS, a `latest` restore from the automated backups
 *   replicated to the copy region (`drill.from` `isolated-region`): their restore window's
 *   `LatestTime` when the restore was requested (what the copy region alone can reach).
 * - `snapshot-creation-time`: RDS, a restore of a copied snapshot (`isolated-snapshot`): the
 *   moment the source snapshot was taken (`OriginalSnapshotCreateTime`, which copying does not
 *   change). A snapshot holds no commit after it, so its RPO is T − that moment, whatever T is.
 */
export const RESTORE_POINT_SOURCES = [
  'latest-restorable-time',
  'requested-time',
  'archive-coverage',
  'replicated-latest-restorable-time',
  'snapshot-creation-time',
] as const;
export type RestorePointSource = (typeof RESTORE_POINT_SOURCES)[number];

/** Where P came from, in words for the report and the messages. */
export function describeRestorePointSource(
  source: RestorePointSource | null | undefined,
  mode: 'local' | 'aws' | null | undefined,
): string {
  switch (source) {
    case 'latest-restorable-time':
      return "the engine: the source's RDS LatestRestorableTime when the restore started (restored with UseLatestRestorableTime)";
    case 'requested-time':
      return mode === 'local'
        ? "the engine: the requested time, within the archived WAL's coverage"
        : "the engine: the requested time, within the restorable window (at or before the source's LatestRestorableTime)";
    case 'archive-coverage':
      return 'the engine: local archive coverage (the source switched WAL when the restore started, and the archive holds that segment)';
    case 'replicated-latest-restorable-time':
      return 'the engine: the latest restorable time of the automated backups replicated to the copy region when the restore started (restored from them with UseLatestRestorableTime)';
    case 'snapshot-creation-time':
      return 'the engine: the creation time of the copied snapshot restored (OriginalSnapshotCreateTime: the snapshot holds no commit after it)';
    default:
      return 'not reported by the engine';
  }
}

/** What the integrity step found of the heartbeat table in the restored copy. */
export interface HeartbeatReading {
  /** `<schema>.heartbeat`. */
  table: string;
  /** The table exists in the copy. */
  configured: boolean;
  /** Newest beat at or before T (ISO), or null. */
  newestAt: string | null;
  /** Beats at or before T. */
  count: number;
  /** Why the table could not be read (no privilege, no connection); null when it was. */
  error: string | null;
}

/** The heartbeat as the evaluation needs it: whether one is expected, and what the copy holds. */
export interface HeartbeatInput {
  /** Locally always; in AWS when `heartbeat.mode` is not `none`. */
  expected: boolean;
  /** When none is expected, why (the report says it), e.g. `heartbeat.mode is none`. */
  reason?: string | null;
  /** What the copy holds; null when it was not read. */
  reading: HeartbeatReading | null;
  /** The longest gap between two beats, in minutes (one beat interval: scheduling jitter). */
  intervalMinutes: number;
}

/** The heartbeat's verdict: the data-proven bound of the RPO, or why there is none. */
export interface HeartbeatProof {
  /**
   * `proven`: a beat at least as recent as `expectedBy`; `stale`: only older ones; `empty`: the
   * table holds no beat at or before T; `missing`: no table in the copy; `unreadable`: it could
   * not be read; `not-set-up`: none expected (engine RPO only).
   */
  status: 'proven' | 'stale' | 'empty' | 'missing' | 'unreadable' | 'not-set-up';
  expected: boolean;
  table: string | null;
  /** The newest beat at or before T found in the copy. */
  newestAt: string | null;
  /** T − RPO target − one beat interval: the newest beat must be at least this recent. */
  expectedBy: string | null;
  /** T − newest beat, in minutes: the RPO is at most this, proven by data. */
  boundMinutes: number | null;
  /** False only when a heartbeat is expected and the copy does not prove the RPO target. */
  passed: boolean;
  detail: string;
}

/** The runbook's objectives (config `targets`): the limits a drill is measured against. */
export interface Targets {
  rpoMinutes: number;
  rtoMinutes: number;
}

/** The moments a drill observed; everything is measured from these four (five) timestamps. */
export interface EvaluationInput {
  /** T: the moment RPO is measured from (a `latest` drill's start, else the chosen time). */
  targetTime: string;
  /** P: the moment up to which the restored database holds every commit (from the engine). */
  restorePointAt: string;
  /** How the engine knows P. */
  restorePointSource?: RestorePointSource | null;
  /**
   * A `latest` drill: T is its start and the restore began after it, so a P after T is no loss
   * and no surprise. For a chosen time a P after T means the restore went past what was asked.
   */
  latest?: boolean;
  startedAt: string;
  /** When every smoke check passed; null when the drill never got there. */
  readyAt: string | null;
  /** Newest timestamp found in the restored critical tables (informational only). */
  newestRowAt?: string | null;
  /** The heartbeat; absent or null: not evaluated (the report says so). */
  heartbeat?: HeartbeatInput | null;
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
  /** T, ISO UTC. */
  targetTime: string;
  /** P, ISO UTC. */
  restorePointAt: string;
  restorePointSource: RestorePointSource | null;
  rpoMinutes: number;
  rtoMinutes: number | null;
  /** The engine's RPO (T − P) against the target; the heartbeat's verdict is `heartbeat`. */
  rpo: { measuredMinutes: number; targetMinutes: number; passed: boolean };
  /** Not passed when the drill never became ready (`measuredMinutes` null). */
  rto: { measuredMinutes: number | null; targetMinutes: number; passed: boolean };
  /** The data-proven bound of the RPO; null when not evaluated. */
  heartbeat: HeartbeatProof | null;
  /** T − newestRowAt: how far the newest critical row lies behind T (informational: not a loss). */
  newestRowLagMinutes: number | null;
  warnings: string[];
  /** Informational, never a failure or a warning (e.g. a quiet source's old newest row). */
  notes: string[];
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
    if (!input.latest)
      warnings.push(
        `restorePointAt (${toIsoUtc(p)}) is after targetTime (${toIsoUtc(t)}): the restored data is newer than ` +
          'asked for; RPO counted as 0. Check that the restore used the requested target time.',
      );
    rpoMinutes = 0;
  }
  const rtoMinutes = ready === null ? null : minutesBetween(started, ready);
  const rpoPassed = rpoMinutes <= rpoTarget;
  // A snapshot's restore point is fixed when it is taken: say why the RPO cannot be met, so a
  // daily copy is not mistaken for a slow restore (the fix is PITR in the copy region).
  if (!rpoPassed && input.restorePointSource === 'snapshot-creation-time')
    warnings.push(
      `RPO ${rpoMinutes} min over the ${rpoTarget} min target: P is the restored snapshot's creation time (${toIsoUtc(p)}) and a snapshot holds no commit after it, ` +
        `so a restore of it loses everything between its creation and T (${toIsoUtc(t)}). Snapshots copied once a day cannot meet a target under a day; ` +
        'point-in-time recovery from the automated backups replicated to the copy region (drill.from "isolated-region") can.',
    );

  const heartbeat =
    input.heartbeat === null || input.heartbeat === undefined
      ? null
      : heartbeatProof(input.heartbeat, t, rpoTarget);

  const notes: string[] = [];
  let newestRowLagMinutes: number | null = null;
  if (newestRow !== null) {
    newestRowLagMinutes = minutesBetween(newestRow, t);
    // A quiet source is not missing data: only without a heartbeat is this worth a word, and then
    // only a note (the heartbeat is what proves the copy complete).
    if (newestRowLagMinutes > rpoTarget && heartbeat?.expected !== true)
      notes.push(
        `the newest critical row is ${newestRowLagMinutes} min older than T: without a heartbeat a quiet source and missing writes look alike; compare with the source if the source was busy then (informational, not a failure)`,
      );
  }

  return {
    targetTime: toIsoUtc(t),
    restorePointAt: toIsoUtc(p),
    restorePointSource: input.restorePointSource ?? null,
    rpoMinutes,
    rtoMinutes,
    rpo: { measuredMinutes: rpoMinutes, targetMinutes: rpoTarget, passed: rpoPassed },
    rto: {
      measuredMinutes: rtoMinutes,
      targetMinutes: rtoTarget,
      passed: rtoMinutes !== null && rtoMinutes <= rtoTarget,
    },
    heartbeat,
    newestRowLagMinutes,
    warnings,
    notes,
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

/** Whether the RPO is met: the engine's T − P within the target, and the heartbeat not against it. */
export function rpoMet(evaluation: Pick<Evaluation, 'rpo' | 'heartbeat'>): boolean {
  return evaluation.rpo.passed && evaluation.heartbeat?.passed !== false;
}

/**
 * The heartbeat's verdict at T. Expected beats every `intervalMinutes`: the newest one at or before
 * T must be no older than T − RPO target − one interval (a beat due just before T may not have run
 * yet); anything less is a restore that lost what the target allows it to lose, or a heartbeat
 * that stopped, and either way the RPO is not proven.
 */
function heartbeatProof(input: HeartbeatInput, t: number, rpoTarget: number): HeartbeatProof {
  const table = input.reading?.table ?? null;
  if (!input.expected)
    return {
      status: 'not-set-up',
      expected: false,
      table,
      newestAt: null,
      expectedBy: null,
      boundMinutes: null,
      passed: true,
      detail: `not proven by data: ${input.reason ?? 'no heartbeat is set up'}; the RPO is the engine's alone`,
    };
  const interval = target('heartbeat.intervalMinutes', input.intervalMinutes);
  const expectedByMs = t - (rpoTarget + interval) * MS_PER_MINUTE;
  const expectedBy = toIsoUtc(expectedByMs);
  const base = { expected: true, table, expectedBy };
  const reading = input.reading;
  if (reading === null || reading.error)
    return {
      ...base,
      status: 'unreadable',
      newestAt: null,
      boundMinutes: null,
      passed: false,
      detail: `the heartbeat in the restored copy could not be read${reading?.error ? `: ${reading.error}` : ' (not read)'}: the RPO is not proven`,
    };
  if (!reading.configured)
    return {
      ...base,
      status: 'missing',
      newestAt: null,
      boundMinutes: null,
      passed: false,
      detail: `the heartbeat table ${reading.table} is not in the restored copy: expected a beat at or after ${expectedBy}`,
    };
  const newest = reading.newestAt === null ? null : instant('heartbeat.newestAt', reading.newestAt);
  if (newest === null)
    return {
      ...base,
      status: 'empty',
      newestAt: null,
      boundMinutes: null,
      passed: false,
      detail: `the heartbeat table ${reading.table} in the restored copy holds no beat at or before T (${toIsoUtc(t)}): expected one at or after ${expectedBy}`,
    };
  const boundMinutes = Math.max(0, minutesBetween(newest, t));
  const newestAt = toIsoUtc(newest);
  if (newest < expectedByMs)
    return {
      ...base,
      status: 'stale',
      newestAt,
      boundMinutes,
      passed: false,
      detail: `the restored copy's newest heartbeat at or before T is ${newestAt}, ${boundMinutes} min before T: older than ${expectedBy} (T − RPO target ${rpoTarget} min − one beat interval ${interval} min); commits before T are missing, or the heartbeat had stopped`,
    };
  return {
    ...base,
    status: 'proven',
    newestAt,
    boundMinutes,
    passed: true,
    detail: `RPO ≤ ${boundMinutes} min, proven by data: the restored copy's newest heartbeat at or before T is ${newestAt} (${reading.count} beat(s); expected at or after ${expectedBy})`,
  };
}
