/**
 * Drill function "reporting". Report and notification: the steps that write to the backup bucket and the escalation topic.
 * Configuration and environment are read at cold start: a broken deployment fails the first step.
 */
import { coldStartDeps } from './drill/adapters/aws/deps.ts';
import { passedDrillRecorder } from './drill/adapters/aws/drill-metrics.ts';
import { drillStepRunner, reportHook } from './drill/drivers/aws/step-handler.ts';
import { jobLogger, jobMetrics, lambdaHandler } from './shared/powertools.ts';

export const handler = lambdaHandler(
  drillStepRunner(
    'reporting',
    coldStartDeps(),
    jobLogger,
    reportHook(jobMetrics, jobLogger, passedDrillRecorder()),
  ),
);
