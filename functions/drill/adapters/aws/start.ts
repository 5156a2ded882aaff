/**
 * Starting a drill, shared by the start function (quarterly schedule, console) and the CLI: the
 * input is checked before anything starts, one drill at a time, and the execution is named with
 * the drill id so the console, the logs, the instance name and the report all say the same id.
 */
import { ListExecutionsCommand, type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import {
  type DrillFrom,
  type DrillInput,
  type RestorableWindow,
  validateDrillInput,
} from '../../../core/drill-input.ts';
import { newDrillId } from '../../drill-id.ts';

export type SfnApi = Pick<SFNClient, 'send'>;

/** Another drill is running: two at once would compete for quota and confuse on-call. */
export class DrillAlreadyRunningError extends Error {
  readonly executionArn: string;

  constructor(executionArn: string, options?: ErrorOptions) {
    super(
      `another drill is running (${executionArn}): wait for it to end, or stop it in the Step Functions console, then start again`,
      options,
    );
    this.name = 'DrillAlreadyRunningError';
    this.executionArn = executionArn;
  }
}

export interface StartedDrill {
  readonly drillId: string;
  readonly executionArn: string;
  readonly input: DrillInput;
}

export interface StartDrillArgs {
  readonly stateMachineArn: string;
  /** The request as given (validated here: unknown keys, times, lengths). */
  readonly input: unknown;
  /** The restorable window of the data the drill restores from (read after the offline checks passed). */
  readonly window: (from: DrillFrom) => Promise<RestorableWindow>;
  readonly now?: () => Date;
  /**
   * The drill id (the execution name). A scheduled drill derives it from its scheduled time, so a
   * second firing of one schedule cannot start a second drill (Step Functions refuses the name).
   * @default - a new one from the clock
   */
  readonly drillId?: string;
  /**
   * Other drill state machines (other regions) of this deployment: one drill at a time across them.
   * @default - none
   */
  readonly alsoRefuseWhileRunning?: readonly { readonly sfn: SfnApi; readonly stateMachineArn: string }[];
}

/** The running execution of the machine, if any. */
export async function runningExecution(sfn: SfnApi, stateMachineArn: string): Promise<string | null> {
  const out = await sfn.send(
    new ListExecutionsCommand({ stateMachineArn, statusFilter: 'RUNNING', maxResults: 1 }),
  );
  return out.executions?.[0]?.executionArn ?? null;
}

/**
 * Validates, refuses while a drill runs, and starts.
 * @throws DrillInputError (nothing started) naming every bad field.
 * @throws DrillAlreadyRunningError when an execution of the machine is RUNNING.
 */
export async function startDrill(sfn: SfnApi, args: StartDrillArgs): Promise<StartedDrill> {
  const now = args.now ?? (() => new Date());
  // Offline checks first: a malformed request never costs an API call.
  const offline = validateDrillInput(args.input, { now: now(), engine: 'aws' });
  const window = await args.window(offline.from);
  const input = validateDrillInput(args.input, { now: now(), engine: 'aws', window });
  for (const machine of [
    { sfn, stateMachineArn: args.stateMachineArn },
    ...(args.alsoRefuseWhileRunning ?? []),
  ]) {
    const running = await runningExecution(machine.sfn, machine.stateMachineArn);
    if (running) throw new DrillAlreadyRunningError(running);
  }
  const drillId = args.drillId ?? newDrillId(now());
  const out = await sfn.send(
    new StartExecutionCommand({
      stateMachineArn: args.stateMachineArn,
      name: drillId,
      input: JSON.stringify(input),
    }),
  );
  return { drillId, executionArn: out.executionArn ?? '', input };
}
