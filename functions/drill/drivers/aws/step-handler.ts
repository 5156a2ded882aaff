/**
 * The body of the three drill functions: one `runStep` per invocation, refused when the step
 * belongs to another function (each has only the permissions of its group). Errors leave with
 * their `name`, which the state machine's `Catch` matches, and their evidence packed into the
 * message (`toStepFailure`); the logs carry step names, the drill id
 * and the outcome, never the state (it holds only references, and still stays out of the logs).
 */

import { DRILL_STEP_REGISTRY, type DrillFunctionGroup } from '../../../core/drill-steps.ts';
import type { DrillReport } from '../../../core/report.ts';
import type { JobLogger, JobMetrics } from '../../../shared/powertools.ts';
import { publishDrillMetrics } from '../../adapters/aws/drill-metrics.ts';
import type { DrillDeps } from '../../ports/drill-deps.ts';
import { DrillStateError, toStepFailure, WrongFunctionError } from '../../ports/errors.ts';
import type { DrillState } from '../../steps/context.ts';
import { runStepWith, type StepHandlers } from '../../steps/dispatch.ts';

/** What the state machine's Lambda tasks send: `{ step, 'state.$': '$', 'execution.$': '$$.Execution.Name' }`. */
export interface DrillStepEvent {
  readonly step: string;
  readonly state: DrillState;
  readonly execution: string;
  /** The execution's ARN (`$$.Execution.Id`), for the console link in notifications. */
  readonly executionArn?: string;
}

/** The steps a function of this group serves. */
export function stepsOf(group: DrillFunctionGroup): string[] {
  return DRILL_STEP_REGISTRY.filter((s) => s.runner === group).map((s) => s.key);
}

/** What the reporting function does once a report is written (metrics, the last passed drill). */
export type AfterReport = (report: DrillReport) => Promise<void>;

/**
 * Publishes a written report's metrics and, when it passed (not a dry run), records it for the
 * "no passed drill in 100 days" alarm (`record` is absent when the stack gave no state table).
 * Neither may fail the drill: the report is already written, so a failure is logged.
 */
export function reportHook(
  metrics: JobMetrics,
  logger: JobLogger,
  record?: (report: DrillReport) => Promise<void>,
): AfterReport {
  return async (report) => {
    try {
      publishDrillMetrics(report, metrics);
      if (record && report.passed && !report.dryRun) await record(report);
    } catch (error) {
      const e = error as Error;
      logger.error('drill metrics or the last passed drill could not be recorded', {
        drillId: report.drillId,
        error: `${e.name}: ${e.message}`,
      });
    }
  };
}

/**
 * The handler of one drill function: `handlers` is its group's table (`steps/control-steps.ts`,
 * …), so that the function bundles only its own steps and what they import.
 */
export function drillStepRunner<G extends DrillFunctionGroup>(
  group: G,
  handlers: StepHandlers<G>,
  deps: DrillDeps,
  logger: JobLogger,
  afterReport?: AfterReport,
) {
  const allowed = stepsOf(group);
  return async (event: DrillStepEvent): Promise<unknown> => {
    const step = event?.step;
    const drillId = typeof event?.execution === 'string' ? event.execution : null;
    if (typeof step !== 'string' || !allowed.includes(step)) {
      throw new WrongFunctionError(
        `the drill ${group} function runs ${allowed.join(', ')}; got step ${JSON.stringify(step)}`,
      );
    }
    if (drillId === null || event.state === null || typeof event.state !== 'object') {
      throw new DrillStateError(`step ${step}: the event has no execution name or state`);
    }
    logger.info('drill step started', { step, drillId });
    try {
      const executionArn = typeof event.executionArn === 'string' ? event.executionArn : null;
      const result = await runStepWith(handlers, step, event.state, deps, drillId, executionArn);
      const outcome =
        (result as { outcome?: unknown; passed?: unknown } | null)?.outcome ??
        (typeof (result as { passed?: unknown } | null)?.passed === 'boolean'
          ? (result as { passed: boolean }).passed
            ? 'passed'
            : 'failed'
          : 'done');
      logger.info('drill step ended', { step, drillId, outcome });
      const report = step === 'report' ? (result as { report?: DrillReport } | null)?.report : undefined;
      if (afterReport && report) await afterReport(report);
      return result;
    } catch (error) {
      const e = error as Error;
      logger.error('drill step failed', { step, drillId, error: e.name });
      // Lambda keeps only the name and the message of what it throws: the evidence goes in the message.
      throw toStepFailure(error);
    }
  };
}
