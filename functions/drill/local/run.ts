/**
 * A full restore drill on this machine: the state machine the stack synthesizes, run by
 * `aws-local-stepfunctions`, every Task bound to the same step code the Lambda functions run,
 * over the local adapters (embedded PostgreSQL, child processes, folders).
 */
import { join, resolve } from 'node:path';
import type { Config } from '../../core/config.ts';
import type { DrillReport } from '../../core/report.ts';
import { LocalRecovery } from '../../local/local-recovery.ts';
import { pruneAfterBackup } from '../../local/retention.ts';
import { statePaths } from '../../local/state.ts';
import type { LoadedConfig } from '../../shared/config-file.ts';
import { type LocalRunEvent, runDefinitionLocally } from '../local-state-machine.ts';
import type { DrillDeps } from '../ports.ts';
import { RUN_MIGRATIONS_STATE, TASK_STATES, WAIT_FOR_RESTORE_STATE } from '../states.ts';
import { type DrillState, newDrillId, runStep } from '../steps.ts';
import { LocalAppRunner } from './app-runner.ts';
import { CheckoutArtifactSource } from './artifacts.ts';
import { type FaultName, planFault } from './faults.ts';
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
  const drillDir = join(paths.root, 'drills', drillId);
  const appRoot = resolve(baseDir, config.app.repoPath);

  if (!options.skipBackup) await prepareSource(realRecovery, config, progress);

  // The deps are built after the fault plan (which may wrap the recovery port) and read lazily by it.
  let deps: DrillDeps | undefined;
  const plan = await planFault(
    options.inject ?? null,
    realRecovery,
    { drillDir, appRoot, migrationsDir: config.app.migrationsDir },
    () => {
      if (!deps) throw new Error('fault used before the drill started');
      return deps;
    },
  );
  const secrets = new FileSecretStore(paths.root, realRecovery);
  const migrationsEnv: Record<string, string> = plan.migrationsPath
    ? { MIGRATIONS_DIR: plan.migrationsPath }
    : {};
  const app = new LocalAppRunner({
    paths,
    appRoot,
    migrateCommand: config.app.migrateCommand,
    startCommand: config.app.startCommand,
    secrets,
    extraEnv: () => migrationsEnv,
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
    artifacts: plan.migrationsPath
      ? new CheckoutArtifactSource(plan.migrationsPath, '.')
      : new CheckoutArtifactSource(appRoot, config.app.migrationsDir),
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

  const handlers: Record<string, (input: never) => Promise<unknown>> = {};
  for (const spec of TASK_STATES) {
    handlers[spec.state] = async (input: { step: string; state: DrillState; execution: string }) =>
      runStep(input.step, input.state, bound, input.execution);
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
  const result = await runDefinitionLocally(options.definition, options.input as never, {
    handlers: handlers as never,
    executionName: drillId,
    waitTimeOverrides: { [WAIT_FOR_RESTORE_STATE]: options.pollIntervalMs ?? 1000 },
    onEvent: (event) => {
      if (!event.state) return;
      if (event.type === 'StateEntered') {
        entered.set(event.state, event.timestamp);
      } else if (event.type === 'StateExited' || event.type === 'StateFailed') {
        const since = entered.get(event.state);
        const took = since === undefined ? '' : ` (${seconds(event.timestamp - since)})`;
        const isTask = event.state in handlers;
        if (event.type === 'StateFailed') progress(`✗ ${event.state}${took}: ${event.error}`);
        else if (isTask) progress(`✓ ${event.state}${took}`);
      }
    },
  });

  const report =
    (written as { report: DrillReport; files: { json: string; markdown: string } } | null)?.report ?? null;
  const files = (written as { files: { json: string; markdown: string } } | null)?.files ?? null;
  if (result.status === 'FAILED' && result.error === 'DrillInputError') {
    return {
      drillId,
      status: 'refused',
      report: null,
      reportFiles: null,
      error: result.cause,
      events: result.events,
    };
  }
  const passed = result.status === 'SUCCEEDED' && report?.passed === true;
  return {
    drillId,
    status: passed ? 'passed' : 'failed',
    report,
    reportFiles: files,
    error: result.status === 'FAILED' && !report ? `${result.error}: ${result.cause}` : null,
    events: result.events,
  };
}
