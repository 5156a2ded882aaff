/**
 * Follows a drill execution from a terminal (`recovery-drill start --wait`): one line per task
 * state when it ends, with its final outcome and how long it took (as the local drill prints
 * them), until the execution ends.
 */
import {
  DescribeExecutionCommand,
  type ExecutionStatus,
  GetExecutionHistoryCommand,
  type HistoryEvent,
} from '@aws-sdk/client-sfn';
import { redactCredentials } from '../../../core/redact.ts';
import { causeText } from '../../ports/errors.ts';
import type { SfnApi } from './start.ts';

export interface FollowOptions {
  readonly print: (line: string) => void;
  /** Pause between looks at the history. */
  readonly pollMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

export interface FollowResult {
  readonly status: ExecutionStatus | string;
  /** The execution's output, parsed; null when it has none (failed, aborted). */
  readonly output: unknown;
}

const MAX_CAUSE = 400;

function clock(date: Date | undefined): string {
  return (date ?? new Date()).toISOString().slice(11, 19);
}

function short(text: string): string {
  const flat = redactCredentials(text.replace(/\s+/g, ' ').trim());
  return flat.length > MAX_CAUSE ? `${flat.slice(0, MAX_CAUSE - 3)}...` : flat;
}

function seconds(from: Date | undefined, to: Date | undefined): string {
  if (!from || !to) return '';
  return ` (${((to.getTime() - from.getTime()) / 1000).toFixed(1)} s)`;
}

/**
 * Turns history events into progress lines: one per task state when it ends, `✓` or `✗` by its
 * final outcome. A caught failure (the task failed, its Catch moved on) is one `✗` line, never
 * followed by a `✓` for the same state; a failure a Retry then overcame is one `✓` line; a failure
 * nothing caught is printed before the execution's end.
 */
export class ProgressPrinter {
  private state: string | null = null;
  private enteredAt: Date | undefined;
  private failure: string | null = null;

  constructor(private readonly print: (line: string) => void) {}

  event(event: HistoryEvent): void {
    const at = clock(event.timestamp);
    const type = event.type ?? '';
    if (type === 'TaskStateEntered') {
      this.flushFailure(event.timestamp);
      this.state = event.stateEnteredEventDetails?.name ?? '?';
      this.enteredAt = event.timestamp;
      this.failure = null;
      return;
    }
    const failure =
      event.taskFailedEventDetails ??
      event.lambdaFunctionFailedEventDetails ??
      event.taskTimedOutEventDetails ??
      event.lambdaFunctionTimedOutEventDetails;
    if (failure) {
      this.failure = `${failure.error ?? 'failed'}${failure.cause ? `: ${short(causeText(failure.cause))}` : ''}`;
      return;
    }
    // A Retry ran the task again and it succeeded: the earlier failure is not its outcome.
    if (type === 'TaskSucceeded' || type === 'LambdaFunctionSucceeded') {
      this.failure = null;
      return;
    }
    if (type === 'TaskStateExited') {
      const name = event.stateExitedEventDetails?.name ?? this.state ?? '?';
      const took = seconds(this.enteredAt, event.timestamp);
      this.print(this.failure ? `${at}  ✗ ${name}${took}: ${this.failure}` : `${at}  ✓ ${name}${took}`);
      this.state = null;
      this.failure = null;
      return;
    }
    if (type.startsWith('Execution') && type !== 'ExecutionStarted') {
      // The state that failed uncaught never exits: its line comes before the execution's end.
      this.flushFailure(event.timestamp);
      const line = executionLine(event, at);
      if (line) this.print(line);
    }
  }

  /** A failed state that did not exit (nothing caught it, or the history skips its exit) still gets its ✗ line. */
  private flushFailure(now: Date | undefined): void {
    if (this.state && this.failure)
      this.print(`${clock(now)}  ✗ ${this.state}${seconds(this.enteredAt, now)}: ${this.failure}`);
    this.state = null;
    this.failure = null;
  }
}

/** The line for the execution's end, or null for any other event. */
function executionLine(event: HistoryEvent, at: string): string | null {
  const type = event.type ?? '';
  if (type === 'ExecutionSucceeded') return `${at}  execution succeeded`;
  if (type === 'ExecutionFailed') {
    const d = event.executionFailedEventDetails;
    return `${at}  execution failed: ${d?.error ?? ''}${d?.cause ? `: ${short(d.cause)}` : ''}`;
  }
  if (type === 'ExecutionTimedOut') return `${at}  execution timed out`;
  if (type === 'ExecutionAborted') return `${at}  execution aborted`;
  return null;
}

/** Prints the history as it grows and returns when the execution has ended. */
export async function followExecution(
  sfn: SfnApi,
  executionArn: string,
  options: FollowOptions,
): Promise<FollowResult> {
  const sleep = options.sleep ?? ((ms: number) => new Promise((resolve) => setTimeout(resolve, ms)));
  const pollMs = options.pollMs ?? 5_000;
  let lastId = 0;
  const progress = new ProgressPrinter(options.print);
  for (;;) {
    // Read the status first: events written before an ended status was read are all in the history below.
    const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    let nextToken: string | undefined;
    do {
      const page = await sfn.send(
        new GetExecutionHistoryCommand({
          executionArn,
          maxResults: 1000,
          nextToken,
          includeExecutionData: false,
        }),
      );
      for (const event of page.events ?? []) {
        if ((event.id ?? 0) <= lastId) continue;
        lastId = event.id ?? lastId;
        progress.event(event);
      }
      nextToken = page.nextToken || undefined;
    } while (nextToken);
    if (described.status !== 'RUNNING' && described.status !== 'PENDING_REDRIVE') {
      let output: unknown = null;
      try {
        output = described.output ? JSON.parse(described.output) : null;
      } catch {
        output = null;
      }
      return { status: described.status ?? 'UNKNOWN', output };
    }
    await sleep(pollMs);
  }
}
