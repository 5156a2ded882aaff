/**
 * A full restore drill on this machine: the state machine the stack synthesizes, run by
 * `aws-local-stepfunctions`, every Task bound to the same step code the Lambda functions run,
 * over the local adapters (embedded PostgreSQL, child processes, folders; wired in `local-deps.ts`).
 */
import { DrillInputError } from '../../../core/drill-input.ts';
import {
  DRILL_STEP_REGISTRY,
  drillStep,
  WAIT_FOR_RESTORE_STATE,
  withStepResult,
} from '../../../core/drill-steps.ts';
import { PREPARE_STEP } from '../../../core/escalations.ts';
import { redactCredentials } from '../../../core/redact.ts';
import type { DrillReport } from '../../../core/report.ts';
import { localEngine, prepareSource } from '../../../local/engine.ts';
import { acquireLock, drillLockFile } from '../../../local/lock.ts';
import { statePaths } from '../../../local/state.ts';
import type { LoadedConfig } from '../../../shared/config-file.ts';
import { FileSecretStore } from '../../adapters/local/secrets.ts';
import { newDrillId } from '../../drill-id.ts';
import { type LocalRunEvent, runDefinitionLocally } from '../../local-state-machine.ts';
import type { DrillDeps } from '../../ports/drill-deps.ts';
import { DrillInterruptedError, failureRecord, toStepFailure } from '../../ports/errors.ts';
import { type DrillState, runStep } from '../../steps/index.ts';
import { type FaultPlan, planFault } from './fault-plan.ts';
import { type FaultName, FaultRefusedError, faultConfigProblem } from './faults.ts';
import { interruptedState } from './interruption.ts';
import { localDrillDeps } from './local-deps.ts';
import { progressLines } from './progress-lines.ts';

export interface LocalDrillOptions {
  readonly loaded: LoadedConfig;
  /** The ASL to run (from `drillDefinition(config, baseDir)`); injected so the CLI and tests pick the source. */
  readonly definition: Record<string, unknown>;
  /** Execution input: `{ targetTime?, reason?, requestedBy?, dryRun? }`, validated by the drill itself. */
  readonly input: Record<string, unknown>;
  readonly keep?: boolean;
  readonly inject?: FaultName | null;
  /** Progress lines for a person (one per state entered/left). */
  readonly progress?: (line: string) => void;
  /** Lines the notifier publishes (escalations and the summary). */
  readonly notify?: (line: string) => void;
  /** Override of `drill.restoreTimeoutMinutes`, in seconds (tests of the timeout path). */
  readonly restoreTimeoutSeconds?: number;
  /** Pause between two looks at a restoring instance, in ms (default 1000; the AWS pauses are minutes). */
  readonly pollIntervalMs?: number;
  readonly drillId?: string;
  /** Skip the backup freshness check (the caller made sure a backup exists). */
  readonly skipBackup?: boolean;
  /**
   * Turn SIGINT/SIGTERM into an orderly stop: clean up, report "interrupted", return status
   * `interrupted` (the CLI exits 130/143). Default true.
   */
  readonly handleSignals?: boolean;
}

export interface LocalDrillResult {
  readonly drillId: string;
  /**
   * `passed`, `failed` (escalations, or a failure anywhere from preparing the source on: there is
   * a report), `refused` (bad input: nothing was created), or `interrupted` (SIGINT/SIGTERM: it
   * cleaned up and reported that).
   */
  readonly status: 'passed' | 'failed' | 'refused' | 'interrupted';
  readonly report: DrillReport | null;
  readonly reportFiles: { json: string; markdown: string } | null;
  /** The refusal or the execution's error, when there is no report to say it. */
  readonly error: string | null;
  readonly events: LocalRunEvent[];
  /** The injected fault: what it broke (null: it never acted) or why it could not be applied. */
  readonly fault: { name: FaultName; broke: string | null; missed: string | null } | null;
  /** Set when a signal stopped the drill: which, during what, and what it removed. */
  readonly interrupted: { signal: NodeJS.Signals; during: string; cleaned: string[] } | null;
}

/** The ECS migrate task's row: a child process locally. */
const RUN_MIGRATIONS = drillStep('runMigrations');

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms).unref());

export async function runLocalDrill(options: LocalDrillOptions): Promise<LocalDrillResult> {
  const { config, baseDir } = options.loaded;
  const progress = options.progress ?? (() => undefined);
  const paths = statePaths(config, baseDir);
  // A drill from the isolated copy restores from it alone (the drill validates `from` itself).
  const repository = options.input.from === 'isolated' ? 'isolated' : 'primary';
  const engine = localEngine(config, baseDir, progress, repository);
  const realRecovery = engine.recovery;
  const drillId = options.drillId ?? newDrillId(new Date());
  const fault = options.inject ?? null;
  const result = (
    fields: Partial<LocalDrillResult> & Pick<LocalDrillResult, 'status'>,
  ): LocalDrillResult => ({
    drillId,
    report: null,
    reportFiles: null,
    error: null,
    events: [],
    fault: null,
    interrupted: null,
    ...fields,
  });
  const refused = (error: string) => result({ status: 'refused', error });

  // A fault the configuration rules out is refused before the source is even started.
  const configProblem = fault ? faultConfigProblem(fault, config) : null;
  if (fault && configProblem) return refused(new FaultRefusedError(fault, configProblem).message);

  // Held for the drill's whole life: `local cleanup` leaves a live drill's instance, app and secret alone.
  const drillLock = await acquireLock(drillLockFile(paths, drillId), `drill ${drillId}`, { waitMs: 0 });
  let signalled: NodeJS.Signals | null = null;
  let onInterrupt: (signal: NodeJS.Signals) => void = () => undefined;
  const interrupted = new Promise<NodeJS.Signals>((resolve) => {
    onInterrupt = resolve;
  });
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      progress(`${signal}: still cleaning up after ${signalled}, please wait`);
      return;
    }
    signalled = signal;
    onInterrupt(signal);
  };
  if (options.handleSignals !== false) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }

  const wiring = localDrillDeps(engine, config, baseDir, options);
  const { app } = wiring;
  const baseDeps = wiring.deps;
  let deps: DrillDeps = baseDeps;
  let plan: FaultPlan | null = null;
  const faultOutcome = () =>
    fault && plan ? { name: fault, broke: plan.acted(), missed: plan.missed() } : null;
  const reportFiles = wiring.reportFiles;
  const theReport = wiring.report;

  /** Writes the report of a drill that ends outside the state machine, then publishes it. */
  const reportOutside = async (state: DrillState): Promise<string | null> => {
    const quiet = { ...deps, beforeStep: undefined };
    try {
      const produced = await runStep('report', state, quiet, drillId);
      await runStep('notify', { ...state, report: produced as DrillState['report'] }, quiet, drillId);
      return null;
    } catch (error) {
      return `${(error as Error).name}: ${(error as Error).message}`;
    }
  };

  // What the interrupt handling needs to know: the state the running step got, the last result.
  let lastState: DrillState = options.input as DrillState;
  let runningTask: { state: string; step: string } | null = null;
  let currentState: string | null = null;
  let preparing = false;
  /** The step (or the preparation) running now: a restore or a backup undoes itself on a signal. */
  let inFlight: Promise<unknown> | null = null;
  const controller = new AbortController();

  const drill = async (): Promise<LocalDrillResult> => {
    if (!options.skipBackup) {
      preparing = true;
      try {
        inFlight = prepareSource(engine, config, progress, { backup: repository === 'primary' });
        await inFlight;
      } catch (error) {
        if (signalled) throw error;
        // No state machine ran: the report and the message say what failed while preparing.
        const err = error as Error;
        progress(`✗ preparing the source: ${redactCredentials(err.message)}`);
        const problem = await reportOutside({
          ...lastState,
          failures: { [PREPARE_STEP]: failureRecord(err) },
        });
        return result({
          status: 'failed',
          report: theReport(),
          reportFiles: reportFiles(),
          error: `${err.name}: ${redactCredentials(err.message)}${problem ? `; and the report failed: ${problem}` : ''}`,
        });
      } finally {
        preparing = false;
      }
    }
    // The deps are built after the fault plan (which may wrap the recovery port) and read lazily by it.
    try {
      plan = await planFault(
        fault,
        realRecovery,
        { config, sourceUrl: fault ? await engine.sourceUrl() : null, progress },
        () => deps,
      );
    } catch (error) {
      if (error instanceof FaultRefusedError) return refused(error.message);
      throw error;
    }
    const active = plan;
    deps = { ...baseDeps, recovery: active.recovery, beforeStep: active.beforeStep };
    const bound = deps;

    // What the fault broke is named in the detail of the step it acted in and of the first step
    // that failed after it: the report says what was injected, the drill's own words say what it found.
    const noted = new Set<string>();
    const note = () => `[injected fault ${fault}: ${active.acted()}]`;
    const handlers: Record<string, (input: never) => Promise<unknown>> = {};
    for (const spec of DRILL_STEP_REGISTRY) {
      if (spec.runner === 'ecs-task') continue;
      handlers[spec.state] = async (input: { step: string; state: DrillState; execution: string }) => {
        if (signalled) throw new DrillInterruptedError(`interrupted by ${signalled}`);
        lastState = input.state;
        runningTask = { state: spec.state, step: input.step };
        const before = active.acted();
        try {
          const work = runStep(input.step, input.state, bound, input.execution);
          inFlight = work;
          const value = await work;
          if (!signalled) lastState = withStepResult(input.state, spec.key, value);
          if (active.acted() !== null && before === null && hasDetail(value)) {
            noted.add('acted');
            return { ...value, detail: `${value.detail} ${note()}` };
          }
          return value;
        } catch (error) {
          if (active.acted() !== null && !noted.has('failure') && error instanceof Error) {
            noted.add('failure');
            error.message = `${error.message} ${note()}`;
          }
          // As a Lambda function would: the evidence travels in the message (the Cause).
          throw toStepFailure(error);
        } finally {
          if (!signalled) runningTask = null;
        }
      };
    }
    // The ECS migrate task: the same command, run as a child process against the drill database.
    handlers[RUN_MIGRATIONS.state] = async (input: { state?: DrillState }) => {
      if (signalled) throw new DrillInterruptedError(`interrupted by ${signalled}`);
      if (input?.state) lastState = input.state;
      runningTask = { state: RUN_MIGRATIONS.state, step: RUN_MIGRATIONS.key };
      try {
        const run = await app.migrate(drillId, FileSecretStore.refFor(drillId));
        const value = {
          Containers: [{ ExitCode: run.exitCode }],
          StoppedReason: run.stoppedReason,
          TaskArn: run.taskArn,
        };
        if (!signalled)
          lastState = withStepResult(lastState, RUN_MIGRATIONS.key, {
            exitCode: run.exitCode,
            stoppedReason: run.stoppedReason,
            taskArn: run.taskArn,
          });
        return value;
      } finally {
        if (!signalled) runningTask = null;
      }
    };

    const execution = await runDefinitionLocally(options.definition, options.input as never, {
      handlers: handlers as never,
      executionName: drillId,
      signal: controller.signal,
      waitTimeOverrides: { [WAIT_FOR_RESTORE_STATE]: options.pollIntervalMs ?? 1000 },
      onEvent: progressLines(
        progress,
        (state) => state in handlers,
        (state) => {
          currentState = state;
        },
      ),
    });

    const report = theReport();
    if (execution.status === 'FAILED' && execution.error === DrillInputError.errorName) {
      return { ...refused(execution.cause), events: execution.events };
    }
    const passed = execution.status === 'SUCCEEDED' && report?.passed === true;
    return result({
      status: passed ? 'passed' : 'failed',
      report,
      reportFiles: reportFiles(),
      error: execution.status === 'FAILED' && !report ? `${execution.error}: ${execution.cause}` : null,
      events: execution.events,
      fault: faultOutcome(),
    });
  };

  /**
   * After SIGINT/SIGTERM: no further state runs; the app and the migrate command are stopped, the
   * running step (a restore or a backup undoes itself) gets a moment to end, the restored
   * instance and the drill secret are removed (also with --keep), and the report says so.
   */
  const finishInterrupted = async (signal: NodeJS.Signals): Promise<LocalDrillResult> => {
    const task = runningTask as { state: string; step: string } | null;
    const during =
      task?.state ?? currentState ?? (preparing ? 'preparing the source (start, backup)' : 'the drill');
    progress(`${signal}: interrupting drill ${drillId} during ${during}; cleaning up`);
    controller.abort();
    const cleaned: string[] = [];
    const problems: string[] = [];
    try {
      cleaned.push(...(await app.stopAll(drillId)));
    } catch (error) {
      problems.push(`app: ${(error as Error).message}`);
    }
    // A restore or a backup removes what it half made on the signal: let it. Any other step (a
    // smoke check polling a stopped app) has nothing to undo and is not waited for.
    const undoes = preparing || task?.step === 'restore';
    const step = inFlight as Promise<unknown> | null;
    if (step) await Promise.race([step.catch(() => undefined), sleep(undoes ? 30_000 : 1_000)]);
    let state = interruptedState(lastState, { signal, during, step: task?.step ?? null, preparing });
    const cleanupDeps: DrillDeps = {
      ...deps,
      beforeStep: undefined,
      settings: { ...deps.settings, keepInstance: false },
    };
    try {
      const done = (await runStep('cleanup', state, cleanupDeps, drillId)) as NonNullable<
        DrillState['cleanup']
      >;
      cleaned.push(...done.removed.filter((what) => !cleaned.includes(what)));
      state = { ...state, cleanup: done };
    } catch (error) {
      problems.push((error as Error).message);
      state = {
        ...state,
        failures: {
          ...state.failures,
          cleanup: failureRecord(error),
        },
      };
    }
    state = {
      ...state,
      interrupted: { signal, during, at: new Date().toISOString(), cleaned },
    };
    const reportProblem = await reportOutside(state);
    return result({
      status: 'interrupted',
      report: theReport(),
      reportFiles: reportFiles(),
      error:
        [...problems, ...(reportProblem ? [`the report failed: ${reportProblem}`] : [])].join('; ') || null,
      fault: faultOutcome(),
      interrupted: { signal, during, cleaned },
    });
  };

  try {
    const running = drill();
    running.catch(() => undefined);
    const outcome = await Promise.race([
      running.then(
        (value) => ({ value }),
        (error: unknown) => ({ error }),
      ),
      interrupted.then((signal) => ({ signal })),
    ]);
    if ('signal' in outcome) return await finishInterrupted(outcome.signal);
    if ('error' in outcome) {
      if (signalled) return await finishInterrupted(signalled);
      throw outcome.error;
    }
    return outcome.value;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await drillLock.release();
  }
}

function hasDetail(value: unknown): value is { detail: string } {
  return typeof (value as { detail?: unknown } | null)?.detail === 'string';
}
