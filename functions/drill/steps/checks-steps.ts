/**
 * The steps of the drill's checks function: drift, the migration check, the smoke checks, the
 * integrity check and the evaluation. What they import (pg, the cookie jar) is what the checks
 * function bundles.
 */
import type { StepHandlers } from './dispatch.ts';
import { evaluate } from './evaluate.ts';
import { integrity } from './integrity-check.ts';
import { detectDriftStep, verifyMigration } from './migrations.ts';
import { smokeStep } from './smoke-checks.ts';

export const CHECKS_STEPS: StepHandlers<'checks'> = {
  detectDrift: detectDriftStep,
  verifyMigration,
  smokeHealth: smokeStep('smokeHealth'),
  smokeReady: smokeStep('smokeReady'),
  smokeLogin: smokeStep('smokeLogin'),
  smokeSearch: smokeStep('smokeSearch'),
  smokeDay: smokeStep('smokeDay'),
  integrity,
  evaluate,
};
