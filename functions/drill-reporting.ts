/**
 * Drill function "reporting". Report and notification: the steps that write to the backup bucket and the escalation topic.
 * Configuration and environment are read at cold start: a broken deployment fails the first step.
 */
import { coldStartDeps } from './drill/aws/deps.ts';
import { drillStepRunner } from './drill/aws/step-handler.ts';
import { jobLogger, lambdaHandler } from './shared/powertools.ts';

export const handler = lambdaHandler(drillStepRunner('reporting', coldStartDeps(), jobLogger));
