/**
 * Starts a restore drill: by the quarterly schedule (its input carries `scheduledAt`, which picks
 * the origin from `schedules.drillFrom`) or by hand from the console (`{ targetTime, reason,
 * requestedBy, dryRun, from }`; without `from`, config `drill.from`). The drill runs in the region
 * of its data: the state machine there is started. Refuses bad input and a second drill while one
 * runs (in either region), before anything starts; names the execution with the drill id.
 */
import { RDSClient } from '@aws-sdk/client-rds';
import { SFNClient } from '@aws-sdk/client-sfn';
import { scheduledDrillFrom } from './core/drill-rotation.ts';
import { InputError } from './core/errors.ts';
import { type ConfigSlice, decodeSettings } from './core/settings.ts';
import { type AwsDrillFrom, regionOfData, restorableWindowFrom } from './drill/adapters/aws/rds-origins.ts';
import { type SfnApi, type StartedDrill, startDrill } from './drill/adapters/aws/start.ts';
import { newDrillId } from './drill/drill-id.ts';
import type { RdsApi } from './shared/aws/rds-snapshots.ts';
import { jobLogger, lambdaHandler, traced } from './shared/powertools.ts';

export interface DrillStartDeps {
  /** The start function's slice of the configuration (`source`, `isolation`, `schedules`, `drill`). */
  readonly config: ConfigSlice<'drillStart'>;
  /** The drill state machine in the source region. */
  readonly stateMachineArn: string;
  /** The one in `isolation.copyRegion`; null when that is the source region (one machine serves all). */
  readonly copyRegionStateMachineArn: string | null;
  /** Step Functions and RDS clients by region. */
  readonly sfn: (region: string) => SfnApi;
  readonly rds: (region: string) => RdsApi;
  readonly now?: () => Date;
}

/**
 * The request without the schedule's `scheduledAt`, with `from` filled in: the one given, the
 * rotation's for a scheduled drill, else `drill.from`.
 * @throws InputError naming `scheduledAt` when it is not a time.
 */
export function resolveRequest(
  event: unknown,
  config: ConfigSlice<'drillStart'>,
): { input: unknown; scheduledAt: Date | null; why: string | null } {
  if (event === undefined || event === null)
    return { input: { from: config.drill.from }, scheduledAt: null, why: null };
  if (typeof event !== 'object' || Array.isArray(event))
    return { input: event, scheduledAt: null, why: null };
  const { scheduledAt: raw, ...rest } = event as Record<string, unknown>;
  if (raw === undefined) return { input: { from: config.drill.from, ...rest }, scheduledAt: null, why: null };
  const scheduledAt = typeof raw === 'string' ? new Date(raw) : new Date(Number.NaN);
  if (Number.isNaN(scheduledAt.getTime()))
    throw new InputError(
      'scheduledAt',
      raw,
      "the schedule's scheduled time (ISO-8601), as <aws.scheduler.scheduled-time> gives it",
    );
  if (rest.from !== undefined) return { input: rest, scheduledAt, why: 'the request names it' };
  const choice = scheduledDrillFrom(config.schedules.drillFrom, config.schedules, scheduledAt);
  return { input: { ...rest, from: choice.from }, scheduledAt, why: choice.why };
}

/** Starts one drill; the request's fields are validated, unknown keys refused. */
export async function startFromEvent(event: unknown, deps: DrillStartDeps): Promise<StartedDrill> {
  try {
    const { config } = deps;
    const { input, scheduledAt, why } = resolveRequest(event, config);
    const requested = (input as { from?: unknown } | null)?.from;
    // An unknown origin is refused by the input's validation (naming `from`); route the rest.
    const from = (typeof requested === 'string' ? requested : 'source') as AwsDrillFrom;
    const region = ['isolated-region', 'isolated-snapshot'].includes(from)
      ? regionOfData(from, config)
      : config.source.region;
    const copy = deps.copyRegionStateMachineArn;
    const inCopyRegion = region !== config.source.region;
    if (inCopyRegion && copy === null)
      throw new InputError(
        'from',
        from,
        `an origin this deployment drills: no drill state machine is deployed in ${region}`,
      );
    const machine = inCopyRegion ? (copy as string) : deps.stateMachineArn;
    const other = inCopyRegion ? deps.stateMachineArn : copy;
    const otherRegion = inCopyRegion ? config.source.region : config.isolation.copyRegion;
    const started = await startDrill(deps.sfn(region), {
      stateMachineArn: machine,
      input,
      window: (f) =>
        restorableWindowFrom(f as AwsDrillFrom, {
          rds: deps.rds(region),
          region,
          sourceRds: deps.rds(config.source.region),
          sourceDbInstanceId: config.source.dbInstanceIdentifier,
        }),
      ...(deps.now ? { now: deps.now } : {}),
      // One drill id per scheduled firing: a retry of it cannot start a second drill.
      ...(scheduledAt ? { drillId: newDrillId(scheduledAt, () => 0) } : {}),
      ...(other ? { alsoRefuseWhileRunning: [{ sfn: deps.sfn(otherRegion), stateMachineArn: other }] } : {}),
    });
    jobLogger.info('drill started', {
      drillId: started.drillId,
      executionArn: started.executionArn,
      targetTime: started.input.targetTime,
      from: started.input.from,
      ...(why ? { fromBecause: why } : {}),
    });
    return started;
  } catch (error) {
    jobLogger.error('drill not started', { error: (error as Error).name, message: (error as Error).message });
    throw error;
  }
}

const { config, resources } = decodeSettings('drillStart', process.env);
const clients = <C>(make: (region: string) => C) => {
  const byRegion = new Map<string, C>();
  return (region: string): C => {
    const client = byRegion.get(region) ?? make(region);
    byRegion.set(region, client);
    return client;
  };
};
const deps: DrillStartDeps = {
  config,
  stateMachineArn: resources.stateMachineArn,
  copyRegionStateMachineArn: resources.copyRegionStateMachineArn,
  sfn: clients((region) => traced(new SFNClient({ region }))),
  rds: clients((region) => traced(new RDSClient({ region }))),
};

export const handler = lambdaHandler((event: unknown) => startFromEvent(event, deps));
