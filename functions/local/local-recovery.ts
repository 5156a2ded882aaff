/**
 * The local adapter of the database-recovery port: an embedded PostgreSQL *source* with WAL
 * archiving plays the RDS instance, full physical backups play snapshots, and a point-in-time
 * restore replays the archive into a fresh cluster on a free port. Same contract as RDS: bad input
 * is refused before anything is created, a restore that cannot reach its target fails loudly
 * instead of stopping at an earlier point, and a drill may delete only what it tagged as its own.
 */
import { existsSync, readFileSync } from 'node:fs';
import { copyFile, link, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import pg from 'pg';
import type { Config } from '../core/config.ts';
import { InputError } from '../core/errors.ts';
import { redactCredentials } from '../core/redact.ts';
import {
  type DatabaseRecoveryPort,
  DRILL_ID_TAG,
  type InstanceDescription,
  type InstanceStatus,
  NotADrillInstanceError,
  NotFoundError,
  type RestorePointSource,
  type RestoreRequest,
  RestoreTimeOutOfRangeError,
  type SnapshotInfo,
} from '../drill/ports/database-recovery.ts';
import {
  type ArchiveSummary,
  archivedSegments,
  type CoverageMark,
  newestCoveredMark,
  readCoverageMarks,
  restoreCommand,
  summarizeArchive,
  switchAndMarkCoverage,
} from './archive.ts';
import {
  type BackupRecord,
  copyVerifiedBackup,
  deleteBackup,
  listBackups,
  listBackupsChecked,
  readBackup,
  startSegmentOf,
  takeBackup,
} from './backup.ts';
import {
  describeServerFailure,
  giveToServer,
  isProcessAlive,
  logTail,
  makePassageDir,
  makeServerDir,
  readPostmasterPid,
  SUPERUSER,
  serverUser,
  startCluster,
  stopServer,
  writeSettings,
} from './cluster.ts';
import { liveDrills, sourceLockFile, withLock } from './lock.ts';
import {
  type AppSourceSpec,
  DEFAULT_DATABASE,
  type Provisioner,
  readCredentials,
  readSourceRecord,
  runningSource,
  type SourceRecord,
  startSource,
  stopSource,
} from './source.ts';
import {
  type DamagedEntry,
  DamagedStateError,
  isRegisteredAlive,
  listProcesses,
  type ProcessEntry,
  readJson,
  readRegistry,
  registerProcess,
  type StatePaths,
  statePaths,
  stopRegistered,
  unregisterProcess,
  withInterruptUndo,
  writeJson,
} from './state.ts';
import { checkWalSequence, type WalCheck } from './wal-check.ts';
import { formatLsn, parseLsn, segmentOfLsn } from './wal-reader.ts';

/**
 * The archive cannot give a restore what it asks for: a segment between the backup's start and the
 * target is missing or damaged, so replay would stop early and (for "latest") promote as if it
 * were the end. Nothing is created; the message names the segment and the last commit before it.
 */
export class ArchiveIncompleteError extends Error {
  constructor(
    message: string,
    /** The missing or damaged segment. */
    readonly segment: string | null,
  ) {
    super(message);
    this.name = 'ArchiveIncompleteError';
  }
}

/** How long a "latest" restore waits for the source's switched WAL segment to be archived. */
const COVERAGE_WAIT_MS = 30_000;
/** A drill id that is safe as a folder name (what `newDrillId` makes, and execution names allow). */
const IDENTIFIER_SAFE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$/;

/** RDS-like identifiers: a letter, then letters, digits and single hyphens; at most 63 characters. */
const IDENTIFIER = /^[a-zA-Z](?:[a-zA-Z0-9]|-(?!-))*$/;

function checkIdentifier(field: string, value: unknown): string {
  if (typeof value !== 'string' || value.length > 63 || !IDENTIFIER.test(value) || value.endsWith('-')) {
    throw new InputError(
      field,
      value,
      'an identifier of 1-63 letters, digits and single hyphens, starting with a letter and not ending with a hyphen',
    );
  }
  return value;
}

function checkTags(value: unknown): Record<string, string> {
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new InputError('tags', value, 'an object of string tags');
  for (const [key, tag] of Object.entries(value)) {
    if (typeof tag !== 'string') throw new InputError(`tags.${key}`, tag, 'a string');
  }
  return { ...(value as Record<string, string>) };
}

/** What is known about one restored instance (`instances/<id>/instance.json`; no secrets). */
export interface InstanceRecord {
  readonly id: string;
  readonly tags: Record<string, string>;
  readonly status: InstanceStatus;
  readonly targetTime: string | null;
  /** P, known when the restore was requested (see {@link RestorePointSource}). */
  readonly restorePointAt: string | null;
  readonly restorePointSource?: RestorePointSource | null;
  /** The WAL switch whose archived segment the coverage ended at, when it did. */
  readonly coverageMark?: CoverageMark | null;
  /** The last commit recovery replayed (informational: a quiet source's is long before P). */
  readonly lastReplayedCommitAt?: string | null;
  readonly failureReason: string | null;
  readonly backupId: string;
  readonly port: number | null;
  readonly pid: number | null;
  /** The process restoring it while `creating`: a dead owner means the restore was interrupted. */
  readonly ownerPid: number | null;
  readonly createdAt: string;
  readonly availableAt: string | null;
  /** Where a restore's time went, in ms: for the RTO breakdown and the benchmark. */
  readonly timings?: { check: number; verifiedCopy: number; recovery: number; confirm: number };
}

export interface LocalRecoveryOptions {
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
  /** Damaged state files, one sentence each (the file, what is wrong, what to do). */
  readonly problems: string[];
}

export interface CleanupOptions {
  /** Remove an instance (and stop the processes, remove the secret) of a drill that is still running. */
  readonly force?: boolean;
}

export interface CleanupResult {
  readonly instances: string[];
  /** Instances left alone: their drill (or restore) is still running. */
  readonly skipped: { readonly id: string; readonly why: string }[];
  readonly processes: ProcessEntry[];
  /** Registry entries that were not (or no longer) our processes: removed, not signalled. */
  readonly stale: { readonly entry: ProcessEntry; readonly why: string }[];
  /** Registry files that were not entries: removed, nothing signalled. */
  readonly damaged: DamagedEntry[];
  /** Drills whose leftover secret file (`drills/<id>/secret.json`) was removed. */
  readonly secrets: string[];
  /** Server logs of failed restores kept in their drill's evidence folder before the instance went. */
  readonly evidence: string[];
  readonly backups: string[];
}

/** The local engine: source, backups, WAL archive and restored instances under one state folder. */
export class LocalRecovery implements DatabaseRecoveryPort {
  readonly paths: StatePaths;
  private readonly options: LocalRecoveryOptions;

  constructor(options: LocalRecoveryOptions) {
    this.options = options;
    this.paths = statePaths(options.config, options.baseDir);
  }

  // ---- the source --------------------------------------------------------------------------

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
  async adminPassword(): Promise<string | null> {
    return (await readCredentials(this.paths))?.adminPassword ?? null;
  }

  /** Connection URL of a restored instance. Holds the password: never log it. */
  async instanceUrl(instanceId: string, database?: string): Promise<string | null> {
    const record = await this.readInstance(instanceId);
    const credentials = await readCredentials(this.paths);
    if (record?.status !== 'available' || record.port === null || !credentials) return null;
    const name = encodeURIComponent(database ?? credentials.database);
    return `postgres://${SUPERUSER}:${encodeURIComponent(credentials.password)}@127.0.0.1:${record.port}/${name}`;
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
    for (const id of await this.instanceIds()) {
      try {
        const description = await this.describeInstance(id);
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
      window: await this.restorableWindow(),
      instances,
      problems,
    };
  }

  /** Damaged backup records, skipped by every listing and restore (see `listBackupsChecked`). */
  async damagedState(): Promise<string[]> {
    return (await listBackupsChecked(this.paths)).damaged.map((d) => d.message);
  }

  // ---- snapshots (full backups) ------------------------------------------------------------

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
          (signal) =>
            takeBackup(this.paths, {
              signal,
              id,
              tags: checkedTags,
              sourceUrl: source.url('postgres'),
              sourceData: this.paths.sourceData,
            }),
          () => deleteBackup(this.paths, id),
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
  }

  // ---- restore -------------------------------------------------------------------------------

  /**
   * Earliest: the end of the oldest backup (a restore cannot reach a point inside or before its
   * own base backup). Latest: the end of the archive's coverage, the moment up to which it holds
   * every commit (see {@link coverageOver}); no side effect: the source is not asked to switch WAL.
   */
  async restorableWindow(): Promise<{ earliest: Date | null; latest: Date | null }> {
    const { earliest, coverage } = await this.coverageOver(await archivedSegments(this.paths.walArchive));
    return { earliest, latest: coverage?.end ?? null };
  }

  /**
   * What the given archived segments cover (a restore freezes the list it works from): from the
   * end of the oldest backup to the latest of the newest backup's end (its stop waited for its last
   * segment to be archived), the newest archived commit, and the newest WAL switch the engine made
   * whose segment is archived. Known from what is archived, never from the time of the last commit
   * alone: a quiet source is covered up to its last switch.
   */
  private async coverageOver(segments: readonly string[]): Promise<{
    earliest: Date | null;
    coverage: { end: Date; lastCommitAt: Date | null; mark: CoverageMark | null } | null;
  }> {
    const backups = (await listBackups(this.paths)).filter((b) => b.status === 'available' && b.stoppedAt);
    const oldest = backups[0];
    const newest = backups[backups.length - 1];
    if (!oldest?.stoppedAt || !newest?.stoppedAt) return { earliest: null, coverage: null };
    const archive = await summarizeArchive(this.paths, segments);
    const mark = newestCoveredMark(await readCoverageMarks(this.paths), segments);
    const candidates = [new Date(newest.stoppedAt), archive.lastCommitAt, mark ? new Date(mark.at) : null];
    const end = new Date(
      Math.max(...candidates.filter((d): d is Date => d !== null).map((d) => d.getTime())),
    );
    return {
      earliest: new Date(oldest.stoppedAt),
      coverage: { end, lastCommitAt: archive.lastCommitAt, mark },
    };
  }

  /**
   * The restore's own view of the archive: hard links (a copy across file systems) to the
   * segments archived when the request was checked, from the backup's first segment on.
   */
  private async linkArchive(id: string, segments: readonly string[], backup: BackupRecord): Promise<string> {
    const dir = join(this.instanceDir(id), 'wal-archive');
    await makeServerDir(dir, await serverUser());
    const first = backup.startWalFile ?? '';
    for (const name of segments) {
      if (name < first) continue;
      const from = join(this.paths.walArchive, name);
      const to = join(dir, name);
      try {
        await link(from, to);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EXDEV') throw error;
        await copyFile(from, to);
        await giveToServer(to, await serverUser());
      }
    }
    return dir;
  }

  async restoreToPointInTime(request: RestoreRequest): Promise<InstanceDescription> {
    const started = performance.now();
    // Everything that can refuse the request runs before anything is created.
    const instanceId = checkIdentifier('instanceId', request.instanceId);
    const tags = checkTags(request.tags);
    const target = request.targetTime;
    if (target !== 'latest' && (!(target instanceof Date) || Number.isNaN(target.getTime())))
      throw new InputError('targetTime', String(target), 'a valid time or "latest"');
    if (existsSync(this.instanceDir(instanceId)))
      throw new InputError('instanceId', instanceId, 'an id not in use (an instance with this id exists)');
    const credentials = await readCredentials(this.paths);
    if (!credentials)
      throw new InputError('source', 'missing', 'a local source: run `recovery-drill local source start`');
    const shown = target === 'latest' ? 'latest' : target.toISOString();
    const backups = (await listBackups(this.paths)).filter((b) => b.status === 'available' && b.stoppedAt);
    if (backups.length === 0)
      throw new RestoreTimeOutOfRangeError(
        shown,
        'a restorable time, but no backup exists yet: run `recovery-drill local backup`',
      );
    // A "latest" restore reaches the present: the source completes its WAL segment and the engine
    // waits until it is archived, so coverage ends at the switch even when nothing was written for
    // hours. A stopped source, or an archiver that does not take the segment in time, leaves the
    // coverage where it was: the drill then measures the RPO that really is.
    if (target === 'latest') await this.markCoverage();
    const segments = await archivedSegments(this.paths.walArchive);
    const { earliest, coverage } = await this.coverageOver(segments);
    if (!earliest || !coverage)
      throw new RestoreTimeOutOfRangeError(
        shown,
        'a restorable time, but no backup exists yet: run `recovery-drill local backup`',
      );
    if (target !== 'latest' && target < earliest)
      throw new RestoreTimeOutOfRangeError(
        shown,
        `a time at or after ${earliest.toISOString()} (the end of the oldest backup)`,
      );
    if (target !== 'latest' && target > coverage.end)
      throw new RestoreTimeOutOfRangeError(
        shown,
        `a time at or before ${coverage.end.toISOString()} (the end of the archived WAL's coverage; later WAL is not archived yet)`,
      );
    const backup =
      target === 'latest'
        ? backups[backups.length - 1]
        : backups.filter((b) => new Date(b.stoppedAt as string) <= target).pop();
    if (!backup) throw new RestoreTimeOutOfRangeError(shown, 'a time covered by a backup');
    // A target at or after the newest archived commit replays the whole archive as it is now:
    // recovery to a time stops only at a later commit, and there is none. The copy then holds
    // every commit up to the target, since the archive covers it. The restore reads a frozen view
    // of the archive (see linkArchive), so segments archived while it runs can never carry it past
    // the target.
    const replayAll =
      target === 'latest' || coverage.lastCommitAt === null || target >= coverage.lastCommitAt;
    const wal = await this.checkArchive(segments, backup, replayAll ? null : target, shown);
    // P: a restore to a time within the coverage holds every commit up to that time; a "latest"
    // restore every commit up to the end of the coverage.
    const restorePointAt = target === 'latest' ? coverage.end : target;

    const dir = this.instanceDir(instanceId);
    const dataDir = join(dir, 'data');
    const record: InstanceRecord = {
      id: instanceId,
      tags,
      status: 'creating',
      targetTime: target === 'latest' ? null : target.toISOString(),
      restorePointAt: restorePointAt.toISOString(),
      restorePointSource: target === 'latest' ? 'archive-coverage' : 'requested-time',
      coverageMark: coverage.mark,
      lastReplayedCommitAt: null,
      failureReason: null,
      backupId: backup.id,
      port: null,
      pid: null,
      ownerPid: process.pid,
      createdAt: new Date().toISOString(),
      availableAt: null,
    };
    await makePassageDir(this.paths.instances);
    await makePassageDir(dir);
    await this.writeInstance(record);
    return withInterruptUndo(
      (signal) =>
        this.restoreInto(
          record,
          dataDir,
          replayAll ? wal : null,
          credentials.password,
          signal,
          started,
          segments,
          backup,
        ),
      () => this.removeInstance(instanceId),
    );
  }

  /**
   * Reads the archived WAL the restore will replay, from the backup's first segment to the
   * target (or, for a restore that replays everything, to the end of the archive), as recovery
   * reads it; refuses a gap or damage before anything is created (see {@link checkWalSequence}).
   * @returns the whole walk: where a replay of everything must end.
   */
  private async checkArchive(
    segments: readonly string[],
    backup: BackupRecord,
    target: Date | null,
    shown: string,
  ): Promise<WalCheck & { status: 'complete' }> {
    const from = await startSegmentOf(this.paths, backup);
    const cannot = `the WAL archive cannot restore ${shown} from backup ${backup.id}`;
    if (!from)
      throw new ArchiveIncompleteError(
        `${cannot}: the backup records no first WAL segment (backup.json startWalFile, data/backup_label); take a new backup (recovery-drill local backup)`,
        null,
      );
    const wal = await checkWalSequence({
      dir: this.paths.walArchive,
      segments,
      from,
      ...(target ? { stopAfter: BigInt(target.getTime()) * 1000n } : {}),
    });
    if (wal.status !== 'complete') {
      const reached = wal.lastCommitAt
        ? `the last commit before it is at ${wal.lastCommitAt.toISOString()}`
        : 'no commit after the backup started comes before it';
      throw new ArchiveIncompleteError(
        `${cannot}: ${wal.detail}. A restore would stop there and lose every later commit (${reached}). Put the segment back into ${this.paths.walArchive} from a copy of the archive, or take a new backup (recovery-drill local backup) and drill again: points before it stay unrestorable.`,
        wal.segment,
      );
    }
    if (target && !wal.reachedTarget)
      throw new ArchiveIncompleteError(
        `${cannot}: the archived WAL ends in segment ${wal.last} before the first commit after the target${wal.lastCommitAt ? ` (its last commit is at ${wal.lastCommitAt.toISOString()})` : ''}`,
        wal.last,
      );
    return wal;
  }

  private async restoreInto(
    record: InstanceRecord,
    dataDir: string,
    /** For a restore that replays everything, the archive walk it must reach the end of. */
    replayAll: (WalCheck & { status: 'complete' }) | null,
    password: string,
    signal: AbortSignal,
    started: number,
    segments: readonly string[],
    backup: BackupRecord,
  ): Promise<InstanceDescription> {
    const marks = [started, performance.now()];
    const user = await serverUser();
    const logFile = join(this.instanceDir(record.id), 'postgres.log');
    try {
      await copyVerifiedBackup(this.paths, record.backupId, dataDir, signal);
      marks.push(performance.now());
    } catch (error) {
      // An altered backup is refused: nothing is left behind.
      if (!signal.aborted) await this.removeInstance(record.id);
      throw error;
    }
    let current = record;
    try {
      signal.throwIfAborted();
      await writeSettings(
        dataDir,
        {
          // A restored copy must never write into the source's archive.
          archive_mode: 'off',
          archive_command: '',
          archive_timeout: '0',
          restore_command: restoreCommand(await this.linkArchive(record.id, segments, backup)),
          recovery_target_action: 'promote',
          ...(replayAll ? {} : { recovery_target_time: postgresTime(record.targetTime as string) }),
        },
        `recovery-drill restore ${record.id}`,
      );
      const signalFile = join(dataDir, 'recovery.signal');
      await writeFile(signalFile, '', { mode: 0o600 });
      await giveToServer(signalFile, user);
      signal.throwIfAborted();
      const timeoutMs = this.options.config.drill.restoreTimeoutMinutes * 60_000;
      const cluster = await startCluster({ dataDir, password, logFile, timeoutMs, signal });
      marks.push(performance.now());
      await registerProcess(this.paths, {
        kind: 'instance',
        id: record.id,
        pid: cluster.pid,
        dataDir,
        port: cluster.port,
        marker: null,
      });
      current = { ...current, port: cluster.port, pid: cluster.pid };
      await this.writeInstance(current);
      const lastReplayedCommitAt = await this.confirmRecovered(
        cluster.url('postgres'),
        logFile,
        replayAll,
        record,
      );
      marks.push(performance.now());
      const step = (i: number) => Math.round((marks[i] as number) - (marks[i - 1] as number));
      current = {
        ...current,
        status: 'available',
        ownerPid: null,
        lastReplayedCommitAt,
        availableAt: new Date().toISOString(),
        timings: { check: step(1), verifiedCopy: step(2), recovery: step(3), confirm: step(4) },
      };
      await this.writeInstance(current);
      return toDescription(current);
    } catch (error) {
      if (signal.aborted) throw error;
      const pid = readPostmasterPid(dataDir)?.pid;
      if (pid) await stopServer(pid, dataDir).catch(() => undefined);
      await unregisterProcess(this.paths, 'instance', record.id);
      const reason = redactCredentials(await describeServerFailure(logFile, error)).slice(-4000);
      current = { ...current, status: 'failed', ownerPid: null, pid: null, failureReason: reason };
      await this.writeInstance(current);
      return toDescription(current);
    }
  }

  /**
   * Switches the running source's WAL and waits for the segment in the archive (see
   * {@link switchAndMarkCoverage}); does nothing when the source is not running, and leaves the
   * coverage as it was when the switch fails or the archiver does not take the segment in time.
   */
  private async markCoverage(): Promise<CoverageMark | null> {
    const source = await runningSource(this.paths);
    if (!source) return null;
    try {
      return await switchAndMarkCoverage(this.paths, source.url('postgres'), {
        timeoutMs: COVERAGE_WAIT_MS,
      });
    } catch {
      return null;
    }
  }

  /**
   * Recovery is over (promoted) and reached its target; returns the last replayed commit time (kept
   * in the instance record for whoever checks replay; P is the coverage's, not this).
   */
  private async confirmRecovered(
    url: string,
    logFile: string,
    replayAll: (WalCheck & { status: 'complete' }) | null,
    record: InstanceRecord,
  ): Promise<string | null> {
    const client = new pg.Client({ connectionString: url });
    client.on('error', () => undefined);
    await client.connect();
    try {
      const deadline = Date.now() + this.options.config.drill.restoreTimeoutMinutes * 60_000;
      for (;;) {
        const row = (
          await client.query<{ recovering: boolean; replayed: Date | null }>(
            'select pg_is_in_recovery() as recovering, pg_last_xact_replay_timestamp() as replayed',
          )
        ).rows[0];
        if (row && !row.recovering) {
          const log = await readFile(logFile, 'utf8').catch(() => '');
          const replayedCommit = row.replayed ? row.replayed.toISOString() : null;
          if (!replayAll && !/recovery stopping before (commit|abort) of transaction/.test(log)) {
            throw new Error(
              `recovery finished without reaching the target ${record.targetTime}: ${await logTail(logFile, 10)}`,
            );
          }
          if (replayAll) await this.confirmReplayEnd(client, replayAll, replayedCommit);
          return replayedCommit;
        }
        if (Date.now() > deadline)
          throw new Error(`recovery did not finish in time: ${await logTail(logFile, 10)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /**
   * A restore that replays everything must end where the archive it read ends: replay that
   * stopped earlier (a segment that went missing or bad after the check) promoted a short copy.
   */
  private async confirmReplayEnd(
    client: pg.Client,
    wal: WalCheck & { status: 'complete' },
    replayedCommit: string | null,
  ): Promise<void> {
    const { rows } = await client.query<{ lsn: string | null }>(
      'select pg_last_wal_replay_lsn()::text as lsn',
    );
    const text = rows[0]?.lsn;
    const replayed = text ? parseLsn(text) : null;
    if (replayed !== null && replayed >= wal.endLsn) return;
    const segment = replayed === null ? null : segmentOfLsn(replayed, wal.timeline, wal.segmentSize);
    const where =
      replayed === null ? 'replay reported no position' : `replay ended at ${text} in segment ${segment}`;
    throw new Error(
      `recovery stopped short of the archive: ${where}, before the end of the archived WAL at ${formatLsn(wal.endLsn)} (segment ${wal.last}); the last replayed commit is at ${replayedCommit ?? 'none'}${wal.lastCommitAt ? `, the archive's last at ${wal.lastCommitAt.toISOString()}` : ''}. ${segment ? `Segment ${segment} became missing, damaged or unreadable to the server after the archive was checked` : 'Read the server log'}: every commit after the last replayed one is missing from this copy.`,
    );
  }

  async describeInstance(instanceId: string): Promise<InstanceDescription | null> {
    if (typeof instanceId !== 'string' || !IDENTIFIER.test(instanceId)) return null;
    const record = await this.readInstance(instanceId);
    return record ? toDescription(record) : null;
  }

  async deleteInstance(instanceId: string): Promise<void> {
    checkIdentifier('instanceId', instanceId);
    const record = await this.readInstance(instanceId);
    if (!record) throw new NotFoundError('instance', instanceId);
    if (!(DRILL_ID_TAG in record.tags)) throw new NotADrillInstanceError(instanceId);
    await this.keepEvidence(instanceId, record);
    await this.writeInstance({ ...record, status: 'deleting' });
    await this.removeInstance(instanceId);
  }

  /**
   * Before a failed restore's instance goes, its server log (the FATAL line that says why) is
   * kept in its drill's folder, `drills/<drill id>/restore-postgres.log`: the report's evidence.
   * @returns where it was kept, or null (not failed, no log, no drill).
   */
  private async keepEvidence(instanceId: string, record: InstanceRecord | null): Promise<string | null> {
    const drillId = record?.tags[DRILL_ID_TAG];
    if (record?.status !== 'failed' || !drillId || !IDENTIFIER_SAFE.test(drillId)) return null;
    const log = join(this.instanceDir(instanceId), 'postgres.log');
    if (
      !(await stat(log).then(
        (s) => s.isFile(),
        () => false,
      ))
    )
      return null;
    const dir = join(this.paths.drills, drillId);
    await mkdir(dir, { recursive: true });
    const kept = join(dir, 'restore-postgres.log');
    await copyFile(log, kept);
    return kept;
  }

  /**
   * Stops and removes every restored instance and every stray registered process (an app a drill
   * started, a writer without its source), removes leftover drill secrets and backups interrupted
   * half way; keeps the source and its backups. An instance whose drill (or restore) is still
   * running is left alone unless `force`. A registry entry that is not proven to be our process is
   * removed without a signal ("stale entry, not signalled"); a damaged one too.
   */
  async cleanup(options: CleanupOptions = {}): Promise<CleanupResult> {
    const force = options.force === true;
    const live = await liveDrills(this.paths);
    const instances: string[] = [];
    const skipped: { id: string; why: string }[] = [];
    const evidence: string[] = [];
    for (const id of await this.instanceIds()) {
      let record: InstanceRecord | null = null;
      try {
        record = await this.readInstance(id);
      } catch (error) {
        // A damaged record: the instance is removed all the same (its server is found by its data dir).
        if (!(error instanceof DamagedStateError)) throw error;
      }
      const drillId = record?.tags[DRILL_ID_TAG];
      const owner = drillId ? live.get(drillId) : undefined;
      const restoring = record?.status === 'creating' && record.ownerPid !== null;
      if (!force && (owner || restoring)) {
        skipped.push({
          id,
          why: owner
            ? `its drill ${drillId} is running (pid ${owner.pid}, since ${owner.acquiredAt})`
            : `a restore into it is running (pid ${record?.ownerPid})`,
        });
        continue;
      }
      const kept = await this.keepEvidence(id, record);
      if (kept) evidence.push(kept);
      await this.removeInstance(id);
      instances.push(id);
    }
    // A damaged source record must not stop the writers of a source that may well be running.
    const sourceRunning = await runningSource(this.paths).then(
      (source) => source !== null,
      (error: unknown) => {
        if (error instanceof DamagedStateError) return true;
        throw error;
      },
    );
    const registry = await readRegistry(this.paths);
    for (const file of registry.damaged) await rm(file.file, { force: true });
    const left = new Set(skipped.map((s) => s.id));
    const liveDrill = (entry: ProcessEntry) =>
      entry.drillId ? live.has(entry.drillId) : [...live.keys()].some((id) => entry.id.startsWith(`${id}-`));
    const stopped: ProcessEntry[] = [];
    const stale: { entry: ProcessEntry; why: string }[] = [];
    for (const entry of registry.entries) {
      if (entry.kind === 'source') continue;
      // The source's companions stay with it: its writes, and its heartbeat (the drills' proof of P).
      if ((entry.kind === 'trickle' || entry.kind === 'heartbeat') && sourceRunning) continue;
      if (entry.kind === 'instance' && left.has(entry.id)) continue;
      if (entry.kind === 'app' && !force && liveDrill(entry)) continue;
      const outcome = await stopRegistered(this.paths, entry);
      if (outcome.outcome === 'stopped') stopped.push(entry);
      else stale.push({ entry, why: outcome.why });
    }
    const secrets: string[] = [];
    for (const drillId of await readdir(this.paths.drills).catch(() => [] as string[])) {
      if (!force && live.has(drillId)) continue;
      const secret = join(this.paths.drills, drillId, 'secret.json');
      if (!existsSync(secret)) continue;
      await rm(secret, { force: true });
      secrets.push(drillId);
    }
    const backups: string[] = [];
    for (const backup of await listBackups(this.paths)) {
      if (backup.status === 'failed') {
        await deleteBackup(this.paths, backup.id);
        backups.push(backup.id);
      }
    }
    return {
      instances,
      skipped,
      processes: stopped,
      stale,
      damaged: registry.damaged,
      secrets,
      evidence,
      backups,
    };
  }

  // ---- internals -----------------------------------------------------------------------------

  private instanceDir(id: string): string {
    return join(this.paths.instances, id);
  }

  private async instanceIds(): Promise<string[]> {
    try {
      return (await readdir(this.paths.instances, { withFileTypes: true }))
        .filter((e) => e.isDirectory())
        .map((e) => e.name)
        .sort();
    } catch {
      return [];
    }
  }

  private async readInstance(id: string): Promise<InstanceRecord | null> {
    const record = await readJson<InstanceRecord>(
      join(this.instanceDir(id), 'instance.json'),
      `instance ${id} cannot be described; \`recovery-drill local cleanup\` removes it (its server is found by its data dir)`,
    );
    if (!record) return null;
    if (record.status === 'creating' && record.ownerPid !== null && !isProcessAlive(record.ownerPid))
      return {
        ...record,
        status: 'failed',
        failureReason: `restore interrupted: process ${record.ownerPid} ended`,
      };
    if (record.status === 'available' && (record.pid === null || !isProcessAlive(record.pid)))
      return { ...record, status: 'failed', failureReason: 'the restored server is no longer running' };
    return record;
  }

  private writeInstance(record: InstanceRecord): Promise<void> {
    return writeJson(join(this.instanceDir(record.id), 'instance.json'), record);
  }

  /** Stops an instance's server (found by registry or by its postmaster.pid) and removes its files. */
  private async removeInstance(id: string): Promise<void> {
    const dir = this.instanceDir(id);
    const dataDir = join(dir, 'data');
    for (const entry of await listProcesses(this.paths)) {
      if (entry.kind === 'instance' && entry.id === id) await stopRegistered(this.paths, entry);
    }
    const pid = readPostmasterPid(dataDir)?.pid;
    if (pid) await stopServer(pid, dataDir);
    await rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  }
}

/** The app checkout a configuration names, absolute (relative paths are the config file's folder's). */
export function appRoot(config: Config, baseDir: string): string {
  return resolve(baseDir, config.app.repoPath);
}

/** What `local.source` of kind `app` asks for, resolved; null for the example's built-in source. */
export function appSourceSpec(config: Config, baseDir: string): AppSourceSpec | null {
  const source = config.local.source;
  if (source.kind !== 'app') return null;
  return {
    repoPath: appRoot(config, baseDir),
    migrateCommand: config.app.migrateCommand,
    seedCommand: source.seedCommand,
    trafficCommand: source.trafficCommand,
    env: { ...config.app.env, ...source.env },
    adminUsername: config.smoke.adminUsername,
    adminUsernameEnv: config.smoke.adminUsernameEnv,
    adminPasswordEnv: config.smoke.adminPasswordEnv,
  };
}

/**
 * The application database's name: the one in the `DATABASE_URL` of the app's environment
 * template (`app.envExample`), as the app's own docs set it up, else `btcts`.
 */
export function databaseOf(repoPath: string, config: Config): string {
  let text: string;
  try {
    text = readFileSync(join(repoPath, config.app.envExample), 'utf8');
  } catch {
    return DEFAULT_DATABASE;
  }
  const line = /^\s*DATABASE_URL\s*=\s*["']?([^"'\s#]+)/m.exec(text)?.[1];
  if (!line) return DEFAULT_DATABASE;
  try {
    const name = decodeURIComponent(new URL(line).pathname.replace(/^\//, ''));
    return /^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(name) ? name : DEFAULT_DATABASE;
  } catch {
    return DEFAULT_DATABASE;
  }
}

/** `2026-11-26 21:33:15.146+00`: the form recovery_target_time accepts (it refuses ISO's `T...Z`). */
function postgresTime(iso: string): string {
  return `${iso.replace('T', ' ').replace('Z', '')}+00`;
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

function toDescription(record: InstanceRecord): InstanceDescription {
  return {
    id: record.id,
    status: record.status,
    endpoint:
      record.status === 'available' && record.port !== null ? { host: '127.0.0.1', port: record.port } : null,
    tags: record.tags,
    targetTime: record.targetTime,
    restorePointAt: record.restorePointAt,
    restorePointSource: record.restorePointSource ?? null,
    failureReason: record.failureReason,
    sourceBackup: record.backupId,
  };
}
