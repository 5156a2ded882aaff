/**
 * A full restore drill on this machine: the state machine the stack synthesizes, run by
 * `aws-local-stepfunctions`, every Task bound to the same step code the Lambda functions run,
 * over the local adapters (embedded PostgreSQL, child processes, folders).
 */
import { join } from 'node:path';
import type { Config } from '../../core/config.ts';
import type { DrillReport } from '../../core/report.ts';
import { appRoot, LocalRecovery } from '../../local/local-recovery.ts';
import { pruneAfterBackup } from '../../local/retention.ts';
import { statePaths } from '../../local/state.ts';
import type { LoadedConfig } from '../../shared/config-file.ts';
import { type LocalRunEvent, runDefinitionLocally } from '../local-state-machine.ts';
import type { DrillDeps } from '../ports.ts';
import { RUN_MIGRATIONS_STATE, TASK_STATES, WAIT_FOR_RESTORE_STATE } from '../states.ts';
import { type DrillState, newDrillId, runStep } from '../steps.ts';
import { LocalAppRunner } from './app-runner.ts';
import { CheckoutArtifactSource } from './artifacts.ts';
import {
  type FaultName,
  type FaultPlan,
  FaultRefusedError,
  faultConfigProblem,
  planFault,
} from './faults.ts';
import { FolderReportStore, RecordingNotifier } from './reports.ts';
import { FileSecretStore } from './secrets.ts';

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
}

export interface LocalDrillResult {
  readonly drillId: string;
  /** `passed`, `failed` (escalations), or `refused` (bad input: nothing was created). */
  readonly status: 'passed' | 'failed' | 'refused';
  readonly report: DrillReport | null;
  readonly reportFiles: { json: string; markdown: string } | null;
  /** The refusal or the execution's error, when there is no report to say it. */
  readonly error: string | null;
  readonly events: LocalRunEvent[];
  /** The injected fault: what it broke (null: it never acted) or why it could not be applied. */
  readonly fault: { name: FaultName; broke: string | null; missed: string | null } | null;
}

/** Milliseconds from a state entered to the same state left, formatted. */
function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** The local engine of one configuration. */
export function localEngine(config: Config, baseDir: string) {
  return new LocalRecovery({ config, baseDir });
}

/** Makes sure the source runs and has a recent full backup (what the scheduled jobs do in AWS). */
export async function prepareSource(
  recovery: LocalRecovery,
  config: Config,
  progress: (line: string) => void,
): Promise<void> {
  const started = await recovery.startSource();
  progress(
    `source: ${started.created ? 'created, provisioned and started' : started.alreadyRunning ? 'running' : 'started'}`,
  );
  const snapshots = (await recovery.listSnapshots()).filter((s) => s.status === 'available');
  const newest = snapshots.map((s) => Date.parse(s.createdAt)).sort((a, b) => b - a)[0];
  const maxAgeMs = config.local.backupMaxAgeHours * 3_600_000;
  if (newest === undefined || Date.now() - newest > maxAgeMs) {
    const id = `local-${new Date().toISOString().replace(/[-:.]/g, '').toLowerCase()}`;
    progress(`backup: none newer than ${config.local.backupMaxAgeHours} h, taking ${id}`);
    await recovery.createSnapshot(id, { 'recovery-drill:managed': 'true' });
    progress(await pruneAfterBackup(recovery.paths, config));
  }
}

export async function runLocalDrill(options: LocalDrillOptions): Promise<LocalDrillResult> {
  const { config, baseDir } = options.loaded;
  const progress = options.progress ?? (() => undefined);
  const paths = statePaths(config, baseDir);
  const realRecovery = localEngine(config, baseDir);
  const drillId = options.drillId ?? newDrillId(new Date());
  const fault = options.inject ?? null;
  const refused = (error: string): LocalDrillResult => ({
    drillId,
    status: 'refused',
    report: null,
    reportFiles: null,
    error,
    events: [],
    fault: null,
  });

  // A fault the configuration rules out is refused before the source is even started.
  const configProblem = fault ? faultConfigProblem(fault, config) : null;
  if (fault && configProblem) return refused(new FaultRefusedError(fault, configProblem).message);
  if (!options.skipBackup) await prepareSource(realRecovery, config, progress);

  // The deps are built after the fault plan (which may wrap the recovery port) and read lazily by it.
  let deps: DrillDeps | undefined;
  let plan: FaultPlan;
  try {
    plan = await planFault(
      fault,
      realRecovery,
      { config, sourceUrl: fault ? await realRecovery.sourceUrl() : null, progress },
      () => {
        if (!deps) throw new Error('fault used before the drill started');
        return deps;
      },
    );
  } catch (error) {
    if (error instanceof FaultRefusedError) return refused(error.message);
    throw error;
  }
  const secrets = new FileSecretStore(paths.root, realRecovery);
  const app = new LocalAppRunner({
    paths,
    appRoot: appRoot(config, baseDir),
    migrateCommand: config.app.migrateCommand,
    startCommand: config.app.startCommand,
    secrets,
    env: config.app.env,
    port: config.app.port,
    listenTimeoutSeconds: config.smoke.readyBudgetSeconds,
  });
  let written: { report: DrillReport; files: { json: string; markdown: string } } | null = null;
  const store = new FolderReportStore(join(paths.root, 'reports'));
  deps = {
    settings: {
      config,
      mode: 'local',
      restoreTimeoutSeconds: options.restoreTimeoutSeconds ?? config.drill.restoreTimeoutMinutes * 60,
      keepInstance: options.keep ?? false,
    },
    recovery: plan.recovery,
    secrets,
    app,
    artifacts: new CheckoutArtifactSource(appRoot(config, baseDir), config.app.migrationsDir),
    reports: {
      async write(report, markdown) {
        const files = await store.write(report, markdown);
        written = { report, files };
        return files;
      },
    },
    notifier: new RecordingNotifier(
      join(paths.root, 'notifications.jsonl'),
      options.notify ?? (() => undefined),
    ),
    adminPassword: async () => {
      const password = await realRecovery.adminPassword();
      if (!password) throw new Error('the local source has no admin password on record');
      return password;
    },
    now: () => new Date(),
    beforeStep: plan.beforeStep,
  };
  const bound = deps;

  // What the fault broke is named in the detail of the step it acted in and of the first step
  // that failed after it: the report says what was injected, the drill's own words say what it found.
  const noted = new Set<string>();
  const note = () => `[injected fault ${fault}: ${plan.acted()}]`;
  const handlers: Record<string, (input: never) => Promise<unknown>> = {};
  for (const spec of TASK_STATES) {
    handlers[spec.state] = async (input: { step: string; state: DrillState; execution: string }) => {
      const before = plan.acted();
      try {
        const result = await runStep(input.step, input.state, bound, input.execution);
        if (plan.acted() !== null && before === null && hasDetail(result)) {
          noted.add('acted');
          return { ...result, detail: `${result.detail} ${note()}` };
        }
        return result;
      } catch (error) {
        if (plan.acted() !== null && !noted.has('failure') && error instanceof Error) {
          noted.add('failure');
          error.message = `${error.message} ${note()}`;
        }
        throw error;
      }
    };
  }
  // The ECS migrate task: the same command, run as a child process against the drill database.
  handlers[RUN_MIGRATIONS_STATE] = async () => {
    const result = await app.migrate(drillId, FileSecretStore.refFor(drillId));
    return {
      Containers: [{ ExitCode: result.exitCode }],
      StoppedReason: result.stoppedReason,
      TaskArn: result.taskArn,
    };
  };

  const entered = new Map<string, number>();
  // A caught failure is reported by the engine as failed, then exited (to its Catch): one line, ✗.
  const failed = new Set<string>();
  const result = await runDefinitionLocally(options.definition, options.input as never, {
    handlers: handlers as never,
    executionName: drillId,
    waitTimeOverrides: { [WAIT_FOR_RESTORE_STATE]: options.pollIntervalMs ?? 1000 },
    onEvent: (event) => {
      if (!event.state) return;
      if (event.type === 'StateEntered') {
        entered.set(event.state, event.timestamp);
        failed.delete(event.state);
      } else if (event.type === 'StateExited' || event.type === 'StateFailed') {
        const since = entered.get(event.state);
        const took = since === undefined ? '' : ` (${seconds(event.timestamp - since)})`;
        const isTask = event.state in handlers;
        if (event.type === 'StateFailed') {
          failed.add(event.state);
          progress(`✗ ${event.state}${took}: ${event.error}`);
        } else if (isTask && !failed.has(event.state)) progress(`✓ ${event.state}${took}`);
      }
    },
  });

  const report =
    (written as { report: DrillReport; files: { json: string; markdown: string } } | null)?.report ?? null;
  const files = (written as { files: { json: string; markdown: string } } | null)?.files ?? null;
  if (result.status === 'FAILED' && result.error === 'DrillInputError') {
    return { ...refused(result.cause), events: result.events };
  }
  const passed = result.status === 'SUCCEEDED' && report?.passed === true;
  return {
    drillId,
    status: passed ? 'passed' : 'failed',
    report,
    reportFiles: files,
    error: result.status === 'FAILED' && !report ? `${result.error}: ${result.cause}` : null,
    events: result.events,
    fault: fault ? { name: fault, broke: plan.acted(), missed: plan.missed() } : null,
  };
}

function hasDetail(value: unknown): value is { detail: string } {
  return typeof (value as { detail?: unknown } | null)?.detail === 'string';
}
