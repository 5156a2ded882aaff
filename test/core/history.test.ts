import { describe, expect, it } from 'vitest';
import type { DrillFrom } from '../../functions/core/drill-input.ts';
import type { DrillStepName, StepOutcome } from '../../functions/core/escalations.ts';
import { evaluateRecovery } from '../../functions/core/evaluate.ts';
import {
  compareWithPrevious,
  type HistoryEntry,
  historyEntryOf,
  parseHistoryIndex,
  previousMeasured,
  renderHistoryTable,
  trendOf,
  withEntry,
  withPreviousComparison,
} from '../../functions/core/history.ts';
import { buildReport, type DrillReport } from '../../functions/core/report.ts';

interface DrillShape {
  drillId: string;
  startedAt: string;
  rtoMinutes?: number;
  rpoMinutes?: number;
  failedStep?: DrillStepName;
  dryRun?: boolean;
  from?: DrillFrom;
}

/** A report of a drill that restored `rpoMinutes` behind T and was ready after `rtoMinutes`. */
function drill({
  drillId,
  startedAt,
  rtoMinutes = 10,
  rpoMinutes = 5,
  failedStep,
  dryRun,
  from,
}: DrillShape): DrillReport {
  const start = Date.parse(startedAt);
  const at = (min: number) => new Date(start + min * 60_000).toISOString();
  const steps: StepOutcome[] = [
    { name: 'validate', startedAt: at(0), endedAt: at(0.1), outcome: 'passed', detail: 'ok' },
    {
      name: failedStep ?? 'restore',
      startedAt: at(0.1),
      endedAt: at(rtoMinutes),
      outcome: failedStep ? 'failed' : 'passed',
      detail: failedStep ? 'it broke' : 'restored',
    },
  ];
  const targets = { rpoMinutes: 60, rtoMinutes: 30 };
  return buildReport({
    drillId,
    targetTime: at(0),
    restorePointAt: at(-rpoMinutes),
    startedAt: at(0),
    readyAt: failedStep ? null : at(rtoMinutes),
    endedAt: at(rtoMinutes + 1),
    targets,
    steps,
    evaluation:
      failedStep || dryRun
        ? null
        : evaluateRecovery({
            targetTime: at(0),
            restorePointAt: at(-rpoMinutes),
            startedAt: at(0),
            readyAt: at(rtoMinutes),
            newestRowAt: at(-rpoMinutes),
            targets,
          }),
    environment: 'test',
    mode: 'local',
    dryRun: dryRun ?? false,
    ...(from ? { from } : {}),
  });
}

const entry = (shape: DrillShape): HistoryEntry => historyEntryOf(drill(shape));

describe('drill history index', () => {
  it('records the id, time, verdict, measured RPO and RTO and the escalation classes of a report', () => {
    const failed = historyEntryOf(
      drill({ drillId: 'd2', startedAt: '2026-10-05T06:00:00Z', rtoMinutes: 45 }),
    );
    expect(failed).toMatchObject({
      drillId: 'd2',
      startedAt: '2026-10-05T06:00:00.000Z',
      passed: false,
      rtoMinutes: 45,
      rpoMinutes: 5,
      escalationClasses: ['RTO_BREACHED'],
    });
  });

  it('keeps the drills oldest first and replaces a drill written twice', () => {
    let index = parseHistoryIndex(undefined);
    index = withEntry(index, entry({ drillId: 'b', startedAt: '2026-07-06T06:00:00Z' }));
    index = withEntry(index, entry({ drillId: 'a', startedAt: '2026-04-06T06:00:00Z' }));
    index = withEntry(index, entry({ drillId: 'b', startedAt: '2026-07-06T06:00:00Z', rtoMinutes: 20 }));
    expect(index.drills.map((d) => [d.drillId, d.rtoMinutes])).toEqual([
      ['a', 10],
      ['b', 20],
    ]);
  });

  it('reads a damaged index as an empty history and drops entries that are not drills', () => {
    expect(parseHistoryIndex('garbage').drills).toEqual([]);
    expect(
      parseHistoryIndex({
        drills: [{ drillId: 3 }, null, entry({ drillId: 'x', startedAt: '2026-01-05T06:00:00Z' })],
      }).drills,
    ).toHaveLength(1);
  });

  it('compares with the newest earlier measured drill, skipping dry runs and unmeasured drills', () => {
    const index = [
      entry({ drillId: 'measured', startedAt: '2026-01-05T06:00:00Z' }),
      entry({ drillId: 'failed', startedAt: '2026-02-05T06:00:00Z', failedStep: 'restore' }),
      entry({ drillId: 'dry', startedAt: '2026-03-05T06:00:00Z', dryRun: true }),
      entry({ drillId: 'later', startedAt: '2026-09-05T06:00:00Z' }),
    ].reduce(withEntry, parseHistoryIndex(null));
    const now = drill({ drillId: 'now', startedAt: '2026-04-06T06:00:00Z' });
    expect(previousMeasured(index, now)?.drillId).toBe('measured');
  });
});

describe('drills from an isolated copy in the history', () => {
  it('records the origin, lists it, and compares a drill only with the previous one from the same origin', () => {
    const index = [
      entry({ drillId: 'old-source', startedAt: '2026-01-05T06:00:00Z', rpoMinutes: 5 }),
      entry({ drillId: 'isolated-1', startedAt: '2026-02-05T06:00:00Z', rpoMinutes: 40, from: 'isolated' }),
      entry({ drillId: 'source-2', startedAt: '2026-03-05T06:00:00Z', rpoMinutes: 5 }),
    ].reduce(withEntry, parseHistoryIndex(null));
    expect(index.drills.map((d) => d.from)).toEqual(['source', 'isolated', 'source']);
    const isolated = drill({ drillId: 'isolated-2', startedAt: '2026-04-06T06:00:00Z', from: 'isolated' });
    expect(previousMeasured(index, isolated)?.drillId).toBe('isolated-1');
    const source = drill({ drillId: 'source-3', startedAt: '2026-04-06T06:00:00Z', rpoMinutes: 40 });
    expect(previousMeasured(index, source)?.drillId).toBe('source-2');
    // An index entry written before the field existed is a drill from the source.
    const { from: _none, ...legacy } = entry({ drillId: 'legacy', startedAt: '2026-05-05T06:00:00Z' });
    const table = renderHistoryTable([...index.drills, legacy]);
    expect(table.split('\n')[0]).toMatch(/^drill\s+started\s+result\s+from\s+RPO min/);
    expect(table).toMatch(/isolated-1\s+\S+\s+passed\s+isolated\s+40\s/);
    expect(table).toMatch(/legacy\s+\S+\s+passed\s+source\s/);
  });
});

describe('comparison with the previous drill', () => {
  it('reports an RTO 40% slower than the previous drill with the percentage and a remediation', () => {
    const previous = entry({ drillId: 'q1', startedAt: '2026-01-05T06:00:00Z', rtoMinutes: 10 });
    const deviations = compareWithPrevious(
      drill({ drillId: 'q2', startedAt: '2026-04-06T06:00:00Z', rtoMinutes: 14 }),
      previous,
    );
    expect(deviations).toHaveLength(1);
    expect(deviations[0]?.kind).toBe('RTO_SLOWER_THAN_PREVIOUS');
    expect(deviations[0]?.observed).toContain('40% more than the previous drill q1 (10 min)');
    expect(deviations[0]?.remediation).toMatch(/step timings/);
  });

  it('reports nothing when the drill is within 25% of the previous one, or the change is under a minute', () => {
    const previous = entry({
      drillId: 'q1',
      startedAt: '2026-01-05T06:00:00Z',
      rtoMinutes: 10,
      rpoMinutes: 2,
    });
    expect(
      compareWithPrevious(
        drill({ drillId: 'q2', startedAt: '2026-04-06T06:00:00Z', rtoMinutes: 12, rpoMinutes: 2.9 }),
        previous,
      ),
    ).toEqual([]);
  });

  it('reports a worse RPO and a class newly raised after a passing drill', () => {
    const previous = entry({ drillId: 'q1', startedAt: '2026-01-05T06:00:00Z', rpoMinutes: 5 });
    const kinds = compareWithPrevious(
      drill({ drillId: 'q2', startedAt: '2026-04-06T06:00:00Z', rpoMinutes: 75 }),
      previous,
    ).map((d) => d.kind);
    expect(kinds).toEqual(['RPO_WORSE_THAN_PREVIOUS', 'NEW_SINCE_PREVIOUS']);
  });

  it('adds the comparison to the deviations next to those against the targets', () => {
    const previous = entry({ drillId: 'q1', startedAt: '2026-01-05T06:00:00Z', rtoMinutes: 10 });
    const report = drill({ drillId: 'q2', startedAt: '2026-04-06T06:00:00Z', rtoMinutes: 40 });
    const compared = withPreviousComparison(report, previous);
    expect(compared.deviations.map((d) => d.kind)).toEqual([
      'RTO_BREACHED',
      'RTO_SLOWER_THAN_PREVIOUS',
      'NEW_SINCE_PREVIOUS',
    ]);
    expect(report.deviations.map((d) => d.kind)).toEqual(['RTO_BREACHED']);
    expect(withPreviousComparison(report, null)).toBe(report);
  });
});

describe('drill trend', () => {
  const quarterly = (rtos: number[]) =>
    rtos.map((rto, i) =>
      entry({
        drillId: `q${i + 1}`,
        startedAt: new Date(Date.UTC(2026, i * 3, 5, 6)).toISOString(),
        rtoMinutes: rto,
      }),
    );

  it('says RTO is rising over the last drills with the first and last values', () => {
    const trend = trendOf(quarterly([10, 12, 15, 19]));
    expect(trend).toMatchObject({ drills: 4, rto: 'rising', rpo: 'steady' });
    expect(trend.summary).toContain('RTO rising (10 → 19 min)');
  });

  it('looks only at the last N measured drills', () => {
    expect(trendOf(quarterly([30, 10, 10.2, 10.1]), 3).rto).toBe('steady');
    expect(trendOf(quarterly([30, 10, 10.2, 10.1]), 4).rto).toBe('falling');
  });

  it('has no trend with fewer than two measured drills', () => {
    expect(trendOf(quarterly([10])).summary).toMatch(/^no trend yet: 1 measured drill /);
  });

  it('lists drills newest first with their result, marks values over target, and ends with the trend', () => {
    const text = renderHistoryTable([
      ...quarterly([10, 31]),
      entry({ drillId: 'broken', startedAt: '2026-12-01T06:00:00Z', failedStep: 'restore' }),
    ]);
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^drill\s+started\s+result\s+from\s+RPO min\s+RTO min/);
    expect(lines[1]).toMatch(/^broken .* FAILED .*RESTORE_FAILED$/);
    expect(lines[2]).toMatch(/^q2 .* FAILED\s+source\s+5\s+31!\s+60\/30\s+RTO_BREACHED$/);
    expect(lines[3]).toMatch(/^q1 .* passed\s+source\s+5\s+10\s/);
    expect(text).toContain('trend over the last 2 measured drills: RTO rising (10 → 31 min)');
    expect(renderHistoryTable([])).toBe('no drills recorded yet');
  });
});
