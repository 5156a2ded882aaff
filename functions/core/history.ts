/**
 * Drill history: the index kept beside the reports (runbook "Quarterly Recovery Drill": an auditor
 * asks for every drill, not the last one), the trend of RPO and RTO over the recent drills, and the
 * comparison of a drill with the one before it, so a slow drift shows up before a target is missed.
 * Pure: the stores read and write the index.
 */
import type { DrillFrom } from './drill-input.ts';
import type { EscalationClass } from './escalations.ts';
import { type Deviation, type DrillReport, reportFrom } from './report.ts';

/** One drill in the index: enough to list and trend drills without opening every report. */
export interface HistoryEntry {
  drillId: string;
  startedAt: string;
  endedAt: string | null;
  passed: boolean;
  dryRun: boolean;
  rpoMinutes: number | null;
  rtoMinutes: number | null;
  targets: { rpoMinutes: number; rtoMinutes: number };
  escalationClasses: EscalationClass[];
  environment: string | null;
  mode: 'local' | 'aws' | null;
  /** Where the drill's data came from; absent in entries written before it existed (the source). */
  from?: DrillFrom;
}

/** The index file (`reports/index.json`): a version so a later shape can be told apart. */
export interface HistoryIndex {
  version: 1;
  drills: HistoryEntry[];
}

/** The index entry of a report. */
export function historyEntryOf(report: DrillReport): HistoryEntry {
  return {
    drillId: report.drillId,
    startedAt: report.startedAt,
    endedAt: report.endedAt,
    passed: report.passed,
    dryRun: report.dryRun,
    rpoMinutes: report.rpoMinutes,
    rtoMinutes: report.rtoMinutes,
    targets: { rpoMinutes: report.targets.rpoMinutes, rtoMinutes: report.targets.rtoMinutes },
    escalationClasses: [...new Set(report.escalations.map((e) => e.class))],
    environment: report.environment,
    mode: report.mode,
    from: reportFrom(report),
  };
}

/** Oldest first, by start time then id, so the order never depends on how the index was written. */
function chronological(entries: readonly HistoryEntry[]): HistoryEntry[] {
  return [...entries].sort(
    (a, b) => Date.parse(a.startedAt) - Date.parse(b.startedAt) || a.drillId.localeCompare(b.drillId),
  );
}

/**
 * Reads an index document leniently: a missing or damaged index must not stop a drill from
 * recording its report, so anything unreadable yields an empty history and entries that are not
 * entries are dropped.
 */
export function parseHistoryIndex(document: unknown): HistoryIndex {
  const drills = (document as { drills?: unknown } | null | undefined)?.drills;
  if (!Array.isArray(drills)) return { version: 1, drills: [] };
  const valid = drills.filter(
    (d): d is HistoryEntry =>
      typeof d === 'object' &&
      d !== null &&
      typeof (d as HistoryEntry).drillId === 'string' &&
      typeof (d as HistoryEntry).startedAt === 'string' &&
      typeof (d as HistoryEntry).passed === 'boolean',
  );
  return { version: 1, drills: chronological(valid) };
}

/** Adds (or replaces, by drill id: a rewritten report must not count twice) one drill in the index. */
export function withEntry(index: HistoryIndex, entry: HistoryEntry): HistoryIndex {
  return {
    version: 1,
    drills: chronological([...index.drills.filter((d) => d.drillId !== entry.drillId), entry]),
  };
}

/**
 * The drill a new report is compared with: the newest earlier drill from the same data origin that
 * measured both RPO and RTO (a dry run or a drill that failed before measuring says nothing about
 * speed, and a drill from a daily snapshot copy is not "worse" than one from the source).
 */
export function previousMeasured(index: HistoryIndex, report: DrillReport): HistoryEntry | null {
  const started = Date.parse(report.startedAt);
  const earlier = index.drills.filter(
    (d) =>
      d.drillId !== report.drillId &&
      (d.from ?? 'source') === reportFrom(report) &&
      !d.dryRun &&
      d.rpoMinutes !== null &&
      d.rtoMinutes !== null &&
      Date.parse(d.startedAt) < started,
  );
  return earlier.at(-1) ?? null;
}

/** How much slower a drill may be than the one before it before it is a deviation. */
export const SLOWER_THAN_PREVIOUS = 0.25;

function percent(now: number, before: number): number {
  return Math.round(((now - before) / before) * 100);
}

/**
 * Deviations against the previous drill (the targets are `buildReport`'s job): an RTO or RPO more
 * than 25% worse than last time, or a class that was not raised last time. Small absolute changes
 * (under a minute) are noise of a fast local drill and are not reported.
 */
export function compareWithPrevious(report: DrillReport, previous: HistoryEntry | null): Deviation[] {
  if (!previous || report.dryRun) return [];
  const deviations: Deviation[] = [];
  const measures = [
    {
      kind: 'RTO_SLOWER_THAN_PREVIOUS',
      name: 'RTO',
      now: report.rtoMinutes,
      before: previous.rtoMinutes,
      target: report.targets.rtoMinutes,
      remediation:
        'Compare the step timings with the previous report to find the step that grew (usually the restore wait, the migrate task or the app start); a larger database or instance class change shows here first.',
    },
    {
      kind: 'RPO_WORSE_THAN_PREVIOUS',
      name: 'RPO',
      now: report.rpoMinutes,
      before: previous.rpoMinutes,
      target: report.targets.rpoMinutes,
      remediation:
        "Check the source's restorable-time lag and log archiving (the RPO monitor's metrics): the data-loss window is growing.",
    },
  ];
  for (const m of measures) {
    if (m.now === null || m.before === null || m.before <= 0) continue;
    if (m.now - m.before < 1 || m.now <= m.before * (1 + SLOWER_THAN_PREVIOUS)) continue;
    deviations.push({
      kind: m.kind,
      observed: `${m.name} ${m.now} min is ${percent(m.now, m.before)}% more than the previous drill ${previous.drillId} (${m.before} min); target ${m.target} min`,
      expected: `${m.name} within ${Math.round(SLOWER_THAN_PREVIOUS * 100)}% of the previous drill`,
      remediation: m.remediation,
    });
  }
  const before = new Set(previous.escalationClasses);
  const fresh = [...new Set(report.escalations.map((e) => e.class))].filter((c) => !before.has(c));
  if (fresh.length > 0 && previous.passed) {
    deviations.push({
      kind: 'NEW_SINCE_PREVIOUS',
      observed: `${fresh.join(', ')} raised; the previous drill ${previous.drillId} passed`,
      expected: 'the drill keeps passing as the previous one did',
      remediation:
        'Look at what changed since the previous drill (app release, migrations, configuration, instance class) first.',
    });
  }
  return deviations;
}

/** Adds the comparison with the previous drill to a report's deviations (a new report, the input untouched). */
export function withPreviousComparison(report: DrillReport, previous: HistoryEntry | null): DrillReport {
  const extra = compareWithPrevious(report, previous);
  if (extra.length === 0) return report;
  const kinds = new Set(extra.map((d) => d.kind));
  return {
    ...report,
    deviations: [...report.deviations.filter((d) => !kinds.has(d.kind)), ...extra],
  };
}

/** Direction of a measure over the recent drills. */
export type TrendDirection = 'rising' | 'falling' | 'steady' | 'unknown';

export interface Trend {
  /** How many measured drills the trend is drawn from. */
  drills: number;
  rpo: TrendDirection;
  rto: TrendDirection;
  /** One sentence for the terminal, e.g. "RTO rising over the last 4 drills (10 → 18 min)". */
  summary: string;
}

/** Drills the trend looks at by default: a year of quarterly drills. */
export const TREND_WINDOW = 4;

function directionOf(values: number[]): TrendDirection {
  if (values.length < 2) return 'unknown';
  const first = values[0] as number;
  const last = values.at(-1) as number;
  const steps = values.slice(1).map((v, i) => v - (values[i] as number));
  // Under 10% (or a minute) from first to last is noise; otherwise it must mostly move one way.
  if (Math.abs(last - first) < Math.max(1, first * 0.1)) return 'steady';
  const up = steps.filter((s) => s > 0).length;
  const down = steps.filter((s) => s < 0).length;
  if (last > first && up >= down) return 'rising';
  if (last < first && down >= up) return 'falling';
  return 'steady';
}

/** RPO and RTO direction over the last `window` measured (non-dry-run) drills. */
export function trendOf(entries: readonly HistoryEntry[], window = TREND_WINDOW): Trend {
  const measured = chronological(entries)
    .filter((d) => !d.dryRun && d.rpoMinutes !== null && d.rtoMinutes !== null)
    .slice(-window);
  const rpoValues = measured.map((d) => d.rpoMinutes as number);
  const rtoValues = measured.map((d) => d.rtoMinutes as number);
  const rpo = directionOf(rpoValues);
  const rto = directionOf(rtoValues);
  if (measured.length < 2) {
    return {
      drills: measured.length,
      rpo,
      rto,
      summary: `no trend yet: ${measured.length} measured drill${measured.length === 1 ? '' : 's'} (2 needed)`,
    };
  }
  const part = (name: string, dir: TrendDirection, values: number[]) =>
    `${name} ${dir} (${values[0]} → ${values.at(-1)} min)`;
  return {
    drills: measured.length,
    rpo,
    rto,
    summary: `over the last ${measured.length} measured drills: ${part('RTO', rto, rtoValues)}, ${part('RPO', rpo, rpoValues)}`,
  };
}

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}

function minutes(value: number | null, target: number): string {
  if (value === null) return '–';
  return `${value}${value > target ? '!' : ''}`;
}

/** The `history` command's table: newest first, as an on-call engineer reads it. */
export function renderHistoryTable(entries: readonly HistoryEntry[], window = TREND_WINDOW): string {
  if (entries.length === 0) return 'no drills recorded yet';
  const rows = [...chronological(entries)]
    .reverse()
    .map((d) => [
      d.drillId,
      d.startedAt,
      d.dryRun ? 'dry run' : d.passed ? 'passed' : 'FAILED',
      d.from ?? 'source',
      minutes(d.rpoMinutes, d.targets.rpoMinutes),
      minutes(d.rtoMinutes, d.targets.rtoMinutes),
      `${d.targets.rpoMinutes}/${d.targets.rtoMinutes}`,
      d.escalationClasses.join(',') || '–',
    ]);
  const header = ['drill', 'started', 'result', 'from', 'RPO min', 'RTO min', 'targets', 'escalations'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => pad(c, widths[i] as number))
      .join('  ')
      .trimEnd();
  return [
    line(header),
    ...rows.map(line),
    '',
    `trend ${trendOf(entries, window).summary}`,
    '("!" marks a value over its target; targets are RPO/RTO minutes)',
  ].join('\n');
}
