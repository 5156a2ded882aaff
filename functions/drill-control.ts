/**
 * Drill function "control". Restore, wait, secret, app start and cleanup: the steps that create and remove drill resources (RDS, Secrets Manager, ECS).
 * Settings are decoded at cold start: a broken deployment fails the first step.
 */
import { coldStartDeps } from './drill/adapters/aws/deps.ts';
import { drillStepRunner } from './drill/drivers/aws/step-handler.ts';
import { CONTROL_STEPS } from './drill/steps/control-steps.ts';
import { jobLogger, lambdaHandler } from './shared/powertools.ts';

export const handler = lambdaHandler(drillStepRunner('control', CONTROL_STEPS, coldStartDeps(), jobLogger));
