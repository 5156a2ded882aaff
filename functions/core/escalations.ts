/**
 * What to escalate, how loudly, and what the on-call engineer does first (runbook "Failure
 * Escalation" and design.md "Escalation classes"). The classes are a contract: SNS message
 * attributes, Step Functions error names and dashboards match on them.
 */
import { DRILL_STEP_REGISTRY, type DrillReportStep } from './drill-steps.ts';
import { type Evaluation, rpoMet } from './evaluate.ts';
import { redactCredentials } from './redact.ts';

/** Every class, in the order reports list them (the runbook's four first). A contract: SNS attributes and alarms match on these. */
export const ESCALATION_CLASSES = [
  'READY_NOT_OK',
  'MIGRATION_FAILED',
  'AUTH_WRITE_FAILED',
  'INTEGRITY_FAILED',
  'SMOKE_FAILED',
  'RPO_BREACHED',
  'RTO_BREACHED',
  'RESTORE_FAILED',
  'BACKUP_FAILED',
  'BACKUP_STALE',
  'PRUNE_BLOCKED',
  'CLEANUP_FAILED',
] as const;
export type EscalationClass = (typeof ESCALATION_CLASSES)[number];

/** critical: page now (recovery is not proven or not possible); high: today; warning: this week. */
export type Severity = 'critical' | 'high' | 'warning';
/** Most urgent first, so notifiers can sort and pick a subject prefix. */
export const SEVERITIES: readonly Severity[] = ['critical', 'high', 'warning'];

/** The fixed part of an escalation: what the class means and what to do first. */
export interface EscalationRule {
  class: EscalationClass;
  severity: Severity;
  title: string;
  /** When the class is raised. */
  when: string;
  /** Where in the runbook this comes from. */
  runbookStep: string;
  /** First thing to do, for an engineer who has never seen this project. */
  remediation: string;
  /**
   * The first thing to do when the drill ran on the local engine (embedded PostgreSQL, child
   * processes, files): local evidence (the report, `drills/<drill id>/` logs, `local status`),
   * never the RDS console. Absent where the AWS text holds locally too.
   */
  localRemediation?: string;
  /** What a healthy run shows instead (the "expected" column of a drill's deviations). */
  expected: string;
}

/** One table of severity, runbook step and first action per class, so every publisher says the same thing. */
export const ESCALATION_RULES: Readonly<Record<EscalationClass, EscalationRule>> = {
  READY_NOT_OK: {
    class: 'READY_NOT_OK',
    severity: 'critical',
    title: 'API not ready after restore',
    when: '/health/ready still answers non-200 (e.g. 503) within smoke.readyBudgetSeconds after the app started on the restored database',
    runbookStep: 'Failure Escalation 1; Restore Procedure 5',
    remediation:
      'Read the body of GET /health/ready in the drill report (BT-CTS answers 503 with `checks.database` and ' +
      '`checks.sessionStore`: it runs SELECT 1 and writes, reads and deletes a probe session), then the app task logs; ' +
      'if the app process ended, the report quotes its exit code and last log lines. Usual causes: the app cannot reach ' +
      'the restored database (security group, secret), or the session table (smoke.sessionTable, `session`) refuses writes.',
    localRemediation:
      "Read the readiness step in the report (the body of GET /health/ready; the app's exit code and last log lines when it ended), then the app's whole log, `drills/<drill id>/app.log` in the state folder. Usual causes: the app cannot reach the restored database (`DATABASE_URL`, app.env), or the session table (smoke.sessionTable) refuses writes.",
    expected: '/health/ready answers 200 within the readiness budget',
  },
  MIGRATION_FAILED: {
    class: 'MIGRATION_FAILED',
    severity: 'critical',
    title: 'Migration deploy failed on the restored database',
    when: 'schema drift was detected and the migrate command (prisma migrate deploy) failed',
    runbookStep: 'Failure Escalation 2; Restore Procedure 4',
    remediation:
      'Open the migrate task log in the drill report and find the failing migration in _prisma_migrations ' +
      '(finished_at is null, logs holds the SQL error). Fix the migration in the app repository; never edit ' +
      'production data by hand to make a drill pass.',
    localRemediation:
      "Read the migrate command's log, `drills/<drill id>/migrate.log` in the state folder (the report quotes its last lines), and find the failing migration in _prisma_migrations (finished_at is null). Fix the migration in the app repository; never edit the source's data by hand to make a drill pass.",
    expected: 'pending migrations apply cleanly and _prisma_migrations matches the captured migrations',
  },
  AUTH_WRITE_FAILED: {
    class: 'AUTH_WRITE_FAILED',
    severity: 'critical',
    title: 'Admin login or session write failed after restore',
    when: 'POST to the login path did not return a session (the session row could not be written)',
    runbookStep: 'Failure Escalation 3; Restore Procedure 6 (login as admin)',
    remediation:
      'Check the login response status in the drill report: 401 means the admin credentials in the drill secret ' +
      'do not match the restored users (403 LOCKED: five failed logins lock the user for 15 minutes); 500 means the ' +
      "session store's table (smoke.sessionTable; BT-CTS: `session`, created by connect-pg-simple at start) is not " +
      'writable (read-only database, missing table, a trigger). Confirm with the app logs of the drill task.',
    localRemediation:
      "Check the login response in the report: 401 means the admin password on record (the state folder's `source/credentials.json`) does not match the restored users; 500 means the session table (smoke.sessionTable) is not writable. Confirm with the app's log, `drills/<drill id>/app.log` in the state folder.",
    expected: 'admin login succeeds and writes a session',
  },
  INTEGRITY_FAILED: {
    class: 'INTEGRITY_FAILED',
    severity: 'critical',
    title: 'Critical table integrity check failed',
    when: "a critical table (User, Account, Transaction, AuditLog) is missing, empty, has orphaned references or rows after T (the drill's own writes left out)",
    runbookStep: 'Failure Escalation 4',
    remediation:
      'The report names the table and the failed check. Compare row counts and the newest timestamps with the ' +
      'production database. Treat it as possible data loss until explained: keep the failing snapshot, do not prune.',
    localRemediation:
      'The report names the table and the failed check. Compare row counts and the newest timestamps with the local source (`recovery-drill local source url`). Treat it as possible data loss until explained: keep the backup and the archived WAL, do not prune.',
    expected: 'every critical table present, non-empty, referentially whole and nothing in it after T',
  },
  SMOKE_FAILED: {
    class: 'SMOKE_FAILED',
    severity: 'high',
    title: 'Smoke check failed after restore',
    when: 'account search or the business-day state read (/api/day/current) failed',
    runbookStep: 'Restore Procedure 6',
    remediation:
      'Call the failing path yourself against the drill URL in the report if the instance still exists; ' +
      'check the tables behind it (smoke.accountSearchTable and smoke.dayStateTable; BT-CTS: `Account`, whose ' +
      'search lists only accounts loaded today, and `DayCycle`, which the day read upserts) and that the app log ' +
      'shows no query errors.',
    localRemediation:
      "Rerun the drill with `--keep` and call the failing path yourself against the app; check the tables behind it (smoke.accountSearchTable, smoke.dayStateTable) in the kept database and the app's log, `drills/<drill id>/app.log` in the state folder, for query errors.",
    expected: 'account search and /api/day/current answer 200 with data',
  },
  RPO_BREACHED: {
    class: 'RPO_BREACHED',
    severity: 'high',
    title: 'Recovery point objective missed',
    when: 'measured data-loss window (T minus the restore point P) is over targets.rpoMinutes, or the heartbeat is set up and the restored copy lacks a beat recent enough to prove it',
    runbookStep: 'Objectives (RPO < 1 hour); Restore Procedure 7',
    remediation:
      'Check the source instance in the RDS console: LatestRestorableTime should lag by at most ~5 minutes. ' +
      'A large lag means transaction logs are not being archived (instance storage full, backups disabled, ' +
      'backup retention set to 0). Restore automated backups before anything else. When the heartbeat is ' +
      'what failed, compare the newest heartbeat in the source with the evidence: beats missing from the copy ' +
      'are commits lost by the restore; beats missing from the source mean the heartbeat writer stopped (its alarm, its log).',
    localRemediation:
      "Run `recovery-drill local status`: it shows archiving failures (the source's `source/postgres.log` says why), the newest archived commit and the restorable window. The local bound is local.archiveTimeoutSeconds; a larger gap means WAL is not being archived.",
    expected:
      'data-loss window at most the RPO target, and (where a heartbeat is set up) a beat in the copy no older than T − RPO target − one beat interval',
  },
  RTO_BREACHED: {
    class: 'RTO_BREACHED',
    severity: 'high',
    title: 'Recovery time objective missed',
    when: 'time from drill start until every smoke check passed is over targets.rtoMinutes',
    runbookStep: 'Objectives (RTO < 30 minutes); Restore Procedure 7',
    remediation:
      'Read the step timings in the drill report to find the slow step (usually the restore wait or the migrate ' +
      'task). A slow restore points to instance class or storage size; record it as a deviation and review the ' +
      'target or the drill instance class.',
    expected: 'recovery completed within the RTO target',
  },
  RESTORE_FAILED: {
    class: 'RESTORE_FAILED',
    severity: 'critical',
    title: 'Restore failed',
    when: 'the point-in-time restore, the wait for the instance or the connection to it failed or timed out',
    runbookStep: 'Restore Procedure 1-3',
    remediation:
      'Look up the drill instance in the RDS console (name starts with the drill prefix) and read its events. ' +
      'Common causes: target time outside the restorable window, instance quota reached, KMS key not usable, ' +
      'subnet group missing. Run a new drill with targetTime "latest" once fixed.',
    localRemediation:
      "Read the restore step in the report: it leads with the server's own FATAL line. The failed restore's whole server log is kept as `drills/<drill id>/restore-postgres.log` in the state folder once the instance is removed; `recovery-drill local status` shows the backups and the restorable window. Fix the cause (a damaged backup or archive, a target outside the window, a full disk), then run a new drill to latest.",
    expected: 'a restored instance available and reachable within the restore timeout',
  },
  BACKUP_FAILED: {
    class: 'BACKUP_FAILED',
    severity: 'high',
    title: 'Backup failed',
    when: 'the daily snapshot, its isolated copy or its S3 export failed',
    runbookStep: 'Backup Policy 1 and 4',
    remediation:
      "Read the snapshot function's log for the RDS error. Check snapshot quota, the KMS key policy in the copy " +
      'region, and that the source instance is available. Then invoke the snapshot function by hand: it is ' +
      'idempotent per day.',
    localRemediation:
      "Read the prepare step in the report: it names what failed (starting the source, or the backup, e.g. ENOSPC: a full disk under the state folder). Free space or fix the cause, check `recovery-drill local status` and the source's `source/postgres.log` in the state folder, then run `recovery-drill local backup` by hand.",
    expected: "today's snapshot created and copied to the isolated location",
  },
  BACKUP_STALE: {
    class: 'BACKUP_STALE',
    severity: 'critical',
    title: 'Backups are stale: RPO at risk now',
    when: 'the point-in-time restore lag or the age of the newest snapshot is over the RPO target, in the source region or in the copy region (one incident each; the message names which)',
    runbookStep: 'Objectives (RPO < 1 hour); Backup Policy 2',
    remediation:
      'Source region: in the RDS console check the source instance status and backup retention (must be > 0) and its events for ' +
      'log archiving errors (storage full, instance stopped). Copy region: in the RDS console of that region check ' +
      'Automated backups, Replicated (the snapshot function starts the replication; its log says why it could not) and the ' +
      'snapshot copies. Until fixed, production can lose more data than the RPO allows: tell the service owner.',
    localRemediation:
      'Run `recovery-drill local status`: the source must be running and archiving (failures and the newest archived commit are shown; `source/postgres.log` in the state folder says why archiving fails). Start it with `recovery-drill local source start`.',
    expected: 'restorable-time lag and newest snapshot age within the RPO target',
  },
  PRUNE_BLOCKED: {
    class: 'PRUNE_BLOCKED',
    severity: 'warning',
    title: 'Snapshot pruning refused',
    when: 'pruning deleted nothing because the listing was incomplete or a safety limit was hit',
    runbookStep: 'Backup Policy 3 (35 daily + 12 monthly)',
    remediation:
      'Nothing was deleted, so no restore point is at risk. Read the plan stored in the backup bucket ' +
      '(`blocked` says why); a repeating listing failure usually means throttling or a missing ' +
      'rds:DescribeDBSnapshots permission. Storage cost grows until it is fixed.',
    expected: 'a complete snapshot listing and a prune within the deletion cap',
  },
  CLEANUP_FAILED: {
    class: 'CLEANUP_FAILED',
    severity: 'high',
    title: 'Drill resources left behind',
    when: 'a drill instance, task or secret could not be removed',
    runbookStep: 'Quarterly Recovery Drill 1 (non-production environment)',
    remediation:
      'A copy of production data is still running. Find resources tagged with this drill id (name starts with the ' +
      'drill prefix) and delete them; `recovery-drill` cleanup refuses anything without the drill tag, so a ' +
      'manual delete must check the tag too. Disable deletion protection first if it is set.',
    localRemediation:
      "A copy of the source's data may still run: `recovery-drill local status` lists the restored instances; `recovery-drill local cleanup` stops and removes them (it leaves a running drill alone unless --force) and removes leftover drill secrets.",
    expected: 'every drill resource removed',
  },
};

type EvidenceValue = string | number | boolean | null;

/** What reaches the on-call engineer: enough to act without opening the code or the console first. */
export interface Escalation {
  class: EscalationClass;
  severity: Severity;
  /** Drill id or job id. */
  id: string;
  /** What was observed. */
  message: string;
  runbookStep: string;
  remediation: string;
  evidence: Record<string, EvidenceValue>;
}

function redactEvidence(evidence: Record<string, EvidenceValue>): Record<string, EvidenceValue> {
  const out: Record<string, EvidenceValue> = {};
  for (const [key, value] of Object.entries(evidence))
    out[key] = typeof value === 'string' ? redactCredentials(value) : value;
  return out;
}

/** The first action for a class where the drill ran: local evidence for the local engine. */
export function remediationFor(cls: EscalationClass, mode: 'local' | 'aws' | null = null): string {
  const rule = ESCALATION_RULES[cls];
  return mode === 'local' ? (rule.localRemediation ?? rule.remediation) : rule.remediation;
}

/**
 * Builds an escalation from its class's rule; credentials in the message or evidence are masked.
 * @param mode `local`: the remediation points to local evidence, not the AWS console.
 */
export function createEscalation(
  cls: EscalationClass,
  id: string,
  message: string,
  evidence: Escalation['evidence'] = {},
  mode: 'local' | 'aws' | null = null,
): Escalation {
  const rule = ESCALATION_RULES[cls];
  if (!rule) throw new TypeError(`unknown escalation class ${JSON.stringify(cls)}`);
  return {
    class: cls,
    severity: rule.severity,
    id,
    message: redactCredentials(message),
    runbookStep: rule.runbookStep,
    remediation: remediationFor(cls, mode),
    evidence: redactEvidence(evidence),
  };
}

/**
 * The report's step names, in drill order, derived from the step registry (`drill-steps.ts`,
 * where each is paired with its state name, step key and result path).
 */
export const DRILL_STEPS: readonly DrillReportStep[] = [...new Set(DRILL_STEP_REGISTRY.map((s) => s.report))];
/**
 * The local engine's step before the state machine runs: start the source and take a backup if
 * none is recent (what the scheduled backup jobs do in AWS). A report lists it only when it failed.
 */
export const PREPARE_STEP = 'prepare';
export type DrillStepName = DrillReportStep | typeof PREPARE_STEP;

/** What one drill step did, as the report and the escalations need it. */
export interface StepOutcome {
  name: DrillStepName;
  startedAt: string;
  endedAt: string;
  /** `warning`: something optional went wrong (e.g. the app's recovery-evaluate endpoint is down). */
  outcome: 'passed' | 'failed' | 'skipped' | 'warning';
  detail: string;
  evidence?: Record<string, EvidenceValue>;
}

/**
 * Which class a failed step raises (the registry's `escalation` column). Steps without one
 * (validate, evaluate, report, notify) raise none: a refused input created nothing, and the others
 * fail the drill without a runbook class.
 */
export const STEP_ESCALATION: Readonly<Partial<Record<DrillStepName, EscalationClass>>> = {
  // Locally the drill makes its own restore point first: without it there is nothing to restore.
  [PREPARE_STEP]: 'BACKUP_FAILED',
  ...Object.fromEntries(
    DRILL_STEP_REGISTRY.flatMap((s) => (s.escalation === null ? [] : [[s.report, s.escalation]])),
  ),
};

/**
 * Turns a drill's step outcomes and its evaluation into escalations: one per class (a class raised
 * by several steps names each of them), in the order of ESCALATION_CLASSES.
 */
export function escalationsFromOutcomes(
  drillId: string,
  steps: StepOutcome[],
  evaluation: Evaluation | null,
  mode: 'local' | 'aws' | null = null,
): Escalation[] {
  const byClass = new Map<EscalationClass, StepOutcome[]>();
  for (const step of steps) {
    if (step.outcome !== 'failed') continue;
    const cls = STEP_ESCALATION[step.name];
    if (!cls) continue;
    const list = byClass.get(cls);
    if (list) list.push(step);
    else byClass.set(cls, [step]);
  }
  const found = new Map<EscalationClass, Escalation>();
  for (const [cls, failed] of byClass) {
    const evidence: Record<string, EvidenceValue> = { failedSteps: failed.map((s) => s.name).join(', ') };
    for (const step of failed) {
      evidence[`${step.name}.startedAt`] = step.startedAt;
      evidence[`${step.name}.endedAt`] = step.endedAt;
      for (const [key, value] of Object.entries(step.evidence ?? {})) evidence[`${step.name}.${key}`] = value;
    }
    const message = failed.map((s) => `${s.name} failed: ${s.detail}`).join('; ');
    found.set(cls, createEscalation(cls, drillId, message, evidence, mode));
  }
  if (evaluation && !rpoMet(evaluation)) {
    const { measuredMinutes, targetMinutes } = evaluation.rpo;
    const heartbeat = evaluation.heartbeat;
    const said: string[] = [];
    if (!evaluation.rpo.passed)
      said.push(
        `data-loss window ${measuredMinutes} min (T ${evaluation.targetTime} − P ${evaluation.restorePointAt}) is over the RPO target of ${targetMinutes} min`,
      );
    if (heartbeat && !heartbeat.passed) said.push(`heartbeat: ${heartbeat.detail}`);
    found.set(
      'RPO_BREACHED',
      createEscalation(
        'RPO_BREACHED',
        drillId,
        said.join('; '),
        {
          rpoMinutes: measuredMinutes,
          targetRpoMinutes: targetMinutes,
          targetTime: evaluation.targetTime,
          restorePointAt: evaluation.restorePointAt,
          restorePointSource: evaluation.restorePointSource,
          ...(heartbeat?.expected
            ? {
                heartbeat: heartbeat.status,
                newestHeartbeatAt: heartbeat.newestAt,
                heartbeatExpectedBy: heartbeat.expectedBy,
              }
            : {}),
        },
        mode,
      ),
    );
  }
  if (evaluation && !evaluation.rto.passed && evaluation.rto.measuredMinutes !== null) {
    const { measuredMinutes, targetMinutes } = evaluation.rto;
    found.set(
      'RTO_BREACHED',
      createEscalation(
        'RTO_BREACHED',
        drillId,
        `recovery took ${measuredMinutes} min, over the RTO target of ${targetMinutes} min`,
        { rtoMinutes: measuredMinutes, targetRtoMinutes: targetMinutes },
        mode,
      ),
    );
  }
  return ESCALATION_CLASSES.flatMap((cls) => {
    const e = found.get(cls);
    return e ? [e] : [];
  });
}
