/**
 * The drill report: one JSON shape (a contract kept by the CLI's `--json` output and the reports
 * stored in the backup bucket) and its Markdown rendering for the on-call engineer and the auditor
 * (runbook "Quarterly Recovery Drill" 2-3: validate RPO/RTO, capture deviations and remediation).
 */
import {
  ESCALATION_CLASSES,
  ESCALATION_RULES,
  type Escalation,
  escalationsFromOutcomes,
  STEP_ESCALATION,
  type StepOutcome,
} from './escalations.ts';
import {
  describeRestorePointSource,
  type Evaluation,
  type HeartbeatProof,
  type RestorePointSource,
  rpoMet,
  type Targets,
} from './evaluate.ts';
import { redactCredentials } from './redact.ts';

/** Something that differed from what the runbook expects, and what to do about it. */
export interface Deviation {
  kind: string;
  observed: string;
  expected: string;
  remediation: string;
}

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

/** One drill's record: the contract of `--json` output and of the reports kept in the backup bucket. */
export interface DrillReport {
  drillId: string;
  /** True only when every step that ran passed, nothing escalated and RPO and RTO met their targets. */
  passed: boolean;
  /** What was asked: `latest` or the chosen time (ISO UTC). */
  requestedTarget: string;
  /** T, the moment RPO is measured from: the drill's start for `latest`, else the chosen time. */
  targetTime: string;
  /** P, the moment up to which the restored database holds every commit (from the engine). */
  restorePointAt: string | null;
  /** How the engine knows P; null when it reported none. */
  restorePointSource: RestorePointSource | null;
  /** Where P came from, in words (see `describeRestorePointSource`). */
  restorePointBasis: string;
  /** The heartbeat's data-proven bound of the RPO, or why there is none; null when not evaluated. */
  heartbeat: HeartbeatProof | null;
  startedAt: string;
  readyAt: string | null;
  endedAt: string | null;
  rpoMinutes: number | null;
  rtoMinutes: number | null;
  targets: Targets;
  steps: StepOutcome[];
  escalations: Escalation[];
  warnings: string[];
  deviations: Deviation[];
  environment: string | null;
  mode: 'local' | 'aws' | null;
  reason: string | null;
  requestedBy: string | null;
  dryRun: boolean;
  /** T − newest critical row (informational: a quiet source's newest row is old and nothing is lost). */
  newestRowLagMinutes: number | null;
  /** Informational, never a failure or a warning. */
  notes: string[];
  appVerdict: AppVerdict | null;
  /** Set when a signal stopped the drill: by what, during which state, and what it cleaned up. */
  interrupted?: DrillInterruption;
}

/** A drill stopped by a signal (Ctrl-C, `kill`): never a pass, and never an escalation of the step it cut short. */
export interface DrillInterruption {
  signal: string;
  /** The state (or local preparation) that was running. */
  during: string;
  at: string;
  /** What the interrupted drill removed before it exited. */
  cleaned: string[];
}

/** What a drill knows at its end; `buildReport` derives the verdict, escalations and deviations from it. */
export interface BuildReportArgs {
  drillId: string;
  /** `latest` or the chosen time; default: `targetTime`. */
  requestedTarget?: string;
  /** T. */
  targetTime: string;
  /** P. */
  restorePointAt: string | null;
  restorePointSource?: RestorePointSource | null;
  startedAt: string;
  readyAt: string | null;
  endedAt?: string | null;
  targets: Targets;
  steps: StepOutcome[];
  /** Null when the drill did not get far enough to measure. */
  evaluation: Evaluation | null;
  environment?: string | null;
  mode?: 'local' | 'aws' | null;
  reason?: string | null;
  requestedBy?: string | null;
  dryRun?: boolean;
  appVerdict?: AppVerdict | null;
  /** Warnings found outside the steps (e.g. by the caller). */
  warnings?: string[];
  interrupted?: DrillInterruption | null;
}

function deviationsOf(escalations: Escalation[], steps: StepOutcome[], args: BuildReportArgs): Deviation[] {
  const deviations: Deviation[] = escalations.map((e) => ({
    kind: e.class,
    observed: e.message,
    expected: ESCALATION_RULES[e.class].expected,
    remediation: e.remediation,
  }));
  const unclassified = steps.filter((s) => s.outcome === 'failed' && STEP_ESCALATION[s.name] === undefined);
  for (const step of unclassified) {
    if (step.name === 'validate') continue;
    deviations.push({
      kind: 'STEP_FAILED',
      observed: `${step.name} failed: ${step.detail}`,
      expected: `the ${step.name} step passes`,
      remediation: `Read the ${step.name} step's detail and the drill's execution history; rerun the drill once fixed.`,
    });
  }
  if (args.interrupted) {
    deviations.push({
      kind: 'INTERRUPTED',
      observed: `the drill was interrupted by ${args.interrupted.signal} during ${args.interrupted.during}; it cleaned up: ${args.interrupted.cleaned.join(', ') || 'nothing was left to clean'}`,
      expected: 'the drill runs to its end',
      remediation:
        'Nothing was proven: run the drill again. If something it started is still listed by `recovery-drill local status`, run `recovery-drill local cleanup`.',
    });
  } else if (!args.dryRun && args.evaluation === null && !steps.some((s) => s.outcome === 'failed')) {
    deviations.push({
      kind: 'NOT_MEASURED',
      observed: 'the drill ended without an RPO/RTO evaluation',
      expected: 'every drill measures RPO and RTO against the targets',
      remediation: 'Check the evaluate step in the execution history; the drill proves nothing without it.',
    });
  }
  deviations.push(...appVerdictDeviations(args.appVerdict, args.evaluation));
  return deviations;
}

/** A missing app verdict is a warning; a disagreeing one a deviation (`appVerdictDeviations`). */
function appVerdictWarnings(verdict: AppVerdict | null | undefined, steps: StepOutcome[]): string[] {
  if (!verdict) return [];
  const readable = verdict.httpStatus === 200 && (verdict.rpoMinutes !== null || verdict.rpoPassed !== null);
  if (readable) return [];
  // The evaluate step already warns about its endpoint: say it once.
  if (steps.some((s) => s.name === 'evaluate' && s.outcome === 'warning')) return [];
  return [`the app's recovery-evaluate verdict is missing: ${verdict.detail}`];
}

/**
 * Assembles a drill's report and derives what must not be left to the caller: the escalations
 * (from the steps and the evaluation), the deviations, the warnings and whether the drill passed.
 */
export function buildReport(args: BuildReportArgs): DrillReport {
  const escalations = escalationsFromOutcomes(args.drillId, args.steps, args.evaluation, args.mode ?? null);
  const warnings = [
    ...(args.warnings ?? []),
    ...args.steps.filter((s) => s.outcome === 'warning').map((s) => `${s.name}: ${s.detail}`),
    ...(args.evaluation?.warnings ?? []),
    ...appVerdictWarnings(args.appVerdict, args.steps),
  ].map(redactCredentials);
  const failedStep = args.steps.some((s) => s.outcome === 'failed');
  const evaluation = args.evaluation;
  const measuredOk =
    evaluation !== null && rpoMet(evaluation) && evaluation.rto.passed && args.readyAt !== null;
  const passed =
    !args.interrupted && escalations.length === 0 && !failedStep && (args.dryRun === true || measuredOk);
  const restorePointSource = args.restorePointSource ?? evaluation?.restorePointSource ?? null;
  return {
    drillId: args.drillId,
    passed,
    requestedTarget: args.requestedTarget ?? args.targetTime,
    targetTime: args.targetTime,
    restorePointAt: args.restorePointAt,
    restorePointSource,
    restorePointBasis: describeRestorePointSource(restorePointSource, args.mode),
    heartbeat: evaluation?.heartbeat
      ? { ...evaluation.heartbeat, detail: redactCredentials(evaluation.heartbeat.detail) }
      : null,
    startedAt: args.startedAt,
    readyAt: args.readyAt,
    endedAt: args.endedAt ?? null,
    rpoMinutes: args.evaluation?.rpoMinutes ?? null,
    rtoMinutes: args.evaluation?.rtoMinutes ?? null,
    targets: { rpoMinutes: args.targets.rpoMinutes, rtoMinutes: args.targets.rtoMinutes },
    steps: args.steps.map((s) => ({
      ...s,
      detail: redactCredentials(s.detail),
      ...(s.evidence
        ? {
            evidence: Object.fromEntries(
              Object.entries(s.evidence).map(([k, v]) => [
                k,
                typeof v === 'string' ? redactCredentials(v) : v,
              ]),
            ),
          }
        : {}),
    })),
    escalations,
    warnings,
    deviations: deviationsOf(escalations, args.steps, args).map((d) => ({
      ...d,
      observed: redactCredentials(d.observed),
    })),
    environment: args.environment ?? null,
    mode: args.mode ?? null,
    reason: args.reason ? redactCredentials(args.reason) : null,
    requestedBy: args.requestedBy ? redactCredentials(args.requestedBy) : null,
    dryRun: args.dryRun ?? false,
    newestRowLagMinutes: args.evaluation?.newestRowLagMinutes ?? null,
    notes: (args.evaluation?.notes ?? []).map(redactCredentials),
    appVerdict: args.appVerdict
      ? { ...args.appVerdict, detail: redactCredentials(args.appVerdict.detail) }
      : null,
    ...(args.interrupted ? { interrupted: args.interrupted } : {}),
  };
}

/** PASSED, FAILED, or INTERRUPTED (a signal stopped it: it proves nothing either way). */
export function reportVerdict(report: DrillReport): 'PASSED' | 'FAILED' | 'INTERRUPTED' {
  if (report.interrupted) return 'INTERRUPTED';
  return report.passed ? 'PASSED' : 'FAILED';
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

/** T in words: what it is, so that T − P reads as the report's RPO. */
export function describeTargetTime(report: Pick<DrillReport, 'requestedTarget' | 'targetTime'>): string {
  return report.requestedTarget === 'latest'
    ? `${report.targetTime} (the drill's start: a "latest" drill measures what a restore then would lose)`
    : `${report.targetTime} (the requested time)`;
}

/** The heartbeat's bound in one phrase for every rendering, or why there is none. */
export function describeHeartbeat(heartbeat: HeartbeatProof | null): string {
  if (!heartbeat) return 'not evaluated (the drill did not get that far)';
  return heartbeat.detail;
}

/**
 * The drill in one line: verdict, requested target, T, P and its source, the heartbeat's bound, RPO
 * and RTO. The CLI, the local notifier and the SNS summary all print this line.
 */
export function summaryLine(report: DrillReport): string {
  const hb = report.heartbeat;
  const bound =
    hb === null
      ? 'heartbeat not evaluated'
      : hb.status === 'proven'
        ? `heartbeat bound RPO ≤ ${hb.boundMinutes} min`
        : hb.status === 'not-set-up'
          ? 'RPO not proven by data (no heartbeat)'
          : `heartbeat ${hb.status}`;
  const point =
    report.restorePointAt === null
      ? 'P not known'
      : `P ${report.restorePointAt} (${report.restorePointSource ?? 'no source'})`;
  const rpo =
    report.rpoMinutes !== null
      ? `RPO ${report.rpoMinutes} min`
      : `RPO not measured: ${report.restorePointAt === null ? 'no restore point' : 'not evaluated'} (${whyUnmeasured(report)})`;
  const rto =
    report.rtoMinutes !== null
      ? `RTO ${report.rtoMinutes} min`
      : `RTO not measured: ${report.readyAt === null ? 'the app was never ready' : 'not evaluated'} (${whyUnmeasured(report)})`;
  return redactCredentials(
    `drill ${report.drillId} ${report.passed ? 'passed' : reportVerdict(report)}: target ${report.requestedTarget}, T ${report.targetTime}, ${point}, ${bound}; ${rpo}, ${rto}${report.escalations.length > 0 ? `; escalations: ${report.escalations.map((e) => e.class).join(', ')}` : ''}`,
  );
}

/** Why a drill has no measurement: what stopped it first (for the summary's "not measured: …"). */
function whyUnmeasured(report: DrillReport): string {
  if (report.interrupted)
    return `interrupted by ${report.interrupted.signal} during ${report.interrupted.during}`;
  const failed = report.steps.find((s) => s.outcome === 'failed');
  if (failed) return `step ${failed.name} failed`;
  if (report.dryRun) return 'a dry run restores nothing';
  return 'the drill ended before it';
}

/** Makes text safe inside a Markdown table cell. */
function cell(text: string | number | boolean | null | undefined): string {
  if (text === null || text === undefined || text === '') return '–';
  return redactCredentials(String(text)).replace(/\|/g, '\\|').replace(/\r?\n/g, '<br>');
}

function durationOf(step: StepOutcome): string {
  const ms = Date.parse(step.endedAt) - Date.parse(step.startedAt);
  if (!Number.isFinite(ms)) return '–';
  return ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : `${(ms / 60_000).toFixed(1)} min`;
}

/** The engine's RPO is within the target but the heartbeat, set up, does not prove it. */
export function rpoUnproven(report: Pick<DrillReport, 'rpoMinutes' | 'targets' | 'heartbeat'>): boolean {
  return (
    report.rpoMinutes !== null &&
    report.rpoMinutes <= report.targets.rpoMinutes &&
    report.heartbeat?.passed === false
  );
}

function measured(value: number | null, target: number, passed: boolean | null): string {
  if (value === null) return `not measured (target ${target} min)`;
  return `${value} min (target ${target} min): ${passed ? 'met' : '**missed**'}`;
}

/** Renders a report for a person at 3 a.m. (verdict and first actions on top) and for an auditor (everything below). */
export function renderReportMarkdown(report: DrillReport): string {
  const lines: string[] = [];
  const verdict = reportVerdict(report);
  lines.push(`# Recovery drill ${cell(report.drillId)}: ${verdict}`, '');
  if (report.dryRun) lines.push('> Dry run: input validated and plan shown; nothing was restored.', '');
  if (report.interrupted)
    lines.push(
      `> Interrupted by ${cell(report.interrupted.signal)} during ${cell(report.interrupted.during)} at ${cell(report.interrupted.at)}; cleaned up: ${cell(report.interrupted.cleaned.join(', ') || 'nothing was left')}.`,
      '',
    );
  if (report.escalations.length > 0) {
    lines.push('## Escalations (act on these first)', '');
    const ordered = [...report.escalations].sort(
      (a, b) => ESCALATION_CLASSES.indexOf(a.class) - ESCALATION_CLASSES.indexOf(b.class),
    );
    for (const e of ordered) {
      lines.push(`### ${e.class} (${e.severity}): ${cell(ESCALATION_RULES[e.class].title)}`, '');
      lines.push(`- **Observed:** ${cell(e.message)}`);
      lines.push(`- **Runbook:** ${cell(e.runbookStep)}`);
      lines.push(`- **First action:** ${cell(e.remediation)}`);
      const evidence = Object.entries(e.evidence);
      if (evidence.length > 0)
        lines.push(`- **Evidence:** ${evidence.map(([k, v]) => `${cell(k)} = ${cell(v)}`).join('; ')}`);
      lines.push('');
    }
  }
  const rpoPassed =
    report.rpoMinutes === null
      ? null
      : report.rpoMinutes <= report.targets.rpoMinutes && report.heartbeat?.passed !== false;
  const rtoPassed = report.rtoMinutes === null ? null : report.rtoMinutes <= report.targets.rtoMinutes;
  lines.push('## Summary', '', '| | |', '|---|---|');
  lines.push(`| Environment | ${cell(report.environment)}${report.mode ? ` (${report.mode})` : ''} |`);
  lines.push(`| Requested by | ${cell(report.requestedBy)} |`);
  lines.push(`| Reason | ${cell(report.reason)} |`);
  lines.push(`| Requested target | ${cell(report.requestedTarget)} |`);
  lines.push(`| Target time (T) | ${cell(describeTargetTime(report))} |`);
  lines.push(
    `| Restore point (P) | ${cell(report.restorePointAt)}${report.restorePointAt ? `, from ${cell(report.restorePointBasis)}` : ''} |`,
  );
  lines.push(`| Heartbeat (data-proven bound) | ${cell(describeHeartbeat(report.heartbeat))} |`);
  lines.push(`| Drill started | ${cell(report.startedAt)} |`);
  lines.push(`| Ready (all smoke checks passed) | ${cell(report.readyAt)} |`);
  lines.push(`| Drill ended | ${cell(report.endedAt)} |`);
  lines.push(
    `| RPO measured (T − P) | ${measured(report.rpoMinutes, report.targets.rpoMinutes, rpoPassed)}${rpoUnproven(report) ? ' (the heartbeat does not prove it)' : ''} |`,
  );
  lines.push(
    `| RTO measured (ready − start) | ${measured(report.rtoMinutes, report.targets.rtoMinutes, rtoPassed)} |`,
  );
  lines.push(
    `| Newest critical row behind T (informational) | ${report.newestRowLagMinutes === null ? '–' : `${report.newestRowLagMinutes} min`} |`,
  );
  if (report.appVerdict)
    lines.push(`| App's recovery-evaluate | ${cell(describeAppVerdict(report.appVerdict))} |`);
  lines.push('', '## Steps', '', '| step | outcome | started | took | detail |', '|---|---|---|---|---|');
  for (const s of report.steps)
    lines.push(
      `| ${s.name} | ${s.outcome === 'failed' ? '**failed**' : s.outcome} | ${cell(s.startedAt)} | ${durationOf(s)} | ${cell(s.detail)}${
        s.evidence && Object.keys(s.evidence).length > 0
          ? `<br>evidence: ${Object.entries(s.evidence)
              .map(([k, v]) => `${cell(k)} = ${cell(v)}`)
              .join('; ')}`
          : ''
      } |`,
    );
  lines.push('', '## Deviations and remediation', '');
  if (report.deviations.length === 0) lines.push('None: the drill matched the runbook.');
  else {
    lines.push('| kind | observed | expected | remediation |', '|---|---|---|---|');
    for (const d of report.deviations)
      lines.push(`| ${cell(d.kind)} | ${cell(d.observed)} | ${cell(d.expected)} | ${cell(d.remediation)} |`);
  }
  lines.push('', '## Warnings', '');
  if (report.warnings.length === 0) lines.push('None.');
  else for (const w of report.warnings) lines.push(`- ${cell(w)}`);
  if (report.notes.length > 0) {
    lines.push('', '## Notes', '');
    for (const n of report.notes) lines.push(`- ${cell(n)}`);
  }
  lines.push('');
  return lines.join('\n');
}
