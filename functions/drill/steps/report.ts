/**
 * `Write report` and `Notify`: the execution state read back into the report (every step's
 * outcome, a caught failure with its evidence unpacked from its Cause), stored with its history,
 * then published: one message per escalation and the summary.
 */
import { DRILL_FROM_BY_ENGINE, type DrillFrom } from '../../core/drill-input.ts';
import { DRILL_STEP_REGISTRY, resultFields } from '../../core/drill-steps.ts';
import { type DrillStepName, PREPARE_STEP, type StepOutcome } from '../../core/escalations.ts';
import { redactCredentials } from '../../core/redact.ts';
import {
  type BuildReportArgs,
  buildReport,
  type DrillInterruption,
  type DrillReport,
} from '../../core/report.ts';
import { renderReportMarkdown, summaryLine } from '../../core/report-markdown.ts';
import { drillInstanceId } from '../drill-id.ts';
import type { DrillDeps } from '../ports/drill-deps.ts';
import { INTERRUPTED_ERROR, NotifyError, readStepFailure } from '../ports/errors.ts';
import { type DrillInfo, type DrillState, need, type StepContext, type Timed, timed } from './context.ts';

/** How a caught failure reads in the report: skipped when a signal cut it short, with its evidence. */
function failedOutcome(
  name: DrillStepName,
  failure: { Error: string; Cause: unknown },
  startedAt: string,
  endedAt: string,
): StepOutcome {
  const { error, message, evidence } = readStepFailure(failure);
  return {
    name,
    startedAt,
    endedAt,
    outcome: error === INTERRUPTED_ERROR ? 'skipped' : 'failed',
    detail: `${error}: ${message}`,
    evidence: { error, ...evidence },
  };
}

/** A step's result in the execution state, at the registry's result path. */
function resultAt(state: DrillState, spec: (typeof DRILL_STEP_REGISTRY)[number]): Timed | undefined {
  let value: unknown = state;
  for (const field of resultFields(spec)) value = (value as Record<string, unknown> | undefined)?.[field];
  return value as Timed | undefined;
}

/**
 * The step outcomes of an execution state, in drill order, failures included: one per report
 * name of the registry (the migrate task and its verification are one `migrate` step), before
 * the report is written.
 */
export function stepOutcomes(state: DrillState, endedAt: string): StepOutcome[] {
  const steps: StepOutcome[] = [];
  let lastEnd = state.drill?.startedAt ?? endedAt;
  // The local engine's preparation (source, backup) runs before the state machine.
  const prepared = state.failures?.[PREPARE_STEP];
  if (prepared) steps.push(failedOutcome(PREPARE_STEP, prepared, lastEnd, endedAt));
  const listed = DRILL_STEP_REGISTRY.filter((s) => s.runner !== 'reporting');
  for (const name of new Set(listed.map((s) => s.report))) {
    const specs = listed.filter((s) => s.report === name);
    // The step's result is the last of its states that has one (the migrate task's summary is not one).
    const result = specs
      .filter((s) => s.runner !== 'ecs-task')
      .map((s) => resultAt(state, s))
      .findLast((r) => r !== undefined);
    const failure = specs.map((s) => state.failures?.[s.key]).find((f) => f !== undefined);
    // A failure wins over a result: a polled step (the restore wait) keeps an earlier look's result.
    // A step a signal cut short did not fail: it is `skipped`, and the report says it was interrupted.
    if (failure) {
      steps.push(failedOutcome(name, failure, result?.startedAt ?? lastEnd, endedAt));
    } else if (result) {
      // The migrate step began when the ECS migrate task did, right after drift detection.
      const began = name === 'migrate' && state.drift ? state.drift.endedAt : result.startedAt;
      steps.push({
        name,
        startedAt: began,
        endedAt: result.endedAt,
        outcome: result.outcome,
        detail: result.detail,
      });
      lastEnd = result.endedAt;
    }
  }
  return steps;
}

/**
 * What is known of a drill that failed before `Validate input` finished (the restorable window
 * could not be read, the local source could not be prepared): its id and what was asked, from the
 * raw execution input, so that it is reported like any other failed drill.
 */
function unvalidatedDrill(state: DrillState, deps: DrillDeps, executionName: string, at: string): DrillInfo {
  const text = (value: unknown, max: number) =>
    typeof value === 'string' && value.trim() !== '' ? redactCredentials(value).slice(0, max) : null;
  const config = deps.settings.config;
  const requested = text(state.targetTime, 64) ?? 'latest';
  const from = (DRILL_FROM_BY_ENGINE[deps.settings.mode] as readonly unknown[]).includes(state.from)
    ? (state.from as DrillFrom)
    : 'source';
  return {
    drillId: executionName,
    instanceId: drillInstanceId(config.drill.instancePrefix, executionName),
    targetTime: requested,
    requestedTarget: requested,
    startedAt: at,
    reason: text(state.reason, 200),
    requestedBy: text(state.requestedBy, 200),
    dryRun: state.dryRun === true,
    from,
    window: { earliest: null, latest: null },
    environment: config.environment,
    mode: deps.settings.mode,
    executionArn: null,
  };
}

export async function report({ state, deps, executionName }: StepContext) {
  const endedAt = deps.now().toISOString();
  const drill = state.drill ?? unvalidatedDrill(state, deps, executionName, endedAt);
  const steps = stepOutcomes(state, endedAt);
  const evaluation = state.evaluation?.evaluation ?? null;
  const interrupted = (state.interrupted as DrillInterruption | undefined) ?? null;
  const args: BuildReportArgs = {
    drillId: drill.drillId,
    requestedTarget: drill.requestedTarget,
    targetTime: drill.targetTime,
    restorePointAt: state.evaluation?.restorePointAt ?? state.restoreStatus?.restorePointAt ?? null,
    restorePointSource: state.restoreStatus?.restorePointSource ?? null,
    startedAt: drill.startedAt,
    readyAt: state.smoke?.day?.endedAt ?? null,
    endedAt,
    targets: deps.settings.config.targets,
    steps,
    evaluation,
    environment: drill.environment,
    mode: drill.mode,
    reason: drill.reason,
    requestedBy: drill.requestedBy,
    dryRun: drill.dryRun,
    from: drill.from,
    appVerdict: state.evaluation?.appVerdict ?? null,
    interrupted,
  };
  let built: DrillReport = buildReport(args);
  let location: { json: string; markdown: string } | null = null;
  try {
    location = await deps.reports.write(built, renderReportMarkdown(built));
  } catch (error) {
    // The report could not be stored: it still goes out with the notification, failed for that reason.
    built = buildReport({
      ...args,
      steps: [
        ...steps,
        {
          name: 'report',
          startedAt: endedAt,
          endedAt: deps.now().toISOString(),
          outcome: 'failed',
          detail: `the report could not be written: ${error instanceof Error ? error.message : String(error)}`,
        },
      ],
    });
  }
  const summary = summaryLine(built);
  return { passed: built.passed, summary, location, escalations: built.escalations, report: built };
}

export async function notify({ state, deps }: StepContext) {
  const produced = need(state.report, 'report') as NonNullable<DrillState['report']> & {
    report?: DrillReport;
  };
  return timed(deps, async () => {
    if (!produced.report) throw new NotifyError('no report to notify about');
    const count = await deps.notifier.publish(produced.report, produced.escalations, {
      executionArn: state.drill?.executionArn ?? null,
    });
    return { published: count, detail: `${count} message(s) published` };
  });
}
