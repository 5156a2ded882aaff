import { describe, expect, it } from 'vitest';
import type { StepOutcome } from '../../functions/core/escalations.ts';
import { evaluateRecovery } from '../../functions/core/evaluate.ts';
import { buildReport, type DrillReport } from '../../functions/core/report.ts';
import {
  escapeHtml,
  OUTCOME_COLOURS,
  renderReportHtml,
  renderTimelineSvg,
  timelineTicks,
} from '../../functions/core/report-html.ts';

const START = Date.parse('2026-11-26T06:00:00Z');
const at = (min: number) => new Date(START + min * 60_000).toISOString();

function step(
  name: StepOutcome['name'],
  from: number,
  to: number,
  outcome: StepOutcome['outcome'] = 'passed',
  detail = 'ok',
): StepOutcome {
  return { name, startedAt: at(from), endedAt: at(to), outcome, detail };
}

/** A drill whose login failed, with hostile text in the places a person or the app can write to. */
function failedDrill(): DrillReport {
  const targets = { rpoMinutes: 60, rtoMinutes: 30 };
  return buildReport({
    drillId: '20261126t060000z-ab12',
    targetTime: at(0),
    restorePointAt: at(-2),
    startedAt: at(0),
    readyAt: at(12),
    endedAt: at(14),
    targets,
    steps: [
      step('validate', 0, 0.1),
      step('restore', 0.1, 8),
      step('smoke-health', 8, 9),
      step('smoke-login', 9, 10, 'failed', 'POST /api/auth/login answered 500: <script>alert(1)</script>'),
      step('evaluate', 10, 11, 'warning', 'recovery-evaluate answered 503'),
      step('cleanup', 12, 14, 'skipped', 'kept'),
    ],
    evaluation: evaluateRecovery({
      targetTime: at(0),
      restorePointAt: at(-2),
      startedAt: at(0),
      readyAt: at(12),
      targets,
    }),
    environment: 'prod',
    mode: 'local',
    reason: 'quarterly <b>drill</b> & "audit"',
    requestedBy: 'postgres://admin:hunter2@db.internal:5432/app',
  });
}

describe('drill report HTML page', () => {
  it('escapes every text from the report, so nothing in it becomes markup', () => {
    const html = renderReportHtml(failedDrill());
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('quarterly &lt;b&gt;drill&lt;/b&gt; &amp; &quot;audit&quot;');
    expect(escapeHtml(`a'b`)).toBe('a&#39;b');
  });

  it('never shows a password from a connection string', () => {
    const html = renderReportHtml(failedDrill());
    expect(html).not.toContain('hunter2');
  });

  it('draws one bar per step on the time axis, coloured by outcome and in step order', () => {
    const report = failedDrill();
    const svg = renderTimelineSvg(report.steps);
    const bars = [
      ...svg.matchAll(
        /<rect class="step-bar[^"]*" data-step="([^"]+)" data-outcome="([^"]+)" x="([\d.]+)" y="[\d.]+" width="([\d.]+)"[^>]*fill="([^"]+)"/g,
      ),
    ];
    expect(bars.map((b) => [b[1], b[2], b[5]])).toEqual(
      report.steps.map((s) => [s.name, s.outcome, OUTCOME_COLOURS[s.outcome]]),
    );
    const xs = bars.map((b) => Number(b[3]));
    expect(xs).toEqual([...xs].sort((a, b) => a - b));
    // The restore took 7.9 of 14 minutes: its bar is by far the widest.
    const widths = bars.map((b) => Number(b[4]));
    expect(Math.max(...widths)).toBe(widths[1]);
  });

  it('marks the axis with round values in one unit, chosen by the span', () => {
    expect(timelineTicks(14 * 60_000)).toMatchObject({ unit: 'min', values: [0, 2, 4, 6, 8, 10, 12, 14] });
    expect(timelineTicks(37_500)).toMatchObject({ unit: 's', values: [0, 10, 20, 30] });
    expect(timelineTicks(300)).toMatchObject({ unit: 's', values: [0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3] });
    expect(timelineTicks(150 * 60_000)).toMatchObject({ unit: 'h', values: [0, 1, 2] });
    expect(timelineTicks(45 * 60_000)).toMatchObject({ unit: 'min', values: [0, 10, 20, 30, 40] });

    // On the page: every mark in minutes for a 14-minute drill, each at its value on the axis.
    const svg = renderTimelineSvg(failedDrill().steps);
    const marks = [...svg.matchAll(/<text class="tick-label" x="([\d.]+)"[^>]*>\+([^<]+)<\/text>/g)].map(
      (m) => ({ x: Number(m[1]), label: m[2] as string }),
    );
    expect(marks.map((m) => m.label)).toEqual([
      '0 min',
      '2 min',
      '4 min',
      '6 min',
      '8 min',
      '10 min',
      '12 min',
      '14 min',
    ]);
    const gaps = marks.slice(1).map((m, i) => m.x - (marks[i] as { x: number }).x);
    for (const gap of gaps) expect(gap).toBeCloseTo(gaps[0] as number, 0);
  });

  it('shows skipped steps grey, and the steps that did not run as grey rows without a bar', () => {
    const svg = renderTimelineSvg(failedDrill().steps);
    // The cleanup was skipped: a grey bar, its label grey.
    expect(svg).toMatch(
      new RegExp(`data-step="cleanup" data-outcome="skipped"[^>]*fill="${OUTCOME_COLOURS.skipped}"`),
    );
    expect(svg).toMatch(
      new RegExp(`class="step-label skipped"[^>]*fill="${OUTCOME_COLOURS.skipped}">cleanup<`),
    );
    // The integrity check never ran (the login failed first): a grey row, no bar.
    expect(svg).toMatch(
      new RegExp(`class="step-label skipped"[^>]*fill="${OUTCOME_COLOURS.skipped}">integrity<`),
    );
    expect(svg).toContain(`data-step="integrity" x="${170 + 4}"`);
    expect(svg).toContain('skipped: not run');
    expect(svg).not.toContain('data-step="integrity" data-outcome');
    // Steps that ran are not grey.
    expect(svg).toMatch(/class="step-label" [^>]*fill="#222">smoke-login</);
    // The report and notify steps run after the report is built: never drawn as not run.
    expect(svg).not.toContain('>report<');
    expect(svg).not.toContain('>notify<');
    expect(renderReportHtml(failedDrill())).toContain(`background:${OUTCOME_COLOURS.skipped}`);
  });

  it('shows the verdict, RPO and RTO against their targets, escalations and deviations', () => {
    const html = renderReportHtml(failedDrill());
    expect(html).toMatch(
      /<h1>Recovery drill 20261126t060000z-ab12: <span class="verdict verdict-failed">FAILED<\/span><\/h1>/,
    );
    expect(html).toContain('<span class="met">2 min</span> (target 60 min): met');
    expect(html).toContain('<span class="met">12 min</span> (target 30 min): met');
    expect(html).toContain('AUTH_WRITE_FAILED (critical)');
    expect(html).toMatch(/<table class="deviations">[\s\S]*AUTH_WRITE_FAILED/);
  });

  it('loads nothing from the network: no scripts, no external links or images', () => {
    const html = renderReportHtml(failedDrill());
    expect(html).not.toMatch(/<script|<link|src="http|href="http/);
    expect(html).toContain("default-src 'none'");
  });
});
