/**
 * A point-in-time restore on this machine: the archived WAL the restore needs is read as recovery
 * reads it before anything is created, a verified copy of the backup replays a frozen view of the
 * archive into a fresh cluster on a free port, and the restore must reach its target (or, for
 * "latest", the archive's end) or it fails loudly instead of promoting an earlier point.
 */
import { existsSync } from 'node:fs';
import { copyFile, link, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import type { Config } from '../core/config.ts';
import { outsideWindow } from '../core/drill-input.ts';
import { InputError } from '../core/errors.ts';
import { redactCredentials } from '../core/redact.ts';
import {
  type InstanceDescription,
  type RestoreRequest,
  RestoreTimeOutOfRangeError,
} from '../drill/ports/database-recovery.ts';
import { archivedSegments, restoreCommand } from './archive.ts';
import { type BackupRecord, listBackups, startSegmentOf } from './backup.ts';
import { copyVerifiedBackup } from './backup-copy.ts';
import { giveToServer, makePassageDir, makeServerDir, serverUser } from './binaries.ts';
import { startCluster, stopServer, writeSettings } from './cluster.ts';
import { coverageOver, markCoverage } from './coverage.ts';
import {
  checkIdentifier,
  checkTags,
  type InstanceRecord,
  type InstanceStore,
  toDescription,
} from './instance-store.ts';
import { readPostmasterPid } from './processes.ts';
import { describeServerFailure, logTail } from './server-log.ts';
import { readCredentials } from './source.ts';
import { registerProcess, type StatePaths, unregisterProcess, withInterruptUndo } from './state.ts';
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

/** Restores into the instances of one state folder. */
export class LocalRestore {
  constructor(
    private readonly paths: StatePaths,
    private readonly config: Config,
    private readonly store: InstanceStore,
  ) {}

  /** Where the backups were looked for, when not the state folder's own (for refusals). */
  private where(): string {
    return this.paths.repository === 'isolated' ? ` in the isolated copy ${this.paths.backups}` : '';
  }

  /**
   * Earliest: the end of the oldest backup (a restore cannot reach a point inside or before its
   * own base backup). Latest: the end of the archive's coverage, the moment up to which it holds
   * every commit (see `coverageOver`); no side effect: the source is not asked to switch WAL.
   */
  async restorableWindow(): Promise<{ earliest: Date | null; latest: Date | null }> {
    const { earliest, coverage } = await coverageOver(
      this.paths,
      await archivedSegments(this.paths.walArchive),
    );
    return { earliest, latest: coverage?.end ?? null };
  }

  /**
   * The restore's own view of the archive: hard links (a copy across file systems) to the
   * segments archived when the request was checked, from the backup's first segment on.
   */
  private async linkArchive(id: string, segments: readonly string[], backup: BackupRecord): Promise<string> {
    const dir = join(this.store.dir(id), 'wal-archive');
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
    if (existsSync(this.store.dir(instanceId)))
      throw new InputError('instanceId', instanceId, 'an id not in use (an instance with this id exists)');
    const credentials = await readCredentials(this.paths);
    if (!credentials)
      throw new InputError('source', 'missing', 'a local source: run `recovery-drill local source start`');
    const shown = target === 'latest' ? 'latest' : target.toISOString();
    const backups = (await listBackups(this.paths)).filter((b) => b.status === 'available' && b.stoppedAt);
    if (backups.length === 0)
      throw new RestoreTimeOutOfRangeError(
        shown,
        `a restorable time, but no backup exists yet${this.where()}: run \`recovery-drill local backup\``,
      );
    // A "latest" restore reaches the present: the source completes its WAL segment and the engine
    // waits until it is archived, so coverage ends at the switch even when nothing was written for
    // hours. A stopped source, or an archiver that does not take the segment in time, leaves the
    // coverage where it was: the drill then measures the RPO that really is.
    if (target === 'latest') await markCoverage(this.paths);
    const segments = await archivedSegments(this.paths.walArchive);
    const { earliest, coverage } = await coverageOver(this.paths, segments);
    if (!earliest || !coverage)
      throw new RestoreTimeOutOfRangeError(
        shown,
        `a restorable time, but no backup exists yet${this.where()}: run \`recovery-drill local backup\``,
      );
    const outside =
      target === 'latest'
        ? null
        : outsideWindow(
            target,
            { earliest, latest: coverage.end },
            {
              earliest: 'the end of the oldest backup',
              latest: "the end of the archived WAL's coverage; later WAL is not archived yet",
            },
          );
    if (outside) throw new RestoreTimeOutOfRangeError(shown, outside);
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

    const dir = this.store.dir(instanceId);
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
    await this.store.write(record);
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
      () => this.store.remove(instanceId),
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
    const logFile = join(this.store.dir(record.id), 'postgres.log');
    try {
      await copyVerifiedBackup(this.paths, record.backupId, dataDir, signal);
      marks.push(performance.now());
    } catch (error) {
      // An altered backup is refused: nothing is left behind.
      if (!signal.aborted) await this.store.remove(record.id);
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
      const timeoutMs = this.config.drill.restoreTimeoutMinutes * 60_000;
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
      await this.store.write(current);
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
      await this.store.write(current);
      return toDescription(current);
    } catch (error) {
      if (signal.aborted) throw error;
      const pid = readPostmasterPid(dataDir)?.pid;
      if (pid) await stopServer(pid, dataDir).catch(() => undefined);
      await unregisterProcess(this.paths, 'instance', record.id);
      const reason = redactCredentials(await describeServerFailure(logFile, error)).slice(-4000);
      current = { ...current, status: 'failed', ownerPid: null, pid: null, failureReason: reason };
      await this.store.write(current);
      return toDescription(current);
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
      const deadline = Date.now() + this.config.drill.restoreTimeoutMinutes * 60_000;
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
}

/** `2026-11-26 21:33:15.146+00`: the form recovery_target_time accepts (it refuses ISO's `T...Z`). */
function postgresTime(iso: string): string {
  return `${iso.replace('T', ' ').replace('Z', '')}+00`;
}
