/**
 * Drill function "checks". Drift, migration verification, smoke, integrity and evaluation: the steps that read the drill database and call the app.
 * Settings are decoded at cold start: a broken deployment fails the first step.
 */
import { coldStartDeps } from './drill/adapters/aws/deps.ts';
import { drillStepRunner } from './drill/drivers/aws/step-handler.ts';
import { CHECKS_STEPS } from './drill/steps/checks-steps.ts';
import { jobLogger, lambdaHandler } from './shared/powertools.ts';

export const handler = lambdaHandler(drillStepRunner('checks', CHECKS_STEPS, coldStartDeps(), jobLogger));
