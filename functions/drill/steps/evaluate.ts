/**
 * `Evaluate RPO and RTO`: T − P against the RPO target (P from the engine, never from the newest
 * row), the heartbeat's proof, ready − start against the RTO target; and, where configured, the
 * app's own verdict from `recovery-evaluate` over the same moments, recorded beside ours.
 */

import { describeAppVerdict } from '../../core/app-verdict.ts';
import { evaluateRecovery, rpoMet } from '../../core/evaluate.ts';
import { heartbeatIntervalMinutes, LOCAL_HEARTBEAT_INTERVAL_MINUTES } from '../../core/heartbeat.ts';
import type { AppVerdict } from '../../core/report.ts';
import { EvaluationError } from '../ports/errors.ts';
import { errorCodeOf, excerpt, type HttpResult, type SmokeAuth, SmokeSession } from '../smoke.ts';
import { heartbeatExpected, need, type StepContext, timed } from './context.ts';

export async function evaluate({ state, deps }: StepContext) {
  const drill = need(state.drill, 'drill');
  const day = need(state.smoke?.day, 'smoke results');
  const app = need(state.app, 'app');
  const config = deps.settings.config;
  return timed(deps, async () => {
    // P comes from the engine, never from the newest row: a quiet database loses nothing.
    const restorePointAt = state.restoreStatus?.restorePointAt;
    if (!restorePointAt)
      throw new EvaluationError(
        `no restore point is known: the engine reported none for ${drill.instanceId}`,
        {
          instanceId: drill.instanceId,
          restorePointAt: null,
        },
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
    return SmokeSession.restore(stored, auth, EvaluationError);
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
