/**
 * The drill report: one JSON shape (a contract kept by the CLI's `--json` output and the reports
 * stored in the backup bucket), and what it derives: the verdict, the escalations and the deviations
 * (runbook "Quarterly Recovery Drill" 2-3: validate RPO/RTO, capture deviations and remediation).
 */

import { type AppVerdict, appVerdictDeviations, appVerdictWarnings } from './app-verdict.ts';
import type { DrillFrom } from './drill-input.ts';
import {
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

export type { AppVerdict } from './app-verdict.ts';

/** Something that differed from what the runbook expects, and what to do about it. */
export interface Deviation {
  kind: string;
  observed: string;
  expected: string;
  remediation: string;
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
  /**
   * Where the restored data came from: `source`, or an isolated copy (issue 14). Reports written
   * before it existed lack it: read them with `reportFrom`.
   */
  from: DrillFrom;
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
  /** Where the data came from; default `source`. */
  from?: DrillFrom;
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
    from: args.from ?? 'source',
    newestRowLagMinutes: args.evaluation?.newestRowLagMinutes ?? null,
    notes: (args.evaluation?.notes ?? []).map(redactCredentials),
    appVerdict: args.appVerdict
      ? { ...args.appVerdict, detail: redactCredentials(args.appVerdict.detail) }
      : null,
    ...(args.interrupted ? { interrupted: args.interrupted } : {}),
  };
}

/** Where a stored report's data came from: reports older than the field are from the source. */
export function reportFrom(report: Pick<DrillReport, 'from'> | { from?: unknown }): DrillFrom {
  return typeof report.from === 'string' ? (report.from as DrillFrom) : 'source';
}

/** PASSED, FAILED, or INTERRUPTED (a signal stopped it: it proves nothing either way). */
export function reportVerdict(report: DrillReport): 'PASSED' | 'FAILED' | 'INTERRUPTED' {
  if (report.interrupted) return 'INTERRUPTED';
  return report.passed ? 'PASSED' : 'FAILED';
}
