/**
 * The drill report in words: the one summary line the CLI, the local notifier and the SNS summary
 * print, and the Markdown report for a person at 3 a.m. (verdict and first actions on top) and for
 * an auditor (everything below).
 */

import { describeAppVerdict } from './app-verdict.ts';
import { describeFrom, fromInTitle } from './drill-input.ts';
import { ESCALATION_CLASSES, ESCALATION_RULES, type StepOutcome } from './escalations.ts';
import type { HeartbeatProof } from './evaluate.ts';
import { redactCredentials } from './redact.ts';
import { type DrillReport, reportFrom, reportVerdict } from './report.ts';

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
    `drill ${report.drillId}${fromInTitle(reportFrom(report))} ${report.passed ? 'passed' : reportVerdict(report)}: target ${report.requestedTarget}, T ${report.targetTime}, ${point}, ${bound}; ${rpo}, ${rto}${report.escalations.length > 0 ? `; escalations: ${report.escalations.map((e) => e.class).join(', ')}` : ''}`,
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
  lines.push(`# Recovery drill ${cell(report.drillId)}${fromInTitle(reportFrom(report))}: ${verdict}`, '');
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
  lines.push(`| Data from | ${cell(describeFrom(reportFrom(report)))} (\`${reportFrom(report)}\`) |`);
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
