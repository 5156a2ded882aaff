/**
 * A smoke check watched against the app's death. Where the app runner can see the app process
 * (locally), an app that exits while a check runs fails that check at once, with the exit code or
 * signal and the last lines of its log: on-call reads "the app exited with code 1: Error: Cannot
 * find module ..." rather than two minutes of refused connections. A check that failed because
 * the app died (a reset connection) says so too.
 */
import { describeExit, formatTail } from '../core/command.ts';
import { redactCredentials } from '../core/redact.ts';
import type { AppExit, DrillDeps } from './ports/drill-deps.ts';

/** How long a failed check waits for the app's exit to be seen before it reports the failure alone. */
const EXIT_GRACE_MS = 1000;

/** "the app exited with code 3 2.1 s after it started; last lines of …" */
export function describeAppExit(exit: AppExit): string {
  return `the app ${describeExit(exit)} ${exit.afterSeconds} s after it started; ${formatTail(exit.logFile, exit.logTail)}`;
}

/** A failed check, named as the state machine maps it (`ReadyNotOkError`, `AuthWriteFailedError`, …). */
class AppExitedError extends Error {
  constructor(name: string, message: string) {
    super(redactCredentials(message));
    this.name = name;
  }
}

/**
 * Runs `check` while watching the drill's app. `check` gets a signal that is aborted when the app
 * exits (hand it to waiters that would otherwise poll a dead port until their budget runs out).
 * @param errorName the error the check itself throws, so the failure keeps its escalation class.
 */
export async function whileAppRuns<T>(
  deps: DrillDeps,
  drillId: string | undefined,
  errorName: string,
  what: string,
  check: (signal: AbortSignal | undefined) => Promise<T>,
): Promise<T> {
  const exited = drillId ? (deps.app.exited?.(drillId) ?? null) : null;
  if (!exited) return check(undefined);
  const controller = new AbortController();
  const onExit = exited.then((exit) => {
    controller.abort(new AppExitedError(errorName, `${what}: ${describeAppExit(exit)}`));
    return exit;
  });
  const running = check(controller.signal);
  // The losing side of the race must not become an unhandled rejection.
  running.catch(() => undefined);
  const outcome = await Promise.race([
    running.then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    ),
    onExit.then((exit) => ({ exit })),
  ]);
  if ('exit' in outcome) throw new AppExitedError(errorName, `${what}: ${describeAppExit(outcome.exit)}`);
  if ('value' in outcome) return outcome.value;
  // It failed: if the app died under it (a reset connection), the exit is the news.
  const exit = await Promise.race([
    onExit,
    new Promise<null>((resolve) => setTimeout(() => resolve(null), EXIT_GRACE_MS).unref()),
  ]);
  if (exit) {
    const error = outcome.error as Error;
    throw new AppExitedError(
      error?.name && error.name !== 'Error' ? error.name : errorName,
      `${error?.message ?? String(outcome.error)}; ${describeAppExit(exit)}`,
    );
  }
  throw outcome.error;
}
