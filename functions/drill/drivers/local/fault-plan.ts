/**
 * A fault tied to the drill's steps: checked against the configuration and the source's catalog
 * before anything starts, then acting through a wrapped recovery port or right before its step.
 */
import pg from 'pg';
import type { Config } from '../../../core/config.ts';
import type { DrillTaskStep } from '../../../core/drill-steps.ts';
import type { DatabaseRecoveryPort } from '../../ports/database-recovery.ts';
import type { DrillDeps } from '../../ports/drill-deps.ts';
import type { DrillState } from '../../steps/index.ts';
import { applyDatabaseFault, sessionFaultProblem } from './fault-appliers.ts';
import { faultCatalogProblem } from './fault-targets.ts';
import {
  DATABASE_FAULTS,
  type DatabaseFault,
  FaultMissedError,
  type FaultName,
  FaultRefusedError,
  faultConfigProblem,
  isDatabaseFault,
  SESSION_FAULT_VERIFIED_AT,
} from './faults.ts';

export interface FaultContext {
  readonly config: Config;
  /** The source's application database (holds the password: never logged): where the catalog is checked. */
  readonly sourceUrl: string | null;
  /** One line when the fault acts. */
  readonly progress?: (line: string) => void;
}

/** What the local engine must change to run with a fault. */
export interface FaultPlan {
  /** The recovery port to use (possibly wrapped). */
  readonly recovery: DatabaseRecoveryPort;
  /** Runs before each step. */
  readonly beforeStep: (step: string, state: Readonly<Record<string, unknown>>) => Promise<void>;
  /** What the fault broke, named for the report, once it has acted; null before. */
  acted(): string | null;
  /** Why the fault could not act when its moment came (the drill then ran without it); null otherwise. */
  missed(): string | null;
}

async function onDrillDatabase<T>(
  deps: DrillDeps,
  state: DrillState,
  action: (client: pg.Client) => Promise<T>,
): Promise<T> {
  const secretRef = state.connection?.secretRef;
  if (!secretRef) throw new FaultMissedError('there is no drill database yet');
  const client = new pg.Client({ connectionString: await deps.secrets.connectionUrl(secretRef) });
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await action(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Checks that a fault can apply (the configuration, then the source's catalog) and prepares it.
 * `deps` is the drill's dependencies, read lazily (the plan is made before they exist).
 * @throws FaultRefusedError when the fault cannot apply to the configured app.
 */
export async function planFault(
  fault: FaultName | null,
  recovery: DatabaseRecoveryPort,
  context: FaultContext,
  deps: () => DrillDeps,
): Promise<FaultPlan> {
  let acted: string | null = null;
  let missed: string | null = null;
  const act = (detail: string) => {
    if (acted === null) context.progress?.(`fault ${fault}: ${detail}`);
    acted = detail;
  };
  const plan: { recovery: DatabaseRecoveryPort; beforeStep: FaultPlan['beforeStep'] } = {
    recovery,
    beforeStep: async () => undefined,
  };
  const result = (): FaultPlan => ({ ...plan, acted: () => acted, missed: () => missed });
  if (fault === null) return result();

  const configProblem = faultConfigProblem(fault, context.config);
  if (configProblem) throw new FaultRefusedError(fault, configProblem);
  if (context.sourceUrl) {
    const client = new pg.Client({ connectionString: context.sourceUrl });
    client.on('error', () => undefined);
    await client.connect();
    try {
      const problem = await faultCatalogProblem(fault, client, context.config);
      if (problem) throw new FaultRefusedError(fault, problem);
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  if (fault === 'rpo-breach') {
    // Restoring further back than the RPO target needs a window that reaches that far back.
    const rpoMinutes = context.config.targets.rpoMinutes;
    const window = await recovery.restorableWindow();
    const spanMs = window.earliest && window.latest ? window.latest.getTime() - window.earliest.getTime() : 0;
    if (spanMs <= rpoMinutes * 60_000 + 5_000)
      throw new FaultRefusedError(
        fault,
        `a restorable window longer than targets.rpoMinutes (${rpoMinutes} min) plus 5 s, to restore that far back; the source's window is ${(spanMs / 60_000).toFixed(1)} min${window.earliest ? ` (from ${window.earliest.toISOString()})` : ''}: let the source run longer, or drill with a smaller targets.rpoMinutes`,
      );
  }

  const atStep = (wanted: string, action: (state: DrillState) => Promise<void>) => {
    plan.beforeStep = async (step, state) => {
      if (step === wanted && acted === null && missed === null) await action(state as DrillState);
    };
  };
  const wrap = (overrides: Partial<DatabaseRecoveryPort>) =>
    Object.assign(Object.create(recovery) as DatabaseRecoveryPort, overrides);

  if (isDatabaseFault(fault)) {
    const miss = (why: string) => {
      missed = why;
      context.progress?.(`fault ${fault} could not be applied: ${why}`);
    };
    const actAt = DATABASE_FAULTS[fault];
    // A session fault set up before its table exists takes hold when the app creates the table:
    // the step after the one it was meant for checks that it did.
    const verifyAt = (SESSION_FAULT_VERIFIED_AT as Partial<Record<DatabaseFault, DrillTaskStep>>)[fault];
    plan.beforeStep = async (step, state) => {
      if (missed !== null) return;
      try {
        if (step === actAt && acted === null)
          act(
            await onDrillDatabase(deps(), state as DrillState, (client) =>
              applyDatabaseFault(fault, client, context.config),
            ),
          );
        else if (step === verifyAt && acted !== null) {
          const problem = await onDrillDatabase(deps(), state as DrillState, (client) =>
            sessionFaultProblem(client, context.config),
          );
          if (problem) miss(problem);
        }
      } catch (error) {
        // The drill goes on without the fault: a step failing here would look like the fault's class.
        miss((error as Error).message);
      }
    };
    return result();
  }
  switch (fault) {
    case 'restore-failure':
      plan.recovery = wrap({
        restoreToPointInTime: (request) => {
          const past = new Date(Date.now() + 3_600_000);
          act(`the restore asked for ${past.toISOString()}, an hour past the newest archived WAL`);
          return recovery.restoreToPointInTime({ ...request, targetTime: past });
        },
      });
      break;
    case 'restore-timeout':
      plan.recovery = wrap({
        describeInstance: async (id) => {
          const real = await recovery.describeInstance(id);
          if (real?.status !== 'available') return real;
          act(`${id} is available but reported as "creating"`);
          return { ...real, status: 'creating' as const, endpoint: null };
        },
      });
      break;
    case 'rpo-breach':
      plan.recovery = wrap({
        restoreToPointInTime: async (request) => {
          const rpoMs = deps().settings.config.targets.rpoMinutes * 60_000;
          const window = await recovery.restorableWindow();
          const asked = request.targetTime === 'latest' ? (window.latest ?? new Date()) : request.targetTime;
          const wanted = asked.getTime() - rpoMs - 5_000;
          const earlier = new Date(Math.max(wanted, window.earliest?.getTime() ?? 0));
          if (earlier.getTime() > wanted)
            missed = `the restorable window begins at ${earlier.toISOString()}, less than targets.rpoMinutes before the target ${asked.toISOString()}`;
          act(`the restore target moved from ${asked.toISOString()} back to ${earlier.toISOString()}`);
          return recovery.restoreToPointInTime({ ...request, targetTime: earlier });
        },
      });
      break;
    case 'rto-breach':
      atStep('startApp', async () => {
        const ms = deps().settings.config.targets.rtoMinutes * 60_000 + 2_000;
        act(`the app's start delayed by ${Math.round(ms / 1000)} s (targets.rtoMinutes + 2 s)`);
        await sleep(ms);
      });
      break;
    case 'evaluate-down':
      atStep('evaluate', async (state) => {
        if (!state.drill) return;
        const stopped = await deps().app.stopAll(state.drill.drillId);
        act(
          `stopped ${stopped.length > 0 ? stopped.join(', ') : 'the app'} before the recovery-evaluate call`,
        );
      });
      break;
    case 'cleanup-failure':
      plan.recovery = wrap({
        deleteInstance: async (id) => {
          act(`deleting ${id} refused: the instance is left running`);
          throw new Error(`could not delete ${id} (injected fault: the instance is left running)`);
        },
      });
      break;
  }
  return result();
}
