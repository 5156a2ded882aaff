/**
 * The restore drill's steps, one function each, over the ports in `ports.ts`. The same code runs
 * in the drill's Lambda functions (AWS adapters) and in the local engine (local adapters); the
 * state machine passes `{ step, state, execution }` and stores each result in the execution
 * state. A step that fails throws a named error: the state machine catches it, records it under
 * `$.failures.<step>` and goes to cleanup.
 *
 * Nothing a step returns holds a password, a session cookie or a token: only references (the
 * login step keeps the admin's session in the drill secret for the later checks).
 */
import { type DriftReport, describeDrift, detectDrift } from '../core/drift.ts';
import { validateDrillInput } from '../core/drill-input.ts';
import { type Escalation, PREPARE_STEP, type StepOutcome } from '../core/escalations.ts';
import {
  type Evaluation,
  evaluateRecovery,
  type HeartbeatReading,
  type RestorePointSource,
  rpoMet,
} from '../core/evaluate.ts';
import {
  heartbeatIntervalMinutes,
  heartbeatTableName,
  LOCAL_HEARTBEAT_INTERVAL_MINUTES,
} from '../core/heartbeat.ts';
import { nextPollSeconds } from '../core/polling.ts';
import { redactCredentials } from '../core/redact.ts';
import {
  type AppVerdict,
  type BuildReportArgs,
  buildReport,
  type DrillInterruption,
  type DrillReport,
  describeAppVerdict,
  renderReportMarkdown,
  summaryLine,
} from '../core/report.ts';
import { newestHeartbeat } from '../shared/heartbeat-db.ts';
import { whileAppRuns } from './app-exit.ts';
import { drillInstanceId } from './drill-id.ts';
import { checkIntegrity, type IntegrityResult } from './integrity.ts';
import { DRILL_ID_TAG, type InstanceDescription } from './ports/database-recovery.ts';
import type { ConnectionInfo, DrillDeps } from './ports/drill-deps.ts';
import { causeText, DrillStepError } from './ports/errors.ts';
import { readAppliedMigrationsAt } from './prisma.ts';
import {
  errorCodeOf,
  excerpt,
  getJson,
  type HttpResult,
  login,
  type SmokeAuth,
  SmokeCheckError,
  SmokeSession,
  waitFor200,
} from './smoke.ts';
import { DRILL_TASK_STEPS, type DrillTaskStep, TASK_STATES } from './states.ts';

// Re-exported: callers name them from the steps as they always did.
export { drillInstanceId, newDrillId } from './drill-id.ts';
export { causeText, DrillStepError } from './ports/errors.ts';

interface Timed {
  startedAt: string;
  endedAt: string;
  outcome: 'passed' | 'warning';
  detail: string;
}

export interface DrillInfo {
  drillId: string;
  instanceId: string;
  /**
   * T, the moment RPO is measured from (design.md, Definitions): the drill's start for `latest`
   * (what a restore at that moment would lose), the chosen time otherwise.
   */
  targetTime: string;
  /** What was asked: `latest` or the chosen time (ISO UTC). */
  requestedTarget: string;
  startedAt: string;
  reason: string | null;
  requestedBy: string | null;
  dryRun: boolean;
  window: { earliest: string | null; latest: string | null };
  environment: string;
  mode: 'local' | 'aws';
  /** The Step Functions execution (AWS), for the console link in notifications. */
  executionArn: string | null;
}

/** The execution state, as far as the steps read it. */
export interface DrillState {
  drill?: DrillInfo & Timed;
  restore?: Timed & { instanceId: string };
  restoreStatus?: Timed & {
    status: string;
    pollSeconds: number;
    polls: number;
    elapsedSeconds: number;
    restorePointAt: string | null;
    restorePointSource: RestorePointSource | null;
    endpoint: { host: string; port: number } | null;
  };
  connection?: Timed & { secretRef: string } & ConnectionInfo;
  drift?: Timed & DriftReport & { source: string };
  migrateTask?: { exitCode: number | null; stoppedReason: string | null; taskArn: string | null };
  migration?: Timed & { exitCode: number; applied: string[] };
  app?: Timed & { baseUrl: string; handle: string };
  smoke?: Partial<Record<'health' | 'ready' | 'login' | 'search' | 'day', Timed>>;
  integrity?: Timed & IntegrityResult & { heartbeat: HeartbeatReading | null };
  evaluation?: Timed & { evaluation: Evaluation; appVerdict: AppVerdict | null; restorePointAt: string };
  cleanup?: Timed & { removed: string[]; kept: string[] };
  report?: {
    passed: boolean;
    summary: string;
    location: { json: string; markdown: string } | null;
    escalations: Escalation[];
  };
  failures?: Partial<Record<string, { Error: string; Cause: string }>>;
  [key: string]: unknown;
}

function need<T>(value: T | undefined, what: string): T {
  if (value === undefined)
    throw new DrillStepError(
      'DrillStateError',
      `the drill state has no ${what}: a previous step did not run`,
    );
  return value;
}

async function timed<T extends object>(
  deps: DrillDeps,
  body: (startedAt: Date) => Promise<T & { detail: string; outcome?: 'passed' | 'warning' }>,
): Promise<T & Timed> {
  const startedAt = deps.now();
  const result = await body(startedAt);
  return {
    ...result,
    outcome: result.outcome ?? 'passed',
    detail: redactCredentials(result.detail),
    startedAt: startedAt.toISOString(),
    endedAt: deps.now().toISOString(),
  };
}

async function validate(
  state: DrillState,
  deps: DrillDeps,
  executionName: string,
  executionArn: string | null,
) {
  return timed(deps, async (startedAt) => {
    // At this point the state is the execution input itself: unknown keys are refused.
    const window = await deps.recovery.restorableWindow();
    const input = validateDrillInput(state, { now: startedAt, window });
    const latest = window.latest;
    if (input.targetTime === 'latest' && latest === null) {
      const damaged = (await deps.recovery.damagedState?.()) ?? [];
      throw new DrillStepError(
        'RestoreFailedError',
        damaged.length > 0
          ? `nothing is restorable: no intact backup; ${damaged.join('; ')}`
          : 'nothing is restorable yet: the source has no backup and no archived WAL',
      );
    }
    const isLatest = input.targetTime === 'latest';
    // T: a "latest" drill measures what a restore at its start would lose.
    const targetTime = isLatest ? startedAt.toISOString() : input.targetTime;
    const config = deps.settings.config;
    const info: DrillInfo = {
      drillId: executionName,
      instanceId: drillInstanceId(config.drill.instancePrefix, executionName),
      targetTime,
      requestedTarget: input.targetTime,
      startedAt: startedAt.toISOString(),
      reason: input.reason,
      requestedBy: input.requestedBy,
      dryRun: input.dryRun,
      window: { earliest: window.earliest?.toISOString() ?? null, latest: latest?.toISOString() ?? null },
      environment: config.environment,
      mode: deps.settings.mode,
      executionArn,
    };
    return {
      ...info,
      detail: `${input.dryRun ? 'dry run: would restore' : 'restoring'} ${config.source.dbInstanceIdentifier} to ${isLatest ? `the latest restorable time (${(latest as Date).toISOString()} now)` : targetTime} as ${info.instanceId}; T = ${targetTime}${isLatest ? ' (the drill start)' : ''}`,
    };
  });
}

async function restore(state: DrillState, deps: DrillDeps) {
  const drill = need(state.drill, 'drill');
  return timed(deps, async () => {
    const latest = drill.requestedTarget === 'latest';
    // Damaged backup records are skipped by the engine: the drill says so, and what it used instead.
    const damaged = (await deps.recovery.damagedState?.()) ?? [];
    let instance: InstanceDescription;
    try {
      instance = await deps.recovery.restoreToPointInTime({
        instanceId: drill.instanceId,
        targetTime: latest ? 'latest' : new Date(drill.targetTime),
        tags: { [DRILL_ID_TAG]: drill.drillId },
      });
    } catch (error) {
      if (damaged.length === 0 || !(error instanceof Error)) throw error;
      throw new DrillStepError(
        'RestoreFailedError',
        `${error.message}; no intact backup covers it: ${damaged.join('; ')}`,
        { cause: error },
      );
    }
    const from = instance.sourceBackup ? ` from backup ${instance.sourceBackup}` : '';
    return {
      instanceId: instance.id,
      ...(damaged.length > 0 ? { outcome: 'warning' as const } : {}),
      detail:
        `restore of ${instance.id} to ${latest ? 'the latest restorable time' : drill.targetTime} requested${from} (${instance.status}); P = ${instance.restorePointAt ?? 'not reported'}${instance.restorePointSource ? ` (${instance.restorePointSource})` : ''}` +
        (damaged.length > 0
          ? `; damaged backup records were skipped, so ${instance.sourceBackup ? `backup ${instance.sourceBackup}` : 'an older intact backup'} was used instead: ${damaged.join('; ')}`
          : ''),
    };
  });
}

async function describeRestore(state: DrillState, deps: DrillDeps) {
  const drill = need(state.drill, 'drill');
  const restored = need(state.restore, 'restore');
  return timed(deps, async (now) => {
    const instance = await deps.recovery.describeInstance(drill.instanceId);
    const elapsedSeconds = Math.round((now.getTime() - Date.parse(restored.startedAt)) / 1000);
    if (instance === null) {
      throw new DrillStepError(
        'RestoreFailedError',
        `the restored instance ${drill.instanceId} does not exist`,
      );
    }
    if (instance.status === 'failed') {
      throw new DrillStepError(
        'RestoreFailedError',
        `the restore of ${drill.instanceId} failed: ${instance.failureReason ?? 'no reason given'}`,
      );
    }
    if (instance.status !== 'available' && elapsedSeconds > deps.settings.restoreTimeoutSeconds) {
      throw new DrillStepError(
        'RestoreTimeoutError',
        `${drill.instanceId} is still ${instance.status} after ${elapsedSeconds} s (limit ${deps.settings.restoreTimeoutSeconds} s)`,
      );
    }
    const polls = (state.restoreStatus?.polls ?? 0) + 1;
    return {
      status: instance.status,
      pollSeconds: nextPollSeconds(elapsedSeconds),
      polls,
      elapsedSeconds,
      restorePointAt: instance.restorePointAt,
      restorePointSource: instance.restorePointSource,
      endpoint: instance.endpoint,
      detail: `${drill.instanceId} is ${instance.status} after ${elapsedSeconds} s (${polls} look${polls === 1 ? '' : 's'})`,
    };
  });
}

async function describeOrFail(deps: DrillDeps, instanceId: string): Promise<InstanceDescription> {
  const instance = await deps.recovery.describeInstance(instanceId);
  if (instance?.status !== 'available') {
    throw new DrillStepError('RestoreFailedError', `the restored instance ${instanceId} is not available`);
  }
  return instance;
}

async function connect(state: DrillState, deps: DrillDeps) {
  const drill = need(state.drill, 'drill');
  return timed(deps, async () => {
    const instance = await describeOrFail(deps, drill.instanceId);
    const { secretRef, connection } = await deps.secrets.writeConnection(drill.drillId, instance);
    return {
      secretRef,
      ...connection,
      detail: `connection of ${connection.user}@${connection.host}:${connection.port}/${connection.database} written to the drill secret`,
    };
  });
}

async function currentDrift(state: DrillState, deps: DrillDeps) {
  const drill = need(state.drill, 'drill');
  const connection = need(state.connection, 'connection');
  const url = await deps.secrets.connectionUrl(connection.secretRef);
  const instance = await deps.recovery.describeInstance(drill.instanceId);
  const [applied, shipped] = await Promise.all([
    readAppliedMigrationsAt(url),
    deps.artifacts.migrations(instance),
  ]);
  return { drift: detectDrift(applied, shipped.migrations), source: shipped.source };
}

async function detectDriftStep(state: DrillState, deps: DrillDeps) {
  return timed(deps, async () => {
    const { drift, source } = await currentDrift(state, deps);
    if (drift.blocking) {
      throw new DrillStepError(
        'MigrationDriftError',
        `schema drift that migrate deploy cannot fix: ${describeDrift(drift)} (migrations from ${source})`,
      );
    }
    return { ...drift, source, detail: `${describeDrift(drift)} (migrations from ${source})` };
  });
}

async function verifyMigration(state: DrillState, deps: DrillDeps) {
  const task = need(state.migrateTask, 'migrate task result');
  const before = need(state.drift, 'drift');
  return timed(deps, async () => {
    if (task.exitCode !== 0) {
      throw new DrillStepError(
        'MigrationFailedError',
        `the migrate command exited ${task.exitCode ?? 'without an exit code'}${task.stoppedReason ? ` (${task.stoppedReason})` : ''} while applying ${before.pending.join(', ')}`,
      );
    }
    const { drift } = await currentDrift(state, deps);
    if (drift.pending.length > 0 || drift.blocking) {
      throw new DrillStepError(
        'MigrationFailedError',
        `the migrate command exited 0 but the schema still drifts: ${describeDrift(drift)}`,
      );
    }
    return {
      exitCode: 0,
      applied: [...before.pending],
      detail: `applied ${before.pending.join(', ')}; no drift left`,
    };
  });
}

async function startApp(state: DrillState, deps: DrillDeps) {
  const drill = need(state.drill, 'drill');
  const connection = need(state.connection, 'connection');
  return timed(deps, async () => {
    const app = await deps.app.start(drill.drillId, connection.secretRef).catch((error: Error) => {
      throw new DrillStepError('AppStartError', `the app did not start: ${error.message}`, { cause: error });
    });
    return { ...app, detail: `app started at ${app.baseUrl}${app.note ? ` (${app.note})` : ''}` };
  });
}

type SmokeName = 'health' | 'ready' | 'login' | 'search' | 'day';

/**
 * Runs `body` with the session the login step kept in the drill secret, and keeps it there again
 * when the app changed it (a rotated cookie). Never logs in: one login per drill.
 */
async function withSession<T>(
  state: DrillState,
  deps: DrillDeps,
  errorName: string,
  body: (session: SmokeSession) => Promise<T>,
): Promise<T> {
  const connection = need(state.connection, 'connection');
  const auth = deps.settings.config.smoke.auth;
  const stored = await deps.secrets.readSession(connection.secretRef);
  if (stored === null) {
    throw new DrillStepError(
      errorName,
      'the drill secret holds no login session: the login step did not run or did not keep it (not logged in again: one login per drill)',
    );
  }
  const session = SmokeSession.restore(stored, auth, errorName);
  const result = await body(session);
  const after = session.serialize();
  if (after !== stored) await deps.secrets.writeSession(connection.secretRef, after);
  return result;
}

async function smoke(state: DrillState, deps: DrillDeps, check: SmokeName, signal?: AbortSignal) {
  const app = need(state.app, 'app');
  const cfg = deps.settings.config.smoke;
  const budget = cfg.readyBudgetSeconds;
  return timed(deps, async () => {
    switch (check) {
      case 'health': {
        const r = await waitFor200(
          'health',
          'ReadyNotOkError',
          `${app.baseUrl}${cfg.healthPath}`,
          cfg.healthPath,
          budget,
          deps.now,
          signal,
        );
        return { detail: `GET ${cfg.healthPath}: 200 after ${r.attempts} attempt(s)` };
      }
      case 'ready': {
        const r = await waitFor200(
          'readiness',
          'ReadyNotOkError',
          `${app.baseUrl}${cfg.readyPath}`,
          cfg.readyPath,
          budget,
          deps.now,
          signal,
        );
        return {
          detail: `GET ${cfg.readyPath}: 200 after ${r.attempts} attempt(s), ${r.waitedSeconds.toFixed(1)} s`,
        };
      }
      case 'login': {
        const connection = need(state.connection, 'connection');
        const { session, role } = await login(
          app.baseUrl,
          cfg.loginPath,
          cfg.auth,
          cfg.adminUsername,
          await deps.adminPassword(),
        );
        // A 200 is not proof the session was written (express-session saves it after answering):
        // the app must accept it once before the drill relies on it.
        const checked = cfg.sessionCheckPath
          ? await getJson(
              'AuthWriteFailedError',
              `the session write of the admin login (POST ${cfg.loginPath} answered 200, then the app did not accept its session)`,
              session,
              app.baseUrl,
              cfg.sessionCheckPath,
            ).then(() => `; GET ${cfg.sessionCheckPath} with it: 200`)
          : '';
        // The session goes to the drill secret, never into this step's result.
        await deps.secrets.writeSession(connection.secretRef, session.serialize());
        return {
          detail: `POST ${cfg.loginPath} as ${cfg.adminUsername}${role ? ` (role ${role})` : ''}: 200, ${session.describe(`${app.baseUrl}${cfg.loginPath}`)}${checked}, kept in the drill secret for the later checks`,
        };
      }
      case 'search': {
        const path = `${cfg.accountSearchPath}${encodeURIComponent(cfg.accountSearchTerm)}`;
        const body = await withSession(state, deps, 'SmokeFailedError', (session) =>
          getJson('SmokeFailedError', 'account search', session, app.baseUrl, path),
        );
        if (!Array.isArray(body)) {
          throw new SmokeCheckError(
            'SmokeFailedError',
            `account search failed: GET ${path} answered 200 with JSON that is not an array (${body === null ? 'null' : typeof body})`,
            { path, status: 200 },
          );
        }
        if (body.length < cfg.accountSearchMinResults) {
          throw new SmokeCheckError(
            'SmokeFailedError',
            `account search failed: GET ${path} listed ${body.length} account(s), fewer than smoke.accountSearchMinResults (${cfg.accountSearchMinResults})`,
            { path, status: 200, count: body.length, minResults: cfg.accountSearchMinResults },
          );
        }
        return {
          detail: `GET ${path}: 200, ${body.length} account(s)${cfg.accountSearchMinResults > 0 ? ` (at least ${cfg.accountSearchMinResults} required)` : ''}`,
        };
      }
      case 'day': {
        const body = await withSession(state, deps, 'SmokeFailedError', (session) =>
          getJson('SmokeFailedError', 'day state read', session, app.baseUrl, cfg.dayCurrentPath),
        );
        if (body === null || typeof body !== 'object' || Array.isArray(body)) {
          throw new SmokeCheckError(
            'SmokeFailedError',
            `day state read failed: GET ${cfg.dayCurrentPath} answered 200 with JSON that is not an object (${Array.isArray(body) ? 'an array' : body === null ? 'null' : typeof body})`,
            { path: cfg.dayCurrentPath, status: 200 },
          );
        }
        const day = body as { state?: unknown; businessDate?: unknown };
        const text = (v: unknown) =>
          typeof v === 'string' || typeof v === 'number' ? excerpt(String(v)) : null;
        const dayState = text(day.state);
        const businessDate = text(day.businessDate);
        return {
          dayState,
          businessDate,
          detail: `GET ${cfg.dayCurrentPath}: 200, day state ${dayState ?? '(none given)'}${businessDate ? ` (business date ${businessDate})` : ''}`,
        };
      }
    }
  });
}

/** Locally the engine always writes a heartbeat beside its source; in AWS only when set up. */
function heartbeatExpected(deps: DrillDeps): boolean {
  return deps.settings.mode === 'local' || deps.settings.config.heartbeat.mode !== 'none';
}

/**
 * The latest moment a restored row may carry: T for a chosen time; for `latest` the end of the
 * restore request, since the copy holds what was committed until the engine took it (after T, the
 * drill's start, by a moment).
 */
function rowsNotAfter(state: DrillState, drill: DrillInfo): Date {
  if (drill.requestedTarget !== 'latest') return new Date(drill.targetTime);
  const requested = state.restore?.endedAt ?? drill.targetTime;
  return new Date(Math.max(Date.parse(requested), Date.parse(drill.targetTime)));
}

/** When the drill began writing to the copy: its migrations (when it ran them), else the app's start. */
function drillWritesFrom(state: DrillState): Date | null {
  if (state.migration && state.drift) return new Date(state.drift.endedAt);
  return state.app ? new Date(state.app.startedAt) : null;
}

async function readHeartbeat(url: string, schema: string, t: Date): Promise<HeartbeatReading> {
  const table = heartbeatTableName(schema);
  try {
    const read = await newestHeartbeat(url, { schema, notAfter: t });
    return {
      table,
      configured: read.configured,
      newestAt: read.newest?.toISOString() ?? null,
      count: read.count,
      error: null,
    };
  } catch (error) {
    return {
      table,
      configured: false,
      newestAt: null,
      count: 0,
      error: redactCredentials((error as Error).message),
    };
  }
}

async function integrity(state: DrillState, deps: DrillDeps) {
  const drill = need(state.drill, 'drill');
  const connection = need(state.connection, 'connection');
  const config = deps.settings.config;
  return timed(deps, async () => {
    const url = await deps.secrets.connectionUrl(connection.secretRef);
    const notAfter = rowsNotAfter(state, drill);
    const result = await checkIntegrity(url, {
      tables: config.integrity.criticalTables,
      timestampColumn: config.integrity.timestampColumn,
      notAfter,
      drillWritesFrom: drillWritesFrom(state),
    });
    if (result.problems.length > 0) {
      throw new DrillStepError('IntegrityError', `integrity checks failed: ${result.problems.join('; ')}`);
    }
    // The heartbeat is read here, where the copy is open; the evaluate step judges it with the RPO.
    const heartbeat = heartbeatExpected(deps)
      ? await readHeartbeat(url, config.heartbeat.schema, new Date(drill.targetTime))
      : null;
    const beat =
      heartbeat === null
        ? `heartbeat not read (heartbeat.mode is ${config.heartbeat.mode})`
        : heartbeat.error
          ? `heartbeat ${heartbeat.table} unreadable: ${heartbeat.error}`
          : !heartbeat.configured
            ? `no heartbeat table ${heartbeat.table} in the copy`
            : `newest heartbeat at or before T ${heartbeat.newestAt ?? 'none'} (${heartbeat.count} beat(s))`;
    return {
      ...result,
      heartbeat,
      detail: `${result.tables.length} critical tables present, not empty, no orphans, nothing after ${notAfter.toISOString()}${drill.requestedTarget === 'latest' ? ' (the restore request)' : ' (T)'}; newest row ${result.newestRowAt ?? 'none'} (informational); ${beat}`,
    };
  });
}

async function evaluate(state: DrillState, deps: DrillDeps) {
  const drill = need(state.drill, 'drill');
  const day = need(state.smoke?.day, 'smoke results');
  const app = need(state.app, 'app');
  const config = deps.settings.config;
  return timed(deps, async () => {
    // P comes from the engine, never from the newest row: a quiet database loses nothing.
    const restorePointAt = state.restoreStatus?.restorePointAt;
    if (!restorePointAt)
      throw new DrillStepError(
        'EvaluationError',
        `no restore point is known: the engine reported none for ${drill.instanceId}`,
      );
    const expected = heartbeatExpected(deps);
    const evaluation = evaluateRecovery({
      targetTime: drill.targetTime,
      restorePointAt,
      restorePointSource: state.restoreStatus?.restorePointSource ?? null,
      latest: drill.requestedTarget === 'latest',
      startedAt: drill.startedAt,
      readyAt: day.endedAt,
      newestRowAt: state.integrity?.newestRowAt ?? null,
      heartbeat: {
        expected,
        reason: expected ? null : `heartbeat.mode is ${config.heartbeat.mode}`,
        reading: state.integrity?.heartbeat ?? null,
        intervalMinutes:
          deps.settings.mode === 'local'
            ? LOCAL_HEARTBEAT_INTERVAL_MINUTES
            : heartbeatIntervalMinutes(config.heartbeat.schedule),
      },
      targets: config.targets,
    });
    let appVerdict: AppVerdict | null = null;
    if (evaluation.recoveryEvaluatePayload) {
      const path = config.smoke.recoveryEvaluatePath;
      const payload = evaluation.recoveryEvaluatePayload;
      // The login step's session, as every smoke check: a refused or expired one is a warning, never a second login.
      const secretRef = state.connection?.secretRef;
      const stored = secretRef ? await deps.secrets.readSession(secretRef).catch(() => null) : null;
      const session = stored === null ? null : restoreOrNull(stored, config.smoke.auth);
      const rtoComparable = drill.requestedTarget === 'latest';
      appVerdict = session
        ? verdictOf(
            await session.request(`${app.baseUrl}${path}`, { method: 'POST', body: payload }),
            rtoComparable,
          )
        : {
            ...NO_VERDICT,
            httpStatus: null,
            rtoComparable,
            detail: `not called: the drill secret holds no ${config.smoke.auth.kind} session from the login step (not logged in again: one login per drill)`,
          };
    }
    const hb = evaluation.heartbeat;
    const verdicts = `RPO ${evaluation.rpo.measuredMinutes} min (T ${evaluation.targetTime} − P ${evaluation.restorePointAt}; target ${evaluation.rpo.targetMinutes}): ${rpoMet(evaluation) ? 'met' : 'missed'}; heartbeat: ${hb?.detail ?? 'not evaluated'}; RTO ${evaluation.rto.measuredMinutes} min (target ${evaluation.rto.targetMinutes}): ${evaluation.rto.passed ? 'met' : 'missed'}`;
    const readable = appVerdict?.httpStatus === 200 && appVerdict.rpoMinutes !== null;
    const outcome: 'passed' | 'warning' = appVerdict === null || readable ? 'passed' : 'warning';
    return {
      evaluation,
      appVerdict,
      restorePointAt,
      outcome,
      detail:
        appVerdict === null
          ? verdicts
          : readable
            ? `${verdicts}; the app's recovery-evaluate: ${describeAppVerdict(appVerdict)}`
            : `${verdicts}; the app's recovery-evaluate gave no verdict: ${appVerdict.detail}`,
    };
  });
}

/** The kept session, or null when the secret holds none of the configured kind (then: a warning, no login). */
function restoreOrNull(stored: string, auth: SmokeAuth): SmokeSession | null {
  try {
    return SmokeSession.restore(stored, auth, 'EvaluationError');
  } catch {
    return null;
  }
}

const NO_VERDICT = {
  rpoMinutes: null,
  rtoMinutes: null,
  rpoPassed: null,
  rtoPassed: null,
  overallPass: null,
} as const;

const finite = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const flag = (v: unknown): boolean | null => (typeof v === 'boolean' ? v : null);

/**
 * Reads the app's recovery-evaluate answer `{measured:{rpoMinutes,rtoMinutes}, target,
 * pass:{rpo,rto}, overallPass}`; anything else is a verdict without numbers and says why.
 * @param rtoComparable false for a drill to a chosen past time (the app counts RTO from T).
 */
function verdictOf(response: HttpResult, rtoComparable: boolean): AppVerdict {
  if (response.status !== 200) {
    const code = errorCodeOf(response.body);
    const refused =
      response.status === 401 || response.status === 403
        ? ': the login session was refused (expired, or the admin lacks the role); not logged in again, one login per drill'
        : '';
    return {
      httpStatus: response.status,
      ...NO_VERDICT,
      rtoComparable,
      detail:
        response.status === null
          ? `unreachable (${response.error})`
          : `HTTP ${response.status}${code ? ` ${code}` : ''}${refused}${response.body ? `; body: ${excerpt(response.body)}` : ''}`,
    };
  }
  let body: Record<string, unknown> | null = null;
  try {
    const parsed = JSON.parse(response.body) as unknown;
    if (parsed && typeof parsed === 'object' && !Array.isArray(parsed))
      body = parsed as Record<string, unknown>;
  } catch {
    body = null;
  }
  const measured = body?.measured as Record<string, unknown> | undefined;
  const pass = body?.pass as Record<string, unknown> | undefined;
  const verdict: AppVerdict = {
    httpStatus: 200,
    rpoMinutes: finite(measured?.rpoMinutes),
    rtoMinutes: finite(measured?.rtoMinutes),
    rpoPassed: flag(pass?.rpo),
    rtoPassed: flag(pass?.rto),
    overallPass: flag(body?.overallPass),
    rtoComparable,
    detail: excerpt(response.body),
  };
  if (verdict.rpoMinutes === null) {
    return {
      ...verdict,
      detail: `answered 200 without measured.rpoMinutes (expected {measured:{rpoMinutes,rtoMinutes}, target, pass:{rpo,rto}, overallPass}): ${body ? excerpt(response.body) : 'not a JSON object'}`,
    };
  }
  return verdict;
}

async function cleanup(state: DrillState, deps: DrillDeps) {
  const drill = state.drill;
  return timed(deps, async () => {
    if (!drill) return { removed: [], kept: [], detail: 'nothing to clean up: the drill never started' };
    const removed: string[] = [];
    const kept: string[] = [];
    const problems: string[] = [];
    const attempt = async (what: string, action: () => Promise<void>) => {
      try {
        await action();
      } catch (error) {
        problems.push(`${what}: ${(error as Error).message}`);
      }
    };
    await attempt('app', async () => {
      removed.push(...(await deps.app.stopAll(drill.drillId)));
    });
    await attempt('drill secret', async () => {
      await deps.secrets.clear(drill.drillId);
      removed.push(`secret of ${drill.drillId}`);
    });
    await attempt(`instance ${drill.instanceId}`, async () => {
      const instance = await deps.recovery.describeInstance(drill.instanceId);
      if (!instance) return;
      if (deps.settings.keepInstance) {
        kept.push(instance.id);
        return;
      }
      await deps.recovery.deleteInstance(drill.instanceId);
      removed.push(instance.id);
    });
    if (problems.length > 0) {
      throw new DrillStepError('CleanupError', `cleanup left drill resources behind: ${problems.join('; ')}`);
    }
    return {
      removed,
      kept,
      detail: `removed ${removed.length > 0 ? removed.join(', ') : 'nothing'}${kept.length > 0 ? `; kept ${kept.join(', ')} (--keep)` : ''}`,
    };
  });
}

/** The step outcomes of an execution state, in drill order, failures included. */
export function stepOutcomes(state: DrillState, endedAt: string): StepOutcome[] {
  const steps: StepOutcome[] = [];
  let lastEnd = state.drill?.startedAt ?? endedAt;
  const results: Partial<Record<DrillTaskStep, Timed | undefined>> = {
    validate: state.drill as (DrillInfo & Timed) | undefined,
    restore: state.restore,
    describeRestore: state.restoreStatus,
    connect: state.connection,
    detectDrift: state.drift,
    verifyMigration: state.migration,
    startApp: state.app,
    smokeHealth: state.smoke?.health,
    smokeReady: state.smoke?.ready,
    smokeLogin: state.smoke?.login,
    smokeSearch: state.smoke?.search,
    smokeDay: state.smoke?.day,
    integrity: state.integrity,
    evaluate: state.evaluation,
    cleanup: state.cleanup,
  };
  // The local engine's preparation (source, backup) runs before the state machine.
  const prepared = state.failures?.[PREPARE_STEP];
  if (prepared)
    steps.push({
      name: PREPARE_STEP,
      startedAt: lastEnd,
      endedAt,
      outcome: prepared.Error === INTERRUPTED_ERROR ? 'skipped' : 'failed',
      detail: `${prepared.Error}: ${causeText(prepared.Cause)}`,
      evidence: { error: prepared.Error },
    });
  // The ECS migrate task fails as its own state; report it as the migrate step.
  const failureKey: Partial<Record<string, DrillTaskStep>> = { runMigrations: 'verifyMigration' };
  for (const spec of TASK_STATES) {
    if (spec.reportStep === null || spec.step === 'report' || spec.step === 'notify') continue;
    const result = results[spec.step];
    const failure =
      state.failures?.[spec.step] ??
      Object.entries(state.failures ?? {}).find(([key]) => failureKey[key] === spec.step)?.[1];
    // A failure wins over a result: a polled step (the restore wait) keeps an earlier look's result.
    // A step a signal cut short did not fail: it is `skipped`, and the report says it was interrupted.
    if (failure) {
      steps.push({
        name: spec.reportStep,
        startedAt: result?.startedAt ?? lastEnd,
        endedAt,
        outcome: failure.Error === INTERRUPTED_ERROR ? 'skipped' : 'failed',
        detail: `${failure.Error}: ${causeText(failure.Cause)}`,
        evidence: { error: failure.Error },
      });
    } else if (result) {
      // The migrate step began when the ECS migrate task did, right after drift detection.
      const began = spec.step === 'verifyMigration' && state.drift ? state.drift.endedAt : result.startedAt;
      steps.push({
        name: spec.reportStep,
        startedAt: began,
        endedAt: result.endedAt,
        outcome: result.outcome,
        detail: result.detail,
      });
      lastEnd = result.endedAt;
    }
  }
  return steps;
}

/** The error name of a step a signal cut short (recorded under `failures` by the local engine). */
export const INTERRUPTED_ERROR = 'DrillInterrupted';

/**
 * What is known of a drill that failed before `Validate input` finished (the restorable window
 * could not be read, the local source could not be prepared): its id and what was asked, from the
 * raw execution input, so that it is reported like any other failed drill.
 */
function unvalidatedDrill(state: DrillState, deps: DrillDeps, executionName: string, at: string): DrillInfo {
  const text = (value: unknown, max: number) =>
    typeof value === 'string' && value.trim() !== '' ? redactCredentials(value).slice(0, max) : null;
  const config = deps.settings.config;
  const requested = text(state.targetTime, 64) ?? 'latest';
  return {
    drillId: executionName,
    instanceId: drillInstanceId(config.drill.instancePrefix, executionName),
    targetTime: requested,
    requestedTarget: requested,
    startedAt: at,
    reason: text(state.reason, 200),
    requestedBy: text(state.requestedBy, 200),
    dryRun: state.dryRun === true,
    window: { earliest: null, latest: null },
    environment: config.environment,
    mode: deps.settings.mode,
    executionArn: null,
  };
}

async function report(state: DrillState, deps: DrillDeps, executionName: string) {
  const endedAt = deps.now().toISOString();
  const drill = state.drill ?? unvalidatedDrill(state, deps, executionName, endedAt);
  const steps = stepOutcomes(state, endedAt);
  const evaluation = state.evaluation?.evaluation ?? null;
  const interrupted = (state.interrupted as DrillInterruption | undefined) ?? null;
  const args: BuildReportArgs = {
    drillId: drill.drillId,
    requestedTarget: drill.requestedTarget,
    targetTime: drill.targetTime,
    restorePointAt: state.evaluation?.restorePointAt ?? state.restoreStatus?.restorePointAt ?? null,
    restorePointSource: state.restoreStatus?.restorePointSource ?? null,
    startedAt: drill.startedAt,
    readyAt: state.smoke?.day?.endedAt ?? null,
    endedAt,
    targets: deps.settings.config.targets,
    steps,
    evaluation,
    environment: drill.environment,
    mode: drill.mode,
    reason: drill.reason,
    requestedBy: drill.requestedBy,
    dryRun: drill.dryRun,
    appVerdict: state.evaluation?.appVerdict ?? null,
    interrupted,
  };
  let built: DrillReport = buildReport(args);
  let location: { json: string; markdown: string } | null = null;
  try {
    location = await deps.reports.write(built, renderReportMarkdown(built));
  } catch (error) {
    // The report could not be stored: it still goes out with the notification, failed for that reason.
    built = buildReport({
      ...args,
      steps: [
        ...steps,
        {
          name: 'report',
          startedAt: endedAt,
          endedAt: deps.now().toISOString(),
          outcome: 'failed',
          detail: `the report could not be written: ${error instanceof Error ? error.message : String(error)}`,
        },
      ],
    });
  }
  const summary = summaryLine(built);
  return { passed: built.passed, summary, location, escalations: built.escalations, report: built };
}

async function notify(state: DrillState, deps: DrillDeps) {
  const produced = need(state.report, 'report') as NonNullable<DrillState['report']> & {
    report?: DrillReport;
  };
  return timed(deps, async () => {
    if (!produced.report) throw new DrillStepError('NotifyError', 'no report to notify about');
    const count = await deps.notifier.publish(produced.report, produced.escalations, {
      executionArn: state.drill?.executionArn ?? null,
    });
    return { published: count, detail: `${count} message(s) published` };
  });
}

/**
 * Runs one step. `state` is the execution state; `executionName` the execution's name (the drill id).
 * @throws a named error (`DrillInputError`, `RestoreFailedError`, …) that the state machine catches.
 */
export async function runStep(
  step: string,
  state: DrillState,
  deps: DrillDeps,
  executionName: string,
  executionArn: string | null = null,
): Promise<unknown> {
  if (!(DRILL_TASK_STEPS as readonly string[]).includes(step)) {
    throw new DrillStepError('UnknownStepError', `unknown drill step ${JSON.stringify(step)}`);
  }
  await deps.beforeStep?.(step, state);
  switch (step as DrillTaskStep) {
    case 'validate':
      return validate(state, deps, executionName, executionArn);
    case 'restore':
      return restore(state, deps);
    case 'describeRestore':
      return describeRestore(state, deps);
    case 'connect':
      return connect(state, deps);
    case 'detectDrift':
      return detectDriftStep(state, deps);
    case 'verifyMigration':
      return verifyMigration(state, deps);
    case 'startApp':
      return startApp(state, deps);
    // An app that dies during a smoke check fails it at once, with its exit (app-exit.ts).
    case 'smokeHealth':
      return whileAppRuns(deps, state.drill?.drillId, 'ReadyNotOkError', 'health check', (signal) =>
        smoke(state, deps, 'health', signal),
      );
    case 'smokeReady':
      return whileAppRuns(deps, state.drill?.drillId, 'ReadyNotOkError', 'readiness check', (signal) =>
        smoke(state, deps, 'ready', signal),
      );
    case 'smokeLogin':
      return whileAppRuns(deps, state.drill?.drillId, 'AuthWriteFailedError', 'admin login', () =>
        smoke(state, deps, 'login'),
      );
    case 'smokeSearch':
      return whileAppRuns(deps, state.drill?.drillId, 'SmokeFailedError', 'account search', () =>
        smoke(state, deps, 'search'),
      );
    case 'smokeDay':
      return whileAppRuns(deps, state.drill?.drillId, 'SmokeFailedError', 'day state read', () =>
        smoke(state, deps, 'day'),
      );
    case 'integrity':
      return integrity(state, deps);
    case 'evaluate':
      return evaluate(state, deps);
    case 'cleanup':
      return cleanup(state, deps);
    case 'report':
      return report(state, deps, executionName);
    case 'notify':
      return notify(state, deps);
  }
}
