/**
 * A drill's measurements as CloudWatch metrics, published by the reporting function once the
 * report is written: the dashboard draws RPO and RTO against their targets from them, and the
 * "no passed drill" alarm reads `DrillPassed`. Values come from the report only, so a metric never
 * says something the report does not.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DrillReport } from '../../../core/report.ts';
import { recordPassedDrill } from '../../../shared/jobs/last-passed-drill.ts';
import {
  ENVIRONMENT_DIMENSION,
  type JobMetrics,
  type MetricUnitName,
  traced,
} from '../../../shared/powertools.ts';

/** One metric to publish; `dimensions` are added to `service` (always) and `environment`. */
export interface DrillMetric {
  readonly name: 'RpoMinutes' | 'RtoMinutes' | 'DrillPassed' | 'RestoreSeconds' | 'StepSeconds';
  readonly unit: MetricUnitName;
  readonly value: number;
  readonly dimensions: Readonly<Record<string, string>>;
}

const seconds = (from: string, to: string): number | null => {
  const ms = Date.parse(to) - Date.parse(from);
  return Number.isFinite(ms) && ms >= 0 ? Math.round(ms / 100) / 10 : null;
};

/**
 * The metrics of one report. RPO and RTO are left out when the drill did not get far enough to
 * measure them (a missing point is honest; a 0 would draw a perfect drill). Step durations use one
 * metric, `StepSeconds`, with a `step` dimension: the dashboard and any later alarm select steps by
 * dimension, and a step added to the machine needs no new metric name. Skipped steps took no time
 * and publish nothing.
 */
export function drillMetrics(report: DrillReport, fallbackEnvironment = 'unknown'): DrillMetric[] {
  const env = { [ENVIRONMENT_DIMENSION]: report.environment ?? fallbackEnvironment };
  const out: DrillMetric[] = [
    { name: 'DrillPassed', unit: 'Count', value: report.passed ? 1 : 0, dimensions: env },
  ];
  if (report.rpoMinutes !== null)
    out.push({ name: 'RpoMinutes', unit: 'None', value: report.rpoMinutes, dimensions: env });
  if (report.rtoMinutes !== null)
    out.push({ name: 'RtoMinutes', unit: 'None', value: report.rtoMinutes, dimensions: env });
  for (const step of report.steps) {
    if (step.outcome === 'skipped') continue;
    const took = seconds(step.startedAt, step.endedAt);
    if (took === null) continue;
    if (step.name === 'restore')
      out.push({ name: 'RestoreSeconds', unit: 'Seconds', value: took, dimensions: env });
    out.push({ name: 'StepSeconds', unit: 'Seconds', value: took, dimensions: { ...env, step: step.name } });
  }
  return out;
}

/** Publishes `drillMetrics(report)`; a dry run publishes nothing (it restored nothing to measure). */
export function publishDrillMetrics(report: DrillReport, metrics: JobMetrics): number {
  if (report.dryRun) return 0;
  const list = drillMetrics(report);
  for (const m of list) metrics.addMetric(m.name, m.unit, m.value, m.dimensions);
  return list.length;
}

/**
 * The reporting function's record of a passed drill, when the stack gave it the state table
 * (its settings' `stateTable`); without one, nothing is recorded and the 100-day alarm runs from
 * its baseline.
 */
export function passedDrillRecorder(
  table: string | null,
): ((report: DrillReport) => Promise<void>) | undefined {
  if (!table) return undefined;
  const ddb = traced(new DynamoDBClient({}));
  return (report) =>
    recordPassedDrill(
      ddb,
      table,
      report.environment ?? 'unknown',
      report.drillId,
      new Date(report.endedAt ?? Date.now()),
    );
}
