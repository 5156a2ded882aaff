import { describe, expect, it } from 'vitest';
import { DRILL_STEPS, type DrillStepName, type StepOutcome } from '../../functions/core/escalations.ts';
import { type EvaluationInput, evaluateRecovery } from '../../functions/core/evaluate.ts';
import { type AppVerdict, type BuildReportArgs, buildReport } from '../../functions/core/report.ts';
import { renderReportHtml } from '../../functions/core/report-html.ts';
import { renderReportMarkdown, summaryLine } from '../../functions/core/report-markdown.ts';

const step = (
  name: DrillStepName,
  outcome: StepOutcome['outcome'] = 'passed',
  detail = 'ok',
): StepOutcome => ({
  name,
  startedAt: '2026-11-26T10:00:00Z',
  endedAt: '2026-11-26T10:00:30Z',
  outcome,
  detail,
});

const evaluation = (overrides: Partial<EvaluationInput> = {}) =>
  evaluateRecovery({
    targetTime: '2026-11-26T10:00:00Z',
    restorePointAt: '2026-11-26T09:59:00Z',
    startedAt: '2026-11-26T10:00:00Z',
    readyAt: '2026-11-26T10:20:00Z',
    newestRowAt: '2026-11-26T09:58:00Z',
    targets: { rpoMinutes: 60, rtoMinutes: 30 },
    ...overrides,
  });

/** The app's answer as the evaluate step records it (its numbers for the drill below: RPO 1, RTO 20). */
const appVerdict = (overrides: Partial<AppVerdict> = {}): AppVerdict => ({
  httpStatus: 200,
  rpoMinutes: 1,
  rtoMinutes: 20,
  rpoPassed: true,
  rtoPassed: true,
  overallPass: true,
  rtoComparable: true,
  detail: '{"measured":{"rpoMinutes":1,"rtoMinutes":20}}',
  ...overrides,
});
const unanswered = (httpStatus: number | null, detail: string): AppVerdict =>
  appVerdict({
    httpStatus,
    rpoMinutes: null,
    rtoMinutes: null,
    rpoPassed: null,
    rtoPassed: null,
    overallPass: null,
    detail,
  });

/** A drill that went well, in local mode. */
const args = (overrides: Partial<BuildReportArgs> = {}): BuildReportArgs => ({
  drillId: 'drill-2026-11-26-1000',
  targetTime: '2026-11-26T10:00:00.000Z',
  restorePointAt: '2026-11-26T09:59:00.000Z',
  startedAt: '2026-11-26T10:00:00.000Z',
  readyAt: '2026-11-26T10:20:00.000Z',
  endedAt: '2026-11-26T10:25:00.000Z',
  targets: { rpoMinutes: 60, rtoMinutes: 30 },
  steps: DRILL_STEPS.map((name) => step(name)),
  evaluation: evaluation(),
  environment: 'example',
  mode: 'local',
  reason: 'quarterly drill',
  requestedBy: 'schedule',
  ...overrides,
});

const failing = (name: DrillStepName, detail: string) =>
  DRILL_STEPS.map((n) => (n === name ? step(n, 'failed', detail) : step(n)));

describe('drill report', () => {
  it('passes a drill where every step passed and both targets were met', () => {
    const report = buildReport(args());
    expect(report).toMatchObject({
      drillId: 'drill-2026-11-26-1000',
      passed: true,
      rpoMinutes: 1,
      rtoMinutes: 20,
      newestRowLagMinutes: 2,
      escalations: [],
      deviations: [],
      warnings: [],
      mode: 'local',
      dryRun: false,
    });
    expect(report.steps).toHaveLength(DRILL_STEPS.length);
  });

  it('records where the data came from, and says it in the titles of every rendering', () => {
    const source = buildReport(args());
    expect(source.from).toBe('source');
    expect(renderReportMarkdown(source)).toMatch(/^# Recovery drill drill-2026-11-26-1000: PASSED$/m);
    expect(renderReportMarkdown(source)).toContain('| Data from | the source (`source`) |');
    const isolated = buildReport(args({ from: 'isolated' }));
    expect(JSON.parse(JSON.stringify(isolated)).from).toBe('isolated');
    expect(renderReportMarkdown(isolated)).toMatch(
      /^# Recovery drill drill-2026-11-26-1000 \(from the isolated copy\): PASSED$/m,
    );
    expect(renderReportMarkdown(isolated)).toContain('| Data from | the isolated copy (`isolated`) |');
    const html = renderReportHtml(isolated);
    expect(html).toContain(
      '<title>Recovery drill drill-2026-11-26-1000 (from the isolated copy): PASSED</title>',
    );
    expect(html).toMatch(/<h1>Recovery drill drill-2026-11-26-1000 \(from the isolated copy\): </);
    expect(summaryLine(isolated)).toMatch(/^drill drill-2026-11-26-1000 \(from the isolated copy\) passed: /);
    // A report stored before the field existed reads as a drill from the source.
    const { from: _old, ...older } = isolated;
    expect(renderReportMarkdown(older as never)).toMatch(/^# Recovery drill drill-2026-11-26-1000: PASSED$/m);
  });

  it('keeps the top-level fields of the report contract', () => {
    const keys = Object.keys(buildReport(args()));
    for (const key of [
      'drillId',
      'passed',
      'requestedTarget',
      'targetTime',
      'restorePointAt',
      'restorePointSource',
      'restorePointBasis',
      'heartbeat',
      'notes',
      'startedAt',
      'readyAt',
      'rpoMinutes',
      'rtoMinutes',
      'targets',
      'steps',
      'escalations',
      'warnings',
      'deviations',
      'from',
    ])
      expect(keys).toContain(key);
  });

  it('says the requested target, T, P and its source, the heartbeat bound, RPO and RTO alike in JSON, Markdown, HTML and the summary line', () => {
    // A "latest" drill in AWS: T is the drill start, P the LatestRestorableTime when the restore began.
    const measured = evaluation({
      latest: true,
      restorePointSource: 'latest-restorable-time',
      heartbeat: {
        expected: true,
        intervalMinutes: 1,
        reading: {
          table: '"recovery_drill"."heartbeat"',
          configured: true,
          newestAt: '2026-11-26T09:58:30Z',
          count: 7,
          error: null,
        },
      },
    });
    const report = buildReport(
      args({
        mode: 'aws',
        requestedTarget: 'latest',
        restorePointSource: 'latest-restorable-time',
        evaluation: measured,
      }),
    );
    expect(report).toMatchObject({
      requestedTarget: 'latest',
      targetTime: '2026-11-26T10:00:00.000Z',
      restorePointAt: '2026-11-26T09:59:00.000Z',
      restorePointSource: 'latest-restorable-time',
      restorePointBasis:
        "the engine: the source's RDS LatestRestorableTime when the restore started (restored with UseLatestRestorableTime)",
      heartbeat: { status: 'proven', boundMinutes: 1.5, newestAt: '2026-11-26T09:58:30.000Z' },
      rpoMinutes: 1,
      rtoMinutes: 20,
      passed: true,
    });
    const markdown = renderReportMarkdown(report);
    expect(markdown).toContain('| Requested target | latest |');
    expect(markdown).toContain(
      `| Target time (T) | 2026-11-26T10:00:00.000Z (the drill's start: a "latest" drill measures what a restore then would lose) |`,
    );
    expect(markdown).toContain(
      "| Restore point (P) | 2026-11-26T09:59:00.000Z, from the engine: the source's RDS LatestRestorableTime when the restore started (restored with UseLatestRestorableTime) |",
    );
    expect(markdown).toContain(
      "| Heartbeat (data-proven bound) | RPO ≤ 1.5 min, proven by data: the restored copy's newest heartbeat at or before T is 2026-11-26T09:58:30.000Z (7 beat(s); expected at or after 2026-11-26T08:59:00.000Z) |",
    );
    expect(markdown).toContain('| RPO measured (T − P) | 1 min (target 60 min): met |');
    const html = renderReportHtml(report);
    expect(html).toContain('<tr><th>Requested target</th><td>latest</td></tr>');
    expect(html).toContain('RPO ≤ 1.5 min, proven by data');
    expect(html).toContain(
      '2026-11-26T09:59:00.000Z, from the engine: the source&#39;s RDS LatestRestorableTime',
    );
    expect(summaryLine(report)).toBe(
      'drill drill-2026-11-26-1000 passed: target latest, T 2026-11-26T10:00:00.000Z, P 2026-11-26T09:59:00.000Z (latest-restorable-time), heartbeat bound RPO ≤ 1.5 min; RPO 1 min, RTO 20 min',
    );
  });

  it('fails the RPO on a heartbeat missing from the copy, saying so in every rendering, the engine RPO met', () => {
    const report = buildReport(
      args({
        evaluation: evaluation({
          heartbeat: {
            expected: true,
            intervalMinutes: 1,
            reading: {
              table: '"recovery_drill"."heartbeat"',
              configured: false,
              newestAt: null,
              count: 0,
              error: null,
            },
          },
        }),
      }),
    );
    expect(report.passed).toBe(false);
    expect(report.escalations.map((e) => e.class)).toEqual(['RPO_BREACHED']);
    expect(report.escalations[0]?.evidence).toMatchObject({
      heartbeat: 'missing',
      newestHeartbeatAt: null,
      heartbeatExpectedBy: '2026-11-26T08:59:00.000Z',
    });
    expect(renderReportMarkdown(report)).toContain(
      '| RPO measured (T − P) | 1 min (target 60 min): **missed** (the heartbeat does not prove it) |',
    );
    expect(renderReportHtml(report)).toContain('(the heartbeat does not prove it)');
    expect(summaryLine(report)).toContain(
      'heartbeat missing; RPO 1 min, RTO 20 min; escalations: RPO_BREACHED',
    );
  });

  it('says when the RPO is the engine alone: no heartbeat set up in AWS', () => {
    const report = buildReport(
      args({
        mode: 'aws',
        evaluation: evaluation({
          heartbeat: { expected: false, reason: 'heartbeat.mode is none', intervalMinutes: 1, reading: null },
        }),
      }),
    );
    expect(report.passed).toBe(true);
    expect(renderReportMarkdown(report)).toContain(
      "| Heartbeat (data-proven bound) | not proven by data: heartbeat.mode is none; the RPO is the engine's alone |",
    );
    expect(summaryLine(report)).toContain('RPO not proven by data (no heartbeat)');
  });

  it('says in the summary why RPO and RTO were not measured, never a dash', () => {
    const beforeRestore = DRILL_STEPS.map((n) =>
      n === 'restore'
        ? step(n, 'failed', 'no restore point')
        : DRILL_STEPS.indexOf(n) > DRILL_STEPS.indexOf('restore')
          ? step(n, 'skipped')
          : step(n),
    );
    const failedRestore = summaryLine(
      buildReport(args({ steps: beforeRestore, restorePointAt: null, readyAt: null, evaluation: null })),
    );
    expect(failedRestore).toContain(
      'P not known, heartbeat not evaluated; RPO not measured: no restore point (step restore failed), RTO not measured: the app was never ready (step restore failed)',
    );
    expect(failedRestore).not.toContain('–');

    const neverReady = summaryLine(
      buildReport(
        args({
          steps: failing('smoke-ready', 'HTTP 503'),
          readyAt: null,
          evaluation: evaluation({ readyAt: null }),
        }),
      ),
    );
    expect(neverReady).toContain(
      'RPO 1 min, RTO not measured: the app was never ready (step smoke-ready failed)',
    );
    expect(neverReady).not.toContain('–');
  });

  it('fails a drill with a failed step and derives its escalation and deviation', () => {
    const report = buildReport(args({ steps: failing('integrity', 'AuditLog is empty') }));
    expect(report.passed).toBe(false);
    expect(report.escalations.map((e) => e.class)).toEqual(['INTEGRITY_FAILED']);
    expect(report.deviations).toEqual([
      {
        kind: 'INTEGRITY_FAILED',
        observed: 'integrity failed: AuditLog is empty',
        expected: 'every critical table present, non-empty, referentially whole and nothing in it after T',
        remediation: expect.stringContaining('Treat it as possible data loss'),
      },
    ]);
  });

  it('fails a drill that missed a target even when every step passed', () => {
    const report = buildReport(
      args({ evaluation: evaluation({ readyAt: '2026-11-26T10:40:00Z' }), readyAt: '2026-11-26T10:40:00Z' }),
    );
    expect(report.passed).toBe(false);
    expect(report.escalations.map((e) => e.class)).toEqual(['RTO_BREACHED']);
    expect(report.deviations[0]?.kind).toBe('RTO_BREACHED');
  });

  it('fails a drill that was never measured and says so', () => {
    const report = buildReport(args({ evaluation: null }));
    expect(report.passed).toBe(false);
    expect(report.rpoMinutes).toBeNull();
    expect(report.deviations.map((d) => d.kind)).toEqual(['NOT_MEASURED']);
  });

  it('records a failed step without an escalation class as a deviation', () => {
    const report = buildReport(args({ steps: failing('report', 'bucket write denied') }));
    expect(report.passed).toBe(false);
    expect(report.escalations).toEqual([]);
    expect(report.deviations).toEqual([
      expect.objectContaining({ kind: 'STEP_FAILED', observed: 'report failed: bucket write denied' }),
    ]);
  });

  it('passes a dry run that validated its input without measuring', () => {
    const report = buildReport(
      args({
        dryRun: true,
        evaluation: null,
        readyAt: null,
        steps: [step('validate')],
        restorePointAt: null,
      }),
    );
    expect(report).toMatchObject({ passed: true, dryRun: true, deviations: [] });
  });

  it('collects warnings from steps, the evaluation, the caller and the app verdict', () => {
    const steps = DRILL_STEPS.map((n) =>
      n === 'evaluate' ? step(n, 'warning', 'recovery-evaluate answered 503') : step(n),
    );
    const report = buildReport(
      args({
        steps,
        warnings: ['source instance is in maintenance'],
        evaluation: evaluation({ newestRowAt: '2026-11-26T07:00:00Z' }),
        appVerdict: appVerdict(),
      }),
    );
    expect(report.passed).toBe(true);
    expect(report.warnings).toEqual([
      'source instance is in maintenance',
      'evaluate: recovery-evaluate answered 503',
    ]);
    // A quiet source's old newest row is a note, never a warning or a failure.
    expect(report.notes).toEqual([expect.stringMatching(/^the newest critical row is 180 min older than T/)]);
    expect(renderReportMarkdown(report)).toContain('## Notes');
  });

  it("records the app's agreeing verdict beside ours with no deviation", () => {
    const report = buildReport(args({ appVerdict: appVerdict({ rpoMinutes: 1.01, rtoMinutes: 19.99 }) }));
    expect(report.deviations).toEqual([]);
    expect(report.appVerdict).toMatchObject({ rpoMinutes: 1.01, rtoMinutes: 19.99, overallPass: true });
    const row =
      "| App's recovery-evaluate | HTTP 200; RPO 1.01 min (met), RTO 19.99 min (met); overall pass |";
    expect(renderReportMarkdown(report)).toContain(row);
    expect(renderReportHtml(report)).toContain(
      '<td class="app-verdict">HTTP 200; RPO 1.01 min (met), RTO 19.99 min (met); overall pass</td>',
    );
  });

  it('lists an app verdict that disagrees beyond rounding as a deviation, in JSON, Markdown and HTML, without failing the drill', () => {
    const report = buildReport(
      args({
        appVerdict: appVerdict({ rpoMinutes: 61, rpoPassed: false, overallPass: false, rtoMinutes: 20.5 }),
      }),
    );
    expect(report.passed).toBe(true);
    expect(report.deviations.map((d) => [d.kind, d.observed])).toEqual([
      [
        'APP_VERDICT_MISMATCH',
        "the app's recovery-evaluate measured RPO 61 min (missed), the drill 1 min (met)",
      ],
      [
        'APP_VERDICT_MISMATCH',
        "the app's recovery-evaluate measured RTO 20.5 min (met), the drill 20 min (met)",
      ],
    ]);
    expect(renderReportMarkdown(report)).toContain(
      "| APP_VERDICT_MISMATCH | the app's recovery-evaluate measured RPO 61 min (missed), the drill 1 min (met) |",
    );
    expect(renderReportHtml(report)).toContain(
      '<tr><td>APP_VERDICT_MISMATCH</td><td>the app&#39;s recovery-evaluate measured RPO 61 min (missed), the drill 1 min (met)</td>',
    );
  });

  it('compares only the RPO for a drill to a chosen past time, and says why in the verdict row', () => {
    const report = buildReport(
      args({
        appVerdict: appVerdict({
          rtoMinutes: 2900,
          rtoPassed: false,
          overallPass: false,
          rtoComparable: false,
        }),
      }),
    );
    expect(report.deviations).toEqual([]);
    expect(renderReportMarkdown(report)).toContain(
      'RTO 2900 min (missed), counted from the chosen target time, not compared; overall fail |',
    );
  });

  it('warns when the app verdict could not be obtained', () => {
    const report = buildReport(
      args({
        appVerdict: unanswered(null, 'connection refused'),
      }),
    );
    expect(report.warnings).toEqual(["the app's recovery-evaluate verdict is missing: connection refused"]);
  });

  it('says a missing app verdict once when the evaluate step already warned about it', () => {
    const steps = DRILL_STEPS.map((n) =>
      n === 'evaluate' ? step(n, 'warning', 'recovery-evaluate unreachable') : step(n),
    );
    const report = buildReport(
      args({
        steps,
        appVerdict: unanswered(null, 'connection refused'),
      }),
    );
    expect(report.warnings).toEqual(['evaluate: recovery-evaluate unreachable']);
  });

  it('never carries a credential into the report', () => {
    const report = buildReport(
      args({
        steps: failing('connect', 'could not connect to postgres://drill:s3cr3t@10.0.0.5:5432/app').map(
          (s) =>
            s.name === 'migrate'
              ? { ...s, evidence: { env: 'DATABASE_URL=postgres://drill:s3cr3t@db/app', attempts: 2 } }
              : s,
        ),
        warnings: ['password=s3cr3t leaked'],
        reason: 'retry after postgres://drill:s3cr3t@db failed',
        appVerdict: unanswered(500, 'error: password=s3cr3t; Set-Cookie: connect.sid=s%3Aabc.sig'),
      }),
    );
    for (const text of [JSON.stringify(report), renderReportMarkdown(report), renderReportHtml(report)]) {
      expect(text).not.toContain('s3cr3t');
      expect(text).not.toContain('s%3Aabc');
    }
  });
});

describe('drill report in Markdown', () => {
  it('puts the verdict, the measurements and every step in front of the reader', () => {
    const md = renderReportMarkdown(buildReport(args()));
    expect(md.split('\n')[0]).toBe('# Recovery drill drill-2026-11-26-1000: PASSED');
    expect(md).toContain('| RPO measured (T − P) | 1 min (target 60 min): met |');
    expect(md).toContain('| RTO measured (ready − start) | 20 min (target 30 min): met |');
    expect(md).toContain('| Environment | example (local) |');
    for (const name of DRILL_STEPS) expect(md).toContain(`| ${name} | passed |`);
    expect(md).toContain('None: the drill matched the runbook.');
    expect(md).not.toContain('## Escalations');
  });

  it('leads a failed drill with its escalations and first actions', () => {
    const md = renderReportMarkdown(
      buildReport(args({ steps: failing('smoke-ready', '/health/ready answered 503') })),
    );
    expect(md.split('\n')[0]).toBe('# Recovery drill drill-2026-11-26-1000: FAILED');
    const escalations = md.indexOf('## Escalations (act on these first)');
    expect(escalations).toBeGreaterThan(0);
    expect(escalations).toBeLessThan(md.indexOf('## Summary'));
    expect(md).toContain('### READY_NOT_OK (critical): API not ready after restore');
    expect(md).toContain('- **Observed:** smoke-ready failed: /health/ready answered 503');
    expect(md).toContain('| smoke-ready | **failed** |');
  });

  it('keeps table cells intact when details contain pipes and line breaks', () => {
    const md = renderReportMarkdown(buildReport(args({ steps: failing('smoke-day', 'a | b\nc') })));
    expect(md).toContain('| smoke-day | **failed** | 2026-11-26T10:00:00Z | 30.0 s | a \\| b<br>c |');
  });

  it('shows a missing measurement as not measured', () => {
    const md = renderReportMarkdown(buildReport(args({ evaluation: null, readyAt: null })));
    expect(md).toContain('| RPO measured (T − P) | not measured (target 60 min) |');
    expect(md).toContain('| Ready (all smoke checks passed) | – |');
  });
});
