/**
 * The app's own verdict (BT-CTS's `recovery-evaluate` over the drill's moments) beside ours: the
 * same moments through the app's arithmetic must give the same minutes; a difference beyond
 * rounding is a deviation, a missing verdict a warning.
 */
import type { StepOutcome } from './escalations.ts';
import type { Evaluation } from './evaluate.ts';
import type { Deviation } from './report.ts';

/**
 * The app's own verdict from `POST recovery-evaluate` over our payload, recorded beside ours: the
 * same moments through the app's arithmetic must give the same minutes (a difference is a deviation).
 */
export interface AppVerdict {
  /** HTTP status, or null when the endpoint could not be reached. */
  httpStatus: number | null;
  /** The app's `measured.rpoMinutes`; null without a readable answer. */
  rpoMinutes: number | null;
  /** The app's `measured.rtoMinutes`; null without a readable answer. */
  rtoMinutes: number | null;
  /** The app's `pass.rpo`. */
  rpoPassed: boolean | null;
  /** The app's `pass.rto`. */
  rtoPassed: boolean | null;
  /** The app's `overallPass`. */
  overallPass: boolean | null;
  /**
   * False for a drill to a chosen past time: the app counts RTO from T, the drill from its start,
   * so only the RPO is compared.
   */
  rtoComparable: boolean;
  /** Short summary of the response, or why there is none. */
  detail: string;
}

/** The app rounds its minutes to 2 decimals, as we do; a difference up to one hundredth is rounding. */
export const APP_VERDICT_TOLERANCE_MINUTES = 0.01;

/** Where the app's recovery-evaluate answer disagrees with our measurement beyond rounding. */
export function appVerdictDeviations(
  verdict: AppVerdict | null | undefined,
  evaluation: Evaluation | null,
): Deviation[] {
  if (verdict?.httpStatus !== 200 || !evaluation) return [];
  const deviations: Deviation[] = [];
  const compare = (
    what: 'RPO' | 'RTO',
    appMinutes: number | null,
    appPassed: boolean | null,
    ours: { measuredMinutes: number | null; passed: boolean },
  ) => {
    const differs =
      appMinutes !== null &&
      ours.measuredMinutes !== null &&
      Math.abs(appMinutes - ours.measuredMinutes) > APP_VERDICT_TOLERANCE_MINUTES + 1e-9;
    const verdictDiffers = appPassed !== null && appPassed !== ours.passed;
    if (!differs && !verdictDiffers) return;
    deviations.push({
      kind: 'APP_VERDICT_MISMATCH',
      observed: `the app's recovery-evaluate measured ${what} ${appMinutes ?? '–'} min (${appPassed === null ? 'no verdict' : appPassed ? 'met' : 'missed'}), the drill ${ours.measuredMinutes ?? '–'} min (${ours.passed ? 'met' : 'missed'})`,
      expected: `the app's arithmetic over the drill's moments gives the drill's ${what} (within ${APP_VERDICT_TOLERANCE_MINUTES} min) and the same verdict`,
      remediation:
        `Compare the payload the drill sent (T as backupCompletedAt, P as restorePointAt, ready as restoreCompletedAt) with the app's recoverySlo arithmetic and its targets; ` +
        'one of the two definitions changed and the runbook must say which one counts.',
    });
  };
  compare('RPO', verdict.rpoMinutes, verdict.rpoPassed, evaluation.rpo);
  if (verdict.rtoComparable) compare('RTO', verdict.rtoMinutes, verdict.rtoPassed, evaluation.rto);
  return deviations;
}

/** A missing app verdict is a warning; a disagreeing one a deviation (`appVerdictDeviations`). */
export function appVerdictWarnings(verdict: AppVerdict | null | undefined, steps: StepOutcome[]): string[] {
  if (!verdict) return [];
  const readable = verdict.httpStatus === 200 && (verdict.rpoMinutes !== null || verdict.rpoPassed !== null);
  if (readable) return [];
  // The evaluate step already warns about its endpoint: say it once.
  if (steps.some((s) => s.name === 'evaluate' && s.outcome === 'warning')) return [];
  return [`the app's recovery-evaluate verdict is missing: ${verdict.detail}`];
}

/**
 * The app's verdict in one line for the report (Markdown and HTML): its minutes and verdicts
 * beside ours, and when its RTO is not comparable, why.
 */
export function describeAppVerdict(v: AppVerdict): string {
  if (v.httpStatus !== 200)
    return `${v.httpStatus === null ? 'unreachable' : `HTTP ${v.httpStatus}`}: ${v.detail}`;
  if (v.rpoMinutes === null && v.rpoPassed === null)
    return `HTTP 200 without a readable verdict: ${v.detail}`;
  const part = (minutes: number | null, passed: boolean | null) =>
    `${minutes === null ? '–' : `${minutes} min`} (${passed === null ? 'no verdict' : passed ? 'met' : 'missed'})`;
  const overall = v.overallPass === null ? '' : `; overall ${v.overallPass ? 'pass' : 'fail'}`;
  const rto = v.rtoComparable
    ? `RTO ${part(v.rtoMinutes, v.rtoPassed)}`
    : `RTO ${part(v.rtoMinutes, v.rtoPassed)}, counted from the chosen target time, not compared`;
  return `HTTP 200; RPO ${part(v.rpoMinutes, v.rpoPassed)}, ${rto}${overall}`;
}
