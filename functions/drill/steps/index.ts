/**
 * The restore drill's steps, one handler per row of the step registry (`core/drill-steps.ts`),
 * over the ports in `../ports/`. The same code runs in the drill's Lambda functions (AWS adapters)
 * and in the local engine (local adapters); the state machine passes `{ step, state, execution }`
 * and stores each result at the registry's result path. A step that fails throws its failure
 * class (`../ports/errors.ts`): the state machine catches it into `failures.<step>` and goes to cleanup.
 */
import { type DrillTaskStep, isDrillTaskStep } from '../../core/drill-steps.ts';
import type { DrillDeps } from '../ports/drill-deps.ts';
import { UnknownStepError } from '../ports/errors.ts';
import { cleanup } from './cleanup.ts';
import type { DrillState, StepContext } from './context.ts';
import { evaluate } from './evaluate.ts';
import { integrity } from './integrity-check.ts';
import { detectDriftStep, verifyMigration } from './migrations.ts';
import { notify, report } from './report.ts';
import { connect, describeRestore, restore } from './restore.ts';
import { smokeStep } from './smoke-checks.ts';
import { startApp } from './start-app.ts';
import { validate } from './validate.ts';

export type { DrillInfo, DrillState, StepContext, Timed } from './context.ts';
export { stepOutcomes } from './report.ts';

/** The handler of every step a drill function runs: one per registry row (the compiler checks it). */
const HANDLERS: { readonly [K in DrillTaskStep]: (context: StepContext) => Promise<unknown> } = {
  validate,
  restore,
  describeRestore,
  connect,
  detectDrift: detectDriftStep,
  verifyMigration,
  startApp,
  smokeHealth: smokeStep('smokeHealth'),
  smokeReady: smokeStep('smokeReady'),
  smokeLogin: smokeStep('smokeLogin'),
  smokeSearch: smokeStep('smokeSearch'),
  smokeDay: smokeStep('smokeDay'),
  integrity,
  evaluate,
  cleanup,
  report,
  notify,
};

/**
 * Runs one step. `state` is the execution state; `executionName` the execution's name (the drill id).
 * @throws the step's failure class (`ReadyNotOkError`, `RestoreFailedError`, …) or a bad input
 *   (`DrillInputError`), which the state machine catches.
 */
export async function runStep(
  step: string,
  state: DrillState,
  deps: DrillDeps,
  executionName: string,
  executionArn: string | null = null,
): Promise<unknown> {
  if (!isDrillTaskStep(step)) {
    throw new UnknownStepError(`unknown drill step ${JSON.stringify(step)}`, {
      step: String(step).slice(0, 64),
    });
  }
  await deps.beforeStep?.(step, state);
  return HANDLERS[step]({ state, deps, executionName, executionArn });
}
