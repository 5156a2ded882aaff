/**
 * A drill report as one self-contained HTML page (no scripts, no external assets: it opens from
 * the bucket or an email attachment on an air-gapped laptop), with the steps drawn as an inline SVG
 * timeline so the slow or failed step is seen at a glance. Every text from the report is escaped.
 */

import { describeAppVerdict } from './app-verdict.ts';
import { describeFrom, fromInTitle } from './drill-input.ts';
import { DRILL_STEPS, ESCALATION_CLASSES, ESCALATION_RULES, type StepOutcome } from './escalations.ts';
import { redactCredentials } from './redact.ts';
import { type DrillReport, reportFrom, reportVerdict } from './report.ts';
import { describeHeartbeat, describeTargetTime, rpoUnproven } from './report-markdown.ts';

/** Escapes text for HTML element content and attribute values (credentials masked first). */
export function escapeHtml(text: string | number | boolean | null | undefined): string {
  if (text === null || text === undefined || text === '') return '–';
  return redactCredentials(String(text))
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** Bar colour per step outcome; also the legend. */
export const OUTCOME_COLOURS: Readonly<Record<StepOutcome['outcome'], string>> = {
  passed: '#2e7d32',
  failed: '#c62828',
  warning: '#ef8f00',
  skipped: '#9e9e9e',
};

const WIDTH = 1000;
const LABEL = 170;
const ROW = 26;
const TOP = 30;

function seconds(ms: number): string {
  return ms < 60_000 ? `${(ms / 1000).toFixed(1)} s` : `${(ms / 60_000).toFixed(1)} min`;
}

const TICK_UNITS = [
  { unit: 's', ms: 1000, steps: [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 20, 30] },
  { unit: 'min', ms: 60_000, steps: [1, 2, 5, 10, 15, 20, 30] },
  { unit: 'h', ms: 3_600_000, steps: [1, 2, 3, 6, 12, 24, 48, 96, 168] },
] as const;

/**
 * Where the timeline's axis is marked: round values (multiples of 1, 2 or 5, or 15 and 30 for
 * seconds and minutes) in one unit chosen by the span, at most seven marks after 0, so that "+2 min"
 * reads at a glance where "+1.3 min" or "+37.5 s" beside it would not.
 */
export function timelineTicks(spanMs: number): { unit: 's' | 'min' | 'h'; values: number[]; ms: number[] } {
  const span = Math.max(spanMs, 1);
  const scale = span < 2 * 60_000 ? TICK_UNITS[0] : span < 2 * 3_600_000 ? TICK_UNITS[1] : TICK_UNITS[2];
  const inUnit = span / scale.ms;
  const step = scale.steps.find((s) => inUnit / s <= 7) ?? Math.ceil(inUnit / 7);
  const values: number[] = [];
  // Integer multiples, rounded to the step's decimals: 0.1 * 3 is 0.3, not 0.30000000000000004.
  const decimals = Math.max(0, -Math.floor(Math.log10(step)));
  for (let i = 0; i * step <= inUnit + 1e-9; i++) values.push(Number((i * step).toFixed(decimals)));
  return { unit: scale.unit, values, ms: values.map((v) => v * scale.ms) };
}

/**
 * The rows of the timeline: the report's steps, and in their place in the drill's order the steps
 * that did not run (an earlier step failed, the drill was a dry run), as skipped. The report and
 * notify steps are left out: they run after the report is built, and a failed preparation is listed
 * only when it failed.
 */
export function timelineRows(steps: readonly StepOutcome[]): TimelineRow[] {
  const byName = new Map(steps.map((s) => [s.name, s]));
  const rows: TimelineRow[] = steps
    .filter((s) => !(DRILL_STEPS as readonly string[]).includes(s.name))
    .map((step) => ({ step, ran: true }));
  for (const name of DRILL_STEPS) {
    const step = byName.get(name);
    if (step) rows.push({ step, ran: true });
    else if (name !== 'report' && name !== 'notify')
      rows.push({
        step: { name, startedAt: '', endedAt: '', outcome: 'skipped', detail: 'not run' },
        ran: false,
      });
  }
  return rows;
}

/** One row of the timeline: a step of the report, or one that did not run (no bar). */
export interface TimelineRow {
  readonly step: StepOutcome;
  readonly ran: boolean;
}

/**
 * The steps on one time axis: one `<rect class="step-bar">` per step that ran, coloured by
 * outcome, and a grey row for each step that did not run.
 */
export function renderTimelineSvg(steps: readonly StepOutcome[]): string {
  const rows = timelineRows(steps);
  const times = steps
    .flatMap((s) => [Date.parse(s.startedAt), Date.parse(s.endedAt)])
    .filter(Number.isFinite);
  const start = times.length > 0 ? Math.min(...times) : 0;
  const end = times.length > 0 ? Math.max(...times) : 0;
  const span = Math.max(end - start, 1);
  const ticks = timelineTicks(span);
  // Room on the right for the last bar's duration label.
  const plot = WIDTH - LABEL - 80;
  const height = TOP + rows.length * ROW + 10;
  const x = (t: number) => LABEL + ((t - start) / span) * plot;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" class="timeline" role="img" aria-label="Timeline of the drill's steps" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}">`,
  ];
  ticks.ms.forEach((ms, i) => {
    const at = x(start + ms);
    parts.push(
      `<line class="tick" x1="${at.toFixed(1)}" y1="${TOP - 8}" x2="${at.toFixed(1)}" y2="${height - 6}" stroke="#ddd"/>`,
      `<text class="tick-label" x="${at.toFixed(1)}" y="${TOP - 12}" font-size="11" text-anchor="middle" fill="#555">+${escapeHtml(`${ticks.values[i]} ${ticks.unit}`)}</text>`,
    );
  });
  rows.forEach(({ step, ran }, i) => {
    const y = TOP + i * ROW;
    const grey = step.outcome === 'skipped';
    parts.push(
      `<text class="step-label${grey ? ' skipped' : ''}" x="${LABEL - 8}" y="${y + 16}" font-size="12" text-anchor="end" fill="${grey ? OUTCOME_COLOURS.skipped : '#222'}">${escapeHtml(step.name)}</text>`,
    );
    if (!ran) {
      parts.push(
        `<text class="step-not-run" data-step="${escapeHtml(step.name)}" x="${LABEL + 4}" y="${y + 16}" font-size="11" fill="${OUTCOME_COLOURS.skipped}">skipped: not run</text>`,
      );
      return;
    }
    const s = Date.parse(step.startedAt);
    const e = Date.parse(step.endedAt);
    const x0 = Number.isFinite(s) ? x(s) : LABEL;
    const w = Number.isFinite(s) && Number.isFinite(e) ? Math.max(x(e) - x0, 2) : 2;
    const took = Number.isFinite(s) && Number.isFinite(e) ? seconds(e - s) : '–';
    parts.push(
      `<rect class="step-bar outcome-${escapeHtml(step.outcome)}" data-step="${escapeHtml(step.name)}" data-outcome="${escapeHtml(step.outcome)}" x="${x0.toFixed(1)}" y="${y + 4}" width="${w.toFixed(1)}" height="${ROW - 8}" rx="3" fill="${OUTCOME_COLOURS[step.outcome]}"><title>${escapeHtml(`${step.name}: ${step.outcome}, ${took}: ${step.detail}`)}</title></rect>`,
      `<text x="${(x0 + w + 4).toFixed(1)}" y="${y + 16}" font-size="11" fill="${grey ? OUTCOME_COLOURS.skipped : '#444'}">${escapeHtml(grey ? `${took}, skipped` : took)}</text>`,
    );
  });
  parts.push('</svg>');
  return parts.join('\n');
}

function measuredCell(value: number | null, target: number, unproven = false): string {
  if (value === null) return `not measured (target ${escapeHtml(target)} min)`;
  const met = value <= target && !unproven;
  return `<span class="${met ? 'met' : 'missed'}">${escapeHtml(value)} min</span> (target ${escapeHtml(target)} min): ${met ? 'met' : '<strong>missed</strong>'}${unproven ? ' (the heartbeat does not prove it)' : ''}`;
}

const STYLE = `
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px;color:#222;max-width:1100px}
h1 .verdict-passed{color:#2e7d32}h1 .verdict-failed{color:#c62828}h1 .verdict-interrupted{color:#ef8f00}
table{border-collapse:collapse;margin:8px 0 20px}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}
.met{color:#2e7d32}.missed{color:#c62828;font-weight:bold}
.escalation{border-left:6px solid #c62828;padding:4px 12px;margin:10px 0;background:#fff5f5}
.escalation.high{border-color:#ef8f00;background:#fffaf0}.escalation.warning{border-color:#9e9e9e;background:#fafafa}
.legend span{display:inline-block;margin-right:14px}.legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:middle}
`;

/** A failed step's evidence (status, path, counts) under its detail, as the escalation lists it. */
function stepEvidence(step: StepOutcome): string {
  const entries = Object.entries(step.evidence ?? {});
  if (entries.length === 0) return '';
  return `<br><small class="evidence">${entries.map(([k, v]) => `${escapeHtml(k)} = ${escapeHtml(v)}`).join('; ')}</small>`;
}

/** The report as a page for the person at 3 a.m. (verdict, escalations, timeline on top) and the auditor. */
export function renderReportHtml(report: DrillReport): string {
  const verdict = reportVerdict(report);
  const from = fromInTitle(reportFrom(report));
  const fromHtml = from === '' ? '' : escapeHtml(from);
  const b: string[] = [];
  b.push(
    `<h1>Recovery drill ${escapeHtml(report.drillId)}${fromHtml}: <span class="verdict verdict-${verdict.toLowerCase()}">${verdict}</span></h1>`,
  );
  if (report.dryRun) b.push('<p><em>Dry run: input validated and plan shown; nothing was restored.</em></p>');
  if (report.interrupted)
    b.push(
      `<p class="interrupted"><em>Interrupted by ${escapeHtml(report.interrupted.signal)} during ${escapeHtml(report.interrupted.during)} at ${escapeHtml(report.interrupted.at)}; cleaned up: ${escapeHtml(report.interrupted.cleaned.join(', ') || 'nothing was left')}.</em></p>`,
    );
  b.push('<h2>Objectives</h2><table class="objectives">');
  b.push(
    `<tr><th>RPO measured (T − P)</th><td>${measuredCell(report.rpoMinutes, report.targets.rpoMinutes, rpoUnproven(report))}</td></tr>`,
  );
  b.push(
    `<tr><th>Heartbeat (data-proven bound)</th><td class="heartbeat heartbeat-${escapeHtml(report.heartbeat?.status ?? 'none')}">${escapeHtml(describeHeartbeat(report.heartbeat))}</td></tr>`,
  );
  b.push(
    `<tr><th>RTO measured (ready − start)</th><td>${measuredCell(report.rtoMinutes, report.targets.rtoMinutes)}</td></tr>`,
  );
  if (report.appVerdict)
    b.push(
      `<tr><th>App's recovery-evaluate</th><td class="app-verdict">${escapeHtml(describeAppVerdict(report.appVerdict))}</td></tr>`,
    );
  b.push('</table>');
  if (report.escalations.length > 0) {
    b.push('<h2>Escalations (act on these first)</h2>');
    const ordered = [...report.escalations].sort(
      (a, c) => ESCALATION_CLASSES.indexOf(a.class) - ESCALATION_CLASSES.indexOf(c.class),
    );
    for (const e of ordered) {
      const evidence = Object.entries(e.evidence)
        .map(([k, v]) => `${escapeHtml(k)} = ${escapeHtml(v)}`)
        .join('; ');
      b.push(
        `<div class="escalation ${escapeHtml(e.severity)}"><h3>${escapeHtml(e.class)} (${escapeHtml(e.severity)}): ${escapeHtml(ESCALATION_RULES[e.class].title)}</h3><ul>`,
        `<li><strong>Observed:</strong> ${escapeHtml(e.message)}</li>`,
        `<li><strong>Runbook:</strong> ${escapeHtml(e.runbookStep)}</li>`,
        `<li><strong>First action:</strong> ${escapeHtml(e.remediation)}</li>`,
        evidence ? `<li><strong>Evidence:</strong> ${evidence}</li>` : '',
        '</ul></div>',
      );
    }
  }
  b.push('<h2>Timeline</h2>');
  b.push(
    `<p class="legend">${Object.entries(OUTCOME_COLOURS)
      .map(([o, c]) => `<span><i style="background:${c}"></i>${escapeHtml(o)}</span>`)
      .join('')}</p>`,
  );
  b.push(renderTimelineSvg(report.steps));
  b.push('<h2>Deviations and remediation</h2>');
  if (report.deviations.length === 0) b.push('<p>None: the drill matched the runbook.</p>');
  else {
    b.push(
      '<table class="deviations"><tr><th>kind</th><th>observed</th><th>expected</th><th>remediation</th></tr>',
    );
    for (const d of report.deviations)
      b.push(
        `<tr><td>${escapeHtml(d.kind)}</td><td>${escapeHtml(d.observed)}</td><td>${escapeHtml(d.expected)}</td><td>${escapeHtml(d.remediation)}</td></tr>`,
      );
    b.push('</table>');
  }
  b.push('<h2>Summary</h2><table class="summary">');
  const rows: [string, string | null][] = [
    ['Environment', `${report.environment ?? '–'}${report.mode ? ` (${report.mode})` : ''}`],
    ['Data from', `${describeFrom(reportFrom(report))} (${reportFrom(report)})`],
    ['Requested by', report.requestedBy],
    ['Reason', report.reason],
    ['Requested target', report.requestedTarget],
    ['Target time (T)', describeTargetTime(report)],
    [
      'Restore point (P)',
      report.restorePointAt ? `${report.restorePointAt}, from ${report.restorePointBasis}` : null,
    ],
    ['Drill started', report.startedAt],
    ['Ready (all smoke checks passed)', report.readyAt],
    ['Drill ended', report.endedAt],
    [
      'Newest critical row behind T (informational)',
      report.newestRowLagMinutes === null ? null : `${report.newestRowLagMinutes} min`,
    ],
  ];
  for (const [k, v] of rows) b.push(`<tr><th>${escapeHtml(k)}</th><td>${escapeHtml(v)}</td></tr>`);
  b.push('</table>');
  b.push(
    '<h2>Steps</h2><table class="steps"><tr><th>step</th><th>outcome</th><th>started</th><th>detail</th></tr>',
  );
  for (const s of report.steps)
    b.push(
      `<tr><td>${escapeHtml(s.name)}</td><td>${escapeHtml(s.outcome)}</td><td>${escapeHtml(s.startedAt)}</td><td>${escapeHtml(s.detail)}${stepEvidence(s)}</td></tr>`,
    );
  b.push('</table><h2>Warnings</h2>');
  if (report.warnings.length === 0) b.push('<p>None.</p>');
  else b.push(`<ul>${report.warnings.map((w) => `<li>${escapeHtml(w)}</li>`).join('')}</ul>`);
  if (report.notes.length > 0)
    b.push(`<h2>Notes</h2><ul>${report.notes.map((n) => `<li>${escapeHtml(n)}</li>`).join('')}</ul>`);
  return [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    // No network: a strict CSP documents (and enforces) that the page loads nothing.
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    `<title>Recovery drill ${escapeHtml(report.drillId)}${fromHtml}: ${verdict}</title>`,
    `<style>${STYLE}</style></head><body>`,
    ...b,
    '</body></html>',
    '',
  ].join('\n');
}
