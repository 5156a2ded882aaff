/**
 * Starts a restore drill: by the quarterly schedule (event `{}` or the schedule's input) or by
 * hand from the console (`{ targetTime, reason, requestedBy, dryRun }`). Refuses bad input and a
 * second drill while one runs, before anything starts; names the execution with the drill id.
 */
import { RDSClient } from '@aws-sdk/client-rds';
import { SFNClient } from '@aws-sdk/client-sfn';
import { type ConfigSlice, decodeSettings } from './core/settings.ts';
import { restorableWindowOf } from './drill/adapters/aws/rds-recovery.ts';
import { type SfnApi, type StartedDrill, startDrill } from './drill/adapters/aws/start.ts';
import type { RdsApi } from './shared/aws/rds-snapshots.ts';
import { jobLogger, lambdaHandler, traced } from './shared/powertools.ts';

export interface DrillStartDeps {
  /** The start function's slice of the configuration (`source`). */
  readonly config: ConfigSlice<'drillStart'>;
  readonly stateMachineArn: string;
  readonly sfn: SfnApi;
  readonly rds: RdsApi;
  readonly now?: () => Date;
}

/** Starts one drill; the request's fields are validated, unknown keys refused. */
export async function startFromEvent(event: unknown, deps: DrillStartDeps): Promise<StartedDrill> {
  const input = event === undefined || event === null ? {} : event;
  try {
    const started = await startDrill(deps.sfn, {
      stateMachineArn: deps.stateMachineArn,
      input,
      window: () => restorableWindowOf(deps.rds, deps.config.source.dbInstanceIdentifier),
      ...(deps.now ? { now: deps.now } : {}),
    });
    jobLogger.info('drill started', {
      drillId: started.drillId,
      executionArn: started.executionArn,
      targetTime: started.input.targetTime,
    });
    return started;
  } catch (error) {
    jobLogger.error('drill not started', { error: (error as Error).name, message: (error as Error).message });
    throw error;
  }
}

const { config, resources } = decodeSettings('drillStart', process.env);
const deps: DrillStartDeps = {
  config,
  stateMachineArn: resources.stateMachineArn,
  sfn: traced(new SFNClient({ region: config.source.region })),
  rds: traced(new RDSClient({ region: config.source.region })),
};

export const handler = lambdaHandler((event: unknown) => startFromEvent(event, deps));
