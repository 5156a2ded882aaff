/**
 * A smoke check watched against the app's death. Where the app runner can see the app process
 * (locally), an app that exits while a check runs fails that check at once, with the exit code or
 * signal and the last lines of its log: on-call reads "the app exited with code 1: Error: Cannot
 * find module ..." rather than two minutes of refused connections. A check that failed because
 * the app died (a reset connection) says so too.
 */
import { describeExit, formatTail } from '../core/command.ts';
import type { AppExit, DrillDeps } from './ports/drill-deps.ts';
import { type DrillFailureClass, DrillStepError, type Evidence } from './ports/errors.ts';

/** How long a failed check waits for the app's exit to be seen before it reports the failure alone. */
const EXIT_GRACE_MS = 1000;

/** "the app exited with code 3 2.1 s after it started; last lines of …" */
export function describeAppExit(exit: AppExit): string {
  return `the app ${describeExit(exit)} ${exit.afterSeconds} s after it started; ${formatTail(exit.logFile, exit.logTail)}`;
}

/** What a failure says of the app's exit (never its log lines: those are in the message and the log file). */
function exitEvidence(exit: AppExit): Evidence {
  return {
    appExitCode: exit.code,
    appSignal: exit.signal,
    appRanSeconds: exit.afterSeconds,
    appLog: exit.logFile,
  };
}

/**
 * Runs `check` while watching the drill's app. `check` gets a signal that is aborted when the app
 * exits (hand it to waiters that would otherwise poll a dead port until their budget runs out).
 * @param failure the class the check itself fails with, so the failure keeps its escalation class.
 */
export async function whileAppRuns<T>(
  deps: DrillDeps,
  drillId: string | undefined,
  failure: DrillFailureClass,
  what: string,
  check: (signal: AbortSignal | undefined) => Promise<T>,
): Promise<T> {
  const exited = drillId ? (deps.app.exited?.(drillId) ?? null) : null;
  if (!exited) return check(undefined);
  const controller = new AbortController();
  const onExit = exited.then((exit) => {
    controller.abort(new failure(`${what}: ${describeAppExit(exit)}`, exitEvidence(exit)));
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
  if ('exit' in outcome)
    throw new failure(`${what}: ${describeAppExit(outcome.exit)}`, exitEvidence(outcome.exit));
  if ('value' in outcome) return outcome.value;
  // It failed: if the app died under it (a reset connection), the exit is the news.
  const exit = await Promise.race([
    onExit,
    new Promise<null>((resolve) => setTimeout(() => resolve(null), EXIT_GRACE_MS).unref()),
  ]);
  if (exit) {
    // The check's own failure keeps its class and evidence; the exit is added to both.
    const error = outcome.error;
    const message = `${error instanceof Error ? error.message : String(error)}; ${describeAppExit(exit)}`;
    if (error instanceof DrillStepError) {
      const own = error.constructor as DrillFailureClass;
      throw new own(message, { ...error.evidence, ...exitEvidence(exit) }, { cause: error });
    }
    throw new failure(message, exitEvidence(exit), { cause: error });
  }
  throw outcome.error;
}
