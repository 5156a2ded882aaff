/**
 * How one step runs, over a table of handlers: the whole drill's (the local engine) or one
 * function group's (each drill Lambda function bundles only its group's steps and what they import).
 */
import { DRILL_STEP_REGISTRY, type DrillFunctionGroup, type DrillGroupStep } from '../../core/drill-steps.ts';
import type { DrillDeps } from '../ports/drill-deps.ts';
import { UnknownStepError } from '../ports/errors.ts';
import type { DrillState, StepContext } from './context.ts';

/** One handler per step of group `G` (the compiler checks that none is missing or extra). */
export type StepHandlers<G extends DrillFunctionGroup> = {
  readonly [K in DrillGroupStep<G>]: (context: StepContext) => Promise<unknown>;
};

/** The keys of a table, as the registry orders them. */
function stepsIn(handlers: object): string[] {
  return DRILL_STEP_REGISTRY.map((s) => s.key as string).filter((key) => Object.hasOwn(handlers, key));
}

/**
 * Runs one step of `handlers`. `state` is the execution state; `executionName` the execution's
 * name (the drill id).
 * @throws UnknownStepError for a step the table does not hold; else the step's failure class
 *   (`ReadyNotOkError`, `RestoreFailedError`, …) or a bad input (`DrillInputError`), which the
 *   state machine catches.
 */
export async function runStepWith(
  handlers: Readonly<Record<string, (context: StepContext) => Promise<unknown>>>,
  step: string,
  state: DrillState,
  deps: DrillDeps,
  executionName: string,
  executionArn: string | null = null,
): Promise<unknown> {
  const handler = Object.hasOwn(handlers, step) ? handlers[step] : undefined;
  if (!handler) {
    throw new UnknownStepError(
      `unknown drill step ${JSON.stringify(step)} (this function runs ${stepsIn(handlers).join(', ')})`,
      { step: String(step).slice(0, 64) },
    );
  }
  await deps.beforeStep?.(step, state);
  return handler({ state, deps, executionName, executionArn });
}
