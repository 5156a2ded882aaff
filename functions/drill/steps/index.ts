/**
 * The restore drill's steps, one handler per row of the step registry (`core/drill-steps.ts`),
 * over the ports in `../ports/`. The same code runs in the drill's Lambda functions (AWS adapters)
 * and in the local engine (local adapters); the state machine passes `{ step, state, execution }`
 * and stores each result at the registry's result path. A step that fails throws its failure
 * class (`../ports/errors.ts`): the state machine catches it into `failures.<step>` and goes to cleanup.
 */
import type { DrillTaskStep } from '../../core/drill-steps.ts';
import { CHECKS_STEPS } from './checks-steps.ts';
import type { StepContext } from './context.ts';
import { CONTROL_STEPS } from './control-steps.ts';
import { runStepWith } from './dispatch.ts';
import { REPORTING_STEPS } from './reporting-steps.ts';

export type { DrillInfo, DrillState, StepContext, Timed } from './context.ts';
export { stepOutcomes } from './report.ts';

/**
 * The handler of every step a drill function runs: one per registry row (the compiler checks it),
 * from the three function groups' tables. The local engine runs them all; a Lambda function only
 * its group's (`drivers/aws/step-handler.ts`).
 */
const HANDLERS: { readonly [K in DrillTaskStep]: (context: StepContext) => Promise<unknown> } = {
  ...CONTROL_STEPS,
  ...CHECKS_STEPS,
  ...REPORTING_STEPS,
};

/**
 * Runs one step of the whole drill (`runStepWith` over every group's table): `state` is the
 * execution state; `executionName` the execution's name (the drill id).
 */
export function runStep(...args: DropFirst<Parameters<typeof runStepWith>>): Promise<unknown> {
  return runStepWith(HANDLERS, ...args);
}

type DropFirst<T extends unknown[]> = T extends [unknown, ...infer Rest] ? Rest : never;
