/**
 * What a signal leaves in the drill's state: the step it cut short (or the preparation of the
 * source) fails as interrupted, so the report never passes and never escalates that step's class.
 */
import { PREPARE_STEP } from '../../../core/escalations.ts';
import { INTERRUPTED_ERROR } from '../../ports/errors.ts';
import type { DrillState } from '../../steps/index.ts';

export interface Interruption {
  readonly signal: NodeJS.Signals;
  /** The state (or the preparation) running when the signal came, in words. */
  readonly during: string;
  /** The step key running then; null between steps. */
  readonly step: string | null;
  /** True while the source was being prepared (started, backed up), before any state ran. */
  readonly preparing: boolean;
}

/** The drill's last state with the interrupted step (or the preparation) recorded as failed. */
export function interruptedState(
  last: DrillState,
  { signal, during, step, preparing }: Interruption,
): DrillState {
  if (step)
    return {
      ...last,
      failures: {
        ...last.failures,
        [step]: { Error: INTERRUPTED_ERROR, Cause: `interrupted by ${signal} before it finished` },
      },
    };
  if (preparing || !last.drill)
    return {
      ...last,
      failures: {
        ...last.failures,
        [PREPARE_STEP]: { Error: INTERRUPTED_ERROR, Cause: `interrupted by ${signal} during ${during}` },
      },
    };
  return { ...last };
}
