/**
 * The local engine as the CLI, the bench and the local drill driver use it: the source, its
 * backups (the snapshot operations no drill step calls), the status, retention and cleanup, beside
 * the drill's own database-recovery adapter ({@link LocalEngine.recovery}), which offers the steps
 * only what the port asks for.
 */
import type { Config } from '../core/config.ts';
import type { SnapshotInfo } from '../drill/ports/database-recovery.ts';
import {
  type CleanupOptions,
  type CleanupResult,
  LocalRecovery,
  type LocalRecoveryOptions,
  type LocalStatus,
} from './local-recovery.ts';
import { pruneAfterBackup, pruneLocal } from './retention.ts';
import { type LocalPruneResult, localRetentionPolicy, type PruneOptions } from './retention-plan.ts';
import { type LocalRetentionStatus, localRetentionStatus } from './retention-status.ts';
import { SourceCommandError } from './source.ts';
import type { StatePaths } from './state.ts';

/** The local engine of one configuration: one state folder, one source, its backups and restores. */
export class LocalEngine {
  /** The drill's database-recovery adapter over this engine's state folder. */
  readonly recovery: LocalRecovery;
  readonly paths: StatePaths;
  private readonly config: Config;

  constructor(options: LocalRecoveryOptions) {
    this.recovery = new LocalRecovery(options);
    this.paths = this.recovery.paths;
    this.config = options.config;
  }

  /** Starts the source, creating and provisioning it first if there is none. */
  startSource(): ReturnType<LocalRecovery['startSource']> {
    return this.recovery.startSource();
  }

  /** Stops the source and its companions; false when it was not running. */
  stopSource(): Promise<boolean> {
    return this.recovery.stopSource();
  }

  /** The source's connection URL (application database by default). Holds the password: never log it. */
  sourceUrl(database?: string): Promise<string | null> {
    return this.recovery.sourceUrl(database);
  }

  /** Connection URL of a restored instance. Holds the password: never log it. */
  instanceUrl(instanceId: string, database?: string): Promise<string | null> {
    return this.recovery.instanceUrl(instanceId, database);
  }

  status(): Promise<LocalStatus> {
    return this.recovery.status();
  }

  /** Earliest and latest time a restore can reach now. */
  restorableWindow(): Promise<{ earliest: Date | null; latest: Date | null }> {
    return this.recovery.restorableWindow();
  }

  /** A full backup of the running source now (`local backup`; a drill's preparation). */
  createSnapshot(id: string, tags: Record<string, string>): Promise<SnapshotInfo> {
    return this.recovery.createSnapshot(id, tags);
  }

  listSnapshots(): Promise<SnapshotInfo[]> {
    return this.recovery.listSnapshots();
  }

  deleteSnapshot(id: string): Promise<void> {
    return this.recovery.deleteSnapshot(id);
  }

  /** After a backup: applies `local.retention`; returns the line that says what it removed. */
  pruneAfterBackup(): Promise<string> {
    return pruneAfterBackup(this.paths, this.config);
  }

  /** Applies `local.retention` to the backups and the archived WAL (`local prune`). */
  prune(options: PruneOptions = {}): Promise<LocalPruneResult> {
    return pruneLocal(this.paths, localRetentionPolicy(this.config), options);
  }

  /** The archive's size and growth, and what pruning would remove now (`local status`). */
  retentionStatus(): Promise<LocalRetentionStatus> {
    return localRetentionStatus(this.paths, this.config);
  }

  /** Removes restored instances, stray processes, leftover secrets and interrupted backups. */
  cleanup(options: CleanupOptions = {}): Promise<CleanupResult> {
    return this.recovery.cleanup(options);
  }
}

/** The local engine of one configuration (`notice`: waiting for a lock, a stale file removed). */
export function localEngine(config: Config, baseDir: string, notice?: (line: string) => void): LocalEngine {
  return new LocalEngine({ config, baseDir, ...(notice ? { notice } : {}) });
}

/** A failure while preparing the source: what was being done, in the error's own words. */
class PrepareError extends Error {
  constructor(what: string, cause: unknown) {
    super(`${what}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = cause instanceof Error ? cause.name : 'PrepareError';
  }
}

/** Makes sure the source runs and has a recent full backup (what the scheduled jobs do in AWS). */
export async function prepareSource(
  engine: LocalEngine,
  config: Config,
  progress: (line: string) => void,
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
  const snapshots = (await engine.listSnapshots()).filter((s) => s.status === 'available');
  const newest = snapshots.map((s) => Date.parse(s.createdAt)).sort((a, b) => b - a)[0];
  const maxAgeMs = config.local.backupMaxAgeHours * 3_600_000;
  if (newest === undefined || Date.now() - newest > maxAgeMs) {
    const id = `local-${new Date().toISOString().replace(/[-:.]/g, '').toLowerCase()}`;
    progress(`backup: none newer than ${config.local.backupMaxAgeHours} h, taking ${id}`);
    try {
      await engine.createSnapshot(id, { 'recovery-drill:managed': 'true' });
    } catch (error) {
      throw new PrepareError(`taking backup ${id} of the running source`, error);
    }
    progress(await pruneAfterBackup(engine.paths, config));
  }
}
