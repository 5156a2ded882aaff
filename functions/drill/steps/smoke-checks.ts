/**
 * The smoke checks (`Smoke: health`, `ready`, `admin login`, `account search`, `day state`):
 * the runbook's restore procedure 5 and 6 over HTTP against the app on the restored database.
 * Each fails with its escalation's class (the registry's `escalation` column) and the evidence
 * of the answer; an app that dies meanwhile fails the check at once (`app-exit.ts`).
 *
 * The admin logs in once per drill: the session is kept in the drill secret, never in a result.
 */
import { type DrillTaskStep, drillStep } from '../../core/drill-steps.ts';
import { whileAppRuns } from '../app-exit.ts';
import type { DrillDeps } from '../ports/drill-deps.ts';
import {
  AuthWriteFailedError,
  type DrillFailureClass,
  FAILURE_OF_CLASS,
  ReadyNotOkError,
  SmokeFailedError,
} from '../ports/errors.ts';
import { excerpt, getJson, login, SmokeSession, waitFor200 } from '../smoke.ts';
import { type DrillState, need, type StepContext, timed } from './context.ts';

type SmokeName = 'health' | 'ready' | 'login' | 'search' | 'day';

/**
 * Runs `body` with the session the login step kept in the drill secret, and keeps it there again
 * when the app changed it (a rotated cookie). Never logs in: one login per drill.
 */
async function withSession<T>(
  state: DrillState,
  deps: DrillDeps,
  failure: DrillFailureClass,
  body: (session: SmokeSession) => Promise<T>,
): Promise<T> {
  const connection = need(state.connection, 'connection');
  const auth = deps.settings.config.smoke.auth;
  const stored = await deps.secrets.readSession(connection.secretRef);
  if (stored === null) {
    throw new failure(
      'the drill secret holds no login session: the login step did not run or did not keep it (not logged in again: one login per drill)',
      { session: 'missing' },
    );
  }
  const session = SmokeSession.restore(stored, auth, failure);
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
          ReadyNotOkError,
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
          ReadyNotOkError,
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
              AuthWriteFailedError,
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
        const body = await withSession(state, deps, SmokeFailedError, (session) =>
          getJson(SmokeFailedError, 'account search', session, app.baseUrl, path),
        );
        if (!Array.isArray(body)) {
          throw new SmokeFailedError(
            `account search failed: GET ${path} answered 200 with JSON that is not an array (${body === null ? 'null' : typeof body})`,
            { path, status: 200 },
          );
        }
        if (body.length < cfg.accountSearchMinResults) {
          throw new SmokeFailedError(
            `account search failed: GET ${path} listed ${body.length} account(s), fewer than smoke.accountSearchMinResults (${cfg.accountSearchMinResults})`,
            { path, status: 200, count: body.length, minResults: cfg.accountSearchMinResults },
          );
        }
        return {
          detail: `GET ${path}: 200, ${body.length} account(s)${cfg.accountSearchMinResults > 0 ? ` (at least ${cfg.accountSearchMinResults} required)` : ''}`,
        };
      }
      case 'day': {
        const body = await withSession(state, deps, SmokeFailedError, (session) =>
          getJson(SmokeFailedError, 'day state read', session, app.baseUrl, cfg.dayCurrentPath),
        );
        if (body === null || typeof body !== 'object' || Array.isArray(body)) {
          throw new SmokeFailedError(
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

/** The smoke checks by step key: the check and what an app's death during it is called. */
const CHECKS = {
  smokeHealth: { check: 'health', what: 'health check' },
  smokeReady: { check: 'ready', what: 'readiness check' },
  smokeLogin: { check: 'login', what: 'admin login' },
  smokeSearch: { check: 'search', what: 'account search' },
  smokeDay: { check: 'day', what: 'day state read' },
} as const satisfies Partial<Record<DrillTaskStep, { check: SmokeName; what: string }>>;

/**
 * The handler of one smoke step. The check runs while the app is watched: an app that dies fails
 * it at once, as the step's escalation class.
 */
export function smokeStep(key: keyof typeof CHECKS) {
  const { check, what } = CHECKS[key];
  const escalation = drillStep(key).escalation;
  const failure = FAILURE_OF_CLASS[escalation];
  // Only the readiness waits poll long enough to be worth stopping early.
  const stoppable = check === 'health' || check === 'ready';
  return ({ state, deps }: StepContext) =>
    whileAppRuns(deps, state.drill?.drillId, failure, what, (signal) =>
      smoke(state, deps, check, stoppable ? signal : undefined),
    );
}
