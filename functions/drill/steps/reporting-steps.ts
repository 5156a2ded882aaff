/**
 * The steps of the drill's reporting function: write the report, notify. What they import is what
 * the reporting function bundles.
 */
import type { StepHandlers } from './dispatch.ts';
import { notify, report } from './report.ts';

export const REPORTING_STEPS: StepHandlers<'reporting'> = { report, notify };
