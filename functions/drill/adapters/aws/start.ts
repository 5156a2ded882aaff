/**
 * Starting a drill, shared by the start function (quarterly schedule, console) and the CLI: the
 * input is checked before anything starts, one drill at a time, and the execution is named with
 * the drill id so the console, the logs, the instance name and the report all say the same id.
 */
import { ListExecutionsCommand, type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { type DrillInput, type RestorableWindow, validateDrillInput } from '../../../core/drill-input.ts';
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
  /** The source's restorable window (read after the offline checks passed). */
  readonly window: () => Promise<RestorableWindow>;
  readonly now?: () => Date;
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
  validateDrillInput(args.input, { now: now(), engine: 'aws' });
  const window = await args.window();
  const input = validateDrillInput(args.input, { now: now(), engine: 'aws', window });
  const running = await runningExecution(sfn, args.stateMachineArn);
  if (running) throw new DrillAlreadyRunningError(running);
  const drillId = newDrillId(now());
  const out = await sfn.send(
    new StartExecutionCommand({
      stateMachineArn: args.stateMachineArn,
      name: drillId,
      input: JSON.stringify(input),
    }),
  );
  return { drillId, executionArn: out.executionArn ?? '', input };
}
