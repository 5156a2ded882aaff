/**
 * The local engine as the CLI, the bench and the local drill driver use it: the source, its
 * backups (the snapshot operations no drill step calls), the status, retention and cleanup, beside
 * the drill's own database-recovery adapter ({@link LocalEngine.recovery}), which offers the steps
 * only what the port asks for.
 */
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import type { Config } from '../core/config.ts';
import { MANAGED_TAG, MANAGED_TAG_VALUE } from '../core/contracts.ts';
import { InputError } from '../core/errors.ts';
import { type InstanceDescription, NotFoundError } from '../drill/ports/database-recovery.ts';
import { type ArchiveSummary, summarizeArchive } from './archive.ts';
import {
  type BackupRecord,
  deleteBackup,
  listBackups,
  listBackupsChecked,
  readBackup,
  takeBackup,
} from './backup.ts';
import { type CleanupOptions, type CleanupResult, cleanupLocal } from './cleanup.ts';
import { checkIdentifier, checkTags } from './instance-store.ts';
import {
  copyBackupToIsolated,
  deleteIsolatedBackup,
  IsolatedCopyError,
  type RepositoriesStatus,
  repositoriesStatus,
} from './isolated-copy.ts';
import { LocalRecovery } from './local-recovery.ts';
import { sourceLockFile, withLock } from './lock.ts';
import { type RepositoryName, repositoryView } from './repositories.ts';
import { pruneAfterBackup, pruneLocal } from './retention.ts';
import type { LocalPruneResult, PruneOptions } from './retention-plan.ts';
import { localRetentionPolicy } from './retention-plan.ts';
import { type LocalRetentionStatus, localRetentionStatus } from './retention-status.ts';
import {
  DEFAULT_DATABASE,
  type Provisioner,
  readCredentials,
  readSourceRecord,
  runningSource,
  type SourceRecord,
  startSource,
  stopSource,
} from './source.ts';
import { SourceCommandError } from './source-provision.ts';
import { appSourceSpec, databaseOf } from './source-spec.ts';
import { isRegisteredAlive, readRegistry, type StatePaths, withInterruptUndo } from './state.ts';
import { DamagedStateError } from './state-json.ts';

/** A full backup as the local engine lists it: the shape of a manual snapshot. */
export interface SnapshotInfo {
  id: string;
  /** ISO-8601 UTC: when the backup started. */
  createdAt: string;
  status: 'creating' | 'available' | 'failed';
  sizeBytes: number | null;
  tags: Record<string, string>;
}

export interface LocalEngineOptions {
  readonly config: Config;
  /** Folder of the configuration file: `local.stateDir` is resolved against it. */
  readonly baseDir: string;
  /** How a fresh source is provisioned. Default: the example app's `provisionSource`. */
  readonly provision?: Provisioner;
  /** Run the example app's trickle writer beside the source. Default true. */
  readonly trickle?: boolean;
  /** The application database of the source. Default `btcts`. */
  readonly database?: string;
  /** Lines for the person at the terminal: waiting for a lock, a stale file removed. Default: none. */
  readonly notice?: (line: string) => void;
  /**
   * The repository the drill's recovery adapter restores from: `isolated` (a drill `--from
   * isolated`) reads only the isolated copy. Default `primary`. The source, backups and retention
   * always work on both.
   */
  readonly repository?: RepositoryName;
}

export interface LocalStatus {
  readonly stateDir: string;
  readonly source: (SourceRecord & { running: boolean; trickleRunning: boolean }) | null;
  readonly archiver: {
    failedCount: number;
    lastFailedWal: string | null;
    lastFailedAt: string | null;
  } | null;
  readonly backups: BackupRecord[];
  readonly archive: ArchiveSummary;
  readonly window: { earliest: Date | null; latest: Date | null };
  readonly instances: InstanceDescription[];
  /** Both repositories (the state folder's and the isolated copy), and any gap between them. */
  readonly repositories: RepositoriesStatus;
  /** Damaged state files, one sentence each (the file, what is wrong, what to do). */
  readonly problems: string[];
}

/** The local engine of one configuration: one state folder, one source, its backups and restores. */
export class LocalEngine {
  /** The drill's database-recovery adapter over this engine's state folder. */
  readonly recovery: LocalRecovery;
  readonly paths: StatePaths;
  private readonly options: LocalEngineOptions;

  constructor(options: LocalEngineOptions) {
    this.options = options;
    this.recovery = new LocalRecovery(options);
    // The engine's own work (source, backups, status, retention) starts from the state folder.
    this.paths = repositoryView(this.recovery.paths, 'primary');
  }

  /**
   * Starts the source (creating and provisioning it first if there is none): the example's
   * provisioner, or with `local.source` of kind `app` the app's own migrate and seed commands.
   */
  startSource() {
    const app = appSourceSpec(this.options.config, this.options.baseDir);
    return startSource(this.paths, {
      archiveTimeoutSeconds: this.options.config.local.archiveTimeoutSeconds,
      ...(this.options.provision ? { provision: this.options.provision } : {}),
      ...(app ? { app } : {}),
      ...(this.options.notice ? { notice: this.options.notice } : {}),
      trickle: this.options.trickle ?? true,
      heartbeat: {
        schema: this.options.config.heartbeat.schema,
        retentionDays: this.options.config.heartbeat.retentionDays,
      },
      database:
        this.options.database ?? (app ? databaseOf(app.repoPath, this.options.config) : DEFAULT_DATABASE),
    });
  }

  stopSource(): Promise<boolean> {
    return stopSource(this.paths, this.options.notice ? { notice: this.options.notice } : {});
  }

  /** The source's connection URL (application database by default). Holds the password: never log it. */
  async sourceUrl(database?: string): Promise<string | null> {
    const cluster = await runningSource(this.paths);
    const credentials = await readCredentials(this.paths);
    if (!cluster || !credentials) return null;
    return cluster.url(database ?? credentials.database);
  }

  /** Password of the example app's admin user on the source (and so on every restored copy). */
  adminPassword(): Promise<string | null> {
    return this.recovery.adminPassword();
  }

  /** Connection URL of a restored instance. Holds the password: never log it. */
  instanceUrl(instanceId: string, database?: string): Promise<string | null> {
    return this.recovery.instanceUrl(instanceId, database);
  }

  /** Earliest and latest time a restore can reach now. */
  restorableWindow(): Promise<{ earliest: Date | null; latest: Date | null }> {
    return this.recovery.restorableWindow();
  }

  async status(): Promise<LocalStatus> {
    const record = await readSourceRecord(this.paths);
    const running = await runningSource(this.paths);
    const registry = await readRegistry(this.paths);
    const processes = registry.entries;
    const listing = await listBackupsChecked(this.paths);
    const problems = [
      ...listing.damaged.map((d) => d.message),
      ...registry.damaged.map(
        (d) =>
          `${d.file} is damaged (${d.problem}): it names no process that could be stopped; \`recovery-drill local cleanup\` removes it`,
      ),
    ];
    let archiver: LocalStatus['archiver'] = null;
    if (running) {
      const client = new pg.Client({ connectionString: running.url('postgres') });
      client.on('error', () => undefined);
      try {
        await client.connect();
        const row = (
          await client.query<{
            failed_count: string;
            last_failed_wal: string | null;
            last_failed_time: Date | null;
          }>('select failed_count, last_failed_wal, last_failed_time from pg_stat_archiver')
        ).rows[0];
        if (row)
          archiver = {
            failedCount: Number(row.failed_count),
            lastFailedWal: row.last_failed_wal,
            lastFailedAt: row.last_failed_time?.toISOString() ?? null,
          };
      } catch {
        archiver = null;
      } finally {
        await client.end().catch(() => undefined);
      }
    }
    const instances: InstanceDescription[] = [];
    for (const id of await this.recovery.instances.ids()) {
      try {
        const description = await this.recovery.describeInstance(id);
        if (description) instances.push(description);
      } catch (error) {
        if (!(error instanceof DamagedStateError)) throw error;
        problems.push(error.message);
      }
    }
    return {
      stateDir: this.paths.root,
      source: record
        ? {
            ...record,
            running: running !== null,
            trickleRunning: processes.some((e) => e.kind === 'trickle' && isRegisteredAlive(e)),
          }
        : null,
      archiver,
      backups: listing.backups,
      archive: await summarizeArchive(this.paths),
      window: await this.recovery.restorableWindow(),
      instances,
      repositories: await repositoriesStatus(this.paths),
      problems,
    };
  }

  /** A full backup of the running source now (`local backup`; a drill's preparation). */
  async createSnapshot(id: string, tags: Record<string, string>): Promise<SnapshotInfo> {
    checkIdentifier('snapshotId', id);
    const checkedTags = checkTags(tags);
    if (existsSync(join(this.paths.backups, id)))
      throw new InputError('snapshotId', id, 'an id not in use (a backup with this id exists)');
    const source = await runningSource(this.paths);
    const credentials = await readCredentials(this.paths);
    if (!source || !credentials)
      throw new InputError(
        'source',
        'not running',
        'a running source: run `recovery-drill local source start`',
      );
    await mkdir(this.paths.backups, { recursive: true });
    // Under the source lock: a `local source stop` (or another start) never cuts a backup short.
    const record = await withLock(
      sourceLockFile(this.paths),
      `backup ${id}`,
      async () => {
        if (!(await runningSource(this.paths)))
          throw new InputError('source', 'not running', 'a running source: it was stopped meanwhile');
        return withInterruptUndo(
          async (signal) => {
            const taken = await takeBackup(this.paths, {
              signal,
              id,
              tags: checkedTags,
              sourceUrl: source.url('postgres'),
              sourceData: this.paths.sourceData,
            });
            // Into the isolated copy too, checked there before it counts (isolated-copy.ts).
            try {
              await copyBackupToIsolated(this.paths, id);
            } catch (error) {
              throw new IsolatedCopyError(
                `backup ${id} was taken into ${this.paths.backups}, but not into the isolated copy: ${(error as Error).message}`,
                { cause: error },
              );
            }
            return taken;
          },
          async () => {
            await deleteBackup(this.paths, id);
            await deleteIsolatedBackup(this.paths, id);
          },
        );
      },
      {
        onWait: (owner) =>
          this.options.notice?.(
            `waiting for pid ${owner.pid} (${owner.what}, since ${owner.acquiredAt}) to finish with the source`,
          ),
      },
    );
    return toSnapshotInfo(record);
  }

  async listSnapshots(): Promise<SnapshotInfo[]> {
    return (await listBackups(this.paths)).map(toSnapshotInfo);
  }

  async deleteSnapshot(id: string): Promise<void> {
    checkIdentifier('snapshotId', id);
    if (!(await readBackup(this.paths, id))) throw new NotFoundError('snapshot', id);
    await deleteBackup(this.paths, id);
    await deleteIsolatedBackup(this.paths, id);
  }

  /** After a backup: applies `local.retention`; returns the line that says what it removed. */
  pruneAfterBackup(): Promise<string> {
    return pruneAfterBackup(this.paths, this.options.config);
  }

  /** Applies `local.retention` to the backups and the archived WAL (`local prune`). */
  prune(options: PruneOptions = {}): Promise<LocalPruneResult & { isolated?: LocalPruneResult }> {
    return pruneLocal(this.paths, localRetentionPolicy(this.options.config), options);
  }

  /** The archive's size and growth, and what pruning would remove now (`local status`). */
  retentionStatus(): Promise<LocalRetentionStatus> {
    return localRetentionStatus(this.paths, this.options.config);
  }

  /**
   * Stops and removes every restored instance and every stray registered process, leftover drill
   * secrets and interrupted backups; keeps the source and its backups (see `cleanup.ts`).
   */
  cleanup(options: CleanupOptions = {}): Promise<CleanupResult> {
    return cleanupLocal(this.paths, this.recovery.instances, options);
  }
}

/** The local engine of one configuration (`notice`: waiting for a lock, a stale file removed). */
export function localEngine(
  config: Config,
  baseDir: string,
  notice?: (line: string) => void,
  repository: RepositoryName = 'primary',
): LocalEngine {
  return new LocalEngine({ config, baseDir, repository, ...(notice ? { notice } : {}) });
}

/** A failure while preparing the source: what was being done, in the error's own words. */
class PrepareError extends Error {
  constructor(what: string, cause: unknown) {
    super(`${what}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = cause instanceof Error ? cause.name : 'PrepareError';
  }
}

/**
 * Makes sure the source runs and has a recent full backup (what the scheduled jobs do in AWS).
 * @param options.backup false for a drill from the isolated copy: it proves what the copy holds
 *   and takes no backup of its own (an empty copy fails the drill, saying what is missing).
 */
export async function prepareSource(
  engine: LocalEngine,
  config: Config,
  progress: (line: string) => void,
  options: { readonly backup?: boolean } = {},
): Promise<void> {
  let started: Awaited<ReturnType<LocalEngine['startSource']>>;
  try {
    started = await engine.startSource();
  } catch (error) {
    // A migrate or seed command of a new source says for itself what failed.
    if (error instanceof SourceCommandError) throw error;
    throw new PrepareError('starting the local source', error);
  }
  progress(
    `source: ${started.created ? 'created, provisioned and started' : started.alreadyRunning ? 'running' : 'started'}`,
  );
  if (options.backup === false) {
    progress(
      `backup: none taken, the drill restores from the isolated copy ${engine.paths.isolated?.dir} as it is`,
    );
    return;
  }
  const snapshots = (await engine.listSnapshots()).filter((s) => s.status === 'available');
  const newest = snapshots.map((s) => Date.parse(s.createdAt)).sort((a, b) => b - a)[0];
  const maxAgeMs = config.local.backupMaxAgeHours * 3_600_000;
  if (newest === undefined || Date.now() - newest > maxAgeMs) {
    const id = `local-${new Date().toISOString().replace(/[-:.]/g, '').toLowerCase()}`;
    progress(`backup: none newer than ${config.local.backupMaxAgeHours} h, taking ${id}`);
    try {
      await engine.createSnapshot(id, { [MANAGED_TAG]: MANAGED_TAG_VALUE });
    } catch (error) {
      throw new PrepareError(`taking backup ${id} of the running source`, error);
    }
    progress(await pruneAfterBackup(engine.paths, config));
  }
}

function toSnapshotInfo(record: BackupRecord): SnapshotInfo {
  return {
    id: record.id,
    createdAt: record.startedAt,
    status: record.status,
    sizeBytes: record.sizeBytes,
    tags: record.tags,
  };
}
