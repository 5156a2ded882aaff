/**
 * Follows a drill execution from a terminal (`recovery-drill start --wait`): one line per state
 * entered, left or failed, as the execution history records them, until the execution ends.
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

/** The line an event prints, or null for the events a person does not need (scheduled, started, …). */
export function describeEvent(event: HistoryEvent, currentState: string | null): string | null {
  const at = clock(event.timestamp);
  const type = event.type ?? '';
  if (type.endsWith('StateEntered')) return `${at}  → ${event.stateEnteredEventDetails?.name ?? '?'}`;
  if (type.endsWith('StateExited')) return `${at}  ✓ ${event.stateExitedEventDetails?.name ?? '?'}`;
  const failure =
    event.taskFailedEventDetails ??
    event.lambdaFunctionFailedEventDetails ??
    event.taskTimedOutEventDetails ??
    event.lambdaFunctionTimedOutEventDetails;
  if (failure) {
    return `${at}  ✗ ${currentState ?? '?'}: ${failure.error ?? 'failed'}${failure.cause ? `: ${short(causeText(failure.cause))}` : ''}`;
  }
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
  let currentState: string | null = null;
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
        if (event.type?.endsWith('StateEntered')) currentState = event.stateEnteredEventDetails?.name ?? null;
        const line = describeEvent(event, currentState);
        if (line) options.print(line);
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
