/**
 * The steps of the drill's control function: validate, restore (and its wait), connect, start the
 * app, clean up. What they import is what the control function bundles.
 */
import { cleanup } from './cleanup.ts';
import type { StepHandlers } from './dispatch.ts';
import { connect, describeRestore, restore } from './restore.ts';
import { startApp } from './start-app.ts';
import { validate } from './validate.ts';

export const CONTROL_STEPS: StepHandlers<'control'> = {
  validate,
  restore,
  describeRestore,
  connect,
  startApp,
  cleanup,
};
