/**
 * `Validate input`: the execution input checked against the restorable window before anything
 * is created, and the drill's identity fixed: its id, its instance, T (the drill's start for
 * `latest`, the chosen time otherwise).
 */
import { describeFrom, validateDrillInput } from '../../core/drill-input.ts';
import { drillInstanceId } from '../drill-id.ts';
import { RestoreFailedError } from '../ports/errors.ts';
import type { DrillInfo, StepContext } from './context.ts';
import { timed } from './context.ts';

export async function validate({ state, deps, executionName, executionArn }: StepContext) {
  return timed(deps, async (startedAt) => {
    // At this point the state is the execution input itself: unknown keys are refused, and a
    // `from` this engine cannot restore from is refused before the window is even read.
    const engine = deps.settings.mode;
    const offline = validateDrillInput(state, { now: startedAt, engine });
    // The window of the data the drill restores: the source's, or the isolated copy's.
    const window = await deps.recovery.restorableWindow(offline.from);
    const input = validateDrillInput(state, { now: startedAt, engine, window });
    const latest = window.latest;
    if (input.targetTime === 'latest' && latest === null) {
      const damaged = (await deps.recovery.damagedState?.()) ?? [];
      throw new RestoreFailedError(
        damaged.length > 0
          ? `nothing is restorable: no intact backup; ${damaged.join('; ')}`
          : 'nothing is restorable yet: the source has no backup and no archived WAL',
        { requestedTarget: 'latest', restorableLatest: null, damagedRecords: damaged.length },
      );
    }
    const isLatest = input.targetTime === 'latest';
    // T: a "latest" drill measures what a restore at its start would lose.
    const targetTime = isLatest ? startedAt.toISOString() : input.targetTime;
    const config = deps.settings.config;
    const info: DrillInfo = {
      drillId: executionName,
      instanceId: drillInstanceId(config.drill.instancePrefix, executionName),
      targetTime,
      requestedTarget: input.targetTime,
      startedAt: startedAt.toISOString(),
      reason: input.reason,
      requestedBy: input.requestedBy,
      dryRun: input.dryRun,
      from: input.from,
      window: { earliest: window.earliest?.toISOString() ?? null, latest: latest?.toISOString() ?? null },
      environment: config.environment,
      mode: deps.settings.mode,
      executionArn,
    };
    return {
      ...info,
      detail: `${input.dryRun ? 'dry run: would restore' : 'restoring'} ${config.source.dbInstanceIdentifier}${input.from === 'source' ? '' : ` from ${describeFrom(input.from)}`} to ${isLatest ? `the latest restorable time (${(latest as Date).toISOString()} now)` : targetTime} as ${info.instanceId}; T = ${targetTime}${isLatest ? ' (the drill start)' : ''}`,
    };
  });
}
