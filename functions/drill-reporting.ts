/**
 * Drill function "reporting". Report and notification: the steps that write to the backup bucket and the escalation topic.
 * Settings are decoded at cold start: a broken deployment fails the first step.
 */
import { coldStartDeps, drillSettings } from './drill/adapters/aws/deps.ts';
import { passedDrillRecorder } from './drill/adapters/aws/drill-metrics.ts';
import { drillStepRunner, reportHook } from './drill/drivers/aws/step-handler.ts';
import { REPORTING_STEPS } from './drill/steps/reporting-steps.ts';
import { jobLogger, jobMetrics, lambdaHandler } from './shared/powertools.ts';

const settings = drillSettings();

export const handler = lambdaHandler(
  drillStepRunner(
    'reporting',
    REPORTING_STEPS,
    coldStartDeps(settings),
    jobLogger,
    reportHook(jobMetrics, jobLogger, passedDrillRecorder(settings.resources.stateTable)),
  ),
);
