/**
 * Runs a synthesized state machine definition on this machine with `aws-local-stepfunctions`,
 * each Task state bound by name to a local implementation.
 */
import './promise-polyfill.ts';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** A local implementation of one Task state: gets the state's resolved Parameters, returns its raw result. */
export type LocalTaskHandler = (input: Json) => Promise<Json> | Json;

export interface LocalRunEvent {
  readonly type: string;
  readonly state?: string;
  readonly timestamp: number;
  readonly error?: string;
  readonly cause?: string;
}

export interface LocalRunOptions {
  /** Task state name → local implementation. Every Task state of the definition must have one. */
  readonly handlers: Readonly<Record<string, LocalTaskHandler>>;
  /** Wait state name → milliseconds to wait instead of the definition's time. */
  readonly waitTimeOverrides?: Readonly<Record<string, number>>;
  /** Retryable state name → milliseconds between retries. */
  readonly retryIntervalOverrides?: Readonly<Record<string, number>>;
  readonly onEvent?: (event: LocalRunEvent) => void;
  /** The execution's name (`$$.Execution.Name`). */
  readonly executionName?: string;
  /** Aborting stops the execution: no further state runs (a Task in flight is the caller's to stop). */
  readonly signal?: AbortSignal;
}

export type LocalRunResult =
  | { readonly status: 'SUCCEEDED'; readonly output: Json; readonly events: LocalRunEvent[] }
  | {
      readonly status: 'FAILED';
      readonly error: string;
      readonly cause: string;
      readonly events: LocalRunEvent[];
    };

export class UnboundTaskError extends Error {
  constructor(states: string[]) {
    super(`no local implementation for Task state(s): ${states.join(', ')}`);
    this.name = 'UnboundTaskError';
  }
}

/** Names of every Task state, including those inside Parallel branches and Map processors. */
export function taskStateNames(definition: { States?: Record<string, unknown> }): string[] {
  const names: string[] = [];
  for (const [name, state] of Object.entries(definition.States ?? {})) {
    const s = state as { Type?: string; Branches?: unknown[]; ItemProcessor?: unknown; Iterator?: unknown };
    if (s.Type === 'Task') names.push(name);
    for (const branch of s.Branches ?? [])
      names.push(...taskStateNames(branch as { States?: Record<string, unknown> }));
    for (const inner of [s.ItemProcessor, s.Iterator]) {
      if (inner) names.push(...taskStateNames(inner as { States?: Record<string, unknown> }));
    }
  }
  return names;
}

function causeText(cause: unknown): string {
  if (typeof cause === 'string') return cause;
  if (cause instanceof Error) return cause.message;
  return JSON.stringify(cause ?? '');
}

export async function runDefinitionLocally(
  definition: Record<string, unknown>,
  input: Json,
  options: LocalRunOptions,
): Promise<LocalRunResult> {
  const unbound = taskStateNames(definition).filter((name) => !(name in options.handlers));
  if (unbound.length > 0) throw new UnboundTaskError(unbound);

  const machine = new StateMachine(definition as unknown as StateMachineDefinition, {
    validationOptions: { checkArn: false },
  });
  const execution = machine.run(input, {
    overrides: {
      taskResourceLocalHandlers: options.handlers as Record<string, (input: Json) => Promise<Json>>,
      waitTimeOverrides: { ...options.waitTimeOverrides },
      retryIntervalOverrides: { ...options.retryIntervalOverrides },
    },
    context: {
      Execution: {
        Id: `local:execution:${options.executionName ?? 'local'}`,
        Name: options.executionName ?? 'local',
        StartTime: new Date().toISOString(),
        Input: input,
      },
    },
  });

  const abort = () => execution.abort();
  if (options.signal?.aborted) abort();
  else options.signal?.addEventListener('abort', abort, { once: true });
  const events: LocalRunEvent[] = [];
  const collecting = (async () => {
    for await (const raw of execution.eventLogs) {
      const e = raw as {
        type: string;
        timestamp: number;
        state?: { name: string };
        Error?: string;
        Cause?: unknown;
      };
      const event: LocalRunEvent = {
        type: e.type,
        timestamp: e.timestamp,
        ...(e.state ? { state: e.state.name } : {}),
        ...(e.Error !== undefined ? { error: e.Error, cause: causeText(e.Cause) } : {}),
      };
      events.push(event);
      options.onEvent?.(event);
    }
  })();

  try {
    const output = (await execution.result.finally(() =>
      options.signal?.removeEventListener('abort', abort),
    )) as Json;
    await collecting;
    return { status: 'SUCCEEDED', output, events };
  } catch (error) {
    await collecting.catch(() => undefined);
    const failed = [...events].reverse().find((e) => e.type === 'ExecutionFailed');
    return {
      status: 'FAILED',
      error: failed?.error ?? (error as Error).name,
      cause: failed?.cause ?? (error as Error).message,
      events,
    };
  }
}
