/**
 * The local adapters a drill on this machine runs over, wired for one drill: the engine's recovery
 * port, a secret file, child processes for the app and its migrate command, a reports folder and a
 * notifications file. Remembers the report written and published, for the drill's result.
 */
import { join } from 'node:path';
import type { Config } from '../../../core/config.ts';
import type { DrillReport } from '../../../core/report.ts';
import type { LocalEngine } from '../../../local/engine.ts';
import { appRoot } from '../../../local/source-spec.ts';
import { LocalAppRunner } from '../../adapters/local/app-runner.ts';
import { CheckoutArtifactSource } from '../../adapters/local/artifacts.ts';
import { FolderReportStore, RecordingNotifier } from '../../adapters/local/reports.ts';
import { FileSecretStore } from '../../adapters/local/secrets.ts';
import type { DrillDeps } from '../../ports/drill-deps.ts';

/** What one local drill runs over, and what it reported. */
export interface LocalDrillWiring {
  readonly deps: DrillDeps;
  /** The app runner: also the `Run migrations` state's, and stopped on an interrupt. */
  readonly app: LocalAppRunner;
  /** Where the report went, once written. */
  reportFiles(): { json: string; markdown: string } | null;
  /** The report as written, or as published when writing it failed; null before either. */
  report(): DrillReport | null;
}

export function localDrillDeps(
  engine: LocalEngine,
  config: Config,
  baseDir: string,
  options: {
    readonly notify?: (line: string) => void;
    readonly restoreTimeoutSeconds?: number;
    readonly keep?: boolean;
  },
): LocalDrillWiring {
  const recovery = engine.recovery;
  const paths = engine.paths;
  const secrets = new FileSecretStore(paths.root, recovery);
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
  let published: DrillReport | null = null;
  const store = new FolderReportStore(join(paths.root, 'reports'));
  const notifier = new RecordingNotifier(
    join(paths.root, 'notifications.jsonl'),
    options.notify ?? (() => undefined),
  );
  const deps: DrillDeps = {
    settings: {
      config,
      mode: 'local',
      restoreTimeoutSeconds: options.restoreTimeoutSeconds ?? config.drill.restoreTimeoutMinutes * 60,
      keepInstance: options.keep ?? false,
    },
    recovery,
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
    notifier: {
      publish(report, escalations) {
        published = report;
        return notifier.publish(report, escalations);
      },
    },
    adminPassword: async () => {
      const password = await recovery.adminPassword();
      if (!password) throw new Error('the local source has no admin password on record');
      return password;
    },
    now: () => new Date(),
  };
  return {
    deps,
    app,
    reportFiles: () => (written as { files: { json: string; markdown: string } } | null)?.files ?? null,
    report: () => (written as { report: DrillReport } | null)?.report ?? (published as DrillReport | null),
  };
}
